"""The panel's bandit round section, driven through its exposed parts as a user would click it,
and the parsing of what a person types for an arm."""

from __future__ import annotations

import json
import math
import threading

import pytest

import axnb
from axnb.widgets.panel import format_arm_result, format_share, parse_arm_result

BUTTON = axnb.Choice("button", ["blue", "green", "red"])
COPY = axnb.Choice("copy", ["buy", "get"])


@pytest.fixture
def ab(tmp_path):
    return axnb.Experiment(
        "checkout", [BUTTON, COPY], objective="conversion", minimize=False, path=tmp_path, seed=1
    )


@pytest.fixture
def panel(ab):
    p = ab.panel()
    yield p
    p.close()


def is_error(panel):
    return "axnb-error" in panel.message.value


def statuses(exp):
    return [t.status for t in exp.trials]


def suggest_round(panel):
    panel.round_button.click()
    assert not is_error(panel), panel.message.value
    batch = max(t.batch for t in panel.experiment.trials)
    return [t for t in panel.experiment.trials if t.batch == batch]


# ------------------------------------------------------------------ when the section shows
def test_hidden_for_a_continuous_experiment(tmp_path):
    exp = axnb.Experiment("bo", [axnb.Range("x", 0.0, 1.0), COPY], objective="loss",
                          path=tmp_path, seed=0)
    panel = exp.panel()
    assert not panel.round_shown and panel.round_section.layout.display == "none"
    assert panel.arm_fields == {}
    assert panel.round_section in panel.children  # present but not displayed
    panel.close()


def test_hidden_for_a_discrete_multi_objective_experiment(tmp_path):
    exp = axnb.Experiment("mo", [BUTTON], objectives={"a": "max", "b": "min"}, path=tmp_path)
    panel = exp.panel()
    assert not panel.round_shown  # bandit rounds need one objective
    panel.close()


def test_shown_for_a_discrete_experiment_ready_to_start(tmp_path, panel):
    assert panel.round_shown and panel.round_section.layout.display is None
    assert "No round yet" in panel.round_title.value
    assert not panel.round_button.disabled and panel.complete_round_button.disabled
    assert panel.arm_fields == {} and panel.arm_labels == {}
    assert panel.round_button.description == "Suggest round"
    assert panel.complete_round_button.description == "Complete round"
    for part, css in [
        (panel.round_section, "axnb-round"),
        (panel.round_button, "axnb-round-suggest"),
        (panel.complete_round_button, "axnb-round-complete"),
        (panel.round_title, "axnb-round-title"),
        (panel.round_help, "axnb-round-help"),
    ]:
        assert css in part._dom_classes
    ints = axnb.Experiment("ints", [axnb.Int("n", 1, 3), axnb.Fixed("f", 2)], objective="y",
                           path=tmp_path)
    other = ints.panel()
    assert other.round_shown
    other.close()


# ------------------------------------------------------------------ suggest / complete
def test_suggest_round_creates_the_round_with_weights(ab, panel):
    arms = suggest_round(panel)
    assert len(arms) == 6 and len(ab.trials) == 6
    assert all(t.batch == 0 and t.status == "running" for t in arms)
    assert math.fsum(t.weight for t in arms) == pytest.approx(1.0)
    assert "Round 0 suggested: 6 arms" in panel.message.value
    assert list(panel.arm_fields) == [t.index for t in arms]
    assert set(panel.arm_labels) == set(panel.arm_fields)
    first = panel.arm_labels[0].value
    assert "blue · buy" in first and "16.7 %" in first and "running" in first
    for i, field in panel.arm_fields.items():
        assert not field.disabled and field.value == ""
        assert "52/1000" in field.placeholder and "±" in field.placeholder
        assert f"axnb-round-field-{i}" in field._dom_classes
        assert f"axnb-round-arm-{i}" in panel.arm_labels[i]._dom_classes
    # the current round has running arms: no next round yet
    assert panel.round_button.disabled and not panel.complete_round_button.disabled
    assert "Round 0" in panel.round_title.value and "6 running" in panel.round_title.value


def test_suggest_round_while_arms_run_is_refused_with_a_message(ab, panel):
    suggest_round(panel)
    before = ab.path.read_bytes()
    panel.round_button.click()  # click() runs the handler even on a disabled button
    assert is_error(panel) and "running" in panel.message.value
    assert ab.path.read_bytes() == before and len(ab.trials) == 6


def test_typed_results_complete_the_round(ab, panel):
    arms = suggest_round(panel)
    typed = ["52/1000", "0.045 ± 0.007", "0.06, 0.008", "0.04 +- 0.006", "(0.05, 0.007)",
             " 48 / 1000 "]
    for t, text in zip(arms, typed):
        panel.arm_fields[t.index].value = text
    panel.complete_round_button.click()
    assert not is_error(panel), panel.message.value
    assert "Round 0 completed: 6 arms" in panel.message.value
    assert statuses(ab) == ["completed"] * 6
    r = {t.index: t.result["conversion"] for t in ab.trials}
    assert r[0][0] == pytest.approx(0.052) and r[0][1] == pytest.approx(axnb.Rate(52, 1000).sem)
    assert ab.trial(0).counts == {"conversion": (52, 1000)}
    assert r[1] == (0.045, 0.007) and r[2] == (0.06, 0.008) and r[3] == (0.04, 0.006)
    assert r[4] == (0.05, 0.007) and ab.trial(5).counts == {"conversion": (48, 1000)}
    saved = json.loads(ab.path.read_text())["trials"]
    assert [d["status"] for d in saved] == ["completed"] * 6
    # the round is done: its fields are read-only and show what was recorded
    assert all(f.disabled for f in panel.arm_fields.values())
    assert panel.arm_fields[0].value == "52/1000"
    assert panel.arm_fields[1].value == "0.045 ± 0.007"
    assert "completed" in panel.arm_labels[0].value
    assert not panel.round_button.disabled and panel.complete_round_button.disabled
    assert "Suggest round" in panel.round_title.value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0.052", ["uncertainty", "52/1000"]),
        ("lots", ["not understood", "52/1000"]),
        ("1200/1000", ["not a rate"]),
        ("52.5/1000", ["whole numbers"]),
        ("0.05 ± -0.01", ["negative"]),
        ("latency=3 ± 1", ["Unknown metric", "conversion"]),
    ],
)
def test_bad_input_completes_nothing_and_names_the_arm(ab, panel, text, words):
    arms = suggest_round(panel)
    for t in arms:
        panel.arm_fields[t.index].value = "52/1000"
    panel.arm_fields[3].value = text  # one bad arm among good ones
    before = ab.path.read_bytes()
    panel.complete_round_button.click()
    assert is_error(panel)
    message = panel.message.value
    assert "Arm #3" in message and "green · get" in message and "Nothing was completed" in message
    for word in words:
        assert word in message
    assert statuses(ab) == ["running"] * 6 and ab.path.read_bytes() == before
    assert panel.arm_fields[3].value == text  # what was typed is kept, to be corrected


def test_every_bad_arm_is_named(ab, panel):
    suggest_round(panel)
    panel.arm_fields[1].value = "0.1"
    panel.arm_fields[4].value = "x"
    panel.complete_round_button.click()
    assert is_error(panel) and "Arm #1" in panel.message.value and "Arm #4" in panel.message.value
    assert statuses(ab) == ["running"] * 6


def test_nothing_typed_is_a_message(ab, panel):
    suggest_round(panel)
    panel.complete_round_button.click()
    assert is_error(panel) and "No result typed" in panel.message.value
    assert statuses(ab) == ["running"] * 6


def test_complete_round_without_a_round_is_a_message(ab, panel):
    panel.complete_round_button.click()
    assert is_error(panel) and "Suggest round" in panel.message.value and ab.trials == []


def test_partial_fill_leaves_the_others_running(ab, panel):
    suggest_round(panel)
    for i in (0, 2, 4):
        panel.arm_fields[i].value = f"{50 + i}/1000"
    panel.complete_round_button.click()
    assert not is_error(panel), panel.message.value
    assert statuses(ab) == ["completed", "running"] * 3
    message = panel.message.value
    assert "3 arms completed" in message and "still running" in message
    assert "#1" in message and "#3" in message and "#5" in message
    assert panel.arm_fields[0].disabled and not panel.arm_fields[1].disabled
    assert panel.round_button.disabled  # the round is not finished

    for i in (1, 3, 5):
        panel.arm_fields[i].value = "0.05 ± 0.01"
    panel.complete_round_button.click()
    assert "Round 0 completed: 3 arms" in panel.message.value
    assert statuses(ab) == ["completed"] * 6 and not panel.round_button.disabled


def test_a_second_round_via_the_button(ab, panel):
    rates = [52, 45, 60, 40, 50, 48]
    for t, s in zip(suggest_round(panel), rates):
        panel.arm_fields[t.index].value = f"{s * 10}/10000"
    panel.complete_round_button.click()
    assert "Round 0 completed: 6 arms" in panel.message.value

    second = suggest_round(panel)
    assert "Round 1 suggested" in panel.message.value
    assert all(t.batch == 1 and t.status == "running" for t in second)
    assert math.fsum(t.weight for t in second) == pytest.approx(1.0)
    assert list(panel.arm_fields) == [t.index for t in second]  # fields for the new round
    assert all(f.value == "" and not f.disabled for f in panel.arm_fields.values())
    for t in second:
        assert format_share(t.weight) in panel.arm_labels[t.index].value
    for t in second:
        panel.arm_fields[t.index].value = "30/500"
    panel.complete_round_button.click()
    assert f"Round 1 completed: {len(second)} arms" in panel.message.value
    assert len(ab.rounds) == 2 and all(t.is_completed for t in ab.trials)
    params, _ = ab.best()
    assert params in [t.parameters for t in ab.trials]


def test_the_next_round_keeps_the_window_chosen_in_code(ab, panel):
    for t in ab.suggest_arms(window=1):
        ab.complete(t.index, axnb.Rate(50, 1000))
    panel.refresh()
    suggest_round(panel)
    assert ab.rounds[-1]["window"] == 1


def test_outcome_constraint_metrics_are_typed_as_pairs(tmp_path):
    ab = axnb.Experiment("lat", [BUTTON], objective="conversion", minimize=False,
                         outcome_constraints=["latency <= 200"], path=tmp_path, seed=0)
    panel = ab.panel()
    arms = suggest_round(panel)
    assert "latency=" in panel.arm_fields[0].placeholder
    assert "latency" in panel.round_help.value
    panel.arm_fields[0].value = "52/1000"  # latency missing
    panel.arm_fields[1].value = "52/1000; latency=120 ± 3"
    panel.complete_round_button.click()
    assert is_error(panel) and "Arm #0" in panel.message.value
    assert "latency" in panel.message.value and statuses(ab) == ["running"] * 3

    panel.arm_fields[0].value = "0.05 ± 0.01; latency=150, 5"
    panel.arm_fields[2].value = "latency = 90 +- 2; conversion = 7/100"
    panel.complete_round_button.click()
    assert not is_error(panel), panel.message.value
    assert f"Round 0 completed: {len(arms)} arms" in panel.message.value
    assert ab.trial(0).result == {"conversion": (0.05, 0.01), "latency": (150.0, 5.0)}
    assert ab.trial(1).result["latency"] == (120.0, 3.0)
    assert ab.trial(2).counts == {"conversion": (7, 100)}
    assert panel.arm_fields[1].value == "52/1000; latency=120 ± 3"
    panel.close()


# ------------------------------------------------------------------ following the experiment
def test_rounds_made_elsewhere_show_up_on_refresh(ab):
    panel = axnb.widgets.Panel(ab, interval=0.05)
    t = threading.Thread(target=ab.suggest_arms)
    t.start()
    t.join()
    assert panel.wait_idle(10)
    assert len(panel.arm_fields) == 6 and panel.round_button.disabled
    panel.arm_fields[0].value = "1/10"  # typing survives refreshes
    ab.complete(1, axnb.Rate(3, 10))  # another cell completes an arm
    assert panel.wait_idle(10)
    assert panel.arm_fields[0].value == "1/10" and not panel.arm_fields[0].disabled
    assert panel.arm_fields[1].disabled and panel.arm_fields[1].value == "3/10"
    assert "completed" in panel.arm_labels[1].value
    panel.close()


def test_a_continuous_experiment_shows_rounds_once_it_has_some(tmp_path):
    exp = axnb.Experiment("given", [axnb.Range("x", 0.0, 1.0)], objective="y", minimize=False,
                          path=tmp_path, seed=0)
    panel = axnb.widgets.Panel(exp, interval=0.05)
    assert not panel.round_shown
    t = threading.Thread(target=lambda: exp.suggest_arms(arms=[{"x": 0.25}, {"x": 0.75}]))
    t.start()
    t.join()
    assert panel.wait_idle(10)
    assert panel.round_shown and list(panel.arm_fields) == [0, 1]
    assert "50.0 %" in panel.arm_labels[0].value
    panel.arm_fields[0].value = "0.5 ± 0.1"
    panel.arm_fields[1].value = "0.7 ± 0.1"
    panel.complete_round_button.click()
    assert "Round 0 completed: 2 arms" in panel.message.value
    panel.close()


def test_reopening_the_panel_shows_the_running_round(ab, panel):
    suggest_round(panel)
    panel.arm_fields[0].value = "5/100"
    panel.complete_round_button.click()
    again = axnb.load(ab.path).panel()
    assert list(again.arm_fields) == list(range(6))
    assert again.arm_fields[0].disabled and again.arm_fields[0].value == "5/100"
    assert not again.arm_fields[1].disabled
    again.close()


def test_the_single_trial_controls_still_work_on_an_arm(ab, panel):
    suggest_round(panel)
    panel.running.value = 2
    panel.result_fields["conversion"].value = 0.05
    panel.result_fields["conversion"].sem = 0.01
    panel.complete_button.click()
    assert ab.trial(2).result == {"conversion": (0.05, 0.01)}
    assert panel.arm_fields[2].disabled


# ------------------------------------------------------------------ parsing
ONE = (["conversion"], "conversion")
TWO = (["conversion", "latency"], "conversion")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("52/1000", axnb.Rate(52, 1000)),
        (" 52 / 1000 ", axnb.Rate(52, 1000)),
        ("0/10", axnb.Rate(0, 10)),
        ("0.052 ± 0.007", (0.052, 0.007)),
        ("0.052±0.007", (0.052, 0.007)),
        ("0.052 +- 0.007", (0.052, 0.007)),
        ("0.052 +/- 0.007", (0.052, 0.007)),
        ("0.052, 0.007", (0.052, 0.007)),
        ("(0.052, 0.007)", (0.052, 0.007)),
        ("-1.5e-2 ± 3e-3", (-0.015, 0.003)),
        ("\u22120.5 ± 0.1", (-0.5, 0.1)),
        ("12 ± 0", (12.0, 0.0)),
        ("conversion=52/1000", axnb.Rate(52, 1000)),
        ("52/1000;", axnb.Rate(52, 1000)),
    ],
)
def test_parse_one_metric(text, expected):
    assert parse_arm_result(text, *ONE) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["Nothing typed"]),
        ("   ", ["Nothing typed"]),
        ("0.052", ["no uncertainty", "52/1000", "0.052 ± 0.007"]),
        ("conversion=0.052", ["no uncertainty"]),
        ("abc", ["not understood"]),
        ("abc ± 0.1", ["not a number"]),
        ("0.1 ± x", ["not a number"]),
        ("1, 2, 3", ["not understood"]),
        ("0.1 ± -0.01", ["negative"]),
        ("nan ± 1", ["finite"]),
        ("1 ± inf", ["finite"]),
        ("5/0", ["not a rate"]),
        ("11/10", ["not a rate"]),
        ("-1/10", ["whole numbers"]),
        ("5.0/10", ["whole numbers"]),
        ("latency=1 ± 1", ["Unknown metric 'latency'"]),
        ("52/1000; 0.05 ± 0.01", ["Two values"]),
    ],
)
def test_parse_refuses_with_a_message(text, words):
    with pytest.raises(ValueError) as info:
        parse_arm_result(text, *ONE)
    for word in words:
        assert word in str(info.value)


def test_parse_several_metrics():
    assert parse_arm_result("52/1000; latency=120 ± 3", *TWO) == {
        "conversion": axnb.Rate(52, 1000),
        "latency": (120.0, 3.0),
    }
    assert parse_arm_result(" latency = 90, 2 ; conversion = 0.05 +- 0.01 ", *TWO) == {
        "conversion": (0.05, 0.01),
        "latency": (90.0, 2.0),
    }
    with pytest.raises(ValueError, match="Missing 'latency'.*latency=120 ± 3"):
        parse_arm_result("52/1000", *TWO)
    with pytest.raises(ValueError, match="Missing 'conversion'"):
        parse_arm_result("latency=120 ± 3", *TWO)
    with pytest.raises(ValueError, match="'latency': '120' has no uncertainty"):
        parse_arm_result("52/1000; latency=120", *TWO)
    with pytest.raises(ValueError, match="name=value"):
        parse_arm_result("52/1000; 120 ± 3", *TWO)
    with pytest.raises(ValueError, match="Two values for 'latency'"):
        parse_arm_result("52/1000; latency=1 ± 1; latency=2 ± 1", *TWO)


def test_parsed_values_are_what_complete_accepts(ab):
    (t, u, *_) = ab.suggest_arms()
    ab.complete(t.index, parse_arm_result("52/1000", *ONE))
    ab.complete(u.index, parse_arm_result("0.05 ± 0.01", *ONE))
    assert ab.trial(t.index).counts == {"conversion": (52, 1000)}
    assert ab.trial(u.index).result == {"conversion": (0.05, 0.01)}
    assert format_arm_result(ab.trial(t.index), *ONE) == "52/1000"
    assert parse_arm_result(format_arm_result(ab.trial(u.index), *ONE), *ONE) == (0.05, 0.01)


@pytest.mark.parametrize(
    ("weight", "text"),
    [(1 / 6, "16.7 %"), (0.234, "23.4 %"), (0.01, "1.0 %"), (0.0035, "0.35 %"),
     (1.0, "100 %"), (0.5, "50.0 %"), (0.0, "0 %"), (None, "?")],
)
def test_format_share(weight, text):
    assert format_share(weight) == text
