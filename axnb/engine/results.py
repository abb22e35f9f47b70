"""Best arm and Pareto front from completed trials.

* ``observed_best``: among completed trials with every objective and constraint metric, the
  feasible ones (observed means satisfy all outcome constraints) compete on ``s * y`` (``s``
  = +1 maximize, -1 minimize); with none feasible, the least-violating trial wins, violation
  ``sum_c max(0, signed gap_c) / scale_c``.
* ``model_best``: the same rule applied to posterior means at the observed arms (in-sample),
  for noisy data; values are posterior ``(mean, sd)``.
* ``pareto_front``: feasible trials whose objective vectors ``s * y`` are non-dominated.
  For several objectives, ``best`` is the Pareto arm with the largest sum of objectives
  min-max normalized over the front (a balanced compromise).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.engine.acquisition import Problem, observed_feasible

if TYPE_CHECKING:
    from axnb.trial import Trial

Values = dict[str, tuple[float, float | None]]


def usable(problem: Problem, trials: Sequence[Trial]) -> list[Trial]:
    """Completed trials (not excluded) reporting every objective and constraint metric."""
    need = problem.metrics
    return [t for t in trials if t.is_data and t.result
            and all(m in t.result for m in need)]


def violation(problem: Problem, means: dict[str, float], scales: dict[str, float]) -> float:
    """Scaled total violation of the outcome constraints (0 when feasible)."""
    total = 0.0
    for c in problem.outcome_constraints:
        v = means[c.metric]
        gap = v - c.bound if c.op == "<=" else c.bound - v
        total += max(gap, 0.0) / scales.get(c.metric, 1.0)
    return total


def scales_of(problem: Problem, rows: list[dict[str, float]]) -> dict[str, float]:
    out = {}
    for m in problem.metrics:
        vals = np.array([r[m] for r in rows], dtype=np.float64)
        top = float(np.max(np.abs(vals))) if len(vals) else 0.0
        unit = top if top > 1e150 else 1.0  # huge values: compute in units of the largest
        vals = vals / unit                  # (squares in std would overflow)
        s = float(np.std(vals)) if len(vals) > 1 else 0.0
        out[m] = unit * s if s > 0 else max(
            unit * float(np.abs(vals).mean()) if len(vals) else 1.0, 1e-12)
    return out


def non_dominated(Y: np.ndarray) -> np.ndarray:
    """Boolean mask of non-dominated rows of ``Y`` (maximization); duplicates keep the first."""
    n = len(Y)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        dominated_by = np.all(Y[i] <= Y, axis=1) & np.any(Y[i] < Y, axis=1)
        same_before = np.all(Y[:i] == Y[i], axis=1)
        if dominated_by.any() or same_before.any():
            keep[i] = False
    return keep


def choose(problem: Problem, means: list[dict[str, float]]) -> int:
    """Index of the best row of ``means`` (metric -> value) by the module-doc rule."""
    scales = scales_of(problem, means)
    feas = [i for i, r in enumerate(means) if violation(problem, r, scales) == 0.0]
    if not feas:
        return int(np.argmin([violation(problem, r, scales) for r in means]))
    objs = problem.objectives
    Y = np.array([[o.sign * means[i][o.metric] for o in objs] for i in feas])
    if len(objs) == 1:
        return feas[int(np.argmax(Y[:, 0]))]
    front = np.flatnonzero(non_dominated(Y))
    F = Y[front]
    lo, hi = F.min(axis=0), F.max(axis=0)
    norm = (F - lo) / np.where(hi > lo, hi - lo, 1.0)
    return feas[int(front[int(np.argmax(norm.sum(axis=1)))])]


def observed_best(problem: Problem, trials: Sequence[Trial]) -> tuple[dict, Values] | None:
    ts = usable(problem, trials)
    if not ts:
        return None
    i = choose(problem, [{m: v[0] for m, v in t.result.items()} for t in ts])  # type: ignore
    return dict(ts[i].parameters), dict(ts[i].result)  # type: ignore[arg-type]


def pareto_front(problem: Problem, trials: Sequence[Trial]) -> list[tuple[dict, Values]]:
    """Feasible, non-dominated completed trials (observed), sorted by the first objective."""
    ts = [t for t in usable(problem, trials) if observed_feasible(problem, t.result)]  # type: ignore
    if not ts:
        return []
    objs = problem.objectives
    Y = np.array([[o.sign * t.result[o.metric][0] for o in objs] for t in ts])  # type: ignore
    keep = np.flatnonzero(non_dominated(Y))
    keep = sorted(keep, key=lambda i: -Y[i, 0])
    return [(dict(ts[i].parameters), dict(ts[i].result)) for i in keep]  # type: ignore


def model_best(
    problem: Problem, trials: Sequence[Trial], predict: Any
) -> tuple[dict, Values] | None:
    """In-sample best by posterior means; ``predict(list_of_params)`` -> {metric: (means, sds)}."""
    ts = usable(problem, trials)
    if not ts:
        return None
    pred = predict([t.parameters for t in ts])
    means = [{m: float(pred[m][0][k]) for m in pred} for k in range(len(ts))]
    i = choose(problem, means)
    values = {m: (float(pred[m][0][i]), float(pred[m][1][i])) for m in pred}
    return dict(ts[i].parameters), values
