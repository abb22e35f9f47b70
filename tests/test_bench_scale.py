"""``python -m bench.scale`` (the long runs of issue 20) on a tiny problem: one seed, a few
trials, in this process."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def scale(monkeypatch):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    from bench import scale

    return scale


def test_scale_benchmark_smoke(tmp_path, scale, capsys, monkeypatch):
    import importlib.util

    import torch

    from axnb.engine import subset

    monkeypatch.setattr(subset, "LIMIT", subset.LIMIT)  # --set changes it in this process

    threads = torch.get_num_threads()
    out, results = tmp_path / "runs", tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Other\n\nkept\n")
    has_mpl = importlib.util.find_spec("matplotlib") is not None
    # Optuna is in the bench extra, not the test one: without it, axnb's runs only.
    has_optuna = importlib.util.find_spec("optuna") is not None
    methods = ["axnb", "tpe", "gp"] if has_optuna else ["axnb"]
    argv = ["--seeds", "1", "--trials", "6", "--problems", "ackley2", "--workers", "1",
            "--methods", ",".join(methods),
            "--out", str(out), "--figures", str(tmp_path / "fig") if has_mpl else "",
            "--gp-budget", "0", "--write", str(results),
            "--set", "axnb.engine.subset.LIMIT=5"]
    assert scale.main(argv) == 0
    assert subset.LIMIT == 5  # applied to the runs (here: in this process) and recorded
    assert json.loads((out / "meta.json").read_text())["overrides"] == {
        "axnb.engine.subset.LIMIT": 5}
    assert torch.get_num_threads() == threads

    runs = {r["method"]: r for r in scale.load_runs(out)}
    assert set(runs) == set(methods)
    for r in runs.values():
        assert r["finished"] and r["problem"] == "ackley2" and r["seed"] == 0
        n = len(r["values"])
        assert len(r["regret"]) == len(r["gen_cpu"]) == len(r["gen_wall"]) == n
        assert all(a >= b for a, b in zip(r["regret"], r["regret"][1:]))  # best so far
        assert r["regret"][-1] == pytest.approx(min(r["values"]))  # optimum 0
        assert all(t >= 0 for t in r["gen_cpu"])
    assert len(runs["axnb"]["values"]) == 6
    assert "model" in runs["axnb"]["sources"]
    if has_optuna:
        assert len(runs["tpe"]["values"]) == 6
        # --gp-budget 0: the GP run stops after its first trial and says so
        assert runs["gp"]["capped"] and len(runs["gp"]["values"]) == 1

    text = results.read_text()
    assert scale.HEADING in text and scale.BEGIN in text and scale.END in text
    assert "## Other\n\nkept" in text and "Ackley 2-D (smoke)" in text
    assert ("capped: seed 0" in text) == has_optuna
    if has_mpl:
        assert (tmp_path / "fig" / "scale_regret.png").stat().st_size > 0
        assert (tmp_path / "fig" / "scale_regret_time.png").stat().st_size > 0

    # A hand-written analysis survives a re-render; finished runs are not rerun.
    results.write_text(text.replace(scale.ANALYSIS_PLACEHOLDER.split("\n\n")[1],
                                    "My analysis."))
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*_s0.json")}
    assert scale.main(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*_s0.json")} == before
    assert scale.main(["--from-dir", str(out), "--figures", "", "--write", str(results)]) == 0
    text2 = results.read_text()
    assert "My analysis." in text2 and text2.count(scale.BEGIN) == 1
    summary = json.loads((out / "summary.json").read_text())["summary"]
    assert summary["ackley2/axnb"]["runs"] == 1
    assert "| Ackley 2-D (smoke) |" in capsys.readouterr().out


def test_the_shifted_ackley_is_defined_on_the_whole_box(scale):
    """Its optimum is off the centre of the box, and every point of the box evaluates."""
    prob = scale.Problem("ackley10_shifted")
    for corner in (0, 1):
        params = {n: b[corner] for n, b in zip(prob.names, prob.bounds)}
        assert prob(params) > prob.optimum
    centre = {n: (lo + hi) / 2 for n, (lo, hi) in zip(prob.names, prob.bounds)}
    assert prob(centre) > prob.optimum + 1
    optimum = {n: s for n, s in zip(prob.names, prob.shift)}
    assert prob(optimum) == pytest.approx(prob.optimum, abs=1e-9)
