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


def compute_progress(
    exp: Experiment, metric: str | None = None, *, trials: list[Trial] | None = None
) -> ProgressRecord:
    """Values by trial index, feasibility, best so far and failures (see module doc)."""
    trials = exp.trials if trials is None else trials
    metric = resolve_metric(exp, metric, trials)
    minimize = direction(exp, metric)
    done = with_metric(trials, metric)
    index = np.array([t.index for t in done], dtype=int)
    values = np.array([t.result[metric][0] for t in done], dtype=float)  # type: ignore[index]
    ok = np.array([feasible(exp, t.result) for t in done], dtype=bool)

    best_index, best_values = [], []
    if minimize is not None:
        best = None
        for i, v, f in zip(index, values, ok):
            if f and (best is None or (v < best if minimize else v > best)):
                best = float(v)
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
    )


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
    ok = rec.feasible
    hover = np.array(rec.hover, dtype=object)
    fig.add_trace(go.Scatter(
        x=rec.index[ok].tolist(), y=rec.values[ok].tolist(), mode="markers", name="trial",
        marker={"color": BLUE, "size": 8}, hovertext=hover[ok].tolist(), hoverinfo="text",
    ))
    fig.add_trace(go.Scatter(
        x=rec.index[~ok].tolist(), y=rec.values[~ok].tolist(), mode="markers",
        name="infeasible", marker={"color": GREY, "size": 8, "symbol": "circle-open"},
        hovertext=[h + "<br>(violates an outcome constraint)" for h in hover[~ok]],
        hoverinfo="text",
    ))
    fig.add_trace(go.Scatter(
        x=rec.best_index.tolist(), y=rec.best_values.tolist(), mode="lines",
        name="best so far", line={"color": RED, "width": 2, "shape": "hv"},
        hovertemplate="best so far after trial %{x}: %{y:.4g}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=rec.failed_index.tolist(), y=[rec.failed_y] * len(rec.failed_index), mode="markers",
        name="failed", marker={"color": RED, "symbol": "x", "size": 9},
        hovertext=[f"trial {i} failed<br>{r}" for i, r in zip(rec.failed_index,
                                                              rec.failed_reason)],
        hoverinfo="text",
    ))
    fig.add_trace(excluded_trace(rec.excluded))
    fig.add_trace(outside_trace(rec.outside_space))
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
    fig.layout.meta = {"analysis": "progress"}
    return fig
