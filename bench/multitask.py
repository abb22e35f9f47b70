"""Combined experiments benchmark: online/offline optimization (Letham & Bakshy, JMLR 2019,
"Bayesian optimization for policy search via online-offline experimentation"), axnb's
multi-task ``Experiment(tasks=["online", "offline"])`` against an online-only Experiment.

    python -m bench.multitask                      # 10 seeds, both settings
    python -m bench.multitask --quick --markdown   # 2 seeds, print the tables
    python -m bench.multitask --json out.json --write   # also write bench/RESULTS.md's section
    python -m bench.multitask --settings related --first-seed 100 --seeds 5

The problem (minimize, six parameters ``x1..x6`` in [0, 1]):

* online (the target, expensive): Hartmann-6 (``botorch.test_functions.Hartmann(dim=6)``,
  f* = -3.32237 at (0.2017, 0.1500, 0.4769, 0.2753, 0.3117, 0.6573));
* offline, setting ``related`` (the cheap, biased simulator):
  ``f_off(x) = 1.2 * hartmann6(clip(x + 0.05, 0, 1)) + 0.3``. The bias is of the three kinds
  a simulator has: its optimum is displaced (by -0.05 on every coordinate, 0.12 in
  Euclidean distance: about the width of Hartmann-6's global well, so the offline optimum is
  a good but not an optimal online point: online value -2.99 there, regret 0.34), and its
  values are rescaled and offset (a per-task mean and the task covariance must absorb
  them). Under uniform sampling it correlates with the online function at 0.95 (Pearson)
  and 0.97 (Spearman). Letham & Bakshy's simulator has all three biases; Ax's removed
  multi-task tutorial used a biased Hartmann-6 copy in the same spirit;
* offline, setting ``unrelated`` (the control: an offline function that tells nothing about
  the online one): Styblinski-Tang-6 on the reversed, rescaled inputs ``z = 5 - 10 x``,
  then affinely mapped to Hartmann-6's mean and spread under uniform sampling (-0.26, 0.38):
  its optimum is at x = 0.790 on every coordinate, and its Pearson correlation with the
  online function under uniform sampling is 0.08.

Protocol (the same for every seed; runs of one seed are paired: same ``seed=``):

* ``multitask``: ``Experiment(tasks=["online", "offline"], initial_trials=5)``; first
  ``suggest(n=5)`` (online start design, the same points as the online-only run's), then
  ``suggest(n=20, task="offline")`` (offline start design), then 3 batches of
  ``suggest(n=20, task="offline")`` followed by ``suggest(n=5)`` (online): 20 online and 80
  offline evaluations; the engine's defaults (``axnb.engine.strategy.TASK_SELECTION``: each
  batch uses the multi-task GP's view of its task only when the other task ranks that task's
  results better than chance, else the task's own GP);
* ``online-only``: a plain ``Experiment(initial_trials=5)`` and 4 x ``suggest(n=5)``: the same
  20 online evaluations, without the offline data (it does not depend on the setting, so
  each seed runs once and serves both comparisons).

Score: online regret = best online value observed - f*, after the start design and after
each batch. Ratio = median over seeds of multi-task regret / median of online-only. The
learned task correlation is ``exp.task_correlation()`` at the end of each multi-task run.
CPU time is the process time of the run (one thread per process: ``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``), as the machine is shared.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from bench import markdown as md  # noqa: E402
from bench import sections  # noqa: E402

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
HEADING = "## Combined experiments: online and offline (python -m bench.multitask)"

SEEDS = 10
QUICK_SEEDS = 2
DIM = 6
NAMES = tuple(f"x{i + 1}" for i in range(DIM))
F_STAR = -3.32237
SETTINGS = ("related", "unrelated")
# Sizes of the protocol (the smoke test shrinks them).
SIZES = {"initial_online": 5, "initial_offline": 20, "batches": 3, "offline_batch": 20,
         "online_batch": 5}
TARGET_RELATED, TARGET_UNRELATED = 0.7, 1.2

OFF_SHIFT, OFF_SCALE, OFF_OFFSET = 0.05, 1.2, 0.3
ST_MEAN, ST_STD = -25.0, 78.76  # Styblinski-Tang-6 at z = 5 - 10 x, x uniform
H6_MEAN, H6_STD = -0.258, 0.385  # Hartmann-6 under uniform sampling


# --------------------------------------------------------------------------- the problem
def _x(params: dict[str, Any] | Sequence[float]) -> np.ndarray:
    if isinstance(params, dict):
        return np.asarray([float(params[n]) for n in NAMES], dtype=float)
    return np.asarray(params, dtype=float)


def hartmann6(x: Any) -> float:
    import torch
    from botorch.test_functions import Hartmann

    return float(Hartmann(dim=DIM)(torch.tensor(_x(x), dtype=torch.float64).unsqueeze(0)))


def offline_related(x: Any) -> float:
    """The biased simulator: shifted optimum, rescaled and offset values."""
    return OFF_SCALE * hartmann6(np.clip(_x(x) + OFF_SHIFT, 0.0, 1.0)) + OFF_OFFSET


def offline_unrelated(x: Any) -> float:
    """The control: Styblinski-Tang-6 at z = 5 - 10 x, mapped to Hartmann-6's scale."""
    z = 5.0 - 10.0 * _x(x)
    st = 0.5 * float(np.sum(z**4 - 16 * z**2 + 5 * z))
    return H6_MEAN + H6_STD * (st - ST_MEAN) / ST_STD


OFFLINE = {"related": offline_related, "unrelated": offline_unrelated}


# --------------------------------------------------------------------------- one run
def _space() -> list[Any]:
    import axnb

    return [axnb.Range(n, 0.0, 1.0) for n in NAMES]


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """One (method, setting, seed) run: the unit of work of the process pool."""
    import torch

    import axnb

    warnings.filterwarnings("ignore")
    sizes = {**SIZES, **task.get("sizes", {})}
    seed, method = task["seed"], task["method"]
    offline = OFFLINE.get(task["setting"]) if method == "multitask" else None
    c0, w0 = time.process_time(), time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="axnb-mt-")
    best = math.inf
    trace: list[float] = []  # online regret after the start design and after each batch
    online_values: list[float] = []
    offline_values: list[float] = []
    suggest_cpu: dict[str, list[float]] = {"online": [], "offline": []}
    sources: dict[str, list[str]] = {"online": [], "offline": []}
    try:
        kw: dict[str, Any] = {}
        if method == "multitask":
            kw["tasks"] = ["online", "offline"]
        exp = axnb.Experiment("policy", _space(), objective="y", minimize=True, seed=seed,
                              path=tmp.name, initial_trials=sizes["initial_online"], **kw)

        def batch(n: int, which: str) -> None:
            nonlocal best
            s0 = time.process_time()
            ts = exp.suggest(n=n, task="offline") if which == "offline" else exp.suggest(n=n)
            ts = ts if isinstance(ts, list) else [ts]
            suggest_cpu[which].append(time.process_time() - s0)
            for t in ts:
                sources[which].append(t.source)
                if which == "offline":
                    v = offline(t.parameters)  # type: ignore[misc]
                    offline_values.append(v)
                else:
                    v = hartmann6(t.parameters)
                    online_values.append(v)
                    best = min(best, v)
                exp.complete(t.index, v)

        batch(sizes["initial_online"], "online")
        if offline is not None:
            batch(sizes["initial_offline"], "offline")
        trace.append(best - F_STAR)
        for _ in range(sizes["batches"]):
            if offline is not None:
                batch(sizes["offline_batch"], "offline")
            batch(sizes["online_batch"], "online")
            trace.append(best - F_STAR)
        corr = None
        if method == "multitask":
            c = exp.task_correlation().get("y", {})
            corr = c.get("online", {}).get("offline")
        best_online = int(np.argmin(online_values))
    finally:
        tmp.cleanup()
    return {
        "method": method, "setting": task["setting"], "seed": seed, "sizes": sizes,
        "regret_trace": trace, "final_regret": trace[-1], "task_correlation": corr,
        "online_values": online_values, "offline_values": offline_values,
        "best_online_index": best_online, "sources": sources, "suggest_cpu": suggest_cpu,
        "cpu_time": time.process_time() - c0, "wall_time": time.perf_counter() - w0,
        "torch_threads": torch.get_num_threads(),
    }


def _init_worker() -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")


def _label(r: dict[str, Any]) -> str:
    return r["method"] if r["method"] == "online-only" else f"multitask/{r['setting']}"


def run_tasks(tasks: list[dict[str, Any]], workers: int = 2,
              progress: bool = False) -> list[dict[str, Any]]:
    """Run the tasks (in a spawn pool of at most 2 processes when ``workers > 1``)."""
    t0 = time.perf_counter()

    def report(done: int, r: dict[str, Any]) -> None:
        if progress:
            corr = "" if r["task_correlation"] is None else \
                f", corr {r['task_correlation']:+.2f}"
            print(f"[{done:3d}/{len(tasks)} {time.perf_counter() - t0:6.0f}s] "
                  f"{_label(r):21s} seed {r['seed']}: regret {r['final_regret']:.4f}{corr} "
                  f"({r['cpu_time']:.0f}s CPU)", file=sys.stderr, flush=True)

    if workers <= 1:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        out = []
        try:
            with warnings.catch_warnings():
                for i, t in enumerate(tasks, 1):
                    out.append(run_task(t))
                    report(i, out[-1])
        finally:
            torch.set_num_threads(threads)
        return out
    order = sorted(range(len(tasks)), key=lambda i: tasks[i]["method"] != "multitask")
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, 2), mp_context=ctx,
                             initializer=_init_worker) as pool:
        futures = {pool.submit(run_task, tasks[i]): i for i in order}
        for done, fut in enumerate(as_completed(futures), 1):
            results[futures[fut]] = fut.result()
            report(done, results[futures[fut]])
    return results  # type: ignore[return-value]


# --------------------------------------------------------------------------- summaries
def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per row (online-only, multitask/<setting>): regret quantiles after each batch, task
    correlation, CPU time; per setting: the ratio of medians, paired wins, the target."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by.setdefault(_label(r), []).append(r)
    rows = {}
    for key, rs in by.items():
        n_points = len(rs[0]["regret_trace"])
        corr = [r["task_correlation"] for r in rs if r["task_correlation"] is not None]
        rows[key] = {
            "runs": len(rs), "final": md.quantiles([r["final_regret"] for r in rs]),
            "trace": [md.quantiles([r["regret_trace"][i] for r in rs]) for i in range(n_points)],
            "corr_mean": float(np.mean(corr)) if corr else None,
            "corr_min": float(np.min(corr)) if corr else None,
            "corr_max": float(np.max(corr)) if corr else None,
            "cpu_mean": float(np.mean([r["cpu_time"] for r in rs])),
            "online_suggest_cpu": float(np.median(np.concatenate(
                [r["suggest_cpu"]["online"][1:] for r in rs]))),
            "fallbacks": int(sum(s == "fallback" for r in rs for v in r["sources"].values()
                                 for s in v)),
        }
    base = {r["seed"]: r["final_regret"] for r in by.get("online-only", [])}
    ratios = {}
    for setting in SETTINGS:
        rs = by.get(f"multitask/{setting}")
        if not rs or not base:
            continue
        paired = [(r["final_regret"], base[r["seed"]]) for r in rs if r["seed"] in base]
        mt = float(np.median([a for a, _ in paired]))
        oo = float(np.median([b for _, b in paired]))
        ratio = mt / oo if oo > 0 else math.inf
        target = TARGET_RELATED if setting == "related" else TARGET_UNRELATED
        per_seed = [a / b for a, b in paired if b > 0]
        ratios[setting] = {
            "ratio_of_medians": ratio, "median_paired_ratio": float(np.median(per_seed)),
            "wins": int(sum(a < b for a, b in paired)), "pairs": len(paired),
            "target": target, "met": bool(ratio < target if setting == "related"
                                          else ratio <= target),
        }
    return {"rows": rows, "ratios": ratios}


def run_benchmark(seeds: Sequence[int], settings: Sequence[str], workers: int = 2,
                  sizes: dict[str, int] | None = None, progress: bool = False
                  ) -> dict[str, Any]:
    sizes = {**SIZES, **(sizes or {})}
    tasks: list[dict[str, Any]] = []
    for s in seeds:
        tasks += [{"method": "multitask", "setting": st, "seed": s, "sizes": sizes}
                  for st in settings]
        tasks.append({"method": "online-only", "setting": "-", "seed": s, "sizes": sizes})
    from bench.report import machine, source_hash

    start_hash = source_hash()  # the code the workers import (they import it once)
    t0, c0 = time.perf_counter(), time.process_time()
    runs = run_tasks(tasks, workers, progress)
    wall = time.perf_counter() - t0
    end_hash = source_hash()
    mach = machine()
    return {
        "kind": "multitask",
        "meta": {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                 "wall_time": wall, "cpu_time": sum(r["cpu_time"] for r in runs)
                 + time.process_time() - c0, "workers": min(workers, 2) if workers > 1 else 1,
                 "axnb_source": start_hash,
                 "axnb_source_end": end_hash if end_hash != start_hash else None,
                 "machine": f"{mach['nproc']} CPUs ({mach['cpu']})", "seeds": list(seeds),
                 "settings": list(settings), "sizes": sizes, "f_star": F_STAR},
        "summary": summarize(runs),
        "runs": runs,
    }


# --------------------------------------------------------------------------- markdown
def render(data: dict[str, Any], command: str | None = None) -> str:
    """The generated part of the section: the setup, the regret table, the ratios."""
    meta, summ = data["meta"], data["summary"]
    rows, ratios = summ["rows"], summ["ratios"]
    command = command or meta.get("command", "python -m bench.multitask")
    z = meta["sizes"]
    n_online = z["initial_online"] + z["batches"] * z["online_batch"]
    n_offline = z["initial_offline"] + z["batches"] * z["offline_batch"]
    after = ["start design", *[f"batch {i + 1}" for i in range(z["batches"])]]
    header = ["method", f"online regret after {n_online} online evaluations, median [IQR]",
              *[f"after {a}" for a in after[:-1]], "task correlation, mean [min, max]",
              "CPU per run (mean)", "CPU per online suggest (median)"]
    labels = {"online-only": "online-only (plain `Experiment`)",
              "multitask/related": "multi-task, related offline (biased Hartmann-6)",
              "multitask/unrelated": "multi-task, unrelated offline (Styblinski-Tang)"}
    table = []
    for key in ("online-only", *[f"multitask/{s}" for s in meta["settings"]]):
        if key not in rows:
            continue
        r = rows[key]
        corr = "—" if r["corr_mean"] is None else \
            f"{r['corr_mean']:.2f} [{r['corr_min']:.2f}, {r['corr_max']:.2f}]"
        fb = f" ({r['fallbacks']} fallback points)" if r["fallbacks"] else ""
        table.append([labels[key] + fb, md.quartiles(r["final"]),
                      *[md.quartiles(t) for t in r["trace"][:-1]],
                      corr, f"{r['cpu_mean']:.0f} s",
                      f"{r['online_suggest_cpu']:.1f} s"])
    ratio_rows = []
    for s, r in ratios.items():
        cmp = "<" if s == "related" else "≤"
        ratio_rows.append([s, f"{r['ratio_of_medians']:.2f}", f"{r['median_paired_ratio']:.2f}",
                           f"{r['wins']}/{r['pairs']}", f"{cmp} {r['target']:g}",
                           "met" if r["met"] else "**not met**"])
    source = meta["axnb_source"]
    if meta.get("axnb_source_end"):
        source += (f" at the start, {meta['axnb_source_end']} at the end: axnb/ changed "
                   f"during the run; the workers import it once, when they start")
    lines = [
        f"Generated by `{command}` on {meta['date']} (axnb source sha256 "
        f"{source}; {meta['wall_time'] / 60:.1f} min wall, "
        f"{meta['cpu_time'] / 60:.1f} min CPU, on {meta['workers']} worker "
        f"process{'es' if meta['workers'] != 1 else ''}, one thread each, {meta['machine']}).",
        "",
        f"Problem (minimize, `x1..x6` in [0, 1]): online = Hartmann-6 (f* = {F_STAR}); offline "
        f"`related` = `{OFF_SCALE:g} * hartmann6(clip(x + {OFF_SHIFT:g}, 0, 1)) + "
        f"{OFF_OFFSET:g}` (optimum displaced by 0.12, values rescaled and offset; correlation "
        f"0.95 under uniform sampling); offline `unrelated` = Styblinski-Tang-6 at "
        f"`z = 5 - 10 x`, mapped to Hartmann-6's scale (correlation 0.08). Protocol: "
        f"{z['initial_online']} online + {z['initial_offline']} offline start-design points, "
        f"then {z['batches']} batches of ({z['offline_batch']} offline via "
        f"`suggest(n={z['offline_batch']}, task=\"offline\")` + {z['online_batch']} online via "
        f"`suggest(n={z['online_batch']})`): {n_online} online and {n_offline} offline "
        f"evaluations. Online-only: a plain `Experiment`, {z['initial_online']} start-design "
        f"points then {z['batches']} x `suggest(n={z['online_batch']})` ({n_online} online "
        f"evaluations, the same start design). Regret = best online value observed − f*; "
        f"{md.seeds_text(meta['seeds'])}, paired (same `seed=`). Task correlation: "
        f"`exp.task_correlation()[\"y\"][\"online\"][\"offline\"]` at the end of the run.",
        "",
        md.table(header, table),
        "",
        "Multi-task / online-only, final online regret (ratio of the medians; the median of "
        "the per-seed ratios; seeds where multi-task is better):",
        "",
        md.table(["offline function", "ratio of medians", "median per-seed ratio",
                "multi-task better", "target", ""], ratio_rows),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- RESULTS.md
BEGIN, END = "<!-- bench.multitask:main begin -->", "<!-- bench.multitask:main end -->"
ANALYSIS_PLACEHOLDER = (
    "### Analysis (hand-written; kept when the tables above are regenerated)\n\n"
    "To be written for this run.")


def update_section(text: str, block: str) -> str:
    """``text`` (a RESULTS.md) with this section's generated block replaced, everything else
    (the section's hand-written analysis included) kept; without the section, it is appended
    with a placeholder analysis (``bench.sections``)."""
    return sections.update_section(text, block, HEADING, BEGIN, END, ANALYSIS_PLACEHOLDER)


def write_section(path: Path | str, block: str) -> None:
    sections.write_section(path, lambda text: update_section(text, block))


def shown_command(argv: Sequence[str]) -> str:
    """The command line without the output options, which do not change the results."""
    from bench.bandit import shown_command as shown

    return shown(argv, "python -m bench.multitask")


def _sizes(text: str | None) -> dict[str, int]:
    """``--sizes initial_online=3,batches=1``."""
    if not text:
        return {}
    out = {}
    for item in text.split(","):
        k, _, v = item.partition("=")
        k = k.strip()
        if k not in SIZES or not v.strip().isdigit() or int(v) < 1:
            raise SystemExit(f"--sizes {item!r}: expected NAME=N with NAME in "
                             f"{', '.join(SIZES)} and N >= 1")
        out[k] = int(v)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.multitask", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=None,
                    help=f"seeds first-seed.. (default {SEEDS}; quick {QUICK_SEEDS})")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_SEEDS} seeds")
    ap.add_argument("--settings", default=",".join(SETTINGS),
                    help="comma list of related, unrelated (default both)")
    ap.add_argument("--sizes", default=None,
                    help="override the protocol's sizes, e.g. batches=1,offline_batch=4 "
                         f"(names: {', '.join(SIZES)})")
    ap.add_argument("--workers", type=int, default=2,
                    help="processes, at most 2 (1: in this process)")
    ap.add_argument("--json", default=None,
                    help="write the results (with every run) here (default "
                         "bench/out/multitask.json; quick: multitask-quick.json)")
    ap.add_argument("--from-json", default=None, help="render a --json file, run nothing")
    ap.add_argument("--markdown", action="store_true", help="print the markdown tables")
    ap.add_argument("--write", nargs="?", const=str(RESULTS), default=None, metavar="RESULTS",
                    help="write the tables into the section of RESULTS (default "
                         "bench/RESULTS.md), keeping its hand-written analysis")
    args = ap.parse_args(argv)
    command = shown_command(sys.argv[1:] if argv is None else argv)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
    else:
        seeds = args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else SEEDS)
        settings = tuple(s.strip() for s in args.settings.split(",") if s.strip())
        bad = [s for s in settings if s not in SETTINGS]
        if bad:
            raise SystemExit(f"unknown setting(s) {bad}; known: {', '.join(SETTINGS)}")
        data = run_benchmark(range(args.first_seed, args.first_seed + seeds), settings,
                             workers=args.workers, sizes=_sizes(args.sizes), progress=True)
        data["meta"]["command"] = command
        print(f"bench.multitask: {data['meta']['wall_time']:.0f} s", file=sys.stderr)
        if args.json is None:
            args.json = str(BENCH / "out" / ("multitask-quick.json" if args.quick else
                                             "multitask.json"))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=1))
    block = render(data)
    if args.markdown or not args.write:
        print(block)
    if args.write:
        write_section(args.write, block)
        print(f"bench.multitask: wrote the section {HEADING!r} of {args.write}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
