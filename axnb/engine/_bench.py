"""Engine benchmarks (not imported by axnb): speed of one suggestion and optimization quality.

    python -m axnb.engine._bench timing                  # suggest() at 50 observations in 6-D
    python -m axnb.engine._bench quality branin 20 12 5,-,- 8,-,-
        # problem, budget, seeds, then configs "initial_trials,num_restarts,raw_samples"
        # ("-" = engine default); prints median simple regret per config as JSON lines
    python -m axnb.engine._bench warp none,yj,copula booth,branin,hartmann6,hartmann6_noisy
        # outcome-warp variants "warp[:inferred noise floor]", median [IQR] final regret
    python -m axnb.engine._bench mixed 5
        # bench's mixed problem: alternating optimizer vs few-combination enumeration
    python -m axnb.engine._bench notebook 4
        # the same on constraints_and_mixed.ipynb's problem (linear + outcome constraint)

Problems: Booth (2-D on [-10, 10]^2, optimum 0), Branin (2-D, optimum 0.397887) and
Hartmann-6 (6-D, optimum -3.32237), minimized.
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


def booth(p: dict) -> float:
    x1, x2 = p["x1"], p["x2"]
    return (x1 + 2 * x2 - 7) ** 2 + (2 * x1 + x2 - 5) ** 2


PROBLEMS = {
    "booth": (SearchSpace([Range("x1", -10, 10), Range("x2", -10, 10)]), booth, 0.0),
    "branin": (SearchSpace([Range("x1", -5, 10), Range("x2", 0, 15)]), branin, 0.397887),
    "hartmann6": (SearchSpace([Range(f"x{i}", 0, 1) for i in range(6)]), hartmann6, -3.32237),
}


def regret(problem: str, budget: int, seed: int, noise_sd: float = 0.0, **engine_kw) -> float:
    """Simple regret after ``budget`` sequential evaluations.

    With ``noise_sd`` > 0 the engine sees ``f + N(0, noise_sd^2)`` (sem unknown) and the
    regret is the TRUE value at ``best()`` minus the optimum.
    """
    space, f, opt = PROBLEMS[problem]
    eng = Engine(space, [Objective("y", minimize=True)], [], seed=seed, **engine_kw)
    trials: list[Trial] = []
    best = math.inf
    rng = np.random.default_rng(10_000 + seed)
    for i in range(budget):
        s = eng.suggest(trials)[0]
        y = f(s.parameters)
        best = min(best, y)
        if noise_sd:
            y += float(rng.normal(0.0, noise_sd))
        trials.append(Trial(i, s.parameters, "completed", s.source, {"y": (y, None)}))
    if noise_sd:
        found = eng.best(trials)
        assert found is not None
        return f(found[0]) - opt
    return best - opt


#: Problems of the warp benchmark: name -> (problem, budget, seeds, noise sd).
WARP_PROBLEMS = {
    "booth": ("booth", 20, 8, 0.0),
    "branin": ("branin", 25, 8, 0.0),
    "hartmann6": ("hartmann6", 40, 5, 0.0),
    "hartmann6_noisy": ("hartmann6", 40, 5, 0.2),
}


def _warp_task(args: tuple[str, str, int]) -> tuple[str, str, int, float, float]:
    from axnb.engine import models as M

    variant, name, seed = args
    warp, _, floor = variant.partition(":")
    M.OUTCOME_WARP = warp
    M.NOISE_FLOOR = float(floor) if floor else 1e-4
    problem, budget, _, noise = WARP_PROBLEMS[name]
    t = time.perf_counter()
    r = regret(problem, budget, seed, noise_sd=noise)
    return variant, name, seed, r, time.perf_counter() - t


def warp(variants: list[str], problems: list[str], workers: int = 2) -> None:
    """Median / IQR of final regret per (variant, problem); variants "warp[:noise_floor]"."""
    from multiprocessing import get_context

    tasks = [(v, p, s) for p in problems for s in range(WARP_PROBLEMS[p][2]) for v in variants]
    res: dict[tuple[str, str], list[float]] = {}
    secs: dict[tuple[str, str], float] = {}
    with get_context("spawn").Pool(workers) as pool:
        for v, p, _, r, dt in pool.imap_unordered(_warp_task, tasks):
            res.setdefault((v, p), []).append(r)
            secs[(v, p)] = secs.get((v, p), 0.0) + dt
    print(f"{'variant':14s}" + "".join(f"{p:>30s}" for p in problems))
    for v in variants:
        cells = []
        for p in problems:
            r = np.array(res[(v, p)])
            q1, med, q3 = np.percentile(r, [25, 50, 75])
            cells.append(f"{med:10.4f} [{q1:.4f}, {q3:.4f}]")
        print(f"{v:14s}" + "".join(f"{c:>30s}" for c in cells), flush=True)
    print(json.dumps({f"{v}/{p}": {"regrets": [round(x, 5) for x in res[(v, p)]],
                                   "seconds": round(secs[(v, p)], 1)} for v, p in res}))


def _mixed_task(args: tuple[int, int]) -> tuple[int, int, float, float, float]:
    """bench's "mixed" problem (3 floats, Int 0..10, Choice of 3; 30 evaluations) with
    ``max_combos`` (0 = BoTorch's alternating optimizer): regret, total and max suggest time."""
    from axnb.space import Choice, Int
    from bench.problems import mixed

    max_combos, seed = args
    space = SearchSpace([Range("x1", 0, 1), Range("x2", 0, 1), Range("x3", 0, 1),
                         Int("k", 0, 10), Choice("c", ["a", "b", "c"])])
    eng = Engine(space, [Objective("y", minimize=True)], [], seed=seed)
    eng.settings.max_combos = max_combos
    trials: list[Trial] = []
    best, total, slowest = math.inf, 0.0, 0.0
    for i in range(30):
        t = time.perf_counter()
        s = eng.suggest(trials)[0]
        dt = time.perf_counter() - t
        total, slowest = total + dt, max(slowest, dt)
        y = mixed(s.parameters)
        best = min(best, y)
        trials.append(Trial(i, s.parameters, "completed", s.source, {"y": (y, None)}))
    return max_combos, seed, best, total, slowest


def _notebook_task(args: tuple[int, int]) -> tuple[int, int, float, float, float]:
    """notebooks/constraints_and_mixed.ipynb's problem (Choice + Int + w1 + w2 <= 1, outcome
    constraint cost <= 6), 4 initial + 8 model trials: best feasible error, times."""
    from axnb.constraints import parse_outcome_constraint
    from axnb.space import Choice, Int

    max_combos, seed = args
    space = SearchSpace.build([Range("w1", 0, 1), Range("w2", 0, 1), Int("depth", 1, 8),
                               Choice("kernel", ["rbf", "linear", "poly"])], ["w1 + w2 <= 1"])
    eng = Engine(space, [Objective("error", minimize=True)],
                 [parse_outcome_constraint("cost <= 6")], seed=seed, initial_trials=4)
    eng.settings.max_combos = max_combos
    trials: list[Trial] = []
    best, total, slowest = math.inf, 0.0, 0.0
    for i in range(12):
        t = time.perf_counter()
        s = eng.suggest(trials)[0]
        dt = time.perf_counter() - t
        if s.source == "model":
            total, slowest = total + dt, max(slowest, dt)
        p = s.parameters
        bonus = {"rbf": 0.0, "linear": 0.2, "poly": 0.1}[p["kernel"]]
        err = (p["w1"] - 0.3) ** 2 + (p["w2"] - 0.5) ** 2 + 0.02 * (p["depth"] - 5) ** 2 + bonus
        cost = p["depth"] + 2 * p["w2"]
        if cost <= 6:
            best = min(best, err)
        trials.append(Trial(i, p, "completed", s.source,
                            {"error": (err, None), "cost": (cost, None)}))
    return max_combos, seed, best, total, slowest


def mixed_speed(seeds: int = 8, workers: int = 2, notebook: bool = False) -> None:
    """Alternating optimizer vs ``_few_combos`` on the mixed problem, same seeds."""
    from multiprocessing import get_context

    tasks = [(mc, s) for s in range(seeds) for mc in (0, 256)]
    with get_context("spawn").Pool(workers) as pool:
        out = sorted(pool.imap_unordered(_notebook_task if notebook else _mixed_task, tasks))
    for mc in (0, 256):
        r = [o for o in out if o[0] == mc]
        regs = np.array([o[2] for o in r])
        q1, med, q3 = np.percentile(regs, [25, 50, 75])
        print(json.dumps({"max_combos": mc, "median_regret": round(med, 4),
                          "iqr": [round(q1, 4), round(q3, 4)],
                          "regrets": [round(o[2], 4) for o in r],
                          "mean_run_s": round(float(np.mean([o[3] for o in r])), 1),
                          "max_suggest_s": round(max(o[4] for o in r), 2)}), flush=True)


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
    if argv[0] in ("mixed", "notebook"):
        mixed_speed(int(argv[1]) if len(argv) > 1 else 8, notebook=argv[0] == "notebook")
        return
    if argv[0] == "warp":
        variants = argv[1].split(",") if len(argv) > 1 else ["none", "log", "yj", "copula"]
        problems = argv[2].split(",") if len(argv) > 2 else list(WARP_PROBLEMS)
        warp(variants, problems)
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
