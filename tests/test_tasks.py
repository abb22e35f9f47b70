"""Combined experiments (``tasks=[...]``): one multi-task GP over every task, suggestions and
trials per task, the target task's best, the learned correlation, the file round trip."""

from __future__ import annotations

import json
import math
import warnings

import pytest

import axnb
from axnb.errors import ConfigurationMismatchError, CorruptFileError

PARAMS = [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0)]


def online(p: dict) -> float:
    return (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2


def simulator(p: dict) -> float:
    """A biased copy of the online function: the optimum shifted a little, values offset."""
    return (p["x"] - 0.35) ** 2 + (p["y"] - 0.65) ** 2 + 0.1


def _experiment(tmp_path, **kwargs) -> axnb.Experiment:
    return axnb.Experiment("policy", PARAMS, objective="r", tasks=["online", "simulator"],
                           seed=0, path=tmp_path, initial_trials=3, **kwargs)


def test_trials_carry_their_task_and_the_target_is_the_default(tmp_path):
    exp = _experiment(tmp_path)
    t = exp.suggest(task="simulator")
    assert t.task == "simulator"
    assert exp.suggest().task == "online"
    a = exp.attach({"x": 0.5, "y": 0.5}, result=0.3, task="simulator")
    assert a.task == "simulator" and exp.attach({"x": 0.1, "y": 0.1}).task == "online"
    frame = exp.to_dataframe()
    assert list(frame.columns[:4]) == ["index", "status", "source", "task"]
    assert list(frame["task"]) == ["simulator", "online", "simulator", "online"]
    assert "task" not in axnb.Experiment("plain2", PARAMS, objective="r",
                                         path=tmp_path).to_dataframe().columns
    assert [b.task for b in exp.suggest(n=2, task="simulator")] == ["simulator"] * 2
    with pytest.raises(ValueError, match="Unknown task 'real'.*'online'"):
        exp.suggest(task="real")
    with pytest.raises(ValueError, match="has no tasks"):
        axnb.Experiment("plain", PARAMS, objective="r", path=tmp_path).suggest(task="online")


@pytest.mark.parametrize("tasks", [["online"], ["a", "a"], "online", ["a", ""], [1, 2]])
def test_bad_tasks_are_refused(tmp_path, tasks):
    with pytest.raises(ValueError, match="tasks"):
        axnb.Experiment("bad", PARAMS, objective="r", tasks=tasks, path=tmp_path)
    assert not list(tmp_path.iterdir())


def test_one_model_learns_from_the_simulator(tmp_path):
    exp = _experiment(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to random points
        for _ in range(10):
            t = exp.suggest(task="simulator")
            exp.complete(t.index, simulator(t.parameters))
        for _ in range(5):
            t = exp.suggest()
            exp.complete(t.index, online(t.parameters))
    assert [t.source for t in exp.trials if t.task == "simulator"][-1] == "model"
    assert [t.source for t in exp.trials if t.task == "online"][-2:] == ["model", "model"]
    fitted = exp.engine.fit(exp.trials)
    assert type(fitted.bases["r"]).__name__ == "MultiTaskGP"
    assert fitted.data["r"].n == 5  # the target's data; the model has all 15
    corr = exp.summary()["task_correlation"]["r"]
    assert corr["online"]["online"] == 1.0 and corr["online"]["simulator"] > 0.5
    assert exp.summary()["tasks"] == {"online": 5, "simulator": 10}
    # best() is the target's: a better simulator value does not count
    exp.attach({"x": 0.3, "y": 0.7}, result=-5.0, task="simulator")
    _, values = exp.best()
    assert values["r"][0] > -1
    assert exp.predict([{"x": 0.3, "y": 0.7}])["r"][0][0] < 0.1


def test_target_suggestions_are_model_based_with_few_target_results(tmp_path):
    exp = _experiment(tmp_path)
    for p in ({"x": 0.1, "y": 0.2}, {"x": 0.8, "y": 0.9}, {"x": 0.5, "y": 0.5}):
        exp.attach(p, result=online(p))
    for k in range(12):
        p = {"x": (k % 4) / 3, "y": (k // 4) / 2}
        exp.attach(p, result=simulator(p), task="simulator")
    t = exp.suggest()
    assert t.source == "model" and t.task == "online"
    assert abs(t.parameters["x"] - 0.3) < 0.3 and abs(t.parameters["y"] - 0.7) < 0.3


def test_round_trip_and_resume(tmp_path):
    exp = _experiment(tmp_path)
    exp.attach({"x": 0.2, "y": 0.3}, result=1.0, task="simulator")
    data = json.loads(exp.path.read_text())
    assert data["config"]["tasks"] == ["online", "simulator"]
    assert data["trials"][0]["task"] == "simulator"
    again = axnb.load(exp.path)
    assert again.tasks == ["online", "simulator"] and again.trials[0].task == "simulator"
    with pytest.raises(ConfigurationMismatchError, match="tasks"):
        axnb.Experiment("policy", PARAMS, objective="r", seed=0, path=tmp_path,
                        initial_trials=3)
    plain = axnb.Experiment("plain", PARAMS, objective="r", path=tmp_path)
    plain.attach({"x": 0.2, "y": 0.3}, result=1.0)
    assert "task" not in json.loads(plain.path.read_text())["trials"][0]
    assert axnb.load(plain.path).trials[0].task is None


def test_a_trial_of_an_unknown_task_is_refused(tmp_path):
    exp = _experiment(tmp_path)
    exp.attach({"x": 0.2, "y": 0.3}, result=1.0, task="simulator")
    data = json.loads(exp.path.read_text())
    data["trials"][0]["task"] = "lab"
    exp.path.write_text(json.dumps(data))
    with pytest.raises(CorruptFileError, match="'lab' is not one of the experiment's tasks"):
        axnb.load(exp.path)


def test_every_plot_takes_a_task(tmp_path):
    exp = _experiment(tmp_path)
    for k in range(9):
        p = {"x": (k % 3) / 2, "y": (k // 3) / 2}
        exp.attach(p, result=simulator(p), task="simulator")
    for p in ({"x": 0.1, "y": 0.2}, {"x": 0.8, "y": 0.9}, {"x": 0.5, "y": 0.5},
              {"x": 0.3, "y": 0.6}):
        exp.attach(p, result=online(p))
    for task, n in (("online", 4), ("simulator", 9), (None, 4)):
        progress = exp.plot.progress(task=task)
        assert len(progress.data[0].x) == n  # that task's trials only
        cv = exp.plot.cross_validation(task=task)
        assert len(cv.data[1].x) == n
        for fig in (exp.plot.contour("x", "y", task=task), exp.plot.slice("x", task=task),
                    exp.plot.importance(task=task), exp.plot.parallel(task=task)):
            assert fig.data
    # the contour of each task is its own view of the model: the simulator's is offset by 0.1
    on = exp.plot.contour("x", "y", task="online").data[0].z
    sim = exp.plot.contour("x", "y", task="simulator").data[0].z
    import numpy as np

    assert abs(float(np.nanmean(np.asarray(sim) - np.asarray(on))) - 0.1) < 0.08
    with pytest.raises(ValueError, match="Unknown task"):
        exp.plot.progress(task="lab")


def test_related_campaigns_enter_as_extra_tasks(tmp_path):
    old = axnb.Experiment("last_year", [*PARAMS, axnb.Range("z", 0.0, 1.0)], objective="r",
                          seed=0, path=tmp_path)
    for k in range(12):
        p = {"x": (k % 4) / 3, "y": (k // 4) / 2, "z": 0.5}
        old.attach(p, result=simulator(p))
    old.attach({"x": 0.5, "y": 0.5, "z": 0.1}, result=None)  # running: not used
    space = [*PARAMS, axnb.Range("w", 0.0, 2.0)]
    exp = axnb.Experiment("this_year", space, objective="r", seed=0, path=tmp_path,
                          initial_trials=3, related=["last_year.axnb.json"])
    info = exp.summary()["related"][0]
    assert info["name"] == "last_year" and info["used"] == 12 and info["completed"] == 12
    assert info["dropped_parameters"] == ["z"] and info["held"] == {"w": 1.0}
    assert json.loads(exp.path.read_text())["config"]["related"] == ["last_year.axnb.json"]
    for p in ({"x": 0.1, "y": 0.2, "w": 1.0}, {"x": 0.8, "y": 0.9, "w": 0.5},
              {"x": 0.5, "y": 0.5, "w": 1.5}):
        exp.attach(p, result=online(p))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        t = exp.suggest()
    assert t.source == "model" and t.task is None
    assert len(exp.engine.fit(exp.trials).data["r"].trial_indices) == 3  # own data
    corr = exp.summary()["task_correlation"]["r"]
    assert set(corr) == {"this_year", "last_year"}
    assert len(exp.trials) == 4  # nothing copied into this experiment
    again = axnb.load(exp.path)
    assert [r.name for r in again.related] == ["last_year"]
    # a related file that is gone: an error when creating, a warning when reopening
    with pytest.raises(ValueError, match="cannot read"):
        axnb.Experiment("other", space, objective="r", path=tmp_path,
                        related=["nowhere.axnb.json"])
    old.path.rename(tmp_path / "moved.json")
    with pytest.warns(RuntimeWarning, match="left out of the model"):
        gone = axnb.load(exp.path)
    assert gone.summary()["related"][0]["used"] == 0


def test_the_dashboard_picks_a_task(tmp_path):
    exp = _experiment(tmp_path)
    for k in range(9):
        p = {"x": (k % 3) / 2, "y": (k // 3) / 2}
        exp.attach(p, result=simulator(p), task="simulator")
    for p in ({"x": 0.1, "y": 0.2}, {"x": 0.8, "y": 0.9}, {"x": 0.5, "y": 0.5}):
        exp.attach(p, result=online(p))
    dash = exp.dashboard()
    try:
        dash.refresh()
        assert list(dash.task.options) == ["online", "simulator"]
        assert dash.task.value == "online"
        assert len(dash.figures["progress"].data[0].x) == 3
        online_z = dash.figures["contour"].data[0].z
        dash.task.value = "simulator"  # the contour, slice and progress tabs follow
        dash.refresh()
        assert len(dash.figures["progress"].data[0].x) == 9
        import numpy as np

        assert not np.array_equal(np.asarray(dash.figures["contour"].data[0].z, dtype=float),
                                  np.asarray(online_z, dtype=float))
        header = [h for h in dash.figures["trials"].data[0].header.values]
        assert any("task" in h for h in header)
    finally:
        dash.close()


def test_each_task_has_its_own_noise(tmp_path, monkeypatch):
    import numpy as np

    from axnb.engine import strategy

    monkeypatch.setattr(strategy, "TASK_SELECTION", None)  # always the multi-task views
    exp = _experiment(tmp_path)
    rng = np.random.default_rng(0)
    for k in range(16):
        p = {"x": (k % 4) / 3, "y": (k // 4) / 3}
        exp.attach(p, result=simulator(p) + float(rng.normal(0, 0.05)), task="simulator")
    for p in ({"x": 0.1, "y": 0.2}, {"x": 0.8, "y": 0.9}, {"x": 0.5, "y": 0.5},
              {"x": 0.3, "y": 0.6}, {"x": 0.6, "y": 0.3}):
        exp.attach(p, result=online(p))
    online_view = exp.engine.fit(exp.trials)
    sim_view = exp.engine.fit(exp.trials, task="simulator")
    noise = online_view.models["r"].likelihood.noise.detach().reshape(-1)
    if noise.numel() < 2:
        pytest.skip("this BoTorch's MultiTaskGP has one noise for all tasks")
    assert online_view.noise_fraction("r") == pytest.approx(float(noise[0]))
    assert sim_view.noise_fraction("r") == pytest.approx(float(noise[1]))
    assert sim_view.noise_fraction("r") > online_view.noise_fraction("r")


def _unrelated(p: dict) -> float:
    return math.sin(9 * p["x"]) * math.cos(7 * p["y"])


ONLINE_POINTS = ({"x": 0.1, "y": 0.2}, {"x": 0.8, "y": 0.9}, {"x": 0.5, "y": 0.5},
                 {"x": 0.3, "y": 0.6}, {"x": 0.6, "y": 0.3}, {"x": 0.2, "y": 0.8})


def _with_offline(tmp_path, name: str, other) -> axnb.Experiment:
    exp = axnb.Experiment(name, PARAMS, objective="r", tasks=["online", "offline"], seed=0,
                          path=tmp_path)
    for k in range(16):
        p = {"x": (k % 4) / 3, "y": (k // 4) / 3}
        exp.attach(p, result=other(p), task="offline")
    for p in ONLINE_POINTS:
        exp.attach(p, result=online(p))
    return exp


def test_the_target_uses_only_its_own_results_when_the_offline_task_is_unrelated(tmp_path):
    picks = {}
    for name, other in (("related", simulator), ("unrelated", _unrelated)):
        exp = _with_offline(tmp_path, name, other)
        model = exp.engine.fit(exp.trials).models["r"]
        picks[name] = "multi-task view" if hasattr(model, "base") else "own GP"
        assert exp.summary()["target_model"] == {
            "r": "all tasks" if name == "related" else "own results"}
    assert picks == {"related": "multi-task view", "unrelated": "own GP"}


def test_an_unrelated_task_leaves_the_target_suggestions_unchanged(tmp_path):
    """With an uninformative offline task the target's suggestions are a plain experiment's
    (same seed, same target results): the offline data do not drag them."""
    exp = _with_offline(tmp_path, "tasks", _unrelated)
    plain = axnb.Experiment("plain", PARAMS, objective="r", seed=0, path=tmp_path)
    for p in ONLINE_POINTS:
        plain.attach(p, result=online(p))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to random points
        ours = [t.parameters for t in exp.suggest(n=2)]
        theirs = [t.parameters for t in plain.suggest(n=2)]
    assert ours == theirs
    assert [t.task for t in exp.trials[-2:]] == ["online", "online"]


def test_task_selection_by_loo_picks_the_own_gp_for_an_unrelated_task(tmp_path, monkeypatch):
    from axnb.engine import strategy

    monkeypatch.setattr(strategy, "TASK_SELECTION", "loo")  # the former criterion
    picks = {}
    for name, other in (("related", simulator), ("unrelated", _unrelated)):
        exp = _with_offline(tmp_path, name, other)
        model = exp.engine.fit(exp.trials).models["r"]
        picks[name] = "multi-task view" if hasattr(model, "base") else "own GP"
    assert picks == {"related": "multi-task view", "unrelated": "own GP"}
