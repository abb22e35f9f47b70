"""Large experiments: above ``subset.LIMIT`` observations the models are fitted to a subset
(the better half and a spread), chosen from the data alone."""

from __future__ import annotations

import numpy as np
import pytest

import axnb
from axnb.engine import subset
from axnb.engine.acquisition import Problem
from axnb.engine.models import MetricData
from axnb.trial import Objective

PARAMS = [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0)]


def f(p: dict) -> float:
    return (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2


def _experiment(tmp_path, name: str, n: int, seed: int = 0) -> axnb.Experiment:
    exp = axnb.Experiment(name, PARAMS, objective="loss", seed=0, path=tmp_path)
    rng = np.random.default_rng(seed)
    for x, y in rng.random((n, 2)):
        p = {"x": float(x), "y": float(y)}
        exp.attach(p, result=f(p))
    return exp


def test_choose_keeps_the_best_half_and_spreads_the_rest():
    rng = np.random.default_rng(1)
    X = rng.random((100, 2))
    Y = np.sum((X - 0.5) ** 2, axis=1)
    data = {"loss": MetricData("loss", X, Y, None, list(range(100)))}
    problem = Problem([Objective("loss", minimize=True)], [])
    assert subset.choose(data, problem, limit=100) is None
    keep = subset.choose(data, problem, limit=20)
    assert len(keep) == 20
    best = set(np.argsort(Y)[:10].tolist())
    assert best <= keep
    spread = X[sorted(keep - best)]
    assert spread.min(axis=0).max() < 0.25 and spread.max(axis=0).min() > 0.75  # the corners
    assert subset.choose(data, problem, limit=20) == keep  # the data alone decide


def test_choose_with_two_objectives_takes_the_front_first():
    rng = np.random.default_rng(2)
    X = rng.random((60, 2))
    data = {"a": MetricData("a", X, X[:, 0], None, list(range(60))),
            "b": MetricData("b", X, X[:, 1], None, list(range(60)))}
    problem = Problem([Objective("a", minimize=True), Objective("b", minimize=True)], [])
    keep = subset.choose(data, problem, limit=20)
    front = [i for i in range(60)
             if not any(np.all(X[j] <= X[i]) and np.any(X[j] < X[i]) for j in range(60))]
    assert set(front) <= keep


def test_large_experiments_model_a_subset_small_ones_are_unchanged(tmp_path, monkeypatch):
    before = _experiment(tmp_path, "small", 30).suggest().parameters
    monkeypatch.setattr(subset, "LIMIT", 30)  # at the limit: every trial, as before
    assert _experiment(tmp_path, "small2", 30).suggest().parameters == before
    monkeypatch.setattr(subset, "LIMIT", 20)
    big = _experiment(tmp_path, "big", 30)
    fitted = big.engine.fit(big.trials)
    assert fitted.data["loss"].n == 20
    best = min(big.trials, key=lambda t: t.result["loss"][0]).index
    assert best in fitted.data["loss"].trial_indices
    t = big.suggest()
    assert t.source == "model" and t.parameters != before
    assert big.predict([t.parameters])["loss"][0]
    assert big.plot.contour("x", "y").data and big.plot.cross_validation().data
    # the same trials give the same subset and suggestion in a fresh experiment
    copy = tmp_path / "copy.axnb.json"
    copy.write_text(big.path.read_text())
    again = axnb.load(copy)
    again.abandon(t.index)
    big.abandon(t.index)
    assert again.suggest().parameters == big.suggest().parameters


@pytest.mark.parametrize("n", [0, 5])
def test_restrict_keeps_only_the_chosen_trials(n):
    X = np.arange(10.0).reshape(5, 2)
    d = MetricData("m", X, np.arange(5.0), np.ones(5), [10, 11, 12, 13, 14])
    kept = subset.restrict(d, {11, 13} if n else set())
    assert kept.trial_indices == ([11, 13] if n else [])
    assert kept.Yvar is not None and len(kept.Yvar) == kept.n
