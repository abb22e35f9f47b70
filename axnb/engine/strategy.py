"""The Engine: decides between the space-filling start, the model and the fallback.

    >>> from axnb.space import SearchSpace, Range
    >>> from axnb.trial import Objective
    >>> engine = Engine(SearchSpace([Range("x", 0, 1)]), [Objective("y")], [], seed=0)
    >>> [s.source for s in engine.suggest([], n=2)]
    ['init', 'init']

Life cycle of ``suggest(trials, n, fixed)``:

1. ``fixed`` is validated and encoded as pinned columns; an empty polytope raises
   ``InfeasibleError``.
2. Fewer than ``initial_trials`` completed trials with every objective: scrambled Sobol /
   polytope points (``source="init"``). Completed trials of any source count, so enough
   attached data make the very first suggestion model-based.
3. Otherwise GPs are fitted (or taken from the cache, keyed by the data), the acquisition is
   built (``acquisition``) with running trials as pending points, and optimized
   (``optimize``) for ``n`` distinct points (``source="model"``).
4. Any failure in 3 (fit errors after retries, numerical trouble in the optimizer) gives
   space-filling points with ``source="fallback"`` and a ``warnings.warn`` naming the cause.

Small discrete spaces (every free column discrete, at most ``MAX_ENUMERATED`` points): no
suggestion repeats a tried point (any trial's: running, completed, failed or abandoned) or
another one of its batch until every valid point has been tried. In the model phase the
acquisition is evaluated on every untried point (``optimize.ENUMERATE_LIMIT``; 0 turns this
off, the optimizer then avoids tried points and ``_prefer_untried`` replaces any it returns).
Once the untried points run out, the rest of a batch re-measures the tried points rated best
(``_best_tried``: posterior means, as ``best()`` ranks them), distinct while there are
enough, with a warning that the space is exhausted.

Reproducibility: every random choice is seeded from ``(seed, number of trials, n, pins)``
inside ``torch.random.fork_rng`` (model fits from ``(seed, metric, data hash)``), so the same
seed and trials give the same suggestions in any process. Warm starts (``warm_start=True``)
trade that guarantee for speed: the fit then depends on the previous fit in this process.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.engine import subset, trust
from axnb.engine.acquisition import Problem, constraints_met
from axnb.engine.context import derive_seed, quiet, seeded, single_thread
from axnb.engine.encoding import CONTINUOUS, Encoder
from axnb.engine.initial import space_filling
from axnb.engine.models import FittedModel, ModelCache, ModelFitError
from axnb.engine.optimize import AcquisitionOptimizer, OptimizerSettings
from axnb.engine.plugins import AcquisitionPlugin, ModelPlugin, PluginError
from axnb.engine.polytope import Repairer, is_feasible_lp
from axnb.engine.results import choose, model_best, observed_best, pareto_front, usable
from axnb.errors import ConstraintError, InfeasibleError, InvalidParameterError, TrialError
from axnb.space import SearchSpace, Value

if TYPE_CHECKING:
    from axnb.constraints import OutcomeConstraint
    from axnb.trial import Objective, Trial

#: Inferred noise above this fraction of the outcome variance makes ``best`` model-based.
NOISY_FRACTION = 0.01
#: The first trial of an empty experiment is the centre of the space (as Ax does), when it
#: satisfies the linear constraints; the rest of the start is scrambled Sobol.
CENTER_FIRST = True
#: Results beyond this magnitude are not modelled: the GPs square the values (variances,
#: standardization, acquisition) and float64 overflows not far beyond ~1e150 (model-based
#: suggestions with sems measured failing at 1e150). Suggestions then fall back with a
#: warning naming the metric, ``predict`` raises, ``best`` uses the observed values.
MAX_MODEL_SCALE = 1e100
#: With tasks, how a task's model is chosen (``_task_model``, from ``TASK_SELECTION_MIN``
#: results of the task): "rank" (default) uses the multi-task GP's view only when another
#: task's results rank this task's results better than chance (``_informative``, by
#: ``TASK_SELECTION_Z`` standard deviations), else the GP of the task's own results, warped
#: and seeded as in a plain experiment (``_seed_position``): an unrelated task then changes
#: nothing. "loo": the own GP when its leave-one-out log predictive density of the task's
#: results beats the view's. None: always the view. Bench ``multitask``, 10 paired seeds,
#: multi-task / online-only median final regret with a related and an unrelated offline
#: task (bench/RESULTS.md "Combined experiments"): view 0.54x and 2.66x; "rank" z = 1.5
#: 0.68x and 1.00x; z = 1.0 0.69x and 1.51x; a |difference|-weighted permutation test
#: (p <= 0.067) 0.86x and 1.00x. "loo" lost most of the related gain on 4 seeds: the view's
#: leave-one-out density was below the own GP's even on related runs (overconfident).
TASK_SELECTION: str | None = "rank"
TASK_SELECTION_MIN = 4
TASK_SELECTION_Z = 1.5
#: A space whose free columns are all discrete is enumerated up to this many points, so no
#: suggestion repeats a tried point before every point is tried, and exhaustion is announced.
MAX_ENUMERATED = 4096


class ScaleError(ModelFitError):
    """A metric's results are too large to model (see ``MAX_MODEL_SCALE``)."""


def _task_data(both: Any, task: int) -> Any:
    """The data of task number ``task`` of multi-task data (``models.of_task``), under the
    metric name ``"<metric>|task=<k>"`` except for the target (0): each task's own GP has
    its own cache key and warm start, and the target's is the GP a plain experiment fits."""
    from axnb.engine import models as M

    data = M.of_task(both, task)
    if task:
        data.metric = f"{data.metric}|task={task}"
    return data


def _key(row: Sequence[float]) -> tuple:
    """A hashable key of an encoded row (rounded: encodings of one value agree to 1e-9)."""
    return tuple(np.round(np.asarray(row, dtype=np.float64), 9).tolist())


def _prefer_untried(
    rows: np.ndarray, points: dict[tuple, np.ndarray], tried: set[tuple], seed: int
) -> np.ndarray:
    """``rows`` with each one that repeats a tried point (or an earlier row) replaced by an
    untried point of ``points``, drawn in a seeded random order, while untried points last."""
    untried = [k for k in points if k not in tried]
    order = np.random.default_rng(seed).permutation(len(untried))
    spare = [points[untried[i]] for i in order]
    taken = set(tried)
    out = []
    for row in np.asarray(rows):
        key = _key(row)
        if key in taken:
            while spare and _key(spare[-1]) in taken:
                spare.pop()
            if spare:
                row = spare.pop()
                key = _key(row)
        taken.add(key)
        out.append(row)
    return np.asarray(out)


def check_scale(data: Any) -> None:
    """``ScaleError`` naming the metric when its results are too large to model."""
    top = float(np.max(np.abs(data.Y))) if data.n else 0.0
    if data.Yvar is not None and data.n:
        top = max(top, float(np.max(np.sqrt(data.Yvar))))
    if not top <= MAX_MODEL_SCALE:
        raise ScaleError(
            f"the results of '{data.metric}' reach {top:.3g}, beyond the ±{MAX_MODEL_SCALE:g} "
            f"a GP can model in float64: rescale the metric (e.g. report its log10, or divide "
            f"it by a constant)"
        )


def default_initial_trials(d: int) -> int:
    """Space-filling trials before the model: ``max(3, d + 1)`` for ``d`` tunable parameters.

    Benchmark (``python -m axnb.engine._bench quality ...``, median simple regret, same seeds):
    Branin, 20 evaluations, 12 seeds: d + 1 = 3 -> 0.08, 4 -> 0.18, 2d + 1 = 5 -> 0.17,
    8 -> 0.12; Hartmann-6, 40 evaluations, 6 seeds: d = 6 -> 0.008, 2d = 12 -> 0.034. The GP
    with BoTorch's dimension-scaled priors is sensible from a handful of points, so a short
    start leaves more of a small budget to the model.
    """
    return max(3, d + 1)


@dataclass
class Suggestion:
    """A suggested parameterization (plain Python values, Fixed included) and its source."""

    parameters: dict[str, Value]
    source: str  # "init" | "model" | "fallback"


class Engine:
    """Bayesian-optimization engine over a ``SearchSpace`` (see module doc).

    ``num_restarts`` / ``raw_samples`` set the acquisition optimizer's effort;
    ``warm_start`` starts each fit from the previous hyperparameters of the same metric.
    """

    def __init__(
        self,
        space: SearchSpace,
        objectives: list[Objective],
        outcome_constraints: list[OutcomeConstraint],
        seed: int,
        initial_trials: int | None = None,
        *,
        num_restarts: int | None = None,
        raw_samples: int | None = None,
        warm_start: bool = False,
        model: ModelPlugin | None = None,
        acquisition: AcquisitionPlugin | None = None,
        tasks: Sequence[str] | None = None,
        extra_trials: Sequence[Trial] = (),
    ) -> None:
        if not objectives:
            raise InvalidParameterError("The engine needs at least one objective.")
        self.space = space
        self.seed = int(seed) if seed is not None else 0
        self.problem = Problem(list(objectives), list(outcome_constraints or []))
        self.encoder = Encoder(space)
        self.repairer = Repairer(self.encoder, list(space.constraints), space.predicates)
        if not is_feasible_lp(self.repairer.uc):
            texts = ", ".join(repr(t) for t in self.repairer.uc.texts)
            raise InfeasibleError(
                f"No parameter values satisfy the constraints {texts} within the bounds. "
                f"Relax a constraint or widen the bounds."
            )
        if initial_trials is None:
            initial_trials = default_initial_trials(self.encoder.d)
        if int(initial_trials) < 0:
            raise InvalidParameterError(
                f"initial_trials must be >= 0, got {initial_trials!r}."
            )
        self.initial_trials = int(initial_trials)
        settings = OptimizerSettings()
        if num_restarts is not None:
            settings.num_restarts = int(num_restarts)
        if raw_samples is not None:
            settings.raw_samples = int(raw_samples)
        self.settings = settings
        self.optimizer = AcquisitionOptimizer(self.encoder, self.repairer, settings)
        self.warm_start = bool(warm_start)
        #: Custom model / acquisition classes (``plugins``; None: axnb's own).
        self.model_plugin = model
        self.acquisition_plugin = acquisition
        #: Task names, the target first (``Experiment(tasks=...)``): one multi-task GP per
        #: metric over every task's trials; a suggestion for a task maximizes that task's
        #: acquisition. None: no tasks.
        self.tasks = list(tasks) if tasks else None
        #: Completed trials of related experiments (``axnb.related``), each with its task:
        #: the multi-task models use them, nothing else does.
        self.extra_trials = list(extra_trials)
        if model is not None:
            model.check(self.encoder.d, {i: len(v) for i, v in self.encoder.cat_dims.items()})
        if acquisition is not None:
            acquisition.check(self.problem)
        self.status = "idle"
        self.last_acquisition: str | None = None
        self.cache = ModelCache()
        self._points: dict[tuple, dict[tuple, np.ndarray] | None] = {}
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- suggestions
    def suggest(
        self, trials: Sequence[Trial], n: int = 1, fixed: Mapping[str, Any] | None = None,
        task: str | None = None,
    ) -> list[Suggestion]:
        """``n`` distinct suggestions given all trials (running ones are pending points);
        ``task``: the task they are for (with tasks; default the target)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise TrialError(f"n must be a positive integer, got {n!r}.")
        n = int(n)
        with self._lock, single_thread():
            try:
                pins, pinned = self._pins(fixed)
                position = len(trials)
                seed = derive_seed(self.seed, "suggest", self._seed_position(trials, task), n,
                                   sorted(pinned.items()))
                points = self._discrete_points(pins) or None
                k = self._task_index(task)
                mine = self._of_task(trials, k)
                tried = self._tried(mine) if points is not None else set()
                if not self.in_model_phase(mine) or len(pins) == self.encoder.d:
                    self.status = "sampling initial points"
                    rows = space_filling(self.encoder, self.repairer, n, self.seed, position, pins)
                    if position == 0 and CENTER_FIRST:
                        rows = self._centre_first(rows, pins)
                    source = "init"
                else:
                    if self.acquisition_plugin is not None:
                        running = sum(t.status == "running" for t in trials)
                        self.acquisition_plugin.check_pending(running + n - 1)
                    try:
                        rows = self._model_rows(trials, n, pins, seed, points, tried, k)
                        source = "model"
                    except (InfeasibleError, PluginError):
                        raise
                    except Exception as e:  # any model failure falls back
                        warnings.warn(
                            f"axnb: model-based suggestion failed ({type(e).__name__}: {e}); "
                            f"using a space-filling point instead (source='fallback').",
                            RuntimeWarning, stacklevel=2,
                        )
                        self.status = "sampling fallback points"
                        rows = space_filling(
                            self.encoder, self.repairer, n, self.seed, position, pins
                        )
                        source = "fallback"
                if points is not None:
                    rows = _prefer_untried(rows, points, tried, seed)
                    rows = self._best_when_exhausted(rows, n, points, tried, mine)
                    self._warn_exhausted(rows, points, tried, pinned)
                return self._finish(rows, source)
            finally:
                self.status = "idle"

    def _pins(self, fixed: Mapping[str, Any] | None) -> tuple[dict[int, float], dict[str, Value]]:
        """Validated pins as encoded column -> value, and as name -> plain value."""
        if not fixed:
            return {}, {}
        values = self.space.validate(fixed, partial=True, check_constraints=False)
        pinned = {k: v for k, v in values.items() if k in fixed and k in self.encoder.index}
        pins = {self.encoder.index[k]: self.encoder.encode_value(k, v) for k, v in pinned.items()}
        reduced, _ = self.repairer.uc.reduce(pins)
        texts = ", ".join(repr(t) for t in self.repairer.uc.texts)
        if not is_feasible_lp(reduced):
            raise InfeasibleError(
                f"With {pinned} pinned, no values of the other parameters satisfy the "
                f"constraints {texts}. Pin other values or fewer parameters."
            )
        if len(pins) == self.encoder.d:
            try:
                self.space.validate({**pinned})
            except ConstraintError as e:
                raise InfeasibleError(f"The pinned values {pinned} violate a constraint: {e}") \
                    from None
        return pins, pinned

    def check_distinct(self, n: int, pinned: Mapping[str, Any]) -> None:
        """``InfeasibleError`` when fewer than ``n`` distinct points exist with ``pinned``
        (validated values) pinned: every tunable parameter pinned, or only discrete ones left
        with fewer combinations than ``n``. ``Experiment.suggest(n)`` promises ``n`` distinct
        trials; ``suggest`` itself does not call this (a loop may want repeats)."""
        free = [c for c in self.encoder.columns if c.name not in pinned]
        if any(c.kind == CONTINUOUS for c in free):
            return
        count = math.prod(len(c.values) for c in free)
        if count >= n:
            return
        what = (
            "every tunable parameter is pinned" if not free
            else f"the free parameters {[c.name for c in free]} have {count} combinations"
        )
        raise InfeasibleError(
            f"suggest(n={n}) promises {n} distinct trials, but {what}"
            f"{f' (pinned: {pinned})' if pinned else ''}, so only {count} distinct "
            f"point{'s exist' if count != 1 else ' exists'}. Ask for n={count}, pin fewer "
            f"parameters, or record a point you chose with exp.attach(params)."
        )

    def _discrete_points(self, pins: dict[int, float]) -> dict[tuple, np.ndarray] | None:
        """Every valid point (key -> encoded row) with ``pins`` applied when all free columns
        are discrete and there are at most ``MAX_ENUMERATED``; None otherwise. Enumerated
        once per set of pins (the space and its constraints never change)."""
        cached = self._points.get(tuple(sorted(pins.items())), False)
        if cached is not False:
            return cached
        points = self._enumerate(pins)
        self._points[tuple(sorted(pins.items()))] = points
        return points

    def _enumerate(self, pins: dict[int, float]) -> dict[tuple, np.ndarray] | None:
        columns = self.encoder.columns
        free = [j for j in range(len(columns)) if j not in pins]
        if any(not columns[j].values for j in free):
            return None
        if math.prod(len(columns[j].values) for j in free) > MAX_ENUMERATED:
            return None
        base = np.zeros(self.encoder.d)
        for j, v in pins.items():
            base[j] = v
        out: dict[tuple, np.ndarray] = {}
        for combo in itertools.product(*(columns[j].values for j in free)):
            row = base.copy()
            row[free] = combo
            row = self.encoder.canonical(row)  # hierarchical: inactive columns collapse
            if self.repairer.ok(row):
                out[_key(row)] = row
        return out

    def _tried(self, trials: Sequence[Trial]) -> set[tuple]:
        """Keys of the points of every trial (running, completed, failed or abandoned)."""
        return {_key(row) for row in self._encode_valid([t.parameters for t in trials])}

    def _warn_exhausted(
        self, rows: Sequence[np.ndarray], points: dict[tuple, np.ndarray], tried: set[tuple],
        pinned: Mapping[str, Any],
    ) -> None:
        """Warn when ``rows`` repeat tried points because every point of the discrete
        space is tried or in ``rows`` (``tried``: the keys of every trial's point)."""
        repeats = sum(_key(r) in tried for r in rows)
        covered = (tried | {_key(r) for r in rows}) & points.keys()
        if repeats and len(covered) >= len(points):
            warnings.warn(
                f"axnb: all {len(points)} points of the search space"
                f"{f' with {dict(pinned)} pinned' if pinned else ''}"
                f" have been tried; {repeats} of these {len(rows)} suggestion(s) repeat the "
                f"best-rated tried points. Stop here, widen the space, or keep going to "
                f"re-measure noisy results.", UserWarning, stacklevel=4,
            )

    def _best_when_exhausted(
        self, rows: Sequence[np.ndarray], n: int, points: dict[tuple, np.ndarray],
        tried: set[tuple], trials: Sequence[Trial],
    ) -> list[np.ndarray]:
        """The distinct untried rows of ``rows``, completed to ``n`` with the tried points
        rated best (``_best_tried``) when the untried points have run out."""
        fresh: dict[tuple, np.ndarray] = {}
        for row in rows:
            if _key(row) not in tried:
                fresh.setdefault(_key(row), row)
        out = list(fresh.values())[:n]
        if len(out) == n:
            return out
        best = self._best_tried(trials, points, tried, n - len(out))
        if not best:  # nothing tried: cannot happen when the untried points have run out
            return list(rows)
        out += list(itertools.islice(itertools.cycle(best), n - len(out)))
        return out

    def _best_tried(
        self, trials: Sequence[Trial], points: dict[tuple, np.ndarray], tried: set[tuple],
        count: int,
    ) -> list[np.ndarray]:
        """Up to ``count`` tried points of ``points``, best first: those with results and
        not running first, each group ranked like ``best()`` by the model's posterior means
        (by the observed means when no model can be fitted)."""
        problem = self._modelled_problem(trials)
        keys = [k for k in points if k in tried]
        means = dict(zip(keys, self._means(trials, problem, [points[k] for k in keys])))
        running = self._tried([t for t in trials if t.status == "running"])
        measured = self._tried(usable(problem, trials)) - running
        out: list[np.ndarray] = []
        for group in ([k for k in keys if k in measured], [k for k in keys if k not in measured]):
            rated = [k for k in group if means[k] is not None]
            unrated = [k for k in group if means[k] is None]
            while rated and len(out) < count:
                best = rated.pop(choose(problem, [means[k] for k in rated]))  # type: ignore
                out.append(points[best])
            out += [points[k] for k in unrated[: count - len(out)]]
        return out

    def _means(
        self, trials: Sequence[Trial], problem: Problem, rows: list[np.ndarray]
    ) -> list[dict[str, float] | None]:
        """Posterior means of ``problem``'s metrics at ``rows``; where no model can be
        fitted, the mean observed values (None for a point without results)."""
        try:
            with quiet():
                fitted = self._fitted(trials, problem.metrics)
            if fitted is not None and set(problem.metrics) <= set(fitted.metrics):
                pred = fitted.predict_unit(np.asarray(rows).reshape(-1, self.encoder.d))
                return [{m: float(pred[m][0][i]) for m in problem.metrics}
                        for i in range(len(rows))]
        except Exception:  # too few data or a fit error: rank by the observed values
            pass
        observed: dict[tuple, list[dict[str, float]]] = {}
        for t in usable(problem, trials):
            row = self._encode_valid([t.parameters])
            if len(row):
                values = {m: t.result[m][0] for m in problem.metrics}  # type: ignore[index]
                observed.setdefault(_key(row[0]), []).append(values)
        out: list[dict[str, float] | None] = []
        for row in rows:
            seen = observed.get(_key(row))
            out.append({m: float(np.mean([v[m] for v in seen])) for m in problem.metrics}
                       if seen else None)
        return out

    def _centre_first(self, rows: np.ndarray, pins: dict[int, float]) -> np.ndarray:
        """``rows`` with the first replaced by the centre of the space (middle value of each
        discrete column, pins applied) when that point satisfies every constraint."""
        centre = self.encoder.from_cube(np.full((1, self.encoder.d), 0.5))[0]
        for j, v in pins.items():
            centre[j] = v
        if not self.repairer.ok(centre):
            return rows
        out = np.array(rows, dtype=np.float64, copy=True)
        out[0] = centre
        for k in range(1, len(out)):  # keep the rows distinct: the centre may be among them
            if np.array_equal(out[k], centre):
                out[k] = rows[0]
                break
        return out

    def _finish(self, rows: Sequence[np.ndarray], source: str) -> list[Suggestion]:
        out = []
        for row in rows:
            params = self.space.prune(self.encoder.decode(row))  # hierarchical: active only
            params = self.space.validate(params)  # plain values; constraints checked to 1e-6
            out.append(Suggestion(params, source))
        return out

    def _model_rows(
        self, trials: Sequence[Trial], n: int, pins: dict[int, float], seed: int,
        points: dict[tuple, np.ndarray] | None, tried: set[tuple], task: int | None = None,
    ) -> list[np.ndarray]:
        """Up to ``n`` rows maximizing the acquisition (of task number ``task`` with tasks).
        A small all-discrete space (``points``, at most ``settings.max_enumerate`` of them) is
        enumerated: the best untried points, fewer than ``n`` (none) when fewer are left.
        Otherwise the optimizer avoids evaluated points of noiseless data and, with
        ``points``, every tried point."""
        untried = [] if points is None else [r for k, r in points.items() if k not in tried]
        if points is not None and not untried:
            return []  # exhausted: the caller repeats the best points
        region = self._trust_region(trials, pins, points, task)
        with seeded(seed), quiet():
            acqf, _, pending = self.acquisition(trials, derive_seed(seed, "mc"), task, region)
            self.status = "optimizing acquisition"
            if points is not None and len(points) <= self.settings.max_enumerate:
                return self.optimizer.choose(acqf, min(n, len(untried)), np.asarray(untried))
            avoid = [] if points is None else [r for k, r in points.items() if k in tried]
            exact = self._exact_rows(trials, task, region)
            if exact is not None:
                avoid += list(exact)
            box = None if region is None else self._trust_box(acqf, region)
            return self.optimizer.optimize(
                acqf, n, pins, pending,
                np.asarray(avoid).reshape(-1, self.encoder.d) if avoid else None, box,
            )

    def _trust_region(
        self, trials: Sequence[Trial], pins: dict[int, float],
        points: dict[tuple, np.ndarray] | None, task: int | None,
    ) -> trust.Region | None:
        """The trust region of a long run (``trust``), or None below ``trust.FROM``
        observations and where it does not apply: tasks, plug-ins, pins, linear
        constraints, predicates, hierarchical parameters, several objectives, outcome
        constraints, or a parameter that is not continuous."""
        from axnb.engine import models as M

        p = self.problem
        if (trust.FROM is None or self.tasks or task is not None or pins or points is not None
                or self.model_plugin is not None or self.acquisition_plugin is not None
                or len(p.objectives) != 1 or p.outcome_constraints
                or not self.repairer.uc.empty or self.repairer.predicates
                or self.space.conditional
                or len(self.encoder.cont_dims) != self.encoder.d):
            return None
        d = M.collect(self.encoder, trials, p.objectives[0].metric)
        order = np.argsort(d.trial_indices, kind="stable")
        index = [d.trial_indices[k] for k in order]
        source = {t.index: t.source for t in trials}
        return trust.region(np.asarray(d.X)[order], p.objectives[0].sign * np.asarray(d.Y)[order],
                            index, counted=[source.get(i) == "model" for i in index])

    def trust_region(self, trials: Sequence[Trial]) -> dict[str, Any] | None:
        """The trust region the next suggestion uses (``trust``): the trial at its centre,
        its side factor (the box spans ``side`` times the normalized lengthscales,
        ``trust.box``) and how many trials its model sees; None when suggestions search the
        whole space."""
        r = self._trust_region(trials, {}, None, None)  # data only: no lock, no model
        if r is None:
            return None
        return {"centre_trial": r.centre_trial, "side": round(float(r.size), 6),
                "local_trials": len(r.keep)}

    @staticmethod
    def _trust_box(acqf: Any, region: trust.Region) -> tuple[np.ndarray, np.ndarray]:
        """The trust region's corners, shaped by the lengthscales of the acquisition's model
        (the region's GP of the one objective)."""
        from axnb.engine import models as M

        return trust.box(region.centre, M.lengthscales(acqf.model), region.size)

    def _exact_rows(self, trials: Sequence[Trial], task: int | None = None,
                    region: trust.Region | None = None) -> np.ndarray | None:
        """Evaluated points when every objective is observed without noise (sems of 0, or an
        inferred noise below ``NOISY_FRACTION``): evaluating one again teaches nothing, so
        the optimizer avoids them. None for noisy data, where repeats can pay. ``region``: a
        trust region, whose trials are modelled."""
        fitted = self._fitted(trials, [o.metric for o in self.problem.objectives], task=task,
                              region=region)
        if fitted is None:
            return None
        rows = []
        for m in fitted.metrics:
            data = fitted.data[m]
            if data.Yvar is not None:
                if np.any(data.Yvar > 0):
                    return None
            elif fitted.noise_fraction(m, acquisition=True) > NOISY_FRACTION:
                return None
            rows.append(data.X)
        return np.unique(np.concatenate(rows), axis=0) if rows else None

    def acquisition(
        self, trials: Sequence[Trial], mc_seed: int, task: int | None = None,
        region: trust.Region | None = None,
    ) -> tuple[Any, str, np.ndarray]:
        """The acquisition function for ``trials``, its kind and the pending rows; with
        tasks, of task number ``task`` (default the target), its trials' pending. ``region``:
        a trust region, whose trials are modelled (default all, or ``subset``'s).

        Raises ``ModelFitError`` when no model can be fitted.
        """
        from axnb.engine.acquisition import build_acquisition

        problem = self._modelled_problem(trials)
        self.status = "fitting model"
        fitted = self._fitted(trials, problem.metrics, strict=True, task=task, region=region)
        assert fitted is not None
        mine = self._of_task(trials, self._task_index(task))
        if not fitted.data[problem.objectives[0].metric].n:
            raise ModelFitError("no completed trial of this task reports the objective")
        ok = usable(problem, mine)
        feasible = constraints_met(problem, [t.result for t in ok])  # type: ignore[misc]
        baseline = np.unique(fitted.data[problem.objectives[0].metric].X, axis=0)
        pending = self._encode_valid([t.parameters for t in mine if t.status == "running"])
        plugin = self.acquisition_plugin
        if plugin is not None:
            from axnb.engine.acquisition import reference_point

            ref = reference_point(fitted, problem) if len(problem.objectives) > 1 else None
            acqf, kind = plugin.build(fitted, problem, pending, ref, mc_seed), plugin.cls.__name__
        else:
            acqf, kind = build_acquisition(
                fitted, problem, baseline, pending, feasible, mc_seed)
        self.last_acquisition = kind
        return acqf, kind, pending

    def in_model_phase(self, trials: Sequence[Trial]) -> bool:
        """Whether the next suggestion comes from the model (enough completed data)."""
        n_data = len([t for t in trials if t.is_data and t.result
                      and all(o.metric in t.result for o in self.problem.objectives)])
        return n_data >= max(self.initial_trials, 1)

    def _modelled_problem(self, trials: Sequence[Trial]) -> Problem:
        """The problem without outcome constraints on metrics nobody has reported yet."""
        seen = {m for t in trials if t.is_data and t.result for m in t.result}
        cons = [c for c in self.problem.outcome_constraints if c.metric in seen]
        return Problem(self.problem.objectives, cons)

    def _task_index(self, task: str | int | None) -> int | None:
        """The number of a task (0: the target; None without tasks)."""
        if not self.tasks:
            return None
        if task is None:
            return 0
        return task if isinstance(task, int) else self.tasks.index(task)

    def _seed_position(self, trials: Sequence[Trial], task: str | None) -> int:
        """The position a suggestion's seed derives from: the number of trials, with tasks
        of that task's trials. A target suggestion whose model ignores the other tasks
        (``TASK_SELECTION``) is then the one a plain experiment makes from the same trials."""
        if not self.tasks:
            return len(trials)
        return len(self._of_task(trials, self._task_index(task)))

    def _of_task(self, trials: Sequence[Trial], task: int | None) -> list[Trial]:
        """The trials of task number ``task`` (all of them without tasks)."""
        if task is None:
            return list(trials)
        name = self.tasks[task]  # type: ignore[index]
        return [t for t in trials if (t.task or self.tasks[0]) == name]  # type: ignore[index]

    def _encode_valid(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        out = []
        for r in rows:
            try:
                out.append(self.encoder.encode(r))
            except (KeyError, ValueError):
                continue
        return np.asarray(out, dtype=np.float64).reshape(-1, self.encoder.d)

    # ---------------------------------------------------------------- models
    def _fitted(
        self, trials: Sequence[Trial], metrics: Sequence[str], strict: bool = False,
        task: int | None = None, region: trust.Region | None = None,
    ) -> FittedModel | None:
        """Fitted models of ``metrics``; with tasks, views of task number ``task`` (default
        the target) of the multi-task GPs, with that task's data (``_multitask``).
        ``region``: a trust region (without tasks): its trials are modelled, with the
        hyperparameters of its anchor's trials."""
        from axnb.engine import models as M

        if self.tasks:
            return self._multitask(trials, metrics, strict, task or 0)

        cat_dims = {i: len(v) for i, v in sorted(self.encoder.cat_dims.items())}
        models, lazy, acq, warps = {}, {}, {}, {}
        data = self._training_data(trials, metrics, None if region is None else region.keep)
        heads = None
        if region is not None and region.anchor is not None:
            heads = self._training_data(trials, metrics, region.anchor)
        for m, d in data.items():
            warp = self._warp(m, d)
            dw = M.warped(d, warp) if warp is not None else None
            # Long runs: hyperparameters of the trials of the anchor (the trust region's, or
            # the data's first ``a`` observations, ``models.refit_anchor``; its own warp),
            # refitted at a few counts only.
            if heads is not None:
                first = heads.get(m)
            else:
                a = M.refit_anchor(d.n, subset.LIMIT)
                first = M.head(d, a) if a < d.n else None
            if dw is None:
                models[m] = self.cache.get_or_fit(
                    d, cat_dims, self.seed, self.warm_start, self.model_plugin, anchor=first)
                continue
            warps[m] = warp[0]
            first_w = None
            if first is not None:
                first_w = M.warped(first, self._warp(m, first)) or first
            # Both on first access: the acquisition needs the warped GP, plots and best()
            # the GP of the data as observed (a dashboard refresh fits one GP, not two).
            acq[m] = functools.partial(self._fit_locked, dw, cat_dims, first_w)
            lazy[m] = functools.partial(self._fit_locked, d, cat_dims, first)
        if not data:
            if strict:
                raise ModelFitError("no completed trial reports the objective")
            return None
        return FittedModel(self.encoder, list(data), M.LazyModels(models, lazy), data,
                           M.LazyModels({}, acq), warps)

    def _multitask(
        self, trials: Sequence[Trial], metrics: Sequence[str], strict: bool, task: int
    ) -> FittedModel | None:
        """One ``MultiTaskGP`` per metric over every task's trials (cached like any fit); the
        ``FittedModel`` holds its view of task number ``task`` (or that task's own GP, see
        ``_task_model``, with a warped acquisition model as a plain experiment's) and that
        task's data."""
        from axnb.engine import models as M

        assert self.tasks is not None
        trials = list(trials) + self.extra_trials
        number = {name: i for i, name in enumerate(self.tasks)}
        task_of = {t.index: number.get(t.task or self.tasks[0], 0) for t in trials}
        cat_dims = {i: len(v) for i, v in sorted(self.encoder.cat_dims.items())}
        models, data, bases, acq, warps = {}, {}, {}, {}, {}
        for m, d in self._training_data(trials, metrics).items():
            both = M.with_tasks(d, task_of, len(self.tasks))
            base = self.cache.get_or_fit(both, cat_dims, self.seed, self.warm_start)
            bases[m] = base
            data[m] = M.of_task(both, task)
            models[m] = self._task_model(base, task, both, cat_dims)
            warp = self._warp(m, d)
            if warp is not None and not hasattr(models[m], "base"):
                # the task's own GP: its acquisition's is warped as in the single-task path
                dw = M.warped(_task_data(both, task), warp)
                if dw is not None:
                    warps[m] = warp[0]
                    acq[m] = functools.partial(self._fit_locked, dw, cat_dims)
        if not data:
            if strict:
                raise ModelFitError("no completed trial reports the objective")
            return None
        return FittedModel(self.encoder, list(data), models, data, M.LazyModels({}, acq), warps,
                           bases=bases)

    def _fit_locked(self, data: Any, cat_dims: dict[int, int], anchor: Any = None) -> Any:
        """The cached GP of ``data`` (with ``anchor``'s hyperparameters, see
        ``models.refit_anchor``), fitted under the engine's lock with gradients on (a lazy
        model's first access may come from inside ``torch.no_grad()``)."""
        import torch

        with self._lock, single_thread(), torch.enable_grad():
            return self.cache.get_or_fit(data, cat_dims, self.seed, self.warm_start,
                                         anchor=anchor)

    def _task_model(self, base: Any, task: int, both: Any, cat_dims: dict[int, int]) -> Any:
        """The model of one task: the multi-task GP's view of it, or the GP of that task's
        own results (``TASK_SELECTION``): "loo" when those predict themselves better (the
        sum of the leave-one-out log predictive densities of the task's results under
        each), "rank" when no other task is informative (``_informative``). An unrelated
        task then no longer drags the target's model (bench ``multitask``)."""
        from axnb.engine import models as M

        view = M.task_view(base, task)
        own = _task_data(both, task)
        if not TASK_SELECTION or own.n < TASK_SELECTION_MIN:
            return view
        try:
            if TASK_SELECTION == "rank":
                if self._informative(task, both, cat_dims):
                    return view
                return self.cache.get_or_fit(own, cat_dims, self.seed, self.warm_start)
            single = self.cache.get_or_fit(own, cat_dims, self.seed, self.warm_start)
            if M.loo_log_density(single, own.Y) > M.loo_log_density(view, own.Y):
                return single
        except Exception:  # a failed single-task fit: the multi-task view stands
            pass
        return view

    def _informative(self, task: int, both: Any, cat_dims: dict[int, int]) -> bool:
        """Whether another task's results rank this task's results better than chance: the
        other task's GP, fitted to its results alone, predicts at this task's points, and
        the fraction of pairs it orders the wrong way (``models.discordance``) is below 1/2
        by ``TASK_SELECTION_Z`` standard deviations of that fraction under independence
        (Kendall's tau). A ranking criterion, as RGPE's (Feurer et al. 2018): BO needs the
        order of the values, and a related task's values may be offset or rescaled."""
        import torch

        from axnb.engine import models as M

        own = _task_data(both, task)
        n = own.n
        limit = 0.5 - TASK_SELECTION_Z * math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1))) / 2
        for k in range(both.tasks):
            other = _task_data(both, k)
            if k == task or other.n < TASK_SELECTION_MIN:
                continue
            gp = self.cache.get_or_fit(other, cat_dims, self.seed, self.warm_start)
            with torch.no_grad():
                mean, _ = M.predict_moments(gp, torch.as_tensor(own.X))
            if M.discordance(mean.numpy(), own.Y) <= limit:
                return True
        return False

    def target_models(self, trials: Sequence[Trial]) -> dict[str, str]:
        """With tasks: metric -> what the target's model uses: "all tasks" (the multi-task
        GP's view) or "own results" (its own GP: no other task ranks the target's results
        better than chance, ``TASK_SELECTION``)."""
        fitted = self.fit(trials, self.problem.metrics) if self.tasks else None
        if fitted is None:
            return {}
        return {m: "all tasks" if hasattr(fitted.models[m], "base") else "own results"
                for m in fitted.metrics}

    def task_correlation(self, trials: Sequence[Trial]) -> dict[str, np.ndarray]:
        """metric -> the learned correlation matrix between the tasks (with tasks)."""
        from axnb.engine import models as M

        fitted = self.fit(trials, self.problem.metrics)
        out: dict[str, np.ndarray] = {}
        for m in fitted.metrics if fitted is not None else ():
            corr = M.task_correlation(fitted.bases.get(m, fitted.models[m]))
            if corr is not None:
                out[m] = corr
        return out

    def _training_data(self, trials: Sequence[Trial], metrics: Sequence[str],
                       keep: frozenset[int] | None = None) -> dict[str, Any]:
        """metric -> its ``MetricData`` (the trials of ``keep``, default the ``subset`` of a
        large experiment; metrics without data left out); ``ScaleError`` for results too
        large to model."""
        from axnb.engine import models as M

        collected = {m: M.collect(self.encoder, trials, m) for m in metrics}
        if keep is None:
            keep = self._subset(trials, collected)
        out = {}
        for m in metrics:
            d = collected[m] if keep is None else subset.restrict(collected[m], keep)
            if d.n:
                check_scale(d)
                out[m] = d
        return out

    def _subset(self, trials: Sequence[Trial], collected: Mapping[str, Any]) -> set[int] | None:
        """The trials every model is fitted to when there are more than ``subset.LIMIT``
        (None: all). Chosen from the objectives' and outcome constraints' data, so a plot of
        any metric and a suggestion see the same trials."""
        from axnb.engine import models as M

        if all(d.n <= subset.LIMIT for d in collected.values()):
            return None
        ranking = {m: collected.get(m) or M.collect(self.encoder, trials, m)
                   for m in self.problem.metrics}
        ranking = {m: d for m, d in ranking.items() if d.n} or dict(collected)
        return subset.choose(ranking, self.problem)

    def _warp(self, metric: str, data: Any) -> tuple | None:
        """``(kind, sign[, bound])`` of the outcome warp of ``metric``'s acquisition model
        (``models.warp_values``), or None.

        The objective of a single-objective problem is warped (``OUTCOME_WARP``) when it has
        no outcome constraint and no known sems (see ``models`` module doc); with several
        objectives each objective without sems is winsorized beyond its threshold
        (``MOO_WARP``).
        """
        from axnb.engine import models as M

        problem = self.problem
        objs = problem.objectives
        obj = next((o for o in objs if o.metric == metric), None)
        if obj is None or data.Yvar is not None:
            return None
        if self.model_plugin is not None or self.acquisition_plugin is not None:
            return None  # a plug-in sees the data as observed (see ``plugins``)
        if len(objs) > 1:
            if M.MOO_WARP == "none":
                return None
            ref = problem.threshold(obj)
            return M.MOO_WARP, float(obj.sign), (None if ref is None else obj.sign * ref)
        if (M.OUTCOME_WARP == "none"
                or any(c.metric == metric for c in problem.outcome_constraints)):
            return None
        return M.OUTCOME_WARP, float(obj.sign)

    def _all_metrics(self, trials: Sequence[Trial]) -> list[str]:
        out = list(self.problem.metrics)
        for t in trials:
            if t.is_data and t.result:
                out.extend(m for m in t.result if m not in out)
        return out

    def fit(
        self, trials: Sequence[Trial], metrics: list[str] | None = None, task: str | None = None
    ) -> FittedModel | None:
        """Fitted GPs for ``metrics`` (default: objectives and constraint metrics); with
        tasks, the view of ``task`` (default the target) of the models of all ``trials``.

        None when no completed trial reports any of them, or when fitting fails (warned).
        """
        with self._lock, single_thread():
            self.status = "fitting model"
            try:
                return self._fitted(trials, metrics or self.problem.metrics,
                                    task=self._task_index(task))
            except ModelFitError as e:
                warnings.warn(f"axnb: {e}", RuntimeWarning, stacklevel=2)
                return None
            finally:
                self.status = "idle"

    def predict(
        self, trials: Sequence[Trial], points: list[Mapping[str, Any]], task: str | None = None
    ) -> dict[str, tuple[list[float], list[float]]]:
        """Posterior means and sds of the mean (original units) of every reported metric (of
        ``task``, default the target, with tasks)."""
        params = [self.space.validate(p, check_constraints=False) for p in points]
        with self._lock, single_thread():
            self.status = "fitting model"
            try:
                fitted = self._fitted(trials, self._all_metrics(trials),
                                      task=self._task_index(task))
            except ScaleError as e:
                raise TrialError(f"Cannot predict: {e}.") from None
            finally:
                self.status = "idle"
            if fitted is None:
                raise TrialError("predict needs at least one completed trial with results.")
            if not params:
                return {m: ([], []) for m in fitted.metrics}
            pred = fitted.predict_unit(self.encoder.encode_many(params))
        return {m: ([float(v) for v in mu], [float(v) for v in sd])
                for m, (mu, sd) in pred.items()}

    # ---------------------------------------------------------------- results
    def best(self, trials: Sequence[Trial], task: str | None = None) -> tuple[dict, dict] | None:
        """Best arm and its values; model-based (in-sample) when the data are noisy. With
        tasks, among the trials of ``task`` (default the target), by its model."""
        with single_thread():
            return self._best(trials, self._task_index(task))

    def _best(self, trials: Sequence[Trial], task: int | None = None
              ) -> tuple[dict, dict] | None:
        mine = self._of_task(trials, task)
        obs = observed_best(self.problem, mine)
        if obs is None or not self._noisy(trials, task):
            return obs
        try:
            def predict(points: list[dict]) -> dict:
                with self._lock:
                    fitted = self._fitted(trials, self.problem.metrics, strict=True, task=task)
                assert fitted is not None
                return fitted.predict_unit(self.encoder.encode_many(points))

            return model_best(self.problem, mine, predict)
        except Exception as e:  # the observed best is a sound answer
            warnings.warn(f"axnb: model-based best failed ({e}); using the observed best.",
                          RuntimeWarning, stacklevel=2)
            return obs

    def _noisy(self, trials: Sequence[Trial], task: int | None = None) -> bool:
        ts = usable(self.problem, self._of_task(trials, task))
        sems = [t.result[m][1] for t in ts for m in self.problem.metrics]  # type: ignore
        if any(s is not None and s > 0 for s in sems):
            return True
        if all(s is not None for s in sems) or len(ts) < 3:
            return False
        try:
            with self._lock:
                fitted = self._fitted(trials, self.problem.metrics, strict=True, task=task)
        except Exception:
            return False
        assert fitted is not None
        return any(
            fitted.data[m].Yvar is None and fitted.noise_fraction(m) > NOISY_FRACTION
            for m in fitted.metrics
        )

    def pareto(self, trials: Sequence[Trial]) -> list[tuple[dict, dict]]:
        """Feasible non-dominated completed arms (observed values)."""
        return pareto_front(self.problem, trials)
