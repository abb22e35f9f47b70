"""Contour: the model's mean and standard error over two parameters, observations on top.

The GP of ``metric`` is evaluated on a ``grid x grid`` mesh of the two parameters (every value
for integers with at most ``grid`` values and for choices); the other parameters are held at a
slice, by default the best point's values. Log parameters get log axes, choices category axes
(in their declared order), integers numeric axes. Trials left out with ``exp.exclude`` are
hollow markers (not in the model nor the best point); a corrected trial's hover shows its
earlier result. Trials outside the search space since ``exp.change_parameters`` are grey
hollow diamonds when both their values can be placed on the axes (a value beyond the new
bounds is drawn beyond them, over a grey band: ``axnb.analysis._common.place``).

Hierarchical spaces (``when=``): the observed points are the trials where both parameters are
active, and the other parameters are held at values that make both active (the best point's
when it does, else the best trial's where both are active; inactive ones left out); the
subtitle says so (``rec.condition``: "trials where C is active (model = 'svm')"). When one
axis is a parent of the other (``model`` and ``C``), the cells where the other is inactive
are blank (``rec.inactive``). Two parameters that are never active together give an empty
figure whose note says why (no exception).

    >>> rec = compute_contour(exp, "x1", "x2")                # doctest: +SKIP
    >>> rec.mean.shape == (len(rec.y.values), len(rec.x.values))   # doctest: +SKIP
    >>> draw_contour(rec).show()                              # doctest: +SKIP

Figure layout (stable for every record of the same pair of axes; the dashboard updates the
traces in place):

====  ==========  ===============================================  ==========
trace type        data                                             subplot
====  ==========  ===============================================  ==========
0     Heatmap     ``x=x.coords, y=y.coords, z=mean`` (None: no model)  left
1     Heatmap     ``x=x.coords, y=y.coords, z=sd``                 right
2     Scatter     observed points ``px, py``, hover ``hover``      left
3     Scatter     the same points                                  right
4     Scatter     best point (0 or 1 point)                        left
5     Scatter     the same                                         right
6     Scatter     excluded trials ``excluded.x, excluded.y``       left
7     Scatter     the same                                         right
8     Scatter     trials outside the space ``outside_space.x, .y``  left
9     Scatter     the same                                         right
====  ==========  ===============================================  ==========

The missing-model reason is a layout annotation (``layout.annotations`` named ``"note"``).
Each heatmap's colorbar lies flat under its panel, the legend under the colorbars (see
``HEIGHT`` and the constants after it): nothing between the panels but the right panel's y
axis, nothing above them but the title.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.analysis._common import (
    Axis,
    Points,
    active_note,
    add_note,
    axis_for,
    axis_layout,
    axis_range,
    base_layout,
    best_point,
    best_where_active,
    beyond_shapes,
    categories,
    coord,
    default_slice,
    describe,
    direction,
    excluded_trace,
    fitted_model,
    grid_rows,
    hover_text,
    is_parent,
    never_together,
    observed,
    outside_constraints,
    outside_trace,
    placed_points,
    point_rows,
    predict,
    requirements,
    resolve_metric,
    tunable_parameter,
    where_active,
)
from axnb.space import Value

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.engine.models import FittedModel
    from axnb.experiment import Experiment
    from axnb.trial import Trial


@dataclass(frozen=True, eq=False)
class ContourRecord:
    """Numbers of a contour plot.

    ``mean`` and ``sd`` are ``(len(y.values), len(x.values))`` arrays (rows follow ``y``),
    None without a model (then ``note`` says why). ``px``, ``py`` are the plot coordinates of
    the observed points, ``values`` their observed means, ``trial_index`` their trials.
    ``best`` is the best point's ``(x, y)`` coordinates (in a hierarchical space where it
    leaves ``x`` or ``y`` inactive: the best trial's where both are active), ``slice`` the
    values the other parameters are held at. ``outside`` (same shape as ``mean``; None
    without parameter constraints) marks the cells that violate a linear parameter
    constraint: their ``mean`` and ``sd`` are NaN, drawn blank. ``excluded``: the trials
    left out with ``exp.exclude`` (their ``x``, ``y`` coordinates), which neither the model
    nor ``best`` use;
    ``outside_space``: the trials outside the search space (``x``, ``y`` coordinates, maybe
    beyond the bounds), neither. Hierarchical spaces: ``inactive`` (like ``outside``) marks
    the cells where ``x`` or ``y`` is inactive, blank; ``condition`` says which trials the
    points are and which held values apply only where active (None when nothing is
    conditional).
    """

    metric: str
    minimize: bool | None
    x: Axis
    y: Axis
    mean: np.ndarray | None
    sd: np.ndarray | None
    px: list[Any]
    py: list[Any]
    values: np.ndarray
    trial_index: np.ndarray
    hover: list[str]
    best: tuple[Any, Any] | None
    slice: dict[str, Value]
    note: str | None
    outside: np.ndarray | None = None
    excluded: Points = field(default_factory=Points.empty)
    outside_space: Points = field(default_factory=Points.empty)
    inactive: np.ndarray | None = None
    condition: str | None = None


def compute_contour(
    exp: Experiment,
    x: str,
    y: str,
    metric: str | None = None,
    slice_values: Mapping[str, Any] | None = None,
    grid: int = 50,
    *,
    trials: list[Trial] | None = None,
    model: FittedModel | None = None,
) -> ContourRecord:
    """Model mean and sd of ``metric`` over parameters ``x`` and ``y`` (see module doc).

    ``trials`` (default ``exp.trials``) and ``model`` (a ``FittedModel`` covering ``metric``)
    let callers reuse a snapshot and a fit. Raises ``ValueError`` for unknown or Fixed
    parameters, ``x == y``, an unknown metric or a bad ``grid``.
    """
    trials = exp.trials if trials is None else trials
    px_param = tunable_parameter(exp, x, "x parameter")
    py_param = tunable_parameter(exp, y, "y parameter")
    if x == y:
        raise ValueError(
            f"x and y are both '{x}': a contour needs two different parameters, e.g. "
            f"contour('{x}', '{next((n.name for n in exp.space.tunable if n.name != x), '?')}')"
            f"; for one parameter use exp.plot.slice('{x}')."
        )
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 2:
        raise ValueError(f"grid must be an integer >= 2, got {grid!r}.")
    metric = resolve_metric(exp, metric, trials)
    ax_x, ax_y = axis_for(px_param, grid), axis_for(py_param, grid)
    space = exp.space
    never = never_together(space, [x, y])
    if never:
        return ContourRecord(
            metric=metric, minimize=direction(exp, metric), x=ax_x, y=ax_y, mean=None,
            sd=None, px=[], py=[], values=np.zeros(0), trial_index=np.zeros(0, dtype=int),
            hover=[], best=None, slice={}, note=never,
        )
    base = default_slice(exp, trials, slice_values, active=[x, y])
    held = {k: v for k, v in base.items() if k not in (x, y)}
    shown = where_active(trials, [x, y])

    fitted, note = fitted_model(exp, trials, [metric], model)
    mean = sd = outside = inactive = None
    if fitted is not None:
        shape = (len(ax_y.units), len(ax_x.units))
        axes = [(x, ax_x), (y, ax_y)]
        if space.conditional and (is_parent(space, x) or is_parent(space, y)):
            rows, off, held = point_rows(exp, trials, fitted, base, axes)
            if off.any():
                inactive = off.reshape(shape)
        else:
            rows = grid_rows(fitted, base, [(x, ax_x.units), (y, ax_y.units)])
        mu, sigma = predict(fitted, metric, rows)
        mean, sd = mu.reshape(shape), sigma.reshape(shape)
        mask = outside_constraints(exp, rows)
        if mask is not None:
            outside = mask.reshape(shape)
            mean, sd = np.where(outside, np.nan, mean), np.where(outside, np.nan, sd)
        if inactive is not None:
            mean, sd = np.where(inactive, np.nan, mean), np.where(inactive, np.nan, sd)

    notes = [n for n in [active_note(space, [x, y])] if n]
    switched = [k for k in held if {x, y} & set(requirements(space, [k]) or {})]
    if switched:
        notes.append(f"{', '.join(switched)} held only where active")
    obs = observed(exp, shown, metric)
    out = observed(exp, shown, metric, excluded=True)
    best = best_point(exp, trials)
    if best is not None and not (x in best and y in best):  # the best of the trials shown
        best = best_where_active(exp, trials, [x, y]) if space.conditional else None
    return ContourRecord(
        metric=metric,
        minimize=direction(exp, metric),
        x=ax_x,
        y=ax_y,
        mean=mean,
        sd=sd,
        px=[coord(px_param, p[x]) for p in obs.parameters],
        py=[coord(py_param, p[y]) for p in obs.parameters],
        values=obs.mean,
        trial_index=obs.trial_index,
        hover=[hover_text(int(i), p, {metric: v}, n)
               for i, p, v, n in zip(obs.trial_index, obs.parameters, obs.mean, obs.notes)],
        best=None if best is None else (coord(px_param, best[x]), coord(py_param, best[y])),
        slice=held,
        note=note,
        outside=outside,
        excluded=Points(
            [coord(px_param, p[x]) for p in out.parameters],
            [coord(py_param, p[y]) for p in out.parameters], out.trial_index,
            [hover_text(int(i), p, {metric: v}, n)
             for i, p, v, n in zip(out.trial_index, out.parameters, out.mean, out.notes)],
        ),
        outside_space=placed_points(exp, trials, metric, [px_param, py_param]),
        inactive=inactive,
        condition="; ".join(notes) or None,
    )


# Layout, in pixels where it matters (the figure's height is fixed, its width follows the
# output). Each panel's colorbar lies flat under the panel, below its x-axis title, so the
# gap between the panels only holds the right panel's y tick labels and title, whatever the
# figure's width (a colorbar beside the left panel took the room of that title); the legend
# comes below the colorbars, clear of the two-line title.
HEIGHT = 520
MARGIN_TOP = 90  # the title (two lines) and the subplot titles
MARGIN_BOTTOM = 150  # x tick labels and title, the colorbars, the legend
PLOT_H = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
COLORBAR_BELOW = 62  # px from the plot area's bottom to the colorbar's top
COLORBAR_THICKNESS = 12
LEGEND_BELOW = 112  # px from the plot area's bottom to the legend's top
#: The plot area's width of a 700 px wide figure (margins 60 + 30): the gap between the
#: panels is sized for it (wider figures have more room).
REFERENCE_PLOT_W = 610
CHAR_PX = 7  # mean width of a tick label's character (font size 12)
TITLE_PX = 40  # the y-axis title, the tick labels' padding and some air
MIN_SPACING, MAX_SPACING = 0.15, 0.35


def panel_spacing(y_labels: list[Any]) -> float:
    """Paper fraction between the panels: room for the right panel's y tick labels (the
    longest of ``y_labels`` on a category axis, else about 6 characters) and its title."""
    chars = max([6, *(len(str(v)) for v in y_labels)])
    need = (chars * CHAR_PX + TITLE_PX) / REFERENCE_PLOT_W
    return min(max(need, MIN_SPACING), MAX_SPACING)


def label_room(labels: list[Any], panel_px: float) -> float:
    """Extra px that category tick labels ``labels`` take under an x axis ``panel_px`` wide
    when plotly turns them (it does when they would overlap: 30 degrees, or 90 when ticks
    are too close even for that); 0 when they stay level."""
    if not labels:
        return 0.0
    width = max(len(str(v)) for v in labels) * CHAR_PX
    step = panel_px / len(labels)
    if width + 8 <= step:
        return 0.0
    return width * (0.5 if step / 2 >= 15 else 1.0)


def colorbar_under(col: int, spacing: float, extra: float = 0.0) -> dict[str, Any]:
    """A horizontal colorbar under panel ``col`` (1: left, 2: right), 90% of its width,
    ``extra`` px lower than usual (x tick labels turned: ``label_room``)."""
    width = (1 - spacing) / 2
    left = 0.0 if col == 1 else 1 - width
    return {
        "orientation": "h", "x": left + width / 2, "xanchor": "center", "len": 0.9 * width,
        "lenmode": "fraction", "y": -(COLORBAR_BELOW + extra) / PLOT_H, "yanchor": "top",
        "thickness": COLORBAR_THICKNESS, "ticks": "outside", "ticklen": 3,
    }


def draw_contour(rec: ContourRecord) -> go.Figure:
    """Two panels, mean and standard error, with observed and best points (see module doc)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    y_labels = categories(rec.y, rec.outside_space.y) if rec.y.is_category else []
    spacing = panel_spacing(y_labels)
    x_labels = categories(rec.x, rec.outside_space.x) if rec.x.is_category else []
    extra = label_room(x_labels, REFERENCE_PLOT_W * (1 - spacing) / 2)
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=spacing,
        subplot_titles=(f"mean of {rec.metric}", "standard error"),
    )
    better = {True: " (lower is better)", False: " (higher is better)"}.get(rec.minimize, "")
    for col, (z, scale) in enumerate(((rec.mean, "Viridis"), (rec.sd, "Plasma")), start=1):
        fig.add_trace(
            go.Heatmap(
                x=rec.x.coords, y=rec.y.coords, z=None if z is None else z,
                colorscale=scale, reversescale=(col == 1 and rec.minimize is True),
                colorbar=colorbar_under(col, spacing, extra),
                hovertemplate=f"{rec.x.name}=%{{x}}<br>{rec.y.name}=%{{y}}<br>"
                + ("mean" if col == 1 else "sd") + "=%{z:.4g}<extra></extra>",
                name="mean" if col == 1 else "sd", showlegend=False,
            ),
            row=1, col=col,
        )
    for col in (1, 2):
        fig.add_trace(
            go.Scatter(
                x=rec.px, y=rec.py, mode="markers", name="observed", showlegend=col == 1,
                legendgroup="observed",
                marker={"color": "white", "size": 7, "line": {"color": "black", "width": 1}},
                hovertext=rec.hover, hoverinfo="text",
            ),
            row=1, col=col,
        )
    bx, by = ([rec.best[0]], [rec.best[1]]) if rec.best is not None else ([], [])
    for col in (1, 2):
        fig.add_trace(
            go.Scatter(
                x=bx, y=by, mode="markers", name="best", showlegend=col == 1, legendgroup="best",
                marker={"symbol": "star", "size": 15, "color": "#FFD700",
                        "line": {"color": "black", "width": 1}},
                hovertemplate=("best of the trials shown" if rec.condition else "best")
                + "<extra></extra>",
            ),
            row=1, col=col,
        )
    for col in (1, 2):
        fig.add_trace(excluded_trace(rec.excluded, legend=col == 1), row=1, col=col)
    for col in (1, 2):
        fig.add_trace(outside_trace(rec.outside_space, legend=col == 1), row=1, col=col)
    held = describe(rec.slice)
    title = f"{rec.metric}{better} over {rec.x.name} and {rec.y.name}"
    sub = [f"other parameters at {held}"] if held else []
    if rec.outside is not None and rec.outside.any():
        sub.append("blank: outside the parameter constraints")
    if rec.inactive is not None and rec.inactive.any():
        sub.append("blank: inactive")
    if rec.condition:
        sub.append(rec.condition)
    if sub:
        title += f"<br><sup>{'; '.join(sub)}</sup>"
    # turned x tick labels push the colorbars and the legend down: the figure grows with them
    fig.update_layout(**base_layout(title, height=round(HEIGHT + extra)))
    fig.update_layout(
        margin={"t": MARGIN_TOP, "b": round(MARGIN_BOTTOM + extra)},
        legend={"orientation": "h", "x": 0.0, "xanchor": "left",
                "y": -(LEGEND_BELOW + extra) / PLOT_H, "yanchor": "top",
                "bgcolor": "rgba(0,0,0,0)"},
    )
    shapes = []
    for axis, coords, ref in ((rec.x, rec.outside_space.x, "x"),
                              (rec.y, rec.outside_space.y, "y")):
        rng = axis_range(axis, coords)
        layout = axis_layout(axis.scale, axis.name, categories(axis, coords))
        layout.update({"range": rng} if rng else {"autorange": True})
        for suffix in ("", "2"):
            fig.update_layout({f"{ref}axis{suffix}": layout})
            shapes += beyond_shapes(axis, rng, coords, ref + suffix)
    fig.update_layout(shapes=shapes)
    if rec.note:
        add_note(fig, rec.note)
    fig.layout.meta = {"analysis": "contour"}
    return fig

