"""Bandit rounds of an experiment: which arms go in the next round, with what traffic, and
which arm is best (the experiment-level side of ``axnb.engine.bandit``).

    ab = axnb.Experiment("checkout", [axnb.Choice("button", ["blue", "green", "red"]),
                                      axnb.Choice("copy", ["buy", "get"])],
                         objective="conversion", minimize=False)
    for t in ab.suggest_arms():                  # round 0: the full factorial, equal weights
        ab.complete(t.index, axnb.Rate(52, 1000))  # or (mean, sem)
    ab.suggest_arms()                            # round 1: Thompson weights
    ab.best()                                    # best arm by its shrunk estimate

A round is the set of trials sharing ``Trial.batch``; each has a ``weight`` (its traffic
share; a round's weights sum to 1). How the next round is planned (``plan_round``):

* The previous round must be finished (no arm still running): its results decide the next.
* The arms: those given (``arms=``), else the full factorial of the discrete space for the
  first round, else every arm with results in the rounds that count.
* Which rounds count (``window``): ``None`` pools every completed round of an arm (a
  stationary world: the best arm is found far sooner); ``k`` uses only the latest ``k``
  rounds, as Ax's Thompson sampler does with the latest round (Ax #1219) for a world that
  drifts. Arms of earlier rounds with no result in those rounds (outside the window, or
  failed) cannot be estimated: they come back at the minimum weight, so a world that drifts
  can bring a dropped arm back (Ax's sampler drops them for good).
* The weights: equal in the first round; then empirical-Bayes Thompson sampling
  (``axnb.engine.bandit.allocate``) over the arms with results, pruning the clearly worse.
  Arms given in ``arms=`` are all kept (at least the minimum weight); one without results
  yet gets an equal share ``1 / K`` and the arms with results share the rest.

The Thompson draws are seeded by the experiment's seed and the round number, so the same data
give the same weights in any process. ``best`` (and ``exp.best()`` once an experiment has
rounds) uses the same estimates, with the window of the latest round.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.engine.bandit import Allocation, ArmData, Bound, allocate, pool, shrink
from axnb.errors import ConstraintError, TrialError
from axnb.space import Choice, Fixed, Int, Value

if TYPE_CHECKING:
    from axnb.experiment import Experiment
    from axnb.trial import Trial

#: Most arms a round may have (the full factorial of a larger space is refused).
MAX_ARMS = 256

ArmKey = tuple[tuple[str, Any], ...]


def arm_key(parameters: Mapping[str, Value]) -> ArmKey:
    """A hashable identity of an arm: its parameters, sorted by name, with their types (so
    that ``1`` and ``True`` and ``1.0`` are different arms)."""
    return tuple(sorted((k, (type(v).__name__, v)) for k, v in parameters.items()))


def arm_label(parameters: Mapping[str, Value], names: Sequence[str]) -> str:
    """A short label of an arm for plots and tables: its values joined by " · "."""
    return " · ".join(str(parameters[n]) for n in names if n in parameters)


def full_factorial(exp: Experiment) -> list[dict[str, Value]]:
    """Every combination of the discrete parameters that satisfies the parameter constraints.

    Raises ``ValueError`` naming the problem for a continuous parameter or a space larger than
    ``MAX_ARMS``.
    """
    levels: list[list[Value]] = []
    size = 1
    for p in exp.space.parameters:
        if isinstance(p, Choice):
            values = list(p.values)
        elif isinstance(p, Fixed):
            values = [p.value]
        elif isinstance(p, Int):
            values = list(range(int(p.low), int(p.high) + 1))
        else:
            raise ValueError(
                f"Parameter '{p.name}' is continuous, so the arms of a bandit round cannot be "
                f"enumerated: make it an axnb.Choice of the levels to test, or give the arms "
                f"yourself, suggest_arms(arms=[{{...}}, ...])."
            )
        size *= len(values)
        if size > MAX_ARMS:
            raise ValueError(
                f"The full factorial of this space has more than {MAX_ARMS} arms: give the "
                f"arms to test with suggest_arms(arms=[...]), or fewer levels."
            )
        levels.append(values)
    names = exp.space.names
    arms = []
    for combo in itertools.product(*levels):
        try:
            arms.append(exp.space.validate(dict(zip(names, combo))))
        except ConstraintError:
            continue
    if not arms:
        raise ValueError("No arm of the full factorial satisfies the parameter constraints.")
    return arms


@dataclass(frozen=True, eq=False)
class ArmEstimates:
    """Estimates of the arms with results in the rounds that count (in first-seen order).

    ``arms`` are the parameters, ``data[metric]`` each arm's pooled data, ``allocation`` the
    shrunk estimates and Thompson weights of the objective (None with no arm estimable),
    ``window`` the rounds pooled (None: all) and ``rounds`` their batch numbers.
    """

    arms: list[dict[str, Value]]
    data: dict[str, list[ArmData]]
    allocation: Allocation | None
    window: int | None
    rounds: list[int]


def batches(trials: Iterable[Trial]) -> dict[int, list[Trial]]:
    """Bandit trials grouped by round number, in order."""
    out: dict[int, list[Trial]] = {}
    for t in trials:
        if t.batch is not None:
            out.setdefault(t.batch, []).append(t)
    return dict(sorted(out.items()))


def estimate(
    exp: Experiment,
    trials: Sequence[Trial],
    window: int | None = None,
    *,
    arms: Sequence[Mapping[str, Value]] | None = None,
    seed_round: int | None = None,
) -> ArmEstimates:
    """Pool each arm's completed results over the counted rounds and allocate the next
    round's traffic among the arms (all with results, or those of ``arms`` with results: none
    of those is pruned, since they were asked for)."""
    objective = exp.objective
    metrics = [objective.metric] + [c.metric for c in exp.outcome_constraints]
    rounds = batches(trials)
    completed = [b for b, ts in rounds.items() if any(t.is_data for t in ts)]
    counted = completed if window is None else completed[-window:]
    per_arm: dict[ArmKey, dict[str, list[tuple[float, float, tuple[int, int] | None]]]] = {}
    params: dict[ArmKey, dict[str, Value]] = {}
    for b in counted:
        for t in rounds[b]:
            if not t.is_data or not t.result or objective.metric not in t.result:
                continue
            key = arm_key(t.parameters)
            params.setdefault(key, dict(t.parameters))
            slot = per_arm.setdefault(key, {m: [] for m in metrics})
            for m in metrics:
                if m in t.result and t.result[m][1] is not None:
                    counts = (t.counts or {}).get(m)
                    slot[m].append((t.result[m][0], t.result[m][1], counts))
    keys = [k for k in per_arm if all(per_arm[k][m] for m in metrics)]
    if arms is not None:
        wanted = {arm_key(a) for a in arms}
        keys = [k for k in keys if k in wanted]
    data = {m: [pool(per_arm[k][m]) for k in keys] for m in metrics}
    allocation = None
    if keys:
        bounds = [
            (Bound(c.metric, c.op == "<=", c.bound), data[c.metric])
            for c in exp.outcome_constraints
        ]
        seed = np.random.SeedSequence(
            [exp.seed or 0, len(rounds) if seed_round is None else seed_round]
        ).generate_state(1)[0]
        allocation = allocate(data[objective.metric], not objective.minimize, bounds,
                              seed=int(seed), **({} if arms is None else {"prune": 0.0}))
    return ArmEstimates([params[k] for k in keys], data, allocation, window, counted)


@dataclass(frozen=True)
class PlannedArm:
    """One arm of the next round: its parameters, traffic share and trial source."""

    parameters: dict[str, Value]
    weight: float
    source: str


def plan_round(
    exp: Experiment,
    trials: Sequence[Trial],
    arms: Sequence[Mapping[str, Any]] | None = None,
    window: int | None = None,
) -> list[PlannedArm]:
    """The arms and weights of the next round (see module doc); raises ``ValueError``
    subclasses that say what to do when a round cannot be planned."""
    if exp.is_multi_objective:
        raise ValueError(
            f"Bandit rounds optimize one objective; experiment '{exp.name}' has several "
            f"{[o.metric for o in exp.objectives]}. Use one objective and bound the others "
            f"with outcome_constraints=."
        )
    chosen = None if arms is None else _given_arms(exp, arms)
    rounds = batches(trials)
    if rounds:
        last, members = next(reversed(rounds.items()))
        running = [t.index for t in members if t.is_running]
        if running:
            raise TrialError(
                f"Round {last} still has {len(running)} running arm(s) (trials {running}): "
                f"complete them (or fail / abandon them) before the next round, whose weights "
                f"depend on those results."
            )
    if chosen is not None:
        source = "manual"
    elif not rounds:
        chosen = full_factorial(exp)
        source = "init"
    else:
        source = "model"
    if not rounds:
        return [PlannedArm(a, 1.0 / len(chosen), source) for a in chosen]  # type: ignore[arg-type]
    est = estimate(exp, trials, window, arms=chosen)
    if chosen is None:
        if est.allocation is None:
            raise TrialError(
                "No arm has a completed result in the rounds that count"
                + ("" if window is None else f" (window={window})")
                + ": complete the last round's arms first."
            )
        planned = [
            PlannedArm(a, float(w), source)
            for a, w in zip(est.arms, est.allocation.weights)
            if w > 0
        ]
        return _with_absent_arms(planned, est, trials)
    estimated = {arm_key(a): float(w) for a, w in
                 zip(est.arms, est.allocation.weights if est.allocation else [])}
    new_share = 1.0 / len(chosen)
    n_new = sum(arm_key(a) not in estimated for a in chosen)
    rest = 1.0 - n_new * new_share
    planned = []
    for a in chosen:
        w = estimated.get(arm_key(a))
        planned.append(PlannedArm(a, new_share if w is None else rest * w, source))
    planned = [p for p in planned if p.weight > 0]
    total = math.fsum(p.weight for p in planned)
    return [PlannedArm(p.parameters, p.weight / total, p.source) for p in planned]


def _with_absent_arms(
    planned: list[PlannedArm], est: ArmEstimates, trials: Sequence[Trial]
) -> list[PlannedArm]:
    """Arms of earlier rounds without a result in the counted rounds (outside the window, or
    failed) come back at the minimum weight: with ``window=k`` a world that drifts can bring
    a dropped arm back, and a failed arm gets another chance."""
    from axnb.engine import bandit

    known = {arm_key(a) for a in est.arms}
    absent: dict[ArmKey, dict[str, Value]] = {}
    for t in trials:
        key = arm_key(t.parameters)
        if t.batch is not None and key not in known:
            absent.setdefault(key, dict(t.parameters))
    share = min(bandit.MIN_WEIGHT, 1.0 / (len(planned) + len(absent))) if absent else 0.0
    if share <= 0:
        return planned
    rest = 1.0 - share * len(absent)
    return [PlannedArm(p.parameters, p.weight * rest, p.source) for p in planned] + [
        PlannedArm(a, share, "model") for a in absent.values()
    ]


def _given_arms(exp: Experiment, arms: Sequence[Mapping[str, Any]]) -> list[dict[str, Value]]:
    if isinstance(arms, Mapping) or not isinstance(arms, Sequence) or not arms:
        raise ValueError(
            "arms must be a non-empty list of parameter dicts, e.g. "
            "suggest_arms(arms=[{'button': 'blue'}, {'button': 'red'}])."
        )
    if len(arms) > MAX_ARMS:
        raise ValueError(f"A round may have at most {MAX_ARMS} arms, got {len(arms)}.")
    out, seen = [], set()
    for a in arms:
        checked = exp.space.validate(a)
        key = arm_key(checked)
        if key in seen:
            raise ValueError(f"Arm {checked} is given twice: each arm appears once in a round.")
        seen.add(key)
        out.append(checked)
    return out


def latest_window(rounds: Sequence[Mapping[str, Any]]) -> int | None:
    """The ``window`` of the latest round record (None: pool every round)."""
    return rounds[-1].get("window") if rounds else None


def best_arm(
    exp: Experiment, trials: Sequence[Trial], window: int | None
) -> tuple[dict[str, Value], dict[str, tuple[float, float | None]]]:
    """The arm with the best shrunk (empirical-Bayes) estimate among those that meet the
    outcome constraints, with its shrunk ``(mean, sem)`` of each metric."""
    est = estimate(exp, trials, window)
    if est.allocation is None:
        raise TrialError(
            f"Experiment '{exp.name}' has no completed arm with a result to choose the best "
            f"from: complete a round first."
        )
    i = est.allocation.best
    values: dict[str, tuple[float, float | None]] = {
        exp.objective.metric: (float(est.allocation.shrunk[i]),
                               float(est.allocation.shrunk_sem[i]))
    }
    for c in exp.outcome_constraints:
        if c.metric not in values:
            d = est.data[c.metric]
            mu, sd = shrink([a.mean for a in d], [a.sem for a in d])
            values[c.metric] = (float(mu[i]), float(sd[i]))
    return dict(est.arms[i]), values


__all__ = [
    "MAX_ARMS",
    "ArmEstimates",
    "PlannedArm",
    "arm_key",
    "arm_label",
    "batches",
    "best_arm",
    "estimate",
    "full_factorial",
    "latest_window",
    "plan_round",
]
