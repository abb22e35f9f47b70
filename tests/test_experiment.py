"""The experiment model: trials, statuses, results, data frame, persistence on every change."""

import json

import numpy as np
import pytest
import torch

import axnb


def make(tmp_path, **kw):
    kw.setdefault("objective", "loss")
    return axnb.Experiment(
        kw.pop("name", "exp"),
        [axnb.Range("x1", -10, 10), axnb.Range("x2", -10, 10)],
        path=tmp_path, **kw,
    )


def file_trials(exp):
    return json.loads(exp.path.read_text())["trials"]


def test_default_path_is_next_to_the_notebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = axnb.Experiment("booth", [axnb.Range("x", 0, 1)])
    assert exp.path == tmp_path / "booth.axnb.json"
    assert exp.path.exists()


def test_attach_complete_fail_abandon_lifecycle(tmp_path):
    exp = make(tmp_path)
    t0 = exp.attach({"x1": 1.0, "x2": 3.0}, result={"loss": 0.0})
    assert (t0.index, t0.status, t0.source, t0.result) == (0, "completed", "manual",
                                                           {"loss": (0.0, None)})
    assert t0.created_at is not None and t0.completed_at is not None
    t1 = exp.attach({"x1": 2.0, "x2": 2.0})
    assert t1.status == "running" and t1.result is None and t1.completed_at is None
    exp.complete(t1.index, (1.5, 0.1))
    assert t1.status == "completed" and t1.result == {"loss": (1.5, 0.1)}
    t2 = exp.attach({"x1": 0.0, "x2": 0.0})
    exp.fail(t2.index, reason="OOM")
    assert t2.status == "failed" and t2.reason == "OOM"
    t3 = exp.attach({"x1": 0.0, "x2": 1.0})
    exp.abandon(t3)
    assert t3.status == "abandoned"
    assert [t.status for t in exp.trials] == ["completed", "completed", "failed", "abandoned"]
    assert [t["status"] for t in file_trials(exp)] == [t.status for t in exp.trials]


@pytest.mark.parametrize(
    "value, expected",
    [
        (1.25, {"loss": (1.25, None)}),
        (3, {"loss": (3.0, None)}),
        ((1.0, 0.5), {"loss": (1.0, 0.5)}),
        ([1.0, None], {"loss": (1.0, None)}),
        ({"loss": 2.0}, {"loss": (2.0, None)}),
        ({"loss": (2.0, 0.1)}, {"loss": (2.0, 0.1)}),
        (np.float32(0.5), {"loss": (0.5, None)}),
        (np.float64(0.5), {"loss": (0.5, None)}),
        (np.array(0.5), {"loss": (0.5, None)}),
        (torch.tensor(0.5, dtype=torch.float64), {"loss": (0.5, None)}),
        ((np.float64(1.0), torch.tensor(0.25)), {"loss": (1.0, 0.25)}),
        ({"loss": 1.0, "extra": 2.0}, {"loss": (1.0, None), "extra": (2.0, None)}),
    ],
)
def test_complete_accepts_every_result_form(tmp_path, value, expected):
    exp = make(tmp_path)
    t = exp.attach({"x1": 0, "x2": 0})
    exp.complete(t.index, value)
    assert t.result == expected
    assert all(type(m) is float for m, _ in t.result.values())


@pytest.mark.parametrize(
    "value, needle",
    [
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("1.0", "number"),
        ((1.0, -0.1), "negative"),
        ((1.0, 2.0, 3.0), "mean, sem"),
        ({"other": 1.0}, "lacks metric"),
        (np.array([1.0, 2.0, 3.0]), "shape"),
        (None, "number"),
    ],
)
def test_bad_results_raise_and_change_nothing(tmp_path, value, needle):
    exp = make(tmp_path)
    t = exp.attach({"x1": 0, "x2": 0})
    before = exp.path.read_bytes()
    with pytest.raises(axnb.TrialError, match=needle) as info:
        exp.complete(t.index, value)
    assert isinstance(info.value, ValueError)
    assert t.status == "running" and exp.path.read_bytes() == before


def test_invalid_trial_operations(tmp_path):
    exp = make(tmp_path)
    t = exp.attach({"x1": 0, "x2": 0}, result=1.0)
    before = exp.path.read_bytes()
    with pytest.raises(axnb.TrialError, match="already|completed once"):
        exp.complete(t.index, 2.0)
    with pytest.raises(axnb.TrialError, match="Unknown trial 7"):
        exp.complete(7, 1.0)
    with pytest.raises(axnb.TrialError, match="Unknown trial -1"):
        exp.fail(-1)
    with pytest.raises(axnb.TrialError, match="int"):
        exp.complete("0", 1.0)
    with pytest.raises(axnb.TrialError, match="completed"):
        exp.fail(t.index)
    f = exp.attach({"x1": 1, "x2": 1})
    exp.fail(f.index)
    before = exp.path.read_bytes()
    with pytest.raises(axnb.TrialError, match="failed"):
        exp.complete(f.index, 1.0)
    with pytest.raises(axnb.TrialError, match="failed"):
        exp.abandon(f.index)
    assert exp.path.read_bytes() == before
    assert t.result == {"loss": (1.0, None)}


def test_several_metrics_need_a_dict(tmp_path):
    exp = make(tmp_path, objective=None, objectives={"acc": "max", "lat": "min"},
               outcome_constraints=["mem <= 4"])
    assert exp.metrics == ["acc", "lat", "mem"]
    t = exp.attach({"x1": 0, "x2": 0})
    with pytest.raises(axnb.TrialError, match="several metrics"):
        exp.complete(t.index, 1.0)
    with pytest.raises(axnb.TrialError, match="lacks metric"):
        exp.complete(t.index, {"acc": 1.0, "lat": 2.0})
    exp.complete(t.index, {"acc": 0.9, "lat": (2.0, 0.1), "mem": 3})
    assert t.result == {"acc": (0.9, None), "lat": (2.0, 0.1), "mem": (3.0, None)}


@pytest.mark.parametrize(
    "kw, needle",
    [
        ({"objective": "a", "objectives": {"b": "max"}}, "not both"),
        ({"objective": None, "objectives": {"b": "up"}}, "'min' or 'max'"),
        ({"objective": None, "objectives": {}}, "non-empty"),
        ({"objective": "bad name"}, "identifier"),
        ({"outcome_constraints": ["loss <= 1"]}, "objective"),
        ({"outcome_constraints": ["x1 <= 1"]}, "parameter"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"initial_trials": "5"}, "initial_trials"),
        ({"name": "a/b"}, "path separator"),
        ({"name": ""}, "non-empty"),
    ],
)
def test_bad_experiment_arguments(tmp_path, kw, needle):
    with pytest.raises(ValueError, match=needle):
        make(tmp_path, **kw)
    assert list(tmp_path.iterdir()) == []


def test_dataframe(tmp_path):
    exp = make(tmp_path)
    exp.attach({"x1": 1.0, "x2": 3.0}, result=(0.5, 0.1))
    exp.attach({"x1": 2.0, "x2": 3.0})
    df = exp.to_dataframe()
    assert list(df.columns[:5]) == ["index", "status", "source", "x1", "x2"]
    assert df["loss"].tolist()[0] == 0.5 and np.isnan(df["loss"].tolist()[1])
    assert df["loss_sem"].tolist()[0] == 0.1
    assert df["status"].tolist() == ["completed", "running"]


def test_dataframe_leaves_out_an_empty_reason_and_shows_times_to_the_second(tmp_path):
    exp = make(tmp_path)
    exp.attach({"x1": 1.0, "x2": 3.0}, result=0.5)  # sem unknown: NaN, the column stays
    exp.attach({"x1": 2.0, "x2": 3.0})
    df = exp.to_dataframe()
    assert list(df.columns) == ["index", "status", "source", "x1", "x2", "loss", "loss_sem",
                                "created_at", "completed_at"]
    assert all(t.microsecond == 0 for t in df["created_at"])
    full = exp.to_dataframe(full=True)  # every column, the times as recorded
    assert list(full.columns[-5:]) == ["loss", "loss_sem", "created_at", "completed_at",
                                       "reason"]
    assert full["created_at"][0] == exp.trial(0).created_at
    # the columns come back as soon as they hold something
    exp.attach({"x1": 3.0, "x2": 3.0}, result=(0.7, 0.1))
    exp.fail(1, reason="the rig broke")
    df = exp.to_dataframe()
    assert df["loss_sem"].tolist()[2] == 0.1 and df["reason"][1] == "the rig broke"


def test_dataframe_of_an_empty_experiment(tmp_path):
    df = make(tmp_path).to_dataframe()
    assert df.empty and list(df.columns) == ["index", "status", "source", "x1", "x2", "loss",
                                             "loss_sem", "created_at", "completed_at"]


def test_overwrite_with_the_same_configuration_starts_with_no_trials(tmp_path):
    """Run All twice on a notebook that passes overwrite=True: no trials pile up."""
    exp = make(tmp_path, seed=0, overwrite=True)
    exp.attach({"x1": 1.0, "x2": 3.0}, result=0.5)
    again = make(tmp_path, seed=0, overwrite=True)
    assert again.trials == [] and axnb.load(again.path).trials == []
    assert make(tmp_path, seed=0).trials == []  # and resuming finds the fresh one


def test_best_observed_when_noiseless(tmp_path):
    exp = make(tmp_path)
    with pytest.raises(axnb.TrialError, match="no completed trial"):
        exp.best()
    for x1, loss in [(1.0, 3.0), (2.0, 0.5), (3.0, 2.0)]:
        exp.attach({"x1": x1, "x2": 0.0}, result=loss)
    params, values = exp.best()
    assert params == {"x1": 2.0, "x2": 0.0}
    assert values["loss"][0] == pytest.approx(0.5, abs=1e-6)


def test_maximize_and_outcome_constraints_in_best(tmp_path):
    exp = make(tmp_path, objective="acc", minimize=False, outcome_constraints=["lat <= 10"])
    exp.attach({"x1": 1.0, "x2": 0.0}, result={"acc": 0.99, "lat": 50.0})
    exp.attach({"x1": 2.0, "x2": 0.0}, result={"acc": 0.90, "lat": 5.0})
    exp.attach({"x1": 3.0, "x2": 0.0}, result={"acc": 0.80, "lat": 1.0})
    params, _ = exp.best()
    assert params["x1"] == 2.0


def test_subscribe_notifies_changes(tmp_path):
    exp = make(tmp_path)
    seen = []
    unsubscribe = exp.subscribe(
        lambda event, trials: seen.append((event, [t.index for t in trials]))
    )
    t = exp.attach({"x1": 0, "x2": 0})
    exp.complete(t.index, 1.0)
    unsubscribe()
    exp.attach({"x1": 1, "x2": 1})
    assert seen == [("attach", [0]), ("complete", [0])]


def test_broken_listener_does_not_break_the_experiment(tmp_path):
    exp = make(tmp_path)
    exp.subscribe(lambda e, t: 1 / 0)
    with pytest.warns(UserWarning, match="listener"):
        exp.attach({"x1": 0, "x2": 0}, result=1.0)
    assert exp.trials[0].status == "completed"


def test_predict_returns_plain_floats_per_metric(tmp_path):
    exp = make(tmp_path, seed=0)
    for x1 in (-5.0, 0.0, 5.0):
        exp.attach({"x1": x1, "x2": 1.0}, result=x1**2)
    with pytest.raises(axnb.InvalidParameterError):
        exp.predict([{"x1": 99.0, "x2": 0.0}])
    means, sems = exp.predict([{"x1": 0.0, "x2": 1.0}, {"x1": 5.0, "x2": 1.0}])["loss"]
    assert all(type(v) is float for v in [*means, *sems])
    assert means[1] > means[0] and all(s >= 0 for s in sems)
    assert set(exp.predict({"x1": 1.0, "x2": 1.0})) == {"loss"}
