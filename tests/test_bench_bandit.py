"""The bandit benchmark (bench/bandit.py) on a few seeds and rounds: the world, the regret
accounting, the axnb policy through the public API, the settings override and RESULTS.md."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import bandit as bb


class Always(bb.Policy):
    """All the traffic to one arm every round."""

    def __init__(self, arm: int) -> None:
        self.arm = arm
        self.name = f"always{arm}"

    def weights(self, r: int) -> np.ndarray:
        w = np.zeros(self.k)
        w[self.arm] = 1.0
        return w

    def recommend(self) -> int:
        return self.arm


def test_world_shuffles_the_rates_and_drift_reverses_their_order():
    a, b = bb.world(0, 4), bb.world(1, 4)
    assert a.shape == (4, 10)
    assert sorted(a[0]) == pytest.approx(sorted(bb.RATES))
    assert (a == a[0]).all()                      # stationary
    assert not np.array_equal(a[0], b[0])         # another order for another seed
    d = bb.world(0, 4, drift=True)
    assert (d[:2] == a[:2]).all()
    assert np.argmax(d[2]) == np.argmin(a[0]) and np.argmin(d[2]) == np.argmax(a[0])
    assert d[2] + a[0] == pytest.approx(np.full(10, bb.RATES.min() + bb.RATES.max()))


@pytest.mark.parametrize("seed", [0, 1])
def test_uniform_regret_is_its_analytic_expectation(seed):
    rates = bb.world(seed, 3)
    run = bb.run_policy(bb.Uniform(), rates, seed)
    expected = bb.uniform_expected_regret(bb.RATES, 3)
    assert expected == pytest.approx(3 * 10_000 * 0.01)
    # Only the multinomial split varies: sd about 0.64 lost conversions a round.
    assert run["regret"] == pytest.approx(expected, abs=5)
    assert sum(run["regret_by_round"]) == pytest.approx(run["regret"])
    assert run["arms_by_round"] == [10, 10, 10]
    assert all(w == pytest.approx([0.1] * 10) for w in run["weights"])


def test_the_best_arm_every_round_has_no_regret_and_the_worst_the_most():
    rates = bb.world(3, 3)
    best = bb.run_policy(Always(int(np.argmax(rates[0]))), rates, 3)
    assert best["regret"] == 0 and best["correct"] and best["rec_regret"] == 0
    assert best["best_share_by_round"] == [1.0, 1.0, 1.0]
    worst = bb.run_policy(Always(int(np.argmin(rates[0]))), rates, 3)
    assert worst["regret"] == pytest.approx(3 * 10_000 * 0.02)
    assert not worst["correct"] and worst["rec_regret"] == pytest.approx(0.02)


def test_run_policy_refuses_weights_that_do_not_sum_to_one():
    class Broken(Always):
        def weights(self, r):
            return super().weights(r) * 0.5

    with pytest.raises(ValueError, match="bad weights"):
        bb.run_policy(Broken(0), bb.world(0, 2), 0)


def test_benchmark_on_two_seeds_and_three_rounds():
    data = bb.run_benchmark([0, 1], rounds=3, drift_seeds=[0], workers=1)
    st, dr = data["stationary"], data["drift"]
    assert list(st["summary"]) == list(bb.POLICIES)
    assert len(st["runs"]) == 2 * len(bb.POLICIES) and len(dr["runs"]) == len(bb.POLICIES)
    assert data["meta"]["settings"] == {"min_weight": 0.01, "prune": 0.01}
    for r in st["runs"] + dr["runs"]:
        assert len(r["regret_by_round"]) == 3 and len(r["weights"]) == 3
        assert all(sum(w) == pytest.approx(1, abs=1e-5) for w in r["weights"])
        assert 0 <= r["regret"] <= 3 * 10_000 * 0.02
        assert r["weights"][0] == pytest.approx([0.1] * 10)  # every policy starts uniform
        assert r["min_weight"] == 0.01 and r["prune"] == 0.01
    s = st["summary"]["uniform"]
    assert s["runs"] == 2 and s["q25"] <= s["median"] <= s["q75"]
    assert s["mean"] == pytest.approx(300, abs=5) and 0 <= s["accuracy"] <= 1
    # Adaptive policies move traffic to better arms after round 0.
    for p in ("axnb", "thompson", "greedy", "beta-ts"):
        assert st["summary"][p]["mean"] < s["mean"]
    md = bb.render_benchmark(data)
    assert all(f"| `{p}` |" in md for p in bb.POLICIES)
    assert "Drifting world" in md
    json.dumps(data)  # the --json output


def test_axnb_fails_arms_without_traffic_and_continues(tmp_path):
    for window in (None, 1):
        p = bb.Axnb(window)
        p.start(10, seed=0)
        try:
            assert p.weights(0) == pytest.approx([0.1] * 10)
            units = np.array([0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 2000])
            p.observe(0, units, units // 20)
            status = {t.parameters["arm"]: t.status for t in p.exp.trials}
            assert status[0] == "failed" and status[9] == "completed"
            w = p.weights(1)
            # no data: back at the minimum weight, for another chance
            assert w[0] == pytest.approx(0.01) and w.sum() == pytest.approx(1)
            assert p.recommend() == 9 or w[9] > 0
        finally:
            p.close()


def test_engine_settings_reach_suggest_arms_and_are_restored():
    from axnb.engine import bandit

    before = bb.current_settings()
    with bb.engine_settings(min_weight=0.05, prune=0.0):
        assert bb.current_settings() == {"min_weight": 0.05, "prune": 0.0}
        assert bandit.MIN_WEIGHT == 0.05 and bandit.PRUNE == 0.0
        run = bb.run_policy(bb.Axnb(), bb.world(0, 3), 0)
        for w in run["weights"][1:]:      # nothing pruned, every arm at least 5%
            assert min(w) >= 0.05 - 1e-6
    assert bb.current_settings() == before
    assert before == {"min_weight": bandit.MIN_WEIGHT, "prune": bandit.PRUNE}


def test_section_of_results_md_is_replaced_and_its_analysis_kept(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# axnb benchmarks\n\nintro\n\n## Micro-benchmarks\n\nmicro\n")
    bb.write_section(path, {"main": "table v1"})
    text = path.read_text()
    assert text.startswith("# axnb benchmarks\n\nintro\n\n## Micro-benchmarks\n\nmicro\n\n")
    assert bb.HEADING in text and "table v1" in text and "To be written" in text
    text = text.replace("To be written for this run.", "My analysis.")
    path.write_text(text + "\n## Later section\n\nkept\n")
    bb.write_section(path, {"main": "table v2"})
    bb.write_section(path, {"tuning": "grid"})
    text = path.read_text()
    assert "table v1" not in text and "table v2" in text and "My analysis." in text
    assert text.index("table v2") < text.index("grid") < text.index("My analysis.")
    assert text.endswith("## Later section\n\nkept\n") and text.count(bb.HEADING) == 1
    bb.write_section(path, {"main": "table v2"})
    assert path.read_text() == text                 # idempotent


def test_report_regeneration_keeps_the_bandit_section(tmp_path, monkeypatch):
    import types

    import bench.report as report
    from bench.methods import run_one
    from bench.problems import PROBLEMS

    path = tmp_path / "RESULTS.md"
    path.write_text("# old\n\n## Micro-benchmarks\n\nold micro\n")
    bb.write_section(path, {"main": "bandit table"})
    path.write_text(path.read_text().replace("To be written for this run.", "My analysis."))
    (section,) = report.kept_sections(path.read_text())
    assert section.startswith(bb.HEADING) and "old micro" not in section
    assert report.kept_sections("# no bandit section\n") == []

    monkeypatch.setattr(report, "figures", lambda *a, **k: [])  # no matplotlib needed
    record = {"problem": "branin", "method": "sobol", "seed": 0, "error": None,
              **run_one(PROBLEMS["branin"], "sobol", 0)}
    args = types.SimpleNamespace(problems=["branin"], methods=["sobol"], results=str(path),
                                 figures=str(tmp_path / "fig"), out=str(tmp_path), seeds=1,
                                 workers=1, quick=False)
    report.write_report([record], micro=None, command="python -m bench.run", runs_wall=1.0,
                        total_wall=1.0, args=args)
    text = path.read_text()
    assert "old micro" not in text and "## Headline" in text
    assert text.count(bb.HEADING) == 1 and "bandit table" in text and "My analysis." in text
    assert text.index("## Micro-benchmarks") < text.index(bb.HEADING)


def test_shown_command_drops_the_output_options():
    assert bb.shown_command(["--json", "o.json", "--write", "--markdown", "--seeds", "5"]) == \
        "python -m bench.bandit --seeds 5"
    assert bb.shown_command(["--write", "R.md", "--quick", "--workers", "1"]) == \
        "python -m bench.bandit --quick"


def test_command_line_writes_json_and_the_section(tmp_path, capsys):
    out, results = tmp_path / "b.json", tmp_path / "RESULTS.md"
    assert bb.main(["--seeds", "2", "--rounds", "2", "--drift-seeds", "0", "--workers", "1",
                    "--policies", "uniform,greedy", "--json", str(out),
                    "--write", str(results), "--markdown"]) == 0
    data = json.loads(out.read_text())
    assert list(data["stationary"]["summary"]) == ["uniform", "greedy"]
    assert "| `greedy` |" in capsys.readouterr().out
    assert "| `greedy` |" in results.read_text()
    with pytest.raises(ValueError, match="unknown policy"):
        bb.main(["--policies", "nope", "--seeds", "1"])
