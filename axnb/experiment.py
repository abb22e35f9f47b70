"""The experiment: search space, objectives, trials, ask/tell, persistence and change events.

    import axnb
    exp = axnb.Experiment("demo", [axnb.Range("x", 0, 1)], objective="y")
    t = exp.suggest()
    exp.complete(t.index, (t.parameters["x"] - 0.3) ** 2)

Every change is validated first and then written to the experiment's JSON file (atomically,
under a cross-process lock, after merging what other processes wrote) before it is applied in
memory, so an invalid call or a failed write changes nothing. Observers registered with
``subscribe`` hear about every change, from whatever thread made it.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import math
import os
import secrets
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axnb import predicates, revisions, storage
from axnb.constraints import OutcomeConstraint, parse_outcome_constraint
from axnb.errors import (
    ConfigurationMismatchError,
    ConflictError,
    ConstraintError,
    CorruptFileError,
    InvalidParameterError,
    TrialError,
)
from axnb.filecheck import TrialCheck
from axnb.space import Parameter, SearchSpace, Value, check_text, plain, short_repr
from axnb.trial import (
    ABANDONED,
    COMPLETED,
    CORRECTED,
    EXCLUDED,
    FAILED,
    INCLUDED,
    RUNNING,
    Change,
    Objective,
    Result,
    Trial,
    normalize,
    now,
)

if TYPE_CHECKING:
    import pandas as pd

    from axnb.analysis import Plots
    from axnb.engine import Engine
    from axnb.loop import RunHandle
    from axnb.widgets.dashboard import Dashboard
    from axnb.widgets.explorer import Explorer
    from axnb.widgets.panel import Panel

Listener = Callable[[str, list[Trial]], None]
_DIRECTIONS = {"min": True, "minimize": True, "max": False, "maximize": False}


class _Overtaken(Exception):
    """Another process added a trial while a suggestion was computed: compute it again."""


class Experiment:
    """An optimization experiment saved as ``<name>.axnb.json`` next to the notebook.

    Args:
        name: short name (at most 200 characters, no path separators or control
            characters); also the default file name.
        parameters: ``axnb.Range/Int/Choice/Fixed`` or Ax-style dicts.
        constraints: linear parameter constraints such as ``"x1 - x2 >= 1"`` or
            ``"w1 + w2 + w3 == 1"``, and Python predicates ``f(params) -> bool`` such as
            ``lambda p: p["hidden"] % p["heads"] == 0`` (see ``axnb.predicates``).
        objective, minimize: one objective metric and its direction ...
        objectives: ... or several, ``{"acc": "max", "latency": "min"}`` (Pareto).
        outcome_constraints: bounds on metrics, ``["latency <= 20"]``; on an objective metric
            of a multi-objective experiment they act as the Pareto reference point.
        path: the JSON file (default ``<name>.axnb.json`` in the working directory; a folder
            puts that file name in the folder).
        seed: same seed and same data give the same suggestions, in any process.
        initial_trials: space-filling trials before the model takes over (None: a default
            that depends on the number of parameters).
        overwrite: start a new, empty experiment whatever the file holds (another
            configuration or the same one); the old experiment is kept as a backup,
            ``<file>.bak-<UTC time>``, which never replaces another backup. Default: resume
            the file's experiment, or raise if its configuration differs.
    """

    def __init__(
        self,
        name: str,
        parameters: Iterable[Parameter | Mapping[str, Any]],
        constraints: Iterable[str | Callable[..., Any]] | None = None,
        objective: str | None = None,
        minimize: bool = True,
        objectives: Mapping[str, str] | None = None,
        outcome_constraints: Iterable[str] | None = None,
        path: str | os.PathLike[str] | None = None,
        seed: int | None = None,
        initial_trials: int | None = None,
        overwrite: bool = False,
        model: type | str | None = None,
        acquisition: type | str | None = None,
        acquisition_options: Mapping[str, Any] | None = None,
        model_options: Mapping[str, Any] | None = None,
        tasks: Sequence[str] | None = None,
        related: Sequence[str | os.PathLike[str]] | None = None,
        *,
        _supplied: Mapping[str, type | None] | None = None,
        _loading: bool = False,
    ) -> None:
        # Every argument is checked here, before anything touches the disk.
        self.name = _check_name(name)
        self.space = SearchSpace.build(parameters, constraints or ())
        self.objectives = _parse_objectives(objective, minimize, objectives)
        self.outcome_constraints = _parse_outcome_constraints(
            outcome_constraints, self.objectives, self.space
        )
        _check_metric_names(self.metrics, self.space)
        self.seed = _check_optional_int(seed, "seed", minimum=0)
        self.initial_trials = _check_optional_int(initial_trials, "initial_trials", minimum=0)
        overwrite = _check_flag(overwrite, "overwrite")
        self.path = _resolve_path(path, self.name)
        _check_feasible(self.space)
        self._plugins = _plugins(model, model_options, acquisition, acquisition_options,
                                 _supplied or {})
        _check_plugins(self._plugins, self.space, self.objectives, self.outcome_constraints)
        self.tasks: list[str] | None = _check_tasks(tasks)
        self.related = _load_related(related, self, strict=not _loading)
        if (self.tasks or self.related) and self._plugins != (None, None):
            raise InvalidParameterError(
                "tasks= or related= and a custom model= or acquisition= cannot be combined "
                "yet: the tasks share one multi-task GP and its acquisition. Leave one of "
                "them out.")
        self._trials: list[Trial] = []
        self._rounds: list[dict[str, Any]] = []
        self._revisions: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._engine: Engine | None = None
        self._revision = 0
        self._uid: str | None = None
        self._mark = storage.Mark()
        self._owners: dict[int, dict[str, Any]] = {}
        self._lines: list[str | None] = []
        self._open(overwrite)

    # ----------------------------------------------------------------- configuration
    @property
    def metrics(self) -> list[str]:
        """Objective metrics, then the other metrics named by outcome constraints."""
        names = [o.metric for o in self.objectives]
        for c in self.outcome_constraints:
            if c.metric not in names:
                names.append(c.metric)
        return names

    @property
    def objective(self) -> Objective:
        """The (first) objective."""
        return self.objectives[0]

    @property
    def is_multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def config(self) -> dict[str, Any]:
        """Everything that defines the experiment (what resuming compares)."""
        return {
            "name": self.name,
            "parameters": self.space.to_dicts(),
            "constraints": self.space.constraint_texts,
            "objectives": [{"metric": o.metric, "minimize": o.minimize} for o in self.objectives],
            "outcome_constraints": [c.text for c in self.outcome_constraints],
            "seed": self.seed,
            "initial_trials": self.initial_trials,
            **_plugin_config(*self._plugins),
            **({"tasks": list(self.tasks)} if self.tasks else {}),
            **({"related": [r.path for r in self.related]} if self.related else {}),
        }

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], path: str | os.PathLike[str] | None = None,
        model: type | None = None, acquisition: type | None = None,
    ) -> Experiment:
        """Build an experiment from a saved configuration (see ``axnb.load``); ``model`` /
        ``acquisition``: classes the configuration names but that cannot be imported."""
        objectives = {
            o["metric"]: "min" if o["minimize"] else "max" for o in config["objectives"]
        }
        return cls(
            name=config["name"],
            parameters=config["parameters"],
            constraints=config.get("constraints") or None,
            objectives=objectives,
            outcome_constraints=config.get("outcome_constraints") or None,
            path=path,
            seed=config.get("seed"),
            initial_trials=config.get("initial_trials"),
            model=config.get("model"),
            model_options=config.get("model_options"),
            acquisition=config.get("acquisition"),
            acquisition_options=config.get("acquisition_options"),
            tasks=config.get("tasks"),
            related=config.get("related"),
            _supplied={"model": model, "acquisition": acquisition},
            _loading=True,
        )

    @property
    def engine_tasks(self) -> list[str] | None:
        """The tasks of the model: ``tasks`` (or this experiment's name when it has none) and
        then one per related experiment; None without tasks and related experiments."""
        readable = [r.name for r in self.related if not r.error]
        if not readable:
            return self.tasks
        return (self.tasks or [self.name]) + readable

    def _task(self, task: str | None) -> str | None:
        """The task of a new trial: ``task`` checked, or the target; None without tasks."""
        if not self.tasks:
            if task is not None:
                raise InvalidParameterError(
                    f"task={task!r} given, but experiment '{self.name}' has no tasks. Create it "
                    f"with tasks=[target, other, ...] to combine tasks.")
            return None
        if task is None:
            return self.tasks[0]
        if task not in self.tasks:
            raise InvalidParameterError(
                f"Unknown task {task!r}: experiment '{self.name}' has the tasks {self.tasks} "
                f"(the first, {self.tasks[0]!r}, is the target).")
        return task

    @property
    def model(self) -> type | None:
        """The custom BoTorch model class (None: axnb's own GPs; see ``axnb.engine.plugins``)."""
        return self._plugins[0].cls if self._plugins[0] is not None else None

    @property
    def acquisition(self) -> type | None:
        """The custom BoTorch acquisition class (None: axnb's own choice)."""
        return self._plugins[1].cls if self._plugins[1] is not None else None

    # ----------------------------------------------------------------- trials
    @property
    def trials(self) -> list[Trial]:
        """All trials, by index (a copy of the list; the Trial objects are live)."""
        with self._lock:
            self._sync()
            return list(self._trials)

    def trial(self, index: int | Trial) -> Trial:
        """The trial with this index."""
        with self._lock:
            self._sync()
            return self._get(index)

    def _get(self, index: int | Trial) -> Trial:
        if isinstance(index, Trial):
            index = index.index
        index = plain(index)
        if isinstance(index, bool) or not isinstance(index, int):
            raise TrialError(f"A trial index must be an int, got {index!r}.")
        if not 0 <= index < len(self._trials):
            span = f"0..{len(self._trials) - 1}" if self._trials else "none yet"
            raise TrialError(f"Unknown trial {index}: this experiment's trials are {span}.")
        return self._trials[index]

    def suggest(
        self, n: int | None = None, fixed: Mapping[str, Any] | None = None,
        task: str | None = None,
    ) -> Trial | list[Trial]:
        """Create the next trial(s) to evaluate, status ``"running"``.

        ``suggest()`` returns one Trial; ``suggest(n=4)`` a list of 4 distinct Trials.
        ``fixed={"opt": "adam"}`` pins parameters. Running trials are pending: new
        suggestions avoid them, those of other kernels on the same file included (a
        suggestion is computed again if another kernel added a trial meanwhile), so two
        kernels suggesting at once get different points. ``task``: with ``tasks=[...]``, the
        task to run the trial on (default: the target, the first); the multi-task model uses
        every task's results.
        """
        count = 1 if n is None else _check_count(n)
        pinned: dict[str, Value] = {}
        if fixed:
            checked = self.space.validate(fixed, partial=True, check_constraints=False)
            pinned = {k: checked[k] for k in fixed}
            _check_pins_active(self.space, pinned)
        task = self._task(task)
        self.engine.check_distinct(count, pinned)  # n distinct trials, or a clear error
        added = self._suggest(count, pinned, task=task)
        return added[0] if n is None else added

    def suggest_arms(
        self, arms: Sequence[Mapping[str, Any]] | None = None, window: int | None = None
    ) -> list[Trial]:
        """Create the next bandit round: one running Trial per arm, each with ``batch`` (the
        round number, from 0) and ``weight`` (its share of the traffic; they sum to 1).

        The first round is the full factorial of the discrete space (or ``arms``), with equal
        weights; later rounds give the weights by Thompson sampling on empirical-Bayes
        shrunk estimates, and drop arms that are clearly worse (see ``axnb.rounds``).
        ``window=None`` pools every completed round of an arm; ``window=1`` uses only the
        latest round (for a world that drifts); ``best()`` follows the latest choice.

            for t in ab.suggest_arms():
                ab.complete(t.index, axnb.Rate(conversions[t.index], visitors[t.index]))
        """
        from axnb.rounds import plan_round

        if window is not None:
            window = _check_count(window, "window")

        def op() -> tuple[list[Trial], list[Trial], dict[str, Any]]:
            planned = plan_round(self, self._trials, arms, window)
            batch = len({t.batch for t in self._trials if t.batch is not None})
            new = [
                Trial(index=-1, parameters=p.parameters, source=p.source, batch=batch,
                      weight=p.weight)
                for p in planned
            ]
            record = {"batch": batch, "created_at": now().isoformat(), "window": window}
            return [], new, record

        with self._lock:
            self._sync()
            return self._transact("suggest", op)

    @property
    def rounds(self) -> list[dict[str, Any]]:
        """The bandit rounds so far: ``{"batch", "created_at", "window"}`` each, in order."""
        with self._lock:
            self._sync()
            return [dict(r) for r in self._rounds]

    def attach(self, parameters: Mapping[str, Any], result: Any = None,
               task: str | None = None) -> Trial:
        """Record a trial run elsewhere (source ``"manual"``); with a result it is completed.

        Without a result the point is *queued*: a must-try point, running (and pending for
        the model) until ``complete`` or ``fail``; ``exp.run`` / ``optimize`` evaluate queued
        points before asking for new suggestions (``exp.queued`` lists them). ``task``: with
        ``tasks=[...]``, the task it was run on (default: the target)."""
        task = self._task(task)
        params = self.space.validate(parameters)
        trial = Trial(index=-1, parameters=params, source="manual", task=task)
        if result is not None:
            trial.result, trial.counts = normalize(result, self.metrics, self.objective.metric)
            _check_result_metrics(trial.result, self)
            trial.status = COMPLETED
            trial.completed_at = trial.created_at
        return self._transact("attach", lambda: ([], [trial]))[0]

    def complete(self, index: int | Trial, result: Any) -> Trial:
        """Record the result of a running trial: a float, ``(mean, sem)``, or
        ``{metric: float | (mean, sem)}``, or ``axnb.Rate(successes, trials)``; numpy / torch
        scalars are fine. An arm of a bandit round needs its uncertainty: ``(mean, sem)`` or a
        ``Rate``."""
        normalized, counts = normalize(result, self.metrics, self.objective.metric)
        _check_result_metrics(normalized, self)

        def op() -> tuple[list[Trial], list[Trial]]:
            trial = self._require_running(index, "complete")
            if trial.batch is not None:
                _require_sems(trial, normalized)
            done = replace(trial, status=COMPLETED, result=normalized, counts=counts,
                           completed_at=now())
            return [done], []

        return self._transact("complete", op)[0]

    def fail(self, index: int | Trial, reason: str | None = None) -> Trial:
        """Mark a running trial failed (it is then ignored by the model)."""

        def op() -> tuple[list[Trial], list[Trial]]:
            trial = self._require_running(index, "fail")
            return [replace(trial, status=FAILED, completed_at=now(), reason=_text(reason))], []

        return self._transact("fail", op)[0]

    def abandon(self, index: int | Trial, reason: str | None = None) -> Trial:
        """Give up on a trial (running, or completed but not to be trusted): it is kept in the
        file but no longer pending nor used by the model."""

        def op() -> tuple[list[Trial], list[Trial]]:
            trial = self._get(index)
            if trial.status not in (RUNNING, COMPLETED):
                raise TrialError(
                    f"Trial {trial.index} is {trial.status}; only running or completed trials "
                    f"can be abandoned."
                )
            return [replace(trial, status=ABANDONED, reason=_text(reason) or trial.reason)], []

        return self._transact("abandon", op)[0]

    # ----------------------------------------------------------------- amending data
    def exclude(self, index: int | Trial, reason: str | None = None) -> Trial:
        """Leave a completed trial out of the model, ``best()`` and the fits of plots; it stays
        in the file (drawn hollow in plots) and ``exp.include(index)`` takes it back. The
        change is recorded in ``Trial.history`` with its reason. Excluding an excluded trial
        changes nothing."""
        return self._amend(index, EXCLUDED, reason)

    def include(self, index: int | Trial, reason: str | None = None) -> Trial:
        """Undo ``exclude``: the trial's result is used again (recorded in its history).
        Including a trial that is not excluded changes nothing."""
        return self._amend(index, INCLUDED, reason)

    def correct(self, index: int | Trial, result: Any, reason: str | None = None) -> Trial:
        """Replace a completed trial's result (any form ``complete`` takes); the earlier
        result stays in ``Trial.history`` with the reason. Correcting to the same result
        changes nothing."""
        normalized, counts = normalize(result, self.metrics, self.objective.metric)
        _check_result_metrics(normalized, self)
        return self._amend(index, CORRECTED, reason, (normalized, counts))

    def _amend(
        self, index: int | Trial, action: str, reason: str | None,
        new: tuple[Result, Any] | None = None,
    ) -> Trial:
        verb = {EXCLUDED: "exclude", INCLUDED: "include", CORRECTED: "correct"}[action]

        def op() -> tuple[list[Trial], list[Trial]]:
            trial = self._get(index)
            if trial.status != COMPLETED:
                hint = ("exp.complete(i, result) records its result" if trial.is_running
                        else "it has no result to leave out or correct")
                raise TrialError(f"Cannot {verb} trial {trial.index}: it is {trial.status}; "
                                 f"only a completed trial can be {action} ({hint}).")
            unchanged = (trial.excluded if action == EXCLUDED
                         else not trial.excluded if action == INCLUDED
                         else new == (trial.result, trial.counts))
            if unchanged:
                return [], []
            replaced = trial.result if action == CORRECTED else None
            change = Change(action, now(), _text(reason), replaced,
                            trial.counts if action == CORRECTED else None, _user())
            updated = replace(trial, history=[*trial.history, change])
            if action != CORRECTED:
                updated.excluded = action == EXCLUDED
            else:
                assert new is not None
                if trial.batch is not None:
                    _require_sems(trial, new[0])
                updated.result, updated.counts = new
            return [updated], []

        touched = self._transact(verb, op)
        return touched[0] if touched else self.trial(index)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every change made after the fact, oldest first: exclusions, inclusions and
        corrections of trials, and changes of the search space. Each is ``{"at", "by",
        "action", "trial", "reason", "what", "result"}``: ``action`` is ``"excluded"``,
        ``"included"``, ``"corrected"`` or ``"changed parameters"``; ``trial`` the trial's
        index (None for a change of the space); ``what`` the change in words; ``result``
        the result a correction replaced (None otherwise)."""
        changes = [
            {"at": c.at, "by": c.by, "action": c.action, "trial": t.index,
             "reason": c.reason, "what": _amended(c, t.index), "result": c.result}
            for t in self.trials for c in t.history
        ]
        with self._lock:
            changes += [
                {"at": datetime.fromisoformat(r["at"]), "by": r.get("by"),
                 "action": "changed parameters", "trial": None, "reason": r.get("reason"),
                 "what": "; ".join(r["what"]), "result": None}
                for r in self._revisions
            ]
        return sorted(changes, key=lambda c: (c["at"], -1 if c["trial"] is None else c["trial"]))

    # ----------------------------------------------------------------- changing the space
    def change_parameters(
        self,
        parameters: Iterable[Parameter | Mapping[str, Any]],
        defaults: Mapping[str, Any] | None = None,
        constraints: Iterable[str | Callable[..., Any]] | None = None,
        reason: str | None = None,
    ) -> list[str]:
        """Change the search space mid-campaign: widen or narrow bounds, add or remove
        parameters or choice values, switch log scale (``parameters``: the whole new list).

        A new parameter needs its value in the trials so far: ``defaults={"dropout": 0.0}``
        (a ``Fixed`` one takes its value). ``constraints``: the new parameter constraints
        (default: keep them). Every trial stays; those whose values are not in the new space
        leave the model (``Trial.outside``; ``exp.summary()["outside"]`` counts them). The
        change is one revision of the file, in ``exp.history``. Returns what changed, in
        words (empty, and nothing written, when the space is already this one)."""
        with self._lock:
            with storage.lock(self.path):
                self._refresh()
                planned = revisions.plan(self.space, parameters, constraints, defaults)
                if planned is None:
                    return []
                _check_metric_names(self.metrics, planned.space)
                _check_feasible(planned.space)
                self._commit_space(planned, _text(reason))
            trials = list(self._trials)
        self._notify("parameters", trials)
        return list(planned.what)

    def _commit_space(self, planned: revisions.Plan, reason: str | None) -> None:
        """Write the experiment with the new space (the whole file, lock held, file just
        read), then take it in memory."""
        old, revision = self.space, self._revision + 1
        record = revisions.record(planned, old, revision, now().isoformat(), _user(), reason,
                                  len(self._trials))
        fill = planned.defaults
        updated = [
            {**t.parameters, **{k: v for k, v in fill.items() if k not in t.parameters}}
            for t in self._trials
        ]
        self.space, self._revisions = planned.space, [*self._revisions, record]
        try:
            lines = [storage.encode(self._record(replace(t, parameters=p)))
                     for t, p in zip(self._trials, updated)]
            mark = storage.write_snapshot(self.path, self._head(revision), lines, self._rounds)
        except BaseException:
            self.space, self._revisions = old, self._revisions[:-1]
            raise
        for t, p in zip(self._trials, updated):
            t.parameters = p
        self._lines, self._mark, self._revision = lines, mark, revision
        self._engine = None
        self._mark_outside(self._trials)

    def _mark_outside(self, trials: Iterable[Trial]) -> None:
        """Set ``Trial.outside``: whether the trial's values are not in the search space
        (only after ``change_parameters``: before, every trial is)."""
        if not self._revisions:
            return
        for t in trials:
            t.outside = not revisions.fits(self.space, t.parameters)

    def _require_running(self, index: int | Trial, verb: str) -> Trial:
        trial = self._get(index)
        if trial.status == RUNNING:
            return trial
        hint = {
            COMPLETED: "a trial is completed once; to record another measurement, attach a "
            "new trial with exp.attach(params, result=...)",
            FAILED: "to retry those parameters, exp.attach(trial.parameters) a new trial",
            ABANDONED: "to use those parameters, exp.attach(trial.parameters) a new trial",
        }[trial.status]
        raise TrialError(f"Cannot {verb} trial {trial.index}: it is {trial.status}; {hint}.")

    # ----------------------------------------------------------------- results
    def to_dataframe(self, full: bool = False) -> pd.DataFrame:
        """One row per trial: index, status, source (then ``task`` with tasks, ``excluded``
        once a trial has been excluded or corrected, ``outside`` once the space has been
        changed, and ``batch`` and ``weight`` in an experiment with bandit rounds),
        parameters (then those removed
        by ``change_parameters``), ``<metric>`` (mean) and ``<metric>_sem`` for each metric,
        times (UTC) and the reason a trial failed or was abandoned.

        The table is made to be read: times are shown to the second and a ``reason`` column
        with no reason at all is left out (``<metric>_sem`` stays: NaN where the standard
        error is unknown). ``full=True`` gives every column, with the times as recorded (to
        the microsecond)::

            exp.to_dataframe()            # index, status, source, x1, x2, loss, loss_sem, ...
            exp.to_dataframe(full=True)   # ... loss, loss_sem, created_at, completed_at, reason
        """
        import pandas as pd

        rows = []
        metrics = list(self.metrics)
        for t in self.trials:
            for m in t.result or {}:
                if m not in metrics:
                    metrics.append(m)
        for t in self.trials:
            row: dict[str, Any] = {"index": t.index, "status": t.status, "source": t.source,
                                   "batch": t.batch, "weight": t.weight, "task": t.task,
                                   "excluded": t.excluded, "outside": t.outside}
            row.update(t.parameters)
            for m in metrics:
                mean, sem = (t.result or {}).get(m, (None, None))
                row[m] = mean
                row[f"{m}_sem"] = sem
            row.update(created_at=t.created_at, completed_at=t.completed_at, reason=t.reason)
            rows.append(row)
        columns = ["index", "status", "source"]
        if self.tasks:
            columns += ["task"]
        if any(t.excluded or t.history for t in self._trials):
            columns += ["excluded"]
        if self._revisions:
            columns += ["outside"]
        if any(t.batch is not None for t in self._trials):
            columns += ["batch", "weight"]
        columns += self.space.names
        removed = {n: None for t in self._trials for n in t.parameters if n not in self.space}
        columns += list(removed)  # parameters removed by change_parameters: values kept
        columns += [c for m in metrics for c in (m, f"{m}_sem")]
        columns += ["created_at", "completed_at", "reason"]
        frame = pd.DataFrame(rows, columns=columns)
        for m in metrics:
            frame[m] = frame[m].astype(float)
            frame[f"{m}_sem"] = frame[f"{m}_sem"].astype(float)
        if full:
            return frame
        for c in ("created_at", "completed_at"):
            frame[c] = pd.to_datetime(frame[c], utc=True).dt.floor("s")
        if frame["reason"].map(lambda r: isinstance(r, str) and bool(r.strip())).any():
            return frame
        return frame.drop(columns=["reason"])

    def best(self) -> tuple[dict[str, Value], Result]:
        """``(parameters, {metric: (mean, sem)})`` of the best trial.

        Model-based (the best in-sample arm under the model) when the data are noisy, the
        best observed value otherwise; outcome constraints are respected. In an experiment
        with bandit rounds: the arm with the best empirical-Bayes shrunk estimate, pooled as
        the latest round was (``window``), with its shrunk ``(mean, sem)``.
        """
        trials = self._completed_or_raise()
        if any(t.batch is not None for t in trials) and not self.is_multi_objective:
            from axnb.rounds import best_arm, latest_window

            return _warn_if_infeasible(self, best_arm(self, trials, latest_window(self.rounds)))
        if self.is_multi_objective:
            raise ValueError(
                f"Experiment '{self.name}' has several objectives "
                f"{[o.metric for o in self.objectives]}: there is no single best; use "
                f"exp.pareto() for the trade-off front."
            )
        found = self.engine.best(trials)
        if found is None:  # pragma: no cover - engine returns a best when data exist
            raise TrialError("No completed trial to choose the best from.")
        return _warn_if_infeasible(self, found)

    def pareto(self) -> list[tuple[dict[str, Value], Result]]:
        """Non-dominated completed trials as ``(parameters, values)`` (one objective: the best)."""
        trials = self._completed_or_raise()
        if not self.is_multi_objective:
            return [self.best()]
        return self.engine.pareto(trials)

    def predict(
        self, points: Sequence[Mapping[str, Any]]
    ) -> dict[str, tuple[list[float], list[float]]]:
        """Model predictions ``{metric: (means, sems)}`` (plain floats, original units) at a
        parameterization or a list of them."""
        if isinstance(points, Mapping):
            points = [points]
        checked = [self.space.validate(p, check_constraints=False) for p in points]
        trials = self._completed_or_raise()
        predicted = self.engine.predict(trials, checked)
        _check_finite_predictions(predicted)
        return {m: ([float(v) for v in means], [float(v) for v in sems])
                for m, (means, sems) in predicted.items()}

    def _completed_or_raise(self) -> list[Trial]:
        trials = self.trials
        if not any(t.is_data for t in trials):
            excluded = [t.index for t in trials if t.is_completed]
            if excluded:
                more = " ..." if len(excluded) > 10 else ""
                raise TrialError(
                    f"Every completed trial of experiment '{self.name}' is excluded (trials "
                    f"{excluded[:10]}{more}): include one with exp.include(i), or complete or "
                    f"attach another trial."
                )
            raise TrialError(
                f"Experiment '{self.name}' has no completed trial yet: complete or attach one "
                f"with a result first."
            )
        return trials

    # ----------------------------------------------------------------- engine and loops
    @property
    def engine(self) -> Engine:
        """The suggestion engine (created, and torch imported, on first use)."""
        if self._engine is None:
            from axnb.engine import Engine

            self._engine = Engine(
                self.space,
                self.objectives,
                self.outcome_constraints,
                seed=self.seed if self.seed is not None else 0,
                initial_trials=self.initial_trials,
                model=self._plugins[0],
                acquisition=self._plugins[1],
                tasks=self.engine_tasks,
                extra_trials=[t for r in self.related for t in r.trials],
            )
        return self._engine

    def run(
        self,
        f: Callable[[dict[str, Value]], Any],
        trials: int = 30,
        parallel: int = 1,
        executor: Any = None,
        background: bool = False,
        progress: bool = True,
        stale: str = "abandon",
    ) -> RunHandle | None:
        """Evaluate ``f`` on ``trials`` new suggestions, ``parallel`` at a time.

        ``executor`` is any ``concurrent.futures.Executor`` (thread or process pool, a Dask
        client's ``get_executor()``). An exception in ``f`` fails that trial (traceback kept
        in ``trial.reason``) and the loop goes on. ``background=True`` returns a handle with
        ``wait()``, ``stop()`` and ``done`` at once.

        ``stale``: what to do first with trials a loop left running when its process ended
        (a killed or restarted kernel; see ``exp.stale()``): ``"abandon"`` them (the
        default, with a warning), ``"rerun"`` them (evaluate ``f`` on their parameters again;
        they count towards ``trials``), or ``"keep"`` them running. Trials of a loop that
        still runs, in another kernel, and ask/tell trials are never touched.
        """
        from axnb.loop import run

        return run(self, f, trials=trials, parallel=parallel, executor=executor,
                   background=background, progress=progress, stale=stale)

    # ----------------------------------------------------------------- views
    @property
    def plot(self) -> Plots:
        """Plotly analyses: ``exp.plot.contour("x1", "x2")``, ``.slice``, ``.progress``,
        ``.arms`` (bandit rounds), ..."""
        from axnb.analysis import Plots

        return Plots(self)

    def report(self, path: str | os.PathLike[str] = "report.html") -> Path:
        """Write a standalone HTML report (works offline) and return its path."""
        from axnb.report import write_report

        return write_report(self, path)

    def dashboard(self) -> Dashboard:
        """Live dashboard widget (contour, slice, progress, trials; arms for bandit rounds)
        that follows changes."""
        from axnb.widgets.dashboard import Dashboard

        return Dashboard(self)

    def panel(self) -> Panel:
        """Human-in-the-loop widget: suggest, edit, accept, complete, fail, attach."""
        from axnb.widgets.panel import Panel

        return Panel(self)

    def explore(self) -> Explorer:
        """Teaching explorer: step through the history and watch the model, an acquisition
        (qLogNEI, EI, UCB, PI, Thompson) and the next point as they were at each step."""
        from axnb.widgets.explorer import Explorer

        return Explorer(self)

    # ----------------------------------------------------------------- events

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event, trials)`` after every change; returns an unsubscribe function.

        Events: "suggest", "attach", "complete", "fail", "abandon", "exclude", "include",
        "correct", "parameters" (``change_parameters``: every trial), "reload" (another
        process changed the file). Listeners run in the thread
        that made the change.
        """
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _notify(self, event: str, trials: list[Trial]) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, trials)
            except Exception as e:  # a broken observer must not break the experiment
                warnings.warn(f"axnb: listener {listener!r} raised {e!r}", stacklevel=3)

    # ----------------------------------------------------------------- persistence
    # The files, how a change is written and what a reader sees: axnb/storage.py. Here, in
    # memory besides the trials: ``_owners`` (index -> the process whose loop runs the trial),
    # ``_lines`` (index -> the trial's encoded JSON line; None until a whole-file write needs
    # it), the experiment's ``_uid`` and ``_revision``, and ``_mark``: how much of the files
    # this object has read or written, so that picking up another process's change reads just
    # that change.

    def save(self) -> Path:
        """Write the whole experiment to its JSON file now.

        Every change is saved as it is made; ``save()`` also folds a big experiment's change
        log (``<file>.journal``) into the JSON file, so that a plain JSON reader sees all of
        it. After a ``ConflictError`` (the file was replaced behind this kernel's back, e.g. by
        ``overwrite=True`` in another kernel) it writes this kernel's experiment back; what
        the file held is kept as a backup, ``<file>.bak-<time>``.
        """
        with self._lock, storage.lock(self.path):
            storage.cleanup(self.path)
            try:
                self._refresh()
            except (ConflictError, CorruptFileError):
                storage.check_writable(self.path)
                self._set_aside_file()
                self._revision += 1
            self._fold()
        return self.path

    def stale(self, older_than: float | timedelta | None = None) -> list[Trial]:
        """Running trials that nothing is going to finish.

        By default: the trials started by a ``run()`` or ``optimize()`` loop whose process has
        ended (a kernel killed or restarted in mid-evaluation) on this machine. Trials of a
        loop that still runs, in this kernel or another, are never included. With
        ``older_than`` (seconds, or a ``timedelta``) also every other running trial created at
        least that long ago: ask/tell trials from ``suggest()`` or ``attach()`` (never stale
        otherwise: a person may still be measuring them) and trials of loops on other
        machines (whose processes axnb cannot see).
        """
        limit = self._age(older_than)
        with self._lock:
            self._sync()
            return self._stale(limit)

    def abandon_stale(
        self, older_than: float | timedelta | None = None, reason: str | None = None
    ) -> list[Trial]:
        """Abandon the ``stale(older_than)`` trials, in one change, and return them.

        ``run()`` and ``optimize()`` do this for loop trials before they start
        (``stale="abandon"``, their default; ``stale="rerun"`` evaluates them again).
        Ask/tell trials are abandoned only by age: ``exp.abandon_stale(older_than=86400)``.
        """
        limit = self._age(older_than)

        def op() -> tuple[list[Trial], list[Trial]]:
            return [replace(t, status=ABANDONED, reason=_text(reason) or self._why_stale(t))
                    for t in self._stale(limit)], []

        return self._transact("abandon", op)

    @property
    def queued(self) -> list[Trial]:
        """Points attached without a result that no loop has taken yet (``exp.run`` evaluates
        them first), by index."""
        with self._lock:
            self._sync()
            return self._queued()

    def _queued(self) -> list[Trial]:
        return [t for t in self._trials if t.status == RUNNING and t.source == "manual"
                and t.index not in self._owners]

    def _claim_queued(self, owner: dict[str, Any], most: int) -> list[Trial]:
        """Make ``owner`` the owner of up to ``most`` queued points, atomically, to evaluate
        them; two loops never claim the same point."""

        def op() -> tuple[list[Trial], list[Trial]]:
            return [replace(t) for t in self._queued()[:most]], []

        return self._transact("suggest", op, owner=owner) if most > 0 else []

    def _claim_stale(self, owner: dict[str, Any], most: int) -> list[Trial]:
        """Make ``owner`` the owner of up to ``most`` stale loop trials, atomically, to run
        them again (``run(stale="rerun")``); two processes never claim the same trial."""

        def op() -> tuple[list[Trial], list[Trial]]:
            return [replace(t) for t in self._stale(None)[:most]], []

        return self._transact("suggest", op, owner=owner)

    def _stale(self, limit: timedelta | None) -> list[Trial]:
        alive: dict[tuple[Any, ...], bool | None] = {}
        cutoff = None if limit is None else now() - limit
        out = []
        for t in self._trials:
            if t.status != RUNNING:
                continue
            owner = self._owners.get(t.index)
            if owner is not None:
                key = (owner.get("host"), owner.get("pid"), owner.get("start"))
                if key not in alive:
                    alive[key] = storage.owner_alive(owner)
                if alive[key] is True:
                    continue
                if alive[key] is False:
                    out.append(t)
                    continue
            created = t.created_at if t.created_at.tzinfo else t.created_at.replace(tzinfo=UTC)
            if cutoff is not None and created <= cutoff:
                out.append(t)
        return out

    def _why_stale(self, t: Trial) -> str:
        owner = self._owners.get(t.index)
        if owner is not None and storage.owner_alive(owner) is False:
            return (f"stale: the loop that ran it (process {owner.get('pid')} on "
                    f"{owner.get('host')}) ended before it finished")
        return f"stale: still running, created at {t.created_at.isoformat(timespec='seconds')}"

    @staticmethod
    def _age(older_than: Any) -> timedelta | None:
        if older_than is None:
            return None
        if isinstance(older_than, timedelta):
            age = older_than
        else:
            seconds = plain(older_than)
            if (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                    or not math.isfinite(seconds)):
                raise ValueError(f"older_than must be a number of seconds or a timedelta, got "
                                 f"{older_than!r}.")
            age = timedelta(seconds=seconds)
        if age < timedelta(0):
            raise ValueError(f"older_than must not be negative, got {older_than!r}.")
        return age

    def _suggest(
        self, count: int, pinned: Mapping[str, Value], owner: dict[str, Any] | None = None,
        limit: int | None = None, task: str | None = None,
    ) -> list[Trial]:
        """Compute and record up to ``count`` suggestions; ``owner``: the loop process that
        will run them; ``limit``: at most that many trials that are not abandoned, in all
        (``optimize``'s ``total_trials``, exact with several kernels).

        The suggestion is computed from the trials in the file, with other processes' running
        trials pending, and recorded only if no trial was added to the file meanwhile. The
        first attempt computes without holding the file lock (a suggestion can take seconds,
        and other kernels keep completing trials meanwhile); if another process added a trial
        in the meantime, the second attempt holds the lock from reading the file to writing
        the suggestion, so it cannot be overtaken. Hence no two kernels get the same point,
        and the lock is held for a whole suggestion only when two of them collide.
        """
        with self._lock:
            for locked in (False, True):
                with storage.lock(self.path) if locked else contextlib.nullcontext():
                    self._sync()
                    seen, want = len(self._trials), count
                    if limit is not None:
                        want = min(count, limit - sum(t.status != ABANDONED
                                                      for t in self._trials))
                    if want <= 0:
                        return []
                    task = task if task is not None else self._task(None)
                    suggestions = self.engine.suggest(list(self._trials), want, pinned,
                                                      task=task)
                    new = [Trial(index=-1, parameters=self.space.validate(s.parameters),
                                 source=s.source, task=task) for s in suggestions]
                    try:
                        return self._transact("suggest", partial(self._unless_added, seen, new),
                                              owner=owner)
                    except _Overtaken:
                        continue
        raise AssertionError("unreachable")  # pragma: no cover

    def _unless_added(self, seen: int, new: list[Trial]) -> tuple[list[Trial], list[Trial]]:
        if len(self._trials) != seen:
            raise _Overtaken
        return [], new

    def _open(self, overwrite: bool) -> None:
        """Resume the experiment in the file, or start one (with the lock held throughout)."""
        with self._lock, storage.lock(self.path):
            storage.cleanup(self.path)
            state, unreadable = _handed_over(self.path), False
            if state is None and self.path.exists():
                try:
                    state = storage.read_state(self.path)
                except CorruptFileError:
                    if not overwrite:
                        raise
                    unreadable = True
            if state is not None and not overwrite:
                differences = self._differences(state.data["config"])
                if differences and state.data.get("revisions"):
                    raise ConfigurationMismatchError(
                        _changed_since(self.path, state.data, differences))
                if differences:
                    raise ConfigurationMismatchError(
                        f"{self.path} holds experiment '{state.data['config'].get('name')}' "
                        f"with a different configuration:\n  - " + "\n  - ".join(differences)
                        + "\nTo resume it as saved: axnb.load(path). To start a new "
                        "experiment: use another name or path=, or pass overwrite=True (the "
                        "old experiment is kept as a backup, <file>.bak-<time>)."
                    )
                self._adopt(state)
                return
            if state is None and not unreadable and not overwrite:
                self._refuse_to_shadow_a_backup()
            # A new experiment. What the file holds is set aside first, under a new name: the
            # file itself is replaced atomically, so at every instant one of them is complete.
            storage.check_writable(self.path)
            if unreadable:
                storage.backup_unreadable(self.path)
            elif state is not None:
                self._set_aside(state)
            if self.seed is None:
                self.seed = secrets.randbelow(2**31)
            self._uid = storage.new_uid()
            self._revision = 1
            self._mark = storage.write_snapshot(self.path, self._head(1), [])

    def _refuse_to_shadow_a_backup(self) -> None:
        """No file, but a backup of this very experiment next to it: say so rather than start
        an empty experiment the user would take for the old one."""
        for backup in reversed(storage.backups(self.path)):
            try:
                data = storage.read(backup)
            except (CorruptFileError, OSError):
                continue
            if data["trials"] and not self._differences(data["config"]):
                raise ConflictError(
                    f"{self.path} does not exist, but {backup.name} next to it holds this "
                    f"experiment with {len(data['trials'])} trials (set aside by "
                    f"overwrite=True, or left by an axnb before 0.2 that was interrupted while "
                    f"overwriting). Nothing was written. To continue it, rename it to "
                    f"{self.path.name} and run this again; to start a new experiment anyway, "
                    f"pass overwrite=True (the backup stays)."
                )

    def _set_aside(self, state: storage.State) -> Path | None:
        """Keep an experiment read from the file as a new backup (None: it has no trials)."""
        if not state.data["trials"] and not state.data.get("rounds"):
            return None
        return storage.backup(self.path, storage.dumps(state.data))

    def _set_aside_file(self) -> Path | None:
        """Keep what the file holds now as a new backup (its bytes if it cannot be read)."""
        if not self.path.exists():
            return None
        try:
            state = storage.read_state(self.path)
        except CorruptFileError:
            return storage.backup_unreadable(self.path)
        return self._set_aside(state)

    def _differences(self, saved: Mapping[str, Any]) -> list[str]:
        mine = self.config()
        out = []
        for key in ("name", "objectives"):
            if saved.get(key) != mine[key]:
                out.append(f"{key}: file has {saved.get(key)!r}, now {mine[key]!r}")
        out += _parameter_differences(saved.get("parameters", []), mine["parameters"])
        try:
            other = SearchSpace.build(saved.get("parameters", []), saved.get("constraints", []))
            theirs = [(c.coefficients, c.op, c.bound) for c in other.constraints]
            same_predicates = len(other.predicates) == len(self.space.predicates) and all(
                a.same_as(b) for a, b in zip(other.predicates, self.space.predicates))
        except ValueError:
            theirs, same_predicates = saved.get("constraints"), False
        ours = [(c.coefficients, c.op, c.bound) for c in self.space.constraints]
        if theirs != ours or not same_predicates:
            out.append(f"constraints: file has {saved.get('constraints')!r}, now "
                       f"{mine['constraints']!r}")
        saved_oc = sorted(
            (c.metric, c.op, c.bound)
            for c in map(parse_outcome_constraint, saved.get("outcome_constraints", []))
        )
        if saved_oc != sorted((c.metric, c.op, c.bound) for c in self.outcome_constraints):
            out.append(f"outcome_constraints: file has {saved.get('outcome_constraints')!r}, "
                       f"now {mine['outcome_constraints']!r}")
        for key in ("seed", "initial_trials"):
            if mine[key] is not None and saved.get(key) != mine[key]:
                out.append(f"{key}: file has {saved.get(key)!r}, now {mine[key]!r}")
        for key in (*PLUGIN_KEYS, "tasks", "related"):
            if saved.get(key) != mine.get(key):
                out.append(f"{key}: file has {saved.get(key)!r}, now {mine.get(key)!r}")
        return out

    def _adopt(self, state: storage.State) -> None:
        config = state.data["config"]
        if self.seed is None:
            self.seed = config.get("seed")
        if self.initial_trials is None:
            self.initial_trials = config.get("initial_trials")
        self._load_trials(state.data, state.mark, state.lines)

    def _load_trials(
        self, data: Mapping[str, Any], mark: storage.Mark,
        lines: list[str | None] | None = None,
    ) -> None:
        """Take every trial from ``data`` (a whole file, journal applied; ``lines``: their
        text in the file, where known); Trial objects this kernel already has are updated in
        place."""
        with storage.gc_paused():
            try:
                loaded = [Trial.from_dict(d) for d in data["trials"]]
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
                raise CorruptFileError(
                    f"Cannot read the trials in {self.path} ({e!r}). The file was left "
                    f"untouched."
                ) from None
            if any(t.index != i for i, t in enumerate(loaded)):
                raise CorruptFileError(
                    f"Trials in {self.path} are not numbered 0..{len(loaded) - 1}. The file was "
                    f"left untouched."
                )
            for t in loaded[: len(self._trials)]:
                vars(self._trials[t.index]).update(vars(t))
            self._trials.extend(loaded[len(self._trials):])
        self._owners = {i: dict(d["owner"]) for i, d in enumerate(data["trials"])
                        if isinstance(d.get("owner"), dict)}
        self._lines = (list(lines) if lines is not None and len(lines) == len(self._trials)
                       else [None] * len(self._trials))
        self._rounds = [dict(r) for r in data.get("rounds", [])]
        self._revisions = [dict(r) for r in data.get("revisions", [])]
        self._revision = int(data.get("revision", 0))
        self._uid = data.get("uid")
        self._mark = mark
        self._mark_outside(self._trials)

    def _apply_entries(self, entries: list[dict[str, Any]], mark: storage.Mark) -> None:
        """Apply journal entries another process wrote (read with ``storage.read_tail``),
        checked as a load checks the file."""
        check = TrialCheck(self.config(), storage.journal_path(self.path), self._revisions)
        rounds = len(self._rounds)
        for e in entries:
            for d in e["trials"]:
                if isinstance(d.get("index"), int):
                    check.trial(d, d["index"])
            for r in e.get("rounds", []):
                check.round(r, rounds)
                rounds += 1
        try:
            parsed = [[(Trial.from_dict(d), d.get("owner")) for d in e["trials"]]
                      for e in entries]
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise CorruptFileError(
                f"Cannot read a change in {storage.journal_path(self.path)} ({e!r}). The file "
                f"was left untouched."
            ) from None
        for entry, trials in zip(entries, parsed):
            for t, owner in trials:
                if t.index < len(self._trials):
                    vars(self._trials[t.index]).update(vars(t))
                    self._lines[t.index] = None
                elif t.index == len(self._trials):
                    self._trials.append(t)
                    self._lines.append(None)
                else:
                    raise CorruptFileError(
                        f"{storage.journal_path(self.path)} writes trial {t.index}, but the "
                        f"experiment has {len(self._trials)} trials. The file was left "
                        f"untouched."
                    )
                if isinstance(owner, dict):
                    self._owners[t.index] = dict(owner)
                else:
                    self._owners.pop(t.index, None)
                self._mark_outside([self._trials[t.index]])
            self._rounds.extend(dict(r) for r in entry.get("rounds", []))
            self._revision = entry["revision"]
        self._mark = mark

    def _sync(self) -> None:
        """Pick up changes another process wrote to the file (two ``stat`` calls when there
        are none; only the new lines of the change log when there are)."""
        if storage.changed(self.path, self._mark):
            with storage.lock(self.path):
                changed = self._refresh()
            if changed:
                self._notify("reload", list(self._trials))

    def _refresh(self) -> bool:
        """Read what another process wrote since we last read or wrote (lock held)."""
        if not storage.changed(self.path, self._mark):
            return False
        tail = storage.read_tail(self.path, self._mark, self._revision)
        if tail is not None:
            entries, mark = tail
            self._apply_entries(entries, mark)
            return bool(entries)
        if not self.path.exists():  # deleted: the next change writes the whole file again
            self._mark = storage.Mark(journal=storage.journal_signature(self.path), stale=True)
            return False
        state = storage.read_state(self.path)
        self._follow_revisions(state.data)
        self._check_same_experiment(state.data)
        self._load_trials(state.data, state.mark, state.lines)
        return True

    def _follow_revisions(self, data: Mapping[str, Any]) -> None:
        """Take the search space of the file when another kernel changed it (with
        ``change_parameters``) since this one last read it."""
        theirs = data.get("revisions") or []
        known = [(r.get("revision"), r.get("at")) for r in self._revisions]
        if (len(theirs) > len(known) and data.get("uid") == self._uid
                and [(r.get("revision"), r.get("at")) for r in theirs[:len(known)]] == known):
            config = data["config"]
            self.space = SearchSpace.build(config["parameters"], config.get("constraints") or ())
            self._engine = None

    def _check_same_experiment(self, data: Mapping[str, Any]) -> None:
        """Refuse to merge a file that no longer holds this kernel's experiment."""
        advice = (
            f" This kernel's {len(self._trials)} trials are intact, in memory. To write them "
            f"back, call exp.save(): what the file holds now is kept as a backup, "
            f"{self.path.name}.bak-<time>. To continue with the file's experiment instead: "
            f"exp = axnb.load({str(self.path)!r})."
        )
        uid, revision, count = data.get("uid"), data.get("revision", 0), len(data["trials"])
        if self._uid is not None and uid is not None and uid != self._uid:
            raise ConflictError(
                f"{self.path} now holds another experiment: it was started afresh "
                f"(overwrite=True) or replaced, by another kernel or process." + advice
            )
        if self._differences(data["config"]):
            raise ConflictError(
                f"{self.path} was re-created by another process with a different "
                f"configuration." + advice
            )
        if count < len(self._trials) or (isinstance(revision, int) and revision < self._revision):
            raise ConflictError(
                f"{self.path} was replaced by an older copy: it has {count} trials (revision "
                f"{revision}), this kernel knows {len(self._trials)} (revision "
                f"{self._revision})." + advice
            )

    def _head(self, revision: int) -> dict[str, Any]:
        if self._uid is None:  # a file from before uids: it gets one at its next write
            self._uid = storage.new_uid()
        head = {"revision": revision, "saved_at": now().isoformat(), "uid": self._uid,
                "config": self.config()}
        if self._revisions:
            head["revisions"] = self._revisions
        return head

    def _record(self, trial: Trial, owners: Mapping[int, dict[str, Any]] | None = None
                ) -> dict[str, Any]:
        d = trial.to_dict()
        owner = (self._owners if owners is None else owners).get(trial.index)
        if owner:
            d["owner"] = owner
        return d

    def _all_lines(self, new: Mapping[int, str], count: int) -> list[str]:
        """Every trial's JSON line: ``new`` ones, cached ones, the others encoded now."""
        lines = [*self._lines, *[None] * (count - len(self._lines))]
        for i, text in new.items():
            lines[i] = text
        for i, text in enumerate(lines):
            if text is None:
                lines[i] = storage.encode(self._record(self._trials[i]))
        return lines

    def _whole_file_writes(self) -> bool:
        """Whether a change rewrites the whole JSON file (a small experiment, or no JSON file
        to continue) rather than append to the journal."""
        m = self._mark
        return (m.snapshot is None or self._uid is None or m.base is None
                or m.size < storage.SNAPSHOT_LIMIT)

    def _commit(
        self, changed: list[Trial], added: list[Trial], rounds: list[dict[str, Any]],
        owner: dict[str, Any] | None,
    ) -> None:
        """Write one change (lock held, file just read), then remember what was written; the
        caller applies the trials in memory. Nothing is remembered if the write fails."""
        start = len(self._trials)
        for k, t in enumerate(added):
            t.index = start + k
        touched = [*changed, *added]
        owners = dict(self._owners)
        if owner is not None:
            owners.update((t.index, dict(owner)) for t in touched)
        lines = {t.index: storage.encode(self._record(t, owners)) for t in touched}
        revision = self._revision + 1
        if self._whole_file_writes():
            every = self._all_lines(lines, start + len(added))
            mark = storage.write_snapshot(self.path, self._head(revision), every,
                                          [*self._rounds, *rounds])
            self._lines = every
        else:
            line = storage.journal_entry(self._uid, self._mark.base, revision,
                                         list(lines.values()), rounds)
            mark = storage.append_journal(self.path, self._mark, line)
            self._lines.extend([None] * len(added))
            for i, text in lines.items():
                self._lines[i] = text
        self._owners, self._mark, self._revision = owners, mark, revision
        self._rounds = [*self._rounds, *rounds]

    def _fold(self) -> None:
        """Write the whole JSON file from memory, folding the journal in (lock held, file just
        read)."""
        lines = self._all_lines({}, len(self._trials))
        self._mark = storage.write_snapshot(self.path, self._head(self._revision), lines,
                                            self._rounds)
        self._lines = lines

    def _fold_journal(self) -> None:
        """Fold the journal into the JSON file if there is one (end of a ``run``)."""
        with self._lock, storage.lock(self.path):
            self._refresh()
            if self._mark.journal is not None:
                self._fold()

    def _transact(
        self, event: str, op: Callable[[], tuple], owner: dict[str, Any] | None = None
    ) -> list[Trial]:
        """Validate and apply a change: read what other processes wrote, run ``op`` (which
        validates and returns updated copies and new trials, and for a bandit round its
        record), write, then apply in memory and notify. ``owner``: the loop process that
        runs the trials this change touches."""
        touched: list[Trial] = []
        with self._lock:
            with storage.lock(self.path):
                reloaded = self._refresh()
                changed, added, *record = op()
                if changed or added or record:
                    self._commit(changed, added, record, owner)
                    for t in changed:
                        vars(self._trials[t.index]).update(vars(t))
                    self._trials.extend(added)
                    touched = [self._trials[t.index] for t in changed] + added
                    m = self._mark
                    if m.journal is not None and m.offset > max(m.size, storage.SNAPSHOT_LIMIT):
                        try:  # the journal outgrew the JSON file: fold it in
                            self._fold()
                        except OSError as e:  # the change itself is saved, in the journal
                            warnings.warn(f"axnb: could not rewrite {self.path} ({e}); the "
                                          f"change is saved in its journal.", stacklevel=3)
            if reloaded:
                self._notify("reload", list(self._trials))
        if touched:
            self._notify(event, touched)
        return touched

    # ----------------------------------------------------------------- display
    def summary(self, trials: list[Trial] | None = None) -> dict[str, Any]:
        """Counts by status, how many completed trials are excluded and how many are outside
        the search space since ``change_parameters`` (both left out of the model), the best
        observed objective value so far (of the trials the model uses) and the number of
        bandit rounds (of ``trials``; default: all, with what other processes wrote). Long
        runs add ``trust_region`` (see ``axnb.engine.trust``): the trial at the centre of the
        region the next suggestion searches, its side factor and the trials its model sees."""
        trials = self.trials if trials is None else trials
        out = self._counts(trials)
        region = self.engine.trust_region(trials)
        if region is not None:
            out["trust_region"] = region
        if self.tasks:
            out["tasks"] = {name: sum((t.task or self.tasks[0]) == name for t in trials)
                            for name in self.tasks}
        if self.tasks or self.related:
            out["task_correlation"] = self.task_correlation(trials)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a failed fit: nothing
                out["target_model"] = self.engine.target_models(trials)
        if self.related:
            out["related"] = [r.info() for r in self.related]
        return out

    def task_correlation(self, trials: list[Trial] | None = None
                         ) -> dict[str, dict[str, dict[str, float]]]:
        """With tasks: metric -> task -> task -> the correlation between the tasks that the
        multi-task GP learned (1 on the diagonal; near 1: the tasks agree, near 0: one tells
        little about the other). Empty without tasks or before any result."""
        names = self.engine_tasks
        if not names:
            return {}
        trials = self.trials if trials is None else trials
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a failed fit: nothing learned
            matrices = self.engine.task_correlation(trials)
        return {m: {a: {b: round(float(c[i, j]), 4) for j, b in enumerate(names)}
                    for i, a in enumerate(names)} for m, c in matrices.items()}

    def _counts(self, trials: list[Trial]) -> dict[str, Any]:
        """``summary`` without the model: counts, the best observed value, rounds."""
        counts = {s: sum(t.status == s for t in trials) for s in (RUNNING, COMPLETED, FAILED,
                                                                    ABANDONED)}
        return {"trials": len(trials), **counts, "excluded": sum(t.excluded for t in trials),
                "outside": sum(t.outside and t.is_completed for t in trials),
                "best_observed": best_observed(self, trials), "rounds": len(self._rounds)}

    def __repr__(self) -> str:
        note = ""
        try:
            s = self._counts(self.trials)
        except (ConflictError, CorruptFileError, OSError) as e:  # a repr never raises
            s = self._counts(list(self._trials))
            note = f" (the file cannot be merged: {type(e).__name__}; see exp.trials)"
        best = s["best_observed"]
        excluded = f", {s['excluded']} excluded" if s["excluded"] else ""
        excluded += f", {s['outside']} outside the space" if s["outside"] else ""
        best_text = "" if best is None else f", best {self.objective.metric}={best:.6g}"
        if s["rounds"]:  # one arm's lucky round is no "best": exp.best() shrinks and pools
            best_text = f", {s['rounds']} bandit rounds"
        return (
            f"<axnb.Experiment '{self.name}': {s['trials']} trials ({s[COMPLETED]} completed, "
            f"{s[RUNNING]} running, {s[FAILED]} failed{excluded}){best_text}; file "
            f"{self.path}{note}>"
        )


def best_observed(exp: Experiment, trials: list[Trial] | None = None) -> float | None:
    """Best observed value of the first objective among completed trials that satisfy the
    outcome constraints (cheap; no model). None when there is none."""
    trials = exp.trials if trials is None else trials
    objective = exp.objective
    target = exp.tasks[0] if exp.tasks else None
    values = [
        t.result[objective.metric][0]
        for t in trials
        if t.is_data and t.result and objective.metric in t.result
        and (t.task or target) == target
        and all(
            c.metric in t.result and c.satisfied(t.result[c.metric][0])
            for c in exp.outcome_constraints
        )
    ]
    if not values:
        return None
    return min(values) if objective.minimize else max(values)


def load(
    path: str | os.PathLike[str], constraints: Iterable[Callable[..., Any]] | None = None,
    model: type | None = None, acquisition: type | None = None,
) -> Experiment:
    """Reopen a saved experiment from its JSON file (and its change log, if it has one).

    ``constraints``: the Python predicate constraints of the experiment, which a file cannot
    hold (a named function under its name, lambdas in their order); without them, an
    experiment that has some raises a ``ConstraintError`` listing their source.
    ``model`` / ``acquisition``: the custom classes the file names when it cannot import
    them (defined in a notebook): ``axnb.load(path, model=MyGP)``."""
    exp = _load(path, constraints, model, acquisition)
    unbound = [p for p in exp.space.predicates if p.func is None]
    if unbound:
        raise ConstraintError(predicates.unbound_message(unbound, exp.path))
    return exp


def _load(
    path: str | os.PathLike[str], constraints: Iterable[Callable[..., Any]] | None = None,
    model: type | None = None, acquisition: type | None = None,
) -> Experiment:
    """``load``, leaving predicates without their function unbound (for reading only: the
    report)."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        found = storage.backups(path)
        hint = f" Backups next to it: {', '.join(p.name for p in found)}." if found else ""
        raise FileNotFoundError(f"No experiment file at {path}.{hint}")
    with storage.gc_paused(), storage.lock(path):
        state = storage.read_state(path)
        _HANDOVER.state = (path, state)  # read once: Experiment() takes it under this lock
        try:
            exp = Experiment.from_config(state.data["config"], path=path, model=model,
                                         acquisition=acquisition)
        except (KeyError, TypeError) as e:
            raise CorruptFileError(
                f"Cannot read the configuration in {path} ({e!r}). The file was left "
                f"untouched."
            ) from None
        finally:
            _HANDOVER.state = None
            del state  # freed while the collector is paused: it would scan it all once
    if constraints is not None or exp.space.predicates:
        exp.space.predicates = predicates.bind(exp.space.predicates, constraints or ())
        exp._mark_outside(exp._trials)
    return exp


_HANDOVER = threading.local()


def _handed_over(path: Path) -> storage.State | None:
    """The file ``load`` has just read (with the lock still held), if it is ``path``."""
    held = getattr(_HANDOVER, "state", None)
    if held is None or held[0] != path:
        return None
    _HANDOVER.state = None
    return held[1]


# --------------------------------------------------------------------- argument checks
#: Longest experiment name (characters, and bytes in UTF-8): it becomes the file name
#: ``<name>.axnb.json``, plus a temporary-file prefix and suffix, within the usual 255 bytes.
MAX_NAME = 200
#: Most that axnb adds to the file name for the files it puts next to it: a temporary file
#: (".", ".XXXXXXXX.tmp"), a backup and its journal (".bak-20260101T120000Z-2.journal").
_NAME_OVERHEAD = 32
#: Columns of ``to_dataframe()`` besides parameters and metrics.
_TRIAL_COLUMNS = ("index", "status", "source", "created_at", "completed_at", "reason")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Experiment name must be a non-empty string, got {name!r}.")
    if any(ch in name for ch in "/\\\0") or name in (".", ".."):
        raise ValueError(
            f"Experiment name {name!r} contains a path separator: give a plain name and put "
            f"the folder in path=."
        )
    check_text(name, "Experiment name", ValueError)
    size = len(name.encode("utf-8"))
    if len(name) > MAX_NAME or size > MAX_NAME:
        raise ValueError(
            f"Experiment name {short_repr(name, 60)} is {len(name)} characters ({size} bytes "
            f"in UTF-8) long: use at most {MAX_NAME}. It becomes the file name "
            f"'<name>{storage.SUFFIX}', and file systems refuse longer names."
        )
    control = [ch for ch in name if ord(ch) < 32 or ord(ch) == 127]
    if control:
        raise ValueError(
            f"Experiment name {name!r} contains the control character {control[0]!r}: it "
            f"becomes a file name; use letters, digits, spaces, '-', '_' or '.'."
        )
    if os.name == "nt":  # pragma: no cover - Windows file-name rules
        bad = sorted({ch for ch in name if ch in '<>:"|?*'})
        if bad or name.rstrip(" .") != name or name.split(".")[0].upper() in _WINDOWS_RESERVED:
            raise ValueError(
                f"Experiment name {name!r} is not a valid Windows file name ("
                f"{'it contains ' + ''.join(bad) if bad else 'reserved name or trailing dot'}"
                f"): use letters, digits, spaces, '-', '_' or '.'."
            )
    return name


def _check_path(path: Path) -> None:
    """Refuse a file path the file system would refuse (a component too long, characters it
    cannot encode), before anything is written; room is left for the temporary file and the
    ``.lock`` file that go next to it."""
    try:
        encoded = os.fsencode(path)
    except UnicodeEncodeError as e:
        raise ValueError(
            f"Experiment path {short_repr(str(path), 80)} contains {e.object[e.start:e.end]!r}, "
            f"which the file system cannot encode: use another path= or name."
        ) from None
    limit, total = 255, 4096
    with contextlib.suppress(OSError, ValueError, AttributeError):
        folder = next(p for p in [path, *path.parents] if p.exists())
        limit = os.pathconf(folder, "PC_NAME_MAX")
        total = os.pathconf(folder, "PC_PATH_MAX")
    parts = path.parts
    for i, part in enumerate(parts):
        size = len(os.fsencode(part))
        room = limit - (_NAME_OVERHEAD if i == len(parts) - 1 else 0)
        if size > room:
            raise ValueError(
                f"Experiment path component {short_repr(part, 60)} is {size} bytes long: the "
                f"file system allows {limit} per name (and axnb needs {_NAME_OVERHEAD} more "
                f"for the temporary and backup files next to it). Use a shorter name or path=."
            )
    if len(encoded) + _NAME_OVERHEAD >= total:
        raise ValueError(
            f"Experiment path {short_repr(str(path), 80)} is {len(encoded)} bytes long: the "
            f"file system allows {total}. Use a shorter path=."
        )


def _load_related(related: Any, exp: Experiment, strict: bool) -> list[Any]:
    """The related experiments (``axnb.related``); reading a file that is gone raises when
    the experiment is created, and warns when it is reopened (its data are then left out)."""
    from axnb import related as R

    paths = R.check_paths(related)
    if not paths:
        return []
    taken = list(exp.tasks or [exp.name])
    out = R.load(paths, exp.space, exp.metrics, exp.path, taken, strict)
    for r in out:
        if r.error:
            warnings.warn(
                f"axnb: related experiment {r.path!r} of '{exp.name}' cannot be read "
                f"({r.error}); its data are left out of the model. Put the file back (the "
                f"path is relative to {exp.path.parent}) and open the experiment again.",
                RuntimeWarning, stacklevel=4)
    return out


def _check_tasks(tasks: Any) -> list[str] | None:
    """The task names (at least two, distinct non-empty strings), or None."""
    if tasks is None:
        return None
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise InvalidParameterError(
            f"tasks must be a list of task names, the target first, e.g. ['online', "
            f"'simulator']; got {tasks!r}.")
    names = list(tasks)
    if len(names) < 2 or any(not isinstance(t, str) or not t.strip() for t in names) \
            or len(set(names)) != len(names):
        raise InvalidParameterError(
            f"tasks must name at least two distinct tasks (non-empty strings), the target "
            f"first, e.g. ['online', 'simulator']; got {names!r}.")
    return names


#: Configuration keys of custom models and acquisitions (``axnb.engine.plugins``).
PLUGIN_KEYS = ("model", "model_options", "acquisition", "acquisition_options")


def _plugins(
    model: Any, model_options: Any, acquisition: Any, acquisition_options: Any,
    supplied: Mapping[str, type | None],
) -> tuple[Any, Any]:
    """``(ModelPlugin | None, AcquisitionPlugin | None)`` of the arguments, checked (the
    checks that need the experiment's space run when the engine is built)."""
    if model is None and acquisition is None:
        for what, opts in (("model_options", model_options),
                           ("acquisition_options", acquisition_options)):
            if opts:
                raise InvalidParameterError(
                    f"{what} given without {what.split('_')[0]}=: name the custom class the "
                    f"options are for, or leave them out.")
        return None, None
    from axnb.engine import plugins

    out: list[Any] = []
    for kind, spec, opts, make in (("model", model, model_options, plugins.ModelPlugin),
                                   ("acquisition", acquisition, acquisition_options,
                                    plugins.AcquisitionPlugin)):
        if spec is None:
            if opts:
                raise InvalidParameterError(
                    f"{kind}_options given without {kind}=: name the custom class the options "
                    f"are for, or leave them out.")
            out.append(None)
            continue
        if opts is not None and not isinstance(opts, Mapping):
            raise InvalidParameterError(
                f"{kind}_options must be a dict of keyword arguments, got {opts!r}.")
        opts = dict(opts or {})
        try:
            json.dumps(opts, allow_nan=False)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"{kind}_options {opts!r} must hold JSON values (numbers, strings, booleans, "
                f"lists, dicts) so that the experiment file can record them.") from None
        cls = plugins.resolve(spec, kind, supplied.get(kind))
        stand_in = supplied.get(kind) is cls and isinstance(spec, str)
        out.append(make(cls, opts, recorded=spec.strip() if stand_in else None))
    return out[0], out[1]


def _check_plugins(
    plugins: tuple[Any, Any], space: SearchSpace, objectives: list[Objective],
    outcome_constraints: list[OutcomeConstraint],
) -> None:
    """The plug-ins' checks against this experiment (``PluginError`` naming the problem)."""
    model, acquisition = plugins
    if model is not None:
        from axnb.engine.encoding import Encoder

        encoder = Encoder(space)
        model.check(encoder.d, {i: len(v) for i, v in encoder.cat_dims.items()})
    if acquisition is not None:
        from axnb.engine.acquisition import Problem

        acquisition.check(Problem(list(objectives), list(outcome_constraints)))


def _plugin_config(model: Any, acquisition: Any) -> dict[str, Any]:
    """The configuration keys of the plug-ins (none for axnb's own model and acquisition)."""
    out: dict[str, Any] = {}
    for kind, plugin in (("model", model), ("acquisition", acquisition)):
        if plugin is not None:
            out[kind] = plugin.path
            if plugin.options:
                out[f"{kind}_options"] = plugin.options
    return out


def _check_flag(value: Any, what: str) -> bool:
    """``True``/``False`` (numpy bools, 0 and 1 too); ``"false"`` is refused, not read as true."""
    value = plain(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(
        f"{what} must be True or False, got {short_repr(value)} ({type(value).__name__}); a "
        f"string such as 'false' would read as true. Pass {what}=True or {what}=False."
    )


def _check_metric_names(metrics: Iterable[str], space: SearchSpace, extra: bool = False) -> None:
    """Refuse metric names that would share a ``to_dataframe()`` column with a parameter, a
    trial field or another metric's ``<metric>_sem`` column."""
    metrics = list(metrics)
    for m in metrics:
        what = "Result metric" if extra else "Metric"
        clash = None
        if m in space:
            clash = f"the name of parameter '{m}'"
        elif m in _TRIAL_COLUMNS:
            clash = f"the name of the trials' '{m}' column"
        elif f"{m}_sem" in space:
            clash = f"a standard-error column '{m}_sem' named like parameter '{m}_sem'"
        elif m.endswith("_sem") and m[:-4] in metrics:
            clash = f"the name of the standard-error column of metric '{m[:-4]}'"
        if clash is not None:
            raise ValueError(
                f"{what} '{m}' has {clash}: exp.to_dataframe() has one column per parameter "
                f"and two per metric ('<metric>' and '<metric>_sem'), so one would overwrite "
                f"the other. Rename the metric (e.g. '{m}_value')."
            )


def _check_result_metrics(result: Result, exp: Experiment) -> None:
    """The extra metrics of a result (beyond the experiment's) follow the same naming rules."""
    extra = [m for m in result if m not in exp.metrics]
    if extra:
        _check_metric_names([*exp.metrics, *extra], exp.space, extra=True)


def _warn_if_infeasible(
    exp: Experiment, found: tuple[dict[str, Value], Result]
) -> tuple[dict[str, Value], Result]:
    """``found``, with a warning when its values violate an outcome constraint: then no
    completed trial met them all, and ``best()`` fell back to the least-violating one."""
    values = found[1]
    broken = [
        f"{c.metric} = {values[c.metric][0]:.6g} (needs {c.op} {c.bound:.6g})"
        for c in exp.outcome_constraints
        if c.metric in values and not c.satisfied(values[c.metric][0])
    ]
    if broken:
        warnings.warn(
            f"axnb: no completed trial of '{exp.name}' meets every outcome constraint "
            f"{[c.text for c in exp.outcome_constraints]}; best() returns the least-violating "
            f"one, which is infeasible: {', '.join(broken)}. Relax the constraints or run "
            f"more trials.",
            UserWarning, stacklevel=3,
        )
    return found


def _check_finite_predictions(predicted: Mapping[str, tuple[Sequence[float], Sequence[float]]]
                               ) -> None:
    """A clear error instead of NaN when the model cannot represent a metric's scale (results
    near the float limit, e.g. from a file written before results were bounded)."""
    import math

    for m, (means, sems) in predicted.items():
        if not all(math.isfinite(float(v)) for v in [*means, *sems]):
            raise TrialError(
                f"The model's predictions of '{m}' are not finite numbers: its results are "
                f"too large for the model (beyond about ±1e100?). Rescale the metric (e.g. its "
                f"log10) in new results, or exclude the extreme trials (exp.abandon(index))."
            )


def _check_feasible(space: SearchSpace) -> None:
    """``InfeasibleError`` now, not at the first ``suggest()``, when no point satisfies the
    parameter constraints (SciPy is imported only when there are constraints)."""
    if space.constraints:
        from axnb.constraints import check_feasible

        check_feasible(space)


def _check_optional_int(value: Any, what: str, minimum: int) -> int | None:
    if value is None:
        return None
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum} or None, got {value!r}.")
    return value


#: Most trials one ``suggest(n=...)`` call creates (and the largest bandit ``window``).
MAX_COUNT = 10_000


def _check_count(n: Any, what: str = "n") -> int:
    n = plain(n)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_COUNT:
        raise ValueError(
            f"{what} must be a positive integer up to {MAX_COUNT}, got {short_repr(n)}."
        )
    return n


def _require_sems(trial: Trial, result: Result) -> None:
    """An arm of a bandit round is shrunk and sampled by its uncertainty: insist on it."""
    missing = [m for m, (_, sem) in result.items() if sem is None]
    if missing:
        raise TrialError(
            f"Trial {trial.index} is an arm of bandit round {trial.batch}: its result needs "
            f"an uncertainty, but {missing} has none. Complete with (mean, sem) or "
            f"axnb.Rate(successes, trials)."
        )


def _changed_since(path: Path, data: Mapping[str, Any], differences: list[str]) -> str:
    """The error when a cell creates an experiment whose space was changed since."""
    last = data["revisions"][-1]
    who = f" by {last['by']}" if last.get("by") else ""
    current = ", ".join(p["name"] for p in data["config"]["parameters"])
    return (
        f"The search space of experiment '{data['config'].get('name')}' in {path} was changed "
        f"with exp.change_parameters ({len(data['revisions'])} change(s); the last at "
        f"{last['at'][:19]}{who}: {'; '.join(last['what'])}), so this configuration is not "
        f"the file's any more:\n  - " + "\n  - ".join(differences)
        + f"\nNothing was changed. To continue the experiment as it is now: exp = "
        f"axnb.load({str(path)!r}) (its parameters now: {current}), or write its current "
        f"parameters in this cell. To start a new experiment: use another name or path=, or "
        f"pass overwrite=True (the old one is kept as a backup, <file>.bak-<time>)."
    )


def _check_pins_active(space: SearchSpace, pinned: Mapping[str, Value]) -> None:
    """A pinned conditional parameter needs its parents pinned so that it is active (else the
    suggestion could leave it out)."""
    active = space.active(pinned)
    for name in pinned:
        if name not in active:
            raise InvalidParameterError(
                f"fixed= pins '{name}', which is active only sometimes "
                f"({space._condition(name, pinned)}): pin its parent(s) too, e.g. "
                f"fixed={{{', '.join(f'{k!r}: {v[0]!r}' for k, v in space[name].when or ())}, "
                f"'{name}': ...}}."
            )


def _amended(change: Change, index: int) -> str:
    """A trial's change in words, for ``exp.history``."""
    if change.action != CORRECTED or change.result is None:
        return f"{change.action} trial {index}"
    was = ", ".join(f"{m}={mean:.6g}" for m, (mean, _) in change.result.items())
    return f"corrected trial {index} (was {was})"


def _user() -> str | None:
    """Who makes a change (the login name), when the system knows."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, no USER: who is unknown
        return None


def _text(reason: Any) -> str | None:
    """A failure reason as text the UTF-8 file can hold (a lone surrogate is escaped)."""
    if reason is None:
        return None
    return str(reason).encode("utf-8", "backslashreplace").decode("utf-8")


def _resolve_path(path: str | os.PathLike[str] | None, name: str) -> Path:
    if path is None:
        p = storage.default_path(name)
        _check_path(p)
        return p.resolve()
    p = Path(path).expanduser()
    _check_path(p)
    if p.is_dir():
        p = p / f"{name}{storage.SUFFIX}"
    p = p.resolve()
    _check_path(p)
    return p


def _parse_objectives(
    objective: str | None, minimize: bool, objectives: Mapping[str, str] | None
) -> list[Objective]:
    if objectives is not None and objective is not None:
        raise ValueError("Give either objective= (one) or objectives= (several), not both.")
    if objectives is None:
        name = objective if objective is not None else "objective"
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"Objective name {name!r} must be an identifier such as 'loss' or 'accuracy'."
            )
        return [Objective(name, _check_flag(minimize, "minimize"))]
    if not isinstance(objectives, Mapping) or not objectives:
        raise ValueError(
            "objectives must be a non-empty dict such as {'acc': 'max', 'latency': 'min'}."
        )
    out = []
    for metric, direction in objectives.items():
        if not isinstance(metric, str) or not metric.isidentifier():
            raise ValueError(f"Objective name {metric!r} must be an identifier such as 'acc'.")
        key = direction.lower() if isinstance(direction, str) else direction
        if key not in _DIRECTIONS:
            raise ValueError(
                f"Objective '{metric}' has direction {direction!r}: use 'min' or 'max'."
            )
        out.append(Objective(metric, _DIRECTIONS[key]))
    return out


def _parse_outcome_constraints(
    specs: Iterable[str] | None, objectives: list[Objective], space: SearchSpace
) -> list[OutcomeConstraint]:
    if specs is None:
        return []
    if isinstance(specs, str):
        specs = [specs]
    out = [parse_outcome_constraint(s) for s in specs]
    for c in out:
        if c.metric in space:
            raise ConstraintError(
                f"Outcome constraint '{c.text}' names parameter '{c.metric}': outcome "
                f"constraints bound metrics; put parameter bounds in constraints= instead."
            )
        if len(objectives) == 1 and c.metric == objectives[0].metric:
            raise ConstraintError(
                f"Outcome constraint '{c.text}' bounds the objective '{c.metric}' itself; "
                f"constrain another metric, or drop it (the objective is already optimized)."
            )
    return out


def _parameter_differences(saved: list[Mapping[str, Any]], mine: list[dict[str, Any]]) -> list[str]:
    theirs = {p.get("name"): p for p in saved if isinstance(p, Mapping)}
    ours = {p["name"]: p for p in mine}
    out = []
    for name in ours.keys() - theirs.keys():
        out.append(f"parameter '{name}' is new (not in the file)")
    for name in theirs.keys() - ours.keys():
        out.append(f"parameter '{name}' is in the file but not given now")
    for name in ours.keys() & theirs.keys():
        if dict(theirs[name]) != ours[name]:
            keys = sorted(k for k in ours[name] if theirs[name].get(k) != ours[name][k])
            detail = ", ".join(f"{k}: file {theirs[name].get(k)!r}, now {ours[name][k]!r}"
                               for k in keys)
            out.append(f"parameter '{name}' differs ({detail})")
    if not out and [p.get("name") for p in saved] != [p["name"] for p in mine]:
        out.append("parameters are in a different order")
    return out


__all__ = ["Experiment", "best_observed", "load"]
