"""Maximize an acquisition function over the encoded space, honouring constraints and pins.

Routing (``AcquisitionOptimizer.candidates``), for one point at a time:

* every free column continuous: ``botorch.optim.optimize_acqf`` (multi-start L-BFGS-B, or
  SLSQP with linear constraints) from ``raw_samples`` quasi-random / polytope points, the best
  ``num_restarts`` of which are refined; under linear constraints the start points come from
  ``initial.space_filling`` (``_feasible_starts``) and each start is refined on its own
  (``SLSQP_BATCH``);
* every free column discrete or categorical and at most ``ENUMERATE_LIMIT`` combinations:
  exact enumeration of the feasible grid (the engine itself passes small all-discrete
  spaces to ``choose`` with the untried points as ``choices``, see ``strategy``);
* with linear constraints and at most ``max_combos`` discrete combinations: ``_few_combos``
  (best space-filling rows, continuous refinement with the discrete columns held, one pass
  over all combinations);
* otherwise ``optimize_acqf_mixed_alternating`` (alternating discrete neighbourhood search and
  continuous L-BFGS). Integer columns in an equality constraint are relaxed to continuous
  there (BoTorch accepts equalities on continuous columns only) and repaired afterwards.

Linear constraints go in as ``inequality_constraints`` / ``equality_constraints`` in the unit
space (``polytope.unit_constraints``) and pins as ``fixed_features``. Every result is then
snapped and repaired (``polytope.Repairer``) so that the decoded values satisfy the raw
constraints after rounding. ``n > 1`` points are chosen greedily: each chosen point becomes
pending (``X_pending``) for the next, so batches are spread out (sequential q-batch).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from axnb.engine.context import quiet
from axnb.engine.encoding import CONTINUOUS, INACTIVE, Encoder
from axnb.engine.polytope import Repairer
from axnb.space import _value_in

#: All-discrete spaces with at most this many valid points are searched exactly: the
#: acquisition is evaluated on every (untried) point instead of searched by the mixed
#: optimizer, whose result can be a tried point. 0: never enumerate. Read when an engine is
#: created (``OptimizerSettings.max_enumerate``). 864 points (3 Int(1..6) x Choice(4)), 3
#: seeds, noiseless and noisy: 0.27-0.54 s per model-phase ``suggest(n=3)`` enumerated vs
#: 0.85-1.24 s with the alternating mixed optimizer (0).
ENUMERATE_LIMIT = 4096
#: Starts per SLSQP problem under linear constraints. BoTorch stacks a batch into one SLSQP
#: problem whose joint convergence took ~1800 evaluations (6 s) for 8 starts in 2-D; one at a
#: time: bench ``branin_lc`` (6 seeds) 2.2 -> 0.57 s per suggestion with these starts, median
#: regret 3.4e-6 -> 8.3e-6 (Ax: 2.6e-4).
SLSQP_BATCH = 1
#: Linear inequalities (no equality) are optimized by ``AcquisitionOptimizer._mapped``
#: (batched L-BFGS-B through a map onto the polytope) instead of SLSQP per start; the best
#: result is polished by SLSQP with at most ``POLISH_MAXITER`` iterations (0: no polish).
LINEAR_INEQUALITY_MAP = True
POLISH_MAXITER = 50
#: Raw samples evaluated per acquisition call when picking start points. BoTorch defaults to
#: ``batch_limit`` (the restarts): 32 calls for 256 raw samples. One call gives the same
#: suggestions; 6-D, 30 observations: 0.21 -> 0.18 s per suggestion.
INIT_BATCH_LIMIT = 256
#: L-BFGS-B's relative tolerance on the (log) acquisition value without linear constraints
#: (None: scipy's 2.2e-9). 1e-6 moves a 6-D suggestion by ~1e-5 and saves ~15% of the search.
ACQ_FTOL: float | None = 1e-6
#: A hierarchical space (``when=``) with at most this many combinations of its parents' values
#: is optimized one branch at a time: the parents pinned, the columns inactive in the branch
#: pinned at ``INACTIVE`` (where every trial of that branch has them), the best candidates of
#: all branches pooled. Optimized jointly, the inactive columns would roam over [0, 1] -- points
#: of the model no trial of the branch has -- and the candidate kept after they are reset is
#: not the one the acquisition rated. More combinations: the joint search, then that reset.
MAX_BRANCHES = 16


class OptimizationFailed(RuntimeError):
    """No valid candidate came out of the optimizer."""


@dataclass
class OptimizerSettings:
    """Effort of the acquisition optimization.

    8 restarts from 256 raw samples: on Branin (20 evaluations, 12 seeds) 16 / 512 gave a
    median regret of 0.13 vs 0.17 (within seed noise; 10 / 512 with 4 initial trials was no
    better than 8 / 256) for 15% more time, while 4 / 128 was clearly worse (0.25).
    """

    num_restarts: int = 8
    raw_samples: int = 256
    maxiter: int = 200
    max_enumerate: int = field(default_factory=lambda: ENUMERATE_LIMIT)
    #: With linear constraints and at most this many combinations of the free discrete /
    #: categorical columns (and some continuous ones), ``_few_combos`` replaces the
    #: alternating mixed optimizer, whose SLSQP starts took 10-80 s per suggestion there.
    #: Without linear constraints the alternating search is fast and found the right
    #: category more often (bench "mixed", 8 seeds: median regret 0.0012 vs 0.0042).
    max_combos: int = 256
    #: Starts refined by ``_few_combos`` and the iteration cap of each refinement.
    combo_restarts: int = 4
    refine_maxiter: int = 100
    #: ``optimize_acqf_mixed_alternating`` options: fewer alternations than BoTorch's 64 and a
    #: convergence tolerance of 1e-3 in log-acquisition units (0.1% relative improvement).
    mixed_options: dict = field(default_factory=lambda: {
        "maxiter_alternating": 12, "tol": 1e-3, "maxiter_init": 40,
    })


def _close(a: np.ndarray, rows: list[np.ndarray]) -> bool:
    if not len(rows):
        return False
    return bool(np.any(np.max(np.abs(np.asarray(rows) - a), axis=1) <= 1e-9))


class AcquisitionOptimizer:
    """Finds ``n`` distinct valid rows maximizing an acquisition (sequential greedy)."""

    def __init__(self, encoder: Encoder, repairer: Repairer, settings: OptimizerSettings) -> None:
        self.encoder = encoder
        self.repairer = repairer
        self.settings = settings
        #: ``(lo, hi)`` unit-space corners the continuous search is limited to during one
        #: ``optimize`` call (a trust region, see ``trust``); None: the unit cube.
        self.box: tuple[np.ndarray, np.ndarray] | None = None
        #: Candidates examined and those no repair made valid (a predicate rejected them):
        #: the share of the acquisition budget that rejection wastes.
        self.examined = self.invalid = 0

    def optimize(
        self, acqf: Any, n: int, pins: dict[int, float], X_pending: np.ndarray | None,
        avoid: np.ndarray | None = None, box: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """``n`` rows; each chosen row is added to the pending points of the next. Rows equal
        to a pending row or to one of ``avoid`` (already evaluated) are taken only when
        nothing else can be found. ``box``: ``(lo, hi)`` limits of a continuous search."""
        self.box = box
        try:
            return self._optimize(acqf, n, pins, X_pending, avoid)
        finally:
            self.box = None

    def _optimize(
        self, acqf: Any, n: int, pins: dict[int, float], X_pending: np.ndarray | None,
        avoid: np.ndarray | None,
    ) -> list[np.ndarray]:
        import torch

        base = None if X_pending is None or not len(X_pending) else torch.tensor(
            X_pending, dtype=torch.float64
        )
        pending_rows = [] if X_pending is None else list(np.asarray(X_pending))
        if avoid is not None:
            pending_rows += list(np.asarray(avoid))
        chosen: list[np.ndarray] = []
        for _ in range(n):
            if chosen:
                extra = torch.tensor(np.asarray(chosen), dtype=torch.float64)
                acqf.set_X_pending(extra if base is None else torch.cat([base, extra]))
            candidates = self.candidates(acqf, pins)
            picked = self._pick(candidates, pins, chosen, pending_rows)
            if picked is None or _close(picked, pending_rows):
                # Optimizer output coincides with chosen or pending points (flat or
                # corner-seeking acquisitions do that): best of a random feasible set.
                more = self._random(acqf, pins)
                other = self._pick(more, pins, chosen, pending_rows)
                if other is not None and (picked is None or not _close(other, pending_rows)):
                    picked = other
            if picked is None:
                raise OptimizationFailed(
                    f"none of {len(candidates)} optimizer candidates could be made valid "
                    f"and distinct"
                )
            chosen.append(picked)
        if len(chosen) > 1:  # restore (an analytic acquisition has no pending points to set)
            acqf.set_X_pending(base)
        return chosen

    def choose(self, acqf: Any, n: int, choices: np.ndarray) -> list[np.ndarray]:
        """The ``n`` best distinct rows of ``choices`` (valid rows, at least ``n``) by the
        acquisition, chosen greedily: each becomes pending for the next
        (``optimize_acqf_discrete``, which restores the acquisition's pending points)."""
        import torch
        from botorch.optim import optimize_acqf_discrete

        X, _ = optimize_acqf_discrete(
            acqf, q=n, choices=torch.tensor(np.asarray(choices), dtype=torch.float64),
            max_batch_size=512, unique=True,  # (return_acq_values= is botorch >= 0.18 only)
        )
        return [row.detach().numpy().copy() for row in X.reshape(n, -1)]

    def _pick(
        self, candidates: list[np.ndarray], pins: dict[int, float], chosen: list[np.ndarray],
        pending: list[np.ndarray],
    ) -> np.ndarray | None:
        """First candidate that repairs to a valid row distinct from ``chosen``, preferring
        rows distinct from ``pending`` too."""
        fallback = None
        for row in candidates:
            fixed = self.repairer.repair(row, pins)
            self.examined += 1
            if fixed is None:
                self.invalid += 1
                continue
            if _close(fixed, chosen):
                continue
            if not _close(fixed, pending):
                return fixed
            fallback = fixed if fallback is None else fallback
        return fallback

    def _random(self, acqf: Any, pins: dict[int, float]) -> list[np.ndarray]:
        """Valid space-filling rows (Sobol / polytope), best acquisition first."""
        import torch

        from axnb.engine.initial import space_filling

        k = self.settings.raw_samples if self.repairer.uc.empty else 64
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        rows = space_filling(self.encoder, self.repairer, k, seed, 0, pins)
        if self.box is not None and self.repairer.uc.empty:  # a trust region (continuous)
            lo, hi = self.box
            rows = lo + np.asarray(rows) * (hi - lo)
        with torch.no_grad():
            vals = acqf(torch.tensor(rows, dtype=torch.float64).unsqueeze(-2)).reshape(-1)
        order = np.argsort(-vals.numpy(), kind="stable")
        return [rows[i] for i in order[:64]]

    def candidates(self, acqf: Any, pins: dict[int, float]) -> list[np.ndarray]:
        """Candidate rows, best acquisition value first (not yet repaired)."""
        branches = self.branches(pins)
        if branches is None:
            return self._candidates(acqf, pins)
        # Rated again where they will be suggested: the inactive columns reset.
        rows = [self.encoder.canonical(self.encoder.snap(row))
                for b in branches for row in self._candidates(acqf, b)]
        values = self._values(acqf, np.asarray(rows))
        return [rows[i] for i in np.argsort(-values, kind="stable")]

    def branches(self, pins: dict[int, float]) -> list[dict[int, float]] | None:
        """The pins of each branch of a hierarchical space (``MAX_BRANCHES``), None for a
        space without ``when=`` or with too many branches.

        A parent's values fall into classes that switch the same children on (``depth`` in
        2..9 or in 10..12); a branch takes one class of each parent: the parent is pinned when
        its class has one value (else left free), and the columns inactive there are pinned at
        ``INACTIVE``, on top of ``pins``."""
        enc = self.encoder
        space = enc.space
        if not space.conditional:
            return None
        conditions = [pair for p in space.parameters for pair in p.when or ()]
        parents = {parent for parent, _ in conditions}
        cols = [j for j, c in enumerate(enc.columns) if c.name in parents]
        classes = []
        for j in cols:
            col = enc.columns[j]
            if not col.values:
                return None
            values = [pins[j]] if j in pins else list(col.values)
            by: dict[tuple, list[float]] = {}
            for v in values:
                value = enc.decode_value(j, v)
                key = tuple(_value_in(value, allowed) for parent, allowed in conditions
                            if parent == col.name)
                by.setdefault(key, []).append(v)
            classes.append(list(by.values()))
        if math.prod(map(len, classes)) > MAX_BRANCHES:
            return None
        out: dict[tuple, dict[int, float]] = {}
        for combo in itertools.product(*classes):
            row = np.zeros(enc.d)
            for j, v in pins.items():
                row[j] = v
            branch = dict(pins)
            for j, values in zip(cols, combo):
                row[j] = values[0]
                if len(values) == 1:
                    branch[j] = values[0]
            on = space.active(enc.decode(row))
            branch.update({j: INACTIVE for j, c in enumerate(enc.columns) if c.name not in on})
            out.setdefault(tuple(sorted(branch.items())), branch)
        return list(out.values())

    def _candidates(self, acqf: Any, pins: dict[int, float]) -> list[np.ndarray]:
        enc = self.encoder
        free = [j for j in range(enc.d) if j not in pins]
        cont_free = [j for j in free if enc.columns[j].kind == CONTINUOUS]
        if not free:
            return [np.array([pins[j] for j in range(enc.d)])]
        with quiet():
            if not cont_free:
                sizes = [len(enc.columns[j].values) for j in free]
                if int(np.prod(sizes, dtype=float)) <= self.settings.max_enumerate:
                    return self._enumerate(acqf, pins, free)
            if all(enc.columns[j].kind == CONTINUOUS for j in free):
                return self._continuous(acqf, pins)
            disc_free = [j for j in free if enc.columns[j].kind != CONTINUOUS]
            sizes = [len(enc.columns[j].values) for j in disc_free]
            if (not self.repairer.uc.empty
                    and int(np.prod(sizes, dtype=float)) <= self.settings.max_combos):
                return self._few_combos(acqf, pins, disc_free)
            return self._mixed(acqf, pins)

    def _bounds(self) -> Any:
        import torch

        if self.box is not None:
            return torch.as_tensor(np.stack(self.box), dtype=torch.float64)
        d = self.encoder.d
        return torch.stack([torch.zeros(d), torch.ones(d)]).to(torch.float64)

    def _constraints(self) -> tuple[list | None, list | None]:
        import torch

        return self.repairer.uc.to_botorch(dtype=torch.float64)

    def _continuous(self, acqf: Any, pins: dict[int, float]) -> list[np.ndarray]:
        from botorch.optim import optimize_acqf

        ineq, eq = self._constraints()
        if ineq and not eq and LINEAR_INEQUALITY_MAP:
            out = self._mapped(acqf, pins)
            if out is not None:
                return out
        s = self.settings
        starts: dict[str, Any] = {"num_restarts": s.num_restarts, "raw_samples": s.raw_samples}
        batch = s.num_restarts
        if ineq or eq:
            batch = SLSQP_BATCH
            X0 = self._feasible_starts(acqf, pins)
            starts = {"batch_initial_conditions": X0, "num_restarts": len(X0),
                      "retry_on_optimization_warning": False}
        options: dict[str, Any] = {"maxiter": s.maxiter, "batch_limit": batch,
                                   "init_batch_limit": INIT_BATCH_LIMIT}
        if ACQ_FTOL is not None and not (ineq or eq):
            options.update(ftol=ACQ_FTOL, factr=None)
        X, vals = optimize_acqf(
            acqf, bounds=self._bounds(), q=1, inequality_constraints=ineq,
            equality_constraints=eq, fixed_features=pins or None, return_best_only=False,
            options=options, **starts,
        )
        order = vals.reshape(-1).argsort(descending=True)
        return [X[i].reshape(-1).detach().numpy().copy() for i in order.tolist()]

    def _mapped(self, acqf: Any, pins: dict[int, float]) -> list[np.ndarray] | None:
        """Linear inequalities without SLSQP: batched L-BFGS-B (all starts in one parallel
        problem, as without constraints) over the box on ``acqf(P(x))``, where ``P`` projects
        ``x`` onto each violated half-space in turn, clips to the box and shrinks what is
        still outside radially towards the polytope's Chebyshev centre ``c``:
        ``P(x) = c + min(1, t*) (x - c)``. ``P`` is continuous, the identity on the polytope
        and maps the box onto it, so a maximizer of ``acqf o P`` maps to one of ``acqf`` on
        the polytope; the projection step keeps the gradient along a boundary the search
        presses against. The best candidate is then polished by one SLSQP run. Same
        feasible starts as the SLSQP path. None when the polytope has no interior.
        ``branin_lc`` (10 seeds): 0.51 -> 0.14 s per model suggestion, median regret
        1.55e-5 -> 1.6e-5."""
        import torch
        from botorch.acquisition import AcquisitionFunction
        from botorch.optim import optimize_acqf

        from axnb.engine.polytope import chebyshev_center

        uc = self.repairer.uc
        centre = chebyshev_center(uc, pins)
        if centre is None:
            return None
        A = torch.tensor(uc.A_ub, dtype=torch.float64)  # rows of unit norm
        b = torch.tensor(uc.b_ub, dtype=torch.float64)
        c = torch.tensor(centre, dtype=torch.float64)
        slack = b - A @ c
        pin_cols = sorted(pins)
        pin_vals = torch.tensor([pins[j] for j in pin_cols], dtype=torch.float64)

        def P(X: Any) -> Any:
            for i in range(A.shape[0]):
                X = X - (X @ A[i] - b[i]).clamp_min(0.0).unsqueeze(-1) * A[i]
            X = X.clamp(0.0, 1.0)
            if pin_cols:
                X = X.clone()
                X[..., pin_cols] = pin_vals
            v = X - c
            av = v @ A.T
            pos = av > 0
            t = torch.where(pos, slack / torch.where(pos, av, torch.ones_like(av)),
                            torch.full_like(av, float("inf")))
            return c + t.amin(dim=-1, keepdim=True).clamp(max=1.0) * v

        class Mapped(AcquisitionFunction):
            def __init__(self) -> None:
                super().__init__(model=acqf.model)

            def forward(self, X: Any) -> Any:
                return acqf(P(X))

        s = self.settings
        X0 = self._feasible_starts(acqf, pins)
        options: dict[str, Any] = {"maxiter": s.maxiter, "batch_limit": len(X0),
                                   "init_batch_limit": INIT_BATCH_LIMIT}
        if ACQ_FTOL is not None:
            options.update(ftol=ACQ_FTOL, factr=None)
        X, vals = optimize_acqf(
            Mapped(), bounds=self._bounds(), q=1, fixed_features=pins or None,
            return_best_only=False, options=options, batch_initial_conditions=X0,
            num_restarts=len(X0),
        )
        with torch.no_grad():
            X = P(X)
        order = vals.reshape(-1).argsort(descending=True).tolist()
        out = [X[i].reshape(-1).detach().numpy().copy() for i in order]
        if POLISH_MAXITER:
            ineq, _ = self._constraints()
            Xp, vp = optimize_acqf(
                acqf, bounds=self._bounds(), q=1, inequality_constraints=ineq,
                fixed_features=pins or None, options={"maxiter": POLISH_MAXITER,
                                                      "batch_limit": 1},
                batch_initial_conditions=torch.tensor(out[0]).reshape(1, 1, -1),
                num_restarts=1, retry_on_optimization_warning=False,
            )
            if float(vp.reshape(-1)[0]) > float(vals.max()):
                out.insert(0, Xp.reshape(-1).detach().numpy().copy())
        return out

    def _feasible_starts(self, acqf: Any, pins: dict[int, float]) -> Any:
        """``num_restarts`` start points for SLSQP under linear constraints, drawn from
        ``raw_samples`` feasible space-filling rows by BoTorch's Boltzmann selection on their
        acquisition values. BoTorch's own polytope sampling took 0.7 s per call on a 2-D
        problem (``branin_lc``), more than the optimization itself."""
        import torch
        from botorch.optim.initializers import initialize_q_batch

        from axnb.engine.initial import space_filling

        s = self.settings
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        rows = space_filling(self.encoder, self.repairer, s.raw_samples, seed, 0, pins)
        X = torch.tensor(rows, dtype=torch.float64).unsqueeze(-2)
        with torch.no_grad():
            vals = acqf(X).reshape(-1)
        return initialize_q_batch(X, vals, n=min(s.num_restarts, len(rows)))[0]

    def _mixed(self, acqf: Any, pins: dict[int, float]) -> list[np.ndarray]:
        from botorch.optim.optimize_mixed import optimize_acqf_mixed_alternating

        enc = self.encoder
        ineq, eq = self._constraints()
        in_eq = set()
        for idx, _, _ in eq or []:
            in_eq |= set(idx.tolist())
        discrete = {j: v for j, v in enc.discrete_dims.items() if j not in pins and j not in in_eq}
        cats = {j: v for j, v in enc.cat_dims.items() if j not in pins}
        s = self.settings
        X, _ = optimize_acqf_mixed_alternating(
            acqf, bounds=self._bounds(), discrete_dims=discrete, cat_dims=cats,
            q=1, raw_samples=s.raw_samples, num_restarts=s.num_restarts,
            fixed_features=pins or None, inequality_constraints=ineq,
            equality_constraints=eq, options=dict(s.mixed_options),
        )
        return [X.reshape(-1).detach().numpy().copy()]

    def _values(self, acqf: Any, rows: np.ndarray) -> np.ndarray:
        import torch

        out = []
        with torch.no_grad():
            for chunk in np.array_split(rows, max(1, len(rows) // 512)):
                X = torch.tensor(chunk, dtype=torch.float64).unsqueeze(-2)
                out.append(acqf(X).reshape(-1).numpy())
        return np.concatenate(out)

    def _refine(self, acqf: Any, row: np.ndarray, pins: dict[int, float],
                disc: list[int]) -> tuple[np.ndarray, float]:
        """Continuous columns of ``row`` optimized with its discrete columns held."""
        import torch
        from botorch.optim import optimize_acqf

        fixed = {**{j: float(row[j]) for j in disc}, **pins}
        ineq, eq = self._constraints()
        X0 = torch.tensor(row, dtype=torch.float64).reshape(1, 1, -1)
        try:
            X, v = optimize_acqf(
                acqf, bounds=self._bounds(), q=1, num_restarts=1, batch_initial_conditions=X0,
                inequality_constraints=ineq, equality_constraints=eq, fixed_features=fixed,
                options={"maxiter": self.settings.refine_maxiter},
            )
        except Exception:  # keep the start point
            return row, float("-inf")
        return X.reshape(-1).detach().numpy().copy(), float(v.reshape(-1)[0])

    def _few_combos(self, acqf: Any, pins: dict[int, float], disc: list[int]) -> list[np.ndarray]:
        """Few discrete combinations (``max_combos``): the best ``combo_restarts`` of
        ``4 * raw_samples`` valid space-filling rows are refined in their continuous columns
        (discrete held); each result then tries every discrete combination at its continuous
        values and is refined once more where another combination wins. Much cheaper than
        the alternating search under linear constraints (SLSQP)."""
        import torch

        from axnb.engine.initial import space_filling

        s = self.settings
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        rows = space_filling(self.encoder, self.repairer, 4 * s.raw_samples, seed, 0, pins)
        vals = self._values(acqf, rows)
        order = np.argsort(-vals, kind="stable")[: s.combo_restarts]
        results = [(rows[i], float(vals[i])) for i in order]
        grid = np.array(list(itertools.product(*[self.encoder.columns[j].values for j in disc])))
        for i in order:
            row, v = self._refine(acqf, rows[i], pins, disc)
            results.append((row, v))
            others = np.repeat(row.reshape(1, -1), len(grid), axis=0)
            others[:, disc] = grid
            others = others[self.repairer.uc.satisfied(others, tol=1e-9)]
            if not len(others):
                continue
            ov = self._values(acqf, others)
            k = int(np.argmax(ov))
            if ov[k] > v and np.max(np.abs(others[k][disc] - row[disc])) > 0:
                results.append((others[k], float(ov[k])))
                results.append(self._refine(acqf, others[k], pins, disc))
        results.sort(key=lambda r: -r[1])
        return [r[0] for r in results]

    def _enumerate(self, acqf: Any, pins: dict[int, float], free: list[int]) -> list[np.ndarray]:
        import torch

        enc = self.encoder
        grid = np.array(list(itertools.product(*[enc.columns[j].values for j in free])))
        rows = np.zeros((len(grid), enc.d))
        rows[:, free] = grid
        for j, v in pins.items():
            rows[:, j] = v
        rows = rows[self.repairer.uc.satisfied(rows, tol=1e-9)]
        if not len(rows):
            raise OptimizationFailed("no point of the discrete grid satisfies the constraints")
        values = []
        with torch.no_grad():
            for chunk in np.array_split(rows, max(1, len(rows) // 512)):
                X = torch.tensor(chunk, dtype=torch.float64).unsqueeze(-2)
                values.append(acqf(X).reshape(-1).numpy())
        order = np.argsort(-np.concatenate(values), kind="stable")
        return [rows[i] for i in order[:64]]
