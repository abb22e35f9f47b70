"""RESULTS.md and figures from the per-run records of one ``bench.run`` invocation.

Scores (lower is better everywhere):

* single objective: simple regret ``f(x) - f*`` of the TRUE objective; noiseless problems use
  the best value found (= best observed), the noisy problem the true value at each method's
  final recommendation;
* two objectives: hypervolume gap ``HV* - HV`` of the true values observed (the table also
  gives the hypervolume itself).

Ratios are ``median(method) / median(reference)`` within this run, with scores floored at
``EPS`` so that a solved problem does not divide by zero. Below 1: better than the reference.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from bench import markdown as md
from bench.methods import LABELS
from bench.problems import PROBLEMS

EPS = 1e-6
REFERENCES = ("ax", "gp")
#: Sections of RESULTS.md that other commands write (``python -m bench.bandit --write``,
#: ``python -m bench.hierarchical --write``): a
#: regeneration keeps each, from its heading to the next ``## `` heading, at the end.
KEPT_SECTIONS = ("## Speed against Optuna's GPSampler (issue 17; hand-written)",
                 "## Bandits: A/B rounds (python -m bench.bandit)",
                 "## Hierarchical parameters",  # python -m bench.hierarchical --write
                 "## Python predicate constraints (python -m bench.predicates)",  # by hand
                 "## At scale: long runs (python -m bench.scale)",
                 "## Combined experiments: online and offline (python -m bench.multitask)")


def kept_sections(old: str, headings: Sequence[str] = KEPT_SECTIONS) -> list[str]:
    """The sections of ``old`` (a previous RESULTS.md) that a regeneration keeps."""
    lines = old.splitlines()
    out = []
    for heading in headings:
        if heading not in lines:
            continue
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        out.append("\n".join(lines[start:end]).rstrip())
    return out


# --------------------------------------------------------------------- environment
def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gb": mem,
            "python": platform.python_version(), "platform": platform.platform()}


def source_hash() -> str:
    """Short sha256 of axnb/**/*.py: identifies the code benchmarked, committed or not."""
    import hashlib

    root = Path(__file__).resolve().parent.parent / "axnb"
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def versions(start_hash: str | None = None) -> dict[str, str]:
    out = {}
    for dist in ("axnb", "torch", "botorch", "gpytorch", "ax-platform", "optuna", "numpy",
                 "scipy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
            if dist == "axnb":
                import axnb

                out[dist] = f"{axnb.__version__} (source tree)"
    snapshot = os.environ.get("BENCH_SOURCE_COMMIT")
    if snapshot:  # run from a clean `git archive` export (no .git there)
        out["git"] = f"{snapshot} (clean `git archive` snapshot of that commit)"
    else:
        out.update(_git())
    now = source_hash()
    out["axnb source sha256"] = now if start_hash in (None, now) else \
        f"{start_hash} at the start, {now} at the end (axnb/ changed during the run!)"
    return out


def _git() -> dict[str, str]:
    out = {}
    try:
        root = Path(__file__).resolve().parent.parent
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "axnb"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        if head:
            out["git"] = head + (" (axnb/ has uncommitted changes)" if dirty else "")
    except OSError:
        pass
    return out


# --------------------------------------------------------------------- statistics
def _q(values: Sequence[float], q: float) -> float:
    return float(np.quantile(np.asarray(values, dtype=float), q))


def summarize(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        groups[(r["problem"], r["method"])].append(r)
    out = {}
    for key, runs in groups.items():
        ok = [r for r in runs if not r.get("error") and r.get("final_score") is not None]
        scores = [max(float(r["final_score"]), 0.0) for r in ok]
        # CPU time of the ask (one thread, so it is the work done; the machine is shared and
        # wall time also counts waiting for a core) and its wall time.
        gen = [t.get("gen_cpu", t["gen_time"]) for r in ok for t in r["trials"]]
        gen_wall = [t["gen_time"] for r in ok for t in r["trials"]]
        per_run = [sum(t.get("gen_cpu", t["gen_time"]) for t in r["trials"]) for r in ok]
        s: dict[str, Any] = {
            "runs": len(runs), "ok": len(ok), "errors": [r for r in runs if r.get("error")],
            "scores": scores,
            "median": _q(scores, 0.5) if scores else math.nan,
            "q25": _q(scores, 0.25) if scores else math.nan,
            "q75": _q(scores, 0.75) if scores else math.nan,
            "gen_median": float(np.median(gen)) if gen else math.nan,
            "gen_wall_median": float(np.median(gen_wall)) if gen_wall else math.nan,
            "gen_total_median": float(np.median(per_run)) if per_run else math.nan,
            "wall_median": float(np.median([r["wall_time"] for r in ok])) if ok else math.nan,
            "infeasible": sum(r.get("n_infeasible", 0) for r in ok),
            "sources": _count([t.get("source") for r in ok for t in r["trials"]]),
            "traces": [r["best_trace"] for r in ok],
        }
        if PROBLEMS[key[0]].multi_objective:
            s["hv"] = [float(r["hypervolume"]) for r in ok]
        if PROBLEMS[key[0]].noise_sd:
            s["oracle"] = [max(r["best_trace"][-1], 0.0) for r in ok
                           if r["best_trace"][-1] is not None]
        out[key] = s
    return out


def _count(items: list[Any]) -> dict[str, int]:
    c: dict[str, int] = defaultdict(int)
    for i in items:
        if i is not None:
            c[i] += 1
    return dict(c)


def ratio(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, EPS) / max(b, EPS)


# --------------------------------------------------------------------- formatting
def _g(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e4:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def _t(x: float) -> str:
    if x is None or math.isnan(x):
        return "—"
    if x < 1e-4:
        return f"{x * 1e6:.0f} µs"
    if x < 0.01:
        return f"{x * 1000:.1f} ms"
    return f"{x:.2f} s"


def _r(x: float) -> str:
    if math.isnan(x):
        return "—"
    text = f"{x:.2g}" if x < 10 else f"{x:.0f}"
    return f"**{text}**" if x > 2 else text  # worse than 2x the reference: bold


# --------------------------------------------------------------------- figures
COLORS = {"axnb": "#d62728", "ax": "#1f77b4", "gp": "#2ca02c", "tpe": "#9467bd",
          "sobol": "#7f7f7f"}


def figures(stats: dict, problems: list[str], methods: list[str], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    made = []
    n = len(problems)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    dpi = 72

    # 1. regret curves: median and IQR of the best-so-far score per trial
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for ax, p in zip(axes.flat, problems):
        for m in methods:
            s = stats.get((p, m))
            if not s or not s["traces"]:
                continue
            tr = np.array([[np.nan if v is None else max(v, EPS) for v in t]
                           for t in s["traces"]], dtype=float)
            x = np.arange(1, tr.shape[1] + 1)
            with np.errstate(all="ignore"), _quiet():
                med = np.nanmedian(tr, axis=0)
                lo, hi = np.nanquantile(tr, 0.25, axis=0), np.nanquantile(tr, 0.75, axis=0)
            ax.plot(x, med, color=COLORS.get(m), label=LABELS[m], lw=1.5)
            ax.fill_between(x, lo, hi, color=COLORS.get(m), alpha=0.15, lw=0)
        ax.set_yscale("log")
        prob = PROBLEMS[p]
        ylabel = "HV gap" if prob.multi_objective else "simple regret"
        if prob.noise_sd:
            ylabel += " (best true value evaluated)"
        ax.set_title(p, fontsize=9)
        ax.set_xlabel("trial", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Best-so-far score of the true objective: median and interquartile range",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(folder / "regret_curves.png", dpi=dpi)
    plt.close(fig)
    made.append("regret_curves.png")

    # 2. final score: median and IQR per problem x method, seeds as dots
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False)
    for ax, p in zip(axes.flat, problems):
        for i, m in enumerate(methods):
            s = stats.get((p, m))
            if not s or not s["scores"]:
                continue
            sc = np.maximum(np.array(s["scores"]), EPS)
            ax.scatter(np.full(len(sc), i) + np.linspace(-0.15, 0.15, len(sc)), sc, s=8,
                       color=COLORS.get(m), alpha=0.5)
            med = max(s["median"], EPS)
            ax.errorbar([i], [med], yerr=[[med - max(s["q25"], EPS)],
                                          [max(s["q75"], EPS) - med]],
                        fmt="o", color=COLORS.get(m), capsize=3, ms=6)
        ax.set_xticks(range(len(methods)), [LABELS[m] for m in methods], rotation=30,
                      fontsize=7, ha="right")
        ax.set_yscale("log")
        ax.set_title(p + (" (HV gap)" if PROBLEMS[p].multi_objective else
                          " (regret at recommendation)" if PROBLEMS[p].noise_sd else
                          " (final regret)"), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle("Final score (lower is better): median, IQR, each seed", fontsize=10)
    fig.tight_layout()
    fig.savefig(folder / "final_scores.png", dpi=dpi)
    plt.close(fig)
    made.append("final_scores.png")

    # 3. generation time per trial
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * n + 2), 3.2))
    width = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        vals = [stats.get((p, m), {}).get("gen_median", math.nan) for p in problems]
        ax.bar(np.arange(n) + (i - (len(methods) - 1) / 2) * width, vals, width,
               color=COLORS.get(m), label=LABELS[m])
    ax.set_yscale("log")
    ax.set_xticks(range(n), problems, fontsize=8)
    ax.set_ylabel("median CPU s / trial (ask)", fontsize=8)
    ax.legend(fontsize=7, ncol=len(methods))
    ax.set_title("Median generation time per trial (CPU time, one thread)", fontsize=10)
    fig.tight_layout()
    fig.savefig(folder / "gen_time.png", dpi=dpi)
    plt.close(fig)
    made.append("gen_time.png")

    # 4. ratios to Ax and to Optuna GP: score and time
    refs = [r for r in REFERENCES if r in methods]
    if refs:
        fig, axes = plt.subplots(2, len(refs), figsize=(1.0 * len(methods) + 3.2 * len(refs),
                                                        0.45 * n * 2 + 2.0), squeeze=False)
        for j, ref in enumerate(refs):
            for i, (kind, key) in enumerate((("score", "median"), ("time", "gen_median"))):
                mat = np.array([[ratio(stats.get((p, m), {}).get(key, math.nan),
                                       stats.get((p, ref), {}).get(key, math.nan))
                                 for m in methods] for p in problems])
                ax = axes[i, j]
                with np.errstate(all="ignore"):
                    img = np.log10(mat)
                ax.imshow(img, cmap="RdYlGn_r", vmin=-2, vmax=2, aspect="auto")
                for a in range(n):
                    for b in range(len(methods)):
                        if not math.isnan(mat[a, b]):
                            v = mat[a, b]
                            ax.text(b, a, f"{v:.2g}" if 0.01 <= v < 100 else f"{v:.0e}",
                                    ha="center", va="center", fontsize=7)
                ax.set_xticks(range(len(methods)), [LABELS[m] for m in methods], fontsize=7,
                              rotation=30, ha="right")
                ax.set_yticks(range(n), problems, fontsize=7)
                ax.set_title(f"{kind} ratio to {LABELS[ref]}", fontsize=9)
        fig.suptitle("median(method) / median(reference); < 1 is better (green)", fontsize=9)
        fig.tight_layout()
        fig.savefig(folder / "ratios.png", dpi=dpi)
        plt.close(fig)
        made.append("ratios.png")
    return made


class _quiet:
    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: Any) -> None:
        self._w.__exit__(*exc)


# --------------------------------------------------------------------- micro section
def micro_section(micro: dict[str, Any] | None) -> str:
    out = ["## Micro-benchmarks", ""]
    if micro is None:
        out.append("Skipped (`--no-micro`).")
        return "\n".join(out)
    if "error" in micro and len(micro) <= 2:
        out.append(f"Failed: {micro['error']}")
        return "\n".join(out)
    out.append(f"One thread, fresh process (`python -m bench.micro`), "
               f"{micro.get('wall_time') or 0:.0f} s in all.")
    ax_rows = {r["n"]: r for r in micro.get("suggest_ax", []) if isinstance(r, dict)} \
        if isinstance(micro.get("suggest_ax"), list) else {}
    out += ["", "### `suggest()` time against the number of observations (Hartmann6, 6-D)", ""]
    sa = micro.get("suggest_axnb")
    if isinstance(sa, list):
        rows = []
        for r in sa:
            a = ax_rows.get(r["n"])
            rows.append([str(r["n"]), _t(r["median"]), ", ".join(_t(t) for t in r["times"]),
                         ",".join(sorted(set(r["sources"]))),
                         _t(a["median"]) if a else "—",
                         _r(ratio(r["median"], a["median"])) if a else "—"])
        out.append(md.table(["observations", "axnb suggest (median of 3)", "each",
                           "source", "Ax get_next_trials", "axnb / Ax"], rows))
        out.append("")
        out.append("Each `suggest()` is followed by `complete()`, so the three calls see n, n+1, "
                   "n+2 observations and each refits the model. The experiments are built "
                   "with axnb's storage functions and `Trial` objects and opened with "
                   "`axnb.load`; Ax gets the same points through `attach_trial` + "
                   "`complete_trial`.")
    else:
        out.append(f"axnb: failed\n\n```\n{_tail(sa)}\n```")
        if ax_rows:
            out.append("Ax alone: " + ", ".join(f"n={n}: {_t(r['median'])}"
                                                for n, r in ax_rows.items()))
    io = micro.get("io")
    out += ["", "### Storage: load and one change", ""]
    if isinstance(io, dict) and "error" not in io:
        rows = [[f"{io['trials']:,}", f"{io['file_mb']:.1f} MB", _t(io["load_median"]),
                 _t(io["load_unchecked_median"]),
                 f"{io['complete_median'] * 1000:.1f} ms (max {io['complete_max'] * 1000:.1f})",
                 f"{io['attach_median'] * 1000:.1f} ms", _t(io["save_median"])]]
        big = io.get("big")
        if isinstance(big, dict):
            rows.append([f"{big['trials']:,}", f"{big['file_mb']:.1f} MB",
                         _t(big["load_median"]), _t(big["load_unchecked_median"]),
                         "—", "—", "—"])
        out.append(md.table(
            ["trials", "file", "`axnb.load(path)` + `.trials`", "load without the content check",
             "`exp.complete(...)`", "`exp.attach(...)`", "`exp.save()` (folds the journal)"],
            rows))
        out.append("\nA change appends one fsync'ed line to the journal (`<file>.journal`) once "
                   "the JSON file passes 256 KiB, instead of rewriting the file. Targets (issue "
                   "15): at 10,000 trials `complete()` < 20 ms and a load < 0.5 s; at 100,000 "
                   "trials a load < 3 s. Medians of 5 loads (3 at 100,000), 50 changes, 3 saves.")
    else:
        out.append(f"failed\n\n```\n{_tail(io)}\n```")
    imp = micro.get("import")
    out += ["", "### `import axnb`", ""]
    if isinstance(imp, dict) and "error" not in imp:
        out.append(md.table(
            ["`python -c 'import axnb'` minus bare python", "`-X importtime` (axnb, cumulative)",
             "heavy modules loaded by the import"],
            [[_t(imp["net_s"]), _t(imp["importtime_axnb_s"] or math.nan),
              imp["heavy_modules_loaded"] or "none"]]))
        if imp.get("top_imports"):
            out.append("\nLargest imports below axnb (`-X importtime`, cumulative): " + ", ".join(
                f"{name} {us / 1000:.0f} ms" for us, name in imp["top_imports"][:6]))
    else:
        out.append(f"failed\n\n```\n{_tail(imp)}\n```")
    first = micro.get("first_suggest")
    if isinstance(first, dict) and "error" not in first:
        out += ["", "### First suggestion of a fresh process", ""]
        out.append(md.table(
            ["4 parameters", "`import axnb`", "5 start-design trials (first-use imports)",
             "first model suggestion (BoTorch imports, fit)", "second", "process"],
            [[name, _t(r["import_s"]), _t(r["start_design_s"]), _t(r["first_model_s"]),
              _t(r["second_model_s"]), _t(r["process_s"])] for name, r in first.items()]))
        out.append("\nWith two objectives no C++ extension is compiled "
                   "(`axnb.engine.acquisition.FUSED_QLOGEHVI`).")
    out += ["", "### Contour and dashboard", ""]
    contour, dash = micro.get("contour"), micro.get("dashboard")
    if isinstance(contour, dict) and "error" not in contour:
        out.append(md.table(
            ["contour (200 obs, 6-D, 50x50)", "compute, fit cached", "compute with the fit",
             "GP fit alone", "draw"],
            [["`compute_contour` / `draw_contour`", _t(contour["contour_warm"]),
              _t(contour["contour_cold"]), _t(contour["fit"]), _t(contour["draw"])]]))
    else:
        out.append(f"contour: failed\n\n```\n{_tail(contour)}\n```")
    out.append("")
    if isinstance(dash, dict) and "error" not in dash:
        out.append(md.table(
            ["dashboard at 200 trials", "`dash.refresh()` after one completed trial",
             "`complete()` to the selected tab redrawn (target < 0.3 s)",
             "`complete()` to every tab refreshed"],
            [["`exp.dashboard()`", _t(dash["refresh_median"]),
              _t(dash.get("latency_selected_median", float("nan"))),
              _t(dash["latency_median"])]]))
        out.append("\nA change is refreshed at once when the dashboard is idle (then at most "
                   "about one refresh per 0.5 s): the model is refitted (the data changed), the "
                   "selected tab is drawn first and pushed to its view, the hidden tabs follow. "
                   "The browser's first paint is measured by tests/test_browser.py "
                   "(tests/artifacts/first_paint.json).")
    else:
        out.append(f"dashboard: failed\n\n```\n{_tail(dash)}\n```")
    return "\n".join(out)


def _tail(obj: Any, lines: int = 6) -> str:
    if isinstance(obj, dict) and "error" in obj:
        return "\n".join(str(obj["error"]).strip().splitlines()[-lines:])
    return str(obj)


# --------------------------------------------------------------------- the report
def write_report(results: list[dict[str, Any]], micro: dict[str, Any] | None, command: str,
                 runs_wall: float, total_wall: float, args: Any, date: str | None = None,
                 start_hash: str | None = None) -> None:
    problems = [p for p in args.problems]
    methods = [m for m in args.methods]
    stats = summarize(results)
    results_path = Path(args.results)
    fig_dir = Path(args.figures)
    made = figures(stats, problems, methods, fig_dir)
    try:
        rel = os.path.relpath(fig_dir, results_path.parent)
    except ValueError:
        rel = str(fig_dir)
    shown_out = str(args.out)
    with contextlib.suppress(ValueError):
        root = Path(__file__).resolve().parent.parent
        shown_out = str(Path(args.out).resolve().relative_to(root))
    mach = machine()
    vers = versions(start_hash)
    if date is None:
        date = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "# axnb benchmarks",
        "",
        f"Generated by `{command}` on {date}. Raw per-run JSON: "
        f"`{shown_out}/runs/<problem>/<method>/seed<k>.json` (not committed).",
        "",
        f"- **Wall time:** {runs_wall / 60:.1f} min for the {len(results)} optimization runs "
        f"({len(problems)} problems × {len(methods)} methods × {args.seeds} seeds, "
        f"{args.workers} worker processes), {total_wall / 60:.1f} min including the "
        f"micro-benchmarks.",
        f"- **Machine:** {mach['nproc']} CPUs ({mach['cpu']}), "
        f"{mach['mem_gb']:.0f} GB RAM, Python {mach['python']}, {mach['platform']}; "
        f"shared machine, so times are noisy: compare ratios within this run.",
        "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in vers.items()),
        "- **Threads:** each worker runs one optimization at a time with "
        "`OMP_NUM_THREADS=MKL_NUM_THREADS=1` and `torch.set_num_threads(1)`.",
        "",
        "## Problems",
        "",
    ]
    prow = []
    for p in problems:
        prob = PROBLEMS[p]
        kinds = defaultdict(int)
        for q in prob.params:
            kinds[q.kind] += 1
        space = ", ".join(f"{v} {k}" for k, v in kinds.items())
        opt = (f"HV* = {prob.max_hv:.4f}, ref {prob.ref_point}" if prob.multi_objective
               else f"{prob.optimum:.6g}")
        prow.append([f"`{p}`", str(prob.dim), space, str(prob.budget), opt,
                     " ".join(c.text for c in prob.constraints) or "—", prob.note or "—"])
    lines.append(md.table(["problem", "d", "parameters", "trials", "optimum", "constraint",
                         "notes"], prow))
    lines += [
        "",
        "Methods: " + "; ".join(f"`{m}` = {LABELS[m]}" for m in methods) + ". See "
        "`bench/methods.py` for exactly what each one runs (all defaults, seeded). Linear "
        "constraint: axnb and Ax take it as a parameter constraint, Sobol rejects infeasible "
        "draws, Optuna (no parameter constraints) gets it as `constraints_func`: the point is "
        "evaluated, marked infeasible and costs a trial. Two objectives: axnb and Ax get the "
        "reference point as objective thresholds; Optuna and Sobol do not take one.",
        "",
        "## Headline: final score, median [interquartile range] over seeds",
        "",
        "Simple regret of the true objective (lower is better): best value found for "
        "noiseless problems, true value at the method's final recommendation for "
        "`hartmann6_noisy` (axnb `exp.best()`, Ax `get_best_parameterization()`, Optuna "
        "`best_params`, Sobol best observed); hypervolume gap HV* − HV for two objectives.",
        "",
    ]
    rows = []
    for p in problems:
        row = [f"`{p}`"]
        for m in methods:
            s = stats.get((p, m))
            if not s or not s["scores"]:
                row.append("error" if s and s["errors"] else "—")
                continue
            cell = f"{_g(s['median'])} [{_g(s['q25'], 2)}, {_g(s['q75'], 2)}]"
            if s["ok"] < s["runs"]:
                cell += f" ({s['runs'] - s['ok']} failed)"
            row.append(cell)
        rows.append(row)
    lines.append(md.table(["problem"] + [LABELS[m] for m in methods], rows))
    mo = [p for p in problems if PROBLEMS[p].multi_objective]
    for p in mo:
        lines.append("")
        lines.append(f"`{p}` hypervolume (higher is better, HV* = {PROBLEMS[p].max_hv:.4f}): " +
                     ", ".join(f"{LABELS[m]} {_g(float(np.median(stats[(p, m)]['hv'])))}"
                               for m in methods if (p, m) in stats and stats[(p, m)].get("hv")))
    noisy = [p for p in problems if PROBLEMS[p].noise_sd]
    for p in noisy:
        lines.append("")
        lines.append(f"`{p}`: for comparison, the median regret of the best TRUE value any "
                     "evaluated point had (what a perfect recommender would return): " +
                     ", ".join(f"{LABELS[m]} {_g(float(np.median(stats[(p, m)]['oracle'])))}"
                               for m in methods if (p, m) in stats and stats[(p, m)].get("oracle")))

    lines += ["", "## Generation time per trial", "",
              "Time of the ask (axnb `suggest()`, Ax `get_next_trials(max_trials=1)`, "
              "Optuna `ask()` plus its `suggest_*` calls, a Sobol draw), median over all "
              "trials of all seeds: **CPU time** of the worker (one thread, so this is the work "
              "done; it is what the ratios use), then the wall time, which on this shared "
              "machine also counts waiting for a core, then the median total CPU time of the "
              "asks over a run.", ""]
    rows = []
    for p in problems:
        row = [f"`{p}`"]
        for m in methods:
            s = stats.get((p, m))
            row.append("—" if not s or not s["ok"] else
                       f"{_t(s['gen_median'])} (wall {_t(s['gen_wall_median'])}); "
                       f"run {_t(s['gen_total_median'])}")
        rows.append(row)
    lines.append(md.table(["problem"] + [LABELS[m] for m in methods], rows))

    refs = [r for r in REFERENCES if r in methods]
    if refs:
        lines += ["", "## Ratios to Ax and to Optuna GPSampler (same run)", "",
                  f"median(method) / median(reference), scores floored at {EPS:g}. Below 1 is "
                  "better; **bold** is more than 2× worse. The last row is the geometric mean "
                  "over the problems.", ""]
        for ref in refs:
            others = [m for m in methods if m != ref]
            header = ["problem"] + [f"{LABELS[m]} score" for m in others] + \
                [f"{LABELS[m]} time" for m in others]
            rows = []
            cols: dict[str, list[float]] = defaultdict(list)
            for p in problems:
                row = [f"`{p}`"]
                for key in ("median", "gen_median"):
                    for m in others:
                        r = ratio(stats.get((p, m), {}).get(key, math.nan),
                                  stats.get((p, ref), {}).get(key, math.nan))
                        cols[f"{key}/{m}"].append(r)
                        row.append(_r(r))
                rows.append(row)
            geo = ["geometric mean"]
            for key in ("median", "gen_median"):
                for m in others:
                    vals = [v for v in cols[f"{key}/{m}"] if not math.isnan(v)]
                    geo.append(_r(float(np.exp(np.mean(np.log(vals))))) if vals else "—")
            rows.append(geo)
            lines += [f"**Relative to {LABELS[ref]}** (score = final score ratio, time = "
                      "median generation CPU time per trial ratio)", "", md.table(header, rows),
                      ""]

    lines += ["## Figures", ""]
    for f in made:
        lines.append(f"![{f}]({rel}/{f})")
        lines.append("")
    lines += ["## Notes", ""]
    notes = []
    for p in problems:
        for m in methods:
            s = stats.get((p, m))
            if not s:
                continue
            if s["infeasible"]:
                notes.append(f"`{p}` / {LABELS[m]}: {s['infeasible']} infeasible trials in all "
                             f"(evaluated, excluded from the best).")
            if m == "axnb" and s["sources"]:
                notes.append(f"`{p}` / axnb trial sources: " + ", ".join(
                    f"{k} {v}" for k, v in sorted(s["sources"].items())) + ".")
            for e in s["errors"]:
                last = str(e["error"]).strip().splitlines()[-1]
                notes.append(f"`{p}` / {LABELS[m]} seed {e['seed']} FAILED: `{last}`")
    lines += [f"- {n}" for n in notes] or ["- none"]
    lines += ["", micro_section(micro), ""]
    if results_path.exists():
        for section in kept_sections(results_path.read_text()):
            lines += [section, ""]
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text("\n".join(lines))
    summary_json = Path(args.out) / ("summary-quick.json" if args.quick else "summary.json")
    summary_json.parent.mkdir(parents=True, exist_ok=True)
    summary_json.write_text(json.dumps({
            f"{p}/{m}": {k: v for k, v in s.items() if k not in ("traces", "errors")}
            for (p, m), s in stats.items()}, indent=1, default=str))
