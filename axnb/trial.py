"""Trials, their statuses and results, and objectives.

A trial is one evaluation of one parameterization. Results are ``{metric: (mean, sem)}`` with
``sem`` ``None`` when the noise is unknown. ``normalize_result`` turns everything users pass to
``complete`` (a float, ``(mean, sem)``, a dict, numpy / torch scalars) into that form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from axnb.errors import TrialError
from axnb.space import Value, plain

RUNNING, COMPLETED, FAILED, ABANDONED = "running", "completed", "failed", "abandoned"
STATUSES = (RUNNING, COMPLETED, FAILED, ABANDONED)
SOURCES = ("init", "model", "manual", "fallback")

Result = dict[str, tuple[float, float | None]]


def now() -> datetime:
    """The current time, timezone-aware UTC (what trials record)."""
    return datetime.now(UTC)


@dataclass
class Trial:
    """One evaluation: parameters, status, result and where the parameters came from.

    ``source`` is ``"init"`` (space-filling start), ``"model"`` (Bayesian optimization),
    ``"manual"`` (attached or edited by a person) or ``"fallback"`` (space-filling point used
    because the model could not be fit). ``reason`` holds the failure reason or traceback.
    """

    index: int
    parameters: dict[str, Value]
    status: str = RUNNING
    source: str = "manual"
    result: Result | None = None
    created_at: datetime = field(default_factory=now)
    completed_at: datetime | None = None
    reason: str | None = None

    @property
    def is_running(self) -> bool:
        return self.status == RUNNING

    @property
    def is_completed(self) -> bool:
        return self.status == COMPLETED

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "parameters": dict(self.parameters),
            "status": self.status,
            "source": self.source,
            "result": (
                None if self.result is None
                else {m: [mean, sem] for m, (mean, sem) in self.result.items()}
            ),
            "created_at": self.created_at.isoformat(),
            "completed_at": None if self.completed_at is None else self.completed_at.isoformat(),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Trial:
        result = d.get("result")
        return cls(
            index=int(d["index"]),
            parameters=dict(d["parameters"]),
            status=str(d["status"]),
            source=str(d["source"]),
            result=(
                None if result is None
                else {m: (float(v[0]), None if v[1] is None else float(v[1]))
                      for m, v in result.items()}
            ),
            created_at=datetime.fromisoformat(d["created_at"]),
            completed_at=(
                None if d.get("completed_at") is None
                else datetime.fromisoformat(d["completed_at"])
            ),
            reason=d.get("reason"),
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
        raise TrialError(f"{what} must be a number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value):
        raise TrialError(
            f"{what} is {value!r}: results must be finite. If the evaluation failed, call "
            f"exp.fail(index, reason=...) instead."
        )
    return value


def _mean_sem(value: Any, metric: str) -> tuple[float, float | None]:
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
    """Turn what a user passes to ``complete`` into ``{metric: (mean, sem)}``.

    Accepts a number, ``(mean, sem)``, or a dict ``{metric: number | (mean, sem)}``; numpy and
    torch scalars and 0-d arrays too. Every metric of the experiment must be present; extra
    metrics are kept (they can be plotted).
    """
    if isinstance(raw, Mapping):
        result = {}
        for k, v in raw.items():
            if not isinstance(k, str):
                raise TrialError(f"Metric names must be strings, got {k!r}.")
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
    return result
