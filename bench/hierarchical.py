"""Hierarchical benchmark: a 2-branch model-selection problem, axnb's ``when=`` against a
flattened space and against Optuna's define-by-run TPE.

    python -m bench.hierarchical                      # 10 seeds x 40 trials, every method
    python -m bench.hierarchical --quick --markdown   # 2 seeds x 20 trials, print the tables
    python -m bench.hierarchical --json out.json --write   # also write bench/RESULTS.md's section
    python -m bench.hierarchical --methods axnb-hier --imputations -1,0,0.5 --first-seed 100

The problem (minimize; ``model`` picks the branch, only that branch's children matter):

* ``model = "A"``: ``a1, a2, a3`` in [0, 1], Hartmann-3 (four wells: global minimum
  -3.86278 at (0.1146, 0.5556, 0.8525), a local one at -3.09, one at -1.00);
* ``model = "B"``: ``b1, b2`` in [0, 1], one Gaussian well ``-3.5 exp(-8 |b - (0.7, 0.25)|^2)``
  (minimum -3.5, scaled so that its values under uniform sampling look like Hartmann-3's:
  mean -1.02 against -0.94).

f* = -3.86278 (branch A). Regret = best value found - f*: a method that settles in B's easy
well keeps regret 0.363; one stuck in A's second well 0.773; finding the better branch AND
its best well is needed to go below 0.36. Noiseless; the score is the best value observed.

Methods (same seeds; each seeds its own generator with the seed):

* ``axnb-hier``: ``Choice("model", ["A", "B"])`` and each child ``Range(..., when={"model":
  ...})``; ``suggest()`` / ``complete()``. Run once per value of the imputation constant
  ``axnb.engine.encoding.INACTIVE`` in ``--imputations`` (set in the worker before the
  Experiment is created); the headline row is the module's own value;
* ``axnb-flat``: the same five children always active (the objective ignores the other
  branch's);
* ``tpe-group``: Optuna ``TPESampler(multivariate=True, group=True, seed=seed)`` with
  define-by-run (``suggest_categorical("model")``, then only that branch's ``suggest_float``):
  Optuna's documented setting for conditional spaces (the ``group`` docstring's example);
* ``tpe``: ``TPESampler(seed=seed)`` defaults (independent TPE), define-by-run;
* ``gp-flat``: Optuna ``GPSampler(seed=seed)`` on the flattened space (it has no conditional
  support);
* ``random``: the branch uniformly, then its children uniformly.

Time per suggest: the wall time of ``suggest()`` (axnb) or of Optuna's ``ask`` plus its
``suggest_*`` calls; one thread per process (``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``).
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
import re  # noqa: E402
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
HEADING = "## Hierarchical parameters"

SEEDS = 10
TRIALS = 40
QUICK_SEEDS = 2
QUICK_TRIALS = 20
IMPUTATIONS = (-1.0, 0.0, 0.5)

# --------------------------------------------------------------------------- the problem
_H3_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
                         [381, 5743, 8828]])
F_STAR = -3.86278214782076  # Hartmann-3's minimum, at (0.114614, 0.555649, 0.852547)
B_DEPTH, B_WIDTH, B_CENTER = 3.5, 8.0, (0.7, 0.25)
BRANCHES = {"A": ("a1", "a2", "a3"), "B": ("b1", "b2")}


def hartmann3(x: Sequence[float]) -> float:
    x = np.asarray(x, dtype=float)
    return float(-np.sum(_H3_ALPHA * np.exp(-np.sum(_H3_A * (x - _H3_P) ** 2, axis=1))))


def well_b(b: Sequence[float]) -> float:
    d2 = (b[0] - B_CENTER[0]) ** 2 + (b[1] - B_CENTER[1]) ** 2
    return float(-B_DEPTH * math.exp(-B_WIDTH * d2))


def objective(params: dict[str, Any]) -> float:
    """The value of a parameterization (only the chosen branch's children are read)."""
    model = params["model"]
    return (hartmann3 if model == "A" else well_b)([params[k] for k in BRANCHES[model]])


# --------------------------------------------------------------------------- methods
METHODS = ("axnb-hier", "axnb-flat", "tpe-group", "tpe", "gp-flat", "random")
LABELS = {
    "axnb-hier": "axnb hierarchical (`when=`)",
    "axnb-flat": "axnb flattened (5 children always active)",
    "tpe-group": "Optuna TPE define-by-run, multivariate + group",
    "tpe": "Optuna TPE define-by-run, defaults",
    "gp-flat": "Optuna GPSampler flattened",
    "random": "random search",
}
# Rough relative cost, to start the long runs first (better packing on 2 workers).
_COST = {"axnb-hier": 10, "axnb-flat": 10, "gp-flat": 4, "tpe-group": 1, "tpe": 1,
         "random": 0.01}


class Axnb:
    def __init__(self, seed: int, hierarchical: bool) -> None:
        import axnb

        self.tmp = tempfile.TemporaryDirectory(prefix="axnb-hier-")
        params: list[Any] = [axnb.Choice("model", list(BRANCHES))]
        for branch, names in BRANCHES.items():
            for n in names:
                params.append(axnb.Range(n, 0.0, 1.0,
                                         when={"model": branch} if hierarchical else None))
        self.exp = axnb.Experiment("hierarchical", params, objective="loss", minimize=True,
                                   seed=seed, path=self.tmp.name)
        self.trial: Any = None

    def ask(self) -> dict[str, Any]:
        self.trial = self.exp.suggest()
        return dict(self.trial.parameters)

    def tell(self, value: float) -> None:
        self.exp.complete(self.trial.index, value)

    def close(self) -> None:
        self.tmp.cleanup()


class Optuna:
    def __init__(self, seed: int, sampler: str) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if sampler == "tpe-group":
            s = optuna.samplers.TPESampler(multivariate=True, group=True, seed=seed)
        elif sampler == "tpe":
            s = optuna.samplers.TPESampler(seed=seed)
        else:
            s = optuna.samplers.GPSampler(seed=seed)
        self.flat = sampler == "gp-flat"
        self.study = optuna.create_study(direction="minimize", sampler=s)
        self.trial: Any = None

    def ask(self) -> dict[str, Any]:
        t = self.study.ask()
        model = t.suggest_categorical("model", list(BRANCHES))
        out: dict[str, Any] = {"model": model}
        for branch, names in BRANCHES.items():
            if self.flat or branch == model:
                for n in names:
                    out[n] = t.suggest_float(n, 0.0, 1.0)
        self.trial = t
        return out

    def tell(self, value: float) -> None:
        self.study.tell(self.trial, value)

    def close(self) -> None:
        pass


class Random:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng([seed, 7])

    def ask(self) -> dict[str, Any]:
        model = list(BRANCHES)[int(self.rng.integers(len(BRANCHES)))]
        return {"model": model, **{n: float(self.rng.random()) for n in BRANCHES[model]}}

    def tell(self, value: float) -> None:
        pass

    def close(self) -> None:
        pass


def make_method(method: str, seed: int) -> Any:
    if method in ("axnb-hier", "axnb-flat"):
        return Axnb(seed, hierarchical=method == "axnb-hier")
    if method in ("tpe-group", "tpe", "gp-flat"):
        return Optuna(seed, method)
    if method == "random":
        return Random(seed)
    raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")


# --------------------------------------------------------------------------- one run
def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """One (method, seed[, INACTIVE]) run: the unit of work of the process pool. The
    imputation constant is set for the run and restored afterwards (a worker runs many)."""
    import torch

    from axnb.engine import encoding

    warnings.filterwarnings("ignore")
    saved = encoding.INACTIVE
    if task.get("inactive") is not None:
        encoding.INACTIVE = float(task["inactive"])
    t0 = time.perf_counter()
    try:
        m = make_method(task["method"], task["seed"])
        trials = []
        best = math.inf
        try:
            for _ in range(task["trials"]):
                w0 = time.perf_counter()
                params = m.ask()
                ask = time.perf_counter() - w0
                value = objective(params)
                m.tell(value)
                best = min(best, value)
                trials.append({"params": params, "value": value, "ask_time": ask,
                               "regret": best - F_STAR})
        finally:
            m.close()
        inactive = encoding.INACTIVE if task["method"] == "axnb-hier" else None
    finally:
        encoding.INACTIVE = saved
    best_trial = min(trials, key=lambda t: t["value"])
    return {
        "method": task["method"], "seed": task["seed"], "trials": task["trials"],
        "inactive": inactive, "regret_trace": [t["regret"] for t in trials],
        "final_regret": trials[-1]["regret"], "best_params": best_trial["params"],
        "best_branch": best_trial["params"]["model"],
        "share_a": float(np.mean([t["params"]["model"] == "A" for t in trials])),
        "ask_times": [t["ask_time"] for t in trials], "wall_time": time.perf_counter() - t0,
        "torch_threads": torch.get_num_threads(), "trials_detail": trials,
    }


def _init_worker() -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")


def run_tasks(tasks: list[dict[str, Any]], workers: int = 2,
              progress: bool = False) -> list[dict[str, Any]]:
    """Run the tasks (in a spawn pool of ``workers`` processes when ``workers > 1``)."""
    t0 = time.perf_counter()

    def report(done: int, r: dict[str, Any]) -> None:
        if progress:
            imp = "" if r["inactive"] is None else f" INACTIVE={r['inactive']:g}"
            print(f"[{done:3d}/{len(tasks)} {time.perf_counter() - t0:6.0f}s] {r['method']:9s}"
                  f"{imp:14s} seed {r['seed']}: regret {r['final_regret']:.4f} "
                  f"({r['wall_time']:.1f}s)", file=sys.stderr, flush=True)

    if workers <= 1:  # in this process, one thread too (restored afterwards)
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
    order = sorted(range(len(tasks)), key=lambda i: -_COST[tasks[i]["method"]])
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {pool.submit(run_task, tasks[i]): i for i in order}
        for done, fut in enumerate(as_completed(futures), 1):
            results[futures[fut]] = fut.result()
            report(done, results[futures[fut]])
    return results  # type: ignore[return-value]


# --------------------------------------------------------------------------- summaries
def row_key(run: dict[str, Any]) -> str:
    """``axnb-hier@-1`` for an imputation run, else the method."""
    if run["inactive"] is None:
        return run["method"]
    return f"{run['method']}@{run['inactive']:g}"


def summarize(runs: list[dict[str, Any]], mid: int) -> dict[str, dict[str, Any]]:
    """Per row (method, or method@INACTIVE), in the runs' order: regret at the end and after
    ``mid`` trials (median, IQR, mean), the best's branch, the share of trials in A, times."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by.setdefault(row_key(r), []).append(r)
    out = {}
    for key, rs in by.items():
        asks = np.concatenate([r["ask_times"] for r in rs])
        late = np.concatenate([r["ask_times"][10:] for r in rs if len(r["ask_times"]) > 10]
                              or [np.array([math.nan])])
        out[key] = {
            "method": rs[0]["method"], "inactive": rs[0]["inactive"], "runs": len(rs),
            "final": md.quantiles([r["final_regret"] for r in rs]),
            "mid": md.quantiles([r["regret_trace"][min(mid, len(r["regret_trace"])) - 1]
                               for r in rs]),
            "best_in_a": int(sum(r["best_branch"] == "A" for r in rs)),
            "below_b": int(sum(r["final_regret"] < F_STAR_B_REGRET - 1e-9 for r in rs)),
            "share_a": float(np.mean([r["share_a"] for r in rs])),
            "ask_median": float(np.median(asks)),
            "ask_median_late": float(np.nanmedian(late)) if not np.isnan(late).all() else None,
            "wall_mean": float(np.mean([r["wall_time"] for r in rs])),
        }
    return out


F_STAR_B_REGRET = -B_DEPTH - F_STAR  # regret of B's best point: 0.3628


def run_benchmark(seeds: Sequence[int], trials: int, methods: Sequence[str],
                  imputations: Sequence[float], workers: int = 2,
                  progress: bool = False) -> dict[str, Any]:
    from axnb.engine import encoding

    default = float(encoding.INACTIVE)
    tasks: list[dict[str, Any]] = []
    for m in methods:
        values = [None]
        if m == "axnb-hier":
            values = list(dict.fromkeys([default, *map(float, imputations)]))
        tasks += [{"method": m, "seed": s, "trials": trials, "inactive": v}
                  for v in values for s in seeds]
    t0 = time.perf_counter()
    runs = run_tasks(tasks, workers, progress)
    wall = time.perf_counter() - t0
    mid = max(1, trials // 2)
    from bench.report import machine, source_hash

    mach = machine()
    return {
        "kind": "hierarchical",
        "meta": {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                 "wall_time": wall, "workers": workers, "axnb_source": source_hash(),
                 "machine": f"{mach['nproc']} CPUs ({mach['cpu']})", "seeds": list(seeds),
                 "trials": trials, "mid": mid, "methods": list(methods),
                 "imputations": [float(v) for v in imputations], "default_inactive": default,
                 "f_star": F_STAR, "b_regret": F_STAR_B_REGRET},
        "summary": summarize(runs, mid),
        "runs": runs,
    }


# --------------------------------------------------------------------------- markdown
def _ms(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "—"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def render(data: dict[str, Any], command: str | None = None) -> str:
    """The generated part of the section: the setup, the main table, the imputation table."""
    meta, summ = data["meta"], data["summary"]
    command = command or meta.get("command", "python -m bench.hierarchical")
    default = meta["default_inactive"]
    n, mid = meta["trials"], meta["mid"]
    header = ["method", f"regret after {n} trials, median [IQR]",
              f"after {mid}, median [IQR]", "best in A (runs)", f"below {F_STAR_B_REGRET:.3f}",
              "trials in A", "time per suggest, median (after trial 10)"]

    def row(key: str, name: str) -> list[str]:
        s = summ[key]
        return [name, md.quartiles(s["final"]), md.quartiles(s["mid"]),
                f"{s['best_in_a']}/{s['runs']}",
                f"{s['below_b']}/{s['runs']}", f"{s['share_a']:.0%}",
                f"{_ms(s['ask_median'])} ({_ms(s['ask_median_late'])})"]

    rows = []
    for m in meta["methods"]:
        key = f"{m}@{default:g}" if m == "axnb-hier" else m
        if key in summ:
            label = LABELS[m] + (f", INACTIVE = {default:g}" if m == "axnb-hier" else "")
            rows.append(row(key, f"`{m}`: {label}"))
    imp_rows = [row(k, f"INACTIVE = {s['inactive']:g}"
                    + (" (the module's value in this run)" if s["inactive"] == default else ""))
                for k, s in sorted(summ.items(), key=lambda kv: kv[1]["inactive"] or 0)
                if s["method"] == "axnb-hier"]
    lines = [
        f"Generated by `{command}` on {meta['date']} (axnb source sha256 "
        f"{meta['axnb_source']}; {meta['wall_time'] / 60:.1f} min on {meta['workers']} worker "
        f"process{'es' if meta['workers'] != 1 else ''}, one thread each, {meta['machine']}).",
        "",
        f"Problem (minimize): `model` in {{A, B}}; A: `a1, a2, a3` in [0, 1], Hartmann-3 "
        f"(best {F_STAR:.5f}; a second well at -3.09); B: `b1, b2` in [0, 1], one Gaussian well "
        f"`-{B_DEPTH:g} exp(-{B_WIDTH:g} |b - {B_CENTER}|²)` (best -{B_DEPTH:g}, so a run that "
        f"settles in B keeps regret {F_STAR_B_REGRET:.3f}). Regret = best value observed − f*; "
        f"{n} trials, {md.seeds_text(meta['seeds'])}. \"best in A\": runs whose best trial is in "
        f"branch A; \"below {F_STAR_B_REGRET:.3f}\": runs that beat B's optimum; \"trials in "
        f"A\": mean share of the trials spent in A. Time per suggest: `suggest()` / Optuna's "
        f"`ask` + `suggest_*`, median over all trials"
        + (f" (over trials 11–{n})." if n > 10 else "."),
        "",
        md.table(header, rows),
    ]
    if len(imp_rows) > 1:
        lines += [
            "",
            "**Imputation of inactive parameters** (`axnb.engine.encoding.INACTIVE`, the "
            "encoded value the GP sees for an inactive child; the unit cube is [0, 1]): "
            "`axnb-hier` on the same seeds.",
            "",
            md.table(["INACTIVE", *header[1:]], imp_rows),
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- RESULTS.md
BEGIN, END = "<!-- bench.hierarchical:main begin -->", "<!-- bench.hierarchical:main end -->"
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

    return shown(argv, "python -m bench.hierarchical")


def _floats(text: str) -> list[float]:
    try:
        return [float(s) for s in re.split(r"[,\s]+", text.strip()) if s]
    except ValueError:
        raise SystemExit(f"--imputations {text!r}: expected a comma list of numbers") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.hierarchical", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=None,
                    help=f"seeds first-seed.. (default {SEEDS}; quick {QUICK_SEEDS})")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=None,
                    help=f"trials per run (default {TRIALS}; quick {QUICK_TRIALS})")
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK_SEEDS} seeds x {QUICK_TRIALS} trials")
    ap.add_argument("--methods", default=None, help=f"comma list of {', '.join(METHODS)}")
    ap.add_argument("--imputations", default=",".join(f"{v:g}" for v in IMPUTATIONS),
                    help="INACTIVE values of the axnb-hier runs (the module's value is always "
                         "run; default -1,0,0.5)")
    ap.add_argument("--workers", type=int, default=2, help="processes (1: in this process)")
    ap.add_argument("--json", default=None,
                    help="write the results (with every run) here (default "
                         "bench/out/hierarchical.json; quick: hierarchical-quick.json)")
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
        trials = args.trials if args.trials is not None else \
            (QUICK_TRIALS if args.quick else TRIALS)
        methods = METHODS if args.methods is None else \
            tuple(m.strip() for m in args.methods.split(",") if m.strip())
        bad = [m for m in methods if m not in METHODS]
        if bad:
            raise SystemExit(f"unknown method(s) {bad}; known: {', '.join(METHODS)}")
        data = run_benchmark(range(args.first_seed, args.first_seed + seeds), trials, methods,
                             _floats(args.imputations), workers=args.workers, progress=True)
        data["meta"]["command"] = command
        print(f"bench.hierarchical: {data['meta']['wall_time']:.0f} s", file=sys.stderr)
        if args.json is None:
            args.json = str(BENCH / "out" / ("hierarchical-quick.json" if args.quick else
                                             "hierarchical.json"))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=1))
    block = render(data)
    if args.markdown or not args.write:
        print(block)
    if args.write:
        write_section(args.write, block)
        print(f"bench.hierarchical: wrote the section {HEADING!r} of {args.write}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
