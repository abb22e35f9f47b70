"""The benchmark runner's command line (the runs themselves are `make bench`, not tests)."""

from __future__ import annotations

import itertools

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


def test_hierarchical_benchmark_smoke(tmp_path, monkeypatch):
    """``python -m bench.hierarchical`` on 1 seed x 8 trials, in this process: the table, the
    JSON, the section of RESULTS.md (kept with its analysis across a re-render and a
    regeneration of the report), and the imputation constant restored."""
    import json

    import torch

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    from axnb.engine import encoding
    from bench import hierarchical as hb
    from bench import report

    assert hb.objective({"model": "A", "a1": 0.114614, "a2": 0.555649, "a3": 0.852547}) == \
        pytest.approx(hb.F_STAR, abs=1e-5)
    assert hb.objective({"model": "B", "b1": 0.7, "b2": 0.25}) == pytest.approx(-3.5)

    inactive, threads = encoding.INACTIVE, torch.get_num_threads()
    out, results = tmp_path / "h.json", tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Other\n\nkept\n")
    # Optuna is a bench extra, not a test one: its methods run only where it is installed.
    try:
        import optuna  # noqa: F401

        methods = set(hb.METHODS)
    except ImportError:
        methods = {"axnb-hier", "axnb-flat", "random"}
    assert hb.main(["--seeds", "1", "--trials", "8", "--quick", "--workers", "1",
                    "--methods", ",".join(sorted(methods)),
                    "--json", str(out), "--write", str(results)]) == 0
    assert (encoding.INACTIVE, torch.get_num_threads()) == (inactive, threads)

    data = json.loads(out.read_text())
    keys = {f"axnb-hier@{v:g}" for v in (inactive, *hb.IMPUTATIONS)}
    assert set(data["summary"]) == keys | methods - {"axnb-hier"}
    for run in data["runs"]:
        trace = run["regret_trace"]
        assert len(trace) == 8 and all(b <= a for a, b in itertools.pairwise(trace))
        assert trace[-1] >= 0
        for t in run["trials_detail"]:
            names = set(t["params"]) - {"model"}
            if run["method"] in ("axnb-hier", "tpe-group", "tpe", "random"):
                assert names == set(hb.BRANCHES[t["params"]["model"]])  # inactive: absent
            else:
                assert names == {"a1", "a2", "a3", "b1", "b2"}

    text = results.read_text()
    assert text.startswith("# Results\n\n## Other\n\nkept\n")
    assert text.count(hb.HEADING + "\n") == 1 and "| `axnb-hier`" in text
    assert "**Imputation of inactive parameters**" in text
    results.write_text(text.replace("To be written for this run.", "My analysis."))
    assert hb.main(["--from-json", str(out), "--write", str(results)]) == 0
    text = results.read_text()
    assert "My analysis." in text and text.count(hb.HEADING + "\n") == 1
    (section,) = [s for s in report.kept_sections(text) if s.startswith(hb.HEADING)]
    assert "My analysis." in section and "| `axnb-flat`" in section


def test_micro_reports_the_first_suggestion_of_a_fresh_process():
    """bench.micro's first_suggest figures (one and two objectives) reach the report."""
    from bench import report

    row = {"import_s": 0.04, "start_design_s": 1.0, "first_model_s": 0.38,
           "second_model_s": 0.06, "process_s": 1.9}
    text = report.micro_section({"first_suggest": {"one objective": row,
                                                   "two objectives": dict(row, process_s=2.3)}})
    assert "### First suggestion of a fresh process" in text
    assert "| one objective | " in text and "| two objectives | " in text and "2.30 s" in text


def test_micro_scale_table_says_which_model_each_size_used():
    """bench.micro's scale table labels the sizes where the subset and the trust region apply
    and says when Optuna was not run."""
    from bench import micro

    def row(n, subset, trust, optuna):
        return {"n": n, "subset": subset, "trust": trust, "suggest_cpu": 0.3, "suggest_wall": 0.4,
                "contour_cpu": 1.0, "contour_wall": 1.1, "contour_cached_cpu": 0.2,
                "contour_cached_wall": 0.2, "predict_cpu": 0.5, "predict_wall": 0.6,
                "optuna": optuna, "optuna_over_axnb": optuna.get("cpu", 0) / 0.3 or None}

    text = micro.scale_markdown({"rows": [
        row(200, False, False, {"cpu": 0.09, "wall": 0.1}),
        row(2000, True, True, {"cpu": 27.6, "wall": 28.0}),
        row(10000, True, True, {"skipped": True, "estimate_cpu": 2252.0})]})
    lines = text.splitlines()
    assert lines[2].startswith("| 200 | 0.30 s (0.40 s) | 0.09 s (0.10 s) | 0.3 |")
    assert lines[3].startswith("| 2,000 (subset; trust region) | 0.30 s (0.40 s) | 27.60 s")
    assert "| 92.0 |" in lines[3]
    assert lines[4].startswith("| 10,000 (subset; trust region) |")
    assert "not run (est. 2252 s from the scaling) | — |" in lines[4]
