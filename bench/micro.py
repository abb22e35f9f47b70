"""Micro-benchmarks: suggest() time against the number of observations, storage (load,
complete() and save of a 10,000-trial experiment, load of a 100,000-trial one), and the time
of ``import axnb``.

    python -m bench.micro --json bench/out/micro.json [--quick]
    python -m bench.micro --only io          # the storage figures only, printed

Run with one thread (``bench.run`` starts it in a fresh subprocess after the optimization
runs). Also: ``exp.plot.contour`` at 200 observations in 6-D (50 x 50 grid) and, at 200
trials, the dashboard's ``refresh()``, the latency from ``complete()`` to the refreshed figures
(target < 0.3 s), the refreshes a burst of completes causes and the kernel side of a
dashboard's first paint (``--only dashboard`` runs just these); the first suggestion of a
fresh process with one and with two objectives (``--only first_suggest``).

    python -m bench.micro --only scale --json bench/out/micro-scale.json --markdown

runs only when named (minutes): ``suggest()``, ``exp.plot.contour`` and ``exp.predict`` at
200 / 1,000 / 2,000 / 10,000 observations (Hartmann6) next to Optuna GPSampler's ``ask`` on the
same points (issue 20); ``--markdown`` prints its table for RESULTS.md's micro section.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from bench.problems import hartmann6  # noqa: E402

SUGGEST_NS = (10, 50, 100, 200, 500)
SUGGEST_REPEATS = 3
IO_TRIALS = 10_000
IO_BIG = 100_000


def _h6_params() -> list[Any]:
    import axnb

    return [axnb.Range(f"x{i + 1}", 0.0, 1.0) for i in range(6)]


def _design(n: int, seed: int = 0) -> np.ndarray:
    from scipy.stats import qmc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return qmc.Sobol(6, scramble=True, seed=seed).random(n)


def _write_experiment(path: Path, points: np.ndarray, values: np.ndarray, seed: int = 0) -> None:
    """Build an experiment file with len(points) completed trials using axnb's own storage
    functions and Trial objects (one write, instead of one save per attach).
    ``initial_trials=5``: with 10 or more observations every suggestion is model-based."""
    import axnb
    from axnb import storage
    from axnb.trial import COMPLETED, Trial, now

    exp = axnb.Experiment("micro", _h6_params(), objective="y", path=path, seed=seed,
                          initial_trials=5, overwrite=True)
    stamp = now()
    trials = [
        Trial(index=i, parameters={f"x{j + 1}": float(x[j]) for j in range(6)},
              status=COMPLETED, source="manual", result={"y": (float(v), None)},
              created_at=stamp, completed_at=stamp)
        for i, (x, v) in enumerate(zip(points, values))
    ]
    storage.write_atomic(exp.path, storage.dumps({
        "revision": 1, "saved_at": stamp.isoformat(), "uid": storage.new_uid(),
        "config": exp.config(), "trials": [t.to_dict() for t in trials]}))


def bench_suggest_axnb(ns: tuple[int, ...], folder: Path) -> list[dict[str, Any]]:
    import axnb

    rows = []
    # Warm-up (imports torch / BoTorch, JIT-free but first-call costs), not timed.
    _write_experiment(folder / "warm.axnb.json", _design(8), np.zeros(8))
    axnb.load(folder / "warm.axnb.json").suggest()
    for n in ns:
        x = _design(n)
        y = np.array([hartmann6(p) for p in x])
        path = folder / f"suggest{n}.axnb.json"
        _write_experiment(path, x, y)
        exp = axnb.load(path)
        times, sources = [], []
        for _ in range(SUGGEST_REPEATS):
            t0 = time.perf_counter()
            t = exp.suggest()
            times.append(time.perf_counter() - t0)
            sources.append(t.source)
            exp.complete(t.index, hartmann6(np.array([t.parameters[f"x{j + 1}"]
                                                      for j in range(6)])))
        rows.append({"n": n, "times": times, "median": statistics.median(times),
                     "sources": sources})
        print(f"  axnb suggest n={n}: {statistics.median(times):.2f}s {sources}", flush=True)
    return rows


def bench_suggest_ax(ns: tuple[int, ...]) -> list[dict[str, Any]]:
    import logging

    from ax.api.client import Client
    from ax.api.configs import RangeParameterConfig
    from ax.utils.common.logger import set_ax_logger_levels

    rows = []
    for n in ns:
        set_ax_logger_levels(logging.ERROR)
        client = Client(random_seed=0)
        client.configure_experiment(parameters=[
            RangeParameterConfig(name=f"x{i + 1}", bounds=(0.0, 1.0), parameter_type="float")
            for i in range(6)])
        client.configure_optimization(objective="-y")
        client.configure_generation_strategy(initialization_random_seed=0)
        for p in _design(n):
            idx = client.attach_trial({f"x{j + 1}": float(p[j]) for j in range(6)})
            client.complete_trial(idx, raw_data={"y": hartmann6(p)})
        times = []
        for _ in range(SUGGEST_REPEATS):
            t0 = time.perf_counter()
            (idx, params), = client.get_next_trials(max_trials=1).items()
            times.append(time.perf_counter() - t0)
            set_ax_logger_levels(logging.ERROR)
            client.complete_trial(idx, raw_data={"y": hartmann6(
                np.array([params[f"x{j + 1}"] for j in range(6)]))})
        rows.append({"n": n, "times": times, "median": statistics.median(times)})
        print(f"  Ax get_next_trials n={n}: {statistics.median(times):.2f}s", flush=True)
    return rows


def bench_io(folder: Path, n: int = IO_TRIALS, big: int = IO_BIG) -> dict[str, Any]:
    """Storage: at ``n`` trials, ``axnb.load`` (+ ``.trials``), one ``complete()`` and one
    ``attach()`` (each appends one fsync'ed line to the journal), ``exp.save()`` (folds the
    journal into the JSON file); at ``big`` trials, ``axnb.load``. Loads are also timed with
    ``storage.validate`` (the content check of every trial on load) replaced by a no-op, to
    show the storage's own share."""
    out = _io_at(folder, n, load_repeats=5, changes=50)
    out["big"] = _io_at(folder, big, load_repeats=3, changes=0)
    b = out["big"]
    print(f"  io {n:,} trials ({out['file_mb']:.1f} MB): load {out['load_median']:.3f}s "
          f"({out['load_unchecked_median']:.3f}s without validate), complete() median "
          f"{out['complete_median'] * 1000:.1f} ms / max {out['complete_max'] * 1000:.1f} ms, "
          f"attach() {out['attach_median'] * 1000:.1f} ms, save() {out['save_median']:.3f}s; "
          f"{big:,} trials ({b['file_mb']:.1f} MB): load {b['load_median']:.3f}s "
          f"({b['load_unchecked_median']:.3f}s without validate)", flush=True)
    return out


def _io_at(folder: Path, n: int, load_repeats: int, changes: int) -> dict[str, Any]:
    import axnb
    from axnb import storage

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(n, 6))
    y = rng.normal(size=n)
    path = folder / f"io{n}.axnb.json"
    t0 = time.perf_counter()
    _write_experiment(path, x, y)
    build = time.perf_counter() - t0

    def load_times(repeats: int) -> list[float]:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _ = axnb.load(path).trials
            times.append(time.perf_counter() - t0)
        return times

    loads = load_times(load_repeats)
    validate = storage.validate
    storage.validate = lambda data, path: None
    try:
        unchecked = load_times(load_repeats)
    finally:
        storage.validate = validate
    out: dict[str, Any] = {
        "trials": n, "file_mb": path.stat().st_size / 1e6, "build_s": build,
        "load": loads, "load_median": statistics.median(loads),
        "load_unchecked": unchecked, "load_unchecked_median": statistics.median(unchecked),
    }
    if not changes:
        return out
    exp = axnb.load(path)
    attaches, completes, saves = [], [], []
    for i in range(changes):
        t0 = time.perf_counter()
        t = exp.attach({f"x{j + 1}": float(v) for j, v in enumerate(rng.uniform(size=6))})
        attaches.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        exp.complete(t.index, float(i))
        completes.append(time.perf_counter() - t0)
    for _ in range(3):
        t0 = time.perf_counter()
        exp.save()
        saves.append(time.perf_counter() - t0)
    out.update(attach=attaches, complete=completes, save=saves,
               attach_median=statistics.median(attaches),
               complete_median=statistics.median(completes), complete_max=max(completes),
               save_median=statistics.median(saves))
    return out


def bench_contour() -> dict[str, Any]:
    """Contour at 200 observations, 6-D, 50 x 50 grid (see ``axnb.analysis._bench``)."""
    from axnb.analysis._bench import bench_contour as run

    out = run(n=200, d=6, grid=50)
    print(f"  contour 200 obs 6-D 50x50: {out['contour_warm']:.3f}s warm, "
          f"{out['contour_cold']:.3f}s with the fit, draw {out['draw']:.3f}s", flush=True)
    return out


SCALE_NS = (200, 1_000, 2_000, 10_000)
OPTUNA_LIMIT_S = 180.0  # Optuna GP at a size only if the estimate from the scaling is below


def _timed(fn: Any) -> tuple[Any, float, float]:
    """``fn()``, its CPU time (``time.process_time``: this process, one thread) and wall."""
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c, time.perf_counter() - w


def _optuna_gp_ask(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Optuna ``GPSampler(seed=0)`` on the points ``x`` (values ``y``, minimized), added
    with ``study.add_trial(create_trial(...))``: one ``study.ask()`` plus its six
    ``suggest_float`` calls, timed (CPU and wall); adding the trials is not timed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {f"x{j + 1}": optuna.distributions.FloatDistribution(0.0, 1.0) for j in range(6)}
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.GPSampler(seed=0))
    w0 = time.perf_counter()
    study.add_trials([optuna.trial.create_trial(
        params={f"x{j + 1}": float(p[j]) for j in range(6)}, distributions=dists,
        value=float(v)) for p, v in zip(x, y)])
    add = time.perf_counter() - w0

    def ask() -> dict[str, float]:
        t = study.ask()
        return {name: t.suggest_float(name, 0.0, 1.0) for name in dists}

    _, cpu, wall = _timed(ask)
    return {"cpu": cpu, "wall": wall, "add_trials_wall": add}


def _power_law(rows: list[dict[str, Any]], n: int, key: str = "cpu") -> float | None:
    """Estimate at ``n`` from the two largest measured sizes (``t = a n^b``)."""
    pts = sorted((r["n"], r[key]) for r in rows if r.get(key))
    if len(pts) < 2:
        return None
    (n1, t1), (n2, t2) = pts[-2:]
    b = math.log(t2 / t1) / math.log(n2 / n1)
    return float(t2 * (n / n2) ** b)


def bench_scale(folder: Path, ns: tuple[int, ...] = SCALE_NS,
                optuna_limit: float = OPTUNA_LIMIT_S) -> dict[str, Any]:
    """axnb against Optuna's GPSampler at 200 to 10,000 observations (Hartmann6, Sobol points,
    issue 20). axnb (each on a freshly loaded experiment, so each includes its model fit):
    one ``suggest()``; ``exp.plot.contour("x1", "x2")`` (50 x 50 grid, drawn figure);
    ``exp.predict`` at 10 points. Optuna: one ``ask`` + 6 ``suggest_float`` on a study holding
    the same points (run at a size only if the estimate from the two previous sizes is below
    ``optuna_limit`` CPU seconds). Times are CPU (``time.process_time``, one thread) and wall;
    above ``axnb.engine.subset.LIMIT`` observations axnb models a subset of that many, and
    above ``axnb.engine.trust.FROM`` its suggestions come from a trust region."""
    import axnb
    from axnb.engine import subset, trust

    _write_experiment(folder / "warm.axnb.json", _design(8), np.zeros(8))
    warm = axnb.load(folder / "warm.axnb.json")
    warm.suggest()
    warm.plot.contour("x1", "x2")
    _optuna_gp_ask(_design(8), np.zeros(8))
    points = [{f"x{j + 1}": float(v) for j, v in enumerate(p)} for p in _design(10, seed=5)]
    rows: list[dict[str, Any]] = []
    for n in ns:
        x = _design(n)
        y = np.array([hartmann6(p) for p in x])
        path = folder / f"scale{n}.axnb.json"
        _write_experiment(path, x, y)
        row: dict[str, Any] = {"n": n, "subset": n > subset.LIMIT, "trust": trust.applies(n)}
        exp = axnb.load(path)
        _ = exp.trials
        t, row["suggest_cpu"], row["suggest_wall"] = _timed(exp.suggest)
        row["source"] = t.source
        exp = axnb.load(path)
        _ = exp.trials
        contour = functools.partial(exp.plot.contour, "x1", "x2")
        _, row["contour_cpu"], row["contour_wall"] = _timed(contour)
        _, row["contour_cached_cpu"], row["contour_cached_wall"] = _timed(contour)
        exp = axnb.load(path)
        _ = exp.trials
        _, row["predict_cpu"], row["predict_wall"] = _timed(
            functools.partial(exp.predict, points))
        est = _power_law([{"n": r["n"], "cpu": r["optuna"]["cpu"]} for r in rows
                          if r.get("optuna", {}).get("cpu")], n)
        row["optuna_estimate_cpu"] = est
        if est is None or est <= optuna_limit:
            row["optuna"] = _optuna_gp_ask(x, y)
        else:
            row["optuna"] = {"skipped": True, "estimate_cpu": est}
        o = row["optuna"]
        ratio = o["cpu"] / row["suggest_cpu"] if "cpu" in o else None
        row["optuna_over_axnb"] = ratio
        rows.append(row)
        print(f"  scale n={n:,}: axnb suggest {row['suggest_cpu']:.2f}s CPU "
              f"({row['suggest_wall']:.2f}s wall, {row['source']}), contour "
              f"{row['contour_cpu']:.2f}s CPU (cached {row['contour_cached_cpu']:.2f}s), "
              f"predict(10) {row['predict_cpu']:.2f}s CPU; Optuna GP ask "
              + (f"{o['cpu']:.2f}s CPU ({o['wall']:.2f}s wall), Optuna / axnb {ratio:.1f}"
                 if "cpu" in o else f"not run (est. {est:.0f} s CPU from the scaling)"),
              flush=True)
    return {"ns": list(ns), "limit": subset.LIMIT, "trust_from": trust.FROM, "rows": rows,
            "optuna_limit_s": optuna_limit}


def _cell(cpu: float | None, wall: float | None = None) -> str:
    if cpu is None:
        return "—"
    return f"{cpu:.2f} s" + (f" ({wall:.2f} s)" if wall is not None else "")


def scale_markdown(res: dict[str, Any]) -> str:
    """The table of ``bench_scale`` for the micro section of RESULTS.md."""
    header = ["observations", "axnb `suggest()`", "Optuna GPSampler ask + 6 suggest_float",
              "Optuna / axnb", "axnb `plot.contour(\"x1\", \"x2\")`",
              "contour again (model cached)", "axnb `predict` (10 points)"]
    rows = []
    for r in res["rows"]:
        o = r["optuna"]
        if "cpu" in o:
            opt, ratio = _cell(o["cpu"], o["wall"]), f"{r['optuna_over_axnb']:.1f}"
        else:
            opt, ratio = f"not run (est. {o['estimate_cpu']:.0f} s from the scaling)", "—"
        notes = [k for k, on in (("subset", r["subset"]), ("trust region", r.get("trust")))
                 if on]
        rows.append([f"{r['n']:,}" + (f" ({'; '.join(notes)})" if notes else ""),
                     _cell(r["suggest_cpu"], r["suggest_wall"]), opt, ratio,
                     _cell(r["contour_cpu"], r["contour_wall"]),
                     _cell(r["contour_cached_cpu"], r["contour_cached_wall"]),
                     _cell(r["predict_cpu"], r["predict_wall"])])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _placeholder(view: Any) -> bool:
    """Whether a dashboard view still shows its "Computing…" placeholder."""
    return "Computing" in json.dumps(view.figure.get("layout", {}).get("annotations", []))


def _until(done: Any, timeout: float = 300.0, step: float = 0.002) -> float:
    """Poll ``done()`` until true; the perf_counter() when it was seen true."""
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("dashboard did not update")
        time.sleep(step)
    return time.perf_counter()


def bench_first_paint(path: Path) -> dict[str, Any]:
    """Kernel side of a dashboard's first paint on a freshly loaded experiment (its model not
    fitted yet): from ``exp.dashboard()`` to the call returning (what the browser can show
    first), to the selected tab's figure and to every view holding a figure (no "Computing…"
    placeholder left). The browser's part (widget state to pixels) is measured by
    tests/test_browser.py (tests/artifacts/first_paint.json)."""
    import axnb

    exp = axnb.load(path)
    _ = exp.trials
    t0 = time.perf_counter()
    dash = exp.dashboard()
    returned = time.perf_counter()
    try:
        shown = dash.views[dash._shown()[0]]
        first = _until(lambda: not _placeholder(shown))
        every = _until(lambda: not any(_placeholder(v) for v in dash.views.values()))
        dash.wait_idle(timeout=300)
    finally:
        dash.close()
    return {"returned_s": returned - t0, "selected_tab_s": first - t0, "all_views_s": every - t0}


def bench_dashboard(folder: Path, n: int = 200, repeats: int = 5, burst: int = 20,
                    ) -> dict[str, Any]:
    """The dashboard at ``n`` trials.

    * first paint, kernel side (``bench_first_paint``), twice: the first dashboard of the
      process (loads plotly.js for the browser) and a second one (another fresh experiment);
    * ``refresh()`` after one completed trial (synchronous: refit, every tab);
    * the latency from ``complete()`` to the selected tab's figure (contour) being pushed to
      its view and to every tab being up to date, on an idle dashboard: each trial is
      attached, its refresh awaited, then completed ``interval`` seconds after that refresh
      started (a trial that takes at least the refresh interval, so the throttle does not
      hold the refresh back; under a stream of changes refreshes are throttled to one per
      ``interval``);
    * coalescing: ``burst`` trials attached with their results as fast as possible, and the
      number of automatic refreshes they caused.
    """
    import axnb
    from axnb.widgets import _events

    x = _design(n, seed=1)
    path = folder / "dash.axnb.json"
    _write_experiment(path, x, np.array([hartmann6(row) for row in x]))
    paints = [bench_first_paint(path) for _ in range(2)]
    exp = axnb.load(path)
    from axnb.widgets.dashboard import Dashboard

    def add_one(i: int) -> tuple[Any, float]:
        params = {f"x{j + 1}": float(v) for j, v in enumerate(_design(1, 10 + i)[0])}
        return exp.attach(params), float(hartmann6(np.array(list(params.values()))))

    refresh, latency, shown_latency = [], [], []
    manual = Dashboard(exp, interval=1e6)  # refreshes at creation, then only when told
    try:
        manual.refresh()
        for i in range(repeats):  # synchronous refresh on new data: refit included
            trial, value = add_one(i)
            exp.complete(trial.index, value)
            t0 = time.perf_counter()
            manual.refresh()
            refresh.append(time.perf_counter() - t0)
    finally:
        manual.close()
    interval = _events.INTERVAL
    auto = exp.dashboard()  # refreshes itself
    selected = auto._shown()[0]
    pushed: list[float] = []
    auto.views[selected].observe(lambda _: pushed.append(time.perf_counter()), names="figure")
    try:
        auto.wait_idle(timeout=300)
        for i in range(repeats, 2 * repeats):  # complete() -> automatic refresh done
            trial, value = add_one(i)
            auto.wait_idle(timeout=300)
            time.sleep(interval)
            del pushed[:]
            exp.complete(trial.index, value)
            t0 = time.perf_counter()
            auto.wait_idle(timeout=300)
            latency.append(time.perf_counter() - t0)
            shown_latency.append((pushed[0] if pushed else time.perf_counter()) - t0)
        time.sleep(interval)
        before = auto._refresher.refreshes
        t0 = time.perf_counter()
        for i in range(2 * repeats, 2 * repeats + burst):
            params = {f"x{j + 1}": float(v) for j, v in enumerate(_design(1, 10 + i)[0])}
            exp.attach(params, result=float(hartmann6(np.array(list(params.values())))))
        burst_s = time.perf_counter() - t0
        auto.wait_idle(timeout=300)
        burst_refreshes = auto._refresher.refreshes - before
        final = len(auto.figures["progress"].data[0].x)
    finally:
        auto.close()
    out = {"trials": n, "target_s": 0.3, "interval_s": interval,
           "refresh": refresh, "latency": latency, "latency_selected": shown_latency,
           "refresh_median": statistics.median(refresh),
           "latency_median": statistics.median(latency),
           "latency_selected_median": statistics.median(shown_latency),
           "burst": {"completes": burst, "seconds": burst_s, "refreshes": burst_refreshes,
                     "completed_in_progress_figure": final},
           "first_paint": paints[0], "first_paint_second": paints[1],
           "selected_tab": selected}
    print(f"  dashboard at {n} trials: refresh() {out['refresh_median']:.3f}s; complete -> "
          f"{selected} tab redrawn {out['latency_selected_median']:.3f}s, -> every tab "
          f"refreshed {out['latency_median']:.3f}s (target < 0.3s; medians of {repeats})",
          flush=True)
    print(f"  dashboard burst: {burst} completes in {burst_s:.2f}s -> {burst_refreshes} "
          f"refreshes (interval {interval}s), final progress figure has {final} points",
          flush=True)
    for label, p in (("first", paints[0]), ("second", paints[1])):
        print(f"  dashboard first paint, kernel side ({label} in process): exp.dashboard() "
              f"returned {p['returned_s']:.3f}s, {selected} figure {p['selected_tab_s']:.3f}s,"
              f" every view holding a figure {p['all_views_s']:.3f}s", flush=True)
    print("  (the browser part of the first paint is measured by tests/test_browser.py: "
          "tests/artifacts/first_paint.json)", flush=True)
    return out


def bench_import(repeats: int = 7) -> dict[str, Any]:
    py = sys.executable
    env = os.environ.copy()

    def wall(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([py, "-c", code], check=True, env=env)
        return time.perf_counter() - t0

    bare = [wall("pass") for _ in range(repeats)]
    with_axnb = [wall("import axnb") for _ in range(repeats)]
    heavy = subprocess.run(
        [py, "-c", "import axnb, sys; print(','.join(m for m in ('torch', 'botorch', 'gpytorch',"
                   " 'scipy', 'pandas', 'plotly', 'ipywidgets') if m in sys.modules))"],
        capture_output=True, text=True, env=env).stdout.strip()
    proc = subprocess.run([py, "-X", "importtime", "-c", "import axnb"], capture_output=True,
                          text=True, env=env)
    cumulative_us = None
    top: list[tuple[int, str]] = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        cum, name = int(parts[1]), parts[2].rstrip()
        if name.strip() == "axnb":
            cumulative_us = cum
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        if depth == 1:  # imported directly by a top-level import (axnb's own imports)
            top.append((cum, name.strip()))
    top.sort(reverse=True)
    out = {"bare_python_s": statistics.median(bare), "import_axnb_s": statistics.median(with_axnb),
           "net_s": statistics.median(with_axnb) - statistics.median(bare),
           "importtime_axnb_s": None if cumulative_us is None else cumulative_us / 1e6,
           "heavy_modules_loaded": heavy, "top_imports": top[:8]}
    print(f"  import axnb: {out['net_s'] * 1000:.0f} ms net of bare python; heavy modules "
          f"loaded: {heavy or 'none'}", flush=True)
    return out


_FIRST_SUGGEST = """
import json, sys, tempfile, time
t0 = time.perf_counter()
import axnb
t1 = time.perf_counter()
objectives = {OBJECTIVES}
exp = axnb.Experiment("first", [axnb.Range(f"x{i}", 0.0, 1.0) for i in range(4)],
                      objectives=objectives, path=tempfile.mkdtemp(), seed=0,
                      initial_trials=5)
for _ in range(5):
    t = exp.suggest()
    exp.complete(t.index, {m: sum((v - 0.3 * k) ** 2 for v in t.parameters.values())
                           for k, m in enumerate(objectives)})
t2 = time.perf_counter()
t = exp.suggest()
t3 = time.perf_counter()
t = exp.suggest()
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "start_design_s": t2 - t1, "first_model_s": t3 - t2,
                  "second_model_s": t4 - t3, "source": t.source}))
"""


def bench_first_suggest() -> dict[str, Any]:
    """A fresh process per case (what a notebook's first cell pays): ``import axnb``, 5
    start-design trials, then the first and the second model suggestion, with one objective
    and with two (4 parameters). The first model suggestion imports torch / BoTorch and
    fits; with two objectives no C++ extension is compiled (acquisition.FUSED_QLOGEHVI)."""
    out = {}
    for name, objectives in (("one objective", {"y": "min"}),
                             ("two objectives", {"a": "min", "b": "min"})):
        code = _FIRST_SUGGEST.replace("{OBJECTIVES}", repr(objectives))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=os.environ.copy(), check=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["process_s"] = time.perf_counter() - t0
        out[name] = res
        print(f"  first suggestion, fresh process, {name}: import {res['import_s']:.2f}s, "
              f"start design {res['start_design_s']:.2f}s, first model suggestion "
              f"{res['first_model_s']:.2f}s (second {res['second_model_s']:.2f}s); process "
              f"{res['process_s']:.1f}s", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.micro")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--quick", action="store_true", help="suggest at n <= 100 only")
    ap.add_argument("--only", help="comma-separated sections: import,first_suggest,io,"
                                   "suggest_axnb,suggest_ax,contour,dashboard,scale (scale: "
                                   "200 to 10,000 observations against Optuna GP, minutes; "
                                   "only run when named here)")
    ap.add_argument("--markdown", action="store_true",
                    help="print the markdown table of the scale section (RESULTS.md's micro "
                         "section, by hand: bench.report does not render it)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    ns = tuple(n for n in SUGGEST_NS if not args.quick or n <= 100)
    result: dict[str, Any] = {"suggest_ns": ns, "threads": torch.get_num_threads()}
    sections = [
        ("import", bench_import),
        ("first_suggest", bench_first_suggest),
        ("io", None),
        ("suggest_axnb", None),
        ("suggest_ax", lambda: bench_suggest_ax(ns)),
        ("contour", bench_contour),
        ("dashboard", None),
        ("scale", None),
    ]
    with tempfile.TemporaryDirectory(prefix="axnb-micro-") as tmp:
        folder = Path(tmp)
        for name, fn in sections:
            if args.only and name not in args.only.split(","):
                continue
            if name == "scale" and not args.only:  # minutes: only when asked for
                continue
            if name == "io":
                fn = lambda: bench_io(folder)  # noqa: E731
            elif name == "suggest_axnb":
                fn = lambda: bench_suggest_axnb(ns, folder)  # noqa: E731
            elif name == "dashboard":
                fn = lambda: bench_dashboard(folder)  # noqa: E731
            elif name == "scale":
                fn = lambda: bench_scale(folder)  # noqa: E731
            t0 = time.perf_counter()
            try:
                result[name] = fn()
            except Exception:
                result[name] = {"error": traceback.format_exc()}
                print(f"  {name}: ERROR\n{result[name]['error']}", flush=True)
            result[f"{name}_wall_s"] = time.perf_counter() - t0
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    if args.markdown and isinstance(result.get("scale"), dict) and "rows" in result["scale"]:
        print(scale_markdown(result["scale"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
