"""One task of a combined experiment (``Experiment(tasks=[...])``), as the analyses see it.

``for_task(exp, task)`` is the experiment seen from one task: its ``trials`` are that task's,
and its ``engine`` answers ``fit``, ``best`` and ``acquisition`` with the engine's view of
that task of the multi-task models, which are fitted to every task's trials. Every analysis
(``compute_*``) then draws the task's observations over the task's model without knowing
about tasks:

    >>> compute_contour(for_task(exp, "simulator"), "x1", "x2")   # doctest: +SKIP

Without tasks ``for_task(exp, None)`` is ``exp`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from axnb.experiment import Experiment
    from axnb.trial import Trial


def for_task(exp: Any, task: str | None) -> Any:
    """``exp`` seen from ``task`` (default: the target); ``exp`` itself without tasks.
    An unknown task, or a task for an experiment without tasks, raises ``ValueError``."""
    name = exp._task(task)  # checks the name; None without tasks
    if name is None:
        return exp
    return TaskView(exp, name)


class TaskView:
    """The experiment from one task's side (see module doc); anything else is the
    experiment's own attribute."""

    def __init__(self, exp: Experiment, task: str) -> None:
        self._exp = exp
        self.task = task

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exp, name)

    def _mine(self, trials: Sequence[Trial]) -> list[Trial]:
        target = self._exp.tasks[0]  # type: ignore[index]
        return [t for t in trials if (t.task or target) == self.task]

    @property
    def trials(self) -> list[Trial]:
        return self._mine(self._exp.trials)

    @property
    def engine(self) -> _EngineView:
        return _EngineView(self._exp, self.task)

    def best(self) -> Any:
        return self._exp.engine.best(self._exp.trials, self.task)

    def predict(self, points: list[dict[str, Any]]) -> Any:
        return self._exp.engine.predict(self._exp.trials, points, self.task)


class _EngineView:
    """The engine answering for one task, from every trial of the experiment (the trials
    the analyses pass are the task's own: the model needs all of them)."""

    def __init__(self, exp: Experiment, task: str) -> None:
        self._exp = exp
        self._engine = exp.engine
        self.task = task

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def fit(self, trials: Sequence[Trial], metrics: list[str] | None = None) -> Any:
        return self._engine.fit(self._exp.trials, metrics, self.task)

    def best(self, trials: Sequence[Trial]) -> Any:
        return self._engine.best(self._exp.trials, self.task)

    def acquisition(self, trials: Sequence[Trial], mc_seed: int, task: Any = None) -> Any:
        return self._engine.acquisition(self._exp.trials, mc_seed,
                                        self._engine._task_index(self.task))

    def in_model_phase(self, trials: Sequence[Trial]) -> bool:
        return self._engine.in_model_phase(trials)
