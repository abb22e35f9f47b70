"""Pareto: observed trade-off between two objectives, with the front highlighted.

Every completed trial reporting all objectives is a point at ``(x metric, y metric)``. The
observed Pareto front — feasible trials that no other feasible trial beats in every objective
at once, the same rule as ``exp.pareto()`` — is highlighted and joined; other feasible points
are faded; trials violating an outcome constraint are grey crosses. Outcome-constraint bounds
on the plotted metrics (the hypervolume reference thresholds) are dashed lines. Trials left out
with ``exp.exclude`` are hollow markers, on no front; trials outside the search space since
``exp.change_parameters`` are grey hollow diamonds, on no front either.

    >>> rec = compute_pareto(exp)                         # doctest: +SKIP
    >>> rec.trial_index[rec.front]                        # trials on the front   # doctest: +SKIP

Figure layout (stable for every record of the same metric pair):

====  =======  ===================================================================
trace type     data
====  =======  ===================================================================
0     Scatter  feasible dominated points ``x[~front & feasible]`` (faded)
1     Scatter  infeasible points ``x[~feasible]``
2     Scatter  front points in ``front_order`` (sorted by x), joined by a line
3     Scatter  thresholds: dashed segments separated by None (may be empty)
4     Scatter  excluded trials ``excluded.x, excluded.y`` (hollow; may be empty)
5     Scatter  trials outside the space ``outside_space.x, .y`` (grey; may be empty)
====  =======  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from axnb.analysis._common import (
    BLUE,
    GREY,
    RED,
    Points,
    add_note,
    amendments,
    base_layout,
    excluded_trace,
    feasible,
    hover_text,
    is_excluded,
    is_outside,
    outside_notes,
    outside_trace,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.experiment import Experiment
    from axnb.trial import Trial


@dataclass(frozen=True, eq=False)
class ParetoRecord:
    """Numbers of a Pareto plot.

    ``x``, ``y`` are observed means of ``x_metric``/``y_metric`` for ``trial_index``;
    ``feasible`` and ``front`` are boolean masks over them (the front is computed over all
    objectives); ``front_order`` lists front positions sorted by ``x``. ``x_thresholds`` /
    ``y_thresholds`` are outcome-constraint bounds on the plotted metrics. ``excluded``: the
    trials left out with ``exp.exclude`` (x and y metric values), on no front;
    ``outside_space`` the trials outside the search space (likewise).
    """

    x_metric: str
    y_metric: str
    x_minimize: bool
    y_minimize: bool
    x: np.ndarray
    y: np.ndarray
    trial_index: np.ndarray
    feasible: np.ndarray
    front: np.ndarray
    front_order: np.ndarray
    hover: list[str]
    x_thresholds: list[float]
    y_thresholds: list[float]
    note: str | None
    excluded: Points = field(default_factory=Points.empty)
    outside_space: Points = field(default_factory=Points.empty)


def non_dominated(Y: np.ndarray) -> np.ndarray:
    """Mask of rows of ``Y`` (bigger is better in every column) that no other row dominates;
    of identical rows only the first is kept (as ``exp.pareto()`` does)."""
    Y = np.asarray(Y, dtype=float).reshape(len(Y), -1)
    keep = np.ones(len(Y), dtype=bool)
    for i in range(len(Y)):
        gain = Y - Y[i]  # how much better every other row is, per objective
        dominated = np.all(gain >= 0, axis=1) & np.any(gain > 0, axis=1)
        duplicate_before = np.all(Y[:i] == Y[i], axis=1)
        keep[i] = not dominated.any() and not duplicate_before.any()
    return keep


def compute_pareto(
    exp: Experiment,
    x_metric: str | None = None,
    y_metric: str | None = None,
    *,
    trials: list[Trial] | None = None,
) -> ParetoRecord:
    """Observed objective pairs, feasibility and the Pareto front (see module doc).

    ``x_metric``/``y_metric`` default to the first two objectives; both must be objectives.
    With a single objective the record is empty and ``note`` says so.
    """
    trials = exp.trials if trials is None else trials
    objs = {o.metric: o.minimize for o in exp.objectives}
    names = list(objs)
    for arg, value in (("x_metric", x_metric), ("y_metric", y_metric)):
        if value is not None and value not in objs:
            raise ValueError(
                f"{arg}={value!r} is not an objective; the objectives are {names}."
            )
    if len(names) < 2:
        only = names[0]
        return ParetoRecord(
            only, only, objs[only], objs[only], np.zeros(0), np.zeros(0),
            np.zeros(0, dtype=int), np.zeros(0, dtype=bool), np.zeros(0, dtype=bool),
            np.zeros(0, dtype=int), [], [], [],
            note=f"One objective ('{only}'): there is no trade-off to show. The Pareto plot "
                 f"needs objectives={{...}} with two or more; see exp.plot.progress().",
        )
    xm = x_metric or next(m for m in names if m != y_metric)
    ym = y_metric or next(m for m in names if m != xm)
    if xm == ym:
        raise ValueError(f"x_metric and y_metric are both '{xm}': pick two objectives of {names}.")
    done = [t for t in trials if t.is_data and t.result and all(m in t.result for m in objs)]
    out = [t for t in trials if is_excluded(t) and t.result and all(m in t.result for m in objs)]
    off = [t for t in trials if is_outside(t) and t.result and all(m in t.result for m in objs)]
    x = np.array([t.result[xm][0] for t in done], dtype=float)  # type: ignore[index]
    y = np.array([t.result[ym][0] for t in done], dtype=float)  # type: ignore[index]
    ok = np.array([feasible(exp, t.result) for t in done], dtype=bool)
    front = np.zeros(len(done), dtype=bool)
    if ok.any():
        signs = np.array([-1.0 if objs[m] else 1.0 for m in names])
        Y = np.array([[t.result[m][0] for m in names] for t in done])  # type: ignore[index]
        feas = np.flatnonzero(ok)
        front[feas[non_dominated(Y[feas] * signs)]] = True
    pos = np.flatnonzero(front)
    order = pos[np.lexsort((y[pos], x[pos]))] if len(pos) else np.zeros(0, dtype=int)
    note = None
    if not done:
        failed = sum(t.status == "failed" for t in trials)
        note = "No completed trial reports every objective yet" + (
            f"; {failed} failed." if failed else ".")
    elif not ok.any():
        note = "No trial satisfies the outcome constraints yet: no Pareto front."
    return ParetoRecord(
        x_metric=xm, y_metric=ym, x_minimize=objs[xm], y_minimize=objs[ym],
        x=x, y=y, trial_index=np.array([t.index for t in done], dtype=int),
        feasible=ok, front=front, front_order=order,
        hover=[_hover(t) for t in done],
        x_thresholds=[c.bound for c in exp.outcome_constraints if c.metric == xm],
        y_thresholds=[c.bound for c in exp.outcome_constraints if c.metric == ym],
        note=note,
        excluded=Points(
            [t.result[xm][0] for t in out], [t.result[ym][0] for t in out],  # type: ignore[index]
            np.array([t.index for t in out], dtype=int), [_hover(t) for t in out],
        ),
        outside_space=Points(
            [t.result[xm][0] for t in off], [t.result[ym][0] for t in off],  # type: ignore[index]
            np.array([t.index for t in off], dtype=int),
            [_hover(t, outside_notes(exp, t)) for t in off],
        ),
    )


def _hover(t: Trial, notes: list[str] | None = None) -> str:
    values = {m: v[0] for m, v in (t.result or {}).items()}
    return hover_text(t.index, t.parameters, values, amendments(t) if notes is None else notes)


def draw_pareto(rec: ParetoRecord) -> go.Figure:
    """Front, dominated and infeasible points, thresholds (see module doc)."""
    import plotly.graph_objects as go

    hover = np.array(rec.hover, dtype=object)
    dom = rec.feasible & ~rec.front
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=rec.x[dom].tolist(), y=rec.y[dom].tolist(), mode="markers", name="dominated",
        marker={"color": BLUE, "size": 8, "opacity": 0.3},
        hovertext=hover[dom].tolist(), hoverinfo="text",
    ))
    bad = ~rec.feasible
    fig.add_trace(go.Scatter(
        x=rec.x[bad].tolist(), y=rec.y[bad].tolist(), mode="markers", name="infeasible",
        marker={"color": GREY, "size": 8, "symbol": "x-thin-open", "opacity": 0.6,
                "line": {"width": 2, "color": GREY}},
        hovertext=[h + "<br>(violates an outcome constraint)" for h in hover[bad]],
        hoverinfo="text",
    ))
    o = rec.front_order
    fig.add_trace(go.Scatter(
        x=rec.x[o].tolist(), y=rec.y[o].tolist(), mode="lines+markers", name="Pareto front",
        marker={"color": RED, "size": 11, "line": {"color": "black", "width": 1}},
        line={"color": RED, "width": 1.5},
        hovertext=hover[o].tolist(), hoverinfo="text",
    ))
    tx, ty = _threshold_segments(rec)
    fig.add_trace(go.Scatter(
        x=tx, y=ty, mode="lines", name="threshold", line={"color": "black", "dash": "dash",
                                                          "width": 1},
        hoverinfo="skip",
    ))
    fig.add_trace(excluded_trace(rec.excluded))
    fig.add_trace(outside_trace(rec.outside_space))

    def arrow(minimize: bool) -> str:
        return "lower is better" if minimize else "higher is better"

    title = (f"Pareto front: {rec.x_metric} vs {rec.y_metric}<br><sup>"
             f"{int(rec.front.sum())} trials on the front of {len(rec.x)}"
             + (f", {rec.excluded.n} excluded" if rec.excluded.n else "")
             + (f", {rec.outside_space.n} outside the space" if rec.outside_space.n else "")
             + "</sup>")
    fig.update_layout(**base_layout(title))
    fig.update_layout(margin={"t": 90})
    fig.update_xaxes(title_text=f"{rec.x_metric} ({arrow(rec.x_minimize)})")
    fig.update_yaxes(title_text=f"{rec.y_metric} ({arrow(rec.y_minimize)})")
    add_note(fig, rec.note)
    fig.layout.meta = {"analysis": "pareto"}
    return fig


def _threshold_segments(rec: ParetoRecord) -> tuple[list, list]:
    xs = list(rec.x) + list(rec.excluded.x) + list(rec.outside_space.x) + list(rec.x_thresholds)
    ys = list(rec.y) + list(rec.excluded.y) + list(rec.outside_space.y) + list(rec.y_thresholds)
    if not xs or not ys:
        return [], []
    xlo, xhi = min(xs), max(xs)
    ylo, yhi = min(ys), max(ys)
    padx, pady = 0.05 * ((xhi - xlo) or 1.0), 0.05 * ((yhi - ylo) or 1.0)
    tx: list = []
    ty: list = []
    for b in rec.x_thresholds:
        tx += [b, b, None]
        ty += [ylo - pady, yhi + pady, None]
    for b in rec.y_thresholds:
        tx += [xlo - padx, xhi + padx, None]
        ty += [b, b, None]
    return tx, ty
