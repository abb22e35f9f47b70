"""The human-in-the-loop panel, driven through its exposed parts as a user would click it."""

from __future__ import annotations

import json
import threading

import ipywidgets as widgets
import pytest

import axnb


@pytest.fixture
def exp(tmp_path):
    return axnb.Experiment(
        "hitl",
        [
            axnb.Range("x", 0.0, 1.0),
            axnb.Int("n", 1, 5),
            axnb.Choice("opt", ["adam", "sgd"]),
            axnb.Fixed("epochs", 3),
        ],
        constraints=["x + n <= 5.5"],
        objective="loss",
        path=tmp_path,
        seed=0,
    )


def saved(exp):
    return json.loads(exp.path.read_text())["trials"]


def is_error(panel):
    return "axnb-error" in panel.message.value


def test_fields_are_typed_and_bounded(exp):
    panel = exp.panel()
    x, n, opt, epochs = (panel.fields[k] for k in ("x", "n", "opt", "epochs"))
    assert isinstance(x, widgets.FloatText) and (x.min, x.max) == (0.0, 1.0)
    assert isinstance(n, widgets.IntText) and (n.min, n.max) == (1, 5)
    assert isinstance(opt, widgets.Dropdown) and list(opt.options) == [
        ("adam", "adam"),
        ("sgd", "sgd"),
    ]
    assert epochs.disabled and epochs.value == 3
    x.value = 7.0  # bounds are enforced by the field itself
    assert x.value == 1.0
    assert set(panel.result_fields) == {"loss"}
    panel.close()


def test_suggest_is_a_preview_and_accept_creates_the_suggested_trial(exp):
    panel = exp.panel()
    panel.suggest_button.click()
    shown = panel.suggestion
    assert shown is not None and not is_error(panel)
    assert exp.trials == [] and saved(exp) == []  # nothing created by Suggest
    assert {k: panel.fields[k].value for k in shown} == shown

    panel.accept_button.click()
    (t,) = exp.trials
    assert t.status == "running" and t.source == "init" and t.parameters == shown
    assert panel.running.value == t.index and panel.suggestion is None
    assert saved(exp)[0]["parameters"] == shown

    panel.result_fields["loss"].value = 0.5
    panel.result_fields["loss"].sem = 0.1
    panel.complete_button.click()
    assert exp.trial(0).result == {"loss": (0.5, 0.1)}
    assert saved(exp)[0]["status"] == "completed" and saved(exp)[0]["result"] == {
        "loss": [0.5, 0.1]
    }
    assert panel.running.value is None and panel.result_fields["loss"].value is None
    panel.close()


def test_accept_of_edited_values_attaches_them_as_manual(exp):
    panel = exp.panel()
    panel.suggest_button.click()
    panel.fields["x"].value = 0.125
    panel.fields["opt"].value = "sgd"
    panel.accept_button.click()
    (t,) = exp.trials  # no left-over suggested trial, nothing abandoned
    assert t.source == "manual" and t.status == "running"
    assert t.parameters["x"] == 0.125 and t.parameters["opt"] == "sgd"
    assert t.parameters["epochs"] == 3
    panel.close()


def test_accept_after_the_experiment_changed_shows_a_fresh_suggestion(exp):
    panel = exp.panel()
    panel.suggest_button.click()
    first = panel.suggestion
    exp.attach({"x": 0.2, "n": 2, "opt": "adam"}, result=1.0)  # e.g. another kernel
    panel.accept_button.click()
    assert len(exp.trials) == 1  # nothing created by that Accept
    assert is_error(panel) and "changed" in panel.message.value
    fresh = panel.suggestion
    assert fresh is not None and fresh != first
    panel.accept_button.click()
    assert len(exp.trials) == 2 and exp.trials[1].parameters == fresh
    panel.close()


def test_fail_and_attach(exp):
    panel = exp.panel()
    panel.suggest_button.click()
    panel.accept_button.click()
    panel.reason.value = "OOM"
    panel.fail_button.click()
    assert exp.trial(0).status == "failed" and exp.trial(0).reason == "OOM"

    panel.fields["x"].value = 0.75
    panel.fields["n"].value = 2
    panel.fields["opt"].value = "adam"
    panel.result_fields["loss"].value = 2.5
    panel.attach_button.click()
    t = exp.trial(1)
    assert t.status == "completed" and t.source == "manual" and t.result == {"loss": (2.5, None)}
    assert saved(exp)[1]["parameters"] == {"x": 0.75, "n": 2, "opt": "adam", "epochs": 3}

    panel.attach_button.click()  # no result: attached as running and selected
    assert exp.trial(2).status == "running" and panel.running.value == 2
    panel.close()


@pytest.mark.parametrize(
    "mistake",
    ["constraint", "not_a_number", "sem_only", "no_selection", "nothing_to_accept", "empty_result"],
)
def test_invalid_input_shows_a_message_and_changes_nothing(exp, mistake):
    panel = exp.panel()
    exp.attach({"x": 0.1, "n": 1, "opt": "adam"})  # one running trial to act on
    before = exp.path.read_bytes()
    if mistake == "constraint":
        panel.fields["x"].value, panel.fields["n"].value = 1.0, 5  # x + n <= 5.5 violated
        panel.attach_button.click()
    elif mistake == "not_a_number":
        panel.mean_fields["loss"].value = "abc"
        panel.complete_button.click()
    elif mistake == "sem_only":
        panel.sem_fields["loss"].value = "0.1"
        panel.complete_button.click()
    elif mistake == "no_selection":
        panel.running.value = None
        panel.result_fields["loss"].value = 1.0
        panel.complete_button.click()
    elif mistake == "nothing_to_accept":
        panel.accept_button.click()
    elif mistake == "empty_result":
        panel.complete_button.click()
    assert is_error(panel), panel.message.value
    assert exp.path.read_bytes() == before
    assert [t.status for t in exp.trials] == ["running"]
    panel.close()


def test_follows_changes_from_other_threads_and_close_unsubscribes(exp):
    panel = axnb.widgets.Panel(exp, interval=0.05)
    t = threading.Thread(target=lambda: exp.attach({"x": 0.3, "n": 1, "opt": "sgd"}))
    t.start()
    t.join()
    assert panel.wait_idle(10)
    assert panel.running.value == 0 and "1 running" in panel.title.value
    panel.close()
    exp.attach({"x": 0.4, "n": 1, "opt": "sgd"})
    assert panel.wait_idle(5)
    assert "1 running" in panel.title.value  # a closed panel no longer follows


def test_reopening_the_panel_loses_nothing(exp):
    panel = exp.panel()
    panel.suggest_button.click()
    panel.accept_button.click()
    panel.close()
    again = axnb.load(exp.path).panel()
    assert again.running.value == 0  # the running trial is in the file, so it is listed
    again.result_fields["loss"].value = 3.0
    again.complete_button.click()
    assert axnb.load(exp.path).trial(0).result == {"loss": (3.0, None)}
    again.close()


def test_multi_metric_results(tmp_path):
    exp = axnb.Experiment(
        "mo",
        [axnb.Range("x", 0, 1), axnb.Range("y", 0, 1)],
        objectives={"acc": "max", "lat": "min"},
        outcome_constraints=["mem <= 3"],
        path=tmp_path,
        seed=0,
    )
    panel = exp.panel()
    assert list(panel.result_fields) == ["acc", "lat", "mem"]
    panel.result_fields["acc"].value = 0.9
    panel.attach_button.click()
    assert is_error(panel) and exp.trials == []  # every metric is needed
    panel.result_fields["lat"].value = 12.0
    panel.result_fields["mem"].value = 2.0
    panel.attach_button.click()
    assert exp.trial(0).result == {"acc": (0.9, None), "lat": (12.0, None), "mem": (2.0, None)}
    panel.close()


# ------------------------------------------------------------------ what a browser showed
def test_a_value_typed_out_of_bounds_is_clamped_and_the_panel_says_so(exp):
    panel = exp.panel()
    n = panel.fields["n"]
    n.value = 5
    n.set_state({"value": 99})  # typed in the browser, which does not clamp it silently
    assert n.value == 5 and is_error(panel)
    assert "n: 99 is above the largest value allowed (5)" in panel.message_text
    assert "bounds" not in n.get_state() and "max" not in n.get_state()  # the kernel clamps
    panel.fields["x"].value = -2.5
    assert panel.fields["x"].value == 0.0 and "x: -2.5 is below the smallest" in (
        panel.message_text)
    panel.close()


def test_a_double_click_on_accept_keeps_the_trial_and_raises_no_error(exp):
    panel = exp.panel()
    panel.suggest_button.click()
    panel.accept_button.click()
    assert not is_error(panel) and "Accepted: trial 0" in panel.message_text
    panel.accept_button.click()  # the second click of a double click
    assert not is_error(panel), panel.message_text
    assert "nothing left to accept" in panel.message_text and len(exp.trials) == 1
    panel.result_fields["loss"].value = 0.5
    panel.complete_button.click()
    panel.accept_button.click()
    assert not is_error(panel) and "click Suggest for the next point" in panel.message_text
    panel.close()


def test_suggested_floats_are_shown_short_and_accepted_exactly(tmp_path):
    exp = axnb.Experiment("short", [axnb.Range("lr", 1e-4, 1e-1, log=True)], objective="loss",
                          path=tmp_path, seed=0)
    panel = exp.panel()
    panel.suggest_button.click()
    lr = panel.suggestion["lr"]
    field = panel.fields["lr"]
    assert len(repr(lr)) > 12  # a float with many digits ...
    shown = field.get_state("value")["value"]  # ... as the browser shows it
    assert shown == float(f"{lr:.6g}") and len(repr(shown)) <= 12
    assert f"lr = {lr:.6g}" in panel.message_text
    assert field.value == lr
    panel.accept_button.click()
    assert exp.trials[0].parameters["lr"] == lr and exp.trials[0].source != "manual"
    # the value retyped as shown is still the suggestion, not an edit
    panel.result_fields["loss"].value = 1.0
    panel.complete_button.click()
    panel.suggest_button.click()
    lr = panel.suggestion["lr"]
    field.set_state({"value": field.get_state("value")["value"]})
    panel.accept_button.click()
    assert exp.trials[1].parameters["lr"] == lr and exp.trials[1].source != "manual"
    panel.close()


def test_message_text_is_plain_and_the_result_fields_speak_plainly(exp):
    panel = exp.panel()
    panel.accept_button.click()
    assert panel.message_text.startswith("Nothing to accept: click Suggest first")
    assert "<" not in panel.message_text and "&#" not in panel.message_text
    sem = panel.sem_fields["loss"]
    assert "sem" not in sem.placeholder and "standard error" in sem.placeholder
    panel.close()


def test_suggest_says_it_is_working_before_the_engine_starts(exp, monkeypatch):
    """The first Suggest imports torch and fits a model (seconds): the panel says so first,
    and its buttons are disabled meanwhile."""
    panel = exp.panel()
    engine = exp.engine
    seen = []
    real = engine.suggest

    def suggest(*args, **kwargs):
        seen.append((panel.message_text, panel.suggest_button.disabled))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "suggest", suggest)
    panel.suggest_button.click()
    assert seen == [("Suggesting… (fitting the model can take a few seconds)", True)]
    assert not panel.suggest_button.disabled
    panel.close()
