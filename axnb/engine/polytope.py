"""Linear parameter constraints in the encoded unit space: transform, check, repair.

A raw constraint ``sum_j c_j x_j  (<= | ==)  b`` on non-log ``Range`` / ``Int`` parameters
becomes, with ``x_j = low_j + u_j (high_j - low_j)``,

    sum_j (c_j w_j) u_j  (<= | ==)  b - sum_j c_j low_j,        w_j = high_j - low_j,

and each row is scaled to unit norm for conditioning. Pinned columns (``suggest(fixed=...)``)
are substituted into the right-hand side by ``reduce``.

``repair`` turns an optimizer or sampler output into a row whose *decoded* parameters satisfy
every raw constraint to ``CHECK_TOL`` (tighter than the 1e-6 contract): it snaps discrete
columns, tries floor/ceil roundings of the integer columns that appear in constraints, projects
the continuous ones onto the polytope (SLSQP) and polishes the result in raw units.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from axnb.engine.encoding import CONTINUOUS, Encoder

if TYPE_CHECKING:
    from axnb.constraints import LinearConstraint
    from axnb.predicates import Predicate

#: Decoded suggestions must satisfy constraints to this relative tolerance (contract: 1e-6).
CHECK_TOL = 1e-8
#: Inequalities are repaired to this far inside the boundary (relative to max(1, |bound|)).
MARGIN = 1e-10
MAX_ROUNDINGS = 256


@dataclass
class UnitConstraints:
    """``A_ub u <= b_ub`` and ``A_eq u == b_eq`` over all ``d`` encoded columns."""

    A_ub: np.ndarray
    b_ub: np.ndarray
    A_eq: np.ndarray
    b_eq: np.ndarray
    texts: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.A_ub.shape[0] == 0 and self.A_eq.shape[0] == 0

    @property
    def involved(self) -> set[int]:
        """Columns that appear in some constraint."""
        rows = np.vstack([self.A_ub, self.A_eq])
        return {int(j) for j in np.flatnonzero(np.any(rows != 0, axis=0))}

    def satisfied(self, u: np.ndarray, tol: float = 1e-9) -> np.ndarray:
        """Boolean per row of ``u`` (k, d)."""
        u = np.atleast_2d(u)
        ok = np.ones(len(u), dtype=bool)
        if len(self.b_ub):
            ok &= np.all(u @ self.A_ub.T - self.b_ub <= tol, axis=1)
        if len(self.b_eq):
            ok &= np.all(np.abs(u @ self.A_eq.T - self.b_eq) <= tol, axis=1)
        return ok

    def reduce(self, pins: dict[int, float]) -> tuple[UnitConstraints, list[int]]:
        """Constraints on the free columns after substituting ``pins`` (column -> value)."""
        d = self.A_ub.shape[1]
        free = [j for j in range(d) if j not in pins]
        pinned = np.zeros(d)
        for j, v in pins.items():
            pinned[j] = v
        return UnitConstraints(
            self.A_ub[:, free], self.b_ub - self.A_ub @ pinned,
            self.A_eq[:, free], self.b_eq - self.A_eq @ pinned, self.texts,
        ), free

    def to_botorch(self, **tkwargs: Any) -> tuple[list | None, list | None]:
        """BoTorch's sparse ``(indices, coefficients, rhs)`` lists (``sum >= rhs`` / ``== rhs``)."""
        import torch

        def sparse(A: np.ndarray, b: np.ndarray, sign: float) -> list | None:
            out = []
            for a, rhs in zip(A, b):
                idx = np.flatnonzero(a)
                out.append((
                    torch.tensor(idx, dtype=torch.long),
                    torch.tensor(sign * a[idx], **tkwargs),
                    float(sign * rhs),
                ))
            return out or None

        return sparse(self.A_ub, self.b_ub, -1.0), sparse(self.A_eq, self.b_eq, 1.0)


def unit_constraints(encoder: Encoder, constraints: list[LinearConstraint]) -> UnitConstraints:
    """Transform raw-space linear constraints to the encoded unit space (see module doc)."""
    d = encoder.d
    ub, bub, eq, beq, texts = [], [], [], [], []
    for c in constraints:
        a = np.zeros(d)
        rhs = float(c.bound)
        for name, coef in c.coefficients.items():
            j = encoder.index[name]
            low, width = encoder.raw_scale(j)
            a[j] += coef * width
            rhs -= coef * low
        norm = math.hypot(*a) or 1.0  # overflow-safe (np.linalg.norm overflows at ~1e154)
        (eq if c.op == "==" else ub).append(a / norm)
        (beq if c.op == "==" else bub).append(rhs / norm)
        texts.append(c.text)
    return UnitConstraints(
        np.asarray(ub, dtype=np.float64).reshape(-1, d), np.asarray(bub, dtype=np.float64),
        np.asarray(eq, dtype=np.float64).reshape(-1, d), np.asarray(beq, dtype=np.float64),
        texts,
    )


def is_feasible_lp(uc: UnitConstraints) -> bool:
    """Whether the (continuously relaxed) polytope ``{u in [0,1]^d: constraints}`` is non-empty."""
    if uc.empty:
        return True
    from scipy.optimize import linprog

    d = uc.A_ub.shape[1]
    if d == 0:
        return bool(np.all(uc.b_ub >= -1e-9) and np.all(np.abs(uc.b_eq) <= 1e-9))
    res = linprog(
        np.zeros(d),
        A_ub=uc.A_ub if len(uc.b_ub) else None, b_ub=uc.b_ub if len(uc.b_ub) else None,
        A_eq=uc.A_eq if len(uc.b_eq) else None, b_eq=uc.b_eq if len(uc.b_eq) else None,
        bounds=[(0.0, 1.0)] * d, method="highs",
    )
    return res.status == 0


def chebyshev_center(uc: UnitConstraints, pins: dict[int, float]) -> np.ndarray | None:
    """Centre of the largest ball inside ``{u in [0,1]^d: A_ub u <= b_ub}`` with ``pins``
    applied (a full row), or None when the polytope has no interior (then it is flat: an
    equality in disguise) or the LP fails."""
    from scipy.optimize import linprog

    d = uc.A_ub.shape[1]
    red, free = uc.reduce(pins)
    A, b, k = red.A_ub, red.b_ub, len(free)
    rows = [np.append(A[i], np.linalg.norm(A[i])) for i in range(len(b))]
    rhs = list(b)
    for j in range(k):  # r <= u_j <= 1 - r
        lo, hi = np.zeros(k + 1), np.zeros(k + 1)
        lo[j], lo[k], hi[j], hi[k] = -1.0, 1.0, 1.0, 1.0
        rows += [lo, hi]
        rhs += [0.0, 1.0]
    cost = np.zeros(k + 1)
    cost[k] = -1.0
    res = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs),
                  bounds=[(0.0, 1.0)] * k + [(0.0, None)], method="highs")
    if res.status != 0 or not res.x[k] > 1e-9:
        return None
    out = np.zeros(d)
    for j, v in pins.items():
        out[j] = v
    out[free] = res.x[:k]
    return out


class Repairer:
    """Makes encoded rows valid: allowed discrete values and every raw linear constraint;
    checks the Python predicates too (``ok``), which no projection can repair.

    >>> # rep = Repairer(encoder, space.constraints, space.predicates)
    >>> # row = rep.repair(row, pins={})
    """

    def __init__(
        self, encoder: Encoder, constraints: list[LinearConstraint],
        predicates: Sequence[Predicate] = (),
    ) -> None:
        self.encoder = encoder
        self.constraints = list(constraints)
        self.predicates = list(predicates)
        self.uc = unit_constraints(encoder, self.constraints)
        #: Rows ``ok`` checked and rows a predicate rejected (the cost of rejection).
        self.checked = self.rejected = 0

    @property
    def unconstrained(self) -> bool:
        """No linear constraint and no predicate: every snapped row is valid."""
        return not self.constraints and not self.predicates

    def ok(self, row: np.ndarray) -> bool:
        """Decoded parameters satisfy every raw constraint to ``CHECK_TOL`` and every
        predicate."""
        params = self.encoder.decode(row)
        if not all(c.satisfied(params, tol=CHECK_TOL) for c in self.constraints):
            return False
        if not self.predicates:
            return True
        params = self.encoder.space.prune(params)
        self.checked += 1
        if all(p.satisfied(params) for p in self.predicates):
            return True
        self.rejected += 1
        return False

    def ok_rows(self, rows: np.ndarray) -> np.ndarray:
        """``ok`` of each row (a boolean mask)."""
        return np.fromiter((self.ok(r) for r in rows), dtype=bool, count=len(rows))

    def repair(self, row: np.ndarray, pins: dict[int, float] | None = None) -> np.ndarray | None:
        """A valid row near ``row`` with ``pins`` honoured, or None when none was found."""
        pins = pins or {}
        row = self.encoder.snap(row)
        for j, v in pins.items():
            row[j] = v
        row = self.encoder.canonical(row)
        if self.unconstrained or self.ok(row):
            return row
        if not self.constraints:  # only predicates: nothing to move towards
            return None
        involved = self.uc.involved - set(pins)
        cols = self.encoder.columns
        int_cols = sorted(j for j in involved if cols[j].is_integer)
        cont_cols = sorted(j for j in involved if cols[j].kind == CONTINUOUS
                           and not cols[j].is_integer)
        for combo in self._roundings(row, int_cols):
            r = row.copy()
            r[int_cols] = combo
            if cont_cols:
                r = self._project(r, cont_cols)
                if r is None:
                    continue
                r = self._polish(r, cont_cols)
            if self.ok(r):
                return r
        return None

    def _roundings(self, row: np.ndarray, int_cols: list[int]) -> list[np.ndarray]:
        """Floor / ceil combinations of the integer columns, nearest first."""
        if not int_cols:
            return [np.zeros(0)]
        options = []
        for j in int_cols:
            p = self.encoder.columns[j].param
            low, width = self.encoder.raw_scale(j)
            x = low + row[j] * width
            cands = sorted({min(max(v, p.low), p.high)  # type: ignore[attr-defined]
                            for v in (np.floor(x), np.ceil(x), np.floor(x) - 1, np.ceil(x) + 1)})
            options.append([((v - low) / width, abs(v - x)) for v in cands])
        combos = []
        for choice in itertools.islice(itertools.product(*options), 4 * MAX_ROUNDINGS):
            combos.append((sum(c[1] for c in choice), np.array([c[0] for c in choice])))
        combos.sort(key=lambda t: t[0])
        return [c[1] for c in combos[:MAX_ROUNDINGS]]

    def _project(self, row: np.ndarray, free: list[int]) -> np.ndarray | None:
        """Nearest point (in ``free`` columns) of the polytope, by SLSQP."""
        from scipy.optimize import minimize

        uc = self.uc
        rest = [j for j in range(self.encoder.d) if j not in free]
        fixed_part_ub = uc.A_ub[:, rest] @ row[rest] if len(uc.b_ub) else np.zeros(0)
        fixed_part_eq = uc.A_eq[:, rest] @ row[rest] if len(uc.b_eq) else np.zeros(0)
        Aub, bub = uc.A_ub[:, free], uc.b_ub - fixed_part_ub - MARGIN
        Aeq, beq = uc.A_eq[:, free], uc.b_eq - fixed_part_eq
        x0 = row[free]
        cons = []
        if len(bub):
            cons.append({"type": "ineq", "fun": lambda z: bub - Aub @ z, "jac": lambda z: -Aub})
        if len(beq):
            cons.append({"type": "eq", "fun": lambda z: Aeq @ z - beq, "jac": lambda z: Aeq})
        res = minimize(
            lambda z: float(np.sum((z - x0) ** 2)), np.clip(x0, 0, 1),
            jac=lambda z: 2 * (z - x0), bounds=[(0.0, 1.0)] * len(free),
            constraints=cons, method="SLSQP", options={"ftol": 1e-14, "maxiter": 200},
        )
        z = np.clip(res.x, 0.0, 1.0)
        ok = True
        if len(bub):
            ok &= bool(np.all(Aub @ z - bub <= 1e-7))
        if len(beq):
            ok &= bool(np.all(np.abs(Aeq @ z - beq) <= 1e-7))
        if not ok:
            return None
        out = row.copy()
        out[free] = z
        return out

    def _polish(self, row: np.ndarray, free: list[int]) -> np.ndarray:
        """Min-norm correction of the ``free`` continuous columns in raw units (a few rounds)."""
        enc = self.encoder
        scales = [enc.raw_scale(j) for j in free]
        lows = np.array([s[0] for s in scales])
        widths = np.array([s[1] for s in scales])
        out = row.copy()
        for _ in range(5):
            params = enc.decode(out)
            rows, rhs = [], []
            for c in self.constraints:
                gap = c.lhs(params) - c.bound
                tol = MARGIN * max(1.0, abs(c.bound))
                if c.op == "==" and gap != 0.0:
                    rows.append(c), rhs.append(-gap)
                elif c.op == "<=" and gap > -tol:
                    rows.append(c), rhs.append(-gap - tol)
            if not rows:
                break
            A = np.array([[c.coefficients.get(enc.columns[j].name, 0.0) for j in free]
                          for c in rows])
            if not np.any(A):
                break
            delta = np.linalg.lstsq(A, np.array(rhs), rcond=None)[0]
            x = lows + out[free] * widths + delta
            x = np.clip(x, lows, lows + widths)
            out[free] = np.clip((x - lows) / widths, 0.0, 1.0)
            if all(c.satisfied(enc.decode(out), tol=CHECK_TOL / 10) for c in self.constraints):
                break
        return out
