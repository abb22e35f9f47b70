"""Training subsets for large experiments: the GP's cubic cost without the cubic wall.

An exact GP on ``n`` observations costs O(n^3) to fit and condition: ~1.3 s per suggestion at
500 observations in 6-D, ~8 s at 1,000, ~47 s at 2,000 (one thread). Above ``LIMIT``
observations every model of a suggestion, plot or prediction is fitted to the same
``LIMIT`` trials instead of all of them:

* the better half (``LIMIT // 2``) by the objectives: for one objective the best values; for
  several, the trials in order of their non-dominated layer, ties by the sum of their ranks;
  trials that break an observed outcome constraint come after those that satisfy them;
* the other half spread over the space: greedy farthest-point (max-min distance) selection
  in the encoded unit cube, starting from the better half, so regions without good points
  keep a few observations and the model stays sensible everywhere (plots, ``predict``).

The choice depends only on the data (ties by trial index): the same trials give the same
subset, hence the same suggestions, in any process. Experiments with at most ``LIMIT``
observations are modelled exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from axnb.engine.acquisition import Problem
    from axnb.engine.models import MetricData

#: Observations above which the models are fitted to a subset of this many trials.
LIMIT = 500


def choose(data: Mapping[str, MetricData], problem: Problem, limit: int | None = None
           ) -> set[int] | None:
    """The trial indices to model, or None when every trial fits (at most ``limit``)."""
    limit = LIMIT if limit is None else int(limit)
    trials = sorted({i for d in data.values() for i in d.trial_indices})
    if len(trials) <= limit or limit <= 0:
        return None
    rows = {i: k for k, i in enumerate(trials)}
    order = _ranked(data, problem, trials, rows, limit // 2)
    keep = list(order[: limit // 2])
    X = _inputs(data, trials, rows)
    keep += _spread(X, [rows[i] for i in keep], limit - len(keep), trials)
    return set(keep)


def restrict(d: MetricData, keep: set[int]) -> MetricData:
    """``d`` with only the observations of the trials in ``keep``."""
    from axnb.engine.models import MetricData

    mask = np.fromiter((i in keep for i in d.trial_indices), dtype=bool, count=d.n)
    if mask.all():
        return d
    return MetricData(
        d.metric, d.X[mask], d.Y[mask], None if d.Yvar is None else d.Yvar[mask],
        [i for i, m in zip(d.trial_indices, mask) if m],
    )


def _inputs(data: Mapping[str, MetricData], trials: list[int], rows: dict[int, int]
            ) -> np.ndarray:
    """Encoded inputs of ``trials`` (one row each, from whichever metric reports it)."""
    d = next(iter(data.values()))
    X = np.zeros((len(trials), d.X.shape[1]))
    for m in data.values():
        for k, i in enumerate(m.trial_indices):
            X[rows[i]] = m.X[k]
    return X


def _ranked(data: Mapping[str, MetricData], problem: Problem, trials: list[int],
            rows: dict[int, int], needed: int) -> list[int]:
    """``trials`` best first (see module doc); the first ``needed`` are exact."""
    n = len(trials)
    values = np.full((n, len(problem.objectives)), -np.inf)  # maximization frame
    for j, o in enumerate(problem.objectives):
        d = data.get(o.metric)
        if d is not None:
            values[[rows[i] for i in d.trial_indices], j] = o.sign * d.Y
    broken = np.zeros(n, dtype=bool)
    for c in problem.outcome_constraints:
        d = data.get(c.metric)
        if d is None:
            continue
        bad = c.bound < d.Y if c.op == "<=" else c.bound > d.Y
        broken[[rows[i] for i in np.asarray(d.trial_indices)[bad]]] = True
    if values.shape[1] == 1:
        score = values[:, 0]
        layer = np.zeros(n)
    else:
        layer = _layers(values, needed)
        score = -np.sum(np.argsort(np.argsort(-values, axis=0), axis=0), axis=1)
    index = np.asarray(trials)
    # lexsort: last key first -> broken, then layer, then -score, then trial index
    order = np.lexsort((index, -score, layer, broken))
    return [trials[k] for k in order]


def _layers(values: np.ndarray, needed: int) -> np.ndarray:
    """Non-dominated layer of each row (0 = the Pareto front) of maximized ``values``, until
    ``needed`` rows have one; the rest share the next layer."""
    layer = np.full(len(values), -1)
    left = np.arange(len(values))
    k = 0
    while len(left) and len(values) - len(left) < needed:
        v = values[left]
        dominated = np.zeros(len(left), dtype=bool)
        for r in range(len(left)):
            better = np.all(v >= v[r], axis=1) & np.any(v > v[r], axis=1)
            dominated[r] = better.any()
        layer[left[~dominated]] = k
        left = left[dominated]
        k += 1
    layer[left] = k
    return layer


def _spread(X: np.ndarray, start: Sequence[int], count: int, trials: list[int]) -> list[int]:
    """``count`` more trials by greedy max-min distance to those chosen (rows ``start``)."""
    if count <= 0:
        return []
    dist = np.full(len(X), np.inf)
    for r in start:
        dist = np.minimum(dist, np.sum((X - X[r]) ** 2, axis=1))
    taken = np.zeros(len(X), dtype=bool)
    taken[list(start)] = True
    out = []
    for _ in range(min(count, int((~taken).sum()))):
        cand = np.where(taken, -1.0, dist)
        r = int(np.argmax(cand))  # first of the ties: the lowest trial index
        taken[r] = True
        out.append(trials[r])
        dist = np.minimum(dist, np.sum((X - X[r]) ** 2, axis=1))
    return out
