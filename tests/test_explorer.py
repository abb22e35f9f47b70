"""The teaching explorer (exp.explore()): history steps, acquisitions, beta, views, words."""

from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
import pytest

import axnb
from axnb.analysis.explore import ACQUISITIONS, Exploration, compute_explore

TRIALS = 8
INITIAL = 3


def wave(p):
    return math.sin(3 * p["x"]) + 0.5 * p["x"] ** 2


def _explore(exp):
    """``exp.explore()`` once the Experiment has it, else the widget class itself."""
    if hasattr(exp, "explore"):
        return exp.explore()
    from axnb.widgets.explorer import Explorer

    return Explorer(exp)


@pytest.fixture(scope="module")
def seq(tmp_path_factory):
    """A 1-D ask/tell run: 3 start points, then 5 model-based suggestions."""
    exp = axnb.Experiment("wave", [axnb.Range("x", -2.0, 2.0)], objective="y", seed=0,
                          initial_trials=INITIAL, path=tmp_path_factory.mktemp("wave"))
    for _ in range(TRIALS):
        t = exp.suggest()
        exp.complete(t.index, wave(t.parameters))
    return exp


@pytest.fixture(scope="module")
def ex(seq):
    from axnb.widgets.explorer import Explorer

    w = Explorer(seq)
    yield w
    w.close()


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """Two parameters (one on a log scale) and an unrelated choice, attached by hand."""
    exp = axnb.Experiment(
        "two", [axnb.Range("x1", -2.0, 2.0), axnb.Range("lr", 1e-4, 1.0, log=True),
                axnb.Choice("opt", ["adam", "sgd"])],
        objective="loss", seed=1, path=tmp_path_factory.mktemp("two"),
    )
    rng = np.random.default_rng(3)
    for i in range(8):
        p = {"x1": float(rng.uniform(-2, 2)), "lr": float(10 ** rng.uniform(-4, 0)),
             "opt": ["adam", "sgd"][i % 2]}
        loss = (p["x1"] - 0.5) ** 2 + 0.3 * (math.log10(p["lr"]) + 2) ** 2 + 0.2 * (
            p["opt"] == "sgd")
        exp.attach(p, result=loss)
    return exp


def observed_x(fig):
    return list(fig.data[3].x)


# --------------------------------------------------------------------- parts
def test_parts_follow_the_api(seq, ex):
    assert isinstance(ex, widgets.VBox)
    assert isinstance(ex.step, widgets.IntSlider)
    assert isinstance(ex.acquisition, widgets.Dropdown)
    assert isinstance(ex.beta, widgets.FloatSlider)
    assert isinstance(ex.figure, go.FigureWidget)
    assert set(ACQUISITIONS) <= set(ex.acquisition.options)
    assert {"qLogNEI", "EI", "UCB", "PI", "Thompson"} <= set(ex.acquisition.options)
    assert (ex.step.min, ex.step.max) == (2, TRIALS)  # from the first fit to every result
    assert "axnb-explorer" in ex._dom_classes
    assert ex.last_error is None and ex.message.value == ""


def test_explore_method_or_helper(seq):
    w = _explore(seq)
    try:
        assert isinstance(w.figure, go.FigureWidget)
        assert w.figure.layout.meta["analysis"] == "explore"
        assert w.step.value == INITIAL  # starts where the model took over
        assert w.acquisition.value == "qLogNEI" and w.y.value == "none"
    finally:
        w.close()


# --------------------------------------------------------------------- steps
def test_observed_points_are_exactly_the_first_k_trials(seq, ex):
    xs = [t.parameters["x"] for t in seq.trials]
    for k in (2, 5, TRIALS, 3):
        ex.step.value = k
        assert ex.last_error is None
        assert observed_x(ex.figure) == pytest.approx(xs[:k])
        assert list(ex.record.trial_index) == list(range(k))
        assert f"first {k} results" in ex.figure.layout.title.text
        assert f"Step {k}</b>" in ex.info.value


def test_the_model_changes_with_the_step(ex):
    ex.acquisition.value = "qLogNEI"
    ex.step.value = 3
    mean3 = np.array(ex.figure.data[2].y, dtype=float)
    ex.step.value = 6
    mean6 = np.array(ex.figure.data[2].y, dtype=float)
    assert np.max(np.abs(mean3 - mean6)) > 0.05
    # at an observed point the noiseless fit passes close to the observation
    rec = ex.record
    i = int(np.argmin(np.abs(np.asarray(rec.x.values) - rec.px[-1])))
    assert rec.mean[i] == pytest.approx(rec.values[-1], abs=0.15)


def test_moving_back_reuses_the_fits(ex):
    ex.acquisition.value = "qLogNEI"
    ex.step.value = 4
    ex.step.value = 7
    fits = ex.exploration.engine().cache.fits
    ex.step.value = 4
    ex.step.value = 7
    assert ex.exploration.engine().cache.fits == fits


def test_the_engines_own_suggestion_is_the_acquisitions_peak(seq, ex):
    """Where the next trial came from the engine's qLogNEI with exactly these data, the
    explorer's qLogNEI peaks there: the engine's optimizer and the grid agree."""
    ex.acquisition.value = "qLogNEI"
    checked = 0
    for k in range(INITIAL, TRIALS):
        ex.step.value = k
        rec = ex.record
        nxt = rec.next_trial
        assert nxt is not None and nxt.index == k
        assert nxt.source == "model" and nxt.engine_pick
        assert "engine's own suggestion" in nxt.text
        engine_x = seq.trials[k].parameters["x"]
        step = 4.0 / (len(rec.x.values) - 1)
        assert abs(rec.pick["x"] - engine_x) <= 3 * step
        assert rec.acquisition.at_next_trial >= np.nanmax(rec.acquisition.values) - 0.05
        star = ex.figure.data[10]
        assert list(star.x) == pytest.approx([engine_x])
        checked += 1
    assert checked == TRIALS - INITIAL
    ex.step.value = 2  # before the model: the next trial was a start point
    assert ex.record.next_trial.source == "init" and not ex.record.next_trial.engine_pick
    assert not ex.record.model_phase
    assert any("space-filling" in n for n in ex.record.notes)
    ex.step.value = TRIALS  # nothing came after the last result
    assert ex.record.next_trial is None and len(ex.figure.data[10].x) == 0


def test_hand_attached_trials_are_not_the_engines_pick(two):
    rec = compute_explore(two, 4, "x1")
    assert rec.next_trial is not None and rec.next_trial.source == "manual"
    assert not rec.next_trial.engine_pick


# --------------------------------------------------------------------- acquisitions
def test_changing_the_acquisition_changes_its_trace_and_axis(ex):
    ex.step.value = 5
    seen = {}
    for name in ACQUISITIONS:
        ex.acquisition.value = name
        assert ex.last_error is None
        title = ex.figure.layout.yaxis2.title.text.replace("<br>", " ")
        assert title == ex.record.acquisition.label
        seen[name] = (title, np.array(ex.figure.data[6].y, dtype=float))
        assert ex.figure.layout.meta["acquisition"] == name
        assert ex.beta.disabled == (name != "UCB")
        assert name.split()[0] in ex.info.value  # the explanation paragraph
    assert "log NEI" in seen["qLogNEI"][0] and "more negative" in seen["qLogNEI"][0]
    assert "log EI" in seen["EI"][0]
    assert "β" in seen["UCB"][0]
    assert "probability" in seen["PI"][0]
    assert "samples" in seen["Thompson"][0]
    assert len({t for t, _ in seen.values()}) == len(ACQUISITIONS)
    for a in ACQUISITIONS:
        for b in ACQUISITIONS:
            if a < b:
                assert not np.allclose(seen[a][1], seen[b][1], equal_nan=True), (a, b)
    pi = seen["PI"][1]
    assert np.nanmin(pi) >= 0.0 and np.nanmax(pi) <= 1.0
    assert np.nanmax(seen["EI"][1]) < 1.0  # a log: small improvements are negative


def test_beta_moves_ucb_between_the_mean_and_the_band(ex):
    ex.step.value = 5
    ex.acquisition.value = "UCB"
    assert not ex.beta.disabled
    fig = ex.figure
    upper = np.array(fig.data[0].y, dtype=float)
    mean = np.array(fig.data[2].y, dtype=float)
    sd = (upper - mean) / 2
    ex.beta.value = 0.0
    assert np.array(ex.figure.data[6].y, dtype=float) == pytest.approx(mean, abs=1e-9)
    ex.beta.value = 9.0  # minimizing: mean - 3 sd
    ucb = np.array(ex.figure.data[6].y, dtype=float)
    assert ucb == pytest.approx(mean - 3 * sd, abs=1e-9)
    assert "β = 9" in ex.figure.layout.yaxis2.title.text.replace("<br>", " ")
    i = ex.record.pick_index[0]
    assert ucb[i] == pytest.approx(np.nanmin(ucb))  # lower is more promising
    ex.beta.value = 4.0
    ex.acquisition.value = "qLogNEI"
    assert ex.beta.disabled


def test_thompson_draws_sample_paths(ex):
    ex.step.value = 5
    ex.acquisition.value = "Thompson"
    paths = [np.array(ex.figure.data[i].y, dtype=float) for i in (6, 7, 8)]
    assert all(len(p) == len(ex.record.x.values) for p in paths)
    assert not np.allclose(paths[0], paths[1])
    assert ex.record.acquisition.samples.shape[0] == 3
    ex.acquisition.value = "EI"
    assert len(ex.figure.data[7].y) == 0  # only Thompson has extra paths


# --------------------------------------------------------------------- views and words
def test_two_dimensional_view_is_a_heatmap(two):
    ex = _explore(two)
    try:
        ex.x.value, ex.y.value = "x1", "lr"
        assert ex.last_error is None
        types = [t.type for t in ex.figure.data]
        assert types.count("heatmap") == 2
        rec = ex.record
        assert rec.mean.shape == (len(rec.y.values), len(rec.x.values))
        assert rec.acquisition.values.shape == rec.mean.shape
        assert np.asarray(ex.figure.data[0].z, dtype=float).shape == rec.mean.shape
        first = sorted(two.trials, key=lambda t: t.index)[: ex.step.value]
        assert list(ex.figure.data[1].x) == pytest.approx([t.parameters["x1"] for t in first])
        assert list(ex.figure.data[1].y) == pytest.approx([t.parameters["lr"] for t in first])
        assert set(rec.held) == {"opt"}
        assert "opt=" in ex.figure.layout.title.text
        title = ex.figure.data[4].colorbar.title.text.replace("<br>", " ")
        assert "log NEI" in title
        ex.acquisition.value = "UCB"
        assert "β" in ex.figure.data[4].colorbar.title.text.replace("<br>", " ")
        ex.y.value = "x1"  # the same parameter twice: back to 1-D
        assert ex.y.value == "none" and ex.figure.layout.meta["dims"] == 1
    finally:
        ex.close()


def test_hyperparameters_in_words_name_every_parameter(two):
    ex = _explore(two)
    try:
        words = ex.record.hyperparameters.words
        text = ex.info.value
        for name in ("x1", "lr", "opt"):
            assert f"<b>{name}</b>" in text
            assert any(name in w for w in words)
        assert "factor of" in text  # lr is on a log scale: its lengthscale is a factor
        assert "noise" in text and "signal" in text
        scales = ex.record.hyperparameters.lengthscales
        assert scales["x1"] > 0 and scales["lr"] > 0 and scales["opt"] is None
    finally:
        ex.close()


def test_follows_new_results(tmp_path):
    exp = axnb.Experiment("grow", [axnb.Range("x", -2.0, 2.0)], objective="y", seed=0,
                          path=tmp_path)
    for x in (-1.5, 0.0, 1.2):
        exp.attach({"x": x}, result=wave({"x": x}))
    ex = _explore(exp)
    try:
        ex.step.value = ex.step.max
        exp.attach({"x": 0.7}, result=wave({"x": 0.7}))
        ex.refresh()
        assert ex.step.max == 4 and ex.step.value == 4
        assert len(observed_x(ex.figure)) == 4
    finally:
        ex.close()


# --------------------------------------------------------------------- errors
def test_too_few_results_say_what_to_do(tmp_path):
    exp = axnb.Experiment("few", [axnb.Range("x", -2.0, 2.0)], objective="y", path=tmp_path)
    exp.attach({"x": 0.0}, result=1.0)
    exp.attach({"x": 1.0})  # running: not a result
    with pytest.raises(ValueError, match=r"at least 2 completed trials.*has 1.*exp\.complete"):
        _explore(exp)


def test_several_objectives_are_refused(tmp_path):
    exp = axnb.Experiment("moo", [axnb.Range("x", 0.0, 1.0)],
                          objectives={"a": "min", "b": "max"}, path=tmp_path)
    for x in (0.1, 0.5, 0.9):
        exp.attach({"x": x}, result={"a": x, "b": x * x})
    with pytest.raises(ValueError, match=r"one objective.*pareto"):
        _explore(exp)


def test_bad_arguments(seq):
    ex = Exploration(seq)
    with pytest.raises(ValueError, match="step must be"):
        ex.record(1, "x")
    with pytest.raises(ValueError, match="step must be"):
        ex.record(TRIALS + 1, "x")
    with pytest.raises(ValueError, match="Unknown acquisition"):
        ex.record(3, "x", acquisition="GIBBON")
    with pytest.raises(ValueError, match="Unknown x parameter"):
        ex.record(3, "nope")
    with pytest.raises(ValueError, match="beta"):
        ex.record(3, "x", acquisition="UCB", beta=-1.0)


def test_excluded_trials_are_not_steps(tmp_path):
    exp = axnb.Experiment("skip", [axnb.Range("x", -2.0, 2.0)], objective="y", path=tmp_path)
    for x in (-1.5, 0.0, 1.2, 0.5):
        exp.attach({"x": x}, result=wave({"x": x}))
    exp.exclude(1, reason="sensor fault")
    rec = Exploration(exp).record(3, "x")
    assert rec.steps == (2, 3)
    assert list(rec.trial_index) == [0, 2, 3]
