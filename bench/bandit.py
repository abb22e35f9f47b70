"""Bandit benchmark: A/B rounds on Bernoulli arms, axnb against simple allocation policies.

    python -m bench.bandit                         # 50 seeds x 20 rounds, + drift check (20 seeds)
    python -m bench.bandit --quick --markdown      # 5 seeds (drift: 3), print the tables
    python -m bench.bandit --json out.json --write # also write the section of bench/RESULTS.md
    python -m bench.bandit --tune --json tune.json # MIN_WEIGHT x PRUNE grid on seeds 1000-1049

The problem: 10 arms with true conversion rates ``np.linspace(0.04, 0.06, 10)``, their order
shuffled per seed. Each round has 10,000 units: arm ``i`` gets ``units_i`` from a
multinomial(10,000, weights) draw and ``successes_i ~ Binomial(units_i, rate_i)``. An arm that
gets no unit in a round is failed in axnb (``ab.fail(t.index, reason="no traffic")``), not
completed with ``Rate(0, 0)``. The drift check reverses the rates' order at round
``rounds // 2`` (the best arm becomes the worst and the worst the best).

Policies (each seed: the same true rates for every policy; the traffic and conversions of each
policy come from its own seeded generator):

* ``axnb``: the public API, ``Experiment`` + ``suggest_arms()`` + ``complete(..., Rate(s, n))``
  (files in a temporary folder), every completed round pooled (the default), ``best()`` at the
  end;
* ``axnb-w1``: the same with ``suggest_arms(window=1)``, only the latest round (Ax's Thompson
  sampler, Ax #1219);
* ``uniform``: equal weights every round;
* ``greedy``: uniform in round 0, then all the traffic to the best pooled observed rate;
* ``egreedy``: epsilon-greedy, 90% to the best pooled observed rate, 10% spread over all arms;
* ``thompson``: plain Thompson sampling with axnb's machinery and no shrinkage
  (``allocate(..., shrinkage=False)`` on the pooled counts, same ``MIN_WEIGHT``/``PRUNE``);
* ``beta-ts``: Beta-Bernoulli Thompson sampling, weights = P(best) under Beta(1+s, 1+n-s)
  posteriors (10,000 draws), no floor and no pruning;
* ``axnb-engine`` (not in the default list): axnb's allocation called directly
  (``allocate(..., shrinkage=True)`` on the pooled counts), without the Experiment and its file.

Metrics per run: cumulative regret ``sum over rounds and arms of units_i * (p_best - p_i)``
(the realized units times the true gap, i.e. the expected lost conversions of the allocation);
the final recommendation (axnb ``ab.best()``, the others the best pooled observed rate), whether
it is the true best arm, its regret ``p_best - p_rec``; the best arm's share of the last
round's traffic; the wall time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from bench import markdown as md  # noqa: E402

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
HEADING = "## Bandits: A/B rounds (python -m bench.bandit)"

RATES = np.linspace(0.04, 0.06, 10)
UNITS = 10_000
ROUNDS = 20
SEEDS = 50
DRIFT_SEEDS = 20
TUNE_START = 1000
TUNE_MIN_WEIGHT = (0.0, 0.005, 0.01, 0.02)
TUNE_PRUNE = (0.0, 0.001, 0.01)
EPSILON = 0.1
BETA_DRAWS = 10_000

POLICIES = ("axnb", "axnb-w1", "uniform", "greedy", "egreedy", "thompson", "beta-ts")
EXTRA_POLICIES = ("axnb-engine",)
LABELS = {
    "axnb": "axnb (pooled rounds)",
    "axnb-w1": "axnb window=1 (latest round, as Ax)",
    "uniform": "uniform",
    "greedy": "greedy",
    "egreedy": f"epsilon-greedy ({EPSILON:g})",
    "thompson": "Thompson, no shrinkage (axnb floor/prune)",
    "beta-ts": "Beta-Bernoulli Thompson (no floor)",
    "axnb-engine": "axnb engine (allocate, no Experiment)",
}
# Fixed numbers (not list positions) so that adding a policy changes no other policy's draws.
POLICY_IDS = {"axnb": 1, "axnb-w1": 2, "uniform": 3, "greedy": 4, "egreedy": 5, "thompson": 6,
              "beta-ts": 7, "axnb-engine": 8}


# --------------------------------------------------------------------------- the world
def world(seed: int, rounds: int = ROUNDS, drift: bool = False,
          rates: Sequence[float] = tuple(RATES)) -> np.ndarray:
    """True rates, shape ``(rounds, arms)``: ``rates`` shuffled by the seed; with ``drift``
    their order is reversed from round ``rounds // 2`` (rank r takes the rate of rank K-1-r)."""
    base = np.asarray(rates, dtype=float)
    perm = np.random.default_rng(np.random.SeedSequence([seed, 0])).permutation(len(base))
    table = np.tile(base[perm], (rounds, 1))
    if drift:
        ranks = np.argsort(np.argsort(base[perm]))
        table[rounds // 2:] = np.sort(base)[::-1][ranks]
    return table


# --------------------------------------------------------------------------- settings
@contextlib.contextmanager
def engine_settings(min_weight: float | None = None, prune: float | None = None) -> Iterator[None]:
    """Set ``axnb.engine.bandit.MIN_WEIGHT`` / ``PRUNE`` for the block (``allocate`` reads them
    at call time, so ``Experiment.suggest_arms`` follows)."""
    from axnb.engine import bandit

    saved = (bandit.MIN_WEIGHT, bandit.PRUNE)
    try:
        if min_weight is not None:
            bandit.MIN_WEIGHT = float(min_weight)
        if prune is not None:
            bandit.PRUNE = float(prune)
        yield
    finally:
        bandit.MIN_WEIGHT, bandit.PRUNE = saved


def current_settings() -> dict[str, float]:
    """The MIN_WEIGHT / PRUNE that ``allocate`` uses by default right now."""
    from axnb.engine import bandit

    return {"min_weight": bandit.MIN_WEIGHT, "prune": bandit.PRUNE}


# --------------------------------------------------------------------------- policies
class Policy:
    """A traffic policy over ``k`` arms: ``weights(r)`` for round ``r`` (sum 1; 0 = arm not in
    the round), then ``observe(r, units, successes)``; ``recommend()`` the final best arm."""

    name = "policy"

    def start(self, k: int, seed: int) -> None:
        self.k, self.seed = k, seed
        self.n = np.zeros(k, dtype=np.int64)
        self.s = np.zeros(k, dtype=np.int64)

    def weights(self, r: int) -> np.ndarray:
        raise NotImplementedError

    def observe(self, r: int, units: np.ndarray, successes: np.ndarray) -> None:
        self.n += units
        self.s += successes

    def recommend(self) -> int:
        """The best pooled observed rate (arms never observed cannot be recommended)."""
        rate = np.where(self.n > 0, self.s / np.maximum(self.n, 1), -np.inf)
        return int(np.argmax(rate))

    def close(self) -> None:
        pass


class Uniform(Policy):
    name = "uniform"

    def weights(self, r: int) -> np.ndarray:
        return np.full(self.k, 1.0 / self.k)


class Greedy(Policy):
    """Uniform in round 0; then ``1 - epsilon`` to the best pooled observed rate and
    ``epsilon`` spread evenly over all arms (``epsilon=0``: greedy)."""

    def __init__(self, epsilon: float = 0.0) -> None:
        self.epsilon = epsilon
        self.name = "greedy" if epsilon == 0 else "egreedy"

    def weights(self, r: int) -> np.ndarray:
        if r == 0:
            return np.full(self.k, 1.0 / self.k)
        w = np.full(self.k, self.epsilon / self.k)
        w[self.recommend()] += 1 - self.epsilon
        return w


class Thompson(Policy):
    """axnb's allocation (``axnb.engine.bandit.allocate``) on the pooled counts of the arms with
    data, with the current MIN_WEIGHT / PRUNE; ``shrinkage=False`` is plain Thompson."""

    def __init__(self, shrinkage: bool = False) -> None:
        self.shrinkage = shrinkage
        self.name = "axnb-engine" if shrinkage else "thompson"

    def _allocate(self, r: int) -> tuple[np.ndarray, Any]:
        from axnb.engine import bandit
        from axnb.trial import agresti_coull_sem

        arms = np.flatnonzero(self.n > 0)
        data = [bandit.pool([(self.s[i] / self.n[i], agresti_coull_sem(self.s[i], self.n[i]),
                              (int(self.s[i]), int(self.n[i])))]) for i in arms]
        seed = int(np.random.SeedSequence([self.seed, 2, r]).generate_state(1)[0])
        return arms, bandit.allocate(data, True, seed=seed, min_weight=bandit.MIN_WEIGHT,
                                     prune=bandit.PRUNE, shrinkage=self.shrinkage)

    def weights(self, r: int) -> np.ndarray:
        if r == 0:
            return np.full(self.k, 1.0 / self.k)
        arms, alloc = self._allocate(r)
        w = np.zeros(self.k)
        w[arms] = alloc.weights
        return w

    def recommend(self) -> int:
        arms, alloc = self._allocate(10**6)  # its own draws (only .best is used)
        return int(arms[alloc.best])


class BetaThompson(Policy):
    """Beta-Bernoulli Thompson sampling: weights = P(best) under independent
    Beta(1 + s, 1 + n - s) posteriors (``BETA_DRAWS`` draws); no floor, no pruning."""

    name = "beta-ts"

    def weights(self, r: int) -> np.ndarray:
        if r == 0:
            return np.full(self.k, 1.0 / self.k)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 3, r]))
        draws = rng.beta(1 + self.s, 1 + self.n - self.s, size=(BETA_DRAWS, self.k))
        return np.bincount(np.argmax(draws, axis=1), minlength=self.k) / BETA_DRAWS


class Axnb(Policy):
    """The public API: one Experiment per run (its file in a temporary folder), the arms as
    ``Choice("arm", [0, ..., k-1])``; ``window`` is passed to ``suggest_arms``."""

    def __init__(self, window: int | None = None) -> None:
        self.window = window
        self.name = "axnb" if window is None else f"axnb-w{window}"

    def start(self, k: int, seed: int) -> None:
        import axnb

        super().start(k, seed)
        self._dir = tempfile.TemporaryDirectory(prefix="axnb-bandit-")
        self.exp = axnb.Experiment("ab", parameters=[axnb.Choice("arm", list(range(k)))],
                                   objective="conversion", minimize=False, seed=seed,
                                   path=self._dir.name)
        self.trials: list[Any] = []

    def weights(self, r: int) -> np.ndarray:
        self.trials = self.exp.suggest_arms(window=self.window)
        w = np.zeros(self.k)
        for t in self.trials:
            w[t.parameters["arm"]] = t.weight
        return w

    def observe(self, r: int, units: np.ndarray, successes: np.ndarray) -> None:
        import axnb

        super().observe(r, units, successes)
        for t in self.trials:
            a = t.parameters["arm"]
            if units[a] == 0:
                self.exp.fail(t.index, reason="no traffic")
            else:
                self.exp.complete(t.index, axnb.Rate(int(successes[a]), int(units[a])))

    def recommend(self) -> int:
        return int(self.exp.best()[0]["arm"])

    def close(self) -> None:
        self._dir.cleanup()


def make_policy(name: str) -> Policy:
    if name.startswith("axnb-w"):
        return Axnb(window=int(name[len("axnb-w"):]))
    makers = {"axnb": Axnb, "uniform": Uniform, "greedy": Greedy,
              "egreedy": lambda: Greedy(EPSILON), "thompson": Thompson,
              "beta-ts": BetaThompson, "axnb-engine": lambda: Thompson(shrinkage=True)}
    if name not in makers:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(makers)}, axnb-w<k>")
    return makers[name]()


# --------------------------------------------------------------------------- one run
def run_policy(policy: Policy, rates: np.ndarray, seed: int, units: int = UNITS,
               stream: int | None = None) -> dict[str, Any]:
    """Play ``policy`` on the true ``rates`` (rounds x arms) and score it (see module doc).
    ``stream`` picks the generator of the traffic and conversions (default: the policy's id)."""
    rounds, k = rates.shape
    sid = POLICY_IDS.get(policy.name, 99) if stream is None else stream
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1, sid]))
    t0 = time.perf_counter()
    policy.start(k, seed)
    try:
        regret, arms_in, best_share, weights = [], [], [], []
        for r in range(rounds):
            w = np.asarray(policy.weights(r), dtype=float)
            if w.shape != (k,) or (w < 0).any() or not math.isclose(w.sum(), 1, abs_tol=1e-9):
                raise ValueError(f"{policy.name} round {r}: bad weights {w}")
            n = rng.multinomial(units, w / w.sum())
            s = rng.binomial(n, rates[r])
            policy.observe(r, n, s)
            gap = rates[r].max() - rates[r]
            regret.append(float(n @ gap))
            arms_in.append(int((w > 0).sum()))
            best_share.append(float(w[np.argmax(rates[r])]))
            weights.append([round(float(x), 6) for x in w])
        rec = policy.recommend()
    finally:
        policy.close()
    final = rates[-1]
    return {
        "policy": policy.name, "seed": seed, "rounds": rounds, "units": units,
        "regret": float(sum(regret)), "regret_by_round": regret,
        "recommended": rec, "best": int(np.argmax(final)),
        "correct": bool(rec == int(np.argmax(final))),
        "rec_regret": float(final.max() - final[rec]),
        "arms_by_round": arms_in, "best_share_by_round": best_share, "weights": weights,
        "wall_time": time.perf_counter() - t0,
    }


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """One (policy, seed, scenario, settings) run; the unit of work of the process pool."""
    import warnings

    warnings.filterwarnings("ignore")
    rates = world(task["seed"], task["rounds"], drift=task.get("drift", False))
    with engine_settings(task.get("min_weight"), task.get("prune")):
        out = run_policy(make_policy(task["policy"]), rates, task["seed"],
                         task.get("units", UNITS))
        out.update(current_settings())
    out["drift"] = bool(task.get("drift", False))
    return out


def run_tasks(tasks: list[dict[str, Any]], workers: int = 2,
              progress: bool = False) -> list[dict[str, Any]]:
    """Run the tasks (in a spawn pool of ``workers`` processes when ``workers > 1``)."""
    if workers <= 1:
        return [run_task(t) for t in tasks]
    order = sorted(range(len(tasks)), key=lambda i: not tasks[i]["policy"].startswith("axnb"))
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = {i: pool.submit(run_task, tasks[i]) for i in order}
        for done, i in enumerate(order, 1):
            results[i] = futures[i].result()
            if progress and (done % 50 == 0 or done == len(tasks)):
                print(f"bench.bandit: {done}/{len(tasks)} runs, "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return results  # type: ignore[return-value]


# --------------------------------------------------------------------------- summaries
def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per policy (in the runs' order): regret median / IQR / mean / standard error, best-arm
    accuracy, regret of the recommended arm, the best arm's share of the last round, time."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by.setdefault(r["policy"], []).append(r)
    out = {}
    for name, rs in by.items():
        reg = np.array([r["regret"] for r in rs])
        half = rs[0]["rounds"] // 2
        out[name] = {
            "runs": len(rs),
            "median": float(np.median(reg)), "q25": float(np.quantile(reg, 0.25)),
            "q75": float(np.quantile(reg, 0.75)), "mean": float(reg.mean()),
            "se": float(reg.std(ddof=1) / math.sqrt(len(reg))) if len(reg) > 1 else math.nan,
            "first_half": float(np.mean([sum(r["regret_by_round"][:half]) for r in rs])),
            "second_half": float(np.mean([sum(r["regret_by_round"][half:]) for r in rs])),
            "accuracy": float(np.mean([r["correct"] for r in rs])),
            "correct": int(sum(r["correct"] for r in rs)),
            "rec_regret": float(np.mean([r["rec_regret"] for r in rs])),
            "last_best_share": float(np.mean([r["best_share_by_round"][-1] for r in rs])),
            "last_arms": float(np.mean([r["arms_by_round"][-1] for r in rs])),
            "wall_mean": float(np.mean([r["wall_time"] for r in rs])),
            "wall_total": float(sum(r["wall_time"] for r in rs)),
            "min_weight": rs[0].get("min_weight"), "prune": rs[0].get("prune"),
        }
    return out


def uniform_expected_regret(rates: Sequence[float], rounds: int, units: int = UNITS) -> float:
    """Expected cumulative regret of uniform allocation: rounds x units x mean gap."""
    r = np.asarray(rates, dtype=float)
    return float(rounds * units * np.mean(r.max() - r))


def run_benchmark(seeds: Sequence[int], rounds: int = ROUNDS,
                  policies: Sequence[str] = POLICIES, drift_seeds: Sequence[int] = (),
                  drift_policies: Sequence[str] | None = None, workers: int = 2,
                  progress: bool = False, min_weight: float | None = None,
                  prune: float | None = None) -> dict[str, Any]:
    """The stationary benchmark on ``seeds`` and the drift check on ``drift_seeds``, at the
    engine's MIN_WEIGHT / PRUNE unless given."""
    with engine_settings(min_weight, prune):
        settings = current_settings()  # the workers are fresh processes: every task says
    if drift_policies is None:
        drift_policies = [p for p in policies if p not in EXTRA_POLICIES]
    tasks = [{"policy": p, "seed": s, "rounds": rounds, **settings}
             for p in policies for s in seeds]
    tasks += [{"policy": p, "seed": s, "rounds": rounds, "drift": True, **settings}
              for p in drift_policies for s in drift_seeds]
    t0 = time.perf_counter()
    runs = run_tasks(tasks, workers, progress)
    wall = time.perf_counter() - t0
    stationary = [r for r in runs if not r["drift"]]
    drift = [r for r in runs if r["drift"]]
    return {
        "kind": "benchmark",
        "meta": _meta(wall, workers, seeds=list(seeds), rounds=rounds,
                      drift_seeds=list(drift_seeds), settings=settings),
        "stationary": {"summary": summarize(stationary), "runs": stationary},
        "drift": {"summary": summarize(drift), "runs": drift},
    }


def run_tuning(seeds: Sequence[int], rounds: int = ROUNDS,
               policies: Sequence[str] = ("axnb", "thompson"),
               min_weights: Sequence[float] = TUNE_MIN_WEIGHT,
               prunes: Sequence[float] = TUNE_PRUNE, workers: int = 2,
               progress: bool = False) -> dict[str, Any]:
    """Cumulative regret of ``policies`` over the MIN_WEIGHT x PRUNE grid (stationary world)."""
    grid = [(mw, pr) for mw in min_weights for pr in prunes]
    tasks = [{"policy": p, "seed": s, "rounds": rounds, "min_weight": mw, "prune": pr}
             for mw, pr in grid for p in policies for s in seeds]
    t0 = time.perf_counter()
    runs = run_tasks(tasks, workers, progress)
    wall = time.perf_counter() - t0
    cells = []
    for mw, pr in grid:
        sub = [r for r in runs if r["min_weight"] == mw and r["prune"] == pr]
        for name, stats in summarize(sub).items():
            cells.append({"min_weight": mw, "prune": pr, "policy": name, **stats})
    return {"kind": "tuning",
            "meta": _meta(wall, workers, seeds=list(seeds), rounds=rounds,
                          settings=current_settings()),
            "cells": cells,
            "runs": [{k: v for k, v in r.items() if k != "weights"} for r in runs]}


def _meta(wall: float, workers: int, **extra: Any) -> dict[str, Any]:
    from bench.report import machine, source_hash

    mach = machine()
    return {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "wall_time": wall, "workers": workers, "axnb_source": source_hash(),
            "machine": f"{mach['nproc']} CPUs ({mach['cpu']})", "units": UNITS,
            "rates": [float(x) for x in RATES], **extra}


# --------------------------------------------------------------------------- markdown
def _policy_rows(summary: dict[str, dict[str, Any]], best_of: str = "mean") -> list[list[str]]:
    lowest = min(s[best_of] for s in summary.values()) if summary else math.nan
    rows = []
    for name, s in summary.items():
        med = f"{s['median']:.0f} [{s['q25']:.0f}, {s['q75']:.0f}]"
        mean = f"{s['mean']:.0f} ± {s['se']:.0f}"
        if s[best_of] == lowest:
            mean = f"**{mean}**"
        rows.append([f"`{name}`", LABELS.get(name, name), med, mean,
                     f"{s['accuracy']:.0%} ({s['correct']}/{s['runs']})",
                     f"{s['rec_regret'] * 1e4:.1f}", f"{s['last_best_share']:.0%}",
                     f"{s['last_arms']:.1f}", f"{s['wall_mean']:.2f} s"])
    return rows


HEADER = ["policy", "what", "cumulative regret, median [IQR]", "mean ± s.e.",
          "best-arm accuracy", "regret of the pick (×1e-4)", "best arm's share, last round",
          "arms in last round", "time per run"]


def render_benchmark(data: dict[str, Any], command: str = "python -m bench.bandit") -> str:
    meta = data["meta"]
    st = data["stationary"]["summary"]
    rates = meta["rates"]
    exp_uniform = uniform_expected_regret(rates, meta["rounds"], meta["units"])
    lines = [
        f"Generated by `{command}` on {meta['date']} (axnb source sha256 "
        f"{meta['axnb_source']}; {meta['wall_time'] / 60:.1f} min on {meta['workers']} worker "
        f"processes, {meta['machine']}). Engine settings: MIN_WEIGHT "
        f"{meta['settings']['min_weight']:g}, PRUNE {meta['settings']['prune']:g}.",
        "",
        f"10 Bernoulli arms, true rates {rates[0]:.3f}–{rates[-1]:.3f} evenly spaced (order "
        f"shuffled per seed), {meta['units']:,} units a round split by a multinomial draw on "
        f"the weights, {meta['rounds']} rounds, {md.seeds_text(meta['seeds'])}. Cumulative "
        f"regret = Σ units × (p_best − p_arm), in lost conversions (uniform's expectation: "
        f"{exp_uniform:.0f}); accuracy = final recommendation is the true best arm; "
        f"the pick's regret = p_best − p_recommended. Lowest mean regret in bold.",
        "",
        md.table(HEADER, _policy_rows(st)),
    ]
    dr = data.get("drift", {}).get("summary") or {}
    if dr:
        half = meta["rounds"] // 2
        rows = []
        for name, s in dr.items():
            rows.append([f"`{name}`", f"{s['mean']:.0f} ± {s['se']:.0f}",
                         f"{s['median']:.0f} [{s['q25']:.0f}, {s['q75']:.0f}]",
                         f"{s['first_half']:.0f}", f"{s['second_half']:.0f}",
                         f"{s['accuracy']:.0%} ({s['correct']}/{s['runs']})",
                         f"{s['last_best_share']:.0%}"])
        lines += [
            "",
            f"**Drifting world** ({md.seeds_text(meta['drift_seeds'])}): the same arms, whose "
            f"rates reverse order at round {half} (the best arm becomes the worst, the worst "
            f"the best). Regret counts against each round's best arm; accuracy against the "
            f"best arm after the change.",
            "",
            md.table(["policy", "cumulative regret, mean ± s.e.", "median [IQR]",
                    f"rounds 0–{half - 1} (mean)", f"rounds {half}–{meta['rounds'] - 1} (mean)",
                    "accuracy (new best)", "new best's share, last round"], rows),
        ]
    return "\n".join(lines)


def render_tuning(data: dict[str, Any], command: str = "python -m bench.bandit --tune") -> str:
    meta = data["meta"]
    cells = data["cells"]
    policies = list(dict.fromkeys(c["policy"] for c in cells))
    lines = [
        f"**Tuning MIN_WEIGHT × PRUNE** (`{command}`, {meta['date']}, "
        f"{meta['wall_time'] / 60:.1f} min): stationary world, {meta['rounds']} rounds, "
        f"{md.seeds_text(meta['seeds'])} (not the reported ones). Cumulative regret mean ± s.e. "
        f"[median]; accuracy. axnb and plain Thompson at the same settings.",
        "",
    ]
    header = ["MIN_WEIGHT", "PRUNE"] + [f"`{p}` regret" for p in policies] + \
        [f"`{p}` accuracy" for p in policies]
    rows = []
    grid = list(dict.fromkeys((c["min_weight"], c["prune"]) for c in cells))
    best = {p: min(c["mean"] for c in cells if c["policy"] == p) for p in policies}
    for mw, pr in grid:
        by = {c["policy"]: c for c in cells if c["min_weight"] == mw and c["prune"] == pr}
        row = [f"{mw:g}", f"{pr:g}"]
        for p in policies:
            c = by[p]
            cell = f"{c['mean']:.0f} ± {c['se']:.0f} [{c['median']:.0f}]"
            row.append(f"**{cell}**" if c["mean"] == best[p] else cell)
        row += [f"{by[p]['accuracy']:.0%}" for p in policies]
        rows.append(row)
    lines.append(md.table(header, rows))
    return "\n".join(lines)


# --------------------------------------------------------------------------- RESULTS.md
def _marks(block: str) -> tuple[str, str]:
    return f"<!-- bench.bandit:{block} begin -->", f"<!-- bench.bandit:{block} end -->"


ANALYSIS_PLACEHOLDER = (
    "### Analysis (hand-written; kept when the tables above are regenerated)\n\n"
    "To be written for this run.")


def split_section(text: str, heading: str = HEADING) -> tuple[str, str | None, str]:
    """``(before, section or None, after)``: the section runs from its heading line to the
    next ``## `` heading (or the end)."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip("\n") == heading), None)
    if start is None:
        return text, None, ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return "".join(lines[:start]), "".join(lines[start:end]), "".join(lines[end:])


def update_section(text: str, blocks: dict[str, str]) -> str:
    """``text`` (a RESULTS.md) with the bandit section's generated ``blocks`` replaced (or
    added); everything else, including the section's hand-written analysis, is kept. Without
    the section, it is appended at the end with a placeholder for the analysis."""
    before, section, after = split_section(text)
    if section is None:
        body = "\n\n".join(f"{b}\n{blocks[name]}\n{e}" for name in blocks
                           for b, e in [_marks(name)])
        sep = "" if not before or before.endswith("\n\n") else \
            ("\n" if before.endswith("\n") else "\n\n")
        return f"{before}{sep}{HEADING}\n\n{body}\n\n{ANALYSIS_PLACEHOLDER}\n"
    for name, content in blocks.items():
        b, e = _marks(name)
        new = f"{b}\n{content}\n{e}"
        if b in section and e in section:
            i, j = section.index(b), section.index(e) + len(e)
            section = section[:i] + new + section[j:]
        else:  # after the last generated block, else right after the heading
            ends = [section.rindex(m) + len(m) for m in
                    (_marks(n)[1] for n in _block_names(section))]
            at = max(ends) if ends else len(HEADING) + 1
            section = section[:at] + "\n\n" + new + section[at:]
    return before + section + after


def _block_names(section: str) -> list[str]:
    import re

    return re.findall(r"<!-- bench\.bandit:(\S+) begin -->", section)


def write_section(path: Path | str, blocks: dict[str, str]) -> None:
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(update_section(text, blocks))


def render(data: dict[str, Any], command: str | None = None) -> dict[str, str]:
    """The generated blocks of a result file (``{"main": ...}`` or ``{"tuning": ...}``)."""
    if data["kind"] == "tuning":
        return {"tuning": render_tuning(data, command or data["meta"].get("command", ""))}
    return {"main": render_benchmark(data, command or data["meta"].get("command", ""))}


# --------------------------------------------------------------------------- command line
def shown_command(argv: Sequence[str], program: str = "python -m bench.bandit") -> str:
    """The command line as the report shows it: without the output options (--json, --write,
    --markdown, --workers), which do not change the results (``bench.hierarchical`` too)."""
    shown, skip = [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in ("--json", "--workers") and "=" not in a:
            skip = True
        elif name == "--write" and "=" not in a:
            skip = i + 1 < len(argv) and not argv[i + 1].startswith("--")
        if name in ("--json", "--write", "--markdown", "--workers"):
            continue
        shown.append(a)
    return " ".join([program, *shown])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bandit", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=None, help=f"seeds 0..N-1 (default {SEEDS})")
    ap.add_argument("--first-seed", type=int, default=0,
                    help="the seeds are first-seed.. (default 0; drift check too)")
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--drift-seeds", type=int, default=None,
                    help=f"seeds of the drift check (default {DRIFT_SEEDS}; 0 skips it)")
    ap.add_argument("--policies", default=None,
                    help=f"comma list of {', '.join(POLICIES + EXTRA_POLICIES)}, axnb-w<k>")
    ap.add_argument("--quick", action="store_true", help="5 seeds, drift check 3 seeds")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--min-weight", type=float, default=None,
                    help="override axnb.engine.bandit.MIN_WEIGHT (axnb and thompson)")
    ap.add_argument("--prune", type=float, default=None,
                    help="override axnb.engine.bandit.PRUNE (axnb and thompson)")
    ap.add_argument("--tune", action="store_true",
                    help="run the MIN_WEIGHT x PRUNE grid on seeds --tune-start.. instead")
    ap.add_argument("--tune-start", type=int, default=TUNE_START)
    ap.add_argument("--tune-policies", default="axnb,thompson",
                    help="policies of the grid (default axnb,thompson; axnb-engine is the "
                         "same allocation as axnb, without the file, about 10x faster)")
    ap.add_argument("--json", default=None, help="write the results (with every run) here")
    ap.add_argument("--from-json", default=None, help="render a --json file, run nothing")
    ap.add_argument("--markdown", action="store_true", help="print the markdown tables")
    ap.add_argument("--write", nargs="?", const=str(RESULTS), default=None, metavar="RESULTS",
                    help="write the tables into the bandit section of RESULTS "
                         "(default bench/RESULTS.md)")
    args = ap.parse_args(argv)
    command = shown_command(sys.argv[1:] if argv is None else argv)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
    else:
        n_seeds = args.seeds if args.seeds is not None else (5 if args.quick else SEEDS)
        n_drift = args.drift_seeds if args.drift_seeds is not None else \
            (3 if args.quick else DRIFT_SEEDS)
        policies = POLICIES if args.policies is None else \
            tuple(p.strip() for p in args.policies.split(",") if p.strip())
        for p in policies:
            make_policy(p)  # unknown names fail here, before any run
        if args.tune:
            tune_policies = [p.strip() for p in args.tune_policies.split(",") if p.strip()]
            for p in tune_policies:
                make_policy(p)
            data = run_tuning(range(args.tune_start, args.tune_start + n_seeds), args.rounds,
                              tune_policies, workers=args.workers, progress=True)
        else:
            first = args.first_seed
            data = run_benchmark(range(first, first + n_seeds), args.rounds, policies,
                                 range(first, first + n_drift),
                                 workers=args.workers, progress=True,
                                 min_weight=args.min_weight, prune=args.prune)
        data["meta"]["command"] = command
        print(f"bench.bandit: {data['meta']['wall_time']:.0f} s", file=sys.stderr)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=1))
    blocks = render(data)
    if args.markdown or not (args.json or args.write):
        print("\n\n".join(blocks.values()))
    if args.write:
        write_section(args.write, blocks)
        print(f"bench.bandit: wrote the bandit section of {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
