"""Excluding, including and correcting finished trials (exp.exclude / include / correct):
what the model, best() and the file see, the history kept, and the errors."""

import json
import math

import pytest

import axnb

SPACE = [axnb.Range("x", 0.0, 1.0)]


def campaign(tmp_path, name="amend", **kw):
    exp = axnb.Experiment(name, SPACE, objective="y", path=tmp_path, seed=0, **kw)
    for x in (0.1, 0.3, 0.5, 0.7, 0.9):
        exp.attach({"x": x}, result=(x - 0.6) ** 2)
    return exp


def test_an_excluded_trial_leaves_best_and_the_model_and_comes_back_on_include(tmp_path):
    exp = campaign(tmp_path)
    outlier = exp.attach({"x": 0.2}, result=-5.0)  # a faulty reading, far below the rest
    assert exp.best()[0] == {"x": 0.2}
    t = exp.exclude(outlier.index, reason="sensor fault")
    assert t.excluded and t.status == "completed" and t.result == {"y": (-5.0, None)}
    assert exp.best()[0] == {"x": 0.5}
    assert exp.summary()["excluded"] == 1 and exp.summary()["best_observed"] == pytest.approx(0.01)
    assert "1 excluded" in repr(exp)
    # the model ignores it: its prediction at 0.2 is nowhere near -5
    mean = exp.predict({"x": 0.2})["y"][0][0]
    assert mean > -1.0
    back = exp.include(outlier.index, reason="the sensor was fine")
    assert not back.excluded and exp.best()[0] == {"x": 0.2}
    assert [c.action for c in back.history] == ["excluded", "included"]
    assert [c.reason for c in back.history] == ["sensor fault", "the sensor was fine"]


def test_suggestions_do_not_use_excluded_results(tmp_path):
    exp = campaign(tmp_path, initial_trials=3)
    # a wrong "optimum" at 0.05: while it counts the model is pulled towards it
    wrong = exp.attach({"x": 0.05}, result=-10.0)
    exp.exclude(wrong.index)
    t = exp.suggest()
    assert abs(t.parameters["x"] - 0.6) < 0.25, t.parameters


def test_a_correction_keeps_the_earlier_result_in_the_history(tmp_path):
    exp = campaign(tmp_path)
    t = exp.correct(2, 0.42, reason="re-measured")
    assert t.result == {"y": (0.42, None)} and not t.excluded
    (change,) = t.history
    assert change.action == "corrected" and change.reason == "re-measured"
    assert math.isclose(change.result["y"][0], 0.01)
    assert change.at is not None
    assert exp.to_dataframe().loc[2, "y"] == 0.42
    corrected_again = exp.correct(2, (0.40, 0.02), reason="third look")
    assert [c.result["y"][0] for c in corrected_again.history] == pytest.approx([0.01, 0.42])
    history = exp.history
    assert [(h["trial"], h["action"], h["reason"]) for h in history] == [
        (2, "corrected", "re-measured"), (2, "corrected", "third look")]
    assert history[0]["result"]["y"][0] == pytest.approx(0.01)


def test_everything_survives_a_reload_and_the_file_says_it(tmp_path):
    exp = campaign(tmp_path)
    exp.exclude(1, reason="pump leak")
    exp.correct(3, 0.5, reason="typo")
    raw = json.loads(exp.path.read_text())
    assert raw["trials"][1]["excluded"] is True
    assert raw["trials"][1]["history"][0]["action"] == "excluded"
    assert raw["trials"][3]["history"][0]["result"]["y"][0] == pytest.approx(0.01)
    assert "excluded" not in raw["trials"][0] and "history" not in raw["trials"][0]
    again = axnb.load(exp.path)
    assert again.trial(1).excluded and again.trial(3).result == {"y": (0.5, None)}
    assert again.trial(1).history == exp.trial(1).history
    assert again.history == exp.history
    assert again.best() == exp.best()


def test_a_second_kernel_sees_the_exclusion(tmp_path):
    exp = campaign(tmp_path)
    other = axnb.load(exp.path)
    exp.exclude(4, reason="bad batch")
    assert other.trial(4).excluded
    assert other.summary()["excluded"] == 1


def test_repeating_an_exclusion_or_correction_changes_nothing(tmp_path):
    exp = campaign(tmp_path)
    exp.exclude(0, reason="x")
    before = exp.path.read_bytes()
    assert exp.exclude(0, reason="x").excluded
    exp.include(2)  # not excluded: nothing to undo
    exp.correct(3, exp.trial(3).result["y"][0])  # the same result
    assert exp.path.read_bytes() == before
    assert len(exp.history) == 1


def test_dataframe_shows_the_excluded_column_only_once_used(tmp_path):
    exp = campaign(tmp_path)
    assert "excluded" not in exp.to_dataframe().columns
    exp.exclude(1)
    frame = exp.to_dataframe()
    assert frame["excluded"].tolist() == [False, True, False, False, False]


def test_only_completed_trials_can_be_amended(tmp_path):
    exp = campaign(tmp_path)
    running = exp.attach({"x": 0.4})
    failed = exp.attach({"x": 0.45})
    exp.fail(failed.index, reason="crash")
    before = exp.path.read_bytes()
    with pytest.raises(axnb.TrialError, match=r"Cannot exclude trial 5: it is running.*"
                                              r"exp\.complete"):
        exp.exclude(running.index)
    with pytest.raises(axnb.TrialError, match="Cannot correct trial 6: it is failed"):
        exp.correct(failed.index, 1.0)
    with pytest.raises(axnb.TrialError, match="Unknown trial 99"):
        exp.include(99)
    with pytest.raises(ValueError, match="must be finite"):
        exp.correct(0, float("nan"))
    assert exp.path.read_bytes() == before


def test_excluding_every_trial_gives_a_clear_error(tmp_path):
    exp = axnb.Experiment("solo", SPACE, objective="y", path=tmp_path)
    exp.attach({"x": 0.5}, result=1.0)
    exp.exclude(0)
    with pytest.raises(axnb.TrialError, match=r"Every completed trial.*excluded.*exp\.include"):
        exp.best()
    assert exp.summary()["best_observed"] is None


def test_the_start_design_still_counts_excluded_trials_as_tried(tmp_path):
    """Excluding data does not bring back the start phase's points: the trial was run."""
    exp = axnb.Experiment("start", SPACE, objective="y", path=tmp_path, seed=1,
                          initial_trials=4)
    for _ in range(4):
        t = exp.suggest()
        exp.complete(t.index, t.parameters["x"])
    exp.exclude(0)
    # 3 usable results: the model phase needs 4, so the next point is a start point again
    t = exp.suggest()
    assert t.source in ("init", "fallback")


def test_a_tampered_history_is_refused_naming_the_field(tmp_path):
    exp = campaign(tmp_path)
    exp.correct(1, 0.3, reason="r")
    data = json.loads(exp.path.read_text())
    data["trials"][1]["history"][0]["action"] = "deleted"
    exp.path.write_text(json.dumps(data))
    before = exp.path.read_bytes()
    with pytest.raises(axnb.CorruptFileError, match=r"trial 1, field 'history\[0\]\.action'"):
        axnb.load(exp.path)
    data["trials"][1]["history"][0]["action"] = "corrected"
    data["trials"][1]["excluded"] = "yes"
    exp.path.write_text(json.dumps(data))
    with pytest.raises(axnb.CorruptFileError, match=r"trial 1, field 'excluded'"):
        axnb.load(exp.path)
    assert before != exp.path.read_bytes()  # (rewritten by the test, not by axnb)


def test_events_are_sent_for_each_change(tmp_path):
    exp = campaign(tmp_path)
    seen = []
    exp.subscribe(lambda event, trials: seen.append((event, [t.index for t in trials])))
    exp.exclude(0)
    exp.include(0)
    exp.correct(1, 0.2)
    assert seen == [("exclude", [0]), ("include", [0]), ("correct", [1])]
