"""Parameters <-> rows of the encoded unit cube the models and optimizers work in.

Every tunable parameter (not ``Fixed``) owns one column, in the order of ``space.tunable``:

==================  ============  ==================================================
parameter           column kind   encoded value ``u`` in [0, 1]
==================  ============  ==================================================
``Range``           continuous    ``(x - low) / (high - low)`` (of ``log x`` if log)
``Int``             discrete      same map; allowed values are the integers' images
``Choice`` ordered  discrete      ``index / (k - 1)``
``Choice``          categorical   ``index / (k - 1)``; only equality matters
==================  ============  ==================================================

Categorical columns are modelled with a categorical kernel (``MixedSingleTaskGP``), so their
numeric value carries no order; keeping it in [0, 1] keeps the whole encoded space a unit cube,
which is what plots and the optimizer expect. Integers with more than ``MAX_DISCRETE_VALUES``
values are relaxed to a continuous column and rounded when decoded.

This module is numpy-only; tensors are built by the callers.

    >>> from axnb.space import SearchSpace, Range, Choice
    >>> enc = Encoder(SearchSpace([Range("x", 0, 10), Choice("c", ["a", "b", "c"])]))
    >>> enc.encode({"x": 5.0, "c": "c"})
    [0.5, 1.0]
    >>> enc.decode([0.5, 0.5])
    {'x': 5.0, 'c': 'b'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from axnb.space import Choice, Fixed, Int, Parameter, Range, SearchSpace, Value

#: Integers with more values than this are optimized as a continuous column and rounded.
MAX_DISCRETE_VALUES = 1000

CONTINUOUS, DISCRETE, CATEGORICAL = "continuous", "discrete", "categorical"


@dataclass(frozen=True)
class Column:
    """One encoded column: its parameter, its kind and (discrete / categorical) allowed values."""

    param: Parameter
    kind: str
    values: tuple[float, ...] = ()

    @property
    def name(self) -> str:
        return self.param.name

    @property
    def is_integer(self) -> bool:
        """True when the decoded value is an integer (``Int``), relaxed or not."""
        return isinstance(self.param, Int)


def _column(p: Parameter) -> Column:
    if isinstance(p, Range):
        return Column(p, CONTINUOUS)
    if isinstance(p, Int):
        count = p.high - p.low + 1
        if count > MAX_DISCRETE_VALUES:
            return Column(p, CONTINUOUS)
        values = tuple(sorted({p.to_unit(v) for v in range(p.low, p.high + 1)}))
        return Column(p, DISCRETE, values)
    if isinstance(p, Choice):
        k = len(p.values)
        values = tuple(i / (k - 1) for i in range(k))
        return Column(p, DISCRETE if p.ordered else CATEGORICAL, values)
    raise TypeError(f"Cannot encode parameter {p!r}")  # pragma: no cover


#: The encoded value of an inactive parameter (hierarchical spaces): outside [0, 1], so the
#: kernel sees trials where a parameter is inactive as far from those where it is active
#: whatever its value (as SMAC imputes inactive hyperparameters). bench.hierarchical (10
#: seeds): median regret -1: 0.023, 0: 0.016 (within seed noise), 0.5: 0.210 (the middle of
#: the range makes one branch's trials near neighbours of the other's).
INACTIVE = -1.0


class Encoder:
    """Maps parameter dicts to encoded rows (lists / numpy arrays) and back."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.columns: list[Column] = [_column(p) for p in space.tunable]
        self.fixed: dict[str, Value] = {
            p.name: p.value for p in space.parameters if isinstance(p, Fixed)
        }
        self.index: dict[str, int] = {c.name: i for i, c in enumerate(self.columns)}
        self._memo: dict[tuple, tuple[float, ...] | None] = {}

    @property
    def d(self) -> int:
        """Number of encoded columns (= tunable parameters)."""
        return len(self.columns)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def discrete_dims(self) -> dict[int, list[float]]:
        """Ordinal columns (ints, ordered choices) -> allowed encoded values."""
        return {i: list(c.values) for i, c in enumerate(self.columns) if c.kind == DISCRETE}

    @property
    def cat_dims(self) -> dict[int, list[float]]:
        """Categorical columns -> allowed encoded values."""
        return {i: list(c.values) for i, c in enumerate(self.columns) if c.kind == CATEGORICAL}

    @property
    def cont_dims(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c.kind == CONTINUOUS]

    def encode_value(self, name: str, value: Any) -> float:
        """Encoded value of one (valid) parameter value."""
        col = self.columns[self.index[name]]
        p = col.param
        if col.kind == CATEGORICAL:
            assert isinstance(p, Choice)
            return col.values[p.index(value)]
        u = float(p.to_unit(value))  # type: ignore[attr-defined]
        return min(max(u, 0.0), 1.0)

    def encode(self, params: Mapping[str, Any]) -> list[float]:
        """Row for a full parameterization (Fixed parameters are ignored; the columns of
        parameters inactive in a hierarchical space are ``INACTIVE``)."""
        if self.space.conditional:
            return [INACTIVE if c.name not in params and c.param.when
                    else self.encode_value(c.name, params[c.name]) for c in self.columns]
        return [self.encode_value(c.name, params[c.name]) for c in self.columns]

    def encode_known(self, params: Mapping[str, Any]) -> tuple[float, ...] | None:
        """``encode`` remembered by the parameter values (None: not valid in this space).
        The models encode every trial at every fit: at 10,000 trials this halves the time
        of a suggestion outside the GP."""
        key = tuple(params.items())
        try:
            return self._memo[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value: not one of this space's
            return None
        try:
            row: tuple[float, ...] | None = tuple(self.encode(params))
        except (KeyError, ValueError):
            row = None
        self._memo[key] = row
        return row

    def canonical(self, row: np.ndarray) -> np.ndarray:
        """``row`` with the columns of parameters inactive at it set to their constant (a
        hierarchical space; otherwise ``row`` itself): one row per distinct point."""
        if not self.space.conditional:
            return row
        return np.asarray(self.encode(self.space.prune(self.decode(row))), dtype=np.float64)

    def encode_many(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """``(k, d)`` float64 array of encoded parameterizations."""
        return np.asarray([self.encode(r) for r in rows], dtype=np.float64).reshape(-1, self.d)

    def snap(self, row: Sequence[float]) -> np.ndarray:
        """Round discrete and categorical entries to their nearest allowed value, clip to [0, 1]."""
        out = np.clip(np.asarray(row, dtype=np.float64), 0.0, 1.0)
        for i, c in enumerate(self.columns):
            if c.values:
                vals = np.asarray(c.values)
                out[i] = vals[int(np.argmin(np.abs(vals - out[i])))]
            elif c.is_integer:
                out[i] = self.encode_value(c.name, c.param.from_unit(out[i]))  # type: ignore
        return out

    def decode_value(self, i: int, u: float) -> Value:
        c = self.columns[i]
        p = c.param
        u = min(max(float(u), 0.0), 1.0)
        if c.kind == CATEGORICAL:
            assert isinstance(p, Choice)
            return p.values[round(u * (len(p.values) - 1))]
        return p.from_unit(u)  # type: ignore[attr-defined]

    def decode(self, row: Sequence[float]) -> dict[str, Value]:
        """Full parameterization (in space order, Fixed included) of an encoded row."""
        tuned = {c.name: self.decode_value(i, u) for i, (c, u) in enumerate(zip(self.columns, row))}
        out: dict[str, Value] = {}
        for p in self.space.parameters:
            out[p.name] = self.fixed[p.name] if p.name in self.fixed else tuned[p.name]
        return out

    def from_cube(self, U: np.ndarray) -> np.ndarray:
        """Map uniform points of ``[0, 1)^d`` to valid rows, uniform over each column's values.

        Continuous columns are the identity; a column with ``k`` allowed values takes value
        ``floor(u * k)`` so that every value gets the same share (plain rounding would give the
        two end values half a share).
        """
        out = np.array(U, dtype=np.float64, copy=True).reshape(-1, self.d)
        for i, c in enumerate(self.columns):
            if c.values:
                k = len(c.values)
                idx = np.minimum(np.floor(out[:, i] * k), k - 1).astype(int)
                out[:, i] = np.asarray(c.values)[idx]
            elif c.is_integer:
                p = c.param
                assert isinstance(p, Int)
                if p.log:
                    out[:, i] = [self.encode_value(c.name, p.from_unit(u)) for u in out[:, i]]
                else:
                    k = p.high - p.low + 1
                    ints = p.low + np.minimum(np.floor(out[:, i] * k), k - 1)
                    out[:, i] = (ints - p.low) / (p.high - p.low)
        return out

    def raw_scale(self, i: int) -> tuple[float, float]:
        """``(low, width)`` with ``x = low + u * width`` for a non-log numeric column."""
        p = self.columns[i].param
        assert isinstance(p, (Range, Int)) and not p.log
        return float(p.low), float(p.high - p.low)


def same_point(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Parameterizations equal up to float round-off."""
    for k, v in a.items():
        w = b.get(k)
        if isinstance(v, float) and isinstance(w, (int, float)) and not isinstance(w, bool):
            if not math.isclose(v, float(w), rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif v != w or type(v) is not type(w):
            return False
    return True
