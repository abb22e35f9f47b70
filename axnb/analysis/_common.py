"""Shared pieces of the analyses: argument checks, observed data, the model, axes, styling.

Nothing here draws a whole analysis; every module in this package computes a record with these
helpers and draws it with the styling helpers at the bottom.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.space import (
    Choice,
    Fixed,
    Int,
    Parameter,
    Range,
    SearchSpace,
    Value,
    is_finite_number,
    middle_value,
)
from axnb.trial import CORRECTED, EXCLUDED

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.engine.models import FittedModel
    from axnb.experiment import Experiment
    from axnb.trial import Trial

#: Fewest completed trials reporting a metric before its model is drawn.
MIN_MODEL_POINTS = 2
#: Rows per posterior call in ``predict``.
PREDICT_CHUNK = 4096

#: Colors used throughout (plotly's default qualitative palette, named).
BLUE, RED, GREEN, PURPLE, ORANGE, GREY = (
    "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#8C8C8C",
)
FIGURE_HEIGHT = 450


# --------------------------------------------------------------------- argument checks
def resolve_metric(exp: Experiment, metric: str | None, trials: Sequence[Trial] = ()) -> str:
    """``metric`` checked against the experiment's metrics (None: the first objective)."""
    if metric is None:
        return exp.objectives[0].metric
    known = list(exp.metrics)
    for t in trials:
        known.extend(m for m in (t.result or {}) if m not in known)
    if not isinstance(metric, str) or metric not in known:
        raise ValueError(
            f"Unknown metric {metric!r}: this experiment's metrics are {known}. Pass one of "
            f"them, or metric=None for the objective '{exp.objectives[0].metric}'."
        )
    return metric


def tunable_parameter(exp: Experiment, name: Any, role: str = "parameter") -> Parameter:
    """The tunable parameter called ``name`` (ValueError for unknown or Fixed ones)."""
    tunable = [p.name for p in exp.space.tunable]
    if not isinstance(name, str) or name not in exp.space:
        raise ValueError(
            f"Unknown {role} {name!r}: the tunable parameters are {tunable}."
        )
    p = exp.space[name]
    if isinstance(p, Fixed):
        raise ValueError(
            f"Parameter '{name}' is Fixed at {p.value!r}, so there is nothing to plot along "
            f"it; pick one of {tunable}."
        )
    return p


def direction(exp: Experiment, metric: str) -> bool | None:
    """True to minimize, False to maximize, None when ``metric`` is not an objective."""
    for o in exp.objectives:
        if o.metric == metric:
            return o.minimize
    return None


def feasible(exp: Experiment, result: Mapping[str, tuple[float, Any]] | None) -> bool:
    """Whether observed means satisfy every outcome constraint."""
    if not result:
        return False
    return all(
        c.metric in result and c.satisfied(result[c.metric][0]) for c in exp.outcome_constraints
    )


def with_metric(trials: Sequence[Trial], metric: str) -> list[Trial]:
    """Completed trials (not excluded) that report ``metric``, by index."""
    return [t for t in trials if t.is_data and t.result and metric in t.result]


def excluded_with_metric(trials: Sequence[Trial], metric: str) -> list[Trial]:
    """Completed trials left out by ``exp.exclude`` that report ``metric``, by index: drawn
    hollow, used by no fit, best point nor best-so-far line. Trials outside the current
    search space (``Trial.outside``) are not among them (their values may not fit the axes)."""
    return [t for t in trials if is_excluded(t) and t.result and metric in t.result]


def is_excluded(t: Trial) -> bool:
    """Completed, excluded with ``exp.exclude`` and in the current search space."""
    return t.is_completed and t.excluded and not t.outside


def outside_with_metric(trials: Sequence[Trial], metric: str) -> list[Trial]:
    """Completed trials outside the search space since ``exp.change_parameters``
    (``Trial.outside``, excluded or not) that report ``metric``, by index: drawn greyed, used
    by no fit, best point nor best-so-far line."""
    return [t for t in trials if is_outside(t) and t.result and metric in t.result]


def is_outside(t: Trial) -> bool:
    """Completed and outside the search space since ``exp.change_parameters``."""
    return t.is_completed and t.outside


#: Longest reason shown in a hover (characters).
REASON_LIMIT = 120


def _reason(text: str | None) -> str:
    if not text:
        return ""
    text = " ".join(text.split())
    if len(text) > REASON_LIMIT:
        text = text[:REASON_LIMIT - 1] + "…"
    return html.escape(text)


def amendments(t: Trial) -> list[str]:
    """Hover lines about what was done to a finished trial: ``excluded: <reason>`` (the last
    exclusion's reason) and ``corrected (was <earlier result>): <reason>`` (the last
    correction). Reasons are HTML-escaped and shortened."""
    lines = []
    if t.excluded:
        why = next((c.reason for c in reversed(t.history) if c.action == EXCLUDED), None)
        lines.append("excluded" + (f": {_reason(why)}" if why else "")
                     + " (not used by the model)")
    corrections = [c for c in t.history if c.action == CORRECTED and c.result]
    if corrections:
        last = corrections[-1]
        old = last.result or {}
        current = t.result or {}
        changed = [m for m in old if old[m] != current.get(m)] or list(old)
        was = ", ".join(
            f"{m}={fmt(old[m][0])}" + ("" if old[m][1] is None else f" ± {fmt(old[m][1])}")
            for m in changed
        )
        times = f", {len(corrections)} corrections" if len(corrections) > 1 else ""
        lines.append(f"corrected (was {was}{times})"
                     + (f": {_reason(last.reason)}" if last.reason else ""))
    return lines


# --------------------------------------------------------------------- outside the space
#: Name of the trace of the trials outside the search space (``Trial.outside``).
OUTSIDE_NAME = "outside the space"
#: First hover line of a trial outside the search space.
OUTSIDE_TEXT = "outside the search space since a change of parameters"
#: How far beyond its bounds a numeric parameter axis reaches to show trials outside the
#: space, as a fraction of the bounds' span in the axis's scale (log10 on a log axis); a
#: value farther out is drawn at that edge and its hover says so.
BEYOND = 0.15


def why_outside(space: SearchSpace, params: Mapping[str, Any]) -> str | None:
    """Why ``params`` are not in ``space``: the first value out of its parameter's bounds or
    values, a missing value (of an active parameter, in a hierarchical space), a value of an
    inactive one, or the constraint they violate (None when they fit)."""
    on = space.active(params) if space.conditional else set(space.names)
    for p in space.parameters:
        if p.name not in params:
            if not isinstance(p, Fixed) and p.name in on:
                return f"no value for '{p.name}'"
            continue
        if p.name not in on:
            return f"'{p.name}' is given but inactive ({condition(space, [p.name])} does not hold)"
        try:
            p.validate(params[p.name])
        except ValueError as e:
            return str(e).removeprefix("Parameter ").rstrip(".")
    values = {n: params[n] for n in space.names if n in params}
    for c in space.constraints:
        try:
            c.check(values)
        except (ValueError, KeyError) as e:
            return str(e).rstrip(".")
    for pred in space.predicates:
        try:
            if pred.func is not None and not pred.satisfied(values):
                return f"violates constraint {pred.label}"
        except ValueError as e:
            return str(e).rstrip(".")
    return None


def outside_notes(exp: Experiment, t: Trial) -> list[str]:
    """Hover lines of a trial outside the search space: that it is, why (HTML-escaped,
    shortened), then ``amendments``."""
    why = why_outside(exp.space, t.parameters)
    return [OUTSIDE_TEXT + (f": {_reason(why)}" if why else "") + " (not used by the model)",
            *amendments(t)]


def place(p: Parameter, value: Any) -> tuple[Any, str | None] | None:
    """Plot coordinate of a value of ``p`` that may lie outside it (a trial outside the
    space), and a hover line when it is not drawn at its value; None when it has no place on
    ``p``'s axis (not a number on a numeric axis, not positive on a log axis).

    A choice value ``p`` no longer has becomes a category after ``p``'s values. A number
    beyond ``p``'s bounds is drawn at its value when within ``BEYOND`` of the span, at that
    edge when farther out."""
    if isinstance(p, Choice):
        return label(value), None
    if not isinstance(p, (Range, Int)) or not is_finite_number(value):
        return None
    value = float(value)
    if p.log and value <= 0:
        return None
    to, back = (math.log10, lambda u: 10.0**u) if p.log else (float, float)
    lo, hi = to(p.low), to(p.high)
    reach = BEYOND * ((hi - lo) or 1.0)
    s = to(value)
    if lo - reach <= s <= hi + reach:
        return (int(value) if isinstance(p, Int) and value.is_integer() else value), None
    edge = lo - reach if s < lo else hi + reach
    return back(edge), f"{p.name} = {fmt(value)} is off this axis: drawn at its edge"


def placed_points(
    exp: Experiment, trials: Sequence[Trial], metric: str, axes: Sequence[Parameter],
) -> Points:
    """The trials outside the search space that report ``metric``, placed on the parameter
    ``axes`` (one: ``x`` = the value, ``y`` = the metric; two: ``x``, ``y`` = the values);
    trials with a value that has no place (``place``) are left out."""
    xs: list[Any] = []
    ys: list[Any] = []
    index, hover = [], []
    for t in outside_with_metric(trials, metric):
        spots = [place(p, t.parameters[p.name]) if p.name in t.parameters else None
                 for p in axes]
        if any(s is None for s in spots):
            continue
        mean = t.result[metric][0]  # type: ignore[index]
        coords = [s[0] for s in spots if s is not None]
        moved = [s[1] for s in spots if s is not None and s[1]]
        xs.append(coords[0])
        ys.append(coords[1] if len(coords) > 1 else mean)
        index.append(t.index)
        hover.append(hover_text(t.index, t.parameters, {metric: mean},
                                [*outside_notes(exp, t), *moved]))
    return Points(xs, ys, np.array(index, dtype=int), hover)


def axis_range(axis: Axis, coords: Sequence[Any]) -> list[float] | None:
    """Range of a numeric parameter axis (plotly's units: log10 on a log axis) that shows
    ``coords`` drawn beyond its bounds (``place``), padded; None when every coordinate is
    within the bounds (plotly's autorange then) and on a category axis."""
    if axis.is_category or not axis.values:
        return None
    to = math.log10 if axis.scale == "log" else float
    lo, hi = to(float(axis.values[0])), to(float(axis.values[-1]))  # type: ignore[arg-type]
    span = (hi - lo) or 1.0
    xs = [to(float(c)) for c in coords
          if isinstance(c, (int, float)) and (axis.scale != "log" or c > 0)]
    tol = 1e-9 * span
    if not any(x < lo - tol or x > hi + tol for x in xs):
        return None
    pad = 0.04 * span
    return [min([lo, *xs]) - pad, max([hi, *xs]) + pad]


def categories(axis: Axis, coords: Sequence[Any]) -> list[Any]:
    """The coordinates of a parameter axis, then on a category axis the values of trials
    outside the space that the parameter no longer has (``coords``), in order."""
    extra = [c for c in coords if axis.is_category and c not in axis.coords]
    return list(axis.coords) + list(dict.fromkeys(extra))


def beyond_shapes(
    axis: Axis, rng: list[float] | None, coords: Sequence[Any], ref: str
) -> list[dict[str, Any]]:
    """Grey bands (layout shapes) over the parts of a parameter axis beyond its bounds where
    ``coords`` are drawn (``rng`` from ``axis_range``; none when None). ``ref``: the plot axis
    (``"x"``, ``"x2"``: vertical bands; ``"y"``, ``"y2"``: horizontal ones)."""
    if rng is None:
        return []
    along, cross = ref[0], "y" if ref[0] == "x" else "x"
    back = (lambda u: 10.0**u) if axis.scale == "log" else float
    lo, hi = float(axis.values[0]), float(axis.values[-1])  # type: ignore[arg-type]
    xs = [float(c) for c in coords if isinstance(c, (int, float))]
    bands = []
    for a, b, used in ((back(rng[0]), lo, any(x < lo for x in xs)),
                       (hi, back(rng[1]), any(x > hi for x in xs))):
        if used:
            bands.append({
                "type": "rect", f"{along}ref": ref, f"{cross}ref": f"{cross}{ref[1:]} domain",
                f"{along}0": a, f"{along}1": b, f"{cross}0": 0, f"{cross}1": 1,
                "fillcolor": "rgba(140,140,140,0.12)", "line": {"width": 0}, "layer": "below",
                "name": OUTSIDE_NAME,
            })
    return bands


# --------------------------------------------------------------------- observed points
@dataclass(frozen=True, eq=False)
class Observed:
    """Completed trials reporting a metric: index, parameters, mean and sem (NaN if unknown)."""

    trial_index: np.ndarray
    parameters: list[dict[str, Value]]
    mean: np.ndarray
    sem: np.ndarray
    feasible: np.ndarray
    #: Per trial, hover lines about its exclusion and corrections (``amendments``).
    notes: list[list[str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.trial_index)


def observed(
    exp: Experiment, trials: Sequence[Trial], metric: str, excluded: bool = False
) -> Observed:
    """The trials the fits use (``with_metric``); ``excluded=True``: those left out by
    ``exp.exclude`` instead (``excluded_with_metric``)."""
    ts = (excluded_with_metric if excluded else with_metric)(trials, metric)
    sems = [t.result[metric][1] for t in ts]  # type: ignore[index]
    return Observed(
        trial_index=np.array([t.index for t in ts], dtype=int),
        parameters=[dict(t.parameters) for t in ts],
        mean=np.array([t.result[metric][0] for t in ts], dtype=float),  # type: ignore[index]
        sem=np.array([np.nan if s is None else s for s in sems], dtype=float),
        feasible=np.array([feasible(exp, t.result) for t in ts], dtype=bool),
        notes=[amendments(t) for t in ts],
    )


@dataclass(frozen=True, eq=False)
class Points:
    """Trials drawn as markers: plot coordinates ``x``, ``y``, their trials and hover texts.
    Records use it for the excluded trials (``draw`` with ``excluded_trace``)."""

    x: list[Any]
    y: list[Any]
    trial_index: np.ndarray
    hover: list[str]

    @property
    def n(self) -> int:
        return len(self.trial_index)

    @classmethod
    def empty(cls) -> Points:
        return cls([], [], np.zeros(0, dtype=int), [])


# --------------------------------------------------------------------- the model
def fitted_model(
    exp: Experiment,
    trials: Sequence[Trial],
    metrics: Sequence[str],
    model: FittedModel | None = None,
) -> tuple[FittedModel | None, str | None]:
    """The engine's (cached) GP for ``metrics`` or ``(None, reason)`` when there is none.

    ``model`` is used as is when it already covers every metric (the dashboard passes the
    model it fitted once for several analyses).
    """
    if model is not None and all(m in model.models for m in metrics):
        return model, None
    for m in metrics:
        n = len(with_metric(trials, m))
        if n < MIN_MODEL_POINTS:
            failed = sum(t.status == "failed" for t in trials)
            excluded = len(excluded_with_metric(trials, m))
            detail = f"; {failed} failed" if failed else ""
            detail += f"; {excluded} excluded" if excluded else ""
            outside = len(outside_with_metric(trials, m))
            detail += f"; {outside} outside the search space" if outside else ""
            return None, (
                f"No model yet: {n} completed trial(s) report '{m}'{detail}; the model needs "
                f"at least {MIN_MODEL_POINTS}."
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitted = exp.engine.fit(list(trials), metrics=list(metrics))
        except Exception as e:  # a plot never raises because a model cannot be fit
            return None, f"No model: fitting failed ({type(e).__name__}: {e})."
    if fitted is None or not all(m in fitted.models for m in metrics):
        reasons = "; ".join(str(w.message) for w in caught) or "the engine returned no model"
        return None, f"No model: {reasons}."
    return fitted, None


def predict(fitted: FittedModel, metric: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and sd of the latent ``metric`` at encoded rows ``X``, original units.

    Same numbers as ``FittedModel.predict_unit`` but each row is its own batch (shape
    ``(k, 1, d)``), so only the variances are computed, not the ``k x k`` joint covariance:
    a 2,500-point contour costs milliseconds instead of seconds.
    """
    import torch

    from axnb.engine.context import quiet
    from axnb.engine.models import predict_moments

    X = np.asarray(X, dtype=np.float64).reshape(-1, fitted.d)
    model = fitted.models[metric]
    means, sds = [], []
    with torch.no_grad(), quiet():
        for start in range(0, len(X), PREDICT_CHUNK):
            Xt = torch.as_tensor(X[start:start + PREDICT_CHUNK]).unsqueeze(-2)
            mean, var = predict_moments(model, Xt)
            means.append(mean.reshape(-1).numpy().copy())
            sds.append(var.clamp_min(0.0).sqrt().reshape(-1).numpy().copy())
    if not means:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(means), np.concatenate(sds)


_middle = middle_value


def default_slice(
    exp: Experiment,
    trials: Sequence[Trial],
    slice_values: Mapping[str, Any] | None,
    active: Sequence[str] = (),
) -> dict[str, Value]:
    """A full parameterization to hold the other parameters at.

    The best point's values (for several objectives, the engine's balanced Pareto point);
    with no completed trial, the middle of each parameter's range. ``slice_values``
    overrides some or all of them.

    In a hierarchical space the result holds only active parameters and makes every
    parameter of ``active`` (the plotted ones) active: the best point when it does, else the
    observed best trial where they are all active (``best_where_active``), else the best
    point with the parents switched to values that activate them. A parameter that the
    values make active but that has no value yet takes its value from the best trial where
    it is active (``complete``).
    Raises ``ValueError`` when ``slice_values`` make a parameter of ``active`` inactive, or
    give a value to a parameter that is inactive at the values held.
    """
    if slice_values and not isinstance(slice_values, Mapping):
        raise ValueError(
            f"slice_values must be a dict of parameter -> value, got {slice_values!r}."
        )
    space = exp.space
    base: dict[str, Value] | None = None
    best = best_point(exp, trials)
    if best is not None:  # without the values of parameters no longer in the space
        base = {k: v for k, v in best.items() if k in space}
    if space.conditional:
        if base is None:
            base = {p.name: _middle(p) for p in space.parameters}
        if not set(active) <= space.active(base):
            found = best_where_active(exp, trials, active)
            if found is not None:
                base = found
            else:  # no such trial yet: switch the parents over
                for parent, values in (requirements(space, active) or {}).items():
                    if not _same(base.get(parent), values):
                        base[parent] = values[0]
    if base is None:
        base = {p.name: _middle(p) for p in space.parameters}
    if slice_values:
        unknown = [k for k in slice_values if k not in space]
        if unknown:
            raise ValueError(
                f"slice_values names unknown parameter(s) {unknown}; the parameters are "
                f"{space.names}."
            )
        for k, v in slice_values.items():
            base[k] = space[k].validate(v)
    if not space.conditional:
        return base
    base = complete(exp, trials, base)
    off = [n for n in active if n not in base]
    if off:
        raise ValueError(
            f"slice_values make '{off[0]}' inactive ({condition(space, [off[0]])} does not "
            f"hold): hold its parents at values where it is active, or leave them out of "
            f"slice_values."
        )
    unused = [k for k in slice_values or {} if k not in base]
    if unused:
        raise ValueError(
            f"slice_values gives '{unused[0]}', which is inactive at the values held "
            f"({condition(space, [unused[0]])} does not hold): add its parents' values to "
            f"slice_values, or leave it out."
        )
    return base


def best_point(exp: Experiment, trials: Sequence[Trial]) -> dict[str, Value] | None:
    """Parameters of the engine's best (or balanced Pareto) trial, None before any result."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = exp.engine.best(list(trials))
        except Exception:
            found = None
    return None if found is None else dict(found[0])


# --------------------------------------------------------------------- hierarchical spaces
def where_active(trials: Sequence[Trial], names: Sequence[str]) -> list[Trial]:
    """The trials where every parameter of ``names`` is active (has a value)."""
    return [t for t in trials if all(n in t.parameters for n in names)]


def _same(value: Any, allowed: Sequence[Any]) -> bool:
    return any(type(v) is type(value) and v == value for v in allowed)


def requirements(space: SearchSpace, names: Sequence[str]) -> dict[str, tuple[Any, ...]] | None:
    """The parent values under which every parameter of ``names`` is active: parent ->
    allowed values (the conditions of their ancestors included, intersected); ``{}`` when
    they are always active, None when no values make them active together."""
    out: dict[str, tuple[Any, ...]] = {}
    todo, seen = list(names), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for parent, values in space[name].when or ():
            if parent in out:
                values = tuple(v for v in out[parent] if _same(v, values))
                if not values:
                    return None
            out[parent] = values
            todo.append(parent)
    return {p.name: out[p.name] for p in space.parameters if p.name in out}


def _wanted(parent: str, values: Sequence[Any]) -> str:
    if len(values) == 1:
        return f"{parent} = {fmt(values[0])}"
    return f"{parent} in [{', '.join(fmt(v) for v in values)}]"


def condition(space: SearchSpace, names: Sequence[str]) -> str:
    """When the parameters of ``names`` are active, in words: ``model = 'svm'`` (ancestors'
    conditions included; empty when always active)."""
    req = requirements(space, names) or {}
    return ", ".join(_wanted(k, v) for k, v in req.items())


def active_note(space: SearchSpace, names: Sequence[str]) -> str | None:
    """``trials where C is active (model = 'svm')`` for conditional ``names`` (None when
    they are always active): what the observed points of a plot are."""
    cond = condition(space, names)
    if not cond:
        return None
    which = [n for n in names if requirements(space, [n])]
    verb = "is" if len(which) == 1 else "are"
    return f"trials where {' and '.join(which)} {verb} active ({cond})"


def never_together(space: SearchSpace, names: Sequence[str]) -> str | None:
    """Why the parameters of ``names`` can never be active at the same time (None when
    they can)."""
    if requirements(space, names) is not None:
        return None
    why = "; ".join(f"{n} applies when {condition(space, [n]) or 'always'}" for n in names)
    return (f"{' and '.join(names)} are never active together ({why}), so there is no model "
            f"over both: plot each with exp.plot.slice, or pick parameters that can be active "
            f"at the same time.")


def best_where_active(
    exp: Experiment, trials: Sequence[Trial], names: Sequence[str]
) -> dict[str, Value] | None:
    """Parameters of the observed best trial where every parameter of ``names`` is active
    (outcome constraints and several objectives as ``exp.best``), None when there is none."""
    from axnb.engine.results import observed_best

    subset = where_active([t for t in trials if not t.outside], names)
    try:
        found = observed_best(exp.engine.problem, subset)
    except Exception:
        found = None
    if found is None:
        return None
    return {k: v for k, v in found[0].items() if k in exp.space}


def complete(
    exp: Experiment, trials: Sequence[Trial], values: Mapping[str, Any],
    fallback: dict[str, Value] | None = None,
) -> dict[str, Value]:
    """``values`` as a valid point of a hierarchical space: inactive parameters left out, an
    active one without a value given that of the best trial where it is active (the middle of
    its range when there is none). ``fallback`` caches those values between calls."""
    space = exp.space
    out = dict(values)
    cache = {} if fallback is None else fallback
    for _ in range(len(space.parameters) + 1):  # each pass activates one more level
        on = space.active(out)
        missing = [p for p in space.parameters if p.name in on and p.name not in out]
        if not missing:
            break
        for p in missing:
            if p.name not in cache:
                found = best_where_active(exp, trials, [p.name])
                cache[p.name] = found[p.name] if found else _middle(p)
            out[p.name] = cache[p.name]
    on = space.active(out)
    return {p.name: out[p.name] for p in space.parameters if p.name in on and p.name in out}


def is_parent(space: SearchSpace, name: str) -> bool:
    """Whether some parameter's ``when`` names ``name``."""
    return any(parent == name for p in space.parameters for parent, _ in p.when or ())


def point_rows(
    exp: Experiment, trials: Sequence[Trial], fitted: FittedModel, base: Mapping[str, Value],
    axes: Sequence[tuple[str, Axis]],
) -> tuple[np.ndarray, np.ndarray, dict[str, Value]]:
    """``grid_rows`` for a hierarchical space where a plotted parameter is a parent: each
    point is ``base`` with the axes' values, completed (``complete``) so that the parameters
    it activates have values and the others are inactive. Returns the rows, a mask of the
    points where a plotted parameter is inactive (to blank), and every value held at some
    other point."""
    names = [n for n, _ in axes]
    if len(axes) == 1:
        (_, ax), = axes
        points = [{names[0]: v} for v in ax.values]
        units = [(u,) for u in ax.units]
    else:
        (_, ax), (_, ay) = axes
        points = [{names[0]: vx, names[1]: vy} for vy in ay.values for vx in ax.values]
        units = [(ux, uy) for uy in ay.units for ux in ax.units]
    cache: dict[str, Value] = {}
    held: dict[str, Value] = {}
    rows, off = [], []
    for point, us in zip(points, units):
        full = complete(exp, trials, {**base, **point}, cache)
        row = fitted.encode(full)
        for name, u in zip(names, us):
            if name in full:
                row[fitted.encoder.index[name]] = u
        rows.append(row)
        off.append(any(n not in full for n in names))
        if not off[-1]:  # what the drawn points hold
            held.update({k: v for k, v in full.items() if k not in names and k not in held})
    held = {p.name: held[p.name] for p in exp.space.parameters if p.name in held}
    return np.asarray(rows, dtype=np.float64), np.asarray(off, dtype=bool), held


# --------------------------------------------------------------------- axes
@dataclass(frozen=True, eq=False)
class Axis:
    """Values along one parameter.

    ``values`` are parameter values (plain Python); ``coords`` their plot coordinates (the
    values themselves on a numeric axis, their ``str`` on a category axis); ``units`` their
    encoded values; ``scale`` is ``"linear"``, ``"log"`` or ``"category"``.
    """

    name: str
    scale: str
    values: list[Value]
    coords: list[Any]
    units: np.ndarray

    @property
    def is_category(self) -> bool:
        return self.scale == "category"


def axis_for(p: Parameter, grid: int) -> Axis:
    """Grid along a parameter: ``grid`` points of a range (geometric when log), every integer
    when there are at most ``grid`` of them, every value of a choice (a category axis)."""
    if isinstance(p, Choice):
        values = list(p.values)
        units = np.linspace(0.0, 1.0, len(values))
        return Axis(p.name, "category", values, [label(v) for v in values], units)
    scale = "log" if p.log else "linear"  # type: ignore[attr-defined]
    if isinstance(p, Int):
        count = p.high - p.low + 1
        if count <= grid:
            ints = list(range(p.low, p.high + 1))
        else:
            ints = sorted({p.from_unit(u) for u in np.linspace(0.0, 1.0, grid)})
        units = np.array([p.to_unit(v) for v in ints])
        return Axis(p.name, scale, ints, list(ints), units)
    assert isinstance(p, Range)
    units = np.linspace(0.0, 1.0, grid)
    values = [p.from_unit(float(u)) for u in units]
    return Axis(p.name, scale, values, list(values), units)


def coord(p: Parameter, value: Value) -> Any:
    """Plot coordinate of a parameter value (``str`` for choices)."""
    return label(value) if isinstance(p, Choice) else value


def label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def fmt(value: Any) -> str:
    """Short text for a value in titles and hovers."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return repr(value) if isinstance(value, str) else str(value)


def describe(params: Mapping[str, Value], exclude: Sequence[str] = ()) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in params.items() if k not in exclude)


def grid_rows(
    fitted: FittedModel, base: Mapping[str, Value], axes: Sequence[tuple[str, np.ndarray]]
) -> np.ndarray:
    """Encoded rows: ``base`` everywhere, the named columns set to the (meshed) unit values.

    One axis: ``(k, d)``. Two axes ``(x, ux), (y, uy)``: ``(len(uy) * len(ux), d)`` in
    row-major order of ``(y, x)``, so predictions reshape to ``(len(uy), len(ux))``.
    """
    row = fitted.encode(dict(base))
    if len(axes) == 1:
        (name, u), = axes
        X = np.tile(row, (len(u), 1))
        X[:, fitted.encoder.index[name]] = u
        return X
    (xn, ux), (yn, uy) = axes
    X = np.tile(row, (len(uy) * len(ux), 1))
    gx, gy = np.meshgrid(ux, uy)
    X[:, fitted.encoder.index[xn]] = gx.ravel()
    X[:, fitted.encoder.index[yn]] = gy.ravel()
    return X


def outside_constraints(exp: Experiment, rows: np.ndarray) -> np.ndarray | None:
    """Boolean mask of the encoded ``rows`` that violate a linear parameter constraint; None
    when the experiment has no parameter constraints (plots then skip masking)."""
    if not exp.space.constraints:
        return None
    return ~exp.engine.repairer.uc.satisfied(np.asarray(rows, dtype=np.float64), tol=1e-9)


def hover_text(
    index: int, params: Mapping[str, Value], values: Mapping[str, Any],
    notes: Sequence[str] = (),
) -> str:
    """Hover text of an observed trial: index, metric values, parameters, then ``notes``
    (e.g. ``amendments``: excluded, corrected)."""
    lines = [f"trial {index}"]
    lines += [f"{k} = {fmt(v)}" for k, v in values.items()]
    lines += [f"{k} = {fmt(v)}" for k, v in params.items()]
    lines += list(notes)
    return "<br>".join(lines)


def arr(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


# --------------------------------------------------------------------- drawing
def axis_layout(axis_scale: str, title: str, values: Sequence[Any] = ()) -> dict[str, Any]:
    """Layout of a plot axis for a parameter axis (linear, log or category in given order).
    Numbers are labelled ``1e-4`` / ``10^-4`` style, not plotly's SI prefixes ("100μ")."""
    out: dict[str, Any] = {"title": {"text": title}, "type": axis_scale}
    if axis_scale == "log":
        out["exponentformat"] = "power"
    elif axis_scale == "linear":
        out["exponentformat"] = "e"
    if axis_scale == "category":
        out["categoryorder"] = "array"
        out["categoryarray"] = list(values)
    return out


def add_note(fig: go.Figure, text: str | None, y: float = 0.5) -> None:
    """Explain, inside the figure, why a layer (usually the model) is missing."""
    if not text:
        return
    fig.add_annotation(
        text=text, xref="paper", yref="paper", x=0.5, y=y, showarrow=False,
        font={"size": 13, "color": "#444"}, bgcolor="rgba(255,255,255,0.85)",
        bordercolor=GREY, borderwidth=1, borderpad=6, name="note",
    )


def base_layout(title: str, height: int = FIGURE_HEIGHT) -> dict[str, Any]:
    """Common layout: a title, an explicit height (JupyterLab 4 sizes outputs by it), margins."""
    return {
        "title": {"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 15}},
        "height": height,
        "margin": {"l": 60, "r": 30, "t": 70, "b": 55},
        "hovermode": "closest",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right",
                   "x": 1.0},
        "template": "plotly_white",
    }


#: Marker of excluded trials (hollow): the same in every analysis.
EXCLUDED_MARKER: dict[str, Any] = {
    "symbol": "circle-open", "color": ORANGE, "size": 10, "line": {"width": 2, "color": ORANGE},
}


def excluded_trace(points: Points, legend: bool = True) -> go.Scatter:
    """The hollow markers of excluded trials, one trace named ``"excluded"`` (it is drawn
    even when empty so that figures keep their trace layout; its legend entry only shows when
    there are points and ``legend``)."""
    import plotly.graph_objects as go

    return go.Scatter(
        x=list(points.x), y=list(points.y), mode="markers", name="excluded",
        legendgroup="excluded", showlegend=legend and points.n > 0,
        marker=dict(EXCLUDED_MARKER), hovertext=list(points.hover), hoverinfo="text",
    )


#: Marker of trials outside the search space (grey hollow diamonds): the same everywhere.
OUTSIDE_MARKER: dict[str, Any] = {
    "symbol": "diamond-open", "color": GREY, "size": 10, "line": {"width": 2, "color": GREY},
}


def outside_trace(points: Points, legend: bool = True) -> go.Scatter:
    """The greyed markers of trials outside the search space, one trace named
    ``OUTSIDE_NAME`` (drawn even when empty, like ``excluded_trace``)."""
    import plotly.graph_objects as go

    return go.Scatter(
        x=list(points.x), y=list(points.y), mode="markers", name=OUTSIDE_NAME,
        legendgroup="outside", showlegend=legend and points.n > 0,
        marker=dict(OUTSIDE_MARKER), hovertext=list(points.hover), hoverinfo="text",
    )


def finite_or_none(values: np.ndarray) -> list[float | None]:
    """A list for plotly with NaN as None (gaps)."""
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]
