"""The benchmark runner's command line (the runs themselves are `make bench`, not tests)."""

from __future__ import annotations

import pytest


@pytest.fixture
def bench_run(monkeypatch):
    # bench.run sets the thread variables at import; keep them out of the rest of the session.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    import bench.run

    return bench.run


def test_set_overrides_existing_engine_constants(bench_run, monkeypatch):
    from axnb.engine import models

    overrides = bench_run.parse_overrides(["axnb.engine.models.CATEGORICAL_MODEL=onehot",
                                           "axnb.engine.models.FIT_FTOL=1e-5"])
    assert overrides == {"axnb.engine.models.CATEGORICAL_MODEL": "onehot",
                         "axnb.engine.models.FIT_FTOL": 1e-5}
    monkeypatch.setattr(models, "CATEGORICAL_MODEL", models.CATEGORICAL_MODEL)
    monkeypatch.setattr(models, "FIT_FTOL", models.FIT_FTOL)
    bench_run.apply_overrides(overrides)
    assert (models.CATEGORICAL_MODEL, models.FIT_FTOL) == ("onehot", 1e-5)


@pytest.mark.parametrize("item, message", [
    ("axnb.engine.models.FIT_FTOLL=1", "does not exist"),
    ("axnb.engine.nomodule.X=1", "does not exist"),
    ("FIT_FTOL=1", "expected MODULE.NAME=VALUE"),
])
def test_set_rejects_unknown_names(bench_run, item, message):
    with pytest.raises(SystemExit, match=message):
        bench_run.parse_overrides([item])
