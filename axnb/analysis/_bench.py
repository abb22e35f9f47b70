"""Timing of the contour analysis: ``python -m axnb.analysis._bench``.

``bench_contour()`` builds an experiment of ``n`` observations of a smooth function of ``d``
float parameters (attached, no optimization), then times

* ``fit``: the engine's GP fit from cold (what the first plot after new data pays),
* ``contour_warm``: ``compute_contour`` on a ``grid x grid`` mesh with the fit cached,
* ``contour_cold``: the same on a fresh engine (fit included),
* ``draw``: ``draw_contour`` of the record (plotly figure construction).

Times are seconds (best of ``repeat`` for the warm compute and the draw).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def _experiment(folder: Path, n: int, d: int, seed: int) -> Any:
    import axnb

    params = [axnb.Range(f"x{i}", 0.0, 1.0) for i in range(d)]
    exp = axnb.Experiment("bench_contour", params, objective="y", path=folder, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    w = np.linspace(1.0, 0.1, d)
    Y = np.sin(3 * X) @ w + 0.5 * (X[:, 0] - 0.5) ** 2
    for x, y in zip(X, Y):
        exp.attach({f"x{i}": float(v) for i, v in enumerate(x)}, result=float(y))
    return exp


def bench_contour(
    n: int = 200, d: int = 6, grid: int = 50, repeat: int = 3, seed: int = 0
) -> dict[str, float]:
    """Seconds for the fit, the warm and cold contour computation and the draw (module doc)."""
    from axnb.analysis import compute_contour, draw_contour

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exp = _experiment(Path(tmp), n, d, seed)
        trials = exp.trials
        t0 = time.perf_counter()
        exp.engine.fit(trials, ["y"])
        fit = time.perf_counter() - t0
        warm = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            rec = compute_contour(exp, "x0", "x1", grid=grid, trials=trials)
            warm.append(time.perf_counter() - t0)
        draws = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            draw_contour(rec)
            draws.append(time.perf_counter() - t0)
        exp._engine = None  # a fresh engine: nothing cached
        t0 = time.perf_counter()
        compute_contour(exp, "x0", "x1", grid=grid, trials=trials)
        cold = time.perf_counter() - t0
    return {"n": n, "d": d, "grid": grid, "fit": fit, "contour_warm": min(warm),
            "contour_cold": cold, "draw": min(draws)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("-d", type=int, default=6)
    parser.add_argument("--grid", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(bench_contour(args.n, args.d, args.grid), indent=2))


if __name__ == "__main__":
    main()
