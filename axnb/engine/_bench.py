"""Engine benchmarks (not imported by axnb): speed of one suggestion and optimization quality.

    python -m axnb.engine._bench timing                  # suggest() at 50 observations in 6-D
    python -m axnb.engine._bench quality branin 20 12 5,-,- 8,-,-
        # problem, budget, seeds, then configs "initial_trials,num_restarts,raw_samples"
        # ("-" = engine default); prints median simple regret per config as JSON lines

Problems: Branin (2-D, optimum 0.397887) and Hartmann-6 (6-D, optimum -3.32237), minimized.
"""

from __future__ import annotations

import json
import math
import sys
import time

import numpy as np

from axnb.engine.strategy import Engine
from axnb.space import Range, SearchSpace
from axnb.trial import Objective, Trial


def branin(p: dict) -> float:
    x1, x2 = p["x1"], p["x2"]
    return ((x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10)


_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
               [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(p: dict) -> float:
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-np.sum(_ALPHA * np.exp(-np.sum(_A * (x - _P) ** 2, axis=1))))


PROBLEMS = {
    "branin": (SearchSpace([Range("x1", -5, 10), Range("x2", 0, 15)]), branin, 0.397887),
    "hartmann6": (SearchSpace([Range(f"x{i}", 0, 1) for i in range(6)]), hartmann6, -3.32237),
}


def regret(problem: str, budget: int, seed: int, **engine_kw) -> float:
    """Simple regret after ``budget`` sequential evaluations."""
    space, f, opt = PROBLEMS[problem]
    eng = Engine(space, [Objective("y", minimize=True)], [], seed=seed, **engine_kw)
    trials: list[Trial] = []
    best = math.inf
    for i in range(budget):
        s = eng.suggest(trials)[0]
        y = f(s.parameters)
        best = min(best, y)
        trials.append(Trial(i, s.parameters, "completed", s.source, {"y": (y, None)}))
    return best - opt


def timing(n_obs: int = 50, seed: int = 0) -> dict:
    """Seconds for suggest() on ``n_obs`` random Hartmann-6 observations: cold (fit + optimize)
    and warm (model cached, one more pending point)."""
    space, f, _ = PROBLEMS["hartmann6"]
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n_obs):
        p = {f"x{j}": float(rng.random()) for j in range(6)}
        trials.append(Trial(i, p, "completed", "manual", {"y": (f(p), None)}))
    eng = Engine(space, [Objective("y")], [], seed=seed)
    t0 = time.perf_counter()
    s = eng.suggest(trials)[0]
    t1 = time.perf_counter()
    eng.suggest([*trials, Trial(n_obs, s.parameters, "running", "model")])
    t2 = time.perf_counter()
    return {"n_obs": n_obs, "d": 6, "suggest_cold_s": round(t1 - t0, 3),
            "suggest_cached_model_s": round(t2 - t1, 3), "source": s.source}


def main(argv: list[str]) -> None:
    if not argv or argv[0] == "timing":
        import torch

        import axnb.engine.context  # noqa: F401  (warm imports outside the timed region)

        torch.zeros(1)
        timing(12)  # warm-up: imports, first-call overheads
        print(json.dumps(timing()))
        return
    _, problem, budget, seeds, *configs = argv
    for cfg in configs or ["-,-,-"]:
        init, restarts, raw = (None if v == "-" else int(v) for v in cfg.split(","))
        t = time.perf_counter()
        regs = [regret(problem, int(budget), s, initial_trials=init, num_restarts=restarts,
                       raw_samples=raw) for s in range(int(seeds))]
        print(json.dumps({
            "problem": problem, "budget": int(budget), "config": cfg,
            "median_regret": float(np.median(regs)),
            "mean_log10_regret": float(np.mean(np.log10(np.maximum(regs, 1e-9)))),
            "share_below_0.5": float(np.mean(np.array(regs) < 0.5)),
            "seconds": round(time.perf_counter() - t, 1),
        }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
