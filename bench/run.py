"""Run the benchmark suite: every (problem, method, seed) in a pool of 2 worker processes.

    python -m bench.run                      # full: 7 problems x 5 methods x 10 seeds
    python -m bench.run --quick              # branin, hartmann6, mixed; 2 seeds; 4 methods
    python -m bench.run --problems branin,mixed --methods axnb,ax --seeds 3
    python -m bench.run --problems mixed --methods axnb \
        --set axnb.engine.models.CATEGORICAL_MODEL=onehot   # try an engine constant

Each worker runs one optimization at a time with one thread (``OMP_NUM_THREADS=1``,
``MKL_NUM_THREADS=1``, ``torch.set_num_threads(1)``, set before torch is imported). Each run
is saved as JSON under ``<out>/runs/<problem>/<method>/seed<k>.json``; then the report
(``bench/RESULTS.md`` and ``bench/figures/*.png`` for a full run, ``<out>/quick/`` for
``--quick``) is written from the runs of this invocation, and the micro-benchmarks run in a
fresh one-thread subprocess. Then the bandit benchmark (``python -m bench.bandit``: 50 seeds,
``--quick`` 5) and the hierarchical benchmark (``python -m bench.hierarchical``: 10 seeds x 40
trials, ``--quick`` 2 x 20) and the combined-experiments benchmark (``python -m
bench.multitask``: 10 seeds, ``--quick`` 2; about 16 minutes on 2 cores) run in subprocesses and
write their sections of the report, which a regeneration of the report keeps
(``bench.report.KEPT_SECTIONS``); their hand-written analyses are kept too. The long runs at
scale (``python -m bench.scale``, ``make bench-scale``: 500 trials x 3 seeds x 3 methods, over
an hour) are not part of ``bench.run``.
"""

from __future__ import annotations

import os

# Before anything imports torch / numpy's BLAS (here and, inherited, in the workers).
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

BENCH = Path(__file__).resolve().parent
QUICK_PROBLEMS = ("branin", "hartmann6", "mixed")
QUICK_METHODS = ("axnb", "ax", "gp", "sobol")
# Rough relative cost, to start the long runs first (better packing on 2 workers).
_COST = {"axnb": 10, "ax": 10, "gp": 3, "tpe": 1, "sobol": 0.1}


def _init_worker(overrides: dict[str, Any] | None = None) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    apply_overrides(overrides or {})
    import torch

    torch.set_num_threads(1)
    import warnings

    warnings.filterwarnings("ignore")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["pkg.module.NAME=value", ...]`` -> ``{"pkg.module.NAME": value}``; values are JSON
    when they parse as JSON (numbers, true, null, ...), strings otherwise. Each name must be an
    existing module-level constant."""
    import importlib

    out: dict[str, Any] = {}
    for item in items:
        name, eq, text = item.partition("=")
        module, _, attr = name.strip().rpartition(".")
        if not eq or not module:
            raise SystemExit(f"--set {item!r}: expected MODULE.NAME=VALUE, e.g. "
                             "axnb.engine.models.FIT_FTOL=1e-5")
        try:
            found = hasattr(importlib.import_module(module), attr)
        except ImportError:
            found = False
        if not found:
            raise SystemExit(f"--set {item!r}: {module}.{attr} does not exist; only existing "
                             "module constants can be overridden")
        try:
            out[name.strip()] = json.loads(text)
        except json.JSONDecodeError:
            out[name.strip()] = text
    return out


def apply_overrides(overrides: dict[str, Any]) -> None:
    """Set module constants (from ``parse_overrides``) in this process."""
    import importlib

    for name, value in overrides.items():
        module, _, attr = name.rpartition(".")
        setattr(importlib.import_module(module), attr, value)


def _task(problem_name: str, method: str, seed: int, out: str) -> dict[str, Any]:
    """One run in a worker; writes its JSON and returns it (or the error)."""
    import torch

    from bench.methods import run_one
    from bench.problems import PROBLEMS

    record: dict[str, Any] = {"problem": problem_name, "method": method, "seed": seed,
                              "budget": PROBLEMS[problem_name].budget,
                              "torch_threads": torch.get_num_threads(), "pid": os.getpid()}
    t0 = time.perf_counter()
    try:
        record.update(run_one(PROBLEMS[problem_name], method, seed))
        record["error"] = None
    except Exception:
        record["error"] = traceback.format_exc()
        record["wall_time"] = time.perf_counter() - t0
    path = Path(out) / "runs" / problem_name / method / f"seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=str))
    return record


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from bench.methods import METHODS
    from bench.problems import PROBLEMS

    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"{', '.join(QUICK_PROBLEMS)}; 2 seeds; {', '.join(QUICK_METHODS)}")
    ap.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 10; quick 2)")
    ap.add_argument("--problems", default=None, help=f"comma list of {', '.join(PROBLEMS)}")
    ap.add_argument("--methods", default=None, help=f"comma list of {', '.join(METHODS)}")
    ap.add_argument("--out", default=str(BENCH / "out"), help="raw outputs (default bench/out)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--results", default=None,
                    help="report path (default bench/RESULTS.md; quick: <out>/quick/RESULTS.md)")
    ap.add_argument("--figures", default=None,
                    help="figures folder (default bench/figures; quick: <out>/quick/figures)")
    ap.add_argument("--no-micro", action="store_true", help="skip the micro-benchmarks")
    ap.add_argument("--no-bandit", action="store_true",
                    help="skip the bandit benchmark (python -m bench.bandit)")
    ap.add_argument("--no-hierarchical", action="store_true",
                    help="skip the hierarchical benchmark (python -m bench.hierarchical)")
    ap.add_argument("--no-multitask", action="store_true",
                    help="skip the combined-experiments benchmark (python -m bench.multitask)")
    ap.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE",
                    help="override an engine constant in the workers, for tuning experiments "
                         "(repeatable; recorded in the report's command line)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the report from the JSON already in --out (no runs)")
    args = ap.parse_args(argv)
    args.overrides = parse_overrides(args.set)
    default = tuple(p for p in PROBLEMS if PROBLEMS[p].default)
    args.problems = _split(args.problems, QUICK_PROBLEMS if args.quick else default,
                           PROBLEMS, "problem")
    args.methods = _split(args.methods, QUICK_METHODS if args.quick else METHODS,
                          METHODS, "method")
    if args.seeds is None:
        # 10 seeds: with 5, one or two lucky or stuck seeds moved medians by 2-3x between
        # engines of equal quality (16-seed reruns of branin/hartmann6 in RESULTS.md).
        args.seeds = 2 if args.quick else 10
    out = Path(args.out)
    if args.results is None:
        args.results = str(out / "quick" / "RESULTS.md" if args.quick else BENCH / "RESULTS.md")
    if args.figures is None:
        args.figures = str(out / "quick" / "figures" if args.quick else BENCH / "figures")
    return args


def _split(text: str | None, default: tuple[str, ...], known: Any, what: str) -> list[str]:
    items = list(default) if text is None else [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in known]
    if bad:
        raise SystemExit(f"unknown {what}(s) {bad}; known: {', '.join(known)}")
    return items


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench.run" + ("" if argv is None and len(sys.argv) <= 1 else
                                       " " + " ".join(sys.argv[1:] if argv is None else argv))
    from bench.problems import PROBLEMS
    from bench.report import write_report

    out = Path(args.out)
    meta_path = out / ("meta-quick.json" if args.quick else "meta.json")
    micro_path = out / ("micro-quick.json" if args.quick else "micro.json")
    bandit_path = out / ("bandit-quick.json" if args.quick else "bandit.json")
    hierarchical_path = out / ("hierarchical-quick.json" if args.quick else "hierarchical.json")
    multitask_path = out / ("multitask-quick.json" if args.quick else "multitask.json")
    if args.report_only:
        meta = json.loads(meta_path.read_text())
        results = []
        for p in args.problems:
            for m in args.methods:
                for s in range(args.seeds):
                    f = out / "runs" / p / m / f"seed{s}.json"
                    if f.exists():
                        results.append(json.loads(f.read_text()))
        micro = json.loads(micro_path.read_text()) if micro_path.exists() else None
        if micro is not None and "wall_time" not in micro:
            micro["wall_time"] = meta.get("micro_wall")
        write_report(results, micro=micro, command=meta["command"], runs_wall=meta["runs_wall"],
                     total_wall=meta["total_wall"], args=args, date=meta.get("date"),
                     start_hash=meta.get("axnb_source"))
        if bandit_path.exists() and not args.no_bandit:
            from bench.bandit import render, write_section

            write_section(args.results, render(json.loads(bandit_path.read_text())))
        if hierarchical_path.exists() and not args.no_hierarchical:
            from bench import hierarchical

            hierarchical.write_section(
                args.results, hierarchical.render(json.loads(hierarchical_path.read_text())))
        if multitask_path.exists() and not args.no_multitask:
            from bench import multitask

            multitask.write_section(
                args.results, multitask.render(json.loads(multitask_path.read_text())))
        print(f"bench: report {args.results}, figures {args.figures}")
        return 0

    from bench.report import source_hash

    start_hash = source_hash()
    tasks = [(p, m, s) for p in args.problems for m in args.methods for s in range(args.seeds)]
    tasks.sort(key=lambda t: -_COST[t[1]] * PROBLEMS[t[0]].budget
               * (3 if PROBLEMS[t[0]].multi_objective or PROBLEMS[t[0]].constraints else 1))
    print(f"bench: {len(tasks)} runs ({len(args.problems)} problems x {len(args.methods)} "
          f"methods x {args.seeds} seeds) on {args.workers} workers -> {args.out}", flush=True)
    t0 = time.perf_counter()
    results = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(args.overrides,)) as pool:
        futures = {pool.submit(_task, p, m, s, args.out): (p, m, s) for p, m, s in tasks}
        for i, fut in enumerate(as_completed(futures), 1):
            p, m, s = futures[fut]
            try:
                r = fut.result()
            except Exception:  # the worker died
                r = {"problem": p, "method": m, "seed": s, "error": traceback.format_exc()}
            results.append(r)
            score = r.get("final_score")
            status = ("ERROR" if r.get("error") else
                      f"score {score:.4g}" if score is not None else "no score")
            print(f"[{i:3d}/{len(tasks)} {time.perf_counter() - t0:7.0f}s] {p:16s} {m:6s} "
                  f"seed {s}: {status} ({r.get('wall_time', 0):.1f}s)", flush=True)
    runs_wall = time.perf_counter() - t0

    micro = None
    micro_wall = None
    if not args.no_micro:
        print("bench: micro-benchmarks ...", flush=True)
        cmd = [sys.executable, "-m", "bench.micro", "--json", str(micro_path)]
        if args.quick:
            cmd.append("--quick")
        m0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=BENCH.parent, env=os.environ.copy())
        if proc.returncode == 0 and micro_path.exists():
            micro = json.loads(micro_path.read_text())
        else:
            micro = {"error": f"bench.micro exited with {proc.returncode}"}
        micro_wall = micro["wall_time"] = time.perf_counter() - m0

    total_wall = time.perf_counter() - t0
    import datetime

    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps({"command": command, "runs_wall": runs_wall,
                                     "micro_wall": micro_wall, "total_wall": total_wall,
                                     "date": date, "axnb_source": start_hash}, indent=1))
    write_report(results, micro=micro, command=command, runs_wall=runs_wall,
                 total_wall=total_wall, args=args, date=date, start_hash=start_hash)
    if not args.no_bandit:
        run_section("bandit", args.quick, bandit_path, Path(args.results))
    if not args.no_hierarchical:
        run_section("hierarchical", args.quick, hierarchical_path, Path(args.results))
    if not args.no_multitask:
        run_section("multitask", args.quick, multitask_path, Path(args.results))
    print(f"bench: runs {runs_wall / 60:.1f} min, total "
          f"{(time.perf_counter() - t0) / 60:.1f} min; report {args.results}, figures "
          f"{args.figures}", flush=True)
    return 0


def run_section(module: str, quick: bool, json_path: Path, results: Path) -> bool:
    """``python -m bench.<module>`` (bandit, hierarchical, multitask) in a subprocess; it writes its
    section of ``results``."""
    print(f"bench: {module} benchmark (python -m bench.{module}) ...", flush=True)
    cmd = [sys.executable, "-m", f"bench.{module}", "--json", str(json_path), "--write",
           str(results)]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, cwd=BENCH.parent, env=os.environ.copy())
    if proc.returncode != 0:
        print(f"bench: bench.{module} exited with {proc.returncode}; its section of "
              f"{results} is unchanged", flush=True)
    return proc.returncode == 0


if __name__ == "__main__":
    sys.exit(main())
