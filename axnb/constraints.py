"""Linear parameter constraints and outcome constraints, parsed safely with ``ast``.

Any linear form is accepted, with terms on either side::

    "x1 - x2 >= 1"        "2*w1 + 0.5*w2 <= 1.5"        "w1 + w2 + w3 == 1"        "x <= y + 0.5"

Each becomes ``sum(coefficients[name] * value) <op> bound`` with ``op`` one of ``"<="`` or
``"=="`` (``>=`` is stored as ``<=`` with the signs flipped). Nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from axnb.errors import ConstraintError

if TYPE_CHECKING:
    from axnb.space import SearchSpace

ACCEPTED_FORMS = (
    "Accepted forms: 'x1 - x2 >= 1', '2*w1 + 0.5*w2 <= 1.5', 'w1 + w2 + w3 == 1', "
    "'x <= y + 0.5' — a linear expression of Range or Int parameters (not log-scale) "
    "on each side of <=, >= or ==."
)
OUTCOME_FORMS = "Accepted forms: 'latency <= 20', 'acc >= 0.9' (one metric, <= or >=, a number)."

#: Default tolerance for checking constraints on suggested and attached points.
TOLERANCE = 1e-6

_LONE_EQUALS = re.compile(r"(?<![<>=!])=(?!=)")


class _NotLinear(Exception):
    pass


@dataclass(frozen=True)
class LinearConstraint:
    """``sum(coefficients[p] * p) <op> bound`` with ``op`` in ``{"<=", "=="}``."""

    coefficients: dict[str, float]
    op: str
    bound: float
    text: str

    def lhs(self, params: Mapping[str, Any]) -> float:
        """Left-hand side evaluated at ``params``."""
        return math.fsum(c * float(params[name]) for name, c in self.coefficients.items())

    def violation(self, params: Mapping[str, Any]) -> float:
        """How far ``params`` are from satisfying the constraint (0 when satisfied)."""
        gap = self.lhs(params) - self.bound
        return abs(gap) if self.op == "==" else max(gap, 0.0)

    def satisfied(self, params: Mapping[str, Any], tol: float = TOLERANCE) -> bool:
        scale = max(1.0, abs(self.bound))
        return self.violation(params) <= tol * scale

    def check(self, params: Mapping[str, Any], tol: float = TOLERANCE) -> None:
        """Raise ``ConstraintError`` when ``params`` violate the constraint."""
        if not self.satisfied(params, tol):
            values = ", ".join(f"{n}={params[n]!r}" for n in self.coefficients)
            raise ConstraintError(
                f"Parameters violate constraint '{self.text}' ({values}: left side "
                f"{self.lhs(params):.6g}, bound {self.bound:.6g})."
            )

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(frozen=True)
class OutcomeConstraint:
    """``metric <op> bound`` with ``op`` in ``{"<=", ">="}``, on a metric's mean."""

    metric: str
    op: str
    bound: float
    text: str

    def satisfied(self, value: float) -> bool:
        return value <= self.bound if self.op == "<=" else value >= self.bound


def _normalize(text: str) -> str:
    return _LONE_EQUALS.sub("==", text.strip())


def _split(text: str, forms: str) -> tuple[ast.expr, str, ast.expr]:
    if not isinstance(text, str) or not text.strip():
        raise ConstraintError(f"A constraint must be a non-empty string, got {text!r}. {forms}")
    try:
        tree = ast.parse(_normalize(text), mode="eval").body
    except SyntaxError:
        raise ConstraintError(f"Cannot parse constraint {text!r}. {forms}") from None
    if not isinstance(tree, ast.Compare) or len(tree.ops) != 1:
        raise ConstraintError(
            f"Constraint {text!r} needs exactly one comparison (<=, >= or ==). {forms}"
        )
    op = tree.ops[0]
    if isinstance(op, (ast.Lt, ast.Gt)):
        raise ConstraintError(
            f"Constraint {text!r} uses a strict comparison: use <= or >= instead. {forms}"
        )
    symbol = {ast.LtE: "<=", ast.GtE: ">=", ast.Eq: "=="}.get(type(op))
    if symbol is None:
        raise ConstraintError(f"Constraint {text!r}: unsupported comparison. {forms}")
    return tree.left, symbol, tree.comparators[0]


def _linearize(node: ast.expr) -> tuple[dict[str, float], float]:
    """Coefficients and constant of a linear expression; raise ``_NotLinear`` otherwise."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _NotLinear(f"{node.value!r} is not a number")
        return {}, float(node.value)
    if isinstance(node, ast.Name):
        return {node.id: 1.0}, 0.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        terms, const = _linearize(node.operand)
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        return {k: sign * v for k, v in terms.items()}, sign * const
    if isinstance(node, ast.BinOp):
        lt, lc = _linearize(node.left)
        rt, rc = _linearize(node.right)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            sign = 1.0 if isinstance(node.op, ast.Add) else -1.0
            terms = dict(lt)
            for k, v in rt.items():
                terms[k] = terms.get(k, 0.0) + sign * v
            return terms, lc + sign * rc
        if isinstance(node.op, ast.Mult):
            if lt and rt:
                raise _NotLinear("a product of two parameters")
            if lt:
                return {k: v * rc for k, v in lt.items()}, lc * rc
            return {k: v * lc for k, v in rt.items()}, lc * rc
        if isinstance(node.op, ast.Div):
            if rt:
                raise _NotLinear("division by a parameter")
            if rc == 0:
                raise _NotLinear("division by zero")
            return {k: v / rc for k, v in lt.items()}, lc / rc
        if isinstance(node.op, ast.Pow) and not lt and not rt:
            return {}, lc**rc
        raise _NotLinear(f"operator {type(node.op).__name__}")
    raise _NotLinear(f"expression {ast.unparse(node)!r}")


def _linear_form(text: str, forms: str) -> tuple[dict[str, float], str, float]:
    """``lhs - rhs`` as (coefficients, op, bound) with zero coefficients dropped."""
    left, op, right = _split(text, forms)
    try:
        lt, lc = _linearize(left)
        rt, rc = _linearize(right)
    except _NotLinear as e:
        raise ConstraintError(f"Constraint {text!r} is not linear ({e}). {forms}") from None
    terms = dict(lt)
    for k, v in rt.items():
        terms[k] = terms.get(k, 0.0) - v
    terms = {k: v for k, v in terms.items() if v != 0.0}
    bound = rc - lc
    if not all(math.isfinite(v) for v in [*terms.values(), bound]):
        raise ConstraintError(f"Constraint {text!r} has non-finite numbers. {forms}")
    return terms, op, bound


def parse_constraint(spec: str | LinearConstraint, space: SearchSpace) -> LinearConstraint:
    """Parse a linear parameter constraint against ``space``.

    >>> from axnb.space import SearchSpace, Range
    >>> s = SearchSpace([Range("x", 0, 1), Range("y", 0, 1)])
    >>> parse_constraint("x <= y + 0.5", s)
    LinearConstraint(coefficients={'x': 1.0, 'y': -1.0}, op='<=', bound=0.5, text='x <= y + 0.5')
    """
    from axnb.space import Fixed, Int, Range

    if isinstance(spec, LinearConstraint):
        spec = spec.text
    if isinstance(spec, Mapping) and "text" in spec:
        spec = spec["text"]
    terms, op, bound = _linear_form(spec, ACCEPTED_FORMS)
    for name in list(terms):
        if name not in space:
            raise ConstraintError(
                f"Constraint {spec!r} names unknown parameter '{name}'; the parameters are "
                f"{space.names}. {ACCEPTED_FORMS}"
            )
        p = space[name]
        if isinstance(p, Fixed):
            if isinstance(p.value, bool) or not isinstance(p.value, (int, float)):
                raise ConstraintError(
                    f"Constraint {spec!r} uses fixed parameter '{name}' whose value is not a "
                    f"number. {ACCEPTED_FORMS}"
                )
            bound -= terms.pop(name) * float(p.value)
        elif not isinstance(p, (Range, Int)):
            raise ConstraintError(
                f"Constraint {spec!r} uses choice parameter '{name}': only Range and Int "
                f"parameters can appear in linear constraints. {ACCEPTED_FORMS}"
            )
        elif p.log:
            raise ConstraintError(
                f"Constraint {spec!r} uses log-scale parameter '{name}': a linear constraint "
                f"is not linear in log space. Use log=False for '{name}' or drop the "
                f"constraint. {ACCEPTED_FORMS}"
            )
    if not terms:
        raise ConstraintError(
            f"Constraint {spec!r} involves no tunable parameter. {ACCEPTED_FORMS}"
        )
    if op == ">=":
        terms = {k: -v for k, v in terms.items()}
        bound = -bound
        op = "<="
    ordered = {n: terms[n] for n in space.names if n in terms}
    return LinearConstraint(ordered, op, bound, spec.strip())


def parse_outcome_constraint(spec: str | OutcomeConstraint) -> OutcomeConstraint:
    """Parse ``"metric <= bound"`` or ``"metric >= bound"`` (either side, any scaling).

    >>> parse_outcome_constraint("20 >= latency")
    OutcomeConstraint(metric='latency', op='<=', bound=20.0, text='20 >= latency')
    """
    if isinstance(spec, OutcomeConstraint):
        return spec
    if isinstance(spec, str) and "%" in spec:
        raise ConstraintError(
            f"Outcome constraint {spec!r}: relative (%) constraints are not supported; give "
            f"an absolute bound. {OUTCOME_FORMS}"
        )
    terms, op, bound = _linear_form(spec, OUTCOME_FORMS)
    if op == "==":
        raise ConstraintError(
            f"Outcome constraint {spec!r} uses ==: outcomes can only be bounded with <= or "
            f">=. {OUTCOME_FORMS}"
        )
    if len(terms) != 1:
        raise ConstraintError(
            f"Outcome constraint {spec!r} must name exactly one metric. {OUTCOME_FORMS}"
        )
    (metric, coef), = terms.items()
    bound = bound / coef
    if coef < 0:
        op = "<=" if op == ">=" else ">="
    return OutcomeConstraint(metric, op, bound, spec.strip())
