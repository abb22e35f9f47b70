"""Changing the search space mid-campaign (``exp.change_parameters``): what a change does,
and the record of it the file keeps. Pure: no I/O.

A change replaces the parameter list (and, if given, the parameter constraints). Trials are
never dropped or edited, except that a new parameter takes its default in the trials so far
(the value they ran with). A trial whose values do not fit the new space - outside narrowed
bounds, a choice value removed, a constraint now violated - stays in the file and in plots
but leaves the model (``Trial.outside``). A removed parameter's values stay in the trials.

Each change is one entry of the file's top-level ``revisions`` list::

    {"revision": 9, "at": "...", "by": "ada", "reason": "wider range",
     "what": ["'lr': bounds [0.001, 0.1] -> [0.0001, 0.1]"],
     "trials": 12,                             # trials in the experiment at the change
     "parameters": [...], "constraints": [...],  # the space before the change
     "defaults": {"dropout": 0.0}}             # what the earlier trials got for new ones
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from axnb.errors import ConstraintError, InvalidParameterError
from axnb.space import Fixed, Parameter, SearchSpace, Value, short_repr

#: The keys of one revision record.
REVISION_KEYS = frozenset({"revision", "at", "by", "reason", "what", "trials", "parameters",
                           "constraints", "defaults"})


@dataclass(frozen=True)
class Plan:
    """A change, checked: the new space, the defaults of the new parameters for the trials
    so far, the removed parameters, and what changed, in words."""

    space: SearchSpace
    defaults: dict[str, Value]
    removed: list[str]
    what: list[str]


def plan(
    old: SearchSpace,
    parameters: Iterable[Parameter | Mapping[str, Any]],
    constraints: Iterable[str] | None,
    defaults: Mapping[str, Any] | None,
) -> Plan | None:
    """Check a change of ``old`` to ``parameters`` (and ``constraints``; None keeps the old
    ones); None when nothing changes. Raises ``InvalidParameterError`` naming the problem."""
    kept = old.all_constraints() if constraints is None else list(constraints)
    try:
        space = SearchSpace.build(parameters, kept)
    except ConstraintError as e:
        if constraints is None:
            raise ConstraintError(
                f"{e} The experiment's constraints {kept} must hold in the new space: pass "
                f"constraints=[...] for it (constraints=[] for none)."
            ) from None
        raise
    if space.to_dicts() == old.to_dicts() and space.constraint_texts == old.constraint_texts:
        return None
    given = dict(defaults or {})
    added = [p for p in space.parameters if p.name not in old]
    stray = [k for k in given if k not in {p.name for p in added}]
    if stray:
        raise InvalidParameterError(
            f"defaults= names {stray}, which are not new parameters; defaults give the value "
            f"of a new parameter in the trials so far (new: {[p.name for p in added]})."
        )
    filled: dict[str, Value] = {}
    for p in added:
        if p.name in given:
            try:
                filled[p.name] = p.validate(given[p.name])
            except ValueError as e:
                raise InvalidParameterError(f"defaults['{p.name}']: {e}") from None
        elif isinstance(p, Fixed):
            filled[p.name] = p.value
        else:
            raise InvalidParameterError(
                f"Parameter '{p.name}' is new: give the value the trials so far ran with, "
                f"e.g. defaults={{'{p.name}': ...}}."
            )
    removed = [n for n in old.names if n not in space]
    return Plan(space, filled, removed, describe(old, space, filled))


def describe(old: SearchSpace, new: SearchSpace, defaults: Mapping[str, Value]) -> list[str]:
    """What changed from ``old`` to ``new``, one phrase per change."""
    out = []
    for p in new.parameters:
        if p.name not in old:
            out.append(f"added '{p.name}' ({short_repr(defaults[p.name])} in earlier trials)")
            continue
        before, after = old[p.name].to_dict(), p.to_dict()
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                out.append(f"'{p.name}': {_phrase(key)} {short_repr(before.get(key))} -> "
                           f"{short_repr(after.get(key))}")
    out += [f"removed '{n}'" for n in old.names if n not in new]
    if old.constraint_texts != new.constraint_texts:
        out.append(f"constraints {_texts(old)} -> {_texts(new)}")
    if not out and old.names != new.names:
        out.append(f"order {old.names} -> {new.names}")
    return out


def _texts(space: SearchSpace) -> list[str]:
    return [c.text for c in space.constraints] + [p.name for p in space.predicates]


def _phrase(key: str) -> str:
    return {"bounds": "bounds", "values": "values", "log_scale": "log scale",
            "type": "type", "value_type": "value type"}.get(key, key)


def fits(space: SearchSpace, parameters: Mapping[str, Any]) -> bool:
    """Whether a trial's values lie in ``space`` (bounds, values, constraints); values of
    parameters ``space`` does not have are ignored."""
    try:
        values = space.validate({n: parameters[n] for n in space.names if n in parameters},
                                check_constraints=False)
        for c in space.constraints:
            c.check(values)
        # a predicate not given again (axnb.load without it) cannot say: taken as fitting
        return all(p.satisfied(values) for p in space.predicates if p.func is not None)
    except (ValueError, KeyError):
        return False


def record(
    plan: Plan, old: SearchSpace, revision: int, at: str, by: str | None,
    reason: str | None, trials: int,
) -> dict[str, Any]:
    """The file's record of a change made at ``revision`` with ``trials`` trials."""
    return {"revision": revision, "at": at, "by": by, "reason": reason, "what": plan.what,
            "trials": trials, "parameters": old.to_dicts(),
            "constraints": old.constraint_texts, "defaults": plan.defaults}


def earlier_spaces(revisions: Iterable[Mapping[str, Any]]) -> list[SearchSpace]:
    """The spaces before each change (constraints left out: a trial is checked against the
    parameters it could have had), oldest first."""
    return [SearchSpace.build(r["parameters"]) for r in revisions]
