"""Parameters and the search space.

A parameter knows its kind, its bounds or values, how to check a value and turn it into a plain
Python value, and (for numeric and ordered parameters) how to map a value to and from [0, 1].
Ax-style dicts are accepted wherever a parameter is, and they are also the storage format::

    >>> Range("lr", 1e-4, 0.1, log=True).to_dict()["type"]
    'range'
    >>> parse_parameter({"name": "n", "type": "range", "bounds": [1, 8], "value_type": "int"})
    Int(name='n', low=1, high=8, log=False)

The search space is the ordered list of parameters plus the constraints; it validates a
whole parameterization (names, bounds, which parameters are active, constraints) and fills in
fixed values: ``SearchSpace.validate`` is the single place that decides whether a
parameterization is valid.

Hierarchical parameters: ``when={"model": "svm"}`` makes a parameter active only when the
named parameters take one of the given values (several names: all must match; a list:
any of its values). A parameter whose parent is inactive is inactive too. An inactive
parameter is absent from a parameterization; the models see it at a constant
(``SearchSpace.impute``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from axnb.errors import InvalidParameterError

Value = float | int | str | bool

_AX_KEYS = {
    "name", "type", "bounds", "value_type", "log_scale", "values", "is_ordered", "value",
    "is_fidelity", "target_value", "digits", "sort_values", "is_task", "parameter_type",
    "when", "dependents",
}
#: ``Parameter.when`` once checked: ``((parent, (allowed values...)), ...)``.
When = tuple[tuple[str, tuple[Any, ...]], ...]


def plain(value: Any) -> Any:
    """Turn numpy / torch scalars and 0-d arrays into plain Python values (``numpy.str_`` and
    ``numpy.float64``, subclasses of ``str`` and ``float``, become ``str`` and ``float``)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (ValueError, RuntimeError, TypeError):
            pass
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A real number (not bool) that is finite as a float: False for NaN, infinities and ints
    too large for a float (``10**400``), which JSON and the models cannot hold."""
    if type(value) is float:
        return math.isfinite(value)
    if not _is_number(value):
        return False
    try:
        return math.isfinite(value)
    except (OverflowError, ValueError, TypeError):
        return False


def short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)``, shortened for messages (``10**400`` has 401 digits)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{text[:12]}...({len(text.lstrip('-'))} digits)"
    return f"{text[: limit - 3]}..."


def check_text(text: str, what: str, error: type[ValueError] = InvalidParameterError) -> str:
    """Refuse a string that cannot be written to the UTF-8 JSON file (a lone surrogate such
    as ``'\\ud800'``), before anything is written."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise error(
            f"{what} {short_repr(text)} contains {text[e.start:e.end]!r}, which cannot be "
            f"saved as UTF-8 text (a lone surrogate, e.g. from bytes decoded with "
            f"'surrogateescape'): remove or replace that character."
        ) from None
    return text


def _check_flag(value: Any, name: str, what: str) -> bool:
    """``True``/``False`` (numpy bools, 0 and 1 too; None is False, as in Ax); a string such
    as ``"false"`` is refused rather than read as true."""
    value = plain(value)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InvalidParameterError(
        f"Parameter '{name}': {what} must be True or False, got {short_repr(value)} "
        f"({type(value).__name__}). Write {what}=True or {what}=False (in JSON: true/false)."
    )


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(
            f"Parameter name {name!r} is not valid: give a non-empty string such as 'x1'."
        )
    return check_text(name, "Parameter name")


@dataclass(frozen=True)
class Parameter:
    """Base class of all parameters."""

    name: str
    kind: ClassVar[str] = ""
    #: Active only when these parameters take these values (see the module doc).
    when: Any = field(default=None, kw_only=True, repr=False)

    @property
    def is_numeric(self) -> bool:
        """True for parameters that live on a numeric axis (ranges and ordered number choices)."""
        return False

    def validate(self, value: Any) -> Value:
        """Return ``value`` as a plain Python value, or raise ``InvalidParameterError``."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Ax-style dict (also axnb's storage format)."""
        raise NotImplementedError

    def _with_when(self, d: dict[str, Any]) -> dict[str, Any]:
        if self.when:
            d["when"] = {k: list(v) for k, v in self.when}
        return d


@dataclass(frozen=True)
class Range(Parameter):
    """A float in ``[low, high]``, optionally on a log scale.

    >>> Range("lr", 1e-6, 0.4, log=True)
    Range(name='lr', low=1e-06, high=0.4, log=True)
    """

    low: float = 0.0
    high: float = 1.0
    log: bool = False
    kind: ClassVar[str] = "range"

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_when(self)
        log = _check_flag(self.log, self.name, "log")
        _check_bounds(self.name, self.low, self.high, log)
        object.__setattr__(self, "low", float(plain(self.low)))
        object.__setattr__(self, "high", float(plain(self.high)))
        object.__setattr__(self, "log", log)

    @property
    def is_numeric(self) -> bool:
        return True

    def validate(self, value: Any) -> float:
        value = plain(value)
        if not is_finite_number(value):
            raise InvalidParameterError(
                f"Parameter '{self.name}' needs a finite number in [{self.low}, {self.high}], "
                f"got {short_repr(value)}."
            )
        value = float(value)
        slack = 1e-12 * max(1.0, abs(self.low), abs(self.high))
        if value < self.low - slack or value > self.high + slack:
            raise InvalidParameterError(
                f"Parameter '{self.name}' = {value!r} is out of bounds [{self.low}, {self.high}]."
            )
        return min(max(value, self.low), self.high)

    def to_unit(self, value: float) -> float:
        """Map a value to [0, 1] (in log space for log parameters)."""
        return _to_unit(float(value), self.low, self.high, self.log)

    def from_unit(self, u: float) -> float:
        """Map a point of [0, 1] back to a value (inverse of ``to_unit``)."""
        return min(max(_from_unit(u, self.low, self.high, self.log), self.low), self.high)

    def to_dict(self) -> dict[str, Any]:
        return self._with_when({"name": self.name, "type": "range",
                                "bounds": [self.low, self.high], "value_type": "float",
                                "log_scale": self.log})


@dataclass(frozen=True)
class Int(Parameter):
    """An integer in ``[low, high]`` (both included), optionally on a log scale.

    >>> Int("layers", 1, 8)
    Int(name='layers', low=1, high=8, log=False)
    """

    low: int = 0
    high: int = 1
    log: bool = False
    kind: ClassVar[str] = "int"

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_when(self)
        log = _check_flag(self.log, self.name, "log")
        for label, bound in (("low", self.low), ("high", self.high)):
            bound = plain(bound)
            if is_finite_number(bound) and not float(bound).is_integer():
                raise InvalidParameterError(
                    f"Int parameter '{self.name}' needs integer bounds; {label} is {bound!r}. "
                    f"Use axnb.Range for a float parameter."
                )
        _check_bounds(self.name, self.low, self.high, log)
        object.__setattr__(self, "low", int(plain(self.low)))
        object.__setattr__(self, "high", int(plain(self.high)))
        object.__setattr__(self, "log", log)

    @property
    def is_numeric(self) -> bool:
        return True

    def validate(self, value: Any) -> int:
        value = plain(value)
        if not is_finite_number(value) or not float(value).is_integer():
            raise InvalidParameterError(
                f"Parameter '{self.name}' needs an integer in [{self.low}, {self.high}], "
                f"got {short_repr(value)}."
            )
        value = int(value)
        if value < self.low or value > self.high:
            raise InvalidParameterError(
                f"Parameter '{self.name}' = {value!r} is out of bounds [{self.low}, {self.high}]."
            )
        return value

    def to_unit(self, value: float) -> float:
        """Map a value to [0, 1] (in log space for log parameters)."""
        return _to_unit(float(value), self.low, self.high, self.log)

    def from_unit(self, u: float) -> int:
        """Map a point of [0, 1] back to the nearest valid integer."""
        raw = _from_unit(u, self.low, self.high, self.log)
        return int(min(max(round(raw), self.low), self.high))

    def to_dict(self) -> dict[str, Any]:
        return self._with_when({"name": self.name, "type": "range",
                                "bounds": [self.low, self.high], "value_type": "int",
                                "log_scale": self.log})


@dataclass(frozen=True)
class Choice(Parameter):
    """One of a list of values (str, int, float or bool, all of one type).

    ``ordered`` defaults to True for numbers and False otherwise; ordered choices are modelled
    on one axis, unordered ones as categories.

    >>> Choice("opt", ["adam", "sgd"]).ordered
    False
    >>> Choice("batch", [16, 32, 64]).ordered
    True
    """

    values: tuple[Value, ...] = ()
    ordered: bool | None = None
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_when(self)
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Iterable):
            raise InvalidParameterError(
                f"Choice parameter '{self.name}' needs a list of values, got {self.values!r}."
            )
        values = tuple(plain(v) for v in self.values)
        ordered = self.ordered
        if ordered is not None:
            ordered = _check_flag(ordered, self.name, "ordered")
        if not values:
            raise InvalidParameterError(
                f"Choice parameter '{self.name}' has no values: give at least two, "
                f"e.g. Choice('{self.name}', ['a', 'b'])."
            )
        if len(values) == 1:
            raise InvalidParameterError(
                f"Choice parameter '{self.name}' has a single value {values[0]!r}: "
                f"use axnb.Fixed('{self.name}', {values[0]!r}) instead."
            )
        types = {_value_type(v, self.name) for v in values}
        for v in values:
            if _is_number(v) and not is_finite_number(v):
                raise InvalidParameterError(
                    f"Choice parameter '{self.name}' has the value {short_repr(v)}: values "
                    f"must be finite numbers within the float range (about ±1.8e308)."
                )
            if isinstance(v, str):
                check_text(v, f"A value of choice parameter '{self.name}'")
        if types == {"int", "float"}:
            values = tuple(float(v) for v in values)
            types = {"float"}
        if len(types) > 1:
            raise InvalidParameterError(
                f"Choice parameter '{self.name}' mixes value types {sorted(types)}: "
                f"give values of one type (all str, all numbers or all bool)."
            )
        if len(set(values)) != len(values):
            dupes = sorted({repr(v) for v in values if values.count(v) > 1})
            raise InvalidParameterError(
                f"Choice parameter '{self.name}' lists {', '.join(dupes)} more than once: "
                f"give each value once."
            )
        if ordered is None:
            ordered = types <= {"int", "float"}
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "ordered", bool(ordered))

    @property
    def value_type(self) -> str:
        """'str', 'int', 'float' or 'bool'."""
        return _value_type(self.values[0], self.name)

    @property
    def is_numeric(self) -> bool:
        return bool(self.ordered) and self.value_type in ("int", "float")

    def validate(self, value: Any) -> Value:
        value = plain(value)
        for candidate in self.values:
            if type(candidate) is type(value) and candidate == value:
                return candidate
            if (
                _is_number(candidate) and is_finite_number(value)
                and float(candidate) == float(value)
            ):
                return candidate
        raise InvalidParameterError(
            f"Parameter '{self.name}' = {short_repr(value)} is not one of its values "
            f"{list(self.values)}."
        )

    def index(self, value: Any) -> int:
        """Position of a (valid) value in ``values``."""
        return self.values.index(self.validate(value))

    def to_unit(self, value: Any) -> float:
        """Ordered choices: the value's position scaled to [0, 1]."""
        return self.index(value) / (len(self.values) - 1)

    def from_unit(self, u: float) -> Value:
        """Ordered choices: the value nearest to position ``u`` of [0, 1]."""
        i = round(min(max(u, 0.0), 1.0) * (len(self.values) - 1))
        return self.values[int(i)]

    def to_dict(self) -> dict[str, Any]:
        return self._with_when({"name": self.name, "type": "choice",
                                "values": list(self.values), "value_type": self.value_type,
                                "is_ordered": self.ordered})


@dataclass(frozen=True)
class Fixed(Parameter):
    """A parameter held at one value; it is passed to the evaluation function but never tuned.

    >>> Fixed("epochs", 10).value
    10
    """

    value: Value = 0
    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_when(self)
        value = plain(self.value)
        _value_type(value, self.name)
        if _is_number(value) and not is_finite_number(value):
            raise InvalidParameterError(
                f"Fixed parameter '{self.name}' has the value {short_repr(value)}: a fixed "
                f"value must be a finite number within the float range (about ±1.8e308), a "
                f"str or a bool (the experiment file cannot store NaN or infinity)."
            )
        if isinstance(value, str):
            check_text(value, f"The value of fixed parameter '{self.name}'")
        object.__setattr__(self, "value", value)

    def validate(self, value: Any) -> Value:
        value = plain(value)
        same_kind = isinstance(value, bool) == isinstance(self.value, bool) and (
            _is_number(value) == _is_number(self.value)
        )
        if not same_kind or value != self.value:
            raise InvalidParameterError(
                f"Parameter '{self.name}' is fixed at {self.value!r}, got {short_repr(value)}."
            )
        return self.value

    def to_dict(self) -> dict[str, Any]:
        return self._with_when({"name": self.name, "type": "fixed", "value": self.value})


def _check_when(p: Parameter) -> None:
    """Normalize ``p.when`` to ``((parent, (values...)), ...)`` sorted by parent (None or
    empty: always active)."""
    when = p.when
    if not when:
        object.__setattr__(p, "when", None)
        return
    if isinstance(when, tuple) and all(isinstance(w, tuple) and len(w) == 2 for w in when):
        when = {k: v for k, v in when}
    if not isinstance(when, Mapping):
        raise InvalidParameterError(
            f"Parameter '{p.name}': when= must be a dict of parent -> value (or list of "
            f"values), e.g. when={{'model': 'svm'}}; got {short_repr(when)}."
        )
    out = []
    for parent, values in when.items():
        parent = plain(parent)
        if not isinstance(parent, str) or parent == p.name:
            raise InvalidParameterError(
                f"Parameter '{p.name}': when= names {short_repr(parent)}; name another "
                f"parameter of the experiment."
            )
        if isinstance(values, (list, tuple, set, frozenset)):
            values = tuple(plain(v) for v in values)
        else:
            values = (plain(values),)
        if not values:
            raise InvalidParameterError(
                f"Parameter '{p.name}': when={{'{parent}': []}} allows no value, so it would "
                f"never be active; give at least one value."
            )
        out.append((parent, values))
    object.__setattr__(p, "when", tuple(sorted(out, key=lambda w: w[0])))


def _value_type(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    raise InvalidParameterError(
        f"Parameter '{name}' has value {short_repr(value)} of type {type(value).__name__}: "
        f"values must be str, int, float or bool."
    )


def _check_bounds(name: str, low: Any, high: Any, log: bool) -> None:
    low, high = plain(low), plain(high)
    for label, bound in (("low", low), ("high", high)):
        if not is_finite_number(bound):
            raise InvalidParameterError(
                f"Parameter '{name}' needs finite numeric bounds within the float range (about "
                f"±1.8e308); {label} is {short_repr(bound)}."
            )
    if low >= high:
        raise InvalidParameterError(
            f"Parameter '{name}' has low={low!r} >= high={high!r}: low must be below high "
            f"(use axnb.Fixed for a constant)."
        )
    if log and low <= 0:
        raise InvalidParameterError(
            f"Parameter '{name}' is on a log scale but low={low!r} <= 0: log-scale bounds must "
            f"be positive, e.g. Range('{name}', 1e-6, {high!r}, log=True)."
        )
    if not math.isfinite(float(high) - float(low)):
        raise InvalidParameterError(
            f"Parameter '{name}' spans [{low!r}, {high!r}], wider than a float can hold "
            f"(high - low overflows): narrow the bounds, rescale the parameter, or use "
            f"log=True with positive bounds."
        )


def _to_unit(value: float, low: float, high: float, log: bool) -> float:
    if log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def _from_unit(u: float, low: float, high: float, log: bool) -> float:
    u = min(max(float(u), 0.0), 1.0)
    if log:
        return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    return low + u * (high - low)


def parse_parameter(spec: Parameter | Mapping[str, Any]) -> Parameter:
    """A parameter from a ``Parameter`` or an Ax-style dict.

    >>> parse_parameter({"name": "x1", "type": "range", "bounds": [-10.0, 10.0]})
    Range(name='x1', low=-10.0, high=10.0, log=False)
    """
    if isinstance(spec, Parameter):
        return spec
    if not isinstance(spec, Mapping):
        raise InvalidParameterError(
            f"A parameter must be axnb.Range/Int/Choice/Fixed or an Ax-style dict, "
            f"got {spec!r}."
        )
    name = _check_name(spec.get("name"))
    unknown = set(spec) - _AX_KEYS
    if unknown:
        raise InvalidParameterError(
            f"Parameter '{name}' has unknown keys {sorted(unknown)}; accepted keys are "
            f"{sorted(_AX_KEYS)}."
        )
    kind = spec.get("type")
    value_type = spec.get("value_type")
    when = spec.get("when")
    if kind == "range":
        bounds = spec.get("bounds")
        if not isinstance(bounds, Sequence) or isinstance(bounds, str) or len(bounds) != 2:
            raise InvalidParameterError(
                f"Range parameter '{name}' needs 'bounds': [low, high], got {bounds!r}."
            )
        log = _check_flag(spec.get("log_scale", False), name, "log_scale")
        if value_type == "int":
            return Int(name, bounds[0], bounds[1], log=log, when=when)
        if value_type not in (None, "float"):
            raise InvalidParameterError(
                f"Range parameter '{name}' has value_type {value_type!r}: use 'float' or 'int'."
            )
        return Range(name, bounds[0], bounds[1], log=log, when=when)
    if kind == "choice":
        values = spec.get("values")
        if values is None:
            raise InvalidParameterError(f"Choice parameter '{name}' needs 'values': [...].")
        ordered = spec.get("is_ordered")
        if ordered is not None:
            ordered = _check_flag(ordered, name, "is_ordered")
        return Choice(name, _coerce_values(values, value_type, name), ordered, when=when)
    if kind == "fixed":
        if "value" not in spec:
            raise InvalidParameterError(f"Fixed parameter '{name}' needs 'value'.")
        return Fixed(name, spec["value"], when=when)
    raise InvalidParameterError(
        f"Parameter '{name}' has type {kind!r}: use 'range', 'choice' or 'fixed'."
    )


_ABSENT = object()


def _value_in(value: Any, allowed: tuple[Any, ...]) -> bool:
    return any(type(v) is type(value) and v == value for v in allowed)


def _placeholder(p: Parameter) -> Value:
    """The constant an inactive parameter takes for the models."""
    if isinstance(p, (Range, Int)):
        return p.low
    if isinstance(p, Choice):
        return p.values[0]
    if isinstance(p, Fixed):
        return p.value
    raise TypeError(p)  # pragma: no cover


def _without_dependents(spec: Any) -> Any:
    if isinstance(spec, Mapping) and "dependents" in spec:
        return {k: v for k, v in spec.items() if k != "dependents"}
    return spec


def _with_dependents(parsed: list[Parameter], specs: Iterable[Any]) -> list[Parameter]:
    """Ax's ``"dependents": {value: [child, ...]}`` on a parent, as ``when`` on each child."""
    extra: dict[str, dict[str, list[Any]]] = {}
    for spec, parent in zip(specs, parsed):
        deps = spec.get("dependents") if isinstance(spec, Mapping) else None
        if deps is None:
            continue
        if not isinstance(deps, Mapping):
            raise InvalidParameterError(
                f"Parameter '{parent.name}': 'dependents' must map a value to a list of "
                f"parameter names, got {short_repr(deps)}."
            )
        for value, children in deps.items():
            value = parent.validate(value) if not isinstance(parent, Range) else value
            for child in [children] if isinstance(children, str) else children:
                extra.setdefault(child, {}).setdefault(parent.name, []).append(value)
    out = []
    for p in parsed:
        if p.name in extra:
            when = {k: list(v) for k, v in (p.when or ())}
            for parent, values in extra.pop(p.name).items():
                when[parent] = [*when.get(parent, []), *values]
            p = replace(p, when=when)
        out.append(p)
    if extra:
        raise InvalidParameterError(
            f"'dependents' names {sorted(extra)}, which are not parameters."
        )
    return out


def _coerce_values(values: Any, value_type: str | None, name: str) -> tuple[Value, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidParameterError(f"Choice parameter '{name}' needs a list of values.")
    values = [plain(v) for v in values]
    if value_type == "float":
        return tuple(float(v) if is_finite_number(v) else v for v in values)
    if value_type == "int":
        return tuple(int(v) if is_finite_number(v) and float(v).is_integer() else v
                     for v in values)
    return tuple(values)


@dataclass
class SearchSpace:
    """The ordered parameters of an experiment, its linear constraints and its Python
    predicate constraints (``axnb.predicates``)."""

    parameters: list[Parameter]
    constraints: list[Any] = field(default_factory=list)
    predicates: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for p in self.parameters:
            if p.name in seen:
                raise InvalidParameterError(
                    f"Parameter name '{p.name}' is used twice: give each parameter its own name."
                )
            seen.add(p.name)
        if not self.parameters:
            raise InvalidParameterError("An experiment needs at least one parameter.")
        if all(isinstance(p, Fixed) for p in self.parameters):
            raise InvalidParameterError(
                "Every parameter is Fixed: add at least one Range, Int or Choice to tune."
            )
        self._check_hierarchy()

    def _check_hierarchy(self) -> None:
        """Each ``when`` names a Choice, Int or Fixed parameter and values it can take, and
        no parameter depends on itself through others."""
        by_name = {p.name: p for p in self.parameters}
        for p in self.parameters:
            for parent, values in p.when or ():
                q = by_name.get(parent)
                if q is None:
                    raise InvalidParameterError(
                        f"Parameter '{p.name}': when= names '{parent}', which is not a "
                        f"parameter; the parameters are {self.names}."
                    )
                if isinstance(q, Range):
                    raise InvalidParameterError(
                        f"Parameter '{p.name}': when= names the Range '{parent}'; a parent "
                        f"must be a Choice, Int or Fixed parameter (it takes exact values)."
                    )
                for v in values:
                    try:
                        q.validate(v)
                    except InvalidParameterError:
                        raise InvalidParameterError(
                            f"Parameter '{p.name}': when={{'{parent}': {short_repr(v)}}} is "
                            f"not a value '{parent}' can take."
                        ) from None
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*path[path.index(name):], name])
                raise InvalidParameterError(
                    f"Parameters depend on each other in a circle ({cycle}): when= must form "
                    f"a tree."
                )
            state[name] = 1
            for parent, _ in by_name[name].when or ():
                visit(parent, [*path, name])
            state[name] = 2

        for p in self.parameters:
            visit(p.name, [])

    @property
    def conditional(self) -> bool:
        """Whether some parameter has ``when`` (a hierarchical space)."""
        return any(p.when for p in self.parameters)

    def active(self, params: Mapping[str, Any]) -> set[str]:
        """The names of the parameters active under ``params`` (a parent absent from
        ``params`` counts as not matching)."""
        by_name = {p.name: p for p in self.parameters}
        memo: dict[str, bool] = {}

        def is_active(name: str) -> bool:
            if name not in memo:
                when = by_name[name].when or ()
                memo[name] = all(
                    is_active(parent) and _value_in(params.get(parent, _ABSENT), values)
                    for parent, values in when
                )
            return memo[name]

        return {p.name for p in self.parameters if is_active(p.name)}

    def prune(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` without its inactive parameters."""
        if not self.conditional:
            return dict(params)
        keep = self.active(params)
        return {k: v for k, v in params.items() if k in keep or k not in self}

    def impute(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` with every inactive parameter at its constant for the models: the low
        end of a range, the first value of a choice."""
        out = dict(params)
        for p in self.parameters:
            if p.name not in out and p.when:
                out[p.name] = _placeholder(p)
        return out

    @classmethod
    def build(
        cls, parameters: Iterable[Parameter | Mapping[str, Any]], constraints: Iterable[Any] = ()
    ) -> SearchSpace:
        """Parse parameters (objects or Ax dicts) and constraints (linear strings, Python
        predicates, or a file's records of them) into a space."""
        from axnb import predicates
        from axnb.constraints import parse_constraint

        if isinstance(parameters, (str, bytes, Mapping)) or not isinstance(parameters, Iterable):
            raise InvalidParameterError(
                "parameters must be a list of axnb.Range/Int/Choice/Fixed or Ax-style dicts."
            )
        space = cls(_with_dependents([parse_parameter(_without_dependents(p))
                                      for p in parameters], parameters))
        if isinstance(constraints, str) or callable(constraints):
            constraints = [constraints]
        given = list(constraints or ())
        space.constraints = [parse_constraint(c, space) for c in given
                             if not predicates.is_predicate_spec(c)]
        space.predicates = [predicates.make(c) for c in given if predicates.is_predicate_spec(c)]
        for c in space.constraints:
            conditional = [n for n in c.coefficients if space[n].when]
            if conditional:
                from axnb.errors import ConstraintError

                raise ConstraintError(
                    f"Constraint '{c.text}' names {conditional}, which are active only "
                    f"sometimes (when=): a linear constraint must hold for parameters that are "
                    f"always active. Use a Python predicate instead, e.g. lambda p: "
                    f"'{conditional[0]}' not in p or ..."
                )
        return space

    @property
    def constraint_texts(self) -> list[Any]:
        """The constraints as the file records them: linear strings, then predicates'
        ``{"predicate": name, "source": text}``."""
        return [c.text for c in self.constraints] + [p.text for p in self.predicates]

    def all_constraints(self) -> list[Any]:
        """The constraint objects, linear then predicates (what ``build`` takes back)."""
        return [*self.constraints, *self.predicates]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def tunable(self) -> list[Parameter]:
        """Parameters that are not Fixed."""
        return [p for p in self.parameters if not isinstance(p, Fixed)]

    def __getitem__(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise InvalidParameterError(
            f"Unknown parameter '{name}'; the parameters are {self.names}."
        )

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.parameters)

    def validate(
        self, params: Mapping[str, Any], *, partial: bool = False, check_constraints: bool = True
    ) -> dict[str, Value]:
        """Check a parameterization and return it as plain values in parameter order.

        Fixed parameters may be left out (they are filled in). With ``partial=True`` other
        parameters may be left out too and constraints are not checked (used for pinning).
        """
        if not isinstance(params, Mapping):
            raise InvalidParameterError(
                f"Parameters must be a dict of name -> value, got {type(params).__name__}."
            )
        unknown = [k for k in params if k not in self]
        if unknown:
            raise InvalidParameterError(
                f"Unknown parameter(s) {unknown}; the parameters are {self.names}."
            )
        out: dict[str, Value] = {}
        missing = []
        for p in self.parameters:
            if p.name in params:
                out[p.name] = p.validate(params[p.name])
            elif isinstance(p, Fixed) and not p.when:
                out[p.name] = p.value
            elif not partial and not p.when:
                missing.append(p.name)
        if missing:
            raise InvalidParameterError(
                f"Missing value(s) for parameter(s) {missing}: give every parameter that is "
                f"not Fixed."
            )
        if self.conditional and not partial:
            out = self._check_active(out)
        if check_constraints and not partial:
            for c in self.constraints:
                c.check(out)
            for predicate in self.predicates:
                predicate.check(out)
        return out

    def _check_active(self, values: dict[str, Value]) -> dict[str, Value]:
        """``values`` (checked one by one) with the conditional Fixed parameters that are
        active filled in; raises naming an active parameter missing or an inactive one
        given."""
        for p in self.parameters:  # fixed children of active parents, in tree order
            if isinstance(p, Fixed) and p.when and p.name not in values:
                values[p.name] = p.value
        active = self.active(values)
        for p in self.parameters:
            if isinstance(p, Fixed) and p.when and p.name not in active:
                values.pop(p.name, None)
        given_inactive = [n for n in values if n not in active]
        if given_inactive:
            n = given_inactive[0]
            raise InvalidParameterError(
                f"Parameter '{n}' is inactive here ({self._condition(n, values)}): leave it "
                f"out of the parameters."
            )
        missing = [p.name for p in self.parameters if p.name in active and p.name not in values]
        if missing:
            n = missing[0]
            raise InvalidParameterError(
                f"Missing value(s) for parameter(s) {missing}: active here "
                f"({self._condition(n, values)})."
            )
        return {p.name: values[p.name] for p in self.parameters if p.name in values}

    def _condition(self, name: str, values: Mapping[str, Any]) -> str:
        """Why ``name`` is (in)active, in words."""
        parts = []
        for parent, allowed in self[name].when or ():
            want = allowed[0] if len(allowed) == 1 else list(allowed)
            have = values.get(parent, "absent")
            parts.append(f"'{name}' applies when {parent}={want!r}; here {parent}={have!r}")
        return "; ".join(parts) or f"'{name}' is always active"

    def to_dicts(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.parameters]


def middle_value(p: Parameter) -> Value:
    """The value a parameter is held at without any trial: the middle of its range, the
    middle value of an ordered choice, the first of an unordered one."""
    if isinstance(p, Fixed):
        return p.value
    if isinstance(p, Choice):
        return p.values[0] if not p.ordered else p.values[len(p.values) // 2]
    return p.from_unit(0.5)  # type: ignore[attr-defined]
