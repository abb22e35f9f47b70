"""At scale: long runs (500 trials) on 10-D Ackley and 20-D Rosenbrock, axnb against Optuna's
TPE and GP samplers (issue 20, "Engine at scale").

    python -m bench.scale --out /tmp/scale_run            # 2 problems x 3 methods x 3 seeds
    python -m bench.scale --out /tmp/scale_run --write    # ... and bench/RESULTS.md's section
    python -m bench.scale --from-dir /tmp/scale_run --write   # render finished runs, run nothing
    python -m bench.scale --seeds 1 --trials 12 --problems ackley2 --out /tmp/s   # smoke

Problems (minimize, BoTorch test functions at their default bounds, optimum 0 for both):

* ``ackley10``: ``botorch.test_functions.Ackley(dim=10)``, x in [-32.768, 32.768]^10;
* ``rosenbrock20``: ``botorch.test_functions.Rosenbrock(dim=20)``, x in [-5, 10]^20;
* ``ackley10_shifted`` (not run by default): the same Ackley evaluated at ``x - shift``
  (``shift`` uniform in [-16, 16]^10, ``numpy.random.default_rng(20)``), so the optimum is not
  the centre of the box (axnb's first start-design point is the centre: on ``ackley10`` its
  first trial already has regret 0);
* ``ackley2``, ``rosenbrock3``: tiny versions for the smoke test.

Methods (each seeded with the run's seed):

* ``axnb``: ``axnb.Experiment(..., seed=seed)`` with its defaults (``initial_trials``
  default), ``suggest()`` / ``complete()``;
* ``tpe``: Optuna ``TPESampler(seed=seed)``; ``ask()`` + one ``suggest_float`` per dimension;
* ``gp``: Optuna ``GPSampler(seed=seed)``, the same. A GP run stops early once its generation
  CPU time passes ``--gp-budget`` seconds (default 1500 s = 25 min); the table says so.

Recorded per trial: the value, the best-so-far regret (best value - 0), and the generation
time of the ask (``suggest()``, or Optuna's ``ask`` + its ``suggest_float`` calls) as the
process's CPU time (``time.process_time``) and as wall time. One thread per process
(``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``), at most ``--workers`` processes (2).

Every run writes ``<out>/<problem>_<method>_s<seed>.json`` (rewritten every 10 trials while
it runs, with ``"finished": false``); a finished run's file is kept and not rerun, so the
same command finishes an interrupted benchmark.
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
from bench.run import _init_worker, apply_overrides, parse_overrides  # noqa: E402

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
FIGURES = BENCH / "figures"
HEADING = "## At scale: long runs (python -m bench.scale)"
BEGIN, END = "<!-- bench.scale:main begin -->", "<!-- bench.scale:main end -->"
ANALYSIS_PLACEHOLDER = (
    "### Analysis (hand-written; kept when the tables above are regenerated)\n\n"
    "To be written for this run.")

SEEDS = 3
TRIALS = 500
GP_BUDGET = 1500.0  # CPU seconds of generation after which an Optuna-GP run is stopped
CHECKPOINT = 10     # trials between two rewrites of a running run's JSON
CHECKPOINTS = (50, 100, 250, 500)  # trials at which the second table compares every run

# name: (BoTorch class name, dim, label)
PROBLEMS: dict[str, tuple[str, int, str]] = {
    "ackley10": ("Ackley", 10, "Ackley 10-D"),
    "ackley10_shifted": ("Ackley", 10, "Ackley 10-D, optimum off-centre"),
    "rosenbrock20": ("Rosenbrock", 20, "Rosenbrock 20-D"),
    "ackley2": ("Ackley", 2, "Ackley 2-D (smoke)"),
    "rosenbrock3": ("Rosenbrock", 3, "Rosenbrock 3-D (smoke)"),
}
DEFAULT_PROBLEMS = ("ackley10", "rosenbrock20")
METHODS = ("axnb", "tpe", "gp")
LABELS = {"axnb": "axnb (defaults)", "tpe": "Optuna TPESampler", "gp": "Optuna GPSampler"}
COLORS = {"axnb": "C0", "tpe": "C1", "gp": "C2"}
_COST = {"axnb": 10, "gp": 5, "tpe": 1}


class Problem:
    def __init__(self, name: str) -> None:
        from botorch import test_functions

        cls, dim, self.label = PROBLEMS[name]
        self.name, self.dim = name, dim
        self.f = getattr(test_functions, cls)(dim=dim)
        self.bounds = self.f.bounds.numpy().T.tolist()  # [(lo, hi)] per dimension
        self.optimum = float(self.f.optimal_value)
        self.names = [f"x{i}" for i in range(dim)]
        self.shift = (np.random.default_rng(20).uniform(-16.0, 16.0, dim)
                      if name.endswith("_shifted") else np.zeros(dim))
        if name.endswith("_shifted"):  # x - shift leaves the box: widen BoTorch's input check
            wide = [(lo - 16.0, hi + 16.0) for lo, hi in self.bounds]
            self.f = getattr(test_functions, cls)(dim=dim, bounds=wide)

    def __call__(self, params: dict[str, float]) -> float:
        import torch

        x = np.array([float(params[n]) for n in self.names]) - self.shift
        return float(self.f.evaluate_true(torch.tensor(x[None], dtype=torch.float64)).item())


class Axnb:
    def __init__(self, problem: Problem, seed: int) -> None:
        import axnb

        self.tmp = tempfile.TemporaryDirectory(prefix="axnb-scale-")
        self.exp = axnb.Experiment(
            f"scale-{problem.name}",
            [axnb.Range(n, lo, hi) for n, (lo, hi) in zip(problem.names, problem.bounds)],
            objective="y", minimize=True, seed=seed, path=self.tmp.name)
        self.trial: Any = None

    def ask(self) -> dict[str, float]:
        self.trial = self.exp.suggest()
        return dict(self.trial.parameters)

    def tell(self, value: float) -> None:
        self.exp.complete(self.trial.index, value)

    def source(self) -> str:
        return str(self.trial.source)

    def close(self) -> None:
        self.tmp.cleanup()


class Optuna:
    def __init__(self, problem: Problem, seed: int, sampler: str) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        s = (optuna.samplers.TPESampler(seed=seed) if sampler == "tpe"
             else optuna.samplers.GPSampler(seed=seed))
        self.study = optuna.create_study(direction="minimize", sampler=s)
        self.problem = problem
        self.trial: Any = None

    def ask(self) -> dict[str, float]:
        t = self.study.ask()
        out = {n: t.suggest_float(n, lo, hi)
               for n, (lo, hi) in zip(self.problem.names, self.problem.bounds)}
        self.trial = t
        return out

    def tell(self, value: float) -> None:
        self.study.tell(self.trial, value)

    def source(self) -> str:
        return "optuna"

    def close(self) -> None:
        pass


def make_method(method: str, problem: Problem, seed: int) -> Any:
    if method == "axnb":
        return Axnb(problem, seed)
    if method in ("tpe", "gp"):
        return Optuna(problem, seed, method)
    raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")


# --------------------------------------------------------------------------- one run
def run_path(out: Path, problem: str, method: str, seed: int) -> Path:
    return Path(out) / f"{problem}_{method}_s{seed}.json"


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """One (problem, method, seed) run; its JSON is rewritten every CHECKPOINT trials."""
    import torch

    warnings.filterwarnings("ignore")
    path = run_path(task["out"], task["problem"], task["method"], task["seed"])
    problem = Problem(task["problem"])
    budget = task.get("gp_budget") if task["method"] == "gp" else None
    w0, c0 = time.perf_counter(), time.process_time()
    rec: dict[str, Any] = {
        "problem": task["problem"], "method": task["method"], "seed": task["seed"],
        "trials_planned": task["trials"], "dim": problem.dim, "optimum": problem.optimum,
        "gp_budget": budget, "capped": False, "finished": False,
        "values": [], "regret": [], "gen_cpu": [], "gen_wall": [], "sources": [],
        "pid": os.getpid(), "started": datetime.datetime.now().astimezone().isoformat(),
    }
    m = make_method(task["method"], problem, task["seed"])
    best = math.inf
    try:
        for i in range(task["trials"]):
            c, w = time.process_time(), time.perf_counter()
            params = m.ask()
            rec["gen_cpu"].append(time.process_time() - c)
            rec["gen_wall"].append(time.perf_counter() - w)
            value = problem(params)
            m.tell(value)
            best = min(best, value)
            rec["values"].append(value)
            rec["regret"].append(best - problem.optimum)
            rec["sources"].append(m.source())
            if budget is not None and sum(rec["gen_cpu"]) > budget and i + 1 < task["trials"]:
                rec["capped"] = True
                break
            if (i + 1) % CHECKPOINT == 0:
                rec["wall_time"] = time.perf_counter() - w0
                rec["cpu_time"] = time.process_time() - c0
                _write(path, rec)
    finally:
        m.close()
    rec.update(finished=True, trials=len(rec["values"]), final_regret=rec["regret"][-1],
               gen_cpu_total=float(sum(rec["gen_cpu"])),
               gen_wall_total=float(sum(rec["gen_wall"])),
               wall_time=time.perf_counter() - w0, cpu_time=time.process_time() - c0,
               torch_threads=torch.get_num_threads())
    _write(path, rec)
    return rec


def load_runs(out: Path, finished_only: bool = False) -> list[dict[str, Any]]:
    runs = []
    for p in sorted(Path(out).glob("*_s*.json")):
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(r, dict) and "method" in r and r.get("values") and \
                (r.get("finished") or not finished_only):
            runs.append(r)
    return runs


def run_tasks(tasks: list[dict[str, Any]], workers: int = 2, progress: bool = True,
              overrides: dict[str, Any] | None = None) -> None:
    """Run the tasks whose JSON is not finished yet (seed-major order, so the first seeds of
    every method finish first), in a spawn pool of ``workers`` processes (1: here), with the
    engine constants ``overrides`` (``bench.run.apply_overrides``) set in each."""
    todo = []
    for t in tasks:
        p = run_path(t["out"], t["problem"], t["method"], t["seed"])
        if p.exists():
            try:
                if json.loads(p.read_text()).get("finished"):
                    continue
            except ValueError:
                pass
        todo.append(t)
    todo.sort(key=lambda t: (t["seed"], -_COST[t["method"]], t["problem"]))
    t0 = time.perf_counter()

    def report(done: int, r: dict[str, Any]) -> None:
        if progress:
            print(f"[{done:2d}/{len(todo)} {time.perf_counter() - t0:6.0f}s] {r['problem']:12s}"
                  f" {r['method']:4s} seed {r['seed']}: regret {r['final_regret']:.4g} after "
                  f"{r['trials']} trials, generation {r['gen_cpu_total']:.0f} s CPU"
                  f"{' (capped)' if r['capped'] else ''} ({r['wall_time']:.0f} s wall)",
                  file=sys.stderr, flush=True)

    if workers <= 1:
        import torch

        apply_overrides(overrides or {})
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for i, t in enumerate(todo, 1):
                report(i, run_task(t))
        finally:
            torch.set_num_threads(threads)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(overrides or {},)) as pool:
        futures = [pool.submit(run_task, t) for t in todo]
        for done, fut in enumerate(as_completed(futures), 1):
            report(done, fut.result())


# --------------------------------------------------------------------------- summaries
def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per (problem, method): final regret median / min / max over the finished runs, the
    total generation CPU time per run (median, min, max), trials, caps, seeds."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in runs:
        by.setdefault((r["problem"], r["method"]), []).append(r)
    out = {}
    for (p, m), rs in by.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        fin = [r for r in rs if r.get("finished")]
        final = [r["regret"][-1] for r in fin]
        gen = [float(sum(r["gen_cpu"])) for r in fin]
        out[f"{p}/{m}"] = {
            "problem": p, "method": m, "runs": len(fin),
            "seeds": [r["seed"] for r in fin],
            "running": [{"seed": r["seed"], "trials": len(r["values"]),
                         "regret": r["regret"][-1]} for r in rs if not r.get("finished")],
            "final": {"median": float(np.median(final)), "min": float(min(final)),
                      "max": float(max(final))} if final else None,
            "final_each": final,
            "trials": [len(r["values"]) for r in fin],
            "capped": [r["seed"] for r in fin if r.get("capped")],
            "gen_cpu": {"median": float(np.median(gen)), "min": float(min(gen)),
                        "max": float(max(gen))} if gen else None,
            "gen_cpu_each": gen,
            "gen_cpu_last50": float(np.median([np.median(r["gen_cpu"][-50:]) for r in fin]))
            if fin else None,
            "checkpoints": {str(k): {
                "runs": sum(len(r["values"]) >= k for r in rs),
                "regret": float(np.median([r["regret"][k - 1] for r in rs
                                           if len(r["values"]) >= k])),
                "gen_cpu": float(np.median([sum(r["gen_cpu"][:k]) for r in rs
                                            if len(r["values"]) >= k])),
            } for k in CHECKPOINTS if any(len(r["values"]) >= k for r in rs)},
        }
    return out


# --------------------------------------------------------------------------- markdown
def _g(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 0.01:
        return f"{x:.3g}"
    return f"{x:.2e}"


def _s(x: float) -> str:
    if x < 1:
        return f"{x * 1000:.0f} ms"
    if x < 120:
        return f"{x:.1f} s"
    return f"{x / 60:.1f} min"


def render(summary: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    problems = [p for p in meta.get("problems", DEFAULT_PROBLEMS)
                if any(s["problem"] == p for s in summary.values())]
    methods = [m for m in METHODS if any(s["method"] == m for s in summary.values())]
    header = ["problem", "method", "runs finished (seeds)", "trials",
              "final regret, median [min, max]", "total generation CPU per run, median "
              "[min, max]", "per ask, last 50 trials (median)"]
    rows = []
    for p in problems:
        for m in methods:
            s = summary.get(f"{p}/{m}")
            if s is None:
                continue
            if s["final"] is None:
                run = ", ".join(f"seed {r['seed']} at trial {r['trials']}, regret "
                                f"{_g(r['regret'])}" for r in s["running"])
                rows.append([PROBLEMS[p][2], LABELS[m], f"0 (running: {run})", "—", "—", "—",
                             "—"])
                continue
            trials = sorted(set(s["trials"]))
            tr = "/".join(str(t) for t in trials)
            if s["capped"]:
                tr += f" (capped: seed {', '.join(map(str, s['capped']))})"
            seeds = ",".join(map(str, s["seeds"]))
            if s["running"]:
                seeds += "; running: " + ", ".join(
                    f"seed {r['seed']} at trial {r['trials']}, regret {_g(r['regret'])}"
                    for r in s["running"])
            f, gcpu = s["final"], s["gen_cpu"]
            rows.append([PROBLEMS[p][2], LABELS[m], f"{s['runs']} ({seeds})", tr,
                         f"{_g(f['median'])} [{_g(f['min'])}, {_g(f['max'])}]",
                         f"{_s(gcpu['median'])} [{_s(gcpu['min'])}, {_s(gcpu['max'])}]",
                         _s(s["gen_cpu_last50"])])
    ks = [k for k in CHECKPOINTS if any(str(k) in s["checkpoints"] for s in summary.values())]
    cp_rows = []
    for p in problems:
        for m in methods:
            s = summary.get(f"{p}/{m}")
            if s is None:
                continue
            cells = []
            for k in ks:
                c = s["checkpoints"].get(str(k))
                cells.append("—" if c is None else
                             f"{_g(c['regret'])} / {_s(c['gen_cpu'])} ({c['runs']})")
            cp_rows.append([PROBLEMS[p][2], LABELS[m], *cells])
    trials = meta.get("trials", TRIALS)
    lines = [
        f"Generated by `{meta.get('command', 'python -m bench.scale')}` on {meta['date']} "
        f"(axnb source sha256 {meta.get('axnb_source', '?')}; {meta.get('workers', 2)} worker "
        f"processes, one thread each, {meta.get('machine', '?')}; the machine was shared with "
        f"other work, so wall times are not comparable; every time below is CPU time).",
        "",
        f"{trials} trials per run, seeds {', '.join(map(str, meta.get('seeds', [])))}. "
        "Problems: BoTorch `Ackley(dim=10)` on [-32.768, 32.768]^10 and `Rosenbrock(dim=20)` "
        "on [-5, 10]^20, default bounds, optimum 0; regret = best value so far. Generation "
        "time: CPU time (`time.process_time`) of axnb's `suggest()`, or of Optuna's `ask()` "
        "plus its `suggest_float` calls. Optuna GP runs stop once their generation CPU passes "
        f"{meta.get('gp_budget', GP_BUDGET):.0f} s (marked \"capped\").",
        "",
        md.table(header, rows),
        "",
        "Every run at a few trials, finished or not (a capped GP run stops before 500): "
        "median over the runs that reached the trial of the best-so-far regret / the "
        "cumulative generation CPU time (number of runs).",
        "",
        md.table(["problem", "method", *[f"trial {k}" for k in ks]], cp_rows),
        "",
        "Figures: `bench/figures/scale_regret.png` (best-so-far regret against the trial, "
        "median over seeds, band min–max, log y) and `bench/figures/scale_regret_time.png` "
        "(regret against the cumulative generation CPU time, one line per run, log x and y); "
        "dashed: runs not finished when this was rendered; a regret below 1e-12 is drawn at "
        "1e-12.",
    ]
    return "\n".join(lines)


def update_section(text: str, block: str) -> str:
    """``text`` with this section's generated block replaced, the rest kept (appended with a
    placeholder analysis when the section is missing)."""
    return sections.update_section(text, block, HEADING, BEGIN, END, ANALYSIS_PLACEHOLDER)


def write_section(path: Path | str, block: str) -> None:
    sections.write_section(path, lambda text: update_section(text, block))


# --------------------------------------------------------------------------- figures
def figures(runs: list[dict[str, Any]], problems: Sequence[str], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problems = [p for p in problems if any(r["problem"] == p for r in runs)]
    if not problems:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    floor = 1e-12
    # regret against the trial index: median over seeds, band min-max (finished runs only)
    fig, axes = plt.subplots(1, len(problems), figsize=(5.5 * len(problems), 4), squeeze=False)
    for ax, p in zip(axes[0], problems):
        for m in METHODS:
            for r in runs:
                if r["problem"] == p and r["method"] == m and not r.get("finished"):
                    ax.plot(np.arange(1, len(r["regret"]) + 1), np.maximum(r["regret"], floor),
                            color=COLORS[m], ls="--", lw=1,
                            label=f"{LABELS[m]} seed {r['seed']} (running)")
            rs = [r for r in runs if r["problem"] == p and r["method"] == m and r.get("finished")]
            if not rs:
                continue
            n = min(len(r["regret"]) for r in rs)
            R = np.maximum(np.array([r["regret"][:n] for r in rs]), floor)
            x = np.arange(1, n + 1)
            ax.plot(x, np.median(R, axis=0), color=COLORS[m],
                    label=f"{LABELS[m]} ({len(rs)} runs)")
            ax.fill_between(x, R.min(axis=0), R.max(axis=0), color=COLORS[m], alpha=0.2)
        ax.set_yscale("log")
        ax.set_xlabel("trial")
        ax.set_ylabel("best-so-far regret")
        ax.set_title(PROBLEMS[p][2])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(folder / "scale_regret.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    # regret against the cumulative generation CPU time, one line per run
    fig, axes = plt.subplots(1, len(problems), figsize=(5.5 * len(problems), 4), squeeze=False)
    for ax, p in zip(axes[0], problems):
        for m in METHODS:
            rs = [r for r in runs if r["problem"] == p and r["method"] == m]
            for k, r in enumerate(rs):
                t = np.maximum(np.cumsum(r["gen_cpu"]), 1e-4)
                ax.plot(t, np.maximum(r["regret"], floor), color=COLORS[m], alpha=0.8,
                        ls="-" if r.get("finished") else "--",
                        label=f"{LABELS[m]} ({len(rs)} runs)" if k == 0 else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cumulative generation CPU time (s)")
        ax.set_ylabel("best-so-far regret")
        ax.set_title(PROBLEMS[p][2])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(folder / "scale_regret_time.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


# --------------------------------------------------------------------------- main
def shown_command(argv: Sequence[str]) -> str:
    from bench.bandit import shown_command as shown

    return shown(argv, "python -m bench.scale")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds (default {SEEDS})")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=TRIALS)
    ap.add_argument("--problems", default=",".join(DEFAULT_PROBLEMS),
                    help=f"comma list of {', '.join(PROBLEMS)}")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help=f"comma list of {', '.join(METHODS)}")
    ap.add_argument("--gp-budget", type=float, default=GP_BUDGET,
                    help="generation CPU seconds after which an Optuna GP run stops")
    ap.add_argument("--workers", type=int, default=2, help="processes (1: in this process)")
    ap.add_argument("--set", action="append", default=[], metavar="MODULE.NAME=VALUE",
                    help="override an engine constant in every run, e.g. "
                         "axnb.engine.subset.LIMIT=200 (repeatable; recorded in the header)")
    ap.add_argument("--out", default=str(BENCH / "out" / "scale"),
                    help="folder of the per-run JSON files (finished runs are not rerun)")
    ap.add_argument("--from-dir", default=None,
                    help="render the runs of this folder (finished or not), run nothing")
    ap.add_argument("--figures", default=str(FIGURES), help="folder of the figures")
    ap.add_argument("--write", nargs="?", const=str(RESULTS), default=None, metavar="RESULTS",
                    help="write the table into the section of RESULTS (default "
                         "bench/RESULTS.md), keeping its hand-written analysis")
    args = ap.parse_args(argv)
    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [p for p in problems if p not in PROBLEMS] + [m for m in methods if m not in METHODS]
    if bad:
        raise SystemExit(f"unknown problem(s) / method(s): {bad}")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    out = Path(args.from_dir or args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "meta.json"
    if args.from_dir:
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    else:
        from bench.report import machine, source_hash

        mach = machine()
        meta = {"command": shown_command(sys.argv[1:] if argv is None else argv),
                "axnb_source": source_hash(), "machine": f"{mach['nproc']} CPUs ({mach['cpu']})",
                "workers": args.workers, "seeds": seeds, "trials": args.trials,
                "problems": problems, "methods": methods, "gp_budget": args.gp_budget,
                "overrides": parse_overrides(args.set),
                "started": datetime.datetime.now().astimezone().isoformat()}
        meta_path.write_text(json.dumps(meta, indent=1))
        tasks = [{"problem": p, "method": m, "seed": s, "trials": args.trials,
                  "gp_budget": args.gp_budget, "out": str(out)}
                 for s in seeds for p in problems for m in methods]
        t0 = time.perf_counter()
        run_tasks(tasks, args.workers, overrides=meta["overrides"])
        meta["wall_time"] = time.perf_counter() - t0
        meta_path.write_text(json.dumps(meta, indent=1))
    meta.setdefault("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))
    meta["date"] = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    runs = [r for r in load_runs(out) if r["problem"] in meta.get("problems", problems)]
    summary = summarize(runs)
    (out / "summary.json").write_text(json.dumps({"meta": meta, "summary": summary}, indent=1))
    block = render(summary, meta)
    print(block)
    if args.figures:
        for p in figures(runs, meta.get("problems", problems), Path(args.figures)):
            print(f"bench.scale: wrote {p}", file=sys.stderr)
    if args.write:
        write_section(args.write, block)
        print(f"bench.scale: wrote the section {HEADING!r} of {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
