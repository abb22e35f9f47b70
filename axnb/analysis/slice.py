"""Slice: the model along one parameter, with the acquisition and the next suggestion.

The GP mean ± 2 sd of ``metric`` along ``param`` (other parameters held at the best point's
values, or ``slice_values``), the observed points (all of them, whatever their other values),
and — to show *why* the next point is chosen — the engine's acquisition function on the same
grid, on a second y axis, with its argmax marked. Nothing is suggested or saved. Trials left
out with ``exp.exclude`` are hollow markers (not in the model); a corrected trial's hover
shows its earlier result. Trials outside the search space since ``exp.change_parameters`` are
grey hollow diamonds (not in the model): a value beyond the new bounds is drawn beyond them,
over a grey band (the axis then reaches past the bounds; ``axnb.analysis._common.place``).

Hierarchical spaces (``when=``): the observed points of a conditional parameter are the
trials where it is active, and the model is drawn with its parents held at values that make it
active (the best point's when it does, else the best trial's where it is active); the subtitle
says so (``rec.condition``: "trials where C is active (model = 'svm')"). Along a parent, each
point holds the parameters it activates at their values in the best trial where they are
active (``axnb.analysis._common.complete``). A parameter that can never be active gives an
empty figure with a note.

    >>> rec = compute_slice(exp, "lr")                 # doctest: +SKIP
    >>> rec.axis.values[int(np.nanargmax(rec.acquisition))] == rec.next_value   # doctest: +SKIP

Figure layout (stable for every record of the same parameter):

====  =======  ==========================================================  ======
trace type     data                                                        y axis
====  =======  ==========================================================  ======
0     Scatter  ``mean + 2 sd`` (band edge; a tick per value for choices)   y
1     Scatter  ``mean - 2 sd`` (fills to trace 0 on numeric axes)          y
2     Scatter  model mean                                                  y
3     Scatter  observed points ``px, values`` (error bars 2 sem if known)  y
4     Scatter  acquisition values                                          y2
5     Scatter  next suggestion on this slice (0 or 1 point)                y2
6     Scatter  excluded trials ``excluded.x, excluded.y`` (hollow)         y
7     Scatter  trials outside the space ``outside_space.x, .y`` (grey)      y
====  =======  ==========================================================  ======

The legend is under the plot (below the x-axis title), clear of the two-line title.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.analysis._common import (
    BLUE,
    GREEN,
    RED,
    Axis,
    Points,
    active_note,
    add_note,
    axis_for,
    axis_layout,
    axis_range,
    base_layout,
    beyond_shapes,
    categories,
    coord,
    default_slice,
    describe,
    direction,
    excluded_trace,
    finite_or_none,
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
from axnb.analysis.contour import label_room
from axnb.space import Value

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.engine.models import FittedModel
    from axnb.experiment import Experiment
    from axnb.trial import Trial


@dataclass(frozen=True, eq=False)
class SliceRecord:
    """Numbers of a slice plot.

    ``mean``/``sd`` follow ``axis.values`` (None without a model, see ``note``);
    ``acquisition`` likewise (None when it cannot be computed, see ``acquisition_note``), and
    ``next_value`` is the parameter value at its argmax. All three are NaN where the slice
    violates a linear parameter constraint. ``px``/``values``/``sem`` are the observed points'
    coordinates, means and sems (NaN when unknown). ``excluded``: the trials left out with
    ``exp.exclude`` (coordinate, mean), which the model does not see; ``outside_space``: the
    trials outside the search space (coordinate, maybe beyond the bounds, and mean), neither.
    ``condition``: in a hierarchical space, which trials the points are and where the held
    values apply (None otherwise).
    """

    metric: str
    minimize: bool | None
    axis: Axis
    mean: np.ndarray | None
    sd: np.ndarray | None
    px: list[Any]
    values: np.ndarray
    sem: np.ndarray
    trial_index: np.ndarray
    hover: list[str]
    acquisition: np.ndarray | None
    acquisition_kind: str | None
    next_value: Value | None
    slice: dict[str, Value]
    note: str | None
    acquisition_note: str | None
    excluded: Points = field(default_factory=Points.empty)
    outside_space: Points = field(default_factory=Points.empty)
    condition: str | None = None


def compute_slice(
    exp: Experiment,
    param: str,
    metric: str | None = None,
    slice_values: Mapping[str, Any] | None = None,
    grid: int = 100,
    *,
    acquisition: bool = True,
    trials: list[Trial] | None = None,
    model: FittedModel | None = None,
) -> SliceRecord:
    """Model, observations and acquisition along ``param`` (see module doc).

    ``acquisition=False`` skips the acquisition (cheaper, e.g. for reports of many slices).
    """
    trials = exp.trials if trials is None else trials
    p = tunable_parameter(exp, param)
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 2:
        raise ValueError(f"grid must be an integer >= 2, got {grid!r}.")
    metric = resolve_metric(exp, metric, trials)
    axis = axis_for(p, grid)
    space = exp.space
    never = never_together(space, [param])
    if never:
        return _empty(exp, metric, axis, never)
    base = default_slice(exp, trials, slice_values, active=[param])
    held = {k: v for k, v in base.items() if k != param}
    shown = where_active(trials, [param])
    notes = [n for n in [active_note(space, [param])] if n]

    fitted, note = fitted_model(exp, trials, [metric], model)
    mean = sd = None
    rows = None
    outside = None
    if fitted is not None:
        if space.conditional and is_parent(space, param):
            rows, _, held = point_rows(exp, trials, fitted, base, [(param, axis)])
        else:
            rows = grid_rows(fitted, base, [(param, axis.units)])
        mean, sd = predict(fitted, metric, rows)
        outside = outside_constraints(exp, rows)
        if outside is not None:  # no model line where the parameter constraints fail
            mean, sd = np.where(outside, np.nan, mean), np.where(outside, np.nan, sd)

    acq = kind = next_value = None
    acq_note = None
    if not acquisition:
        acq_note = None
    elif fitted is None:
        acq_note = "No acquisition without a model."
    else:
        try:
            from axnb.engine.inspect import acquisition_values

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = acquisition_values(exp.engine, trials, rows)  # type: ignore[arg-type]
            acq, kind = result.values, result.kind
            if outside is not None:
                acq = np.where(outside, np.nan, acq)
            finite = np.where(np.isfinite(acq), acq, -np.inf)
            if np.isfinite(finite).any():
                next_value = axis.values[int(np.argmax(finite))]
            if not result.model_phase:
                acq_note = (
                    "The engine is still placing its initial space-filling trials; the "
                    "acquisition shown takes over after them."
                )
        except Exception as e:  # the plot still shows the model and the data
            acq_note = f"No acquisition: {type(e).__name__}: {e}"

    switched = [k for k in held if param in (requirements(space, [k]) or {})]
    if switched:
        notes.append(f"{', '.join(switched)} held only where active")
    obs = observed(exp, shown, metric)
    out = observed(exp, shown, metric, excluded=True)
    return SliceRecord(
        metric=metric,
        minimize=direction(exp, metric),
        axis=axis,
        mean=mean,
        sd=sd,
        px=[coord(p, q[param]) for q in obs.parameters],
        values=obs.mean,
        sem=obs.sem,
        trial_index=obs.trial_index,
        hover=[hover_text(int(i), q, {metric: v}, n)
               for i, q, v, n in zip(obs.trial_index, obs.parameters, obs.mean, obs.notes)],
        acquisition=acq,
        acquisition_kind=kind,
        next_value=next_value,
        slice=held,
        note=note,
        acquisition_note=acq_note,
        excluded=Points(
            [coord(p, q[param]) for q in out.parameters], out.mean.tolist(), out.trial_index,
            [hover_text(int(i), q, {metric: v}, n)
             for i, q, v, n in zip(out.trial_index, out.parameters, out.mean, out.notes)],
        ),
        outside_space=placed_points(exp, trials, metric, [p]),
        condition="; ".join(notes) or None,
    )


def _empty(exp: Experiment, metric: str, axis: Axis, note: str) -> SliceRecord:
    """A slice with nothing to draw but ``note`` (a parameter that is never active)."""
    none = np.zeros(0)
    return SliceRecord(
        metric=metric, minimize=direction(exp, metric), axis=axis, mean=None, sd=None, px=[],
        values=none, sem=none.copy(), trial_index=np.zeros(0, dtype=int), hover=[],
        acquisition=None, acquisition_kind=None, next_value=None, slice={}, note=note,
        acquisition_note=None,
    )


# Layout, in pixels where it matters (the figure's height is fixed, its width follows the
# output): the legend sits under the x-axis title, where it can wrap onto a second row at
# narrow widths (plotly then widens the bottom margin), never over the two-line title.
HEIGHT = 480
MARGIN_TOP = 75  # the title and its subtitle line
MARGIN_BOTTOM = 105  # x tick labels and title, then the legend
PLOT_H = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
LEGEND_BELOW = 60  # px from the plot area's bottom to the legend's top
#: The plot area's width of a 700 px wide figure (margins 60 + 80 with the acquisition's
#: axis): what decides whether plotly turns category tick labels (``label_room``).
PLOT_W = 560


def draw_slice(rec: SliceRecord) -> go.Figure:
    """Mean ± 2 sd, observations, acquisition on a second axis (see module doc)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    cat = rec.axis.is_category
    xs = rec.axis.coords
    have = rec.mean is not None and rec.sd is not None
    upper = finite_or_none(rec.mean + 2 * rec.sd) if have else []  # type: ignore[operator]
    lower = finite_or_none(rec.mean - 2 * rec.sd) if have else []  # type: ignore[operator]
    band_x = xs if have else []
    tick = {"symbol": "line-ew-open", "size": 16, "color": BLUE, "line": {"width": 2}}
    fig.add_trace(go.Scatter(
        x=band_x, y=upper, name="mean ± 2 sd", legendgroup="band", showlegend=False,
        mode="markers" if cat else "lines", line={"width": 0}, marker=tick,
        hoverinfo="skip",
    ), secondary_y=False)
    fig.add_trace(go.Scatter(
        x=band_x, y=lower, name="mean ± 2 sd", legendgroup="band",
        mode="markers" if cat else "lines", line={"width": 0}, marker=tick,
        fill=None if cat else "tonexty", fillcolor="rgba(99,110,250,0.2)", hoverinfo="skip",
    ), secondary_y=False)
    fig.add_trace(go.Scatter(
        x=band_x, y=finite_or_none(rec.mean) if have else [], name="model mean",
        mode="markers" if cat else "lines", line={"color": BLUE, "width": 2},
        marker={"color": BLUE, "size": 10},
        hovertemplate=f"{rec.axis.name}=%{{x}}<br>mean=%{{y:.4g}}<extra></extra>",
    ), secondary_y=False)
    has_sem = bool(np.isfinite(rec.sem).any())
    fig.add_trace(go.Scatter(
        x=rec.px, y=rec.values.tolist(), name="observed", mode="markers",
        marker={"color": "black", "size": 7, "opacity": 0.8},
        error_y={"type": "data", "array": finite_or_none(2 * rec.sem), "visible": has_sem,
                 "thickness": 1, "width": 2},
        hovertext=rec.hover, hoverinfo="text",
    ), secondary_y=False)
    acq = rec.acquisition
    kind = rec.acquisition_kind or "acquisition"
    fig.add_trace(go.Scatter(
        x=xs if acq is not None else [], y=finite_or_none(acq) if acq is not None else [],
        name="acquisition", mode="markers" if cat else "lines",
        line={"color": GREEN, "width": 1.5, "dash": "dot"},
        marker={"color": GREEN, "size": 10, "symbol": "diamond"},
        hovertemplate=f"{rec.axis.name}=%{{x}}<br>{kind}=%{{y:.4g}}<extra></extra>",
    ), secondary_y=True)
    nxt_x, nxt_y = [], []
    if acq is not None and rec.next_value is not None:
        i = rec.axis.values.index(rec.next_value)
        nxt_x, nxt_y = [xs[i]], [float(acq[i])]
    fig.add_trace(go.Scatter(
        x=nxt_x, y=nxt_y, name="next suggestion (this slice)", mode="markers",
        marker={"symbol": "triangle-down", "size": 14, "color": RED,
                "line": {"color": "black", "width": 1}},
        hovertemplate=f"next: {rec.axis.name}=%{{x}}<extra></extra>",
    ), secondary_y=True)
    fig.add_trace(excluded_trace(rec.excluded), secondary_y=False)
    fig.add_trace(outside_trace(rec.outside_space), secondary_y=False)
    better = {True: " (lower is better)", False: " (higher is better)"}.get(rec.minimize, "")
    title = f"{rec.metric}{better} along {rec.axis.name}"
    held = describe(rec.slice)
    sub = [f"model with other parameters at {held}"] if held else []
    if rec.condition:
        sub.append(rec.condition)
    if sub:
        title += f"<br><sup>{'; '.join(sub)}</sup>"
    # x tick labels that plotly turns push the legend down: the figure grows with them
    extra = label_room(categories(rec.axis, rec.outside_space.x) if cat else [], PLOT_W)
    fig.update_layout(**base_layout(title, height=round(HEIGHT + extra)))
    fig.update_layout(
        margin={"t": MARGIN_TOP, "b": round(MARGIN_BOTTOM + extra)},
        legend={"orientation": "h", "x": 0.0, "xanchor": "left",
                "y": -(LEGEND_BELOW + extra) / PLOT_H, "yanchor": "top"},
    )
    x_axis = axis_layout(rec.axis.scale, rec.axis.name, categories(rec.axis, rec.outside_space.x))
    rng = axis_range(rec.axis, rec.outside_space.x)
    x_axis.update({"range": rng} if rng else {"autorange": True})
    fig.update_xaxes(**x_axis)
    fig.update_layout(shapes=beyond_shapes(rec.axis, rng, rec.outside_space.x, "x"))
    fig.update_yaxes(title_text=rec.metric, secondary_y=False)
    fig.update_yaxes(title_text=kind, secondary_y=True, showgrid=False,
                     visible=acq is not None)
    notes = [n for n in (rec.note, rec.acquisition_note) if n]
    if notes:
        add_note(fig, "<br>".join(notes), y=0.92)
    fig.layout.meta = {"analysis": "slice"}
    return fig

