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

from axnb.errors import ConstraintError, InfeasibleError
from axnb.space import check_text, short_repr

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


class _BadNumber(Exception):
    pass


def _real(value: Any, what: str) -> float:
    """``value`` as a finite float, or ``_BadNumber`` naming ``what`` (a constant, a power)."""
    if isinstance(value, complex):
        raise _BadNumber(f"{what} is not a real number ({value!r})")
    try:
        out = float(value)
    except OverflowError:
        raise _BadNumber(f"{what} is too large for a float (beyond about ±1.8e308)") from None
    if not math.isfinite(out):
        raise _BadNumber(f"{what} is not finite")
    return out


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
    check_text(text, "Constraint", ConstraintError)
    try:
        tree = ast.parse(_normalize(text), mode="eval").body
    except SyntaxError:
        raise ConstraintError(f"Cannot parse constraint {_short(text)}. {forms}") from None
    except (RecursionError, MemoryError, ValueError) as e:
        raise ConstraintError(
            f"Cannot parse constraint {_short(text)} ({len(text)} characters): "
            f"{type(e).__name__}, it is too long or too deeply nested for Python's parser. "
            f"Combine terms (e.g. '3*x' for 'x + x + x') or split it into several "
            f"constraints. {forms}"
        ) from None
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


def _short(text: Any) -> str:
    return short_repr(text, 120)


def _linearize(node: ast.expr) -> tuple[dict[str, float], float]:
    """Coefficients and constant of a linear expression; raise ``_NotLinear`` otherwise (or
    ``_BadNumber`` for a number that is not a finite float).

    A long sum ``a + b + c + ...`` (a left-deep tree) is walked in a loop, so a constraint
    with thousands of terms does not exhaust Python's recursion limit.
    """
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        parts: list[tuple[float, ast.expr]] = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            parts.append((1.0 if isinstance(node.op, ast.Add) else -1.0, node.right))
            node = node.left
        terms, const = _linearize(node)
        terms = dict(terms)
        for sign, part in reversed(parts):
            rt, rc = _linearize(part)
            for k, v in rt.items():
                terms[k] = terms.get(k, 0.0) + sign * v
            const = const + sign * rc
        return terms, const
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _NotLinear(f"{node.value!r} is not a number")
        return {}, _real(node.value, f"the number {short_repr(node.value)}")
    if isinstance(node, ast.Name):
        return {node.id: 1.0}, 0.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        terms, const = _linearize(node.operand)
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        return {k: sign * v for k, v in terms.items()}, sign * const
    if isinstance(node, ast.BinOp):
        lt, lc = _linearize(node.left)
        rt, rc = _linearize(node.right)
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
            what = _short(ast.unparse(node))
            try:
                return {}, _real(lc**rc, what)
            except ZeroDivisionError:
                raise _BadNumber(f"{what} divides by zero") from None
            except OverflowError:
                raise _BadNumber(f"{what} is too large for a float (beyond about ±1.8e308)") \
                    from None
        raise _NotLinear(f"operator {type(node.op).__name__}")
    raise _NotLinear(f"expression {ast.unparse(node)!r}")


def _linear_form(text: str, forms: str) -> tuple[dict[str, float], str, float]:
    """``lhs - rhs`` as (coefficients, op, bound) with zero coefficients dropped."""
    left, op, right = _split(text, forms)
    try:
        lt, lc = _linearize(left)
        rt, rc = _linearize(right)
    except _NotLinear as e:
        raise ConstraintError(f"Constraint {_short(text)} is not linear ({e}). {forms}") \
            from None
    except _BadNumber as e:
        raise ConstraintError(
            f"Constraint {_short(text)}: {e}. Write plain finite numbers (within about "
            f"±1.8e308; rescale the parameters if you need larger ones). {forms}"
        ) from None
    except RecursionError:
        raise ConstraintError(
            f"Constraint {_short(text)} is too deeply nested to read: remove parentheses "
            f"or split it into several constraints. {forms}"
        ) from None
    terms = dict(lt)
    for k, v in rt.items():
        terms[k] = terms.get(k, 0.0) - v
    terms = {k: v for k, v in terms.items() if v != 0.0}
    bound = rc - lc
    if not all(math.isfinite(v) for v in [*terms.values(), bound]):
        raise ConstraintError(
            f"Constraint {_short(text)} has numbers that are not finite or overflow when "
            f"combined (beyond about ±1.8e308): use smaller numbers. {forms}"
        )
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
    constraint = LinearConstraint(ordered, op, bound, spec.strip())
    low, high = lhs_range(constraint, space)
    if not all(math.isfinite(v) for v in (bound, low, high)):
        raise ConstraintError(
            f"Constraint {_short(spec)}: its coefficients times the parameters' bounds "
            f"overflow a float (beyond about ±1.8e308). Use smaller coefficients or rescale "
            f"the parameters. {ACCEPTED_FORMS}"
        )
    return constraint


def lhs_range(constraint: LinearConstraint, space: SearchSpace) -> tuple[float, float]:
    """Smallest and largest value of the constraint's left side over the parameters' bounds
    (``inf`` when it overflows)."""
    lows, highs = [], []
    for name, c in constraint.coefficients.items():
        p = space[name]
        ends = (c * float(p.low), c * float(p.high))  # type: ignore[attr-defined]
        lows.append(min(ends))
        highs.append(max(ends))
    try:
        return math.fsum(lows), math.fsum(highs)
    except (OverflowError, ValueError):  # intermediate overflow, or inf - inf
        return math.inf, math.inf


def check_feasible(space: SearchSpace) -> None:
    """Raise ``InfeasibleError`` when no point within the bounds satisfies the linear
    constraints: each constraint alone (the message says by how much the closest point misses
    it), then all of them together (a linear program, SciPy loaded only here).

    Integer parameters are relaxed to their continuous range, except that a one-term
    equality on an integer must hit an integer. Nothing here touches the disk.
    """
    from axnb.space import Int

    constraints = list(space.constraints)
    for c in constraints:
        low, high = lhs_range(c, space)
        tol = TOLERANCE * max(1.0, abs(c.bound))
        ranges = ", ".join(
            f"{n} in [{space[n].low}, {space[n].high}]"  # type: ignore[attr-defined]
            for n in c.coefficients
        )
        gap = max(low - c.bound, c.bound - high if c.op == "==" else 0.0)
        if gap > tol:
            raise InfeasibleError(
                f"Constraint '{c.text}' cannot be satisfied within the bounds ({ranges}): "
                f"the closest point misses it by {gap:.6g}. Relax the constraint or widen "
                f"the bounds."
            )
        if c.op == "==" and len(c.coefficients) == 1:
            (name, coef), = c.coefficients.items()
            p = space[name]
            if isinstance(p, Int):
                value = c.bound / coef
                if abs(value - round(value)) > tol / abs(coef):
                    raise InfeasibleError(
                        f"Constraint '{c.text}' needs the integer parameter '{name}' to be "
                        f"{value:.6g}, which is not an integer. Relax the constraint or make "
                        f"'{name}' an axnb.Range."
                    )
    involved = sorted({n for c in constraints for n in c.coefficients})
    if any(isinstance(space[n], Int) for n in involved):
        _check_integer_feasible(space, constraints, involved)
    if len(constraints) < 2:
        return
    from axnb.engine.encoding import Encoder
    from axnb.engine.polytope import is_feasible_lp, unit_constraints

    if not is_feasible_lp(unit_constraints(Encoder(space), constraints)):
        texts = ", ".join(repr(c.text) for c in constraints)
        raise InfeasibleError(
            f"No parameter values within the bounds satisfy all the constraints {texts} "
            f"together (each can be met alone). Relax a constraint or widen the bounds."
        )


def _check_integer_feasible(
    space: SearchSpace, constraints: list[LinearConstraint], names: list[str]
) -> None:
    """``InfeasibleError`` when the constraints have solutions only where an integer
    parameter would take a fractional value (a mixed-integer program in the parameters'
    own units; SciPy's HiGHS)."""
    import numpy as np
    from scipy.optimize import Bounds, milp
    from scipy.optimize import LinearConstraint as Rows

    from axnb.space import Int

    A = np.array([[c.coefficients.get(n, 0.0) for n in names] for c in constraints])
    b = np.array([c.bound for c in constraints])
    tol = np.array([TOLERANCE * max(1.0, abs(c.bound)) for c in constraints])
    lower = np.array([b[i] - tol[i] if c.op == "==" else -np.inf
                      for i, c in enumerate(constraints)])
    # ">=" constraints are stored as "<=" with negated coefficients; "==" keeps both sides.
    result = milp(
        np.zeros(len(names)),
        constraints=Rows(A, lower, b + tol),
        integrality=np.array([isinstance(space[n], Int) for n in names], dtype=int),
        bounds=Bounds([space[n].low for n in names],  # type: ignore[attr-defined]
                      [space[n].high for n in names]),  # type: ignore[attr-defined]
    )
    if result.status == 2:  # proven infeasible
        texts = ", ".join(repr(c.text) for c in constraints)
        ints = [n for n in names if isinstance(space[n], Int)]
        raise InfeasibleError(
            f"No parameter values satisfy the constraints {texts} with {ints} integers "
            f"(fractional values would). Relax a constraint, widen the bounds, or make "
            f"{ints[0]!r} an axnb.Range."
        )


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
    check_text(metric, "Outcome constraint metric", ConstraintError)
    bound = bound / coef
    if not math.isfinite(bound):
        raise ConstraintError(
            f"Outcome constraint {_short(spec)}: its bound overflows a float (beyond about "
            f"±1.8e308). Use a smaller number. {OUTCOME_FORMS}"
        )
    if coef < 0:
        op = "<=" if op == ">=" else ">="
    return OutcomeConstraint(metric, op, bound, spec.strip())
