"""Teaching explorer: the model, an acquisition and the next point *as they were* at step k.

Step ``k`` is the experiment after its ``k``-th result: the first ``k`` trials the model can use
(completed, not excluded, in the search space, reporting the objective), in the order their
results arrived (completion time, then index; for an ask/tell loop that is index order). At
step ``k`` the GP is fitted to those ``k`` results only, with the engine's own fitting code,
seed and settings (a private copy of ``exp.engine`` with its own cache: exploring never evicts
the engine's fits nor blocks a running loop), so the posterior shown is the one the engine had.

Acquisitions (``ACQUISITIONS``), each on a grid of one parameter (1-D) or two (2-D), the
other parameters held at the best point of step ``k``:

==========  =====================================================================  ==========
name        values                                                                 promising
==========  =====================================================================  ==========
qLogNEI     the engine's own acquisition (``Engine.acquisition``): log of the        higher
            noisy expected improvement, on the engine's (possibly warped) GP
EI          ``log EI``: log of the analytic expected improvement over the best       higher
            observed value (BoTorch ``LogExpectedImprovement``), on the GP shown
UCB         ``mean + sqrt(beta) sd`` (maximize) or ``mean - sqrt(beta) sd``         higher /
            (minimize), in the metric's units (BoTorch's ``beta`` convention)          lower
PI          probability of beating the best observed value (0 to 1,                 higher
            BoTorch ``ProbabilityOfImprovement``)
Thompson    ``THOMPSON_SAMPLES`` sample paths of the posterior (metric units);       higher /
            ``values`` is the first, whose best point Thompson sampling would pick     lower
==========  =====================================================================  ==========

``rec.pick`` is the best grid point of the view for the acquisition shown ("the next point"
on this view). ``rec.next_trial`` is what actually came next in the history: the first trial
created after the ``k``-th result, with its source; ``rec.next_trial.engine_pick`` is True
when it is the engine's own qLogNEI suggestion from exactly these data (source "model",
nothing else running, no batch-mate), and then ``rec.acquisition.at_next_trial`` is the
engine's acquisition at that point: what its optimizer found, to compare with the grid's best.

    >>> ex = Exploration(exp)                          # doctest: +SKIP
    >>> rec = ex.record(step=5, x="lr", acquisition="EI")   # doctest: +SKIP
    >>> rec.acquisition.values.shape == rec.mean.shape      # doctest: +SKIP
    >>> print("\\n".join(rec.hyperparameters.words))       # doctest: +SKIP

Fits and grid predictions are cached per step (``Exploration``), so moving back is instant;
``compute_explore(exp, step, x, ...)`` is the one-off form, ``draw_explore(rec)`` draws a record.

Figure layout of a 1-D view (rows share the x axis; stable for every record of a 1-D view):

====  =======  ===========================================================  ====
trace type     data                                                         row
====  =======  ===========================================================  ====
0     Scatter  ``mean + 2 sd`` (band edge)                                  1
1     Scatter  ``mean - 2 sd`` (fills to trace 0)                           1
2     Scatter  posterior mean (``customdata``: sd)                          1
3     Scatter  observed points of step k ``px, values``                     1
4     Scatter  the acquisition's pick, on the mean                          1
5     Scatter  the trial that came next (0 or 1 point), on the mean         1
6     Scatter  acquisition values (Thompson: sample 1)                      2
7-8   Scatter  Thompson samples 2 and 3 (empty for other acquisitions)      2
9     Scatter  the acquisition's pick                                       2
10    Scatter  the trial that came next (0 or 1 point)                      2
====  =======  ===========================================================  ====

The bottom y axis (``layout.yaxis2``) is titled by ``rec.acquisition.label``. A 2-D view has
8 traces: for row 1 then row 2, a Heatmap (mean with sd as ``customdata``; acquisition,
its colorbar titled by the label), observed points, the pick, the next trial.
"""

from __future__ import annotations

import copy
import math
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.analysis._common import (
    BLUE,
    GREEN,
    GREY,
    MIN_MODEL_POINTS,
    ORANGE,
    PURPLE,
    RED,
    Axis,
    axis_for,
    axis_layout,
    base_layout,
    coord,
    default_slice,
    describe,
    finite_or_none,
    fmt,
    grid_rows,
    hover_text,
    is_parent,
    label,
    never_together,
    outside_constraints,
    point_rows,
    predict,
    tunable_parameter,
    where_active,
)
from axnb.space import Choice, Int, Range, Value

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.engine.models import FittedModel
    from axnb.engine.strategy import Engine
    from axnb.experiment import Experiment
    from axnb.trial import Trial

#: The acquisitions the explorer offers, the engine's first.
ACQUISITIONS = ("qLogNEI", "EI", "UCB", "PI", "Thompson")
#: UCB's default trade-off: ``sqrt(4) = 2`` sd, the edge of the drawn ``mean ± 2 sd`` band.
DEFAULT_BETA = 4.0
#: Number of posterior sample paths drawn for "Thompson".
THOMPSON_SAMPLES = 3
#: Grid points along a numeric axis: 1-D views, 2-D views (per axis).
GRID_1D, GRID_2D = 150, 35
#: Steps whose fits the explorer keeps (least recently used dropped first).
CACHE_STEPS = 64

#: One paragraph per acquisition: what it computes and what its axis means.
EXPLANATIONS = {
    "qLogNEI": (
        "<b>qLogNEI</b> (q log noisy expected improvement) is what the engine itself "
        "maximizes to pick the next trial. The <i>expected improvement</i> of a point is how "
        "much better than the best result so far it will be, on average over the model's "
        "uncertainty (0 when it cannot be better). <i>Noisy</i>: the 'best so far' is itself "
        "uncertain and is sampled from the model rather than taken from the raw results; "
        "<i>q</i>: it can score a batch of q points at once (here q = 1). The values are its "
        "natural <i>log</i>, because expected improvements span many orders of magnitude: "
        "-5 means e<sup>-5</sup> ≈ 0.007 expected improvement, -20 means practically nothing "
        "to gain. Higher (less negative) is more promising. The improvement is measured in "
        "the units the engine models: the metric's own, or, when the engine warps the results "
        "(a monotone transform that spreads out the good values; the subtitle says so), the "
        "warped ones; so its peak can differ a little from EI's on the curve above."
    ),
    "EI": (
        "<b>EI</b> (expected improvement), shown as <b>log EI</b>: the average amount by which "
        "a point beats the best observed value, over the model's uncertainty at that point "
        "(analytic formula from the mean and sd of the curve above). It is large where the "
        "mean is good (exploitation) or the uncertainty is large (exploration). The log "
        "(natural) keeps the tiny values visible: -5 means e<sup>-5</sup> ≈ 0.007 expected "
        "improvement in the metric's units; more negative = less promising."
    ),
    "UCB": (
        "<b>UCB</b> (upper confidence bound) is the optimistic edge of the band: "
        "mean + √β·sd when maximizing, mean − √β·sd (a <i>lower</i> bound) when minimizing, in "
        "the metric's own units. β sets the trade-off: β = 0 trusts the mean alone (pure "
        "exploitation: go where the model thinks the best is), a large β chases uncertainty "
        "(exploration: go where the model knows least). β = 4 is the edge of the ± 2 sd band "
        "drawn above."
    ),
    "PI": (
        "<b>PI</b> (probability of improvement): the probability that a point beats the best "
        "observed value, from 0 to 1. It ignores by how much, so it tends to exploit: a point "
        "just next to the best one is very likely to be a little better."
    ),
    "Thompson": (
        "<b>Thompson sampling</b>: draw one plausible function from the posterior (a sample "
        "path: any curve the model finds believable given the data) and evaluate where that "
        "sample is best. Each draw picks a different point, in proportion to how likely it "
        "is to be the optimum: exploration comes from the randomness. The lower panel shows "
        f"{THOMPSON_SAMPLES} sample paths, in the metric's units; the marked point is the best "
        "of the first one."
    ),
}


# --------------------------------------------------------------------- records
@dataclass(frozen=True, eq=False)
class Hyperparameters:
    """The fitted GP's hyperparameters in the parameters' and the metric's own units.

    ``lengthscales``: parameter -> lengthscale along it (parameter units; for a log
    parameter in decades, i.e. powers of 10; for a choice in neighbouring values, or None
    for an unordered one). ``signal_sd``: how far the function typically strays from its
    mean (metric units); ``noise_sd``: the noise of one observation (metric units, inferred
    or the typical sem given); ``words``: one sentence per item.
    """

    lengthscales: dict[str, float | None]
    signal_sd: float
    noise_sd: float
    noise_known: bool
    words: list[str]


@dataclass(frozen=True, eq=False)
class Acquisition:
    """An acquisition on the view's grid (shape of ``ExploreRecord.mean``).

    ``better`` is ``"higher"`` or ``"lower"`` (UCB and Thompson samples of a minimized
    metric are in its units, lower is better); ``samples`` are Thompson's sample paths
    (``values`` is the first); ``kind`` is what the engine built for "qLogNEI"
    ("feasibility" while no result satisfies the outcome constraints); ``at_next_trial``
    is the value at the next trial's point (see ``NextTrial``), None when not computed.
    """

    name: str
    values: np.ndarray
    label: str
    better: str
    kind: str
    samples: np.ndarray | None = None
    at_next_trial: float | None = None
    note: str | None = None


@dataclass(frozen=True, eq=False)
class NextTrial:
    """The trial that came after step k: its index, parameters, source, and whether it is
    the engine's own qLogNEI suggestion from exactly the data of step k (``engine_pick``).
    ``text`` says which in words."""

    index: int
    parameters: dict[str, Value]
    source: str
    engine_pick: bool
    text: str


@dataclass(frozen=True, eq=False)
class ExploreRecord:
    """Numbers of one explorer view (see module doc).

    ``x`` (and ``y`` for 2-D, else None) are the grid axes; ``mean`` and ``sd`` have shape
    ``(len(x.values),)`` or ``(len(y.values), len(x.values))`` (NaN where the parameter
    constraints fail); ``trial_index``/``px``/``py``/``values``/``hover`` are the observed
    points of step k (``py`` the second parameter's values in 2-D, else the metric values);
    ``pick`` the grid point the acquisition prefers (parameter -> value) and ``pick_index``
    its position in the grid; ``held`` the values the other parameters are held at.
    """

    metric: str
    minimize: bool
    step: int
    steps: tuple[int, int]
    x: Axis
    y: Axis | None
    mean: np.ndarray
    sd: np.ndarray
    trial_index: np.ndarray
    px: list[Any]
    py: list[Any]
    values: np.ndarray
    hover: list[str]
    acquisition: Acquisition
    pick: dict[str, Value]
    pick_index: tuple[int, ...]
    held: dict[str, Value]
    hyperparameters: Hyperparameters
    next_trial: NextTrial | None
    model_phase: bool
    notes: list[str] = field(default_factory=list)

    @property
    def explanation(self) -> str:
        """One paragraph (HTML) about the acquisition shown."""
        return EXPLANATIONS[self.acquisition.name]


# --------------------------------------------------------------------- history
def history(exp: Experiment, trials: Sequence[Trial] | None = None) -> list[Trial]:
    """The trials the explorer steps through: those the model can use (completed, not
    excluded, in the search space) that report the objective, in the order their results
    arrived (completion time, then index)."""
    metric = exp.objectives[0].metric
    trials = exp.trials if trials is None else trials
    used = [t for t in trials if t.is_data and t.result and metric in t.result]
    return sorted(used, key=lambda t: (t.completed_at or t.created_at, t.index))


def check_explorable(exp: Experiment, trials: Sequence[Trial] | None = None) -> tuple[int, int]:
    """The range of steps ``(first, last)``: ``first`` is the fewest results a model is
    fitted to, ``last`` the number of results. ``ValueError`` naming the problem and the fix
    for several objectives, no tunable parameter or too few results."""
    objs = exp.objectives
    if len(objs) != 1:
        names = ", ".join(repr(o.metric) for o in objs)
        raise ValueError(
            f"The teaching explorer follows one objective, and experiment '{exp.name}' has "
            f"{len(objs)} ({names}). Look at the trade-off with exp.plot.pareto() or "
            f"exp.dashboard(), or explore a single-objective experiment."
        )
    if not exp.space.tunable:
        raise ValueError(
            f"Experiment '{exp.name}' has no tunable parameter (every one is Fixed): there is "
            f"nothing to explore. Add a Range, Int or Choice parameter."
        )
    n = len(history(exp, trials))
    if n < MIN_MODEL_POINTS:
        raise ValueError(
            f"The explorer needs at least {MIN_MODEL_POINTS} completed trials reporting "
            f"'{objs[0].metric}' to fit a model; experiment '{exp.name}' has {n}. Complete "
            f"more trials first (exp.suggest() then exp.complete(...), or exp.run(f, "
            f"trials=...)), then call exp.explore() again."
        )
    return MIN_MODEL_POINTS, n


def _finished_by(t: Trial, when: Any) -> bool:
    return t.status != "running" and t.completed_at is not None and t.completed_at <= when


def next_trial(
    trials: Sequence[Trial], snapshot: Sequence[Trial], later: Trial | None = None
) -> NextTrial | None:
    """The first trial created after the last result of ``snapshot`` (None when there is
    none yet), and whether it is the engine's own suggestion from exactly those data."""
    used = {t.index for t in snapshot}
    last = max(t.completed_at or t.created_at for t in snapshot)
    candidates = [t for t in trials if t.index not in used and t.created_at >= last]
    if not candidates:
        return None
    nxt = min(candidates, key=lambda t: (t.created_at, t.index))
    before = [t for t in trials if t.index < nxt.index]
    after = [t for t in trials if t.index == nxt.index + 1]
    exact = (
        nxt.source == "model"
        and all(_finished_by(t, nxt.created_at) and not t.history for t in before)
        and {t.index for t in before if t.is_data} == used
        and (not after or nxt.completed_at is None or after[0].created_at >= nxt.completed_at)
    )
    what = {"init": "a space-filling start point", "model": "a model-based suggestion",
            "manual": "a trial added by hand", "fallback": "a fallback space-filling point"}
    if exact:
        text = (f"trial {nxt.index}: the engine's own suggestion from exactly these "
                f"{len(snapshot)} results (its qLogNEI optimizer)")
    elif nxt.source == "model":
        text = (f"trial {nxt.index}: a model-based suggestion made with other data (trials "
                f"still running, or a batch), so it need not match this view")
    else:
        text = f"trial {nxt.index}: {what.get(nxt.source, nxt.source)}, not this acquisition"
    return NextTrial(nxt.index, dict(nxt.parameters), nxt.source, exact, text)


# --------------------------------------------------------------------- the session
class _Past:
    """The experiment with a private engine: what the ``_common`` helpers see."""

    def __init__(self, exp: Experiment, engine: Engine) -> None:
        self._exp = exp
        self.engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exp, name)


def private_engine(exp: Experiment) -> Engine:
    """A copy of ``exp.engine`` (same space, seed, settings, fitting code) with its own model
    cache and lock, and no warm starts (so that a fit depends only on its data)."""
    from axnb.engine.models import ModelCache

    engine = copy.copy(exp.engine)
    engine.cache = ModelCache(size=8)
    engine._lock = threading.RLock()
    engine._points = {}
    engine.status = "idle"
    engine.warm_start = False
    return engine


@dataclass
class _Step:
    """What is cached for one step: the snapshot, the fit, the best point, the next trial."""

    snapshot: list[Trial]
    fitted: FittedModel
    next_trial: NextTrial | None
    acq_trials: list[Trial]
    mc_seed: int
    hyper: Hyperparameters | None = None
    qlognei: Any = None
    qkind: str = "qLogNEI"
    views: dict[tuple, Any] = field(default_factory=dict)


class Exploration:
    """Compute the explorer's records of an experiment, caching fits per step.

    ``record(step, x, y=None, acquisition="qLogNEI", beta=DEFAULT_BETA)`` returns an
    ``ExploreRecord``. The cache is keyed by the data of each step, so a correction or an
    exclusion refits; ``steps()`` re-reads the experiment (new results add steps).
    """

    def __init__(self, exp: Experiment) -> None:
        check_explorable(exp)
        self.experiment = exp
        self.metric = exp.objectives[0].metric
        self.minimize = bool(exp.objectives[0].minimize)
        self._engine: Engine | None = None
        self._space: Any = None
        self._cache: dict[tuple, _Step] = {}
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- public
    def steps(self) -> tuple[int, int]:
        """``(first, last)`` step (see ``check_explorable``)."""
        return check_explorable(self.experiment)

    def record(
        self,
        step: int,
        x: str,
        y: str | None = None,
        acquisition: str = "qLogNEI",
        beta: float = DEFAULT_BETA,
        grid: int | None = None,
    ) -> ExploreRecord:
        """The view at ``step`` along ``x`` (and ``y``) with ``acquisition`` (see module doc)."""
        exp = self.experiment
        trials = exp.trials
        first, last = check_explorable(exp, trials)
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or \
                not first <= step <= last:
            raise ValueError(
                f"step must be an integer from {first} (the fewest results a model is fitted "
                f"to) to {last} (the results so far), got {step!r}."
            )
        if acquisition not in ACQUISITIONS:
            raise ValueError(
                f"Unknown acquisition {acquisition!r}: pick one of {list(ACQUISITIONS)}."
            )
        if not isinstance(beta, (int, float)) or isinstance(beta, bool) or \
                not math.isfinite(beta) or beta < 0:
            raise ValueError(f"beta must be a number >= 0, got {beta!r}.")
        px_ = tunable_parameter(exp, x, "x parameter")
        py_ = None if y is None else tunable_parameter(exp, y, "y parameter")
        if y is not None and y == x:
            raise ValueError(f"x and y are both '{x}': pick two different parameters, or "
                             f"y=None for a 1-D view.")
        names = [x] if y is None else [x, y]
        never = never_together(exp.space, names)
        if never:
            raise ValueError(never)
        with self._lock:
            st = self._step(int(step), trials)
            view = self._view(st, names, grid)
            acq = self._acquisition(st, view, acquisition, float(beta))
        return self._assemble(int(step), (first, last), st, view, acq, px_, py_, names)

    # ---------------------------------------------------------------- steps
    def engine(self) -> Engine:
        """The private engine (re-copied when the search space changed)."""
        exp = self.experiment
        space = (repr(exp.space.to_dicts()), repr(exp.space.constraint_texts))
        if self._engine is None or space != self._space:
            self._engine = private_engine(self.experiment)
            self._space = space
            self._cache.clear()
        return self._engine

    def _step(self, step: int, trials: list[Trial]) -> _Step:
        from axnb.engine.context import derive_seed

        engine = self.engine()
        snapshot = history(self.experiment, trials)[:step]
        key = tuple((t.index, tuple(sorted((t.result or {}).items()))) for t in snapshot)
        nxt = next_trial(trials, snapshot)
        key = (key, None if nxt is None else (nxt.index, nxt.engine_pick))
        if key in self._cache:
            st = self._cache.pop(key)
            self._cache[key] = st  # most recently used last
            return st
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = engine.fit(snapshot, [self.metric])
        if fitted is None or self.metric not in fitted.models:
            raise ValueError(
                f"The GP could not be fitted to the first {step} results of '{self.metric}' "
                f"(see the warnings of exp.engine.fit); try another step."
            )
        if nxt is not None and nxt.engine_pick:
            acq_trials = [t for t in trials if t.index < nxt.index]
        else:
            acq_trials = list(snapshot)
        seed = derive_seed(engine.seed, "suggest", len(acq_trials), 1, [])
        st = _Step(snapshot, fitted, nxt, acq_trials, derive_seed(seed, "mc"))
        self._cache[key] = st
        while len(self._cache) > CACHE_STEPS:
            self._cache.pop(next(iter(self._cache)))
        return st

    # ---------------------------------------------------------------- grid
    def _view(self, st: _Step, names: list[str], grid: int | None) -> dict[str, Any]:
        vkey = (tuple(names), grid)
        if vkey in st.views:
            return st.views[vkey]
        exp = self.experiment
        past = _Past(exp, self.engine())
        space = exp.space
        n = grid or (GRID_1D if len(names) == 1 else GRID_2D)
        axes = [axis_for(space[nm], n) for nm in names]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = default_slice(past, st.snapshot, None, active=names)  # type: ignore[arg-type]
        held = {k: v for k, v in base.items() if k not in names}
        if space.conditional and any(is_parent(space, nm) for nm in names):
            rows, _, held = point_rows(past, st.snapshot, st.fitted, base,  # type: ignore
                                       list(zip(names, axes)))
        else:
            rows = grid_rows(st.fitted, base, [(nm, a.units) for nm, a in zip(names, axes)])
        mean, sd = predict(st.fitted, self.metric, rows)
        outside = outside_constraints(past, rows)  # type: ignore[arg-type]
        if outside is not None:
            mean, sd = np.where(outside, np.nan, mean), np.where(outside, np.nan, sd)
        view = {"names": names, "axes": axes, "rows": rows, "mean": mean, "sd": sd,
                "outside": outside, "held": held, "base": base}
        st.views[vkey] = view
        return view

    # ---------------------------------------------------------------- acquisitions
    def _best_observed(self, st: _Step) -> float:
        ys = [t.result[self.metric][0] for t in st.snapshot]  # type: ignore[index]
        return float(min(ys) if self.minimize else max(ys))

    def _acquisition(
        self, st: _Step, view: dict[str, Any], name: str, beta: float
    ) -> Acquisition:
        import torch

        from axnb.engine.context import derive_seed, quiet, seeded, single_thread

        rows = view["rows"]
        mean, sd = view["mean"], view["sd"]
        best = self._best_observed(st)
        metric = self.metric
        better_word = "lower" if self.minimize else "higher"
        at_next = None
        note = None
        samples = None
        kind = name
        model = st.fitted.models[metric]
        next_row = self._next_row(st)
        with single_thread(), quiet(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name == "qLogNEI":
                acqf, kind = self._qlognei(st)
                values = _evaluate(acqf, rows)
                if next_row is not None:
                    at_next = float(_evaluate(acqf, next_row)[0])
                better = "higher"
                label = ("log NEI (natural log: more negative = less promising)"
                         if kind == "qLogNEI" else
                         "log P(feasible) (more negative = less likely feasible)")
                if kind != "qLogNEI":
                    note = ("No result satisfies the outcome constraints yet: the engine "
                            "maximizes the log probability of feasibility instead.")
            elif name in ("EI", "PI"):
                from botorch.acquisition.analytic import (
                    LogExpectedImprovement,
                    ProbabilityOfImprovement,
                )

                cls = LogExpectedImprovement if name == "EI" else ProbabilityOfImprovement
                acqf = cls(model, best_f=best, maximize=not self.minimize)
                values = _evaluate(acqf, rows)
                if next_row is not None:
                    at_next = float(_evaluate(acqf, next_row)[0])
                better = "higher"
                label = ("log EI (natural log: more negative = less promising)" if name == "EI"
                         else "PI: probability of beating the best so far")
            elif name == "UCB":
                s = math.sqrt(beta)
                values = mean - s * sd if self.minimize else mean + s * sd
                better = better_word
                label = (f"mean − √β·sd, β = {beta:g} ({better_word} = more promising)"
                         if self.minimize else
                         f"mean + √β·sd, β = {beta:g} (higher = more promising)")
                if next_row is not None:
                    (m1,), (s1,) = predict(st.fitted, metric, next_row)
                    at_next = float(m1 - s * s1 if self.minimize else m1 + s * s1)
            else:  # Thompson
                X = torch.as_tensor(np.asarray(rows, dtype=np.float64))
                with torch.no_grad(), seeded(derive_seed(st.mc_seed, "thompson")):
                    post = model.posterior(X)
                    draw = post.rsample(torch.Size([THOMPSON_SAMPLES]))
                # A fully Bayesian model draws once per MCMC sample: draw k takes sample k mod s.
                draw = draw.reshape(THOMPSON_SAMPLES, -1, len(rows))
                pick = torch.arange(THOMPSON_SAMPLES)
                samples = draw[pick, pick % draw.shape[1]].numpy().copy()
                if view["outside"] is not None:
                    samples[:, view["outside"]] = np.nan
                values = samples[0]
                better = better_word
                label = f"posterior samples of {metric} ({better_word} = better)"
        values = np.asarray(values, dtype=float).reshape(-1)
        if view["outside"] is not None:
            values = np.where(view["outside"], np.nan, values)
        shape = _shape(view)
        return Acquisition(
            name=name, values=values.reshape(shape), label=label, better=better, kind=kind,
            samples=None if samples is None else samples.reshape((THOMPSON_SAMPLES, *shape)),
            at_next_trial=at_next, note=note,
        )

    def _qlognei(self, st: _Step) -> tuple[Any, str]:
        """The engine's acquisition for the data of step k (cached per step)."""
        if st.qlognei is None:
            engine = self.engine()
            from axnb.engine.context import quiet, seeded

            with seeded(st.mc_seed), quiet():
                acqf, kind, _ = engine.acquisition(st.acq_trials, st.mc_seed)
            st.qlognei, st.qkind = acqf, kind
        return st.qlognei, st.qkind

    def _next_row(self, st: _Step) -> np.ndarray | None:
        """Encoded row of the next trial, when it has a valid point in the space."""
        if st.next_trial is None:
            return None
        try:
            return st.fitted.encode(st.next_trial.parameters).reshape(1, -1)
        except (KeyError, ValueError):
            return None

    # ---------------------------------------------------------------- hyperparameters
    def hyperparameters(self, st: _Step) -> Hyperparameters:
        """The fitted hyperparameters of step ``st`` in words (cached)."""
        if st.hyper is None:
            st.hyper = describe_hyperparameters(self.experiment, st.fitted, self.metric)
        return st.hyper

    # ---------------------------------------------------------------- record
    def _assemble(
        self, step: int, steps: tuple[int, int], st: _Step, view: dict[str, Any],
        acq: Acquisition, px_: Any, py_: Any, names: list[str],
    ) -> ExploreRecord:
        shape = _shape(view)
        axes = view["axes"]
        vals = acq.values.reshape(-1)
        finite = np.where(np.isfinite(vals), vals, np.inf if acq.better == "lower" else -np.inf)
        flat = int(np.argmin(finite) if acq.better == "lower" else np.argmax(finite))
        pick_index = tuple(int(i) for i in np.unravel_index(flat, shape))
        if len(names) == 1:
            pick = {names[0]: axes[0].values[pick_index[0]]}
        else:
            pick = {names[0]: axes[0].values[pick_index[1]],
                    names[1]: axes[1].values[pick_index[0]]}
        shown = where_active(st.snapshot, names)
        metric = self.metric
        idx = np.array([t.index for t in shown], dtype=int)
        values = np.array([t.result[metric][0] for t in shown], dtype=float)  # type: ignore
        px = [coord(px_, t.parameters[names[0]]) for t in shown]
        py = ([coord(py_, t.parameters[names[1]]) for t in shown] if len(names) == 2
              else values.tolist())
        hover = [hover_text(t.index, t.parameters, {metric: t.result[metric][0]})  # type: ignore
                 for t in shown]
        notes = []
        engine = self.engine()
        model_phase = engine.in_model_phase(st.snapshot)
        if not model_phase:
            notes.append(
                f"At this step the engine was still placing its {engine.initial_trials} "
                f"space-filling start trials: the next trial did not come from an acquisition."
            )
        if acq.note:
            notes.append(acq.note)
        if st.fitted.warps.get(metric) and acq.kind == "qLogNEI":
            notes.append("qLogNEI is computed on the engine's GP of warped results "
                         f"({st.fitted.warps[metric]}), as the engine does.")
        if view["outside"] is not None and view["outside"].any():
            notes.append("blank: outside the parameter constraints")
        return ExploreRecord(
            metric=metric, minimize=self.minimize, step=step, steps=steps, x=axes[0],
            y=axes[1] if len(axes) > 1 else None, mean=view["mean"].reshape(shape),
            sd=view["sd"].reshape(shape), trial_index=idx, px=px, py=py, values=values,
            hover=hover, acquisition=acq, pick=pick, pick_index=pick_index,
            held=dict(view["held"]), hyperparameters=self.hyperparameters(st),
            next_trial=st.next_trial, model_phase=model_phase, notes=notes,
        )


def compute_explore(
    exp: Experiment,
    step: int,
    x: str,
    y: str | None = None,
    acquisition: str = "qLogNEI",
    beta: float = DEFAULT_BETA,
    grid: int | None = None,
) -> ExploreRecord:
    """One explorer record (no cache kept: use ``Exploration`` to step back and forth)."""
    return Exploration(exp).record(step, x, y, acquisition, beta, grid)


def _shape(view: dict[str, Any]) -> tuple[int, ...]:
    axes = view["axes"]
    return (len(axes[0].values),) if len(axes) == 1 else (len(axes[1].values),
                                                          len(axes[0].values))


def _evaluate(acqf: Any, rows: np.ndarray) -> np.ndarray:
    """An acquisition function at encoded ``rows``, one point per batch (q = 1)."""
    import torch

    X = np.asarray(rows, dtype=np.float64)
    out = []
    with torch.no_grad():
        for chunk in np.array_split(X, max(1, len(X) // 256)):
            t = torch.as_tensor(chunk).unsqueeze(-2)
            out.append(acqf(t).reshape(-1).numpy().copy())
    return np.concatenate(out) if out else np.zeros(0)


# --------------------------------------------------------------------- hyperparameters
def describe_hyperparameters(exp: Experiment, fitted: FittedModel, metric: str) -> Hyperparameters:
    """The GP of ``metric`` (the one drawn, on the raw results) in the units of the
    parameters and the metric: lengthscale per parameter, signal and noise size, in words."""
    import torch
    from gpytorch.likelihoods import FixedNoiseGaussianLikelihood

    from axnb.engine.models import kernel_lengthscales

    model = fitted.models[metric]
    encoder = fitted.encoder
    numeric, categorical = kernel_lengthscales(model)
    std = 1.0
    tf = getattr(model, "outcome_transform", None)
    if tf is not None and hasattr(tf, "stdvs"):
        std = float(tf.stdvs.reshape(-1)[0])
    X0 = model.train_inputs[0][..., :1, :]
    with torch.no_grad():
        prior = float(model.covar_module(X0, X0, diag=True).reshape(-1).median())
        noise = model.likelihood.noise.detach().reshape(-1)
    signal_sd = math.sqrt(max(prior, 0.0)) * std
    known = isinstance(model.likelihood, FixedNoiseGaussianLikelihood)
    noise_sd = float(torch.sqrt(noise.clamp_min(0)).median()) * std
    words, scales = [], {}
    for j, col in enumerate(encoder.columns):
        p = col.param
        if j in categorical:
            ls = categorical[j]
            corr = math.exp(-1.0 / ls) if ls > 0 else 0.0
            scales[p.name] = None
            words.append(
                f"<b>{p.name}</b> (unordered choice): two different values of {p.name} keep "
                f"about {corr:.0%} of their correlation, so the model "
                + ("treats them as much alike." if corr > 0.5 else
                   "treats them as quite different." if corr > 0.1 else
                   "learns each value on its own.")
            )
            continue
        if j not in numeric:
            continue
        ls_u = numeric[j]
        words.append(_lengthscale_words(p, ls_u, metric, scales))
    words.append(
        f"<b>signal</b>: away from the data, {metric} is expected to stray about ±"
        f"{fmt(signal_sd)} from the model's mean level (the output scale)."
    )
    if known:
        words.append(f"<b>noise</b>: known from the sems you gave (typical ±{fmt(noise_sd)}).")
    else:
        share = noise_sd**2 / (noise_sd**2 + signal_sd**2) if signal_sd > 0 else 1.0
        words.append(
            f"<b>noise</b>: inferred ±{fmt(noise_sd)} per measurement ("
            + ("practically noiseless: the mean passes through the points" if share < 0.01
               else f"{share:.0%} of the variance: the mean need not pass through the points")
            + ")."
        )
    return Hyperparameters(scales, signal_sd, noise_sd, known, words)


def _lengthscale_words(p: Any, ls_u: float, metric: str, scales: dict) -> str:
    """A sentence about the lengthscale ``ls_u`` (encoded units) of parameter ``p``."""
    if ls_u < 0.1:
        hint = f"{metric} changes quickly along it"
    elif ls_u > 1.0:
        hint = f"{metric} barely changes across its whole range: it seems to matter little"
    else:
        hint = "a smooth trend"
    if isinstance(p, Choice):
        steps = ls_u * (len(p.values) - 1)
        scales[p.name] = steps
        return (f"<b>{p.name}</b>: the model thinks {metric} changes over about "
                f"{steps:.2g} neighbouring values of {p.name} ({hint}).")
    if isinstance(p, (Range, Int)) and p.log:
        decades = ls_u * (math.log10(p.high) - math.log10(p.low))
        scales[p.name] = decades
        return (f"<b>{p.name}</b> (log scale): the model thinks {metric} changes over about a "
                f"factor of {fmt(10.0 ** decades)} in {p.name} ({decades:.2g} decades; "
                f"{hint}).")
    width = float(p.high - p.low)
    length = ls_u * width
    scales[p.name] = length
    return (f"<b>{p.name}</b>: the model thinks {metric} changes over about {fmt(length)} in "
            f"{p.name} (its range is {fmt(width)} wide; {hint}).")


# --------------------------------------------------------------------- drawing
def _better_text(minimize: bool) -> str:
    return "lower is better" if minimize else "higher is better"


def draw_explore(rec: ExploreRecord) -> go.Figure:
    """Two rows: the posterior over the view (top) and the acquisition (bottom), with the
    observed points of step k, the acquisition's pick and the trial that came next (see the
    trace tables in the module doc)."""
    from plotly.subplots import make_subplots

    acq = rec.acquisition
    two = rec.y is not None
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        row_heights=[0.58, 0.42])
    nxt = rec.next_trial
    names = [rec.x.name] + ([rec.y.name] if rec.y is not None else [])
    on_view = nxt is not None and all(n in nxt.parameters for n in names)
    pick_hover = "<br>".join(f"{k} = {fmt(v)}" for k, v in rec.pick.items())
    pick_name = f"{acq.name}'s pick on this view"
    next_name = "the trial that came next"
    if nxt is not None:
        next_name = f"trial {nxt.index}: came next" + (" (engine's pick)" if nxt.engine_pick
                                                      else f" ({nxt.source})")
    pick_marker = {"symbol": "triangle-down", "size": 15, "color": RED,
                   "line": {"color": "black", "width": 1}}
    next_marker = {"symbol": "star", "size": 15, "color": "#FFD700",
                   "line": {"color": "black", "width": 1}}
    next_hover = (nxt.text + "<br>" + describe(nxt.parameters)) if nxt is not None else ""
    if not two:
        _draw_1d(fig, rec, pick_name, pick_marker, pick_hover, next_name, next_marker,
                 next_hover, on_view)
    else:
        _draw_2d(fig, rec, pick_name, pick_marker, pick_hover, next_name, next_marker,
                 next_hover, on_view)
    where = f"{rec.x.name}" + (f" and {rec.y.name}" if rec.y is not None else "")
    title = (f"Step {rec.step} of {rec.steps[1]}: {rec.metric} ({_better_text(rec.minimize)}) "
             f"over {where}, model fitted to the first {rec.step} results")
    held = describe(rec.held)
    sub = [f"other parameters at the best point of this step: {held}"] if held else []
    sub += rec.notes
    if sub:
        title += "<br><sup>" + "<br>".join(sub) + "</sup>"
    fig.update_layout(**base_layout(title, height=640))
    fig.update_layout(margin={"t": 110 + 14 * max(0, len(sub) - 1)},
                      legend={"y": -0.08, "yanchor": "top", "x": 0.0, "xanchor": "left"})
    x_axis = axis_layout(rec.x.scale, rec.x.name, rec.x.coords)
    fig.update_xaxes(**{k: v for k, v in x_axis.items() if k != "title"})
    fig.update_xaxes(title_text=rec.x.name, row=2, col=1)
    if not two:
        fig.update_yaxes(title_text=f"{rec.metric}", row=1, col=1)
        fig.update_yaxes(title_text=_wrap(acq.label, 30), row=2, col=1)
    else:
        assert rec.y is not None
        y_axis = axis_layout(rec.y.scale, rec.y.name, rec.y.coords)
        for row in (1, 2):
            fig.update_yaxes(**y_axis, row=row, col=1)
    fig.layout.meta = {"analysis": "explore", "acquisition": acq.name, "step": rec.step,
                       "dims": 2 if two else 1}
    return fig


def _draw_1d(fig: Any, rec: ExploreRecord, pick_name: str, pick_marker: dict,
             pick_hover: str, next_name: str, next_marker: dict, next_hover: str,
             on_view: bool) -> None:
    import plotly.graph_objects as go

    acq = rec.acquisition
    cat = rec.x.is_category
    xs = rec.x.coords
    mode = "markers" if cat else "lines"
    tick = {"symbol": "line-ew-open", "size": 16, "color": BLUE, "line": {"width": 2}}
    fig.add_trace(go.Scatter(
        x=xs, y=finite_or_none(rec.mean + 2 * rec.sd), name="mean ± 2 sd", mode=mode,
        line={"width": 0}, marker=tick, showlegend=False, legendgroup="band",
        hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=xs, y=finite_or_none(rec.mean - 2 * rec.sd), name="mean ± 2 sd", mode=mode,
        line={"width": 0}, marker=tick, fill=None if cat else "tonexty",
        fillcolor="rgba(99,110,250,0.2)", legendgroup="band", hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=xs, y=finite_or_none(rec.mean), name="posterior mean", mode=mode,
        line={"color": BLUE, "width": 2}, marker={"color": BLUE, "size": 10},
        customdata=finite_or_none(rec.sd),
        hovertemplate=f"{rec.x.name}=%{{x}}<br>mean=%{{y:.4g}}<br>sd=%{{customdata:.3g}}"
                      "<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=list(rec.px), y=rec.values.tolist(), name=f"observed (first {rec.step} results)",
        mode="markers", marker={"color": "black", "size": 8},
        hovertext=rec.hover, hoverinfo="text"), row=1, col=1)
    i = rec.pick_index[0]
    fig.add_trace(go.Scatter(
        x=[xs[i]], y=finite_or_none(rec.mean[[i]]), name=pick_name, mode="markers",
        marker=pick_marker, legendgroup="pick", showlegend=False,
        hovertemplate=f"{pick_name}<br>{pick_hover}<extra></extra>"), row=1, col=1)
    nx: list[Any] = []
    ny: list[Any] = []
    nxt = rec.next_trial
    if nxt is not None and on_view:
        nx = [coord_of(rec.x, nxt.parameters[rec.x.name])]
        ny = [nearest(rec.x, rec.mean, nxt.parameters[rec.x.name])]
    fig.add_trace(go.Scatter(
        x=nx, y=ny, name=next_name, mode="markers", marker=next_marker, legendgroup="next",
        showlegend=False, hovertemplate=f"{next_hover}<extra></extra>"), row=1, col=1)
    color = {"qLogNEI": GREEN, "EI": GREEN, "PI": ORANGE, "UCB": PURPLE, "Thompson": GREY}
    samples = acq.samples if acq.samples is not None else np.zeros((0, len(xs)))
    fig.add_trace(go.Scatter(
        x=xs, y=finite_or_none(acq.values), name=acq.name if acq.samples is None
        else "Thompson sample 1", mode=mode,
        line={"color": color.get(acq.name, GREEN), "width": 2},
        marker={"color": color.get(acq.name, GREEN), "size": 10},
        hovertemplate=f"{rec.x.name}=%{{x}}<br>{acq.name}=%{{y:.4g}}<extra></extra>"),
        row=2, col=1)
    for s in range(1, THOMPSON_SAMPLES):
        have = s < len(samples)
        fig.add_trace(go.Scatter(
            x=xs if have else [], y=finite_or_none(samples[s]) if have else [],
            name=f"Thompson sample {s + 1}", mode=mode, showlegend=have,
            line={"color": GREY, "width": 1, "dash": "dot"}, opacity=0.8,
            hovertemplate=f"sample {s + 1}: %{{y:.4g}}<extra></extra>"), row=2, col=1)
    fig.add_trace(go.Scatter(
        x=[xs[i]], y=finite_or_none(acq.values[[i]]), name=pick_name, mode="markers",
        marker=pick_marker, legendgroup="pick",
        hovertemplate=f"{pick_name}<br>{pick_hover}<extra></extra>"), row=2, col=1)
    ax: list[Any] = []
    ay: list[Any] = []
    if nxt is not None and on_view:
        ax = nx
        ay = ([acq.at_next_trial] if acq.at_next_trial is not None and len(rec.held) == 0
              else [nearest(rec.x, acq.values, nxt.parameters[rec.x.name])])
    fig.add_trace(go.Scatter(
        x=ax, y=ay, name=next_name, mode="markers", marker=next_marker, legendgroup="next",
        showlegend=nxt is not None and on_view,
        hovertemplate=f"{next_hover}<extra></extra>"), row=2, col=1)


def _draw_2d(fig: Any, rec: ExploreRecord, pick_name: str, pick_marker: dict,
             pick_hover: str, next_name: str, next_marker: dict, next_hover: str,
             on_view: bool) -> None:
    import plotly.graph_objects as go

    assert rec.y is not None
    acq = rec.acquisition
    nxt = rec.next_trial
    j, i = rec.pick_index
    px, py = [rec.x.coords[i]], [rec.y.coords[j]]
    nx: list[Any] = []
    ny: list[Any] = []
    if nxt is not None and on_view:
        nx = [coord_of(rec.x, nxt.parameters[rec.x.name])]
        ny = [coord_of(rec.y, nxt.parameters[rec.y.name])]
    panels = (
        (1, rec.mean, f"mean of {rec.metric}", "Viridis", rec.minimize, 0.77, 0.55, rec.sd),
        (2, acq.values, acq.label, "Cividis", acq.better == "lower", 0.2, 0.4, None),
    )
    for row, z, title, scale, reverse, cy, clen, extra in panels:
        hover = (f"{rec.x.name}=%{{x}}<br>{rec.y.name}=%{{y}}<br>"
                 + ("mean=%{z:.4g}<br>sd=%{customdata:.3g}" if extra is not None
                    else f"{acq.name}=%{{z:.4g}}") + "<extra></extra>")
        fig.add_trace(go.Heatmap(
            x=rec.x.coords, y=rec.y.coords, z=np.where(np.isfinite(z), z, None).tolist(),
            customdata=None if extra is None else np.where(np.isfinite(extra), extra,
                                                           None).tolist(),
            colorscale=scale, reversescale=reverse, name=title, showlegend=False,
            colorbar={"y": cy, "len": clen, "thickness": 14,
                      "title": {"text": _wrap(title), "side": "right"}},
            hovertemplate=hover), row=row, col=1)
        fig.add_trace(go.Scatter(
            x=list(rec.px), y=list(rec.py), mode="markers", legendgroup="observed",
            name=f"observed (first {rec.step} results)", showlegend=row == 1,
            marker={"color": "white", "size": 8, "line": {"color": "black", "width": 1}},
            hovertext=rec.hover, hoverinfo="text"), row=row, col=1)
        fig.add_trace(go.Scatter(
            x=px, y=py, mode="markers", name=pick_name, legendgroup="pick",
            showlegend=row == 1, marker=pick_marker,
            hovertemplate=f"{pick_name}<br>{pick_hover}<extra></extra>"), row=row, col=1)
        fig.add_trace(go.Scatter(
            x=nx, y=ny, mode="markers", name=next_name, legendgroup="next",
            showlegend=row == 1 and bool(nx), marker=next_marker,
            hovertemplate=f"{next_hover}<extra></extra>"), row=row, col=1)


def _wrap(text: str, width: int = 28) -> str:
    """``text`` with line breaks (<br>) every ~``width`` characters, at spaces."""
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + len(w) + 1 > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(lines)


def coord_of(axis: Axis, value: Any) -> Any:
    """Plot coordinate of ``value`` on a grid axis (its label on a category axis)."""
    return label(value) if axis.is_category else value


def nearest(axis: Axis, values: np.ndarray, value: Any) -> float | None:
    """``values`` (along ``axis``) at the grid point nearest to ``value``."""
    if axis.is_category:
        try:
            i = axis.values.index(value)
        except ValueError:
            return None
    else:
        grid = np.asarray(axis.values, dtype=float)
        if axis.scale == "log":
            i = int(np.argmin(np.abs(np.log(grid) - math.log(float(value)))))
        else:
            i = int(np.argmin(np.abs(grid - float(value))))
    v = float(values[i])
    return v if math.isfinite(v) else None


__all__ = [
    "ACQUISITIONS",
    "DEFAULT_BETA",
    "EXPLANATIONS",
    "Acquisition",
    "Exploration",
    "ExploreRecord",
    "Hyperparameters",
    "NextTrial",
    "check_explorable",
    "compute_explore",
    "describe_hyperparameters",
    "draw_explore",
    "history",
    "next_trial",
]
