"""Benchmarks for axnb against Ax, Optuna and scrambled Sobol.

    python -m bench.run --quick          # a few minutes
    python -m bench.run                  # the full suite (30-60 minutes on 2 cores)

Problems are in :mod:`bench.problems` (plain numpy, known optima), method runners in
:mod:`bench.methods`, the report (tables, figures) in :mod:`bench.report` and the
micro-benchmarks in :mod:`bench.micro`. Raw per-run JSON goes to ``bench/out`` (gitignored);
``bench/RESULTS.md`` and ``bench/figures/*.png`` are committed.
"""
