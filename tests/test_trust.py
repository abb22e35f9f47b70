"""Trust regions for long runs (``axnb.engine.trust``): TuRBO's side schedule replayed from the
data, the box, the local training set, and the engine's use of them above ``trust.FROM``."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import axnb
from axnb.engine import trust

pytest.importorskip("torch")


def test_length_schedule_grows_after_successes_and_shrinks_after_failures():
    start, d = 2, 2  # patience max(4, d) = 4
    assert trust.length([1.0, 2.0], d, start) == trust.LENGTH_INIT
    # 3 improvements in a row double the side
    assert trust.length([0.0, 1.0, 2.0, 3.0, 4.0], d, start) == 2 * trust.LENGTH_INIT
    # ... up to LENGTH_MAX
    assert trust.length([0.0, 1.0, *range(2, 20)], d, start) == trust.LENGTH_MAX
    # 4 failures in a row halve it; an improvement of less than 1e-3 relative is a failure
    assert trust.length([0.0, 1.0, 0.5, 1.0, 1.0005, 0.2], d, start) == trust.LENGTH_INIT / 2
    # below LENGTH_MIN it restarts at LENGTH_INIT: 7 halvings take 0.8 to 0.00625 < 0.0078
    fails = [0.0, 1.0] + [0.0] * (4 * 7)
    assert trust.length(fails[:-1], d, start) == trust.LENGTH_INIT / 2**6
    assert trust.length(fails, d, start) == trust.LENGTH_INIT
    # the patience grows with the dimension
    assert trust.length([0.0, 1.0] + [0.0] * 4, 6, start) == trust.LENGTH_INIT
    # values not counted (attached trials) only raise the best so far
    assert trust.length([0.0, 1.0, 0.0, 0.0, 0.0, 0.0], d, start,
                        [True, True, False, True, True, True]) == trust.LENGTH_INIT
    assert trust.length([0.0, 1.0, 5.0, 2.0, 3.0, 4.0, 4.5], d, start,
                        [True, True, False, True, True, True, True]) == trust.LENGTH_INIT / 2


def test_box_follows_lengthscales_and_stays_in_the_cube():
    lo, hi = trust.box(np.array([0.5, 0.5]), np.array([0.1, 0.4]), 0.8)
    # weights 0.5 and 2 (geometric mean 0.2): sides 0.4 and 1.6
    assert np.allclose(hi - lo, [0.4, 1.0])
    assert np.allclose(lo, [0.3, 0.0]) and np.allclose(hi, [0.7, 1.0])


def test_nearest_rows_with_ties_by_row_number():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.1, 0.0], [0.0, 0.1], [0.5, 0.5]])
    assert trust.nearest(X, np.zeros(2), 3).tolist() == [0, 2, 3]
    assert trust.nearest(X, np.zeros(2), 10).tolist() == [0, 1, 2, 3, 4]


def _sphere(p: dict) -> float:
    return sum((p[f"x{i}"] - 0.3) ** 2 for i in range(3))


def _run(tmp_path, n: int, name: str = "e.json") -> axnb.Experiment:
    exp = axnb.Experiment("tr", [axnb.Range(f"x{i}", 0.0, 1.0) for i in range(3)],
                          objective="f", minimize=True, seed=3, path=tmp_path / name)
    for _ in range(n):
        t = exp.suggest()
        exp.complete(t, _sphere(t.parameters))
    return exp


def test_trust_region_limits_the_search_and_its_model(tmp_path, monkeypatch):
    """Above ``FROM`` observations the optimizer searches the box around the best point and
    the acquisition's model sees the ``LOCAL`` nearest trials; the suggestion is reproduced
    by a reloaded experiment."""
    monkeypatch.setattr(trust, "FROM", 12)
    monkeypatch.setattr(trust, "LOCAL", 8)
    exp = _run(tmp_path, 12)
    boxes, sizes = [], []
    optimize = exp.engine.optimizer.optimize

    def spy(*args, **kwargs):
        boxes.append(args[5] if len(args) > 5 else kwargs.get("box"))
        return optimize(*args, **kwargs)

    monkeypatch.setattr(exp.engine.optimizer, "optimize", spy)
    acquisition = exp.engine.acquisition

    def spy_acq(trials, mc_seed, task=None, region=None):
        sizes.append(None if region is None else len(region.keep))
        return acquisition(trials, mc_seed, task, region)

    monkeypatch.setattr(exp.engine, "acquisition", spy_acq)
    t = exp.suggest()  # 12 observations: not above FROM
    exp.complete(t, _sphere(t.parameters))
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "e.json", tmp_path / "copy" / "e.json")
    t = exp.suggest()  # 13: trust region
    assert boxes[0] is None and sizes[0] is None
    lo, hi = boxes[1]
    assert sizes[1] == 8
    assert np.all(lo <= hi) and np.prod(hi - lo) < 0.5  # side 0.8 times the weights
    row = exp.engine.encoder.encode(t.parameters)
    assert np.all(row >= lo - 1e-9) and np.all(row <= hi + 1e-9)
    best = exp.engine.encoder.encode(exp.best()[0])
    assert np.all(best >= lo) and np.all(best <= hi)  # centred on the best observed point
    # plots and predict keep the global model: every observation, not the region's 8
    assert exp.engine.fit(exp.trials).data["f"].n == 13
    assert axnb.load(tmp_path / "copy" / "e.json").suggest().parameters == t.parameters


def test_trust_region_from_200_observations_and_off_with_none(tmp_path, monkeypatch):
    """Trust regions start above 200 observations; runs of at most ``FROM`` observations
    suggest exactly what they suggest without them (``FROM = None``)."""
    assert (trust.FROM, trust.LOCAL, trust.REFIT_GROWTH) == (200, 200, 0.05)  # README's
    monkeypatch.setattr(trust, "FROM", None)
    off = _run(tmp_path, 14, "a.json")
    plain = off.suggest().parameters
    assert off.engine._trust_region(off.trials, {}, None, None) is None
    monkeypatch.setattr(trust, "FROM", 14)
    assert _run(tmp_path, 14, "b.json").suggest().parameters == plain


def test_trust_region_skips_what_it_cannot_box(tmp_path, monkeypatch):
    """A categorical parameter (or several objectives, constraints, pins) keeps the global
    search."""
    monkeypatch.setattr(trust, "FROM", 6)
    exp = axnb.Experiment("tr", [axnb.Range("x", 0.0, 1.0), axnb.Choice("c", ["a", "b"])],
                          objective="f", seed=0, path=tmp_path / "c.json")
    for _ in range(8):
        t = exp.suggest()
        exp.complete(t, t.parameters["x"] + (t.parameters["c"] == "a"))
    assert exp.engine._trust_region(exp.trials, {}, None, None) is None
    exp2 = _run(tmp_path, 8, "d.json")
    assert exp2.engine._trust_region(exp2.trials, {}, None, None) is not None
    assert exp2.engine._trust_region(exp2.trials, {0: 0.5}, None, None) is None


def test_region_anchor_schedule_and_local_sets(monkeypatch):
    """The hyperparameters come from the local set of the last anchor count (``FROM + 1``, then
    +``REFIT_GROWTH``), which is the local set of the first ``anchor`` observations."""
    assert [trust.anchor(n, 100) for n in (101, 105, 106, 111, 112)] == [101, 101, 106, 111, 111]
    rng = np.random.default_rng(0)
    X = rng.random((30, 2))
    values = -np.sum((X - 0.5) ** 2, axis=1)
    assert trust.region(X[:20], values[:20], range(20), start=20) is None
    r = trust.region(X[:21], values[:21], range(21), start=20)
    assert r.anchor is None and len(r.keep) == min(trust.LOCAL, 21)
    monkeypatch.setattr(trust, "LOCAL", 5)
    monkeypatch.setattr(trust, "REFIT_GROWTH", 0.25)
    r = trust.region(X, values, range(100, 130), start=20)  # anchors 21, 26, 32
    assert r is not None and len(r.keep) == 5
    best = int(np.argmax(values))
    assert np.array_equal(r.centre, X[best]) and 100 + best in r.keep
    assert trust.anchor(30, 20) == 26
    assert r.anchor == trust.region(X[:26], values[:26], range(100, 126), 20).keep


def test_trust_region_refits_at_anchors_only(tmp_path, monkeypatch):
    """Between anchors the trust region's GP is conditioned with the anchor's hyperparameters:
    one fit per anchor, not per suggestion."""
    monkeypatch.setattr(trust, "FROM", 10)
    monkeypatch.setattr(trust, "REFIT_GROWTH", 0.25)  # anchors 11, 13, 16
    exp = _run(tmp_path, 11)
    fits = exp.engine.cache.fits
    for _ in range(4):  # suggestions at 11, 12, 13, 14 observations
        t = exp.suggest()
        exp.complete(t, _sphere(t.parameters))
    assert exp.engine.cache.fits - fits == 2  # anchors 11 and 13 (their warped GP each)


def test_attached_history_does_not_shrink_the_region(tmp_path, monkeypatch):
    """Attached trials (source "manual") move the centre, not the side: 40 attached random
    points give a first region of side ``LENGTH_INIT``, centred on the best of them."""
    monkeypatch.setattr(trust, "FROM", 20)
    exp = axnb.Experiment("tr", [axnb.Range(f"x{i}", 0.0, 1.0) for i in range(3)],
                          objective="f", seed=0, path=tmp_path / "h.json")
    rng = np.random.default_rng(0)
    for _ in range(40):
        p = {f"x{i}": float(v) for i, v in enumerate(rng.random(3))}
        exp.attach(p, {"f": _sphere(p)})
    r = exp.engine._trust_region(exp.trials, {}, None, None)
    assert r is not None and r.size == trust.LENGTH_INIT
    best = min(exp.trials, key=lambda t: t.result["f"][0])
    assert np.allclose(r.centre, exp.engine.encoder.encode(best.parameters))
    t = exp.suggest()
    assert t.source == "model"
    assert exp.summary()["trust_region"] == {"centre_trial": best.index,
                                             "side": trust.LENGTH_INIT, "local_trials": 40}
    monkeypatch.setattr(trust, "FROM", None)
    assert "trust_region" not in exp.summary()
