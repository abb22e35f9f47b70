"""Changing the search space mid-campaign (exp.change_parameters): bounds, new and removed
parameters, choice values, log scale; trials outside the new space; the file's revisions;
re-running the original cell; a second kernel."""

import json

import pytest

import axnb

ORIGINAL = [axnb.Range("lr", 0.01, 0.1), axnb.Choice("opt", ["adam", "sgd"])]


def campaign(tmp_path, name="course", n=6):
    exp = axnb.Experiment(name, ORIGINAL, objective="loss", path=tmp_path, seed=0)
    for k in range(n):
        lr = 0.01 + 0.015 * k
        exp.attach({"lr": lr, "opt": "adam" if k % 2 else "sgd"}, result=(lr - 0.05) ** 2)
    return exp


def test_widening_a_bound_keeps_every_trial_and_suggests_in_the_new_range(tmp_path):
    exp = campaign(tmp_path)
    what = exp.change_parameters([axnb.Range("lr", 0.001, 0.1),
                                  axnb.Choice("opt", ["adam", "sgd"])], reason="go lower")
    assert what == ["'lr': bounds [0.01, 0.1] -> [0.001, 0.1]"]
    assert exp.space["lr"].low == 0.001
    assert len(exp.trials) == 6 and not any(t.outside for t in exp.trials)
    t = exp.suggest()
    assert 0.001 <= t.parameters["lr"] <= 0.1
    exp.attach({"lr": 0.002, "opt": "sgd"}, result=0.5)  # valid only in the new space
    (h,) = exp.history
    assert h["action"] == "changed parameters" and h["reason"] == "go lower"
    assert "bounds" in h["what"] and h["trial"] is None


def test_narrowing_leaves_the_trials_outside_out_of_the_model(tmp_path):
    exp = campaign(tmp_path)
    exp.change_parameters([axnb.Range("lr", 0.03, 0.1), axnb.Choice("opt", ["adam", "sgd"])])
    outside = [t.index for t in exp.trials if t.outside]
    assert outside == [0, 1]  # lr 0.01 and 0.025
    assert exp.summary()["outside"] == 2
    assert "2 outside the space" in repr(exp)
    assert all(t.is_completed and not t.is_data for t in exp.trials[:2])
    frame = exp.to_dataframe()
    assert frame["outside"].tolist() == [True, True, False, False, False, False]
    # best() only among the trials in the space: 0.04 and 0.055 are the closest to 0.05
    assert exp.best()[0]["lr"] in (0.04, 0.055)
    assert 0.03 <= exp.suggest().parameters["lr"] <= 0.1
    with pytest.raises(axnb.InvalidParameterError):
        exp.attach({"lr": 0.01, "opt": "sgd"})


def test_adding_a_parameter_gives_earlier_trials_its_default(tmp_path):
    exp = campaign(tmp_path)
    with pytest.raises(axnb.InvalidParameterError, match=r"'dropout' is new.*defaults="):
        exp.change_parameters([*ORIGINAL, axnb.Range("dropout", 0.0, 0.5)])
    with pytest.raises(axnb.InvalidParameterError, match=r"defaults\['dropout'\]"):
        exp.change_parameters([*ORIGINAL, axnb.Range("dropout", 0.0, 0.5)],
                              defaults={"dropout": 0.9})
    with pytest.raises(axnb.InvalidParameterError, match="not new parameters"):
        exp.change_parameters([*ORIGINAL, axnb.Range("dropout", 0.0, 0.5)],
                              defaults={"dropout": 0.0, "lr": 0.1})
    assert exp.space.names == ["lr", "opt"]  # nothing changed by the refusals
    exp.change_parameters([*ORIGINAL, axnb.Range("dropout", 0.0, 0.5)],
                          defaults={"dropout": 0.0})
    assert all(t.parameters["dropout"] == 0.0 for t in exp.trials)
    assert not any(t.outside for t in exp.trials)
    t = exp.suggest()
    assert set(t.parameters) == {"lr", "opt", "dropout"}
    raw = json.loads(exp.path.read_text())
    assert raw["trials"][0]["parameters"]["dropout"] == 0.0
    assert raw["revisions"][0]["defaults"] == {"dropout": 0.0}


def test_removing_a_parameter_keeps_its_values_in_the_trials(tmp_path):
    exp = campaign(tmp_path)
    exp.change_parameters([axnb.Range("lr", 0.01, 0.1)])
    assert exp.trial(0).parameters["opt"] == "sgd"  # kept, not used by the model
    t = exp.suggest()
    assert set(t.parameters) == {"lr"}
    frame = exp.to_dataframe()
    assert list(frame.columns[:6]) == ["index", "status", "source", "outside", "lr", "opt"]
    again = axnb.load(exp.path)
    assert again.trial(0).parameters["opt"] == "sgd" and again.space.names == ["lr"]
    assert again.to_dataframe()["opt"].tolist()[:6] == ["sgd", "adam"] * 3


def test_adding_choice_values_and_switching_log_scale(tmp_path):
    exp = campaign(tmp_path)
    what = exp.change_parameters([axnb.Range("lr", 0.01, 0.1, log=True),
                                  axnb.Choice("opt", ["adam", "sgd", "lion"])])
    assert len(what) == 2 and any("log scale" in w for w in what)
    assert any("values" in w for w in what)
    exp.attach({"lr": 0.02, "opt": "lion"}, result=0.1)
    suggested = exp.suggest(n=3)
    assert all(s.parameters["opt"] in ("adam", "sgd", "lion") for s in suggested)
    # removing a choice value puts the trials that used it outside
    exp.change_parameters([axnb.Range("lr", 0.01, 0.1, log=True), axnb.Fixed("opt", "adam")])
    assert {t.parameters["opt"] for t in exp.trials if t.outside} == {"sgd", "lion"}


def test_the_change_is_saved_and_reloads(tmp_path):
    exp = campaign(tmp_path)
    exp.change_parameters([axnb.Range("lr", 0.03, 0.1), axnb.Choice("opt", ["adam", "sgd"])],
                          reason="the low end diverges")
    again = axnb.load(exp.path)
    assert again.space.to_dicts() == exp.space.to_dicts()
    assert [t.outside for t in again.trials] == [t.outside for t in exp.trials]
    assert again.history == exp.history
    assert again.history[0]["reason"] == "the low end diverges"
    raw = json.loads(exp.path.read_text())
    assert raw["config"]["parameters"][0]["bounds"] == [0.03, 0.1]
    assert raw["revisions"][0]["parameters"][0]["bounds"] == [0.01, 0.1]
    assert raw["revisions"][0]["trials"] == 6


def test_rerunning_the_original_cell_does_not_revert_the_change(tmp_path):
    exp = campaign(tmp_path)
    exp.change_parameters([axnb.Range("lr", 0.001, 0.1), axnb.Choice("opt", ["adam", "sgd"])])
    before = exp.path.read_bytes()
    with pytest.raises(axnb.ConfigurationMismatchError,
                       match=r"(?s)was changed with exp.change_parameters.*axnb\.load"):
        axnb.Experiment("course", ORIGINAL, objective="loss", path=tmp_path, seed=0)
    assert exp.path.read_bytes() == before
    # the cell with the current space resumes it
    same = axnb.Experiment("course", [axnb.Range("lr", 0.001, 0.1),
                                      axnb.Choice("opt", ["adam", "sgd"])],
                           objective="loss", path=tmp_path, seed=0)
    assert len(same.trials) == 6


def test_repeating_the_change_changes_nothing(tmp_path):
    exp = campaign(tmp_path)
    new = [axnb.Range("lr", 0.001, 0.1), axnb.Choice("opt", ["adam", "sgd"])]
    exp.change_parameters(new)
    before = exp.path.read_bytes()
    assert exp.change_parameters(new) == []
    assert exp.path.read_bytes() == before and len(exp.history) == 1


def test_a_second_kernel_follows_the_change(tmp_path):
    exp = campaign(tmp_path)
    other = axnb.load(exp.path)
    seen = []
    other.subscribe(lambda event, trials: seen.append(event))
    exp.change_parameters([axnb.Range("lr", 0.03, 0.1), axnb.Choice("opt", ["adam", "sgd"])])
    assert [t.outside for t in other.trials] == [True, True, False, False, False, False]
    assert other.space["lr"].low == 0.03
    assert "reload" in seen
    t = other.suggest()
    assert 0.03 <= t.parameters["lr"] <= 0.1
    exp.complete(t.index, 0.2)  # and the first kernel sees the second's trial
    assert exp.trial(t.index).is_completed


def test_constraints_must_fit_the_new_space(tmp_path):
    exp = axnb.Experiment("cons", [axnb.Range("a", 0, 1), axnb.Range("b", 0, 1)],
                          constraints=["a + b <= 1.5"], objective="y", path=tmp_path)
    exp.attach({"a": 0.9, "b": 0.5}, result=1.0)
    with pytest.raises(axnb.ConstraintError, match=r"constraints=\[\.\.\.\]"):
        exp.change_parameters([axnb.Range("a", 0, 1)])
    exp.change_parameters([axnb.Range("a", 0, 1), axnb.Range("b", 0, 1)],
                          constraints=["a + b <= 1"])
    assert exp.trial(0).outside  # 0.9 + 0.5 > 1
    exp.change_parameters([axnb.Range("a", 0, 1)], constraints=[])
    assert not exp.trial(0).outside


def test_a_tampered_revision_is_refused(tmp_path):
    exp = campaign(tmp_path)
    exp.change_parameters([axnb.Range("lr", 0.03, 0.1), axnb.Choice("opt", ["adam", "sgd"])])
    data = json.loads(exp.path.read_text())
    data["revisions"][0]["parameters"] = "lr"
    exp.path.write_text(json.dumps(data))
    with pytest.raises(axnb.CorruptFileError, match=r"revisions\[0\]\.parameters"):
        axnb.load(exp.path)
    # a trial value valid in no space the experiment ever had is refused too
    data = json.loads(exp.path.read_text())
    data["revisions"][0]["parameters"] = [p.to_dict() for p in ORIGINAL]
    data["trials"][0]["parameters"]["lr"] = 5.0
    exp.path.write_text(json.dumps(data))
    with pytest.raises(axnb.CorruptFileError, match=r"trial 0, field 'parameters\.lr'"):
        axnb.load(exp.path)
