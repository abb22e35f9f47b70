"""Python predicate constraints: ``f(params) -> bool`` next to the linear strings.

    constraints=["x1 + x2 <= 1", lambda p: p["hidden"] % p["heads"] == 0]

A predicate is a parameter constraint like a linear one: no suggestion violates it and
``attach`` of a violating point raises. A file cannot hold a function, so it records the
predicate's name and source text (``{"predicate": "divisible", "source": "def ..."}``);
reopening the experiment needs the function again (``axnb.load(path, constraints=[f])``),
matched by name (a lambda: by its place among the lambdas). Until then the predicate is
*unbound*: the experiment can be read and plotted, but anything that must check the
constraint (``suggest``, ``attach``) raises an error saying how to supply it.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from axnb.errors import ConstraintError
from axnb.space import short_repr

Func = Callable[[dict[str, Any]], Any]
#: The name a lambda is recorded under (they have none of their own).
LAMBDA = "<lambda>"


@dataclass(frozen=True, eq=False)
class Predicate:
    """A Python parameter constraint: ``func(params)`` is truthy where a point is allowed.

    ``name`` and ``source`` are what the file records; ``func`` is None while unbound (a
    file reopened without the function)."""

    name: str
    source: str
    func: Func | None = None

    @property
    def text(self) -> dict[str, str]:
        """The file's form of the constraint."""
        return {"predicate": self.name, "source": self.source}

    @property
    def label(self) -> str:
        """How messages name it."""
        return f"'{self.name}'" if self.name != LAMBDA else f"lambda {short_repr(self.source)}"

    def satisfied(self, params: Mapping[str, Any]) -> bool:
        """Whether the predicate allows ``params`` (an exception in it is an error)."""
        if self.func is None:
            raise ConstraintError(unbound_message([self]))
        try:
            return bool(self.func(dict(params)))
        except Exception as e:
            raise ConstraintError(
                f"Constraint {self.label} raised {type(e).__name__}: {e} at {dict(params)}. A "
                f"predicate must return True or False at every point of the search space."
            ) from e

    def check(self, params: Mapping[str, Any]) -> None:
        """Raise ``ConstraintError`` when ``params`` violate the predicate."""
        if not self.satisfied(params):
            raise ConstraintError(
                f"Parameters {dict(params)} violate constraint {self.label} (it returned "
                f"False)."
            )

    def same_as(self, other: Predicate) -> bool:
        """Same name and source text (how two configurations compare)."""
        return self.name == other.name and _squash(self.source) == _squash(other.source)


def is_predicate_spec(spec: Any) -> bool:
    """Whether a constraint given to an experiment is a predicate (a callable, a
    ``Predicate`` or a file's record of one) rather than a linear string."""
    return (callable(spec) or isinstance(spec, Predicate)
            or (isinstance(spec, Mapping) and "predicate" in spec))


def make(spec: Any) -> Predicate:
    """A ``Predicate`` from a function, a ``Predicate`` or a file's record (unbound)."""
    if isinstance(spec, Predicate):
        return spec
    if isinstance(spec, Mapping):
        name, source = spec.get("predicate"), spec.get("source")
        if not isinstance(name, str) or not name or not isinstance(source, str):
            raise ConstraintError(
                f"A predicate constraint's record must be {{'predicate': name, 'source': "
                f"text}}, got {short_repr(dict(spec))}."
            )
        return Predicate(name, source)
    if not callable(spec):
        raise ConstraintError(f"A predicate constraint must be callable, got {short_repr(spec)}.")
    name = getattr(spec, "__name__", None) or type(spec).__name__
    return Predicate(name, source_of(spec), spec)


def source_of(func: Any) -> str:
    """The source text of a function (a lambda: just the lambda), or its repr when Python
    cannot find it (defined in a console, or a builtin)."""
    try:
        text = textwrap.dedent(inspect.getsource(func)).strip()
    except (OSError, TypeError):
        return repr(func)
    if getattr(func, "__name__", None) != LAMBDA:
        return text
    lambdas = _lambdas(text)
    code = getattr(func, "__code__", None)
    if len(lambdas) > 1 and code is not None:  # several on the line: the one with this body
        lambdas = [s for s in lambdas if _same_code(s, code)] or lambdas
    return lambdas[0] if lambdas else text


def _lambdas(text: str) -> list[str]:
    """Source segments of the lambdas in ``text`` (which may be a fragment of a call)."""
    for candidate in (text, f"({text})", text.rstrip(",)]") + ")", text.rstrip(",)]")):
        try:
            tree = ast.parse(candidate)
        except SyntaxError:
            continue
        found = [ast.get_source_segment(candidate, n) for n in ast.walk(tree)
                 if isinstance(n, ast.Lambda)]
        return [s for s in found if s]
    return []


def _same_code(segment: str, code: Any) -> bool:
    try:
        compiled = compile(segment, "<predicate>", "eval")
    except SyntaxError:
        return False
    inner = [c for c in compiled.co_consts if hasattr(c, "co_code")]
    return bool(inner) and inner[0].co_code == code.co_code


def _squash(source: str) -> str:
    return " ".join(source.split())


def unbound_message(unbound: Sequence[Predicate], path: Any = None) -> str:
    """The error when an experiment's predicates are not supplied."""
    where = f"axnb.load({str(path)!r}, constraints=[...])" if path else (
        "axnb.load(path, constraints=[...])")
    listing = "\n".join(f"  {p.label}:\n    " + p.source.replace("\n", "\n    ")
                        for p in unbound)
    return (
        f"This experiment has Python constraint(s) that a file cannot hold:\n{listing}\n"
        f"Give the function(s) again: {where}, with each named function under its name and "
        f"the lambdas in their order (or re-run the cell that creates the experiment)."
    )


def bind(recorded: Sequence[Predicate], supplied: Iterable[Any]) -> list[Predicate]:
    """The recorded predicates with the supplied functions: a named function matches the
    record of its name, a lambda the next recorded lambda. Raises naming what does not
    match; a record left without a function stays unbound."""
    given = [make(f) for f in supplied]
    bad = [g for g in given if g.func is None]
    if bad:
        raise ConstraintError(f"constraints= takes functions, got {[b.text for b in bad]}.")
    named = {g.name: g for g in given if g.name != LAMBDA}
    lambdas = [g for g in given if g.name == LAMBDA]
    out = []
    for r in recorded:
        g = lambdas.pop(0) if r.name == LAMBDA and lambdas else named.pop(r.name, None)
        if g is None:
            out.append(r)
            continue
        if not g.same_as(r):
            raise ConstraintError(
                f"The constraint {g.label} given differs from the one the experiment was run "
                f"with:\n  recorded: {r.source}\n  given:    {g.source}\nGive the recorded "
                f"one; to change the constraint, exp.change_parameters(parameters, "
                f"constraints=[...])."
            )
        out.append(Predicate(r.name, r.source, g.func))
    extra = [*named, *(["<lambda>"] * len(lambdas))]
    if extra:
        raise ConstraintError(
            f"constraints= gives {extra}, which the experiment does not have (it has "
            f"{[r.name for r in recorded]})."
        )
    return out
