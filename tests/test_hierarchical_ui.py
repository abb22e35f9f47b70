"""Hierarchical parameters (``when=``) in the plots, the builder, the panel and the dashboard."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

import axnb
from axnb.analysis import (
    compute_contour,
    compute_importance,
    compute_parallel,
    compute_slice,
)


@pytest.fixture(autouse=True, scope="module")
def quick_fits():
    """Small fit budget, as in test_analysis: the plots only need a reasonable GP."""
    import axnb.engine.models as models

    saved = models.FIT_MAXITER
    models.FIT_MAXITER = 50
    yield
    models.FIT_MAXITER = saved


def space():
    return [
        axnb.Choice("model", ["svm", "forest"]),
        axnb.Range("C", 1e-3, 1e3, log=True, when={"model": "svm"}),
        axnb.Int("trees", 10, 500, when={"model": "forest"}),
        axnb.Range("x", 0.0, 1.0),
    ]


def loss(p):
    if p["model"] == "svm":
        return (math.log10(p["C"]) - 1) ** 2 / 4 + p["x"]
    return (p["trees"] - 300) ** 2 / 2e4 + 0.5 + p["x"]


SVM_C = [0.01, 3.0, 40.0, 500.0]
TREES = [20, 150, 320, 480]


@pytest.fixture(scope="module")
def exp(tmp_path_factory):
    """Four attached trials of each branch, interleaved."""
    exp = axnb.Experiment(
        "hier",
        space(),
        objective="loss",
        seed=0,
        initial_trials=2,
        path=tmp_path_factory.mktemp("hier"),
    )
    for i, (c, trees) in enumerate(zip(SVM_C, TREES)):
        for p in (
            {"model": "svm", "C": c, "x": 0.1 + 0.2 * i},
            {"model": "forest", "trees": trees, "x": 0.8 - 0.2 * i},
        ):
            exp.attach(p, result=loss(p))
    return exp


def svm_trials(exp):
    return [t for t in exp.trials if t.parameters["model"] == "svm"]


# ----------------------------------------------------------------------------- plots
def test_trials_hold_only_active_parameters(exp):
    assert all(("C" in t.parameters) == (t.parameters["model"] == "svm") for t in exp.trials)
    assert exp.to_dataframe()["C"].isna().sum() == 4


def test_slice_of_a_conditional_parameter_uses_the_trials_where_it_is_active(exp):
    fig = exp.plot.slice("C")
    observed = fig.data[3]
    assert observed.name == "observed"
    assert list(observed.x) == pytest.approx([t.parameters["C"] for t in svm_trials(exp)])
    title = fig.layout.title.text
    assert "trials where C is active (model = 'svm')" in title
    assert "model='svm'" in title  # the model is drawn with C active

    rec = compute_slice(exp, "C")
    assert rec.note is None and rec.mean is not None and np.isfinite(rec.mean).all()
    assert rec.slice["model"] == "svm" and "trees" not in rec.slice
    assert sorted(rec.trial_index.tolist()) == [t.index for t in svm_trials(exp)]


def test_slice_of_a_parent_holds_each_branch_at_its_own_values(exp):
    rec = compute_slice(exp, "model")
    assert rec.mean is not None and np.isfinite(rec.mean).all()
    assert {"C", "trees", "x"} <= set(rec.slice)  # each held where its branch is drawn
    assert "held only where active" in rec.condition
    assert len(rec.px) == len(exp.trials)  # every trial has a model


def test_slice_values_that_turn_the_parameter_off_are_refused(exp):
    with pytest.raises(ValueError, match="inactive"):
        compute_slice(exp, "C", slice_values={"model": "forest"})
    with pytest.raises(ValueError, match="'trees'.*inactive"):
        compute_slice(exp, "C", slice_values={"trees": 100})
    rec = compute_slice(exp, "C", slice_values={"x": 0.25}, acquisition=False)
    assert rec.slice == {"model": "svm", "x": 0.25}


def test_contour_of_a_conditional_and_an_always_active_parameter(exp):
    fig = exp.plot.contour("C", "x", grid=12)
    svm = svm_trials(exp)
    assert list(fig.data[2].x) == pytest.approx([t.parameters["C"] for t in svm])
    assert list(fig.data[2].y) == pytest.approx([t.parameters["x"] for t in svm])
    assert "trials where C is active (model = 'svm')" in fig.layout.title.text
    rec = compute_contour(exp, "C", "x", grid=12)
    assert rec.slice == {"model": "svm"} and np.isfinite(rec.mean).all()
    assert rec.best is not None


def test_contour_of_a_parent_and_its_child_blanks_the_inactive_cells(exp):
    rec = compute_contour(exp, "model", "C", grid=8)
    assert rec.inactive is not None and rec.inactive.shape == rec.mean.shape
    forest = rec.x.values.index("forest")
    assert rec.inactive[:, forest].all() and np.isnan(rec.mean[:, forest]).all()
    assert np.isfinite(np.delete(rec.mean, forest, axis=1)).all()
    assert "blank: inactive" in exp.plot.contour("model", "C", grid=8).layout.title.text


def test_contour_of_parameters_never_active_together_is_a_message(exp):
    fig = exp.plot.contour("C", "trees")  # no exception
    notes = [a.text for a in fig.layout.annotations if a.name == "note"]
    assert len(notes) == 1 and "never active together" in notes[0]
    assert "model = 'svm'" in notes[0] and "model = 'forest'" in notes[0]
    assert fig.data[0].z is None and len(fig.data[2].x) == 0
    assert len(fig.data) == len(exp.plot.contour("C", "x", grid=5).data)  # same trace layout


def test_parallel_draws_inactive_values_on_their_own_tick(exp):
    rec = compute_parallel(exp)
    dims = {d.label: d for d in rec.dimensions}
    c = dims["C"]
    assert c.ticktext[0] == "inactive" and c.range[0] == c.tickvals[0]
    inactive = [t.parameters["model"] == "forest" for t in exp.trials]
    assert np.all((c.values == c.tickvals[0]) == np.array(inactive))
    assert np.all(c.values[~np.array(inactive)] > c.tickvals[0])
    trees = dims["trees"]
    assert trees.ticktext[0] == "inactive" and trees.range == (trees.tickvals[0], 500.0)
    assert dims["x"].tickvals is None  # always active: as before
    fig = exp.plot.parallel()
    assert all(v is not None for d in fig.data[0].dimensions for v in d.values)


def test_importance_cross_validation_and_progress(exp):
    rec = compute_importance(exp, samples=64)
    assert sorted(rec.names) == ["C", "model", "trees", "x"]
    assert np.all((rec.total >= 0) & (rec.total <= 1)) and rec.conditional == ["C", "trees"]
    assert "where active" in exp.plot.importance().layout.title.text
    cv = exp.plot.cross_validation()
    assert len(cv.data[1].x) == len(exp.trials)
    progress = exp.plot.progress()
    hovers = list(progress.data[0].hovertext)
    assert any("C = " in h and "trees" not in h for h in hovers)
    assert any("trees = " in h and "C = " not in h for h in hovers)


def test_nested_conditions_are_spelled_out(tmp_path):
    exp = axnb.Experiment(
        "nested",
        [
            axnb.Choice("model", ["svm", "forest"]),
            axnb.Choice("kernel", ["rbf", "poly"], when={"model": "svm"}),
            axnb.Range("gamma", 1e-3, 10.0, log=True, when={"kernel": "rbf"}),
            axnb.Int("trees", 10, 500, when={"model": "forest"}),
            axnb.Range("x", 0.0, 1.0),
        ],
        objective="loss",
        path=tmp_path,
        seed=0,
        initial_trials=2,
    )
    for i in range(3):
        exp.attach(
            {"model": "svm", "kernel": "rbf", "gamma": 10.0 ** (i - 2), "x": 0.3 * i},
            result=1.0 + i,
        )
        exp.attach({"model": "forest", "trees": 50 + 100 * i, "x": 0.2 * i}, result=2.0 - i)
    fig = exp.plot.slice("gamma")
    assert "trials where gamma is active (model = 'svm', kernel = 'rbf')" in (fig.layout.title.text)
    assert len(fig.data[3].x) == 3
    note = exp.plot.contour("gamma", "trees").layout.annotations[-1].text
    assert "never active together" in note


# ----------------------------------------------------------------------------- builder
def test_builder_round_trips_when(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    b = axnb.builder()
    b.add_parameter("choice", "model", values=["svm", "forest"])
    b.param_kind.value = "Range"
    b.param_name.value = "C"
    b.param_low.value, b.param_high.value, b.param_log.value = 1e-3, 1e3, True
    b.param_when.value = "model=svm"
    b.add_parameter_button.click()
    assert b.last_error is None, b.message.value
    b.add_parameter("int", "trees", low=10, high=500, when={"model": ["forest"]})
    b.add_parameter("range", "x", low=0, high=1)
    b.name_field.value, b.seed_field.value = "tree", "3"
    assert "axnb.Range('C', 0.001, 1000.0, log=True, when={'model': 'svm'})" in b.code
    assert "axnb.Int('trees', 10, 500, when={'model': 'forest'})" in b.code
    b.create_button.click()
    exp = b.experiment
    assert exp is not None and "when=" in b.code
    assert exp.space["C"].when == (("model", ("svm",)),)
    assert exp.space["trees"].to_dict()["when"] == {"model": ["forest"]}
    assert exp.space["x"].when is None
    namespace: dict = {}
    exec(b.code, namespace)  # the code shown builds the same experiment
    assert namespace["exp"].config() == exp.config()


@pytest.mark.parametrize(
    "text, message",
    [
        ("model", "parent=value"),
        ("mdl=svm", "add the parent parameter first"),
        ("model=rf", "'rf' is not a value 'model' can take"),
        ("x=0.5", "a parent must be a Choice, Int or Fixed"),
    ],
)
def test_builder_shows_invalid_when(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    b = axnb.builder()
    b.add_parameter("choice", "model", values=["svm", "forest"])
    b.add_parameter("range", "x", low=0, high=1)
    with pytest.raises(ValueError, match=message):
        b.add_parameter("range", "C", low=1, high=2, when=text)
    assert "axnb-error" in b.message.value and len(b.parameters.items) == 2


def test_builder_sets_when_of_a_parameter_already_added(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    b = axnb.builder()
    b.add_parameter("choice", "model", values=["svm", "forest"])
    b.add_parameter("range", "C", low=1, high=2)
    b.parameters.select.index = 1
    b.param_when.value = "model=svm"
    b.set_when_button.click()
    assert b.parameters.items[1].when == (("model", ("svm",)),)
    assert "when={'model': 'svm'}" in b.code
    b.parameters.select.index = 0  # model cannot depend on its own child
    b.param_when.value = "C=1"
    b.set_when_button.click()
    assert "axnb-error" in b.message.value and b.parameters.items[0].when is None
    b.add_parameter("choice", "kernel", values=["rbf", "linear"], when={"model": "svm"})
    b.parameters.select.index = 0  # model = f(kernel), kernel = f(model): a circle
    b.param_when.value = "kernel=rbf"
    b.set_when_button.click()
    assert "circle" in b.message.value and b.parameters.items[0].when is None


# ----------------------------------------------------------------------------- panel
@pytest.fixture
def fresh(tmp_path):
    return axnb.Experiment(
        "panel", space(), objective="loss", path=tmp_path, seed=0, initial_trials=2
    )


def test_panel_fields_follow_the_parent(fresh):
    panel = fresh.panel()
    f = panel.fields
    assert f["model"].value == "svm"
    assert not f["C"].disabled and f["trees"].disabled and not f["x"].disabled
    assert "only when model = svm" in f["C"].tooltip
    f["model"].value = "forest"
    assert f["C"].disabled and not f["trees"].disabled
    assert panel.active == {"model", "trees", "x"} and set(panel.values) == panel.active
    f["model"].value = "svm"
    assert not f["C"].disabled and f["trees"].disabled
    panel.close()


def test_panel_attach_sends_only_active_parameters(fresh):
    panel = fresh.panel()
    panel.fields["model"].value = "forest"
    panel.fields["trees"].value = 123
    panel.fields["x"].value = 0.4
    panel.fields["C"].value = 5.0  # typed, but inactive: not sent
    panel.result_fields["loss"].value = 1.5
    panel.attach_button.click()
    assert "axnb-error" not in panel.message.value, panel.message.value
    assert fresh.trials[-1].parameters == {"model": "forest", "trees": 123, "x": 0.4}
    panel.close()


def test_panel_suggestion_fills_only_active_fields(fresh):
    panel = fresh.panel()
    for _ in range(4):
        panel.suggest_button.click()
        shown = panel.suggestion
        assert shown is not None and set(shown) == panel.active
        other = "trees" if shown["model"] == "svm" else "C"
        assert panel.fields[other].disabled
        panel.accept_button.click()
        trial = fresh.trials[-1]
        assert trial.parameters == shown and trial.source != "manual"
        panel.result_fields["loss"].value = loss(trial.parameters)
        panel.complete_button.click()
    assert "axnb-error" not in panel.message.value, panel.message.value
    panel.close()


# ----------------------------------------------------------------------------- dashboard
def test_dashboard_on_a_hierarchical_experiment(exp):
    dash = exp.dashboard()
    dash.refresh()
    assert dash.last_error is None
    assert isinstance(dash.figures["contour"], go.Figure)
    dash.contour_x.value, dash.contour_y.value = "C", "trees"  # never active together
    dash.slice_param.value = "trees"
    dash.refresh()
    assert dash.last_error is None
    assert "never active together" in dash.figures["contour"].layout.annotations[-1].text
    assert "trials where trees is active" in dash.figures["slice"].layout.title.text
    rows = dash.table_rows()
    assert sum(r.get("C") is None for r in rows) == 4
    dash.close()


def test_dashboard_default_contour_pair_can_be_active_together(tmp_path):
    params = space()
    exp = axnb.Experiment(
        "order",
        [params[1], params[2], params[0], params[3]],
        objective="loss",
        path=tmp_path,
        seed=0,
    )  # C, trees, model, x: C and trees are never active together
    dash = exp.dashboard()
    assert (dash.contour_x.value, dash.contour_y.value) == ("C", "model")
    dash.close()
