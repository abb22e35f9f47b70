"""Trials, their statuses and results, and objectives.

A trial is one evaluation of one parameterization. Results are ``{metric: (mean, sem)}`` with
``sem`` ``None`` when the noise is unknown. ``normalize`` turns everything users pass to
``complete`` (a float, ``(mean, sem)``, ``Rate(successes, trials)``, a dict of those, numpy /
torch scalars) into that form, plus the counts of the rates (kept so that bandit rounds pool
exactly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from axnb.errors import TrialError
from axnb.space import Value, check_text, plain, short_repr

RUNNING, COMPLETED, FAILED, ABANDONED = "running", "completed", "failed", "abandoned"
STATUSES = (RUNNING, COMPLETED, FAILED, ABANDONED)
SOURCES = ("init", "model", "manual", "fallback")
#: What a change to a finished trial did (``Trial.history``).
EXCLUDED, INCLUDED, CORRECTED = "excluded", "included", "corrected"
ACTIONS = (EXCLUDED, INCLUDED, CORRECTED)

Result = dict[str, tuple[float, float | None]]
Counts = dict[str, tuple[int, int]]
#: Prior successes and failures of the Agresti–Coull standard error of a rate (Ax's default).
AC_PRIOR = 2
#: Largest count a ``Rate`` takes: integers up to 2**53 are exact as floats.
MAX_COUNT = 2**53


def agresti_coull_sem(successes: float, trials: float, prior: int = AC_PRIOR) -> float:
    """Standard error of a rate with ``prior`` pseudo-successes and pseudo-failures added to
    the proportion (Agresti & Coull, The American Statistician 52(2), 1998): positive even at
    0 or all successes, and close to ``sqrt(p (1 - p) / n)`` once ``n`` is large."""
    p = (successes + prior) / (trials + 2 * prior)
    return math.sqrt(p * (1 - p) / trials)


@dataclass(frozen=True)
class Rate:
    """A conversion-type result: ``successes`` out of ``trials`` units.

        ab.complete(t.index, axnb.Rate(52, 1000))          # or {"conversion": axnb.Rate(52, 1000)}

    It is recorded as ``(mean, sem)`` with ``mean = successes / trials`` and the Agresti–Coull
    standard error, and the counts are kept on the trial (``Trial.counts``) so that bandit
    rounds pool exactly.
    """

    successes: int
    trials: int

    def __post_init__(self) -> None:
        for what in ("successes", "trials"):
            v = plain(getattr(self, what))
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_COUNT:
                raise TrialError(
                    f"Rate {what} must be a non-negative integer up to 2**53, got "
                    f"{short_repr(v)}: give axnb.Rate(successes, trials), e.g. "
                    f"axnb.Rate(52, 1000)."
                )
            object.__setattr__(self, what, v)
        if self.trials == 0 or self.successes > self.trials:
            raise TrialError(
                f"Rate({self.successes}, {self.trials}) is not a rate: trials must be > 0 and "
                f"successes <= trials."
            )

    @property
    def mean(self) -> float:
        return self.successes / self.trials

    @property
    def sem(self) -> float:
        return agresti_coull_sem(self.successes, self.trials)


def now() -> datetime:
    """The current time, timezone-aware UTC (what trials record)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Change:
    """One change to a finished trial, kept in ``Trial.history``: ``action`` is
    ``"excluded"``, ``"included"`` or ``"corrected"``; ``at`` when, ``by`` who (the user
    name, when known) and ``reason`` why. For a correction, ``result`` (and ``counts``) is the
    result it replaced."""

    action: str
    at: datetime
    reason: str | None = None
    result: Result | None = None
    counts: Counts | None = None
    by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The change's JSON form (keys without a value are left out)."""
        d: dict[str, Any] = {"action": self.action, "at": self.at.isoformat()}
        if self.by is not None:
            d["by"] = self.by
        if self.reason is not None:
            d["reason"] = self.reason
        if self.result is not None:
            d["result"] = _result_json(self.result)
        if self.counts:
            d["counts"] = _counts_json(self.counts)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Change:
        return cls(action=str(d["action"]), at=datetime.fromisoformat(d["at"]),
                   reason=d.get("reason"), result=_result_from(d.get("result")),
                   counts=_counts_from(d.get("counts")), by=d.get("by"))


def _result_json(result: Result) -> dict[str, list[float | None]]:
    return {m: [mean, sem] for m, (mean, sem) in result.items()}


def _result_from(raw: Mapping[str, Any] | None) -> Result | None:
    if raw is None:
        return None
    return {m: (float(v[0]), None if v[1] is None else float(v[1])) for m, v in raw.items()}


def _counts_json(counts: Counts) -> dict[str, list[int]]:
    return {m: [s, n] for m, (s, n) in counts.items()}


def _counts_from(raw: Mapping[str, Any] | None) -> Counts | None:
    return {m: (int(v[0]), int(v[1])) for m, v in raw.items()} if raw else None


@dataclass
class Trial:
    """One evaluation: parameters, status, result and where the parameters came from.

    ``source`` is ``"init"`` (space-filling start), ``"model"`` (Bayesian optimization),
    ``"manual"`` (attached or edited by a person) or ``"fallback"`` (space-filling point used
    because the model could not be fit). ``reason`` holds the failure reason or traceback.
    ``batch`` and ``weight`` are the bandit round and its traffic share (None for ordinary
    trials); ``counts`` holds ``{metric: (successes, trials)}`` of results given as ``Rate``.
    ``excluded``: left out of the model, ``best()`` and the fits of plots (``exp.exclude``);
    ``history``: the changes made to the trial once finished, oldest first (``Change``).
    ``outside``: its values are not in the search space since ``exp.change_parameters``
    (derived from the file, not saved); left out of the model like an excluded trial.
    """

    index: int
    parameters: dict[str, Value]
    status: str = RUNNING
    source: str = "manual"
    result: Result | None = None
    created_at: datetime = field(default_factory=now)
    completed_at: datetime | None = None
    reason: str | None = None
    batch: int | None = None
    weight: float | None = None
    counts: Counts | None = None
    excluded: bool = False
    history: list[Change] = field(default_factory=list)
    #: The task the trial was run on (``Experiment(tasks=[...])``); None without tasks.
    task: str | None = None
    #: Not in the search space since ``exp.change_parameters`` (derived, not saved).
    outside: bool = field(default=False, compare=False, repr=False)

    @property
    def is_running(self) -> bool:
        return self.status == RUNNING

    @property
    def is_completed(self) -> bool:
        return self.status == COMPLETED

    @property
    def is_data(self) -> bool:
        """Completed, not excluded and in the current search space: the trials the model,
        ``best()`` and the fits of plots use."""
        return self.status == COMPLETED and not self.excluded and not self.outside

    def to_dict(self) -> dict[str, Any]:
        """The trial's JSON form (schema 2: optional keys are written only when set)."""
        d: dict[str, Any] = {
            "index": self.index,
            "parameters": dict(self.parameters),
            "status": self.status,
            "source": self.source,
            "result": None if self.result is None else _result_json(self.result),
            "created_at": self.created_at.isoformat(),
            "completed_at": None if self.completed_at is None else self.completed_at.isoformat(),
            "reason": self.reason,
        }
        if self.batch is not None:
            d["batch"] = self.batch
            d["weight"] = self.weight
        if self.counts:
            d["counts"] = _counts_json(self.counts)
        if self.excluded:
            d["excluded"] = True
        if self.history:
            d["history"] = [c.to_dict() for c in self.history]
        if self.task is not None:
            d["task"] = self.task
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Trial:
        return cls(
            index=int(d["index"]),
            parameters=dict(d["parameters"]),
            status=str(d["status"]),
            source=str(d["source"]),
            result=_result_from(d.get("result")),
            created_at=datetime.fromisoformat(d["created_at"]),
            completed_at=(
                None if d.get("completed_at") is None
                else datetime.fromisoformat(d["completed_at"])
            ),
            reason=d.get("reason"),
            batch=None if d.get("batch") is None else int(d["batch"]),
            weight=None if d.get("weight") is None else float(d["weight"]),
            counts=_counts_from(d.get("counts")),
            excluded=bool(d.get("excluded", False)),
            history=[Change.from_dict(c) for c in d.get("history") or ()],
            task=d.get("task"),
        )


@dataclass(frozen=True)
class Objective:
    """A metric to minimize or maximize."""

    metric: str
    minimize: bool = True

    @property
    def sign(self) -> float:
        """+1 for maximize, -1 for minimize: ``sign * value`` is always "bigger is better"."""
        return -1.0 if self.minimize else 1.0


def _number(value: Any, what: str) -> float:
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TrialError(
            f"{what} must be a number, got {short_repr(value)} ({type(value).__name__})."
        )
    try:
        value = float(value)
    except OverflowError:
        raise TrialError(
            f"{what} is {short_repr(value)}, too large for a float (beyond about ±1.8e308): "
            f"results must be finite floats; rescale the metric (e.g. report its log)."
        ) from None
    if not math.isfinite(value):
        raise TrialError(
            f"{what} is {value!r}: results must be finite. If the evaluation failed, call "
            f"exp.fail(index, reason=...) instead."
        )
    return value


def _mean_sem(value: Any, metric: str) -> tuple[float, float | None]:
    if isinstance(value, Rate):
        return value.mean, value.sem
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise TrialError(
                f"Result for '{metric}' must be a number or (mean, sem), got {value!r}."
            )
        mean = _number(value[0], f"Mean of '{metric}'")
        if value[1] is None:
            return mean, None
        sem = _number(value[1], f"SEM of '{metric}'")
        if sem < 0:
            raise TrialError(f"SEM of '{metric}' is negative ({sem}); it must be >= 0.")
        return mean, sem
    return _number(value, f"Result for '{metric}'"), None


def normalize_result(raw: Any, metrics: list[str], default_metric: str) -> Result:
    """``normalize`` without the counts."""
    return normalize(raw, metrics, default_metric)[0]


def normalize(
    raw: Any, metrics: list[str], default_metric: str
) -> tuple[Result, Counts | None]:
    """Turn what a user passes to ``complete`` into ``{metric: (mean, sem)}`` and the counts of
    the metrics given as ``Rate`` (None when there are none).

    Accepts a number, ``(mean, sem)``, ``Rate(successes, trials)``, or a dict ``{metric:
    number | (mean, sem) | Rate}``; numpy and torch scalars and 0-d arrays too. Every metric of
    the experiment must be present; extra metrics are kept (they can be plotted).
    """
    if isinstance(raw, Rate):
        raw = {default_metric: raw}
    if isinstance(raw, Mapping):
        result = {}
        for k, v in raw.items():
            k = plain(k)
            if not isinstance(k, str) or not k.strip():
                raise TrialError(
                    f"Metric names must be non-empty strings, got {short_repr(k)}."
                )
            check_text(k, "Metric name", TrialError)
            result[k] = _mean_sem(v, k)
    else:
        shape = getattr(raw, "shape", None)
        if shape is not None and tuple(shape) not in ((), (1,), (2,)):
            raise TrialError(
                f"Result has shape {tuple(shape)}: give a scalar, (mean, sem) or a dict "
                f"{{metric: value}}."
            )
        if shape is not None and tuple(shape) == (2,):
            raw = tuple(raw.tolist())
        elif shape is not None and tuple(shape) == (1,):
            raw = raw.reshape(()) if hasattr(raw, "reshape") else raw[0]
        if len(metrics) > 1:
            raise TrialError(
                f"This experiment has several metrics {metrics}: complete with a dict "
                f"{{metric: value or (mean, sem)}}."
            )
        result = {default_metric: _mean_sem(raw, default_metric)}
    missing = [m for m in metrics if m not in result]
    if missing:
        raise TrialError(
            f"Result lacks metric(s) {missing}; it has {sorted(result)}. Give every metric of "
            f"the experiment: {metrics}."
        )
    counts = (
        {plain(k): (v.successes, v.trials) for k, v in raw.items() if isinstance(v, Rate)}
        if isinstance(raw, Mapping) else {}
    )
    return result, counts or None
