"""Acquisition functions: what a candidate point is worth, given the models.

All are Monte-Carlo acquisitions over the joint posterior of the candidate, the pending
(running) points and, for the noisy ones, the observed points (``X_baseline``); samples are
quasi-random (``SobolQMCNormalSampler``, ``MC_SAMPLES`` of them) and seeded.

* One objective: ``qLogNoisyExpectedImprovement``,
  ``log E[max(0, max_j s*f(x_j) - max_i s*f(x_baseline_i))]`` weighted by the smoothed
  feasibility of outcome constraints, ``s = +1`` (maximize) or ``-1`` (minimize).
* Several objectives: ``qLogNoisyExpectedHypervolumeImprovement`` above a reference point.
  A reference coordinate is the user's threshold where an outcome constraint bounds an
  objective in the direction of worse ("latency <= 20" for a minimized latency), otherwise
  the observed Pareto front's nadir minus 10% of its range (``infer_reference_point``).
* Feasibility first: while no observed point satisfies the outcome constraints that are
  not thresholds (``Problem.constraints``), ``qLogProbabilityOfFeasibility``
  (``log P(all outcome constraints hold)``, thresholds included) replaces both. Thresholds
  alone do not start it, as in Ax: below the reference point qLogNEHVI is ~0 but still
  ranks points (the fat-tailed smoothing, ~ -44 - 2 log(shortfall) in log units, and the
  MC samples that beat the reference point), and leads into the box sooner (bench
  ``branin_currin``, 20 seeds: median HV gap 2.70 against 2.79 with the phase, first point
  inside the thresholds at trial 7 against 8.5; ``bench/RESULTS.md``, issue 17).

Outcome constraints become callables ``c(Y) <= 0`` feasible, scaled by the metric's observed
spread so that the sigmoid temperature ``eta`` means the same for every metric:
``(Y_m - b) / scale_m`` for ``<=`` and ``(b - Y_m) / scale_m`` for ``>=``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from axnb.constraints import OutcomeConstraint
    from axnb.engine.models import FittedModel
    from axnb.trial import Objective

MC_SAMPLES = 128
#: Reuse the Cholesky factor of the baseline's joint posterior between evaluations.
CACHE_ROOT = True
#: Let BoTorch compile its fused qLogEHVI C++ kernel (``torch.utils.cpp_extension``) at the
#: first multi-objective suggestion. Off: the compile froze that first suggestion for 17 s
#: here (about 35 s elsewhere; again for every venv path; it needs a C++ compiler), and
#: suggestions would differ between machines with and without one (exact reproducibility).
#: What it buys at axnb's sizes (2 objectives, 3 parameters, 24 trials, 2 seeds, one
#: thread): 0.24-0.25 s per model suggestion against 0.29-0.31 s in pure PyTorch, the same
#: hypervolume (9.620 / 9.624, 9.425 / 9.423).
FUSED_QLOGEHVI = False


def _no_fused_kernel() -> None:
    """Keep BoTorch from compiling its fused qLogEHVI kernel (``FUSED_QLOGEHVI``): mark the
    load as attempted, unless this process loaded or tried it already."""
    if FUSED_QLOGEHVI:
        return
    from botorch.acquisition.multi_objective import logei

    if getattr(logei, "_load_attempted", True) is False:  # botorch without it: nothing to do
        logei._load_attempted = True


@dataclass
class Problem:
    """Objectives, outcome constraints and which constraints are hypervolume thresholds."""

    objectives: list[Objective]
    outcome_constraints: list[OutcomeConstraint]

    @property
    def objective_metrics(self) -> list[str]:
        return [o.metric for o in self.objectives]

    def is_threshold(self, c: OutcomeConstraint) -> bool:
        """A constraint on an objective (several objectives) that bounds its worse side."""
        if len(self.objectives) < 2:
            return False
        for o in self.objectives:
            if o.metric == c.metric:
                return (c.op == "<=") == o.minimize
        return False

    def threshold(self, o: Objective) -> float | None:
        """The tightest threshold of objective ``o`` in the maximization frame ``s * y``."""
        bounds = [o.sign * c.bound for c in self.outcome_constraints
                  if c.metric == o.metric and self.is_threshold(c)]
        return max(bounds) if bounds else None

    @property
    def constraints(self) -> list[OutcomeConstraint]:
        """Outcome constraints the acquisition treats as constraints (not thresholds)."""
        return [c for c in self.outcome_constraints if not self.is_threshold(c)]

    @property
    def metrics(self) -> list[str]:
        """Metrics the acquisition models: objectives first, then constraint metrics."""
        out = list(self.objective_metrics)
        for c in self.outcome_constraints:
            if c.metric not in out:
                out.append(c.metric)
        return out


def observed_feasible(problem: Problem, result: dict[str, tuple[float, Any]]) -> bool:
    """Whether observed means satisfy every outcome constraint (thresholds included)."""
    for c in problem.outcome_constraints:
        if c.metric not in result:
            return False
        v = result[c.metric][0]
        if (c.op == "<=" and v > c.bound) or (c.op == ">=" and v < c.bound):
            return False
    return True


def constraints_met(problem: Problem, results: Sequence[dict[str, tuple[float, Any]]]) -> bool:
    """Whether some observed result satisfies the outcome constraints that are not
    thresholds: while none does (and there are some), the acquisition is the probability of
    feasibility (module doc). True when every outcome constraint is a threshold."""
    hard = Problem(problem.objectives, problem.constraints)
    return any(observed_feasible(hard, r) for r in results)


def _constraint_callables(
    cons: Sequence[OutcomeConstraint], metrics: list[str], scales: dict[str, float]
) -> list[Callable]:
    out = []
    for c in cons:
        i = metrics.index(c.metric)
        s = scales.get(c.metric, 1.0)
        sign = 1.0 if c.op == "<=" else -1.0
        out.append(lambda Y, i=i, b=c.bound, s=s, sign=sign: sign * (Y[..., i] - b) / s)
    return out


def _scale(values: np.ndarray, bound: float | None = None) -> float:
    s = float(np.std(values)) if len(values) > 1 else 0.0
    if s > 0 and np.isfinite(s):
        return s
    ref = abs(bound) if bound else (float(np.abs(values).mean()) if len(values) else 1.0)
    return ref if ref > 0 else 1.0


def build_acquisition(
    fitted: FittedModel,
    problem: Problem,
    X_baseline: np.ndarray,
    X_pending: np.ndarray | None,
    any_feasible: bool,
    seed: int,
) -> tuple[Any, str]:
    """The acquisition function for the next point and a short name of its kind.

    ``any_feasible`` says whether some observed point satisfies the outcome constraints
    that are not thresholds (``constraints_met``).
    """
    import torch
    from botorch.acquisition.logei import (
        qLogNoisyExpectedImprovement,
        qLogProbabilityOfFeasibility,
    )
    from botorch.sampling import SobolQMCNormalSampler

    metrics = problem.metrics
    model = fitted.model_list(metrics)
    scales = {m: _scale(fitted.data[m].Y) for m in metrics}
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([MC_SAMPLES]), seed=seed)
    Xb = torch.tensor(X_baseline, dtype=torch.float64)
    Xp = None if X_pending is None or not len(X_pending) else torch.tensor(
        X_pending, dtype=torch.float64
    )
    if problem.constraints and not any_feasible:
        cons = _constraint_callables(problem.outcome_constraints, metrics, scales)
        return qLogProbabilityOfFeasibility(
            model, constraints=cons, sampler=sampler, X_pending=Xp
        ), "feasibility"
    cons = _constraint_callables(problem.constraints, metrics, scales) or None
    if len(problem.objectives) == 1:
        from botorch.acquisition.objective import GenericMCObjective

        sign = problem.objectives[0].sign
        objective = GenericMCObjective(lambda Y, X=None: sign * Y[..., 0])
        return qLogNoisyExpectedImprovement(
            model, X_baseline=Xb, sampler=sampler, objective=objective, constraints=cons,
            X_pending=Xp, prune_baseline=True, cache_root=CACHE_ROOT,
        ), "qLogNEI"
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.acquisition.multi_objective.objective import WeightedMCMultiOutputObjective

    _no_fused_kernel()
    k = len(problem.objectives)
    signs = torch.tensor([o.sign for o in problem.objectives], dtype=torch.float64)
    objective = WeightedMCMultiOutputObjective(weights=signs, outcomes=list(range(k)))
    ref = reference_point(fitted, problem)
    return qLogNoisyExpectedHypervolumeImprovement(
        model, ref_point=ref, X_baseline=Xb, sampler=sampler, objective=objective,
        constraints=cons, X_pending=Xp, prune_baseline=True, cache_root=CACHE_ROOT,
    ), "qLogNEHVI"


def reference_point(fitted: FittedModel, problem: Problem) -> list[float]:
    """Reference point in the maximization frame ``s * y`` (see module doc)."""
    import torch
    from botorch.utils.multi_objective.hypervolume import infer_reference_point
    from botorch.utils.multi_objective.pareto import is_non_dominated

    objs = problem.objectives
    # Observed objective vectors (maximization frame) of points with all objectives.
    common = None
    for o in objs:
        idx = set(fitted.data[o.metric].trial_indices)
        common = idx if common is None else common & idx
    rows = []
    for t in sorted(common or ()):
        row = []
        for o in objs:
            d = fitted.data[o.metric]
            row.append(o.sign * float(d.Y[d.trial_indices.index(t)]))
        rows.append(row)
    Y = torch.tensor(rows, dtype=torch.float64).reshape(-1, len(objs))
    inferred = (
        infer_reference_point(Y[is_non_dominated(Y)]).tolist() if len(Y) else [0.0] * len(objs)
    )
    ref = []
    for i, o in enumerate(objs):
        threshold = problem.threshold(o)
        ref.append(float(inferred[i]) if threshold is None else threshold)
    return ref
