"""Bandit rounds through the public API: suggest_arms, Rate results, pooling, best, the file."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import axnb
from axnb.engine.bandit import ArmData, allocate, pool, shrink, weights_from

DATA = Path(__file__).parent / "data"
BUTTON = axnb.Choice("button", ["blue", "green", "red"])
COPY = axnb.Choice("copy", ["buy", "get"])
RATES = {("blue", "buy"): 0.050, ("blue", "get"): 0.045, ("green", "buy"): 0.060,
         ("green", "get"): 0.040, ("red", "buy"): 0.052, ("red", "get"): 0.048}


def checkout(tmp_path, **kw) -> axnb.Experiment:
    return axnb.Experiment("checkout", [BUTTON, COPY], objective="conversion", minimize=False,
                           path=tmp_path, seed=kw.pop("seed", 1), **kw)


def play(ab: axnb.Experiment, rounds: int, units: int = 10_000, seed: int = 0, window=None):
    """Simulate ``rounds`` rounds of traffic (binomial conversions) and complete them."""
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        for t in ab.suggest_arms(window=window):
            n = max(1, int(units * t.weight))
            p = RATES[(t.parameters["button"], t.parameters["copy"])]
            ab.complete(t.index, axnb.Rate(int(rng.binomial(n, p)), n))


# ------------------------------------------------------------------ rounds
def test_first_round_is_the_full_factorial_with_equal_weights(tmp_path):
    ab = checkout(tmp_path)
    arms = ab.suggest_arms()
    assert len(arms) == 6
    assert {(t.parameters["button"], t.parameters["copy"]) for t in arms} == set(RATES)
    assert all(t.batch == 0 and t.status == "running" and t.source == "init" for t in arms)
    assert [t.weight for t in arms] == pytest.approx([1 / 6] * 6)
    assert ab.rounds[0]["batch"] == 0 and ab.rounds[0]["window"] is None


def test_later_rounds_follow_thompson_and_find_the_best_arm(tmp_path):
    ab = checkout(tmp_path)
    play(ab, rounds=6)
    last = [t for t in ab.trials if t.batch == 5]
    assert math.fsum(t.weight for t in last) == pytest.approx(1.0)
    assert all(t.source == "model" for t in last)
    heaviest = max(last, key=lambda t: t.weight)
    assert (heaviest.parameters["button"], heaviest.parameters["copy"]) == ("green", "buy")
    assert len(last) < 6  # clearly worse arms were pruned
    params, values = ab.best()
    assert params == {"button": "green", "copy": "buy"}
    mean, sem = values["conversion"]
    assert 0.055 < mean < 0.065 and 0 < sem < 0.003


def test_weights_respect_the_floor_and_sum_to_one():
    w = weights_from(np.array([0.9, 0.0995, 0.0005, 0.0]), min_weight=0.01, prune=0.001)
    assert w.sum() == pytest.approx(1.0)
    assert w[2] == 0 and w[3] == 0  # pruned
    assert w[1] >= 0.01 and w[0] > w[1]
    # too many arms for the floor: uniform over the kept arms
    assert weights_from(np.full(200, 1 / 200), min_weight=0.01, prune=0.0) == pytest.approx(
        np.full(200, 1 / 200))


def test_the_best_arm_is_never_pruned():
    data = [ArmData(0.05, 0.01)] * 3
    alloc = allocate(data, maximize=True, min_weight=0.0, prune=0.9)
    assert alloc.weights[alloc.best] > 0 and alloc.weights.sum() == pytest.approx(1.0)


def test_a_round_needs_the_previous_one_finished(tmp_path):
    ab = checkout(tmp_path)
    arms = ab.suggest_arms()
    before = ab.path.read_bytes()
    with pytest.raises(axnb.TrialError, match="still has 6 running arm"):
        ab.suggest_arms()
    assert ab.path.read_bytes() == before
    for t in arms[:5]:
        ab.complete(t.index, axnb.Rate(50, 1000))
    ab.fail(arms[5].index, reason="no traffic")
    nxt = ab.suggest_arms()
    assert {t.batch for t in nxt} == {1}
    # the failed arm has no estimate: it comes back at the minimum weight for another chance
    retry = [t for t in nxt if t.parameters == arms[5].parameters]
    assert len(retry) == 1 and retry[0].weight == pytest.approx(0.01)


def test_arm_results_need_an_uncertainty(tmp_path):
    ab = checkout(tmp_path)
    t = ab.suggest_arms()[0]
    with pytest.raises(axnb.TrialError, match=r"needs an uncertainty.*Rate"):
        ab.complete(t.index, 0.05)
    assert ab.trial(t.index).status == "running"
    ab.complete(t.index, (0.05, 0.01))
    assert ab.trial(t.index).result == {"conversion": (0.05, 0.01)}


def test_rate_is_recorded_as_mean_sem_and_counts(tmp_path):
    ab = checkout(tmp_path)
    t = ab.suggest_arms()[0]
    ab.complete(t.index, {"conversion": axnb.Rate(0, 500)})
    done = ab.trial(t.index)
    mean, sem = done.result["conversion"]
    assert mean == 0.0 and sem > 0  # Agresti–Coull: positive at zero successes
    assert done.counts == {"conversion": (0, 500)}
    for bad in [(-1, 10), (11, 10), (1, 0), (1.5, 10), (True, 10)]:
        with pytest.raises(ValueError, match="Rate"):
            axnb.Rate(*bad)


def test_counts_pool_exactly_and_mean_sem_by_inverse_variance():
    pooled = pool([(0.05, 0.007, (50, 1000)), (0.06, 0.005, (120, 2000))])
    assert (pooled.successes, pooled.units, pooled.rounds) == (170, 3000, 2)
    assert pooled.mean == pytest.approx(170 / 3000)
    mixed = pool([(1.0, 1.0, None), (3.0, 1.0, None)])
    assert mixed.mean == pytest.approx(2.0) and mixed.sem == pytest.approx(1 / math.sqrt(2))
    exact = pool([(1.0, 0.0, None), (3.0, 1.0, None)])
    assert exact.mean == 1.0 and exact.sem == 0.0


def test_shrinkage_pulls_towards_the_grand_mean_and_needs_four_arms():
    means, sems = [0.04, 0.05, 0.05, 0.07], [0.01] * 4
    mu, sd = shrink(means, sems)
    grand = np.mean(means)
    assert np.all(np.abs(mu - grand) <= np.abs(np.array(means) - grand) + 1e-15)
    assert np.all(sd > 0)
    assert mu[3] < 0.07 and mu[0] > 0.04
    mu3, sd3 = shrink(means[:3], sems[:3])
    assert list(mu3) == means[:3] and list(sd3) == sems[:3]
    # precise arms are barely shrunk
    mu_precise, _ = shrink(means, [1e-5] * 4)
    assert mu_precise == pytest.approx(means, abs=1e-6)


def test_window_one_uses_only_the_latest_round(tmp_path):
    ab = checkout(tmp_path)
    arms = ab.suggest_arms()
    for t in arms:  # round 0: blue/buy looks best
        good = (t.parameters["button"], t.parameters["copy"]) == ("blue", "buy")
        ab.complete(t.index, axnb.Rate(300 if good else 40, 1000))
    arms = ab.suggest_arms(arms=[t.parameters for t in arms])
    for t in arms:  # round 1: the world drifted, red/get is best now
        good = (t.parameters["button"], t.parameters["copy"]) == ("red", "get")
        ab.complete(t.index, axnb.Rate(240 if good else 80, 2000))
    assert ab.best()[0] == {"button": "blue", "copy": "buy"}  # pooled: 380/3000 vs 280/3000
    latest = ab.suggest_arms(window=1)
    assert ab.rounds[-1]["window"] == 1
    assert max(latest, key=lambda t: t.weight).parameters == {"button": "red", "copy": "get"}
    assert ab.best()[0] == {"button": "red", "copy": "get"}


def test_given_arms_and_new_arms_get_an_equal_share(tmp_path):
    ab = checkout(tmp_path)
    first = ab.suggest_arms(arms=[{"button": "blue", "copy": "buy"},
                                  {"button": "red", "copy": "buy"}])
    assert [t.source for t in first] == ["manual", "manual"]
    assert [t.weight for t in first] == [0.5, 0.5]
    ab.complete(first[0].index, axnb.Rate(50, 1000))
    ab.complete(first[1].index, axnb.Rate(60, 1000))
    second = ab.suggest_arms(arms=[*(t.parameters for t in first),
                                   {"button": "green", "copy": "get"}])
    weights = {t.parameters["button"]: t.weight for t in second}
    assert weights["green"] == pytest.approx(1 / 3)
    assert math.fsum(weights.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="given twice"):
        ab.suggest_arms(arms=[{"button": "blue", "copy": "buy"}] * 2)


def test_bad_spaces_and_arguments_are_clear_errors(tmp_path):
    cont = axnb.Experiment("cont", [axnb.Range("x", 0, 1)], path=tmp_path)
    with pytest.raises(ValueError, match="continuous.*Choice"):
        cont.suggest_arms()
    big = axnb.Experiment("big", [axnb.Int("a", 0, 99), axnb.Int("b", 0, 99)], path=tmp_path)
    with pytest.raises(ValueError, match="more than 256 arms"):
        big.suggest_arms()
    moo = axnb.Experiment("moo", [BUTTON], objectives={"a": "max", "b": "min"}, path=tmp_path)
    with pytest.raises(ValueError, match="one objective"):
        moo.suggest_arms()
    ab = checkout(tmp_path)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="window"):
            ab.suggest_arms(window=bad)
    with pytest.raises(ValueError, match="not one of"):
        ab.suggest_arms(arms=[{"button": "pink", "copy": "buy"}])
    assert not ab.trials


def test_outcome_constraints_rule_out_arms(tmp_path):
    ab = checkout(tmp_path, outcome_constraints=["latency <= 100"])
    for t in ab.suggest_arms():
        slow = t.parameters["button"] == "green"  # the best converter is too slow
        rate = RATES[(t.parameters["button"], t.parameters["copy"])]
        ab.complete(t.index, {"conversion": axnb.Rate(int(rate * 20_000), 20_000),
                              "latency": (150.0 if slow else 80.0, 2.0)})
    params, values = ab.best()
    assert params["button"] != "green" and values["latency"][0] < 100
    nxt = ab.suggest_arms()
    assert all(t.parameters["button"] != "green" for t in nxt if t.weight > 0.05)


def test_dataframe_has_batch_and_weight_columns(tmp_path):
    ab = checkout(tmp_path)
    play(ab, rounds=2)
    df = ab.to_dataframe()
    assert list(df.columns[:5]) == ["index", "status", "source", "batch", "weight"]
    assert df.groupby("batch")["weight"].sum().tolist() == pytest.approx([1.0, 1.0])
    plain = axnb.Experiment("plain", [axnb.Range("x", 0, 1)], path=tmp_path)
    assert "batch" not in plain.to_dataframe().columns


# ------------------------------------------------------------------ file and processes
def test_rounds_round_trip_through_the_file(tmp_path):
    ab = checkout(tmp_path)
    play(ab, rounds=3, window=None)
    data = json.loads(ab.path.read_text())
    assert data["schema_version"] == 2
    assert [r["batch"] for r in data["rounds"]] == [0, 1, 2]
    again = axnb.load(ab.path)
    assert [(t.batch, t.weight, t.counts) for t in again.trials] == [
        (t.batch, t.weight, t.counts) for t in ab.trials]
    assert again.best() == ab.best()
    assert again.rounds == ab.rounds
    # a resumed experiment plans the same next round as the original would
    assert [(t.parameters, t.weight) for t in again.suggest_arms()] == [
        (t.parameters, t.weight) for t in ab.trials if t.batch == 3]


def test_same_seed_and_data_give_the_same_weights_in_another_process(tmp_path):
    ab = checkout(tmp_path)
    play(ab, rounds=2)
    copy = tmp_path / "copy" / "checkout.axnb.json"
    copy.parent.mkdir()
    shutil.copy(ab.path, copy)
    mine = [(t.parameters, t.weight) for t in ab.suggest_arms()]
    code = ("import axnb, json, sys; e = axnb.load(sys.argv[1]); "
            "print(json.dumps([(t.parameters, t.weight) for t in e.suggest_arms()]))")
    out = subprocess.run([sys.executable, "-c", code, str(copy)], capture_output=True,
                         text=True, check=True).stdout
    assert [tuple(x) for x in json.loads(out)] == mine


def test_a_version_1_file_loads_and_is_upgraded_on_the_next_save(tmp_path):
    path = tmp_path / "v1_booth.axnb.json"
    shutil.copy(DATA / "v1_booth.axnb.json", path)
    original = json.loads(path.read_text())
    assert original["schema_version"] == 1
    exp = axnb.load(path)
    assert path.read_bytes() == (DATA / "v1_booth.axnb.json").read_bytes()  # loading writes nothing
    assert [t.status for t in exp.trials] == [t["status"] for t in original["trials"]]
    assert [t.parameters for t in exp.trials] == [t["parameters"] for t in original["trials"]]
    assert exp.trials[3].reason == "OOM" and exp.trials[0].batch is None
    assert exp.best()[0] == original["trials"][0]["parameters"]
    exp.attach({"x1": 1.0, "x2": 2.0, "opt": "sgd"}, result={"loss": 4.0, "latency": 1.0})
    upgraded = json.loads(path.read_text())
    assert upgraded["schema_version"] == 2 and "rounds" not in upgraded
    assert upgraded["trials"][:4] == original["trials"]  # old trials written as they were
    assert upgraded["config"] == original["config"]


def test_a_file_with_keys_this_version_does_not_know_is_refused_untouched(tmp_path):
    path = tmp_path / "future.axnb.json"
    data = json.loads((DATA / "v1_booth.axnb.json").read_text())
    data["schema_version"] = 2
    data["trials"][0]["fidelity"] = 0.5  # a key no axnb writes yet
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(axnb.CorruptFileError, match=r"trials\[\]\.fidelity.*Upgrade axnb"):
        axnb.load(path)
    assert path.read_bytes() == before
