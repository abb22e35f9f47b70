"""The content check of an experiment file on load (its layout is ``storage``'s business).

``validate(data, path)`` checks a whole parsed file; ``TrialCheck`` checks one trial or round
against the experiment's configuration, and is also used on the journal lines another
process appends while this one runs. Every problem is a ``CorruptFileError`` naming the
file, the trial and the field; nothing is ever modified. Pure: no I/O.

Speed: a file of 100,000 trials must load in well under 3 s, so each trial first goes
through a fast path (exact types, bounds compared directly; about 2 µs) that accepts what
axnb itself writes, and only a trial it does not accept goes through the full check, which
either finds what is wrong or accepts it (an int where a float is expected, a value a hair
outside a bound, ...). Both paths guarantee that every number kept is finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from axnb.errors import CorruptFileError
from axnb.revisions import REVISION_KEYS, earlier_spaces
from axnb.space import Choice, Fixed, Int, Range, SearchSpace, is_finite_number
from axnb.trial import ACTIONS, CORRECTED, MAX_COUNT, SOURCES, STATUSES

#: The fields of a trial this version reads (see the schema in ``storage``).
#: Keys of ``config`` this version reads (see ``storage``'s module doc).
CONFIG_KEYS = frozenset({"name", "parameters", "constraints", "objectives",
                         "outcome_constraints", "seed", "initial_trials", "model",
                         "model_options", "acquisition", "acquisition_options", "tasks",
                         "related"})
TRIAL_KEYS = frozenset({"index", "parameters", "status", "source", "result", "created_at",
                        "completed_at", "reason", "batch", "weight", "counts", "owner",
                        "task",
                        "excluded", "history"})
#: The fields of an entry of a trial's ``history``.
CHANGE_KEYS = frozenset({"action", "at", "by", "reason", "result", "counts"})
_STATUSES = frozenset(STATUSES)
_SOURCES = frozenset(SOURCES)
#: Trial fields the fast path checks; a trial with any other (batch, weight, counts,
#: excluded, history) takes the full check.
_FAST_KEYS = frozenset({"index", "parameters", "status", "source", "result", "created_at",
                        "completed_at", "reason", "owner"})


def corrupt(path: Path, detail: str) -> CorruptFileError:
    """The error for a file that cannot be read as it is."""
    return CorruptFileError(
        f"Cannot read experiment file {path}: {detail}. The file was left untouched. Restore "
        f"it from a backup, or move it away (or pass another path=) to start a new experiment."
    )


def validate(data: dict[str, Any], path: Path) -> None:
    """Check the content of a parsed experiment file (what ``storage.read`` checked of its
    layout aside): the configuration parses as ``Experiment(...)`` would parse it, and every
    trial and round holds values of the right kind (parameters known, present and within
    their bounds; a known status and source; finite results with ``sem >= 0``; times that
    parse; no NaN or Infinity anywhere). Raise ``CorruptFileError`` naming the file, the
    trial and the field."""
    if "revision" in data and not (_is_int(data["revision"]) and data["revision"] >= 0):
        raise corrupt(path, f"revision: {data['revision']!r} is not a non-negative integer")
    _check_finite({k: v for k, v in data.items() if k != "trials"}, path)
    revisions = data.get("revisions", [])
    _check_revisions(revisions, path)
    check = TrialCheck(data["config"], path, revisions)
    for i, t in enumerate(data["trials"]):
        check.trial(t, i)
    for i, r in enumerate(data.get("rounds", [])):
        check.round(r, i)


class TrialCheck:
    """Checks trials and rounds against one configuration (itself checked on creation, as
    ``Experiment(...)`` would check it). With ``revisions`` (``exp.change_parameters``), a
    value is accepted if it is valid in the current space or in one before a change, and the
    parameters a change removed are known."""

    def __init__(
        self, config: Mapping[str, Any], path: Path,
        revisions: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.path = path
        self.space = _check_config(config, path)
        self.tasks = list(config.get("tasks") or [])
        self.required = frozenset(p.name for p in self.space.parameters
                                  if not isinstance(p, Fixed) and not p.when)
        self._fast = {p.name: _fast_check(p) for p in self.space.parameters}
        self._spaces = [self.space, *reversed(earlier_spaces(revisions))]
        self._known = {n for space in self._spaces for n in space.names}

    def fail(self, where: str, detail: str) -> CorruptFileError:
        return corrupt(self.path, f"{where}: {detail.rstrip('.')}")

    def trial(self, t: Any, i: int) -> None:
        """Check trial ``t``, expected at index ``i``."""
        if not self._accepts(t, i):
            self._full(t, i)

    def _accepts(self, t: Any, i: int) -> bool:
        """The fast path: True only for a trial that is certainly valid."""
        if type(t) is not dict or not t.keys() <= _FAST_KEYS:
            return False
        index, params = t.get("index"), t.get("parameters")
        if type(index) is not int or index != i or type(params) is not dict:
            return False
        if not params.keys() >= self.required:
            return False
        fast = self._fast
        for name, value in params.items():
            accept = fast.get(name)
            if accept is None or not accept(value):
                return False
        status, source = t.get("status"), t.get("source")
        if (type(status) is not str or status not in _STATUSES or type(source) is not str
                or source not in _SOURCES):
            return False
        result = t.get("result")
        if result is None:
            if status == "completed":
                return False
        elif type(result) is not dict:
            return False
        else:
            for pair in result.values():
                if type(pair) is not list or len(pair) != 2:
                    return False
                mean, sem = pair
                if type(mean) is not float or not math.isfinite(mean):
                    return False
                if sem is not None and not (type(sem) is float and 0.0 <= sem < math.inf):
                    return False
        if not (_is_time(t.get("created_at"))
                and (t.get("completed_at") is None or _is_time(t["completed_at"]))):
            return False
        reason = t.get("reason")
        if reason is not None and type(reason) is not str:
            return False
        owner = t.get("owner")
        return owner is None or _owner_ok(owner)

    def _full(self, t: Any, i: int) -> None:
        """The full check of one trial: raise naming the first problem, or return."""
        fail = self.fail
        if not isinstance(t, dict):
            raise fail(f"trials[{i}]", f"expected a trial object, got {t!r}")
        where = f"trial {i}"
        unknown = sorted(set(t) - TRIAL_KEYS)
        if unknown:
            raise CorruptFileError(
                f"{self.path}, {where} uses {unknown}, which this axnb does not know (a newer "
                f"axnb wrote it?). Upgrade axnb to open it. The file was left untouched."
            )
        _check_finite(t, self.path, where)
        missing = sorted({"index", "parameters", "status", "source", "created_at"} - set(t))
        if missing:
            raise fail(where, f"field(s) {missing} missing")
        if not _is_int(t["index"]) or t["index"] != i:
            raise fail(f"{where}, field 'index'", f"{t['index']!r} should be {i} (trials are "
                       f"numbered 0, 1, 2, ... in order)")
        params = t["parameters"]
        if not isinstance(params, dict):
            raise fail(f"{where}, field 'parameters'", f"expected an object, got {params!r}")
        unknown = [k for k in params if k not in self._known]
        if unknown:
            raise fail(f"{where}, field 'parameters'", f"unknown parameter(s) {unknown}; the "
                       f"experiment's parameters are {self.space.names}")
        absent = [n for n in self.space.names if n in self.required and n not in params]
        if absent:
            raise fail(f"{where}, field 'parameters'", f"missing parameter(s) {absent}")
        for name, value in params.items():
            problem = self._value_problem(name, value)
            if problem is not None:
                raise fail(f"{where}, field 'parameters.{name}'", problem)
        if t["status"] not in STATUSES:
            raise fail(f"{where}, field 'status'", f"{t['status']!r} is not one of "
                       f"{list(STATUSES)}")
        if t["source"] not in SOURCES:
            raise fail(f"{where}, field 'source'", f"{t['source']!r} is not one of "
                       f"{list(SOURCES)}")
        result = t.get("result")
        if result is None and t["status"] == "completed":
            raise fail(f"{where}, field 'result'", "the trial is completed but has no result")
        self._result(result, f"{where}, field 'result")
        if not _is_time(t["created_at"]):
            raise fail(f"{where}, field 'created_at'", f"{t['created_at']!r} is not an ISO "
                       f"date-time")
        if t.get("completed_at") is not None and not _is_time(t["completed_at"]):
            raise fail(f"{where}, field 'completed_at'", f"{t['completed_at']!r} is not an "
                       f"ISO date-time (or null)")
        if t.get("reason") is not None and not isinstance(t["reason"], str):
            raise fail(f"{where}, field 'reason'", f"{t['reason']!r} is not text (or null)")
        if t.get("owner") is not None and not _owner_ok(t["owner"]):
            raise fail(f"{where}, field 'owner'", f"expected {{\"host\": text, \"pid\": "
                       f"integer, \"start\": text or null}}, got {t['owner']!r}")
        task = t.get("task")
        if task is not None and task not in self.tasks:
            raise fail(f"{where}, field 'task'", f"{task!r} is not one of the experiment's "
                       f"tasks {self.tasks}" if self.tasks else f"{task!r}, but the experiment "
                       f"has no tasks")
        batch, weight = t.get("batch"), t.get("weight")
        if batch is not None and not (_is_int(batch) and batch >= 0):
            raise fail(f"{where}, field 'batch'", f"{batch!r} is not a round number >= 0")
        if weight is not None and not (is_finite_number(weight) and 0 <= weight <= 1):
            raise fail(f"{where}, field 'weight'", f"{weight!r} is not a share in [0, 1]")
        self._counts(t.get("counts"), f"{where}, field 'counts")
        excluded = t.get("excluded", False)
        if not isinstance(excluded, bool):
            raise fail(f"{where}, field 'excluded'", f"{excluded!r} is not true or false")
        if excluded and t["status"] != "completed":
            raise fail(f"{where}, field 'excluded'", f"the trial is {t['status']}; only a "
                       f"completed trial can be excluded")
        history = t.get("history", [])
        if not isinstance(history, list):
            raise fail(f"{where}, field 'history'", f"expected a list of changes, got "
                       f"{history!r}")
        for k, change in enumerate(history):
            self._change(change, f"{where}, field 'history[{k}]")

    def _value_problem(self, name: str, value: Any) -> str | None:
        """None if ``value`` is valid for parameter ``name`` in the current space or in one
        before a change; else what is wrong with it in the latest space that has ``name``."""
        problem = None
        for space in self._spaces:
            if name in space:
                try:
                    space[name].validate(value)
                    return None
                except ValueError as e:
                    problem = problem or str(e)
        return problem

    def _result(self, result: Any, field: str) -> None:
        """Check a ``{metric: [mean, sem or null]}`` (or null); ``field`` lacks its closing
        quote (a metric's name is added)."""
        if result is None:
            return
        if not isinstance(result, dict):
            raise self.fail(f"{field}'", f"expected {{metric: [mean, sem or null]}}, got "
                            f"{result!r}")
        for metric, pair in result.items():
            where = f"{field}.{metric}'"
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.fail(where, f"expected [mean, sem or null], got {pair!r}")
            mean, sem = pair
            if not is_finite_number(mean):
                raise self.fail(where, f"the mean {mean!r} is not a finite number")
            if sem is not None and not (is_finite_number(sem) and sem >= 0):
                raise self.fail(where, f"the sem {sem!r} is not a finite number >= 0 (or null)")

    def _counts(self, counts: Any, field: str) -> None:
        """Check a ``{metric: [successes, trials]}`` (or null), as ``_result``."""
        if counts is not None and not isinstance(counts, dict):
            raise self.fail(f"{field}'", f"expected {{metric: [successes, trials]}}, got "
                            f"{counts!r}")
        for metric, pair in (counts or {}).items():
            if not (isinstance(pair, list) and len(pair) == 2 and all(map(_is_int, pair))
                    and 0 <= pair[0] <= pair[1] and 0 < pair[1] <= MAX_COUNT):
                raise self.fail(f"{field}.{metric}'", f"expected [successes, trials] with 0 <= "
                                f"successes <= trials, trials > 0, got {pair!r}")

    def _change(self, change: Any, field: str) -> None:
        """Check one entry of a trial's history, as ``_result``."""
        if not isinstance(change, dict) or not change.keys() <= CHANGE_KEYS:
            raise self.fail(f"{field}'", f"expected {{\"action\", \"at\", \"by\", "
                            f"\"reason\", \"result\", \"counts\"}}, got {change!r}")
        if change.get("action") not in ACTIONS:
            raise self.fail(f"{field}.action'", f"{change.get('action')!r} is not one of "
                            f"{list(ACTIONS)}")
        if not _is_time(change.get("at")):
            raise self.fail(f"{field}.at'", f"{change.get('at')!r} is not an ISO date-time")
        for key in ("by", "reason"):
            if change.get(key) is not None and not isinstance(change[key], str):
                raise self.fail(f"{field}.{key}'", f"{change[key]!r} is not text (or null)")
        if change["action"] == CORRECTED and change.get("result") is None:
            raise self.fail(f"{field}.result'", "a correction keeps the result it replaced")
        self._result(change.get("result"), f"{field}.result")
        self._counts(change.get("counts"), f"{field}.counts")

    def round(self, r: Any, i: int) -> None:
        """Check the bandit round ``r`` (``rounds[i]``)."""
        where = f"rounds[{i}]"
        if not isinstance(r, dict):
            raise self.fail(where, f"expected a round object, got {r!r}")
        _check_finite(r, self.path, where)
        if not (_is_int(r.get("batch")) and r["batch"] >= 0):
            raise self.fail(f"{where}, field 'batch'", f"{r.get('batch')!r} is not a round "
                            f"number >= 0")
        if "created_at" in r and not _is_time(r["created_at"]):
            raise self.fail(f"{where}, field 'created_at'", f"{r['created_at']!r} is not an "
                            f"ISO date-time")
        window = r.get("window")
        if window is not None and not (_is_int(window) and window >= 1):
            raise self.fail(f"{where}, field 'window'", f"{window!r} is not a positive integer "
                            f"(or null)")


def _check_revisions(revisions: Any, path: Path) -> None:
    """Check the records of ``exp.change_parameters`` (see ``axnb.revisions``)."""

    def fail(where: str, detail: str) -> CorruptFileError:
        return corrupt(path, f"{where}: {detail.rstrip('.')}")

    if not isinstance(revisions, list):
        raise fail("revisions", f"expected a list, got {revisions!r}")
    for i, r in enumerate(revisions):
        where = f"revisions[{i}]"
        if not isinstance(r, dict) or not r.keys() <= REVISION_KEYS:
            raise fail(where, f"expected an object with keys {sorted(REVISION_KEYS)}, got {r!r}")
        for key in ("revision", "trials"):
            if not (_is_int(r.get(key)) and r[key] >= 0):
                raise fail(f"{where}.{key}", f"{r.get(key)!r} is not an integer >= 0")
        if not _is_time(r.get("at")):
            raise fail(f"{where}.at", f"{r.get('at')!r} is not an ISO date-time")
        for key in ("by", "reason"):
            if r.get(key) is not None and not isinstance(r[key], str):
                raise fail(f"{where}.{key}", f"{r[key]!r} is not text (or null)")
        if not (isinstance(r.get("what"), list) and all(isinstance(w, str) for w in r["what"])):
            raise fail(f"{where}.what", f"expected a list of text, got {r.get('what')!r}")
        if not (isinstance(r.get("constraints"), list)
                and all(isinstance(c, (str, dict)) for c in r["constraints"])):
            raise fail(f"{where}.constraints", f"expected a list of constraints, got "
                       f"{r.get('constraints')!r}")
        if not isinstance(r.get("defaults"), dict):
            raise fail(f"{where}.defaults", f"expected an object, got {r.get('defaults')!r}")
        try:
            SearchSpace.build(r.get("parameters"))
        except ValueError as e:
            raise fail(f"{where}.parameters", str(e)) from None


def _check_config(config: Any, path: Path) -> SearchSpace:
    """Parse the configuration with the checks of ``Experiment(...)``; its search space."""
    from axnb import experiment as ex
    from axnb import predicates
    from axnb.constraints import parse_constraint

    def fail(where: str, detail: str) -> CorruptFileError:
        return corrupt(path, f"{where}: {detail.rstrip('.')}")

    if not isinstance(config, dict):
        raise fail("config", f"expected an object, got {config!r}")
    try:
        ex._check_name(config.get("name"))
    except ValueError as e:
        raise fail("config.name", str(e)) from None
    parameters = config.get("parameters")
    if not isinstance(parameters, list):
        raise fail("config.parameters", f"expected a list, got {parameters!r}")
    try:
        space = SearchSpace.build(parameters)
    except ValueError as e:
        raise fail("config.parameters", str(e)) from None
    for i, (spec, p) in enumerate(zip(parameters, space.parameters)):
        if spec != p.to_dict():  # e.g. a value_type removed: an Int would come back a Range
            raise fail(f"config.parameters[{i}]", f"{spec!r} is not a parameter as axnb "
                       f"writes it ({p.to_dict()!r})")
    constraints = config.get("constraints") or []
    if not isinstance(constraints, list):
        raise fail("config.constraints", f"expected a list, got {constraints!r}")
    for i, c in enumerate(constraints):
        try:
            if isinstance(c, dict):
                space.predicates.append(predicates.make(c))
                continue
            space.constraints.append(parse_constraint(c, space))
        except ValueError as e:
            raise fail(f"config.constraints[{i}]", str(e)) from None
    objectives = config.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise fail("config.objectives", f"expected a non-empty list, got {objectives!r}")
    directions: dict[str, str] = {}
    for i, o in enumerate(objectives):
        if (not isinstance(o, dict) or set(o) != {"metric", "minimize"}
                or not isinstance(o["minimize"], bool) or not isinstance(o["metric"], str)
                or o["metric"] in directions):
            raise fail(f"config.objectives[{i}]", f"expected {{\"metric\": name, \"minimize\": "
                       f"true or false}} with a metric named once, got {o!r}")
        directions[o["metric"]] = "min" if o["minimize"] else "max"
    outcome = config.get("outcome_constraints") or None
    if outcome is not None and not isinstance(outcome, list):
        raise fail("config.outcome_constraints", f"expected a list, got {outcome!r}")
    try:
        parsed = ex._parse_objectives(None, True, directions)
    except ValueError as e:
        raise fail("config.objectives", str(e)) from None
    try:
        bounds = ex._parse_outcome_constraints(outcome, parsed, space)
    except ValueError as e:
        raise fail("config.outcome_constraints", str(e)) from None
    metrics = list(directions) + [c.metric for c in bounds if c.metric not in directions]
    try:
        ex._check_metric_names(metrics, space)
    except ValueError as e:
        raise fail("config.objectives", str(e)) from None
    for key in ("seed", "initial_trials"):
        try:
            ex._check_optional_int(config.get(key), key, minimum=0)
        except ValueError as e:
            raise fail(f"config.{key}", str(e)) from None
    for kind in ("model", "acquisition"):  # custom classes (axnb.engine.plugins)
        spec, options = config.get(kind), config.get(f"{kind}_options")
        if spec is not None and (not isinstance(spec, str) or not spec.strip()):
            raise fail(f"config.{kind}", f"expected an import path (a string), got {spec!r}")
        if options is not None and (not isinstance(options, dict) or spec is None):
            raise fail(f"config.{kind}_options", f"expected a dict of options for "
                       f"config.{kind}, got {options!r}")
    tasks = config.get("tasks")
    if tasks is not None:
        try:
            ex._check_tasks(tasks)
        except ValueError as e:
            raise fail("config.tasks", str(e)) from None
    related = config.get("related")
    if related is not None and (not isinstance(related, list) or not all(
            isinstance(p, str) and p.strip() for p in related)):
        raise fail("config.related", f"expected a list of experiment file paths, got "
                   f"{related!r}")
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise fail("config", f"keys {unknown} are not known to this axnb (a newer axnb wrote "
                   f"them): upgrade axnb to open this file")
    return space


def _fast_check(p: Any) -> Callable[[Any], bool]:
    """A predicate that accepts the values of ``p`` exactly as axnb writes them (False means
    "take the full check", not "invalid")."""
    if isinstance(p, Range):
        low, high = p.low, p.high
        return lambda v: type(v) is float and low <= v <= high
    if isinstance(p, Int):
        low, high = p.low, p.high
        return lambda v: type(v) is int and low <= v <= high
    if isinstance(p, Choice):
        by_type: dict[type, frozenset[Any]] = {}
        for value in p.values:
            by_type[type(value)] = by_type.get(type(value), frozenset()) | {value}
        return lambda v: v in by_type.get(type(v), ())
    if isinstance(p, Fixed):
        value, kind = p.value, type(p.value)
        return lambda v: type(v) is kind and v == value
    return lambda v: False


def _check_finite(node: Any, path: Path, where: str = "") -> None:
    """Raise naming the first NaN or Infinity in ``node`` (json.loads accepts them; they could
    never be saved again)."""
    quick: list[Any] = [node]
    found = False
    while quick and not found:
        item = quick.pop()
        kind = type(item)
        if kind is float:
            found = not math.isfinite(item)
        elif kind is dict:
            quick.extend(item.values())
        elif kind is list:
            quick.extend(item)
    stack: list[tuple[tuple[Any, ...], Any]] = [((), node)] if found else []
    while stack:
        keys, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            text = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)
            place = (f"{where}, field '{text.lstrip('.')}'" if where else text.lstrip("."))
            raise corrupt(path, f"{place}: {item!r} is not a valid number (NaN and Infinity "
                          f"cannot be stored; 1e400 reads as Infinity)")
        if isinstance(item, dict):
            stack.extend(((*keys, k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend(((*keys, i), v) for i, v in enumerate(item))


def _owner_ok(owner: Any) -> bool:
    return (type(owner) is dict and isinstance(owner.get("host"), str)
            and _is_int(owner.get("pid"))
            and (owner.get("start") is None or isinstance(owner["start"], str)))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_time(v: Any) -> bool:
    if type(v) is not str:
        return False
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True
