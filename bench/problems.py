"""Benchmark problems in plain numpy, with known optima.

A problem is a search space (a list of ``Param``), an objective ``f(params) -> float`` (or a
tuple for several objectives), a trial budget, and what it takes to score a run:

* single objective (minimized): ``optimum`` is the known minimum; simple regret is
  ``f(x) - optimum``;
* several objectives (all minimized): ``ref_point`` and ``max_hv``; the score is the
  hypervolume gap ``max_hv - HV`` of the true values observed so far.

Parameters are plain dicts so that every method (axnb, Ax, Optuna, Sobol) can build its own
search space from them. Linear constraints are ``(coefficients, bound)`` meaning
``sum(coef * x) <= bound`` (both the text form and a numeric check are provided).

Reference values were checked against ``botorch.test_functions`` (see ``python -m
bench.problems``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Param:
    """One parameter: kind "float" | "int" (with low/high) or "choice" (with values)."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class LinearConstraint:
    """``sum(coefficients[name] * x[name]) <= bound``."""

    coefficients: Mapping[str, float]
    bound: float

    @property
    def text(self) -> str:
        terms = []
        for name, c in self.coefficients.items():
            terms.append(name if c == 1 else f"{c:g}*{name}")
        return " + ".join(terms) + f" <= {self.bound:g}"

    def slack(self, x: Mapping[str, Any]) -> float:
        """``bound - lhs``; >= 0 when satisfied."""
        return self.bound - sum(c * float(x[n]) for n, c in self.coefficients.items())


@dataclass(frozen=True)
class Problem:
    name: str
    params: tuple[Param, ...]
    f: Callable[[Mapping[str, Any]], Any]
    budget: int
    optimum: float | None = None  # single objective: known minimum
    optimizer: Mapping[str, Any] | None = None  # a minimizer, for the record
    noise_sd: float = 0.0
    constraints: tuple[LinearConstraint, ...] = ()
    objectives: tuple[str, ...] = ("y",)
    ref_point: tuple[float, ...] | None = None  # several objectives
    max_hv: float | None = None
    note: str = ""
    default: bool = True  # part of the default (full) suite
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return len(self.params)

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def feasible(self, x: Mapping[str, Any], tol: float = 1e-6) -> bool:
        return all(c.slack(x) >= -tol for c in self.constraints)

    def score(self, true_value: Any) -> float:
        """Simple regret of a true objective value (single objective)."""
        return float(true_value) - float(self.optimum)


# --------------------------------------------------------------------- test functions
def branin(x1: float, x2: float) -> float:
    b, c = 5.1 / (4 * math.pi**2), 5.0 / math.pi
    r, s, t = 6.0, 10.0, 1.0 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
])
_H6_P = 1e-4 * np.array([
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
])


def hartmann6(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    inner = np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)
    return float(-np.sum(_H6_ALPHA * np.exp(-inner)))


def levy(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def branin_currin(x1: float, x2: float) -> tuple[float, float]:
    """BoTorch's BraninCurrin on [0, 1]^2 (both objectives minimized)."""
    f1 = branin(15 * x1 - 5, 15 * x2)
    # Currin's factor (1 - exp(-1 / (2 x2))) tends to 1 as x2 -> 0.
    factor = 1.0 if x2 <= 0 else 1 - math.exp(-1 / (2 * x2))
    f2 = factor * (2300 * x1**3 + 1900 * x1**2 + 2092 * x1 + 60) / (
        100 * x1**3 + 500 * x1**2 + 4 * x1 + 20
    )
    return f1, f2


def hypervolume_2d(points: np.ndarray, ref: tuple[float, float]) -> float:
    """Hypervolume dominated by ``points`` (both minimized) and bounded by ``ref``."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    pts = pts[(pts[:, 0] < ref[0]) & (pts[:, 1] < ref[1])]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    hv, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return float(hv)


# --------------------------------------------------------------------- mixed problem
MIXED_CHOICES = ("a", "b", "c")
# For each category: the location of the optimum in (x1, x2, x3), the best integer, and an
# offset. The optimum is category "b" at its own shift, k = 7, value 0. The category moves
# the optimum, so a model must learn an interaction, not just an offset.
_MIXED = {
    "a": ((0.20, 0.70, 0.40), 3, 0.50),
    "b": ((0.75, 0.25, 0.60), 7, 0.00),
    "c": ((0.40, 0.50, 0.90), 5, 0.25),
}
_MIXED_W = (1.0, 2.0, 4.0)


def mixed(p: Mapping[str, Any]) -> float:
    shift, kstar, offset = _MIXED[p["c"]]
    quad = sum(w * (float(p[f"x{i + 1}"]) - s) ** 2
               for i, (w, s) in enumerate(zip(_MIXED_W, shift)))
    return offset + quad + 0.02 * (int(p["k"]) - kstar) ** 2


# --------------------------------------------------------------------- the suite
def _floats(names: list[str], low: float, high: float) -> tuple[Param, ...]:
    return tuple(Param(n, "float", low, high) for n in names)


H6_OPT_X = (0.20168952, 0.15001069, 0.47687398, 0.27533243, 0.31165162, 0.65730054)

# Branin with x1 + x2 <= 4: cuts off all three unconstrained minima (sums 9.13, 5.42, 11.9).
# Constrained optimum computed once with scipy SLSQP from 200 random starts
# (bench/problems.py: _constrained_branin_optimum); it lies on the boundary x1 + x2 = 4.
BRANIN_LC_BOUND = 4.0
# _constrained_branin_optimum() -> 2.3859586806015445 at (3.08170979, 0.91829021); a
# 1501 x 1501 grid agrees (2.38597 at (3.08, 0.92)).
BRANIN_LC_OPT = 2.3859586806015445
BRANIN_LC_X = (3.08170979, 0.91829021)


def _h6(p: Mapping[str, Any]) -> float:
    return hartmann6(np.array([p[f"x{i + 1}"] for i in range(6)]))


def _levy8(p: Mapping[str, Any]) -> float:
    return levy(np.array([p[f"x{i + 1}"] for i in range(8)]))


# Levy8 with its optimum moved away from the centre of the box (Ax evaluates the centre first,
# and plain Levy8 on [-10, 10]^8 has regret ~1.2 there; see RESULTS.md).
LEVY_SHIFT_OPT = (5.0, -3.0, 5.0, -3.0, 5.0, -3.0, 5.0, -3.0)


def _levy8_shifted(p: Mapping[str, Any]) -> float:
    x = np.array([p[f"x{i + 1}"] for i in range(8)]) - np.array(LEVY_SHIFT_OPT) + 1.0
    return levy(x)


def _branin(p: Mapping[str, Any]) -> float:
    return branin(float(p["x1"]), float(p["x2"]))


def _bc(p: Mapping[str, Any]) -> tuple[float, float]:
    return branin_currin(float(p["x1"]), float(p["x2"]))


def make_problems() -> dict[str, Problem]:
    branin_params = (Param("x1", "float", -5.0, 10.0), Param("x2", "float", 0.0, 15.0))
    h6_params = _floats([f"x{i + 1}" for i in range(6)], 0.0, 1.0)
    probs = [
        Problem("branin", branin_params, _branin, budget=25, optimum=0.39788735772973816,
                optimizer={"x1": math.pi, "x2": 2.275}),
        Problem("hartmann6", h6_params, _h6, budget=40, optimum=-3.3223680114155147,
                optimizer=dict(zip([p.name for p in h6_params], H6_OPT_X))),
        Problem("hartmann6_noisy", h6_params, _h6, budget=40, optimum=-3.3223680114155147,
                optimizer=dict(zip([p.name for p in h6_params], H6_OPT_X)), noise_sd=0.2,
                note="observations + N(0, 0.2^2); scored by the TRUE value at the final "
                     "recommended point"),
        Problem("branin_lc", branin_params, _branin, budget=30, optimum=BRANIN_LC_OPT,
                optimizer={"x1": BRANIN_LC_X[0], "x2": BRANIN_LC_X[1]},
                constraints=(LinearConstraint({"x1": 1.0, "x2": 1.0}, BRANIN_LC_BOUND),),
                note="Branin with x1 + x2 <= 4 (cuts off all three unconstrained minima)"),
        Problem("mixed", (*_floats(["x1", "x2", "x3"], 0.0, 1.0), Param("k", "int", 0, 10),
                          Param("c", "choice", values=MIXED_CHOICES)),
                mixed, budget=30, optimum=0.0,
                optimizer={"x1": 0.75, "x2": 0.25, "x3": 0.6, "k": 7, "c": "b"},
                note="3 floats + Int(0..10) + Choice(a,b,c); the category moves the optimum"),
        Problem("mixed_offcenter", (*_floats(["x1", "x2", "x3"], 0.0, 1.0),
                                    Param("k", "int", 0, 10),
                                    Param("c", "choice", values=("b", "c", "a"))),
                mixed, budget=30, optimum=0.0,
                optimizer={"x1": 0.75, "x2": 0.25, "x3": 0.6, "k": 7, "c": "b"},
                default=False,
                note="`mixed` with the choices listed (b, c, a), so that the middle value "
                     "(Ax's centre point) is not the best category; not in the default suite"),
        Problem("levy8", _floats([f"x{i + 1}" for i in range(8)], -10.0, 10.0), _levy8,
                budget=50, optimum=0.0, optimizer={f"x{i + 1}": 1.0 for i in range(8)}),
        Problem("levy8_shifted", _floats([f"x{i + 1}" for i in range(8)], -10.0, 10.0),
                _levy8_shifted, budget=50, optimum=0.0,
                optimizer={f"x{i + 1}": v for i, v in enumerate(LEVY_SHIFT_OPT)},
                default=False,
                note="Levy8 moved so that its optimum is at (5, -3, 5, -3, ...), away from "
                     "the centre; not in the default suite"),
        Problem("branin_currin", (Param("x1", "float", 0.0, 1.0), Param("x2", "float", 0.0, 1.0)),
                _bc, budget=30, objectives=("f1", "f2"), ref_point=(18.0, 6.0),
                max_hv=59.36011874867746,
                note="two objectives, both minimized; hypervolume w.r.t. ref point (18, 6); "
                     "max HV from botorch's BraninCurrin._max_hv"),
    ]
    return {p.name: p for p in probs}


def _constrained_branin_optimum(starts: int = 200, seed: int = 0) -> tuple[float, np.ndarray]:
    """Multistart SLSQP for Branin subject to x1 + x2 <= BRANIN_LC_BOUND (run once)."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(seed)
    best = (math.inf, None)
    for _ in range(starts):
        x0 = rng.uniform([-5, 0], [10, 15])
        res = minimize(lambda x: branin(*x), x0, method="SLSQP",
                       bounds=[(-5, 10), (0, 15)],
                       constraints=[{"type": "ineq",
                                     "fun": lambda x: BRANIN_LC_BOUND - x[0] - x[1]}],
                       options={"ftol": 1e-14, "maxiter": 500})
        if res.success and BRANIN_LC_BOUND - res.x.sum() >= -1e-9 and res.fun < best[0]:
            best = (float(res.fun), res.x)
    return best


PROBLEMS = make_problems()

if __name__ == "__main__":  # checks against botorch and the constrained optimum
    import torch
    from botorch.test_functions import Branin, BraninCurrin, Hartmann, Levy

    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.uniform([-5, 0], [10, 15])
        assert abs(branin(*x) - Branin()(torch.tensor(x)).item()) < 1e-9
        u = rng.uniform(size=6)
        # 1e-7: botorch's constants give ~1e-9 differences
        assert abs(hartmann6(u) - Hartmann(dim=6)(torch.tensor(u)).item()) < 1e-7
        v = rng.uniform(-10, 10, size=8)
        assert abs(levy(v) - Levy(dim=8)(torch.tensor(v)).item()) < 1e-9
        w = rng.uniform(size=2)
        ref = BraninCurrin()(torch.tensor(w)).tolist()
        assert np.allclose(branin_currin(*w), ref), (branin_currin(*w), ref)
    print("hartmann6 optimum", hartmann6(np.array(H6_OPT_X)), Hartmann(dim=6).optimal_value)
    print("BraninCurrin max_hv", BraninCurrin()._max_hv, "ref", BraninCurrin().ref_point)
    print("constrained branin", _constrained_branin_optimum())
