"""Python predicate constraints: what rejection costs.

    python -m bench.predicates [--seeds 3] [--trials 30]

A 5-D problem (``x1..x5`` in [0, 1], a smooth bowl) is optimized with and without a
non-smooth predicate that accepts about 30% of the space (``(floor(10 x1) + floor(10 x2)) % 3
== 0``). Reported per arm: the mean time of a model-phase ``suggest()``, their ratio (the
target: within 2x), the share of the acquisition optimizer's candidates (its restarts'
optima, best first) that the predicate rejected (the budget rejection wastes; the next valid
candidate, or the best of feasible random points, is taken instead), and the number of
suggestions that violate it (must be 0). Times are ratios within one run (one thread), never limits.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

D = 5
INITIAL = 10


def stripes(p: dict[str, Any]) -> bool:
    """About 30% of the unit square of (x1, x2), in stripes; not smooth."""
    return (math.floor(10 * p["x1"]) + math.floor(10 * p["x2"])) % 3 == 0


def bowl(p: dict[str, Any]) -> float:
    return sum((p[f"x{i + 1}"] - 0.3 - 0.1 * i) ** 2 for i in range(D))


def run_arm(constrained: bool, seed: int, trials: int, folder: Path) -> dict[str, Any]:
    """One optimization; model-phase suggestion times, rejections and violations."""
    import axnb

    exp = axnb.Experiment(
        f"pred-{constrained}-{seed}", [axnb.Range(f"x{i + 1}", 0.0, 1.0) for i in range(D)],
        constraints=[stripes] if constrained else None, objective="y", path=folder,
        seed=seed, initial_trials=INITIAL, overwrite=True,
    )
    times, violations = [], 0
    for k in range(trials):
        if k == INITIAL:  # count the model phase only
            rep, opt = exp.engine.repairer, exp.engine.optimizer
            rep.checked = rep.rejected = opt.examined = opt.invalid = 0
        start = time.perf_counter()
        t = exp.suggest()
        if k >= INITIAL:
            times.append(time.perf_counter() - start)
        violations += not stripes(t.parameters)
        exp.complete(t.index, bowl(t.parameters))
    rep, opt = exp.engine.repairer, exp.engine.optimizer
    return {"times": times, "checked": rep.checked, "rejected": rep.rejected,
            "examined": opt.examined, "invalid": opt.invalid,
            "violations": violations, "best": exp.summary()["best_observed"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=30)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    rows: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for constrained in (False, True):
                rows[constrained].append(run_arm(constrained, seed, args.trials, Path(tmp)))
    mean = {c: statistics.mean(t for r in rows[c] for t in r["times"]) for c in rows}
    checked = sum(r["checked"] for r in rows[True])
    rejected = sum(r["rejected"] for r in rows[True])
    examined = sum(r["examined"] for r in rows[True])
    invalid = sum(r["invalid"] for r in rows[True])
    print(f"5-D bowl, {args.trials} trials ({INITIAL} start), {args.seeds} seeds, 1 thread")
    print(f"  model-phase suggest(): unconstrained {mean[False]:.3f} s, with the predicate "
          f"{mean[True]:.3f} s  (ratio {mean[True] / mean[False]:.2f}x; target <= 2x)")
    print(f"  acquisition optimizer candidates examined: {examined}, rejected by the "
          f"predicate {invalid} ({invalid / max(examined, 1):.0%}: the budget rejection wastes)")
    print(f"  all rows checked against the predicate (incl. the feasible random candidates): "
          f"{checked}, rejected {rejected} ({rejected / max(checked, 1):.0%})")
    unconstrained_violations = sum(r["violations"] for r in rows[False])
    print(f"  suggestions violating it: {sum(r['violations'] for r in rows[True])} with the "
          f"predicate (must be 0); {unconstrained_violations} without (the share it forbids)")
    best = {c: statistics.median(r["best"] for r in rows[c]) for c in rows}
    print(f"  median best value: unconstrained {best[False]:.4f}, with the predicate "
          f"{best[True]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
