"""``python -m bench.multitask`` (the online/offline benchmark) on 1 seed and tiny sizes, in
this process: the functions, the runs' protocol, the JSON and the section of RESULTS.md."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

TINY = "initial_online=3,initial_offline=4,batches=1,offline_batch=3,online_batch=2"


@pytest.fixture
def mb(monkeypatch):
    # bench.multitask sets the thread variables at import; keep them out of the session.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    from bench import multitask

    return multitask


def test_the_functions(mb):
    x_star = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])
    assert mb.hartmann6(x_star) == pytest.approx(mb.F_STAR, abs=1e-4)
    # the related offline function is a biased copy: its optimum is displaced by -0.05
    assert mb.offline_related(x_star - 0.05) == pytest.approx(1.2 * mb.F_STAR + 0.3, abs=1e-3)
    assert mb.offline_related(x_star - 0.05) < mb.offline_related(x_star)
    rng = np.random.default_rng(0)
    X = rng.random((300, 6))
    f = [mb.hartmann6(x) for x in X]
    assert np.corrcoef(f, [mb.offline_related(x) for x in X])[0, 1] > 0.8
    assert abs(np.corrcoef(f, [mb.offline_unrelated(x) for x in X])[0, 1]) < 0.3
    params = dict(zip(mb.NAMES, x_star, strict=True))
    assert mb.hartmann6(params) == mb.hartmann6(x_star)


def test_multitask_benchmark_smoke(mb, tmp_path):
    import torch

    from bench import report

    threads = torch.get_num_threads()
    out, results = tmp_path / "m.json", tmp_path / "RESULTS.md"
    results.write_text("# Results\n\n## Other\n\nkept\n")
    assert mb.main(["--seeds", "1", "--workers", "1", "--sizes", TINY,
                    "--json", str(out), "--write", str(results)]) == 0
    assert torch.get_num_threads() == threads

    data = json.loads(out.read_text())
    assert set(data["summary"]["rows"]) == {"online-only", "multitask/related",
                                            "multitask/unrelated"}
    assert set(data["summary"]["ratios"]) == {"related", "unrelated"}
    for run in data["runs"]:
        trace = run["regret_trace"]
        assert len(trace) == 2 and all(b <= a for a, b in itertools.pairwise(trace))
        assert trace[-1] >= 0
        assert len(run["online_values"]) == 5  # 3 + 1 x 2, the same online budget
        if run["method"] == "multitask":
            assert len(run["offline_values"]) == 7  # 4 + 1 x 3
            assert -1.0 <= run["task_correlation"] <= 1.0
            # each task has its own start design, then model-based points
            assert run["sources"]["offline"] == ["init"] * 4 + ["model"] * 3
            assert run["sources"]["online"] == ["init"] * 3 + ["model"] * 2
        else:
            assert run["offline_values"] == [] and run["task_correlation"] is None
    first = {r["setting"]: r["online_values"][:3] for r in data["runs"]}
    assert first["related"] == first["unrelated"] == first["-"]  # the same start design

    text = results.read_text()
    assert text.startswith("# Results\n\n## Other\n\nkept\n")
    assert text.count(mb.HEADING + "\n") == 1 and "| online-only" in text
    results.write_text(text.replace("To be written for this run.", "My analysis."))
    assert mb.main(["--from-json", str(out), "--write", str(results)]) == 0
    text = results.read_text()
    assert "My analysis." in text and text.count(mb.HEADING + "\n") == 1
    (section,) = [s for s in report.kept_sections(text, [mb.HEADING])]
    assert "My analysis." in section and "| multi-task, related" in section


def test_bad_sizes_are_refused(mb):
    with pytest.raises(SystemExit, match="--sizes"):
        mb.main(["--sizes", "batches=0"])
    with pytest.raises(SystemExit, match="unknown setting"):
        mb.main(["--settings", "simulated", "--seeds", "1"])
