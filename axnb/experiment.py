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
import os
import secrets
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from axnb import storage
from axnb.constraints import OutcomeConstraint, parse_outcome_constraint
from axnb.errors import (
    ConfigurationMismatchError,
    ConflictError,
    ConstraintError,
    CorruptFileError,
    TrialError,
)
from axnb.space import Parameter, SearchSpace, Value, plain
from axnb.trial import (
    ABANDONED,
    COMPLETED,
    FAILED,
    RUNNING,
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
    from axnb.widgets.panel import Panel

Listener = Callable[[str, list[Trial]], None]
_DIRECTIONS = {"min": True, "minimize": True, "max": False, "maximize": False}


class Experiment:
    """An optimization experiment saved as ``<name>.axnb.json`` next to the notebook.

    Args:
        name: short name; also the default file name.
        parameters: ``axnb.Range/Int/Choice/Fixed`` or Ax-style dicts.
        constraints: linear parameter constraints such as ``"x1 - x2 >= 1"`` or
            ``"w1 + w2 + w3 == 1"``.
        objective, minimize: one objective metric and its direction ...
        objectives: ... or several, ``{"acc": "max", "latency": "min"}`` (Pareto).
        outcome_constraints: bounds on metrics, ``["latency <= 20"]``; on an objective metric
            of a multi-objective experiment they act as the Pareto reference point.
        path: the JSON file (default ``<name>.axnb.json`` in the working directory; a folder
            puts that file name in the folder).
        seed: same seed and same data give the same suggestions, in any process.
        initial_trials: space-filling trials before the model takes over (None: a default
            that depends on the number of parameters).
        overwrite: start afresh even if the file exists with another configuration (the old
            file is kept as ``<file>.bak``). Default: resume, or raise if it differs.
    """

    def __init__(
        self,
        name: str,
        parameters: Iterable[Parameter | Mapping[str, Any]],
        constraints: Iterable[str] | None = None,
        objective: str | None = None,
        minimize: bool = True,
        objectives: Mapping[str, str] | None = None,
        outcome_constraints: Iterable[str] | None = None,
        path: str | os.PathLike[str] | None = None,
        seed: int | None = None,
        initial_trials: int | None = None,
        overwrite: bool = False,
    ) -> None:
        self.name = _check_name(name)
        self.space = SearchSpace.build(parameters, constraints or ())
        self.objectives = _parse_objectives(objective, minimize, objectives)
        self.outcome_constraints = _parse_outcome_constraints(
            outcome_constraints, self.objectives, self.space
        )
        self.seed = _check_optional_int(seed, "seed", minimum=0)
        self.initial_trials = _check_optional_int(initial_trials, "initial_trials", minimum=0)
        self.path = _resolve_path(path, self.name)
        self._trials: list[Trial] = []
        self._rounds: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._engine: Engine | None = None
        self._revision = 0
        self._signature: tuple[int, int, int] | None = None
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
            "constraints": [c.text for c in self.space.constraints],
            "objectives": [{"metric": o.metric, "minimize": o.minimize} for o in self.objectives],
            "outcome_constraints": [c.text for c in self.outcome_constraints],
            "seed": self.seed,
            "initial_trials": self.initial_trials,
        }

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], path: str | os.PathLike[str] | None = None
    ) -> Experiment:
        """Build an experiment from a saved configuration (see ``axnb.load``)."""
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
        )

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
        self, n: int | None = None, fixed: Mapping[str, Any] | None = None
    ) -> Trial | list[Trial]:
        """Create the next trial(s) to evaluate, status ``"running"``.

        ``suggest()`` returns one Trial; ``suggest(n=4)`` a list of 4 distinct Trials.
        ``fixed={"opt": "adam"}`` pins parameters. Running trials are pending: new
        suggestions avoid them.
        """
        count = 1 if n is None else _check_count(n)
        pinned: dict[str, Value] = {}
        if fixed:
            checked = self.space.validate(fixed, partial=True, check_constraints=False)
            pinned = {k: checked[k] for k in fixed}
        with self._lock:
            self._sync()
            suggestions = self.engine.suggest(list(self._trials), count, pinned)
            new = [
                Trial(index=-1, parameters=self.space.validate(s.parameters), source=s.source)
                for s in suggestions
            ]
            added = self._transact("suggest", lambda: ([], new))
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

    def attach(self, parameters: Mapping[str, Any], result: Any = None) -> Trial:
        """Record a trial run elsewhere (source ``"manual"``); with a result it is completed,
        without one it is running (and pending) until ``complete`` or ``fail``."""
        params = self.space.validate(parameters)
        trial = Trial(index=-1, parameters=params, source="manual")
        if result is not None:
            trial.result, trial.counts = normalize(result, self.metrics, self.objective.metric)
            trial.status = COMPLETED
            trial.completed_at = trial.created_at
        return self._transact("attach", lambda: ([], [trial]))[0]

    def complete(self, index: int | Trial, result: Any) -> Trial:
        """Record the result of a running trial: a float, ``(mean, sem)``, or
        ``{metric: float | (mean, sem)}``, or ``axnb.Rate(successes, trials)``; numpy / torch
        scalars are fine. An arm of a bandit round needs its uncertainty: ``(mean, sem)`` or a
        ``Rate``."""
        normalized, counts = normalize(result, self.metrics, self.objective.metric)

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
    def to_dataframe(self) -> pd.DataFrame:
        """One row per trial: index, status, source (then ``batch`` and ``weight`` in an
        experiment with bandit rounds), parameters, ``<metric>`` (mean) and ``<metric>_sem``
        for each metric, times and failure reason."""
        import pandas as pd

        rows = []
        metrics = list(self.metrics)
        for t in self.trials:
            for m in t.result or {}:
                if m not in metrics:
                    metrics.append(m)
        for t in self.trials:
            row: dict[str, Any] = {"index": t.index, "status": t.status, "source": t.source,
                                   "batch": t.batch, "weight": t.weight}
            row.update(t.parameters)
            for m in metrics:
                mean, sem = (t.result or {}).get(m, (None, None))
                row[m] = mean
                row[f"{m}_sem"] = sem
            row.update(created_at=t.created_at, completed_at=t.completed_at, reason=t.reason)
            rows.append(row)
        columns = ["index", "status", "source"]
        if any(t.batch is not None for t in self._trials):
            columns += ["batch", "weight"]
        columns += self.space.names
        columns += [c for m in metrics for c in (m, f"{m}_sem")]
        columns += ["created_at", "completed_at", "reason"]
        frame = pd.DataFrame(rows, columns=columns)
        for m in metrics:
            frame[m] = frame[m].astype(float)
            frame[f"{m}_sem"] = frame[f"{m}_sem"].astype(float)
        return frame

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

            return best_arm(self, trials, latest_window(self.rounds))
        if self.is_multi_objective:
            raise ValueError(
                f"Experiment '{self.name}' has several objectives "
                f"{[o.metric for o in self.objectives]}: there is no single best; use "
                f"exp.pareto() for the trade-off front."
            )
        found = self.engine.best(trials)
        if found is None:  # pragma: no cover - engine returns a best when data exist
            raise TrialError("No completed trial to choose the best from.")
        return found

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
        return {m: ([float(v) for v in means], [float(v) for v in sems])
                for m, (means, sems) in predicted.items()}

    def _completed_or_raise(self) -> list[Trial]:
        trials = self.trials
        if not any(t.is_completed for t in trials):
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
    ) -> RunHandle | None:
        """Evaluate ``f`` on ``trials`` new suggestions, ``parallel`` at a time.

        ``executor`` is any ``concurrent.futures.Executor`` (thread or process pool, a Dask
        client's ``get_executor()``). An exception in ``f`` fails that trial (traceback kept
        in ``trial.reason``) and the loop goes on. ``background=True`` returns a handle with
        ``wait()``, ``stop()`` and ``done`` at once.
        """
        from axnb.loop import run

        return run(self, f, trials=trials, parallel=parallel, executor=executor,
                   background=background, progress=progress)

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

    # ----------------------------------------------------------------- events
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event, trials)`` after every change; returns an unsubscribe function.

        Events: "suggest", "attach", "complete", "fail", "abandon", "reload" (another process
        changed the file). Listeners run in the thread that made the change.
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
    def save(self) -> Path:
        """Write the experiment to its file now (it is also saved after every change)."""
        with self._lock, storage.file_lock(self.path):
            self._refresh()
            self._write(self._trials)
        return self.path

    def _open(self, overwrite: bool) -> None:
        with self._lock, storage.file_lock(self.path):
            if self.path.exists():
                data = storage.read(self.path)
                differences = self._differences(data["config"])
                if differences and not overwrite:
                    raise ConfigurationMismatchError(
                        f"{self.path} holds experiment '{data['config'].get('name')}' with a "
                        f"different configuration:\n  - " + "\n  - ".join(differences) +
                        "\nTo resume it as saved: axnb.load(path). To start a new experiment: "
                        "use another name or path=, or pass overwrite=True (the old file is "
                        "kept as .bak)."
                    )
                if differences:
                    os.replace(self.path, f"{self.path}.bak")
                else:
                    self._adopt(data)
                    return
            if self.seed is None:
                self.seed = secrets.randbelow(2**31)
            self._write([])

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
        except ValueError:
            theirs = saved.get("constraints")
        ours = [(c.coefficients, c.op, c.bound) for c in self.space.constraints]
        if theirs != ours:
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
        return out

    def _adopt(self, data: Mapping[str, Any]) -> None:
        config = data["config"]
        if self.seed is None:
            self.seed = config.get("seed")
        if self.initial_trials is None:
            self.initial_trials = config.get("initial_trials")
        self._load_trials(data)

    def _load_trials(self, data: Mapping[str, Any]) -> None:
        try:
            loaded = [Trial.from_dict(d) for d in data["trials"]]
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise CorruptFileError(
                f"Cannot read the trials in {self.path} ({e!r}). The file was left untouched."
            ) from None
        if [t.index for t in loaded] != list(range(len(loaded))):
            raise CorruptFileError(
                f"Trials in {self.path} are not numbered 0..{len(loaded) - 1}. The file was "
                f"left untouched."
            )
        for t in loaded[: len(self._trials)]:
            vars(self._trials[t.index]).update(vars(t))
        self._trials.extend(loaded[len(self._trials):])
        self._rounds = [dict(r) for r in data.get("rounds", [])]
        self._revision = int(data.get("revision", 0))
        self._signature = storage.signature(self.path)

    def _sync(self) -> None:
        """Pick up changes another process wrote to the file (cheap when there are none)."""
        if storage.signature(self.path) != self._signature:
            with storage.file_lock(self.path):
                changed = self._refresh()
            if changed:
                self._notify("reload", list(self._trials))

    def _refresh(self) -> bool:
        """Reload from the file if it changed since we last read or wrote it (lock held)."""
        sig = storage.signature(self.path)
        if sig is None or sig == self._signature:
            return False
        data = storage.read(self.path)
        if self._differences(data["config"]):
            raise ConflictError(
                f"{self.path} was re-created by another process with a different "
                f"configuration; this Experiment object is stale. Re-create it or axnb.load() "
                f"the file."
            )
        if len(data["trials"]) < len(self._trials):
            raise ConflictError(
                f"{self.path} now has fewer trials ({len(data['trials'])}) than this kernel "
                f"knows ({len(self._trials)}): it was replaced by another process. Call "
                f"exp.save() to write this kernel's trials back, or axnb.load() the file."
            )
        self._load_trials(data)
        return True

    def _write(self, trials: list[Trial], rounds: list[dict[str, Any]] | None = None) -> None:
        revision = self._revision + 1
        state: dict[str, Any] = {
            "revision": revision,
            "saved_at": now().isoformat(),
            "config": self.config(),
            "trials": [t.to_dict() for t in trials],
        }
        rounds = self._rounds if rounds is None else rounds
        if rounds:
            state["rounds"] = rounds
        storage.write_atomic(self.path, storage.dumps(state))
        self._revision = revision
        self._signature = storage.signature(self.path)

    def _transact(self, event: str, op: Callable[[], tuple]) -> list[Trial]:
        """Validate and apply a change: merge the file, run ``op`` (which validates and returns
        updated copies and new trials, and for a bandit round its record), write, then apply
        in memory and notify."""
        with self._lock:
            with storage.file_lock(self.path):
                reloaded = self._refresh()
                changed, added, *record = op()
                trials = list(self._trials)
                for t in changed:
                    trials[t.index] = t
                for t in added:
                    t.index = len(trials)
                    trials.append(t)
                rounds = self._rounds + record
                self._write(trials, rounds)
                self._rounds = rounds
                for t in changed:
                    vars(self._trials[t.index]).update(vars(t))
                self._trials.extend(added)
                touched = [self._trials[t.index] for t in changed] + added
            if reloaded:
                self._notify("reload", list(self._trials))
        self._notify(event, touched)
        return touched

    # ----------------------------------------------------------------- display
    def summary(self) -> dict[str, Any]:
        """Counts by status, the best observed objective value so far and the number of bandit
        rounds."""
        trials = self.trials
        counts = {s: sum(t.status == s for t in trials) for s in (RUNNING, COMPLETED, FAILED,
                                                                    ABANDONED)}
        return {"trials": len(trials), **counts, "best_observed": best_observed(self, trials),
                "rounds": len(self._rounds)}

    def __repr__(self) -> str:
        s = self.summary()
        best = s["best_observed"]
        best_text = "" if best is None else f", best {self.objective.metric}={best:.6g}"
        if s["rounds"]:  # one arm's lucky round is no "best": exp.best() shrinks and pools
            best_text = f", {s['rounds']} bandit rounds"
        return (
            f"<axnb.Experiment '{self.name}': {s['trials']} trials ({s[COMPLETED]} completed, "
            f"{s[RUNNING]} running, {s[FAILED]} failed){best_text}; file {self.path}>"
        )


def best_observed(exp: Experiment, trials: list[Trial] | None = None) -> float | None:
    """Best observed value of the first objective among completed trials that satisfy the
    outcome constraints (cheap; no model). None when there is none."""
    trials = exp.trials if trials is None else trials
    objective = exp.objective
    values = [
        t.result[objective.metric][0]
        for t in trials
        if t.is_completed and t.result and objective.metric in t.result
        and all(
            c.metric in t.result and c.satisfied(t.result[c.metric][0])
            for c in exp.outcome_constraints
        )
    ]
    if not values:
        return None
    return min(values) if objective.minimize else max(values)


def load(path: str | os.PathLike[str]) -> Experiment:
    """Reopen a saved experiment from its JSON file."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"No experiment file at {path}.")
    data = storage.read(path)
    try:
        return Experiment.from_config(data["config"], path=path)
    except (KeyError, TypeError) as e:
        raise CorruptFileError(
            f"Cannot read the configuration in {path} ({e!r}). The file was left untouched."
        ) from None


# --------------------------------------------------------------------- argument checks
def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Experiment name must be a non-empty string, got {name!r}.")
    if any(ch in name for ch in "/\\\0") or name in (".", ".."):
        raise ValueError(
            f"Experiment name {name!r} contains a path separator: give a plain name and put "
            f"the folder in path=."
        )
    return name


def _check_optional_int(value: Any, what: str, minimum: int) -> int | None:
    if value is None:
        return None
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum} or None, got {value!r}.")
    return value


def _check_count(n: Any, what: str = "n") -> int:
    n = plain(n)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}.")
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


def _text(reason: Any) -> str | None:
    return None if reason is None else str(reason)


def _resolve_path(path: str | os.PathLike[str] | None, name: str) -> Path:
    if path is None:
        return storage.default_path(name).resolve()
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / f"{name}{storage.SUFFIX}"
    return p.resolve()


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
        return [Objective(name, bool(minimize))]
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
