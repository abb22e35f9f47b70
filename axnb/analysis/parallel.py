"""Parallel coordinates: every completed trial as a line through its parameters and metrics.

One axis per tunable parameter (choices are categorical axes with their values as ticks, log
parameters are drawn on a log10 axis labelled with real values), then one per metric; lines
are colored by the first objective. Observed data only. Trials left out with ``exp.exclude``
are not drawn (a line has no hollow form), nor are trials outside the search space since
``exp.change_parameters`` (their values may lie off the axes); the title says how many.

Hierarchical spaces (``when=``): a trial where a parameter is inactive has no value for it, and
plotly's parcoords draws a missing value (NaN/None) as 0, which would look like a real value.
So an axis of a conditional parameter that some trial leaves inactive gets one extra tick
below its range, labelled ``inactive`` (``INACTIVE_LABEL``): those lines pass through it,
every line stays whole, and brushing that tick selects the trials where the parameter is
inactive. For a choice it is position -1, for a number a step of ``INACTIVE_GAP`` of the
axis span below its low end (in log10 for log axes); the axis then gets explicit ticks.

    >>> rec = compute_parallel(exp)        # doctest: +SKIP
    >>> [d.label for d in rec.dimensions]  # doctest: +SKIP
    ['lr', 'layers', 'opt', 'loss']

Figure layout: a single ``Parcoords`` trace (trace 0) whose ``dimensions`` follow
``rec.dimensions`` and whose ``line.color`` is ``rec.color``.

At scale (``rec.shown`` is not None: more than ``MAX_LINES`` completed trials, default 2,000)
the trace draws at most ``MAX_LINES`` lines, the values of ``rec.shown`` only: a quarter of
them (``rec.n_best``) are the best trials by the color metric when it is an objective, the
others an even sample of the remaining trials sorted by that metric (every quantile, its
lowest and highest values included), so the distribution is kept and brushing the metric's
good end finds the best trials. Deterministic. The axes' ranges still span every trial; the
title's second line says ``showing 2,000 of 9,747 trials (the 500 best and an even sample of
the rest)`` (before the excluded and outside trials not shown, if any).
``compute_parallel(..., max_lines=None)`` draws them all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from axnb.analysis._common import (
    add_note,
    base_layout,
    direction,
    excluded_with_metric,
    label,
    outside_with_metric,
    with_metric,
)
from axnb.space import Choice, Parameter

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.experiment import Experiment
    from axnb.trial import Trial


#: Most lines drawn (see module doc); None: every completed trial.
MAX_LINES: int | None = 2_000
#: Tick text of the slot where lines of trials with the parameter inactive pass.
INACTIVE_LABEL = "inactive"
#: How far below a numeric axis's low end that slot is, as a fraction of the axis span.
INACTIVE_GAP = 0.15


@dataclass(frozen=True, eq=False)
class Dimension:
    """One axis: plotted ``values`` (log10 for log parameters, value index for choices),
    optional tick positions and labels, and the axis range."""

    label: str
    values: np.ndarray
    tickvals: list[float] | None
    ticktext: list[str] | None
    range: tuple[float, float]


@dataclass(frozen=True, eq=False)
class ParallelRecord:
    """Numbers of a parallel-coordinates plot: ``dimensions`` (parameters then metrics), the
    line color values ``color`` (metric ``color_metric``), and each line's trial.
    ``n_excluded``: completed trials reporting the metric left out (``exp.exclude``), not drawn;
    ``n_outside``: those outside the search space (``Trial.outside``), not drawn either.
    """

    dimensions: list[Dimension]
    color: np.ndarray
    color_metric: str
    minimize: bool | None
    trial_index: np.ndarray
    note: str | None
    n_excluded: int = 0
    n_outside: int = 0
    #: Positions (into ``trial_index``, ``color`` and the dimensions' values) of the lines
    #: drawn, sorted; None: all (see module doc).
    shown: np.ndarray | None = None
    #: How many of the drawn lines are the best trials (the rest: an even sample).
    n_best: int = 0


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """``lo``, ``hi`` and round values between them (steps of 1, 2 or 5 x 10^k, about
    ``count`` ticks in all)."""
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    first = math.ceil(lo / step) * step
    inner = [round(first + i * step, 12) for i in range(int((hi - first) / step) + 1)]
    gap = 0.1 * (hi - lo)
    return [lo, *(t for t in inner if lo + gap < t < hi - gap), hi]


def _param_dimension(p: Parameter, values: list) -> Dimension:
    """One parameter's axis; ``None`` in ``values`` (inactive) goes to the ``inactive`` slot
    below the range (see module doc)."""
    missing = [v is None for v in values]
    if isinstance(p, Choice):
        idx = np.array([-1.0 if v is None else p.values.index(v) for v in values], dtype=float)
        ticks: list[float] = list(range(len(p.values)))
        text = [label(v) for v in p.values]
        rng = (0.0, float(len(p.values) - 1))
        if any(missing):
            return Dimension(p.name, idx, [-1.0, *ticks], [INACTIVE_LABEL, *text],
                             (-1.0, rng[1]))
        return Dimension(p.name, idx, ticks, text, rng)
    lo, hi = float(p.low), float(p.high)  # type: ignore[attr-defined]
    nums = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    if p.log:  # type: ignore[attr-defined]
        nums = np.log10(nums)
        ticks = [10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                 if lo <= 10.0**k <= hi]
        if len(ticks) < 2:
            ticks = [lo, hi]
        tickvals, text = [math.log10(t) for t in ticks], [f"{t:.3g}" for t in ticks]
        low, top = math.log10(lo), math.log10(hi)
    elif any(missing):
        tickvals = _nice_ticks(lo, hi)
        text = [f"{t:.4g}" for t in tickvals]
        low, top = lo, hi
    else:
        return Dimension(p.name, nums, None, None, (lo, hi))
    if not any(missing):
        return Dimension(p.name, nums, tickvals, text, (low, top))
    slot = low - INACTIVE_GAP * (top - low)
    nums = np.where(np.asarray(missing), slot, nums)
    return Dimension(p.name, nums, [slot, *tickvals], [INACTIVE_LABEL, *text], (slot, top))


def compute_parallel(
    exp: Experiment, metric: str | None = None, *, trials: list[Trial] | None = None,
    max_lines: int | Literal["default"] | None = "default",
) -> ParallelRecord:
    """Parameters and metrics of completed trials reporting ``metric`` (default: the first
    objective), which also colors the lines. ``max_lines``: most lines drawn (default
    ``MAX_LINES``; None: all; see module doc)."""
    from axnb.analysis._common import resolve_metric

    cap = MAX_LINES if max_lines == "default" else max_lines
    trials = exp.trials if trials is None else trials
    metric = resolve_metric(exp, metric, trials)
    done = with_metric(trials, metric)
    dims = [_param_dimension(p, [t.parameters.get(p.name) for t in done])
            for p in exp.space.tunable]
    metrics = [metric] + [m for m in exp.metrics if m != metric]
    for m in metrics:
        vals = np.array([(t.result or {}).get(m, (np.nan,))[0] for t in done], dtype=float)
        finite = vals[np.isfinite(vals)]
        rng = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        if rng[0] == rng[1]:
            rng = (rng[0] - 0.5, rng[1] + 0.5)
        dims.append(Dimension(m, vals, None, None, rng))
    note = None
    n_excluded = len(excluded_with_metric(trials, metric))
    n_outside = len(outside_with_metric(trials, metric))
    if not done and (n_excluded or n_outside):
        why = " or ".join(w for w, n in (("excluded", n_excluded),
                                         ("outside the search space", n_outside)) if n)
        note = f"Every completed trial reporting '{metric}' is {why}."
    elif not done:
        failed = sum(t.status == "failed" for t in trials)
        note = f"No completed trial reports '{metric}' yet" + (
            f"; {failed} failed." if failed else ".")
    color = np.array([t.result[metric][0] for t in done], dtype=float)  # type: ignore[index]
    minimize = direction(exp, metric)
    shown, n_best = _lines(color, minimize, cap)
    return ParallelRecord(dims, color, metric, minimize,
                          np.array([t.index for t in done], dtype=int), note, n_excluded,
                          n_outside, shown, n_best)


def _lines(color: np.ndarray, minimize: bool | None, cap: int | None
           ) -> tuple[np.ndarray | None, int]:
    """Positions of the lines drawn and how many of them are the best (see module doc)."""
    from axnb.analysis.progress import even_positions

    n = len(color)
    if cap is None or n <= cap:
        return None, 0
    cap = max(int(cap), 2)
    order = np.argsort(color, kind="stable")  # lowest first
    if minimize is False:
        order = order[::-1]
    n_best = cap // 4 if minimize is not None else 0
    best, rest = order[:n_best], order[n_best:]
    sample = rest[even_positions(len(rest), cap - n_best)]
    return np.sort(np.concatenate([best, sample])), n_best


def draw_parallel(rec: ParallelRecord) -> go.Figure:
    """One ``Parcoords`` trace (see module doc)."""
    import plotly.graph_objects as go

    shown = np.arange(len(rec.trial_index)) if rec.shown is None else rec.shown
    dims = []
    for d in rec.dimensions:
        dim = {"label": d.label, "values": [None if not np.isfinite(v) else float(v)
                                            for v in d.values[shown]],
               "range": list(d.range)}
        if d.tickvals is not None:
            dim["tickvals"] = d.tickvals
            dim["ticktext"] = d.ticktext
        dims.append(dim)
    fig = go.Figure(go.Parcoords(
        dimensions=dims,
        line={"color": rec.color[shown].tolist(), "colorscale": "Viridis",
              "reversescale": rec.minimize is True, "showscale": True,
              "colorbar": {"title": {"text": rec.color_metric}}},
    ))
    better = {True: " (lower is better)", False: " (higher is better)"}.get(rec.minimize, "")
    title = (f"Parallel coordinates of {len(rec.trial_index)} completed trials, colored by "
             f"{rec.color_metric}{better}")
    hidden = [f"{n} {what}{'' if n == 1 else 's'}{where}" for n, what, where in (
        (rec.n_excluded, "excluded trial", ""),
        (rec.n_outside, "trial", " outside the search space"),
    ) if n]
    notes = [f"{' and '.join(hidden)} not shown"] if hidden else []
    if rec.shown is not None:
        how = (f"the {rec.n_best:,} best and an even sample of the rest" if rec.n_best
               else f"an even sample by {rec.color_metric}")
        notes.insert(0, f"showing {len(shown):,} of {len(rec.trial_index):,} trials ({how})")
    if notes:
        title += f"<br><sup>{'; '.join(notes)}</sup>"
    fig.update_layout(**base_layout(title))
    fig.update_layout(margin={"l": 70, "r": 40, "t": 120, "b": 40})
    add_note(fig, rec.note)
    fig.layout.meta = {"analysis": "parallel"}
    return fig
