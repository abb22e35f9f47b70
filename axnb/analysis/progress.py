"""Progress: every trial's value by index, and the best so far.

Observed data only (no model), so it works from the first trial and during a run. With outcome
constraints the best so far counts feasible trials only, and infeasible ones are drawn hollow.
Failed trials are ``x`` markers along the bottom; hovering shows the reason. Trials left out
with ``exp.exclude`` are hollow markers of their own (hover: excluded and why), not counted in
the best so far; a corrected trial's hover shows its earlier result. Trials outside the search
space since ``exp.change_parameters`` are grey hollow diamonds (hover: why), not counted either.

    >>> rec = compute_progress(exp)        # doctest: +SKIP
    >>> rec.best_values[-1]                # best value seen so far   # doctest: +SKIP

Figure layout (stable for every record):

====  =======  ==============================================================
trace type     data
====  =======  ==============================================================
0     Scatter  feasible completed trials ``index[feasible], values[feasible]``
1     Scatter  infeasible completed trials (outcome constraints violated)
2     Scatter  best so far, a step line ``best_index, best_values``
3     Scatter  failed trials at ``y = failed_y``, hover = reason
4     Scatter  excluded trials ``excluded.x, excluded.y`` (hollow; may be empty)
5     Scatter  trials outside the space ``outside_space.x, .y`` (grey; may be empty)
====  =======  ==============================================================

At scale (``rec.shown`` is not None: more than ``MAX_POINTS`` completed trials, default 2,000)
traces 0 and 1 draw at most ``MAX_POINTS`` markers: every trial that set a new best so far
(an even sample of them in the odd case of more than ``MAX_POINTS``), the latest trial and, of
the others, the lowest and the highest value of each of
``(MAX_POINTS - kept) // 2`` equal stretches of trials (by index), so the cloud's envelope and
every improvement stay visible. The choice is deterministic (same trials, same markers). The
best-so-far line stays exact: trace 2 then holds only its corners (the trials where the best
changed, and the last one), which draw the same step line. Traces 3, 4 and 5 keep every marker
up to ``MAX_POINTS`` each (evenly spaced beyond). A note under the x-axis title (a layout
annotation named ``"drawn"``, right-aligned; the bottom margin grows by ``DRAWN_ROW_PX``) says
what is drawn: ``showing 2,000 of 9,747 completed trials (every new best kept)``, and
``2,000 of 5,000 failed`` when a side trace is capped. The record itself keeps every trial
(``index``, ``values``, ...); ``compute_progress(..., max_points=None)`` draws them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from axnb.analysis._common import (
    BLUE,
    GREY,
    RED,
    Points,
    add_note,
    amendments,
    base_layout,
    direction,
    excluded_trace,
    excluded_with_metric,
    feasible,
    fmt,
    hover_text,
    outside_notes,
    outside_trace,
    outside_with_metric,
    resolve_metric,
    with_metric,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.experiment import Experiment
    from axnb.trial import Trial

#: Room (px) added under the plot for the note that says what is drawn (see module doc).
DRAWN_ROW_PX = 20
#: Most trial markers a progress figure draws of the completed trials (traces 0 and 1), and
#: of each of the failed, excluded and outside traces (see module doc). None: no limit.
MAX_POINTS: int | None = 2_000


@dataclass(frozen=True, eq=False)
class ProgressRecord:
    """Numbers of a progress plot.

    ``index``/``values``/``feasible``/``source`` describe completed trials reporting the
    metric, by trial index. ``best_index``/``best_values`` is the best-so-far curve (empty
    when the metric is not an objective or nothing feasible was seen). ``failed_index`` and
    ``failed_reason`` list failed trials, drawn at height ``failed_y``. ``excluded`` are the
    completed trials left out with ``exp.exclude`` (trial index, value): in no best so far;
    ``outside_space`` those outside the search space since ``exp.change_parameters`` (trial
    index, value; excluded or not), in no best so far either.
    """

    metric: str
    minimize: bool | None
    index: np.ndarray
    values: np.ndarray
    feasible: np.ndarray
    source: list[str]
    hover: list[str]
    best_index: np.ndarray
    best_values: np.ndarray
    failed_index: np.ndarray
    failed_reason: list[str]
    failed_y: float
    n_running: int
    note: str | None
    excluded: Points = field(default_factory=Points.empty)
    outside_space: Points = field(default_factory=Points.empty)
    #: Positions (into ``index``/``values``) of the completed trials drawn, sorted; None: all.
    shown: np.ndarray | None = None
    #: The ``max_points`` the record was computed with (caps traces 3-5 when drawn).
    max_points: int | None = None


def compute_progress(
    exp: Experiment, metric: str | None = None, *, trials: list[Trial] | None = None,
    max_points: int | Literal["default"] | None = "default",
) -> ProgressRecord:
    """Values by trial index, feasibility, best so far and failures (see module doc).
    ``max_points``: most completed-trial markers drawn (default ``MAX_POINTS``; None: all)."""
    cap = MAX_POINTS if max_points == "default" else max_points
    trials = exp.trials if trials is None else trials
    metric = resolve_metric(exp, metric, trials)
    minimize = direction(exp, metric)
    done = with_metric(trials, metric)
    index = np.array([t.index for t in done], dtype=int)
    values = np.array([t.result[metric][0] for t in done], dtype=float)  # type: ignore[index]
    ok = np.array([feasible(exp, t.result) for t in done], dtype=bool)

    best_index, best_values = [], []
    improved = []  # positions of the trials that set a new best
    if minimize is not None:
        best = None
        for k, (i, v, f) in enumerate(zip(index, values, ok)):
            if f and (best is None or (v < best if minimize else v > best)):
                best = float(v)
                improved.append(k)
            if best is not None:
                best_index.append(int(i))
                best_values.append(best)

    out = excluded_with_metric(trials, metric)
    out_values = [t.result[metric][0] for t in out]  # type: ignore[index]
    off = outside_with_metric(trials, metric)
    off_values = [t.result[metric][0] for t in off]  # type: ignore[index]
    failed = [t for t in trials if t.status == "failed"]
    shown = np.concatenate([values, np.asarray(out_values + off_values, dtype=float)])
    if len(shown):
        lo, hi = float(shown.min()), float(shown.max())
        failed_y = lo - 0.06 * ((hi - lo) or max(abs(lo), 1.0))
    else:
        failed_y = 0.0
    note = None
    if not done and (out or off):
        why = " or ".join(w for w, ts in (("excluded", out),
                                          ("outside the search space", off)) if ts)
        note = f"Every completed trial reporting '{metric}' is {why}: no best so far."
    elif not done:
        note = (f"No completed trial reports '{metric}' yet"
                + (f"; {len(failed)} failed." if failed else "."))
    elif exp.outcome_constraints and not ok.any():
        note = "No trial satisfies the outcome constraints yet: no best so far."
    return ProgressRecord(
        metric=metric,
        minimize=minimize,
        index=index,
        values=values,
        feasible=ok,
        source=[t.source for t in done],
        hover=[_hover(t) for t in done],
        best_index=np.array(best_index, dtype=int),
        best_values=np.array(best_values, dtype=float),
        failed_index=np.array([t.index for t in failed], dtype=int),
        failed_reason=[_short(t.reason) for t in failed],
        failed_y=failed_y,
        n_running=sum(t.status == "running" for t in trials),
        note=note,
        excluded=Points([t.index for t in out], out_values,
                        np.array([t.index for t in out], dtype=int), [_hover(t) for t in out]),
        outside_space=Points(
            [t.index for t in off], off_values, np.array([t.index for t in off], dtype=int),
            [_hover(t, outside_notes(exp, t)) for t in off],
        ),
        shown=_markers(values, improved, cap),
        max_points=cap,
    )


def even_positions(n: int, k: int) -> np.ndarray:
    """``k`` positions out of ``range(n)``, evenly spaced, first and last included (all of
    them when ``k >= n``)."""
    if k >= n:
        return np.arange(n)
    if k <= 1:
        return np.arange(min(k, n))
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int))


def _markers(values: np.ndarray, keep: list[int], cap: int | None) -> np.ndarray | None:
    """Positions of the completed trials drawn (see module doc), None when all are."""
    n = len(values)
    if cap is None or n <= cap:
        return None
    cap = max(int(cap), 2)
    must = np.unique(np.asarray([*keep, n - 1], dtype=int))
    if len(must) >= cap:  # (nearly) every trial improved: the line shows them anyway
        return must[even_positions(len(must), cap)]
    rest = np.setdiff1d(np.arange(n), must, assume_unique=True)
    buckets = (cap - len(must)) // 2
    picked = [must]
    if buckets:
        for part in np.array_split(rest, buckets):
            if len(part):
                v = values[part]
                picked.append(part[[int(np.argmin(v)), int(np.argmax(v))]])
    return np.unique(np.concatenate(picked))


def _hover(t: Trial, notes: list[str] | None = None) -> str:
    values = {m: v[0] for m, v in (t.result or {}).items()} | {"source": t.source}
    return hover_text(t.index, t.parameters, values, amendments(t) if notes is None else notes)


def _short(reason: str | None, limit: int = 300) -> str:
    """The last lines of a failure reason (tracebacks end with the error)."""
    if not reason:
        return "no reason given"
    text = reason.strip().splitlines()
    tail = "<br>".join(text[-3:])
    return tail if len(tail) <= limit else "…" + tail[-limit:]


def draw_progress(rec: ProgressRecord) -> go.Figure:
    """Trials by index with the best-so-far step line and failures (see module doc)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    shown = np.arange(len(rec.index)) if rec.shown is None else rec.shown
    ok = rec.feasible[shown]
    index, values = rec.index[shown], rec.values[shown]
    hover = np.array(rec.hover, dtype=object)[shown]
    fig.add_trace(go.Scatter(
        x=index[ok].tolist(), y=values[ok].tolist(), mode="markers", name="trial",
        marker={"color": BLUE, "size": 8}, hovertext=hover[ok].tolist(), hoverinfo="text",
    ))
    fig.add_trace(go.Scatter(
        x=index[~ok].tolist(), y=values[~ok].tolist(), mode="markers",
        name="infeasible", marker={"color": GREY, "size": 8, "symbol": "circle-open"},
        hovertext=[h + "<br>(violates an outcome constraint)" for h in hover[~ok]],
        hoverinfo="text",
    ))
    best_index, best_values = rec.best_index, rec.best_values
    if rec.shown is not None and len(best_values):  # the corners draw the same step line
        corners = np.flatnonzero(np.diff(best_values, prepend=np.nan) != 0)
        corners = np.union1d(corners, [len(best_values) - 1])
        best_index, best_values = best_index[corners], best_values[corners]
    fig.add_trace(go.Scatter(
        x=best_index.tolist(), y=best_values.tolist(), mode="lines",
        name="best so far", line={"color": RED, "width": 2, "shape": "hv"},
        hovertemplate="best so far after trial %{x}: %{y:.4g}<extra></extra>",
    ))
    failed = _capped(len(rec.failed_index), rec.max_points)
    failed_index = rec.failed_index[failed]
    fig.add_trace(go.Scatter(
        x=failed_index.tolist(), y=[rec.failed_y] * len(failed_index), mode="markers",
        name="failed", marker={"color": RED, "symbol": "x", "size": 9},
        hovertext=[f"trial {rec.failed_index[k]} failed<br>{rec.failed_reason[k]}"
                   for k in failed],
        hoverinfo="text",
    ))
    fig.add_trace(excluded_trace(_some(rec.excluded, rec.max_points)))
    fig.add_trace(outside_trace(_some(rec.outside_space, rec.max_points)))
    better = {True: " (lower is better)", False: " (higher is better)"}.get(rec.minimize, "")
    parts = [f"{len(rec.index)} completed"]
    if rec.excluded.n:
        parts.append(f"{rec.excluded.n} excluded")
    if rec.outside_space.n:
        parts.append(f"{rec.outside_space.n} outside the space")
    if len(rec.failed_index):
        parts.append(f"{len(rec.failed_index)} failed")
    if rec.n_running:
        parts.append(f"{rec.n_running} running")
    if len(rec.best_values):
        parts.append(f"best {fmt(float(rec.best_values[-1]))}")
    title = f"{rec.metric}{better} by trial<br><sup>{', '.join(parts)}</sup>"
    fig.update_layout(**base_layout(title))
    fig.update_layout(margin={"t": 90})
    fig.update_xaxes(title_text="trial", rangemode="tozero")
    fig.update_yaxes(title_text=rec.metric)
    add_note(fig, rec.note)
    drawn = _drawn_note(rec, len(shown))
    if drawn:  # its own row under the x-axis title, right-aligned: clear of title and legend
        fig.update_layout(margin={"b": 55 + DRAWN_ROW_PX})
        fig.add_annotation(
            text=drawn, name="drawn", xref="paper", yref="paper", x=1.0, y=0.0,
            xanchor="right", yanchor="top", yshift=-52, showarrow=False,
            font={"size": 11, "color": "#666"},
        )
    fig.layout.meta = {"analysis": "progress"}
    return fig


def _capped(n: int, cap: int | None) -> np.ndarray:
    """Positions of ``n`` markers drawn: all, or ``cap`` evenly spaced."""
    return np.arange(n) if cap is None or n <= cap else even_positions(n, max(int(cap), 2))


def _some(points: Points, cap: int | None) -> Points:
    """``points``, or ``cap`` of them evenly spaced."""
    keep = _capped(points.n, cap)
    if len(keep) == points.n:
        return points
    return Points([points.x[k] for k in keep], [points.y[k] for k in keep],
                  points.trial_index[keep], [points.hover[k] for k in keep])


def _drawn_note(rec: ProgressRecord, n_shown: int) -> str:
    """"showing 2,000 of 9,746 completed trials (every new best kept)", and the failed,
    excluded and outside markers left out; empty when everything is drawn."""
    parts = []
    if rec.shown is not None:
        news = np.count_nonzero(np.diff(rec.best_values, prepend=np.nan) != 0)
        kept = " (every new best kept)" if 0 < news < n_shown else ""
        parts.append(f"showing {n_shown:,} of {len(rec.index):,} completed trials{kept}")
    for n, what in ((len(rec.failed_index), "failed"), (rec.excluded.n, "excluded"),
                    (rec.outside_space.n, "outside the space")):
        n_drawn = len(_capped(n, rec.max_points))
        if n_drawn < n:
            parts.append(f"{n_drawn:,} of {n:,} {what}")
    return "; ".join(parts)
