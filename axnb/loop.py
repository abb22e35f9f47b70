"""Loops: ``Experiment.run`` and the Ax-compatible ``optimize``.

``run`` keeps up to ``parallel`` evaluations in flight on any ``concurrent.futures.Executor``
(thread or process pool, a Dask client's ``get_executor()``), asks the experiment for new
suggestions as slots free up (running trials are pending points), and records each result as
it arrives. An exception in the evaluation function fails that trial with its traceback; the
loop goes on. Ctrl-C abandons the trials in flight (the file stays consistent) and re-raises.

Several kernels on one file. Every trial a loop creates records the loop's process as its
owner (``axnb.storage.process_owner``). Before it starts, a loop deals with the trials that
other loops left running when their process ended - a killed or restarted kernel - on this
machine (``Experiment.stale``): by default it abandons them, with a warning naming them
(``stale="abandon"``: re-evaluating a point that may have killed the kernel could kill it
again), or it claims and evaluates them again (``stale="rerun"``), or leaves them
(``"keep"``). Trials of a loop that still runs, in this kernel or another, are never touched,
and neither are ask/tell trials (``exp.abandon_stale(older_than=...)`` is the explicit way).
Points attached without a result (``exp.queued``) are claimed and evaluated before any new
suggestion, each by one loop only.
``optimize``'s ``total_trials`` counts the trials in the file that are not abandoned, checked
under the file lock at each suggestion, so two kernels running the same ``optimize`` share the
work and stop at ``total_trials`` together. At the end of a run a big experiment's journal is
folded into its JSON file (see ``axnb.storage``); a run whose every trial failed ends with one
warning that shows the first failure.

At interpreter exit (a script that ends, a kernel shut down) background runs are asked to stop
and given ``EXIT_TIMEOUT`` seconds to finish the trials in flight (``stop_at_exit``; the live
widgets' threads use it too), rather than being killed mid-way, which leaves trials running
and can abort the process from inside torch ("terminate called without an active exception").
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import inspect
import json
import pickle
import threading
import time
import traceback
import types
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, NamedTuple

from axnb import storage
from axnb.errors import TrialError
from axnb.space import Parameter, Value, plain

if TYPE_CHECKING:
    from axnb.experiment import Experiment
    from axnb.trial import Trial

Evaluation = Callable[[dict[str, Value]], Any]


class RunHandle:
    """A run going on in a background thread: ``wait()``, ``stop()``, ``done``.

    Its repr says how far the run is (``<axnb.RunHandle running: 3 of 10 trials done, 2
    running>``). Shown as the last expression of a notebook cell, that line is kept up to
    date in that cell as the trials finish, and the run's progress bar is drawn in the cell
    that started the run (not under whichever cell runs when the first trial ends).
    """

    def __init__(self, runner: _Runner) -> None:
        self._runner = runner
        self._displays: list[Any] = []  # IPython display handles showing this run
        self._ended = False  # the run is over (set by its thread just before it ends)
        runner.on_tick = self._update_displays
        runner.open_bar()  # here, in the caller's thread (and notebook cell)
        self._thread = threading.Thread(target=self._run, name="axnb-run", daemon=True)
        self._thread.start()
        stop_at_exit(runner.stop.set, self._thread.join)

    def _run(self) -> None:
        try:
            self._runner.run_catching()
        finally:
            self._ended = True
            self._update_displays()

    def _ipython_display_(self) -> None:
        """Show the repr in a notebook with a display id, so that it can be updated."""
        from IPython.display import display

        self._displays.append(display({"text/plain": repr(self)}, raw=True, display_id=True))
        if self.done:  # finished meanwhile: the thread's last update may have been missed
            self._update_displays()

    def _update_displays(self) -> None:
        text = repr(self)
        for handle in list(self._displays):
            with contextlib.suppress(Exception):  # a closed notebook: nothing to update
                handle.update({"text/plain": text}, raw=True)

    @property
    def done(self) -> bool:
        """True once the run has finished (all trials evaluated, or stopped)."""
        return self._ended or not self._thread.is_alive()

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the loop itself, if any (trial failures are not errors)."""
        return self._runner.error

    @property
    def trials(self) -> list[Trial]:
        """Trials this run created so far."""
        return list(self._runner.launched)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (or ``timeout`` seconds pass); True when it ended.
        Re-raises an error that ended the loop."""
        self._thread.join(timeout)
        if self.done and self._runner.error is not None:
            raise self._runner.error
        return self.done

    def stop(self, wait: bool = True) -> None:
        """Start no new trials; the ones in flight finish and are recorded."""
        self._runner.stop.set()
        if wait:
            self._thread.join()

    def __repr__(self) -> str:
        runner = self._runner
        finished = runner.completed + len(runner.failures)
        state = "done" if self.done else "running"
        if self.done and runner.stop.is_set() and finished < runner.total:
            state = "stopped"
        text = f"<axnb.RunHandle {state}: {finished} of {runner.total} trials done"
        if runner.failures:
            text += f" ({len(runner.failures)} failed)"
        inflight = len(runner.launched) - finished
        if inflight > 0 and not self.done:
            text += f", {inflight} running"
        if self.done and runner.error is not None:
            text += f"; ended by {type(runner.error).__name__}: {runner.error}"
        return text + ">"


class _Runner:
    def __init__(
        self,
        exp: Experiment,
        f: Evaluation,
        trials: int,
        parallel: int,
        executor: Executor | None,
        progress: bool,
        stale: str = "abandon",
        limit: int | None = None,
    ) -> None:
        self.exp, self.f, self.total, self.parallel = exp, f, trials, parallel
        self.executor = executor
        self.progress = progress
        self.stale, self.limit = stale, limit
        self.stop = threading.Event()
        self.launched: list[Trial] = []
        self.error: BaseException | None = None
        self.completed = 0  # trials this run evaluated and recorded as completed
        self.failures: list[str] = []  # "Type: message" of each trial this run failed
        self.bar: Any = None
        self.on_tick: Callable[[], None] | None = None  # after each trial (RunHandle)

    def open_bar(self) -> None:
        """Make the progress bar (none when there is nothing to run). In a notebook the bar
        is displayed where it is made: a background run makes it in the caller's thread, so
        that it lands in the cell that started the run."""
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=self.total, desc=self.exp.name, leave=True,
                            disable=not self.progress or self.total == 0)

    def run_catching(self) -> None:
        try:
            self.run()
        except BaseException as e:  # surfaced by RunHandle.wait()
            self.error = e

    def run(self) -> None:
        from axnb.experiment import best_observed

        self.open_bar()
        bar = self.bar
        own = None
        executor = self.executor
        if executor is None and self.parallel > 1:
            executor = own = ThreadPoolExecutor(self.parallel, thread_name_prefix="axnb-eval")
        inflight: dict[Future, Trial] = {}
        waiting: list[Trial] = []  # suggested, neither evaluated nor submitted yet
        owner = storage.process_owner()
        exhausted = False  # optimize(): total_trials reached in the file (maybe by others)
        try:
            again = self._stale_trials(owner)
            while True:
                free = min(self.parallel - len(inflight), self.total - len(self.launched))
                if free > 0 and not self.stop.is_set() and not exhausted:
                    if again:
                        new, again = again[:free], again[free:]
                    else:  # must-try points first (attached without a result), then new ones
                        new = self.exp._claim_queued(owner, free)
                        if not new:
                            new = self.exp._suggest(free, {}, owner=owner, limit=self.limit)
                            exhausted = len(new) < free
                    self.launched.extend(new)
                    waiting = list(new)
                    while waiting:
                        trial = waiting[0]
                        if executor is None:
                            self._evaluate_inline(trial)
                            self._tick(bar, best_observed(self.exp))
                        else:  # may raise, e.g. a pool shut down at interpreter exit
                            inflight[executor.submit(self.f, dict(trial.parameters))] = trial
                        waiting.pop(0)
                    if new:
                        continue
                if not inflight:
                    break
                finished, _ = wait(list(inflight), timeout=1.0, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._record(inflight.pop(future), future)
                    self._tick(bar, best_observed(self.exp))
        except BaseException:
            for future in inflight:
                future.cancel()
            for trial in [*inflight.values(), *waiting]:
                _abandon_quietly(self.exp, trial, "interrupted: the loop stopped")
            raise
        finally:
            bar.close()
            if own is not None:
                own.shutdown(wait=False, cancel_futures=True)
        try:
            self.exp._fold_journal()
        except OSError as e:  # every result is saved already, in the journal
            warnings.warn(f"axnb: could not rewrite {self.exp.path} at the end of the run "
                          f"({e}); every result is saved in its journal.", stacklevel=3)
        if self.failures and not self.completed:
            n = len(self.failures)
            warnings.warn(
                f"axnb: {f'all {n} trials' if n > 1 else 'the one trial'} of this run failed. "
                f"Check the evaluation function: a failed trial's reason holds its traceback "
                f"(exp.trials[i].reason, or the 'reason' column of exp.to_dataframe()). The "
                f"first failure: {self.failures[0]}",
                UserWarning,
                stacklevel=4,
            )

    def _stale_trials(self, owner: dict[str, Any]) -> list[Trial]:
        """Deal with trials left running by loops whose process ended; those to run again."""
        if self.stale == "keep":
            return []
        if self.stale == "abandon":
            gone = self.exp.abandon_stale()
            if gone:
                warnings.warn(
                    f"axnb: abandoned trial(s) {[t.index for t in gone]} of "
                    f"{self.exp.path.name}, left running by a loop whose process ended (a "
                    f"killed or restarted kernel). run(..., stale='rerun') evaluates such "
                    f"trials again instead.",
                    UserWarning, stacklevel=4,
                )
            return []
        claimed = self.exp._claim_stale(owner, self.total)
        if claimed:
            warnings.warn(
                f"axnb: evaluating again trial(s) {[t.index for t in claimed]} of "
                f"{self.exp.path.name}, left running by a loop whose process ended.",
                UserWarning, stacklevel=4,
            )
        return claimed

    def _tick(self, bar: Any, best: float | None) -> None:
        bar.update(1)
        if best is not None:
            bar.set_postfix({f"best {self.exp.objective.metric}": f"{best:.6g}"}, refresh=True)
        if self.on_tick is not None:
            self.on_tick()

    def _evaluate_inline(self, trial: Trial) -> None:
        try:
            value = self.f(dict(trial.parameters))
        except Exception as e:
            self._fail(trial, e, _format(e))
            return
        self._complete(trial, value)

    def _record(self, trial: Trial, future: Future) -> None:
        error = future.exception()
        if error is not None:
            self._fail(trial, error, _format(error))
            if _is_pickling_error(error):
                raise ValueError(
                    "The evaluation function or its result cannot be sent to the executor's "
                    "worker processes (it cannot be pickled). Define the function at module "
                    "top level (not a lambda or a function defined in a notebook cell for a "
                    "process pool), or use a thread pool / parallel= without executor=."
                ) from error
            return
        self._complete(trial, future.result())

    def _complete(self, trial: Trial, value: Any) -> None:
        try:
            self.exp.complete(trial.index, value)
            self.completed += 1
        except TrialError as e:
            status = self.exp.trial(trial.index).status
            if status != "running":  # finished elsewhere meanwhile
                warnings.warn(
                    f"axnb: the result of trial {trial.index} ({value!r}) was not recorded: the "
                    f"trial is {status} (changed by another kernel or process while it ran).",
                    stacklevel=2,
                )
                return
            self._fail(trial, e, f"invalid result {value!r}: {e}")

    def _fail(self, trial: Trial, error: BaseException, reason: str) -> None:
        """Fail ``trial`` with ``reason`` (a traceback) and remember ``error`` for the
        warning that ends a run whose every trial failed."""
        self.failures.append(f"{type(error).__name__}: {error}")
        _fail_quietly(self.exp, trial, reason)


def _format(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)).rstrip()


def _is_pickling_error(error: BaseException) -> bool:
    text = str(error)
    return isinstance(error, pickle.PicklingError) or (
        isinstance(error, (AttributeError, TypeError))
        and ("pickle" in text or "Can't get local object" in text)
    )


def _fail_quietly(exp: Experiment, trial: Trial, reason: str) -> None:
    if exp.trial(trial.index).status == "running":
        exp.fail(trial.index, reason=reason)


def _abandon_quietly(exp: Experiment, trial: Trial, reason: str) -> None:
    try:
        if exp.trial(trial.index).status == "running":
            exp.abandon(trial.index, reason=reason)
    except Exception:  # never mask the interrupt that got us here
        pass


#: Seconds the interpreter waits at exit, in all, for background threads to finish.
EXIT_TIMEOUT = 30.0
_exit_hooks: list[tuple[weakref.WeakMethod, weakref.WeakMethod]] = []
_exit_lock = threading.Lock()
_exit_registered = False


def stop_at_exit(stop: Callable[[], Any], join: Callable[[float], Any]) -> None:
    """At interpreter exit, call ``stop()``, then ``join(timeout)`` within ``EXIT_TIMEOUT``.

    For a background thread (a run, a widget's refresher): ``stop`` asks it to finish (e.g. an
    Event's ``set``), ``join`` waits for it (its Thread's ``join``), so it is not killed in the
    middle of its work. Both must be bound methods; only weak references to them are kept, so
    registering keeps nothing alive."""
    global _exit_registered
    with _exit_lock:
        if not _exit_registered:
            # threading's exit hooks run before the interpreter waits for non-daemon threads
            # (and shuts down thread pools): a run stopped there still gets the results of its
            # trials in flight. atexit's hooks run after that.
            register = getattr(threading, "_register_atexit", atexit.register)
            with contextlib.suppress(RuntimeError):  # already exiting: too late
                register(_stop_all)
                _exit_registered = True
        _exit_hooks[:] = [(s, j) for s, j in _exit_hooks if s() is not None and j() is not None]
        _exit_hooks.append((weakref.WeakMethod(stop), weakref.WeakMethod(join)))


def _stop_all(timeout: float = EXIT_TIMEOUT) -> None:
    """Stop every thread registered with ``stop_at_exit`` and wait for them, ``timeout``
    seconds in all."""
    with _exit_lock:
        hooks = [(s(), j()) for s, j in _exit_hooks]
        _exit_hooks.clear()
    hooks = [(stop, join) for stop, join in hooks if stop is not None and join is not None]
    for stop, _ in hooks:  # all at once: they wind down together
        with contextlib.suppress(Exception):
            stop()
    deadline = time.monotonic() + timeout
    for _, join in hooks:
        with contextlib.suppress(Exception):
            join(max(deadline - time.monotonic(), 0.0))


def run(
    exp: Experiment,
    f: Evaluation,
    trials: int = 30,
    parallel: int = 1,
    executor: Executor | None = None,
    background: bool = False,
    progress: bool = True,
    stale: str = "abandon",
    limit: int | None = None,
) -> RunHandle | None:
    """See ``Experiment.run``. ``limit`` (``optimize``): suggest only while the file has fewer
    than that many trials that are not abandoned."""
    if not callable(f):
        raise ValueError(f"The evaluation function must be callable, got {f!r}.")
    trials, parallel = plain(trials), plain(parallel)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 0:
        raise ValueError(f"trials must be an integer >= 0, got {trials!r}.")
    if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
        raise ValueError(f"parallel must be an integer >= 1, got {parallel!r}.")
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ValueError(
            f"executor must be a concurrent.futures.Executor (with .submit), got {executor!r}; "
            f"for Dask use client.get_executor()."
        )
    if stale not in ("abandon", "rerun", "keep"):
        raise ValueError(f"stale must be 'abandon', 'rerun' or 'keep', got {stale!r}.")
    runner = _Runner(exp, f, trials, parallel, executor, progress, stale, limit)
    if background:
        return RunHandle(runner)
    runner.run()
    return None


# --------------------------------------------------------------------- optimize()
class BestValues(tuple):
    """Ax-style ``(means, covariances)`` that also reads like ``{metric: (mean, sem)}``:
    ``values[0]["loss"]`` and ``values["loss"]`` both work."""

    def __new__(
        cls,
        result: Mapping[str, tuple[float, float | None]],
        model_sems: Mapping[str, float] | None = None,
    ) -> BestValues:
        """``model_sems`` stand in for unknown sems in the covariances (as Ax, whose best
        values are model predictions); without one the variance is NaN."""
        means = {m: mean for m, (mean, _) in result.items()}
        model_sems = model_sems or {}
        covariances = {
            m: {m: (model_sems.get(m, float("nan")) if sem is None else sem) ** 2}
            for m, (_, sem) in result.items()
        }
        obj = super().__new__(cls, (means, covariances))
        obj._result = dict(result)
        return obj

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._result[key]
        return super().__getitem__(key)

    def keys(self) -> Iterable[str]:
        return self._result.keys()

    def items(self) -> Iterable[tuple[str, tuple[float, float | None]]]:
        return self._result.items()


class Model:
    """The experiment's model, as ``optimize`` returns it (Ax's ``model``)."""

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment

    def predict(self, points: Any) -> dict[str, tuple[list, list]]:
        """``{metric: (means, sems)}`` at a parameterization or a list of them."""
        return self.experiment.predict(points)

    def __repr__(self) -> str:
        return f"<axnb.Model of experiment '{self.experiment.name}'>"


class OptimizeResult(NamedTuple):
    """What ``optimize`` returns; unpacks like Ax's 4-tuple."""

    best_parameters: dict[str, Value] | None
    values: BestValues | None
    experiment: Experiment
    model: Model

    @property
    def best_values(self) -> BestValues | None:
        return self.values


def optimize(
    parameters: Iterable[Parameter | Mapping[str, Any]],
    evaluation_function: Evaluation,
    total_trials: int = 20,
    minimize: bool = False,
    objective_name: str | None = "objective",
    constraints: Iterable[str] | None = None,
    outcome_constraints: Iterable[str] | None = None,
    seed: int | None = None,
    parallel: int = 1,
    executor: Executor | None = None,
    path: str | None = None,
    experiment_name: str | None = None,
    initial_trials: int | None = None,
    progress: bool = True,
    parameter_constraints: Iterable[str] | None = None,
    random_seed: int | None = None,
    arms_per_trial: int = 1,
    generation_strategy: Any = None,
    wait_time: float | None = None,
    run_async: bool | None = None,
    optimization_plan: Any = None,
    schedule_config: Any = None,
    stale: str = "abandon",
) -> OptimizeResult:
    """Run a whole optimization in one call, like Ax's ``optimize``.

    >>> best_parameters, values, experiment, model = optimize(          # doctest: +SKIP
    ...     parameters=[{"name": "x1", "type": "range", "bounds": [-10.0, 10.0]},
    ...                 {"name": "x2", "type": "range", "bounds": [-10.0, 10.0]}],
    ...     evaluation_function=lambda p: (p["x1"] + 2*p["x2"] - 7)**2
    ...                                   + (2*p["x1"] + p["x2"] - 5)**2,
    ...     minimize=True)

    It maximizes unless ``minimize=True``, as Ax's ``optimize`` does. The experiment is saved
    as ``<experiment_name>.axnb.json`` in the working directory (default name:
    ``optimize-<hash of the problem and the function>``; the same in every process for a
    function, a lambda, a ``functools.partial`` (its arguments count), a bound method or a
    callable object (their plain-data attributes count)). Running the same call again resumes
    it: only the trials still missing from ``total_trials`` are run; trials a killed kernel
    left running are abandoned first (``stale="rerun"`` evaluates them again; see
    ``Experiment.run``). Two kernels running the same call share the work: together they stop
    at ``total_trials`` trials (abandoned ones aside). Ax's
    ``parameter_constraints`` and ``random_seed`` are accepted as aliases; Ax's
    ``generation_strategy``, ``wait_time``, ``run_async``, ``optimization_plan`` and
    ``schedule_config`` are accepted and ignored, with one warning that says so.
    """
    from axnb.experiment import Experiment

    ignored = [name for name, value in (
        ("generation_strategy", generation_strategy), ("wait_time", wait_time),
        ("run_async", run_async), ("optimization_plan", optimization_plan),
        ("schedule_config", schedule_config)) if value is not None]
    if ignored:
        warnings.warn(
            f"axnb.optimize ignores Ax's {', '.join(ignored)}: axnb chooses its own "
            f"generation strategy (a space-filling start, then BoTorch) and runs each "
            f"evaluation as soon as a suggestion is ready; use parallel= or executor= for "
            f"concurrency.",
            UserWarning,
            stacklevel=2,
        )
    if parameter_constraints is not None:
        if constraints is not None:
            raise ValueError("Give constraints= or parameter_constraints=, not both.")
        constraints = parameter_constraints
    if random_seed is not None:
        if seed is not None:
            raise ValueError("Give seed= or random_seed=, not both.")
        seed = random_seed
    if arms_per_trial != 1:
        raise ValueError("arms_per_trial must be 1; use parallel= for batches.")
    if not callable(evaluation_function):
        raise ValueError(f"evaluation_function must be callable, got {evaluation_function!r}.")
    parameters = list(parameters)
    name = experiment_name or _default_name(
        parameters, constraints, outcome_constraints, objective_name, minimize, seed,
        evaluation_function,
    )
    exp = Experiment(
        name, parameters, constraints=constraints, objective=objective_name or "objective",
        minimize=minimize, outcome_constraints=outcome_constraints, path=path, seed=seed,
        initial_trials=initial_trials,
    )
    done = sum(t.status in ("completed", "failed") for t in exp.trials)
    if done >= total_trials and progress:
        print(f"axnb: {exp.path.name} already has {done} of {total_trials} trials done: "
              f"nothing left to run.")
    elif done and progress:
        print(f"axnb: resuming {exp.path.name} with {done} of {total_trials} trials done.")
    run(exp, evaluation_function, trials=max(total_trials - done, 0), parallel=parallel,
        executor=executor, progress=progress, stale=stale, limit=total_trials)
    best_parameters, values = None, None
    if any(t.is_completed for t in exp.trials):
        best_parameters, result = exp.best()
        values = BestValues(result, _model_sems(exp, best_parameters, result))
    return OptimizeResult(best_parameters, values, exp, Model(exp))


def _model_sems(
    exp: Experiment, params: Mapping[str, Any], result: Mapping[str, tuple[float, Any]]
) -> dict[str, float]:
    """The model's standard error at ``params`` for the metrics whose sem is unknown."""
    unknown = [m for m, (_, sem) in result.items() if sem is None]
    if not unknown:
        return {}
    try:
        predicted = exp.predict(params)
    except Exception:  # no model (e.g. one trial): the variance stays unknown
        return {}
    return {m: float(predicted[m][1][0]) for m in unknown if m in predicted}


def _default_name(*parts: Any) -> str:
    *config, f = parts
    config[0] = [p.to_dict() if isinstance(p, Parameter) else p for p in config[0]]
    blob = json.dumps(config, sort_keys=True, default=repr) + _function_key(f)
    return "optimize-" + hashlib.sha1(blob.encode()).hexdigest()[:8]


#: Most items of an object's state that go into its key (more: the class alone stands for it).
MAX_STATE_ITEMS = 1000
_PLAIN = (type(None), bool, int, float, complex, str, bytes)


def _function_key(f: Any) -> str:
    """Text that identifies an evaluation function, the same in every process (no memory
    addresses): its source (or code), plus the arguments of a ``functools.partial``, and the
    class and plain-data state of the instance of a bound method or callable object."""
    if isinstance(f, functools.partial):
        func, args, keywords = f.func, _stable_repr(f.args), _stable_repr(f.keywords)
        return f"partial({_function_key(func)}, {args}, {keywords})"
    if inspect.ismethod(f):
        owner = f.__self__
        return f"method({_qualname(owner)}, {_function_key(f.__func__)}, {_state(owner)})"
    if inspect.isfunction(f) or inspect.isclass(f):
        return _source_key(f)
    if inspect.isroutine(f):  # a builtin, e.g. math.fsum
        return f"{getattr(f, '__module__', None)}.{getattr(f, '__qualname__', f.__name__)}"
    return f"object({_qualname(f)}, {_function_key(type(f).__call__)}, {_state(f)})"


def _source_key(f: Any) -> str:
    """A function's source; its byte code and constants when the source is not available
    (``python -c``, ``exec``)."""
    try:
        return inspect.getsource(f)
    except (OSError, TypeError):
        code = getattr(f, "__code__", None)
        return _code_key(code) if code is not None else _qualname(f)


def _code_key(code: types.CodeType) -> str:
    # as repr((co_code, co_consts)), with nested code objects (lambdas, comprehensions)
    # keyed the same way instead of their repr, which holds an address
    return f"({code.co_code!r}, {_stable_repr(code.co_consts)})"


def _stable_repr(value: Any) -> str:
    """``repr(value)``, the same in every process: containers item by item (sets and dicts
    sorted), functions by their key, objects whose repr holds a memory address by their type."""
    if isinstance(value, types.CodeType):
        return _code_key(value)
    if isinstance(value, functools.partial) or inspect.isroutine(value):
        return _function_key(value)
    if type(value) is tuple:
        items = [_stable_repr(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, list):
        return f"[{', '.join(_stable_repr(v) for v in value)}]"
    if isinstance(value, (set, frozenset)):
        items = sorted(_stable_repr(v) for v in value)
        return f"{type(value).__name__}({{{', '.join(items)}}})"
    if isinstance(value, dict):
        items = sorted(f"{_stable_repr(k)}: {_stable_repr(v)}" for k, v in value.items())
        return f"{{{', '.join(items)}}}"
    text = repr(value)
    return _qualname(value) if " at 0x" in text else text


def _state(obj: Any) -> str:
    """The stable repr of ``vars(obj)`` when it is small plain data, else "" (the class alone
    stands for the object)."""
    state = getattr(obj, "__dict__", None)
    if not isinstance(state, dict) or not _is_plain(state, [MAX_STATE_ITEMS]):
        return ""
    return _stable_repr(state)


def _is_plain(value: Any, budget: list[int]) -> bool:
    """Whether ``value`` is numbers, strings and containers of them, within ``budget`` items."""
    budget[0] -= 1
    if budget[0] < 0:
        return False
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, dict):
        return all(_is_plain(k, budget) and _is_plain(v, budget) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_is_plain(v, budget) for v in value)
    return False


def _qualname(obj: Any) -> str:
    """``module.QualName`` of a class, or of an object's class."""
    cls = obj if inspect.isclass(obj) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"
