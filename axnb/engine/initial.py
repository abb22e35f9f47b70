"""Space-filling points: the start design and the fallback when a model cannot be used.

* No linear constraints: the scrambled Sobol sequence (seeded), points ``position ..
  position + n - 1``, where ``position`` is the number of trials so far; so consecutive calls
  continue the same low-discrepancy sequence instead of repeating it.
* Inequality constraints only, with an acceptance rate above ``MIN_ACCEPTANCE``: the same
  Sobol sequence with infeasible points rejected (the feasible subsequence keeps Sobol's
  even spread).
* Equality constraints or a thin polytope: hit-and-run sampling of the polytope
  (``botorch.utils.sampling.HitAndRunPolytopeSampler``), seeded by (seed, position).
* Python predicates (``axnb.predicates``): rejection, on top of the above.

Discrete columns take ``floor(u * k)`` of the uniform coordinate (every value an equal share);
pinned columns are overwritten; every row is passed through ``Repairer.repair`` so integer
rounding never breaks a constraint.
"""

from __future__ import annotations

import warnings

import numpy as np

from axnb.engine.context import derive_seed
from axnb.engine.encoding import Encoder
from axnb.engine.polytope import Repairer
from axnb.errors import InfeasibleError

#: Below this share of feasible Sobol points, sample the polytope instead of rejecting.
MIN_ACCEPTANCE = 0.02
_CHUNK = 1024
_MAX_CHUNKS = 16


def sobol(d: int, seed: int, start: int, n: int) -> np.ndarray:
    """Points ``start .. start + n - 1`` of the scrambled Sobol sequence in ``[0, 1)^d``."""
    from scipy.stats import qmc

    engine = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(seed))
    if start:
        engine.fast_forward(start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "balance properties" warning for n not 2^m
        return engine.random(n)


def space_filling(
    encoder: Encoder,
    repairer: Repairer,
    n: int,
    seed: int,
    position: int,
    pins: dict[int, float] | None = None,
) -> np.ndarray:
    """``n`` valid encoded rows (see module doc); raises ``InfeasibleError`` if none exist.

    The rows are distinct where the space allows: when discrete columns make two coincide,
    the first ``n`` distinct rows of a longer stretch of the same sequence are taken.
    """
    rows = _space_filling(encoder, repairer, n, seed, position, pins)
    if n == 1 or len({r.tobytes() for r in np.asarray(rows)}) == n:
        return rows
    more = _space_filling(encoder, repairer, 16 * n, seed, position, pins)
    seen: dict[bytes, np.ndarray] = {}
    for r in [*np.asarray(rows), *np.asarray(more)]:
        seen.setdefault(r.tobytes(), r)
        if len(seen) == n:
            return np.asarray(list(seen.values()))
    return rows


def _space_filling(
    encoder: Encoder,
    repairer: Repairer,
    n: int,
    seed: int,
    position: int,
    pins: dict[int, float] | None = None,
) -> np.ndarray:
    pins = pins or {}
    d = encoder.d
    uc = repairer.uc
    if uc.empty and repairer.predicates:
        rows = _sobol_rejection(encoder, repairer, n, seed, position, pins, strict=True)
        assert rows is not None  # strict: raises rather than give up
        return rows
    if uc.empty:
        rows = encoder.from_cube(sobol(d, seed, position, n))
        for j, v in pins.items():
            rows[:, j] = v
        return rows
    rows = None
    if not len(uc.b_eq):
        rows = _sobol_rejection(encoder, repairer, n, seed, position, pins)
    if rows is None:
        rows = _polytope(encoder, repairer, n, derive_seed(seed, "polytope", position), pins)
    return rows


def _sobol_rejection(
    encoder: Encoder, repairer: Repairer, n: int, seed: int, position: int,
    pins: dict[int, float], strict: bool = False,
) -> np.ndarray | None:
    """The feasible subsequence of the Sobol sequence, from its ``position``-th point; None
    when too few points pass the linear constraints (sample the polytope instead). With
    ``strict`` (only Python predicates), too few feasible points is an ``InfeasibleError``."""
    feasible: list[np.ndarray] = []
    need = position + n
    for chunk in range(_MAX_CHUNKS):
        U = encoder.from_cube(sobol(encoder.d, seed, chunk * _CHUNK, _CHUNK))
        for j, v in pins.items():
            U[:, j] = v
        ok = repairer.uc.satisfied(U, tol=-1e-9)
        if chunk == 0 and ok.mean() < MIN_ACCEPTANCE:
            return None
        if repairer.predicates:
            ok &= repairer.ok_rows(U)
        feasible.extend(U[ok])
        if len(feasible) >= need + 4 * n:
            break
    out = [row for row in feasible[position:] if repairer.ok(row)][:n]
    if len(out) == n:
        return np.asarray(out)
    if strict or (repairer.predicates and len(feasible) < need):
        names = ", ".join(p.label for p in repairer.predicates)
        raise InfeasibleError(
            f"The constraint(s) {names} allow {len(feasible)} of "
            f"{_CHUNK * (chunk + 1)} sampled points; {need} are needed. Relax them, or "
            f"record points you chose with exp.attach(params)."
        )
    return None


def _polytope(
    encoder: Encoder, repairer: Repairer, n: int, seed: int, pins: dict[int, float]
) -> np.ndarray:
    import torch
    from botorch.utils.sampling import HitAndRunPolytopeSampler

    reduced, free = repairer.uc.reduce(pins)
    texts = ", ".join(repr(t) for t in repairer.uc.texts)
    pinned = {encoder.columns[j].name: encoder.decode_value(j, v) for j, v in pins.items()}
    from axnb.engine.polytope import is_feasible_lp

    if not is_feasible_lp(reduced):
        raise InfeasibleError(
            f"No parameter values satisfy the constraints {texts}"
            + (f" with {pinned} pinned" if pinned else "")
            + ". Relax a constraint or pin other values."
        )
    t = dict(dtype=torch.float64)
    A_ub, b_ub = torch.tensor(reduced.A_ub, **t), torch.tensor(reduced.b_ub, **t).unsqueeze(-1)
    A_eq, b_eq = torch.tensor(reduced.A_eq, **t), torch.tensor(reduced.b_eq, **t).unsqueeze(-1)
    bounds = torch.tensor([[0.0] * len(free), [1.0] * len(free)], **t)
    sampler = HitAndRunPolytopeSampler(
        inequality_constraints=(A_ub, b_ub) if len(reduced.b_ub) else None,
        equality_constraints=(A_eq, b_eq) if len(reduced.b_eq) else None,
        bounds=bounds, n_burnin=200, n_thinning=20, seed=seed,
    )
    out: list[np.ndarray] = []
    for _ in range(20):
        Z = sampler.draw(max(2 * n, 8)).numpy()
        rows = np.zeros((len(Z), encoder.d))
        rows[:, free] = Z
        for j, v in pins.items():
            rows[:, j] = v
        for row in rows:
            # Discrete columns in no constraint get the equal-share mapping; the rest is repaired.
            involved = repairer.uc.involved
            cube = encoder.from_cube(row[None, :])[0]
            for j in range(encoder.d):
                if j not in involved and j not in pins:
                    row[j] = cube[j]
            fixed = repairer.repair(row, pins)
            if fixed is not None:
                out.append(fixed)
            if len(out) == n:
                return np.asarray(out)
    raise InfeasibleError(
        f"Could not find parameter values satisfying the constraints {texts}"
        + (f" with {pinned} pinned" if pinned else "")
        + " once integers are rounded. Check that an integer solution exists."
    )
