"""Custom BoTorch models and acquisition functions (``Experiment(model=..., acquisition=...)``).

A *plug-in* is a class given as the class itself or as its import path
(``"botorch.models.fully_bayesian.SaasFullyBayesianSingleTaskGP"``; a short name such as
``"SaasFullyBayesianSingleTaskGP"`` or ``"qUpperConfidenceBound"`` is looked up in
``botorch.models`` / ``botorch.acquisition`` and their submodules). The experiment file
records the import path and the options (``config.model``, ``config.model_options``,
``config.acquisition``, ``config.acquisition_options``), so ``axnb.load`` restores them; a
class the file cannot import again (defined in a notebook, i.e. in ``__main__``) is supplied
on reload: ``axnb.load(path, model=MyGP)``.

Models: one model per metric, built as ``cls(train_X, train_Y, [train_Yvar,]
[outcome_transform=Standardize(m=1),] [cat_dims=...,] **constructor options)`` on the
encoded unit cube, and fitted by maximum marginal likelihood, or by NUTS for a fully
Bayesian model (``warmup_steps``, ``num_samples``, ``thinning`` in ``model_options``; the
other options go to the constructor). With a plug-in the outcome warp of the default engine
is off: every part (suggestions, ``predict``, plots, cross-validation, importance) uses the
same model of the data as observed.

Acquisitions: built through BoTorch's input constructors (``get_acqf_input_constructor``)
from the model, the training data, the objective's direction (an MC objective, or a
posterior transform for analytic classes), outcome constraints, running trials (pending
points) and, with several objectives, the reference point; ``acquisition_options`` go to
the constructor (``{"beta": 2.0}``). MC acquisitions get axnb's seeded quasi-MC sampler
unless the options name one. Where a class cannot honour the experiment (outcome
constraints for a class without ``constraints``, several objectives for a single-objective
class, running trials for an analytic class) the error says so and names classes that can.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.errors import InvalidParameterError

if TYPE_CHECKING:
    from axnb.engine.acquisition import Problem
    from axnb.engine.models import FittedModel, MetricData

#: ``model_options`` keys that set the NUTS run of a fully Bayesian model (not the
#: constructor). BoTorch's defaults are 512 / 256 / 16; these give 16 posterior samples in
#: about a quarter of the time (30-D, 20 points: measured in ``notebooks/custom_models``).
NUTS_DEFAULTS = {"warmup_steps": 256, "num_samples": 128, "thinning": 8}


class PluginError(InvalidParameterError):
    """A custom model or acquisition cannot be imported or does not fit the experiment."""


def import_path(cls: type) -> str:
    """``module.QualName`` of a class (what the experiment file records)."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _search(package: str, name: str) -> type | None:
    """The class ``name`` in ``package`` or one of its submodules (first found), else None."""
    try:
        root = importlib.import_module(package)
    except ImportError:
        return None
    found = getattr(root, name, None)
    if isinstance(found, type):
        return found
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if ".tests" in info.name or info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # an optional dependency missing: not where the class is
            continue
        found = getattr(module, name, None)
        if isinstance(found, type):
            return found
    return None


def resolve(spec: Any, kind: str, supplied: type | None = None) -> type:
    """The class of a plug-in ``spec`` (a class or an import path / short name).

    ``kind`` is ``"model"`` or ``"acquisition"``. ``supplied`` is a class given at reload
    for a path that cannot be imported (its qualified name must match).
    """
    from axnb.engine.context import quiet

    base_name = "botorch.models.model.Model" if kind == "model" else \
        "botorch.acquisition.acquisition.AcquisitionFunction"
    with quiet():
        base = _import(base_name)
        if isinstance(spec, type):
            cls = spec
        elif isinstance(spec, str) and spec.strip():
            cls = _from_path(spec.strip(), kind, supplied)
        else:
            raise PluginError(
                f"{kind}= takes a BoTorch {kind} class or its import path (a string), got "
                f"{spec!r}."
            )
    if not issubclass(cls, base):
        raise PluginError(
            f"{kind}={import_path(cls)!r} is not a BoTorch {kind} class (a subclass of "
            f"{base_name}). Pass a class such as "
            + ("botorch.models.SingleTaskGP." if kind == "model"
               else "botorch.acquisition.qUpperConfidenceBound.")
        )
    return cls


def _import(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _from_path(path: str, kind: str, supplied: type | None) -> type:
    """Import ``path``; a bare name is searched in BoTorch; ``supplied`` stands in for a
    class that cannot be imported (``__main__``)."""
    module, _, name = path.rpartition(".")
    if supplied is not None:
        if supplied.__qualname__ != path.rpartition(".")[2] and import_path(supplied) != path:
            raise PluginError(
                f"The experiment file records {kind} {path!r}; the {kind} passed to "
                f"axnb.load is {import_path(supplied)!r}, another class. Pass {name} itself."
            )
        return supplied
    if not module:
        package = "botorch.models" if kind == "model" else "botorch.acquisition"
        found = _search(package, name)
        if found is None:
            raise PluginError(
                f"No {kind} class named {name!r} in {package}. Give its import path, e.g. "
                f"'mypackage.models.{name}', or the class itself."
            )
        return found
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        if module == "__main__":
            raise e from None  # not reached: __main__ is always importable
        raise PluginError(
            f"Cannot import {kind} {path!r}: {e}. Install the package that defines it, or "
            f"pass the class: axnb.load(path, {kind}=MyClass)."
        ) from None
    found = getattr(mod, name, None)
    if isinstance(found, type):
        return found
    if module.startswith("botorch."):  # e.g. a class that moved to a submodule
        found = _search(module, name) or _search(module.split(".")[0] + "." +
                                                 module.split(".")[1], name)
        if found is not None:
            return found
    where = ("was defined in a notebook or script (__main__) and is not defined in this one"
             if module == "__main__" else f"is not in module {module!r}")
    raise PluginError(
        f"The {kind} class {path!r} {where}. Pass it when you open the experiment: "
        f"axnb.load(path, {kind}={name}) (after defining or importing {name}); better, "
        f"define it in a module next to the notebook so that the file can import it."
    )


@dataclass
class Plugin:
    """A custom class and its options (the keyword arguments the experiment file records)."""

    cls: type
    options: dict[str, Any] = field(default_factory=dict)
    #: The import path the experiment file records when it differs from the class's own
    #: (a class supplied at reload for a path that cannot be imported, e.g. ``__main__``).
    recorded: str | None = None

    @property
    def path(self) -> str:
        return self.recorded or import_path(self.cls)


@dataclass
class ModelPlugin(Plugin):
    """A custom model class, its options, and how to build and fit it."""

    @property
    def fully_bayesian(self) -> bool:
        return bool(getattr(self.cls, "_is_fully_bayesian", False))

    def split_options(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(constructor keyword arguments, NUTS settings)."""
        ctor, nuts = {}, dict(NUTS_DEFAULTS) if self.fully_bayesian else {}
        for k, v in self.options.items():
            if self.fully_bayesian and k in NUTS_DEFAULTS:
                nuts[k] = int(v)
            else:
                ctor[k] = v
        return ctor, nuts

    def check(self, d: int, cat_dims: Mapping[int, int]) -> None:
        """Build the model on a small made-up data set: ``PluginError`` naming the problem
        when the constructor does not take the data or the options, or the model does not
        give one output per metric."""
        params = _parameters(self.cls.__init__)
        accepts_kwargs = any(p.kind == p.VAR_KEYWORD for p in params.values())
        ctor, _ = self.split_options()
        if not accepts_kwargs:
            unknown = sorted(set(ctor) - set(params))
            if unknown:
                allowed = sorted(k for k in params if k not in ("self", "train_X", "train_Y"))
                nuts = f" and the NUTS settings {sorted(NUTS_DEFAULTS)}" \
                    if self.fully_bayesian else ""
                raise PluginError(
                    f"model_options {unknown} are not arguments of {self.path}. It takes "
                    f"{allowed}{nuts}."
                )
        rng = np.random.default_rng(0)
        X = rng.random((4, d))
        for j, k in cat_dims.items():
            X[:, j] = rng.integers(0, k, 4) / max(k - 1, 1)
        try:
            model = self.build(X, rng.random(4), None, cat_dims)
        except PluginError:
            raise
        except ImportError as e:  # e.g. BoTorch's fully Bayesian models need JAX and NumPyro
            raise PluginError(
                f"model={self.path!r} needs a package that is not installed: {e} (axnb's "
                f"extra for the fully Bayesian SAAS model: pip install 'axnb[saas]')."
            ) from None
        except Exception as e:
            raise PluginError(
                f"model={self.path!r} cannot be built as {self.cls.__name__}(train_X, "
                f"train_Y, ...): {type(e).__name__}: {e}. A model class must take train_X "
                f"(n x d) and train_Y (n x 1) as its first arguments."
            ) from None
        outputs = getattr(model, "num_outputs", 1)
        if outputs != 1:
            raise PluginError(
                f"model={self.path!r} gives {outputs} outputs for one metric; axnb builds one "
                f"model per metric (n x 1 data) and needs a single-output model class."
            )

    def build(
        self, X: np.ndarray, Y: np.ndarray, Yvar: np.ndarray | None,
        cat_dims: Mapping[int, int],
    ) -> Any:
        """An unfitted model of the data (encoded ``X`` (n, d), ``Y`` (n,), ``Yvar``)."""
        import torch
        from botorch.models.transforms.outcome import Standardize

        params = _parameters(self.cls.__init__)
        ctor, _ = self.split_options()
        kwargs: dict[str, Any] = {}
        if Yvar is not None and "train_Yvar" in params:
            kwargs["train_Yvar"] = torch.tensor(Yvar, dtype=torch.float64).unsqueeze(-1)
        if "outcome_transform" in params and "outcome_transform" not in ctor:
            kwargs["outcome_transform"] = Standardize(m=1)
        if cat_dims and "cat_dims" in params and "cat_dims" not in ctor:
            kwargs["cat_dims"] = list(cat_dims)
        kwargs.update(ctor)
        return self.cls(
            torch.tensor(X, dtype=torch.float64),
            torch.tensor(Y, dtype=torch.float64).unsqueeze(-1),
            **kwargs,
        )

    def fit(self, model: Any, seed: int) -> None:
        """Fit ``model`` in place: NUTS for a fully Bayesian model, else the exact marginal
        likelihood (``models._fit_mll``)."""
        if self.fully_bayesian:
            from botorch.fit import fit_fully_bayesian_model_nuts

            _, nuts = self.split_options()
            fit_fully_bayesian_model_nuts(model, disable_progbar=True, seed=seed, **nuts)
            return
        from axnb.engine.models import FIT_FTOL, _fit_mll

        _fit_mll(model, max_attempts=3, ftol=FIT_FTOL)


def _parameters(func: Any) -> Mapping[str, inspect.Parameter]:
    try:
        return inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}


@dataclass
class AcquisitionPlugin(Plugin):
    """A custom acquisition class and its options."""

    @property
    def analytic(self) -> bool:
        from botorch.acquisition.analytic import AnalyticAcquisitionFunction

        return issubclass(self.cls, AnalyticAcquisitionFunction)

    @property
    def multi_objective(self) -> bool:
        from botorch.acquisition.multi_objective.base import (
            MultiObjectiveAnalyticAcquisitionFunction,
            MultiObjectiveMCAcquisitionFunction,
        )

        return issubclass(self.cls, (MultiObjectiveMCAcquisitionFunction,
                                     MultiObjectiveAnalyticAcquisitionFunction))

    def _constructor(self) -> tuple[Any, Mapping[str, inspect.Parameter]]:
        from botorch.acquisition.input_constructors import get_acqf_input_constructor

        try:
            ctor = get_acqf_input_constructor(self.cls)
        except RuntimeError:
            raise PluginError(
                f"acquisition={self.path!r} has no BoTorch input constructor, so axnb cannot "
                f"tell what it needs. Register one with botorch.acquisition.input_constructors"
                f".acqf_input_constructor({self.cls.__name__}), or use a BoTorch class such "
                f"as qLogNoisyExpectedImprovement or qUpperConfidenceBound."
            ) from None
        # BoTorch wraps each constructor in a closure that filters keyword arguments
        # (``allow_only_specific_variable_kwargs``) without ``functools.wraps``: the
        # parameters are those of the function it closes over.
        inner = inspect.getclosurevars(ctor).nonlocals.get("f", ctor)
        return ctor, _parameters(inspect.unwrap(inner))

    def check(self, problem: Problem) -> None:
        """``PluginError`` when the class cannot serve the experiment (see module doc)."""
        _, params = self._constructor()
        several = len(problem.objectives) > 1
        if several and not self.multi_objective:
            raise PluginError(
                f"acquisition={self.path!r} optimizes one objective, but this experiment has "
                f"{len(problem.objectives)}. Use a multi-objective class such as "
                f"qLogNoisyExpectedHypervolumeImprovement or qLogExpectedHypervolumeImprovement."
            )
        if not several and self.multi_objective:
            raise PluginError(
                f"acquisition={self.path!r} is for several objectives; this experiment has one. "
                f"Use e.g. qLogNoisyExpectedImprovement or qUpperConfidenceBound."
            )
        if problem.constraints and "constraints" not in params:
            raise PluginError(
                f"acquisition={self.path!r} cannot take outcome constraints "
                f"({', '.join(c.text for c in problem.constraints)}). Use an MC class that "
                f"does, such as qLogNoisyExpectedImprovement, qExpectedImprovement or "
                f"qUpperConfidenceBound, or drop the outcome constraints."
            )
        own = {"model", "training_data", "objective", "posterior_transform", "X_pending",
               "sampler", "constraints", "X_baseline", "objective_thresholds", "ref_point",
               "bounds", "constraints_tuple"}
        unknown = sorted(k for k in self.options if k not in params or k in own)
        if unknown:
            allowed = sorted(k for k in params if k not in own)
            raise PluginError(
                f"acquisition_options {unknown} are not options of {self.path} that axnb "
                f"leaves to you (it sets the model, data, direction, constraints and pending "
                f"points itself). Its options: {allowed}."
            )

    def check_pending(self, count: int) -> None:
        """An analytic class scores one point and cannot account for running trials."""
        if self.analytic and count:
            raise PluginError(
                f"acquisition={self.path!r} is analytic: it scores one point and cannot take "
                f"the {count} running or batch-mate trial(s) into account, so it would suggest "
                f"them again. Complete or abandon the running trials and ask for one point at "
                f"a time, or use its MC version (e.g. qUpperConfidenceBound for "
                f"UpperConfidenceBound)."
            )

    def build(
        self, fitted: FittedModel, problem: Problem, X_pending: np.ndarray | None,
        ref_point: Sequence[float] | None, seed: int,
    ) -> Any:
        """The acquisition function for the next point."""
        import torch
        from botorch.acquisition.objective import (
            GenericMCObjective,
            ScalarizedPosteriorTransform,
        )
        from botorch.sampling import SobolQMCNormalSampler

        from axnb.engine.acquisition import MC_SAMPLES, _constraint_callables, _scale

        metrics = problem.metrics
        model = fitted.model_list(metrics)
        ctor, params = self._constructor()
        data = _block(fitted.data, metrics)
        kwargs: dict[str, Any] = {"model": model, "training_data": data}
        if "X_baseline" in params:
            kwargs["X_baseline"] = data.X
        Xp = None if X_pending is None or not len(X_pending) else torch.tensor(
            X_pending, dtype=torch.float64)
        if Xp is not None:
            self.check_pending(len(Xp))
            kwargs["X_pending"] = Xp
        signs = [o.sign for o in problem.objectives]
        k = len(metrics)
        if self.multi_objective:
            from botorch.acquisition.multi_objective.objective import (
                WeightedMCMultiOutputObjective,
            )

            kwargs["objective"] = WeightedMCMultiOutputObjective(
                weights=torch.tensor(signs, dtype=torch.float64),
                outcomes=list(range(len(signs))))
            # thresholds in the outcome space (BoTorch applies the objective to them)
            kwargs["objective_thresholds"] = torch.tensor(
                [s * r for s, r in zip(signs, ref_point or [])], dtype=torch.float64)
        elif self.analytic:
            weights = torch.zeros(k, dtype=torch.float64)
            weights[0] = signs[0]
            kwargs["posterior_transform"] = ScalarizedPosteriorTransform(weights=weights)
        else:
            sign = signs[0]
            kwargs["objective"] = GenericMCObjective(lambda Y, X=None: sign * Y[..., 0])
        if problem.constraints:
            scales = {m: _scale(fitted.data[m].Y) for m in metrics}
            kwargs["constraints"] = _constraint_callables(problem.constraints, metrics, scales)
        if "sampler" in params and not self.analytic:
            kwargs["sampler"] = SobolQMCNormalSampler(
                sample_shape=torch.Size([MC_SAMPLES]), seed=seed)
        kwargs.update(self.options)
        try:
            inputs = ctor(**{key: v for key, v in kwargs.items() if key in params or key in (
                "training_data", "objective", "posterior_transform", "constraints",
                "X_baseline", "objective_thresholds")})
            return self.cls(**inputs)
        except PluginError:
            raise
        except Exception as e:
            raise PluginError(
                f"acquisition={self.path!r} could not be built: {type(e).__name__}: {e}"
            ) from e


def _block(data: Mapping[str, MetricData], metrics: Sequence[str]) -> Any:
    """One ``SupervisedDataset`` of the trials that report every metric (columns in
    ``metrics`` order): BoTorch's input constructors need a block design."""
    import torch
    from botorch.utils.datasets import SupervisedDataset

    first = data[metrics[0]]
    common = [i for i in first.trial_indices
              if all(i in data[m].trial_indices for m in metrics[1:])]
    rows = {m: {t: r for r, t in enumerate(data[m].trial_indices)} for m in metrics}
    X = np.asarray([first.X[rows[metrics[0]][t]] for t in common]).reshape(-1, first.X.shape[1])
    Y = np.asarray([[data[m].Y[rows[m][t]] for m in metrics] for t in common]).reshape(
        -1, len(metrics))
    return SupervisedDataset(
        torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64),
        feature_names=[f"x{j}" for j in range(X.shape[1])], outcome_names=list(metrics),
    )

