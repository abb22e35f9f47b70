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

import functools
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


#: qLogNEI on a ``SingleTaskGP`` / ``MixedSingleTaskGP`` (constant mean, ``Standardize``) computes
#: the posterior of the candidates jointly with the cached baseline directly from the
#: training data (``_LeanPosterior``) instead of through GPyTorch's predictive machinery:
#: the same samples to ~1e-12 (values and gradients), ~2x faster per evaluation (1.0 ms
#: instead of 1.9-2.1 ms for 8 candidates, 6-D, 28 observations). Other models: BoTorch.
LEAN_POSTERIOR = True


class _LeanPosterior:
    """Posterior pieces of a single-output ``SingleTaskGP`` / ``MixedSingleTaskGP`` with a
    constant mean and a ``Standardize`` outcome transform (no input transform), for
    candidates ``X`` jointly with ``X_baseline``: the GP formulas on the training data, the
    kernel written out by ``models.dense_kernel`` (same samples to 1e-12)."""

    def __init__(self, model: Any, X_baseline: Any) -> None:
        import torch

        from axnb.engine.models import dense_kernel

        with torch.no_grad():
            self._k = dense_kernel(model.covar_module)
            Xtr, y = model.train_inputs[0], model.train_targets
            self.c = model.mean_module.constant.detach().reshape(())
            noise = model.likelihood.noise.detach().reshape(-1).expand(y.shape[-1])
            self.Xs = Xtr
            self.L = torch.linalg.cholesky(self._k(Xtr, Xtr) + torch.diag(noise))
            self.alpha = torch.cholesky_solve((y - self.c).unsqueeze(-1), self.L)
            self.Bs = X_baseline
            self.WB = torch.linalg.solve_triangular(
                self.L, self._k(Xtr, X_baseline), upper=False)
            self.mu = model.outcome_transform.means.reshape(())
            self.sd = model.outcome_transform.stdvs.reshape(())

    @staticmethod
    def applies(model: Any) -> bool:
        from botorch.models import MixedSingleTaskGP, SingleTaskGP
        from botorch.models.transforms.outcome import Standardize
        from gpytorch.means import ConstantMean

        return (type(model) in (SingleTaskGP, MixedSingleTaskGP)
                and type(model.mean_module) is ConstantMean
                and type(getattr(model, "outcome_transform", None)) is Standardize
                and getattr(model, "input_transform", None) is None and model.num_outputs == 1)

    def moments(self, X: Any) -> tuple[Any, Any, Any]:
        """Mean (b x q), covariance with the baseline (b x q x nb) and among the candidates
        (b x q x q) of ``X`` (b x q x d), in outcome units."""
        import torch

        Z = X
        kZT = self._k(Z, self.Xs)
        V = torch.linalg.solve_triangular(self.L, kZT.transpose(-1, -2), upper=False)
        Vt = V.transpose(-1, -2)
        mean = (self.c + (kZT @ self.alpha).squeeze(-1)) * self.sd + self.mu
        s2 = self.sd**2
        return mean, (self._k(Z, self.Bs) - Vt @ self.WB) * s2, (self._k(Z, Z) - Vt @ V) * s2


@functools.cache
def _lean_qlognei() -> type:
    """``qLogNoisyExpectedImprovement`` whose cached-root sampling uses ``_LeanPosterior``
    (same formulas as ``botorch.utils.low_rank.sample_cached_cholesky``)."""
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.utils.low_rank import psd_safe_cholesky

    class LeanQLogNEI(qLogNoisyExpectedImprovement):
        _lean: Any = None

        def _get_samples_and_objectives(self, X: Any) -> tuple[Any, Any]:
            nb, q = self.X_baseline.shape[-2], X.shape[-2]
            base = getattr(self.sampler, "base_samples", None)
            S = self.sampler.sample_shape
            if (not self._cache_root or not hasattr(self, "_baseline_L") or base is None
                    or base.numel() != S.numel() * (nb + q) or X.ndim != 3
                    or self.posterior_transform is not None
                    or not _LeanPosterior.applies(self.model)):
                return super()._get_samples_and_objectives(X)
            if self._lean is None or self._lean[0] is not self.X_baseline:
                # (re)built when the baseline changes (pending points join it)
                self._lean = (self.X_baseline, _LeanPosterior(self.model, self.X_baseline))
            if self._lean[1].Bs.shape[-2] != self._baseline_L.shape[-1]:
                return super()._get_samples_and_objectives(X)
            mean, bl, br = self._lean[1].moments(X)
            bl_chol = torch.linalg.solve_triangular(
                self._baseline_L, bl.transpose(-1, -2), upper=False).transpose(-1, -2)
            br_chol = psd_safe_cholesky(br - bl_chol @ bl_chol.transpose(-1, -2), max_tries=6)
            new_L = torch.cat([bl_chol, br_chol], dim=-1).unsqueeze(-3)  # b x 1 x q x (nb+q)
            b = X.shape[0]
            z = base.reshape(*S, 1, nb + q).expand(*S, b, nb + q).permute(1, 2, 0)
            res = new_L @ z.reshape(b, 1, nb + q, -1) + mean.reshape(b, 1, q, 1)
            samples = res.permute(-1, 0, -2, -3).contiguous()  # S x b x q x 1
            return samples, self.objective(samples, X=X[..., -q:, :])

    return LeanQLogNEI


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
        cls = _lean_qlognei() if LEAN_POSTERIOR else qLogNoisyExpectedImprovement
        return cls(
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
