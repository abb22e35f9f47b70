"""Trust regions for long runs (TuRBO-1, Eriksson et al. 2019, as BoTorch's tutorial has it).

Above ``FROM`` observations of a single objective over continuous parameters, the acquisition
is maximized inside a box around the best observed point instead of the whole space, and the
model it uses is fitted to the ``LOCAL`` observations nearest that point (the plots and
``predict`` keep the global model). The box's side along each dimension is
``length * w_i``, ``w`` the acquisition model's lengthscales divided by their geometric mean;
``length`` follows TuRBO's schedule, replayed over the observations in trial order from the
``FROM``-th on: it starts at ``LENGTH_INIT``, doubles (up to ``LENGTH_MAX``) after
``SUCCESSES`` improvements in a row, halves after ``max(4, d)`` failures in a row and restarts
at ``LENGTH_INIT`` below ``LENGTH_MIN``. An improvement beats the best so far by more than
1e-3 of its magnitude. Only the engine's own suggestions (source "model") count as successes
or failures: attached or manual trials move the best point, not the side (a history of 1,000
attached random trials does not shrink the first region).

The model's hyperparameters are refitted only at "anchor" counts of observations (``FROM + 1``,
then each ``REFIT_GROWTH`` larger than the last; None: at every count): between two anchors the
GP takes the hyperparameters fitted to the local set the last anchor had and is conditioned on
the current local set.

Everything here depends on the data only, so a reloaded experiment suggests the same point.
``FROM = None`` turns trust regions off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Observations above which suggestions use a trust region (None: never). 200 leaves runs of
#: at most 200 trials as they were (issue 20); bench ``scale`` measures it.
FROM: int | None = 200
#: Observations (nearest the centre) the trust region's model is fitted to.
LOCAL = 200
LENGTH_INIT = 0.8
LENGTH_MIN = 0.5**7
LENGTH_MAX = 1.6
SUCCESSES = 3
#: Growth between two refits of the hyperparameters (None: refit at every count).
REFIT_GROWTH: float | None = 0.05


@dataclass(frozen=True)
class Region:
    """A trust region: the trials its model is fitted to (``keep``), those whose fit gives
    its hyperparameters (``anchor``; None: ``keep``'s own), its centre (unit cube), the trial
    there and the side factor."""

    keep: frozenset[int]
    anchor: frozenset[int] | None
    centre: np.ndarray
    centre_trial: int
    size: float


def region(X: np.ndarray, values: np.ndarray, trials: Sequence[int], start: int | None = None,
           counted: Sequence[bool] | None = None) -> Region | None:
    """The trust region of observations ``X`` (unit cube, in trial order) with maximized
    ``values`` of trials ``trials``; None at most ``start`` (``FROM``) observations.
    ``counted``: which observations the side's schedule counts (default all)."""
    start = FROM if start is None else start
    n = len(values)
    if not applies(n, start):
        return None
    X, values, index = np.asarray(X), np.asarray(values, dtype=float), np.asarray(trials)

    def local(m: int) -> frozenset[int]:
        centre = X[int(np.argmax(values[:m]))]
        return frozenset(int(i) for i in index[nearest(X[:m], centre, LOCAL)])

    a, best = anchor(n, start), int(np.argmax(values))
    return Region(local(n), None if a == n else local(a), X[best], int(index[best]),
                  length(values, X.shape[1], start, counted))


def anchor(n: int, start: int) -> int:
    """The observation count whose local set's fit gives the hyperparameters at ``n``: the
    largest of ``start + 1``, then each ``REFIT_GROWTH`` larger, that is at most ``n``."""
    from axnb.engine.models import growth_anchor

    return growth_anchor(n, start + 1, REFIT_GROWTH)


def applies(n: int, start: int | None = None) -> bool:
    """Whether ``n`` observations are above the trust-region threshold ``start`` (``FROM``)."""
    start = FROM if start is None else start
    return start is not None and n > start


def length(values: Sequence[float], dim: int, start: int,
           counted: Sequence[bool] | None = None) -> float:
    """The side factor after replaying ``values`` (maximized, in trial order) from index
    ``start`` on (see module doc); ``counted``: which values count (default all), the
    others only raise the best so far."""
    v = np.asarray(values, dtype=float)
    if len(v) <= start:
        return LENGTH_INIT
    count = np.ones(len(v), dtype=bool) if counted is None else np.asarray(counted, dtype=bool)
    best = float(np.max(v[:start])) if start > 0 else -np.inf
    size, wins, losses = LENGTH_INIT, 0, 0
    patience = max(4, dim)
    for y, c in zip(v[start:], count[start:]):
        if not c:
            best = max(best, float(y))
            continue
        if y > best + 1e-3 * abs(best):
            wins, losses = wins + 1, 0
        else:
            wins, losses = 0, losses + 1
        best = max(best, float(y))
        if wins == SUCCESSES:
            size, wins = min(2.0 * size, LENGTH_MAX), 0
        elif losses == patience:
            size, losses = size / 2.0, 0
        if size < LENGTH_MIN:
            size, wins, losses = LENGTH_INIT, 0, 0
    return size


def nearest(X: np.ndarray, centre: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the ``k`` rows of ``X`` nearest ``centre`` (ties by row number)."""
    d = np.sum((np.asarray(X) - centre) ** 2, axis=1)
    return np.sort(np.argsort(d, kind="stable")[:k])


def box(centre: np.ndarray, lengthscales: np.ndarray, size: float
        ) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners in the unit cube of the box of side ``size * w`` around
    ``centre``, ``w`` the lengthscales over their geometric mean."""
    ls = np.asarray(lengthscales, dtype=float).reshape(-1)
    w = ls / np.exp(np.mean(np.log(ls)))
    lo = np.clip(centre - w * size / 2.0, 0.0, 1.0)
    hi = np.clip(centre + w * size / 2.0, 0.0, 1.0)
    return lo, hi
