"""Gaussian-process surrogates: training data, fitting with retries, caching, ``FittedModel``.

One GP per metric, in float64 on encoded inputs (the unit cube, see ``encoding``):

    y_i = f(u_i) + eps_i,   f ~ GP(mu, k),   eps_i ~ N(0, sigma_i^2)

* ``SingleTaskGP`` (RBF ARD, BoTorch's dimension-scaled lengthscale prior) for purely
  numeric spaces; ``MixedSingleTaskGP`` (adds a categorical kernel) when there are unordered
  choices (``CATEGORICAL_MODEL``; one-hot columns in a ``SingleTaskGP`` measured worse).
* Outcomes are standardized (``Standardize``); predictions come back in original units.
* Outcome warping (``OUTCOME_WARP = "yj"``): the objective of a single-objective problem,
  when it has no outcome constraint and no sems, gets a second GP for the acquisition, fitted
  to Yeo-Johnson-warped observations (loss frame standardized, lambda by maximum likelihood
  as in HEBO; ``warp_values``). The warp is monotone, so expected improvement in warped
  units is a valid acquisition, and it spreads out the values near the optimum that a wide
  dynamic range (Booth: 0 to ~2600) otherwise squashes. Everything users see (``predict``,
  ``FittedModel.predict_unit``, ``models`` for plots and cross-validation, ``best``) uses the
  unwarped GP, fitted lazily on first access and cached like any fit; ``acq_models`` holds
  the warped one. Benchmark (``python -m axnb.engine._bench warp``, median [IQR] regret):
  Booth/20 evals, 8 seeds 0.23 [0.18, 0.32] -> 0.065 [0.019, 0.13]; Branin/25, 8 seeds
  0.041 -> 0.015; Hartmann-6/40, 5 seeds 0.022 [0.014, 0.20] -> 0.024 [0.019, 0.041];
  noisy Hartmann-6 (sd 0.2, true value at best()) 0.46 -> 0.38. A log warp and a Gaussian
  copula (ranks) were worse on Hartmann-6 and Booth; a 1e-6 noise floor was not better.
  bench "mixed" (5 seeds, bench adapter): median 3.4e-4 -> 7.7e-5 (one seed stuck in a wrong
  category either way). With several objectives each objective's acquisition model is
  instead fitted to observations winsorized beyond its threshold (``MOO_WARP``, as Ax's
  ``Winsorize``): the Pareto front and the reference point are unchanged, the few huge
  values no longer dictate the GP's scale. Metrics whose warp changes no value use one GP.
* Noise is known (``train_Yvar = sem^2``) when every observation of that metric has a sem,
  otherwise inferred (LogNormal prior, floor 1e-4 of the standardized variance). Known
  variances are floored at ``YVAR_FLOOR`` times the outcome variance, so duplicates with zero
  sem stay positive definite.
* Fitting maximizes the marginal likelihood (L-BFGS); on failure it retries once from prior
  samples with a higher noise floor ("jitter"); when that fails too ``ModelFitError`` is
  raised and the engine falls back to a space-filling point.

Torch and BoTorch are imported inside functions so that ``import axnb`` stays light.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.engine.context import derive_seed, quiet, seeded, single_thread
from axnb.engine.encoding import Encoder
from axnb.space import Value

if TYPE_CHECKING:
    from axnb.engine.plugins import ModelPlugin
    from axnb.trial import Trial

#: Known noise variances are floored at this fraction of the outcome variance.
YVAR_FLOOR = 1e-6
#: Retry ("jitter") noise floor, as a fraction of the (standardized) outcome variance.
JITTER_NOISE = 1e-3
#: Iteration cap of the L-BFGS marginal-likelihood fit.
FIT_MAXITER = 200
#: The fit stops when an L-BFGS step improves the negative log likelihood by less than this
#: relative amount (scipy's default is 2.2e-9). The mixed-space kernel (``MixedSingleTaskGP``,
#: ~3 ms per likelihood evaluation) kept creeping until FIT_MAXITER on every fit of the
#: "mixed" benchmark (0.62 s per fit); at 1e-5 it stops after ~56 steps. Bench "mixed", 10
#: seeds: 0.56 -> 0.40 s per suggestion at 1e-5 against 1e-6 (Ax: 0.43 s), median regret
#: 1.27e-4 -> 1.18e-4 (Ax: 5.7e-4). Numeric spaces, 10 random data sets each (paired): on
#: Hartmann-6 at 30 points 1e-5 ends a median 0.001 nats (max 0.13) below the 1e-6
#: likelihood and takes 0.11 s instead of 0.15 s; on Branin at 20 points it is the same fit.
#: 1e-4 saves 50% of the fit but ends 0.26 nats short, lengthscales up to 1.5x off.
FIT_FTOL = 1e-5
#: How GPs model unordered choices: "mixed" (``MixedSingleTaskGP``: a categorical kernel on the
#: index column, summed with and multiplied by the RBF kernel of the rest) or "onehot" (each
#: choice becomes k 0/1 columns of an RBF-ARD ``SingleTaskGP``, via an input transform; the
#: acquisition optimizer still moves the index column). Bench, 10 seeds, median regret and CPU
#: s per suggestion (``python -m bench.run --problems mixed,mixed_offcenter --methods axnb
#: --set axnb.engine.models.CATEGORICAL_MODEL=onehot``): "mixed" 1.2e-4 (0.33 s) and 1.2e-3
#: (0.34 s), "onehot" 3.7e-4 (0.22 s) and 4.5e-3 (0.23 s); Ax 5.7e-4 and 1.7e-3.
CATEGORICAL_MODEL = "mixed"
#: Outcome warping of eligible objective metrics before standardization (see module doc):
#: "none", "log", "yj" (Yeo-Johnson, lambda by maximum likelihood) or "copula" (ranks ->
#: Gaussian quantiles).
OUTCOME_WARP = "yj"
#: Outcome warp of each objective's acquisition model when there are several objectives:
#: "winsor" (``warp_values``: the bad tail clipped at a Tukey fence beyond the threshold, as
#: Ax does) or "none". Measured in ``bench/RESULTS.md`` (``branin_currin``).
MOO_WARP = "winsor"
#: Refit schedule for long runs (``refit_anchor``): above ``REFIT_FROM`` observations (and
#: below ``subset.LIMIT``) the hyperparameters are fitted only at "anchor" counts, each
#: ``REFIT_GROWTH`` larger than the last; in between, the GP of every observation uses the
#: hyperparameters fitted to the first ``anchor`` of them. None: refit every time.
REFIT_FROM: int | None = None
REFIT_GROWTH = 0.05
#: Fit with ``_fit_mll_lean`` (same objective and optimizer as BoTorch's fit, less overhead)
#: up to ``LEAN_FIT_MAX_N`` observations; BoTorch's fit above (its gradient is cheaper at
#: size: 200 x 20-D 0.45 s against 0.90 s, 450 x 20-D 0.89 against 1.66 s; 30 x 6-D lean
#: 0.076 against 0.116 s, 100 x 6-D 0.15 against 0.18 s).
LEAN_FIT = True
LEAN_FIT_MAX_N = 100
#: Lower bound of an inferred noise variance (standardized units; BoTorch's default 1e-4).
NOISE_FLOOR = 1e-4


class ModelFitError(RuntimeError):
    """Every attempt to fit a GP failed; the message names the last reason."""


@dataclass
class MetricData:
    """Training data of one metric: encoded ``X`` (n, d), means ``Y``, optional ``Yvar``."""

    metric: str
    X: np.ndarray
    Y: np.ndarray
    Yvar: np.ndarray | None
    trial_indices: list[int] = field(default_factory=list)
    #: Number of tasks when the last column of ``X`` is a task index (0: no tasks).
    tasks: int = 0

    @property
    def n(self) -> int:
        return len(self.Y)

    @property
    def key(self) -> str:
        """Stable hash of the data (cache key; independent of the process)."""
        h = hashlib.sha256(self.metric.encode())
        for a in (self.X, self.Y, self.Yvar if self.Yvar is not None else np.zeros(0)):
            h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
            h.update(b"|")
        return h.hexdigest()


def collect(encoder: Encoder, trials: Sequence[Trial], metric: str) -> MetricData:
    """Completed trials that report ``metric``, encoded. Sems are used only if all are known."""
    rows, ys, sems, idx = [], [], [], []
    for t in trials:
        if not t.is_data or not t.result or metric not in t.result:
            continue
        row = encoder.encode_known(t.parameters)
        if row is None:
            continue  # parameters not valid in this space (should not happen)
        mean, sem = t.result[metric]
        rows.append(row)
        ys.append(float(mean))
        sems.append(sem)
        idx.append(t.index)
    X = np.asarray(rows, dtype=np.float64).reshape(-1, encoder.d)
    Y = np.asarray(ys, dtype=np.float64)
    Yvar = None
    if ys and all(s is not None for s in sems):
        Yvar = np.asarray(sems, dtype=np.float64) ** 2
    return MetricData(metric, X, Y, Yvar, idx)


def warp_values(Y: np.ndarray, kind: str, sign: float, bound: float | None = None) -> np.ndarray:
    """Monotone non-decreasing map of the observations ``Y`` of an objective (``sign`` = +1
    maximize, -1 minimize) that spreads out the values near the best ones.

    Applied in the loss frame ``u = -sign * y`` (lower is better), whose long tail of bad
    values is compressed; the result is ``-sign * T(u)``, so it increases with ``y``. Fewer
    than 3 or constant values are returned unchanged.

    ``"winsor"`` clips the bad tail at a Tukey fence, as Ax's ``Winsorize`` transform does:
    ``c = m + 1.5 (m - q1)`` with ``m = max(q3, b)``, where ``b`` is the objective's threshold
    ``bound`` (several objectives; in ``y`` units) or, without one, ``q3``. Values better than
    ``c`` are unchanged, so the Pareto front and the reference point are too.
    """
    Y = np.asarray(Y, dtype=np.float64)
    if kind == "none" or len(Y) < 3 or not np.ptp(Y) > 0:
        return Y
    u = -sign * Y
    if kind == "winsor":
        q1 = np.percentile(u, 25, method="lower")
        m = np.percentile(u, 75, method="higher")
        if bound is not None:
            m = max(m, -sign * bound)
        return -sign * np.minimum(u, m + 1.5 * (m - q1))
    if kind == "log":
        rng = float(np.ptp(u))
        t = np.log(u - u.min() + 1e-3 * rng)
    elif kind == "yj":
        from scipy import stats

        z = (u - u.mean()) / u.std()
        lam = float(np.clip(stats.yeojohnson_normmax(z), -3.0, 3.0))
        t = stats.yeojohnson(z, lmbda=lam)
    elif kind == "copula":
        from scipy import stats

        r = stats.rankdata(u)
        t = stats.norm.ppf((r - 0.5) / len(u))
    else:
        raise ValueError(f"unknown outcome warp {kind!r}")
    return -sign * np.asarray(t, dtype=np.float64)


def floored_yvar(data: MetricData, floor: float = YVAR_FLOOR) -> np.ndarray | None:
    """Known noise variances floored at ``floor`` times the outcome variance (None when the
    noise is not known)."""
    if data.Yvar is None:
        return None
    var_y = float(np.var(data.Y)) if data.n > 1 else 0.0
    scale = var_y if var_y > 0 else max(float(np.mean(data.Y**2)), 1.0)
    return np.maximum(data.Yvar, floor * scale).astype(np.float64)


def _build(data: MetricData, cat_dims: Mapping[int, int], noise_floor: float) -> Any:
    """An unfitted GP of ``data``; ``cat_dims`` maps categorical columns to their sizes."""
    import torch
    from botorch.models import MixedSingleTaskGP, SingleTaskGP
    from botorch.models.transforms.outcome import Standardize

    X = torch.tensor(data.X, dtype=torch.float64)
    Y = torch.tensor(data.Y, dtype=torch.float64).unsqueeze(-1)
    floored = floored_yvar(data, noise_floor)
    Yvar = None if floored is None else torch.tensor(floored).unsqueeze(-1)
    likelihood = None
    if Yvar is None and noise_floor == YVAR_FLOOR:
        noise_floor = NOISE_FLOOR  # the inferred-noise floor of a first attempt
    if Yvar is None and noise_floor != 1e-4:
        from botorch.models.utils.gpytorch_modules import (
            get_gaussian_likelihood_with_lognormal_prior,
        )
        from gpytorch.constraints import GreaterThan

        likelihood = get_gaussian_likelihood_with_lognormal_prior()
        likelihood.noise_covar.register_constraint(
            "raw_noise", GreaterThan(noise_floor, transform=None, initial_value=0.01)
        )
    if data.tasks:
        from botorch.models import MultiTaskGP

        return MultiTaskGP(
            X, Y, task_feature=-1, train_Yvar=Yvar, likelihood=likelihood,
            outcome_transform=Standardize(m=1), all_tasks=list(range(data.tasks)),
        )
    if cat_dims and CATEGORICAL_MODEL == "onehot":
        return SingleTaskGP(
            X, Y, train_Yvar=Yvar, likelihood=likelihood, outcome_transform=Standardize(m=1),
            input_transform=one_hot_transform(X.shape[-1], cat_dims),
        )
    if cat_dims:
        return MixedSingleTaskGP(
            X, Y, cat_dims=list(cat_dims), train_Yvar=Yvar, likelihood=likelihood,
            outcome_transform=Standardize(m=1),
        )
    return SingleTaskGP(
        X, Y, train_Yvar=Yvar, likelihood=likelihood, outcome_transform=Standardize(m=1)
    )


def one_hot_transform(d: int, cat_dims: Mapping[int, int]) -> Any:
    """BoTorch input transform replacing each categorical column (encoded ``i / (k - 1)``,
    see ``encoding``) by ``k`` one-hot columns."""
    import torch
    from botorch.models.transforms.input import NumericToCategoricalEncoding

    class _IndexToOneHot(NumericToCategoricalEncoding):
        # BoTorch's transform expects integer codes (it casts with .long()); ours are in [0, 1].
        def transform(self, X: torch.Tensor) -> torch.Tensor:
            X = X.clone()
            for i, k in self.categorical_features.items():
                X[..., i] = torch.round(X[..., i] * (k - 1))
            return super().transform(X)

    def encoder(k: int) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda codes: torch.nn.functional.one_hot(codes, num_classes=k)

    return _IndexToOneHot(dim=d, categorical_features=dict(cat_dims),
                          encoders={i: encoder(k) for i, k in cat_dims.items()})


def _fit_mll(model: Any, max_attempts: int, ftol: float) -> None:
    """Maximize the exact marginal log likelihood of ``model`` in place."""
    if LEAN_FIT and _lean_fit_applies(model):
        _fit_mll_lean(model, max_attempts, ftol)
        return
    from botorch.fit import fit_gpytorch_mll
    from gpytorch.mlls import ExactMarginalLogLikelihood

    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    fit_gpytorch_mll(
        mll, max_attempts=max_attempts,
        optimizer_kwargs={"options": {"maxiter": FIT_MAXITER, "ftol": ftol}},
    )


#: ``dense_kernel``'s RBF takes the differences of every pair of rows directly up to this
#: many elements (rows of A with its batches x rows of B x columns): faster for small data
#: (30 x 30 in 6-D with its gradient 0.08 instead of 0.15 ms). Above, GPyTorch's matmul
#: expansion: one suggest() at 450 observations in 20-D takes 1.7 s CPU instead of 3.4 s.
DIRECT_DIFFERENCES = 40_000


def kernel_lengthscales(model: Any) -> tuple[dict[int, float], dict[int, float]]:
    """Encoded column -> lengthscale of the first stationary kernel over it, and of the first
    categorical kernel (``MixedSingleTaskGP``); the median over the samples of a fully
    Bayesian model."""
    try:
        from botorch.models.kernels.categorical import CategoricalKernel
    except ImportError:  # pragma: no cover
        CategoricalKernel = ()  # type: ignore[assignment]
    d = model.train_inputs[0].shape[-1]
    numeric: dict[int, float] = {}
    categorical: dict[int, float] = {}
    for mod in model.covar_module.modules():
        if not getattr(mod, "has_lengthscale", False) or mod.lengthscale is None:
            continue
        dims = mod.active_dims
        dims = list(range(d)) if dims is None else [int(i) for i in dims]
        ls = mod.lengthscale.detach()  # a fully Bayesian model: one row per MCMC sample
        ls = ls.reshape(-1, ls.shape[-1]).median(dim=0).values.tolist()
        if len(ls) == 1:
            ls = ls * len(dims)
        target = categorical if isinstance(mod, CategoricalKernel) else numeric
        for j, v in zip(dims, ls):
            target.setdefault(j, float(v))
    return numeric, categorical


def lengthscales(model: Any) -> np.ndarray:
    """Lengthscale of each input column from its stationary kernel (``kernel_lengthscales``;
    1.0 where none covers it)."""
    numeric, _ = kernel_lengthscales(model)
    return np.array([numeric.get(j, 1.0) for j in range(model.train_inputs[0].shape[-1])])


def dense_kernel(kernel: Any) -> Callable[[Any, Any], Any]:
    """``(A, B) -> kernel(A, B)`` as a dense matrix, for a (non-batched) GPyTorch kernel tree:
    written out for the sums, products, scales, RBF and categorical kernels of axnb's models
    (a ``MixedSingleTaskGP``'s is all of them), without GPyTorch's per-call machinery; other
    kernels through GPyTorch. The hyperparameters are read when the function is made (made
    under ``no_grad`` for a posterior, inside the loss for a fit); differentiable in ``A``."""
    import gpytorch
    import torch
    from botorch.models.kernels.categorical import CategoricalKernel
    from gpytorch.kernels import AdditiveKernel, ProductKernel, RBFKernel, ScaleKernel
    from gpytorch.kernels.kernel import sq_dist

    kind = type(kernel) if kernel.batch_shape == torch.Size([]) else None
    if kind is ScaleKernel:
        scale, base = kernel.outputscale.reshape(()), dense_kernel(kernel.base_kernel)
        return lambda A, B: scale * base(A, B)
    if kind in (AdditiveKernel, ProductKernel):
        parts = [dense_kernel(k) for k in kernel.kernels]

        def combined(A: Any, B: Any) -> Any:
            out = parts[0](A, B)
            for part in parts[1:]:
                out = out + part(A, B) if kind is AdditiveKernel else out * part(A, B)
            return out

        return combined
    if kind in (RBFKernel, CategoricalKernel):
        dims, ls = kernel.active_dims, kernel.lengthscale.reshape(-1)

        def leaf(A: Any, B: Any) -> Any:
            if dims is not None:
                A, B = A[..., dims], B[..., dims]
            if kind is RBFKernel:
                A, B = A / ls, B / ls
                if A.numel() * B.shape[-2] <= DIRECT_DIFFERENCES:
                    return torch.exp(-0.5 * (A.unsqueeze(-2) - B.unsqueeze(-3)).square().sum(-1))
                return torch.exp(-0.5 * sq_dist(A, B))  # GPyTorch's (matmul; no n x n x d)
            return torch.exp(-((A.unsqueeze(-2) != B.unsqueeze(-3)) / ls).mean(-1))

        return leaf

    def through_gpytorch(A: Any, B: Any) -> Any:
        with gpytorch.settings.lazily_evaluate_kernels(False):
            return kernel(A, B).to_dense()

    return through_gpytorch


def _lean_fit_applies(model: Any) -> bool:
    """The lean closure writes out ``mean(X)``, ``covar(X)`` and the likelihood's noise: exactly
    BoTorch's ``SingleTaskGP`` / ``MixedSingleTaskGP`` without an input transform (not
    subclasses, whose ``forward`` may differ, nor multi-task models)."""
    from botorch.models import MixedSingleTaskGP, SingleTaskGP

    return (type(model) in (SingleTaskGP, MixedSingleTaskGP)
            and getattr(model, "input_transform", None) is None
            and model.train_targets.shape[-1] <= LEAN_FIT_MAX_N)


def _fit_mll_lean(model: Any, max_attempts: int, ftol: float) -> None:
    """``fit_gpytorch_mll`` without its machinery: the same objective (GPyTorch's
    ``ExactMarginalLogLikelihood`` with the model's priors, divided by n), the same parameters,
    bounds and L-BFGS-B options, and the same retry policy (a new start from prior samples
    when L-BFGS-B ends abnormally, not when it reaches the iteration cap), but one direct
    closure: dense kernel matrix, torch Cholesky, autograd. About 35-40% less fit time
    (1.0-1.2 ms instead of 1.6-2.0 ms per likelihood evaluation, 6-D, 30 points) and the
    same optimum to 4 decimals of the MLL on the bench data sets."""
    import scipy.optimize
    import torch
    from botorch.optim.utils import get_parameters_and_bounds, sample_all_priors
    from gpytorch.mlls import ExactMarginalLogLikelihood

    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    mll.train()
    params, bounds = get_parameters_and_bounds(mll)
    names = [k for k, p in params.items() if p.requires_grad]
    plist = [params[k] for k in names]
    X, y = model.train_inputs[0], model.train_targets
    n = y.shape[-1]
    priors = list(model.named_priors())  # as ExactMarginalLogLikelihood._add_other_terms
    lo: list[float] = []
    hi: list[float] = []
    for k, p in zip(names, plist):
        b = bounds.get(k, (None, None))
        lo += [-np.inf if b[0] is None else float(b[0])] * p.numel()
        hi += [np.inf if b[1] is None else float(b[1])] * p.numel()
    scipy_bounds = [(None if np.isinf(a) else a, None if np.isinf(b) else b)
                    for a, b in zip(lo, hi)]
    eye = torch.eye(n, dtype=X.dtype)
    log2pi = float(np.log(2 * np.pi))

    def loss() -> Any:
        mean = model.mean_module(X)
        K = dense_kernel(model.covar_module)(X, X)
        K = K + torch.diag_embed(model.likelihood.noise.expand(n))
        L, info = torch.linalg.cholesky_ex(K)
        jitter = 1e-8
        while info.item() != 0 and jitter <= 1e-5:  # as psd_safe_cholesky
            L, info = torch.linalg.cholesky_ex(K + jitter * eye)
            jitter *= 10
        if info.item() != 0:
            raise RuntimeError("the kernel matrix is not positive definite")
        a = torch.linalg.solve_triangular(L, (y - mean).unsqueeze(-1), upper=False)
        res = -0.5 * (a.square().sum() + n * log2pi) - L.diagonal().log().sum()
        for _, module, prior, closure, _ in priors:
            res = res + prior.log_prob(closure(module)).sum()
        return -res / n

    def f(x: np.ndarray) -> tuple[float, np.ndarray]:
        with torch.no_grad():
            i = 0
            for p in plist:
                p.copy_(torch.as_tensor(x[i:i + p.numel()], dtype=p.dtype).view_as(p))
                i += p.numel()
        value = loss()
        grads = torch.autograd.grad(value, plist, allow_unused=True)
        return float(value.detach()), np.concatenate([
            (g if g is not None else torch.zeros_like(p)).reshape(-1).numpy()
            for g, p in zip(grads, plist)
        ])

    reason = "no attempt"
    for attempt in range(max_attempts):
        if attempt > 0:
            sample_all_priors(model)
        x0 = np.clip(np.concatenate([p.detach().reshape(-1).numpy() for p in plist]), lo, hi)
        try:
            res = scipy.optimize.minimize(
                f, x0, jac=True, bounds=scipy_bounds, method="L-BFGS-B",
                options={"maxiter": FIT_MAXITER, "ftol": ftol},
            )
        except Exception as e:  # e.g. not positive definite: next attempt
            reason = f"{type(e).__name__}: {e}"
            continue
        f(res.x)
        message = str(res.message).upper()
        if res.success or "ITERATIONS REACHED LIMIT" in message or "MAXFUN" in message:
            mll.eval()
            return
        reason = message
    raise RuntimeError(f"marginal-likelihood fit failed ({reason})")


def fit_gp(
    data: MetricData, cat_dims: Mapping[int, int], seed: int, warm: dict[str, Any] | None = None,
    plugin: ModelPlugin | None = None,
) -> Any:
    """Fit one GP to ``data`` (see module doc for retries); returns the model in eval mode.

    ``cat_dims`` maps categorical columns to their number of choices.

    ``warm`` (parameter name -> tensor from a previous fit) sets the starting hyperparameters.
    ``plugin``: a custom model class (``plugins.ModelPlugin``), built and fitted its way, once.
    """
    import torch
    from botorch.optim.utils import sample_all_priors

    if plugin is not None:
        try:
            with seeded(derive_seed(seed, "fit", 0)), quiet():
                model = plugin.build(data.X, data.Y, floored_yvar(data), cat_dims)
                plugin.fit(model, derive_seed(seed, "nuts"))
                model.eval()
                predict_moments(model, torch.tensor(data.X[:1], dtype=torch.float64))
            return model
        except Exception as e:
            raise ModelFitError(
                f"could not fit {plugin.path} to metric '{data.metric}' ({data.n} "
                f"observations): {type(e).__name__}: {e}"
            ) from e
    reasons = []
    for attempt in range(2):
        try:
            with seeded(derive_seed(seed, "fit", attempt)), quiet():
                model = _build(data, cat_dims, YVAR_FLOOR if attempt == 0 else JITTER_NOISE)
                if attempt == 0 and warm:
                    set_hyperparameters(model, warm)
                elif attempt > 0:
                    sample_all_priors(model)
                _fit_mll(model, max_attempts=3 if attempt == 0 else 5, ftol=FIT_FTOL)
                model.eval()
                # Touch the posterior once so that numerical failures surface here.
                model.posterior(torch.tensor(data.X[:1], dtype=torch.float64)).mean.sum().item()
            return model
        except Exception as e:  # any failure triggers a retry / fallback
            reasons.append(f"{type(e).__name__}: {e}")
    raise ModelFitError(
        f"could not fit a GP to metric '{data.metric}' ({data.n} observations): "
        + "; ".join(reasons)
    )


def hyperparameters(model: Any) -> dict[str, Any]:
    """Detached copies of the model's raw hyperparameters (for warm starts)."""
    return {k: v.detach().clone() for k, v in model.named_parameters()}


@dataclass
class FittedModel:
    """GP surrogates of some metrics, for predictions, plots and the acquisition.

    Attributes: ``encoder`` (``encode(params) -> row``, ``decode(row) -> params``), ``metrics``,
    ``models`` (metric -> fitted BoTorch model, e.g. ``SingleTaskGP``), ``data`` (metric ->
    ``MetricData`` with the training ``X`` (n, d), ``Y`` and ``Yvar``).

    >>> # fm = engine.fit(trials); means, sds = fm.predict_unit(np.full((1, fm.d), 0.5))["loss"]
    """

    encoder: Encoder
    metrics: list[str]
    models: Mapping[str, Any]
    data: dict[str, MetricData]
    #: metric -> model the acquisition uses where it differs from ``models[metric]`` (a GP of
    #: warped observations, see ``warps``); other metrics use ``models``.
    #: Fitted on first access (``LazyModels``): plots and ``best()`` need only ``models``.
    acq_models: Mapping[str, Any] = field(default_factory=dict)
    #: metric -> outcome warp of its acquisition model ("yj", ...); absent = none.
    warps: dict[str, str] = field(default_factory=dict)
    #: With tasks: metric -> the multi-task GP (``models`` holds a task's view of it, or
    #: that task's own GP, see ``Engine._task_model``).
    bases: Mapping[str, Any] = field(default_factory=dict)

    @property
    def d(self) -> int:
        return self.encoder.d

    @property
    def names(self) -> list[str]:
        """Names of the encoded columns (tunable parameters)."""
        return self.encoder.names

    def encode(self, params: dict[str, Any]) -> np.ndarray:
        """Encoded row of a parameterization."""
        return np.asarray(self.encoder.encode(params), dtype=np.float64)

    def decode(self, row: Sequence[float]) -> dict[str, Value]:
        """Parameterization of an encoded row (discrete values rounded)."""
        return self.encoder.decode(row)

    def model_list(self, metrics: Sequence[str] | None = None) -> Any:
        """One BoTorch model over ``metrics`` (the model itself for one, else ``ModelListGP``),
        for the acquisition: warped metrics give their warped-data GPs (``acq_models``)."""
        metrics = list(metrics or self.metrics)
        models = [self.acq_models.get(m) or self.models[m] for m in metrics]
        if len(metrics) == 1:
            return models[0]
        from botorch.models import ModelListGP

        return ModelListGP(*models)

    def predict_unit(self, X: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Posterior mean and sd of ``f`` (no observation noise), original units, per metric.

        ``X`` is ``(k, d)`` in the encoded unit space.
        """
        import torch

        Xt = torch.as_tensor(np.asarray(X, dtype=np.float64).reshape(-1, self.d))
        out = {}
        with torch.no_grad(), quiet(), single_thread():
            for m in self.metrics:
                mean, var = predict_moments(self.models[m], Xt)
                out[m] = (mean.numpy().copy(), var.clamp_min(0.0).sqrt().numpy().copy())
        return out

    def noise_fraction(self, metric: str, acquisition: bool = False) -> float:
        """Noise variance over outcome variance (both standardized): 0 = exact, ~1 = all noise.

        ``acquisition=True`` reads the acquisition model (warped data) where there is one,
        which is already fitted when a suggestion is made.
        """
        model = (self.acq_models.get(metric) if acquisition else None) or self.models[metric]
        try:
            noise = model.likelihood.noise.detach()
        except AttributeError:  # a custom model without a Gaussian likelihood: say noisy
            return 1.0
        task = getattr(model, "task", None)
        if task is not None and noise.numel() > 1:  # a multi-task GP has one noise per task
            noise = noise.reshape(-1)[task]
        return float(noise.mean())


def with_tasks(data: MetricData, task_of: Mapping[int, int], count: int) -> MetricData:
    """``data`` with a last column of task indices (``task_of``: trial index -> task)."""
    col = np.asarray([task_of[i] for i in data.trial_indices], dtype=np.float64)
    X = np.concatenate([data.X, col.reshape(-1, 1)], axis=1)
    return MetricData(data.metric, X, data.Y, data.Yvar, list(data.trial_indices), count)


def of_task(data: MetricData, task: int) -> MetricData:
    """The observations of one task of multi-task ``data``, without the task column."""
    mask = data.X[:, -1] == task
    return MetricData(
        data.metric, data.X[mask, :-1], data.Y[mask],
        None if data.Yvar is None else data.Yvar[mask],
        [i for i, m in zip(data.trial_indices, mask) if m],
    )


def task_view(model: Any, task: int) -> Any:
    """A single-task view of a fitted ``MultiTaskGP``: its posterior at ``X`` is the multi-task
    model's at ``(X, task)``, so acquisitions, plots and predictions of one task use the
    data of every task."""
    return _task_view_class()(model, task)


@functools.cache
def _task_view_class() -> type:
    import torch
    from botorch.models.model import Model

    class TaskView(Model):
        """One task of a multi-task GP (see ``task_view``)."""

        def __init__(self, base: Any, task: int) -> None:
            super().__init__()
            self.base = base
            self.task = int(task)

        @property
        def num_outputs(self) -> int:
            return 1

        @property
        def batch_shape(self) -> torch.Size:
            return self.base.batch_shape

        @property
        def likelihood(self) -> Any:
            return self.base.likelihood

        def posterior(self, X: Any, output_indices: Any = None, observation_noise: Any = False,
                      posterior_transform: Any = None, **kwargs: Any) -> Any:
            column = torch.full_like(X[..., :1], float(self.task))
            return self.base.posterior(torch.cat([X, column], dim=-1),
                                       observation_noise=observation_noise,
                                       posterior_transform=posterior_transform)

    return TaskView


def task_correlation(model: Any) -> np.ndarray | None:
    """The correlation matrix between the tasks learned by a multi-task GP (None for another
    model): its index kernel's covariance, normalized."""
    from gpytorch.kernels import IndexKernel

    base = getattr(model, "base", model)
    for mod in base.covar_module.modules():
        if isinstance(mod, IndexKernel):
            C = mod.covar_matrix.to_dense().detach().numpy()
            sd = np.sqrt(np.clip(np.diag(C), 1e-300, None))
            return C / np.outer(sd, sd)
    return None


def loo(model: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed-form LOO ``(mean, sd of f, sd of y)`` of a fitted single-output BoTorch GP in
    original units (see module doc). A batched model (a fully Bayesian GP: one GP per MCMC
    sample) gives the moments of the mixture of its samples' LOO predictions. A task's view
    of a multi-task GP (``models.task_view``) gives the LOO predictions of that task's points
    by the model of every task's data."""
    import torch

    base = getattr(model, "base", None)
    if base is not None:
        mask = (base.train_inputs[0][..., -1] == model.task).numpy().reshape(-1)
        return tuple(a[mask] for a in loo(base))  # type: ignore[return-value]
    with torch.no_grad():
        X = model.train_inputs[0]
        prior = model.forward(X)
        m = prior.mean
        Kf = prior.covariance_matrix
        K = model.likelihood(prior, X).covariance_matrix
        y = model.train_targets.reshape(-1).expand(m.shape)
        n = K.shape[-1]
        jitter = 1e-10 * K.diagonal(dim1=-2, dim2=-1).mean()
        eye = torch.eye(n, dtype=K.dtype)
        for _ in range(6):
            L, info = torch.linalg.cholesky_ex(K + jitter * eye)
            if int(info.max()) == 0:
                break
            jitter *= 10
        Kinv = torch.cholesky_inverse(L)
        d = Kinv.diagonal(dim1=-2, dim2=-1)
        alpha = (Kinv @ (y - m).unsqueeze(-1)).squeeze(-1)
        mean = y - alpha / d
        var_y = 1.0 / d
        noise = (K.diagonal(dim1=-2, dim2=-1) - Kf.diagonal(dim1=-2, dim2=-1)).clamp_min(0.0)
        var_f = (var_y - noise).clamp_min(0.0)
        mean, var_f, var_y = (t.reshape(-1, n) for t in (mean, var_f, var_y))
        mix = mean.mean(0)  # one row unless batched: then the mixture's moments
        spread = (mean**2).mean(0) - mix**2
        var_f = var_f.mean(0) + spread.clamp_min(0.0)
        var_y = var_y.mean(0) + spread.clamp_min(0.0)
        scale, shift = 1.0, 0.0
        tf = getattr(model, "outcome_transform", None)
        if tf is not None and hasattr(tf, "stdvs"):
            scale = float(tf.stdvs.reshape(-1)[0])
            shift = float(tf.means.reshape(-1)[0])
        return (
            (mix * scale + shift).numpy().copy(),
            (var_f.sqrt() * scale).numpy().copy(),
            (var_y.sqrt() * scale).numpy().copy(),
        )


def discordance(pred: np.ndarray, y: np.ndarray) -> float:
    """Fraction of the pairs of observations ``y`` that the predictions ``pred`` order the
    other way (ties count half): 0 = same order, ~0.5 = unrelated, 1 = reversed."""
    p, v = np.asarray(pred, dtype=np.float64), np.asarray(y, dtype=np.float64)
    i, j = np.triu_indices(len(v), k=1)
    if not len(i):
        return 0.5
    s = np.sign(p[i] - p[j]) * np.sign(v[i] - v[j])
    return float(np.mean(np.where(s < 0, 1.0, np.where(s == 0, 0.5, 0.0))))


def loo_log_density(model: Any, y: np.ndarray) -> float:
    """Sum of the leave-one-out log predictive densities of the observations ``y`` (original
    units, in the model's training order for its own task) under ``model`` (``loo``)."""
    mean, _, sd_y = loo(model)
    sd = np.maximum(np.asarray(sd_y, dtype=np.float64), 1e-12)
    z = (np.asarray(y, dtype=np.float64) - mean) / sd
    return float(np.sum(-0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi)))


def predict_moments(model: Any, X: Any) -> tuple[Any, Any]:
    """Posterior mean and variance of the latent function at ``X`` (``(..., k, d)`` tensor),
    shaped like ``X`` without its last dimension. A fully Bayesian model's posterior is a
    mixture over its hyperparameter samples: its mixture mean and variance."""
    post = model.posterior(X)
    if hasattr(post, "mixture_mean"):
        return post.mixture_mean.squeeze(-1), post.mixture_variance.squeeze(-1)
    return post.mean.squeeze(-1), post.variance.squeeze(-1)


_WARPED: dict[tuple, np.ndarray] = {}


def warped(data: MetricData, warp: tuple) -> MetricData | None:
    """``data`` with its observations mapped by ``warp_values(Y, *warp)`` under the metric
    name ``"<metric>|warp=<kind>"`` (its own cache key), or None when no value changes."""
    key = (data.key, tuple(warp))
    Y = _WARPED.get(key)
    if Y is None:  # computed once per data set (a suggestion asks twice; ~5 ms each)
        Y = warp_values(data.Y, *warp)
        if len(_WARPED) >= 64:
            _WARPED.clear()
        _WARPED[key] = Y
    if np.array_equal(Y, data.Y):
        return None
    return MetricData(f"{data.metric}|warp={warp[0]}", data.X, Y.copy(), data.Yvar,
                      data.trial_indices)


class LazyModels(Mapping):
    """metric -> model, where some models are fitted on first access (``factories``)."""

    def __init__(self, models: dict[str, Any], factories: dict[str, Callable[[], Any]]) -> None:
        self._models = dict(models)
        self._factories = dict(factories)
        self._order = list(models) + [m for m in factories if m not in models]

    def __getitem__(self, metric: str) -> Any:
        if metric not in self._models:
            if metric not in self._factories:
                raise KeyError(metric)
            self._models[metric] = self._factories.pop(metric)()
        return self._models[metric]

    def __contains__(self, metric: object) -> bool:  # without fitting
        return metric in self._models or metric in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)


def refit_anchor(n: int, limit: int) -> int:
    """The number of observations whose fit gives the hyperparameters of a GP of ``n``
    (``REFIT_FROM``): ``n`` itself up to ``REFIT_FROM`` and from ``limit`` (the training
    subset's size) on, else the largest anchor ``a <= n`` of ``REFIT_FROM``,
    ``a + max(1, int(a * REFIT_GROWTH))``, ... A function of ``n`` alone, so the same data
    give the same model in any process."""
    if REFIT_FROM is None or n <= REFIT_FROM or n >= limit:
        return n
    return growth_anchor(n, REFIT_FROM, REFIT_GROWTH)


def growth_anchor(n: int, first: int, growth: float | None) -> int:
    """The largest of ``first``, ``a + max(1, int(a * growth))`` after each ``a``, ... that is
    at most ``n`` (``n`` itself below ``first`` or without growth)."""
    if n < first or not growth or growth <= 0:
        return n
    a = first
    while (b := a + max(1, int(a * growth))) <= n:
        a = b
    return a


def head(data: MetricData, m: int) -> MetricData:
    """The first ``m`` observations of ``data`` (in trial order)."""
    return MetricData(data.metric, data.X[:m], data.Y[:m],
                      None if data.Yvar is None else data.Yvar[:m], data.trial_indices[:m])


def condition_gp(data: MetricData, cat_dims: Mapping[int, int], hyper: dict[str, Any]) -> Any:
    """A GP on ``data`` with the hyperparameters ``hyper`` of another fit (no optimization)."""

    model = _build(data, cat_dims, YVAR_FLOOR)
    set_hyperparameters(model, hyper)
    model.eval()
    return model


def set_hyperparameters(model: Any, hyper: dict[str, Any]) -> None:
    """Copy the raw hyperparameters ``hyper`` (``hyperparameters`` of another fit) into
    ``model`` where names and shapes match."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            w = hyper.get(name)
            if w is not None and w.shape == p.shape:
                p.copy_(w)


class ModelCache:
    """Fitted GPs keyed by (metric, data hash); thread-safe, least-recently-used, small."""

    def __init__(self, size: int = 16) -> None:
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._warm: dict[str, dict[str, Any]] = {}
        self._size = size
        self.lock = threading.RLock()
        self.fits = 0  # number of actual fits (tests and benchmarks read it)

    def get_or_fit(
        self, data: MetricData, cat_dims: Mapping[int, int], seed: int, warm_start: bool,
        plugin: ModelPlugin | None = None, anchor: MetricData | None = None,
    ) -> Any:
        """The GP of ``data`` (warped data come from ``warped``); ``plugin``: a custom
        model class (the cache belongs to one engine, hence to one model class); ``anchor``:
        data whose fitted hyperparameters the GP of ``data`` takes (``refit_anchor``)."""
        key = (data.metric, data.key)
        with self.lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            if anchor is not None and plugin is None and not data.tasks:
                base = self.get_or_fit(anchor, cat_dims, seed, warm_start)
                model = condition_gp(data, cat_dims, hyperparameters(base))
                self._items[key] = model
                return model
            warm = self._warm.get(data.metric) if warm_start and plugin is None else None
            model = fit_gp(data, cat_dims, derive_seed(seed, data.metric, data.key), warm,
                           plugin)
            self.fits += 1
            self._items[key] = model
            self._warm[data.metric] = hyperparameters(model)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return model
