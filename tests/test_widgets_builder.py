"""The experiment builder, filled through its input widgets and buttons as a user would."""

from __future__ import annotations

import json

import ipywidgets as widgets
import pytest

import axnb


@pytest.fixture
def builder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return axnb.builder()


def is_error(b):
    return "axnb-error" in b.message.value


def test_fill_by_widgets_and_create(builder, tmp_path):
    b = builder
    b.name_field.value = "tuning"
    b.seed_field.value = "0"
    b.param_kind.value = "Range"
    b.param_name.value = "lr"
    b.param_low.value, b.param_high.value, b.param_log.value = 1e-4, 0.1, True
    b.add_parameter_button.click()
    b.param_kind.value = "Int"
    b.param_name.value = "layers"
    b.param_low.value, b.param_high.value, b.param_log.value = 1, 8, False
    b.add_parameter_button.click()
    b.param_kind.value = "Choice"
    b.param_name.value = "opt"
    b.param_values.value = "adam, sgd"
    b.add_parameter_button.click()
    b.param_kind.value = "Fixed"
    b.param_name.value = "epochs"
    b.param_value.value = "10"
    b.add_parameter_button.click()
    b.objective_name.value = "loss"
    b.add_objective_button.click()
    assert not is_error(b), b.message.value
    assert "axnb.Range('lr', 0.0001, 0.1, log=True)" in b.code
    assert "axnb.Choice('opt', ['adam', 'sgd'])" in b.code
    assert "axnb.Fixed('epochs', 10)" in b.code
    assert b.code in b.code_view.value.replace("&#x27;", "'")  # the code is shown in the form

    b.create_button.click()
    exp = b.experiment
    assert isinstance(exp, axnb.Experiment) and not is_error(b)
    assert exp.path == tmp_path / "tuning.axnb.json" and exp.path.exists()
    config = json.loads(exp.path.read_text())["config"]
    assert [p["name"] for p in config["parameters"]] == ["lr", "layers", "opt", "epochs"]
    assert config["objectives"] == [{"metric": "loss", "minimize": True}]
    assert config["seed"] == 0


def test_code_creates_the_same_experiment(builder, tmp_path):
    b = builder
    b.add_parameter("range", "w1", low=0, high=1)
    b.add_parameter("range", "w2", low=0, high=1)
    b.add_parameter("int", "n", low=1, high=4)
    b.add_parameter("choice", "batch", values=[16, 32, 64])
    b.add_parameter("choice", "flag", values=[True, False])
    b.add_constraint("w1 + w2 <= 1")
    b.add_objective("acc", "max")
    b.add_objective("latency", "min")
    b.add_outcome_constraint("memory <= 3")
    b.name_field.value = "mixed"
    b.seed_field.value = "7"
    exp = b.create()
    assert exp.is_multi_objective and exp.space.constraints[0].text == "w1 + w2 <= 1"
    namespace: dict = {}
    exec(b.code, namespace)  # the code the form shows builds the very same experiment
    assert namespace["exp"].config() == exp.config()
    assert exp.space["batch"].values == (16, 32, 64) and exp.space["flag"].values == (True, False)


def test_default_objective_and_scripting_returns(builder):
    p = builder.add_parameter("Range", "x", low=-1, high=1)
    assert p == axnb.Range("x", -1.0, 1.0)
    assert "objective='objective', minimize=True" in builder.code
    exp = builder.create()
    assert exp.objective.metric == "objective"


@pytest.mark.parametrize(
    "bad",
    [
        lambda b: b.add_parameter("range", "y", low=2, high=1),  # low >= high
        lambda b: b.add_parameter("range", "x", low=0, high=1),  # duplicate name
        lambda b: b.add_parameter("range", "z", low=0, high=1, log=True),  # log needs low > 0
        lambda b: b.add_parameter("int", "k", low=0.5, high=3),  # int bounds
        lambda b: b.add_parameter("choice", "c", values=["only"]),  # one value
        lambda b: b.add_parameter("choice", "c", values=["a", 1]),  # mixed types
        lambda b: b.add_constraint("x + ghost <= 1"),  # unknown parameter
        lambda b: b.add_constraint("x * x <= 1"),  # not linear
        lambda b: b.add_objective("not a name"),
        lambda b: b.add_outcome_constraint("latency == 3"),
        lambda b: b.add_outcome_constraint("x <= 3"),  # a parameter
    ],
)
def test_invalid_items_show_a_message_and_are_not_added(builder, bad):
    builder.add_parameter("range", "x", low=0, high=1)
    code = builder.code
    with pytest.raises(ValueError):
        bad(builder)
    assert is_error(builder)
    assert builder.code == code


def test_invalid_form_does_not_create(builder, tmp_path):
    builder.create_button.click()  # no parameters
    assert is_error(builder) and builder.experiment is None
    builder.add_parameter("range", "x", low=0, high=1)
    builder.seed_field.value = "abc"
    builder.create_button.click()
    assert is_error(builder) and builder.experiment is None
    assert list(tmp_path.iterdir()) == []


def test_remove_items(builder):
    builder.add_parameter("range", "x", low=0, high=1)
    builder.add_parameter("range", "y", low=0, high=1)
    builder.parameters.select.index = 0
    builder.parameters.remove_button.click()
    assert [p.name for p in builder.parameters.items] == ["y"]
    assert "'x'" not in builder.code


# ------------------------------------------------------------------ what a browser showed
def test_changing_kind_clears_the_fields_of_the_previous_kind(builder):
    b = builder
    b.param_kind.value = "Range"
    b.param_name.value = "lr"
    b.param_low.value, b.param_high.value, b.param_log.value = 1e-4, 0.1, True
    b.add_parameter_button.click()
    b.param_kind.value = "Int"  # a log Range, then an Int: nothing of lr's carries over
    assert (b.param_low.value, b.param_high.value, b.param_log.value) == (0.0, 1.0, False)
    b.param_name.value = "layers"
    b.param_low.value, b.param_high.value = 1, 6
    b.add_parameter_button.click()
    assert not is_error(b), b.message.value
    assert b.parameters.items[-1] == axnb.Int("layers", 1, 6)  # not log=True
    b.param_kind.value = "Choice"
    b.param_values.value = "adam, sgd"
    b.param_kind.value = "Fixed"
    b.param_kind.value = "Choice"
    assert b.param_values.value == ""


def section_of(b, widget):
    """The part of the form (one of its sections) that holds ``widget``."""
    def holds(box):
        return box is widget or any(holds(c) for c in getattr(box, "children", ()))

    (section,) = [s for s in b.children if holds(s)]
    return section


def test_the_message_shows_in_the_section_of_the_button_pressed(builder):
    b = builder
    b.add_parameter("range", "x", low=0, high=1)
    assert section_of(b, b.message) is b.parameter_section
    b.constraint_text.value = "x * x <= 1"
    b.add_constraint_button.click()
    assert is_error(b) and section_of(b, b.message) is b.constraint_section
    b.add_outcome_constraint("latency <= 3")
    assert section_of(b, b.message) is b.objective_section
    b.create_button.click()
    assert section_of(b, b.message) is b.code_section
    assert [section_of(b, w) for w in (b.add_parameter_button, b.add_constraint_button,
                                       b.add_outcome_button, b.create_button)] == [
        b.parameter_section, b.constraint_section, b.objective_section, b.code_section]


def test_buttons_are_as_wide_as_their_labels(builder):
    buttons = [w for w in vars(builder).values() if isinstance(w, widgets.Button)]
    buttons += [builder.parameters.remove_button]
    assert builder.add_outcome_button in buttons
    for button in buttons:  # the stock width (148px) cuts "Add outcome constraint"
        assert button.layout.width == "auto", button.description


def test_lists_are_as_tall_as_their_items(builder):
    rows = builder.parameters.select.rows
    for i in range(6):
        builder.add_parameter("range", f"x{i}", low=0, high=1)
    assert builder.parameters.select.rows == 6  # every item shows, none behind a scroll bar
    for i in range(6, 12):
        builder.add_parameter("range", f"x{i}", low=0, high=1)
    assert builder.parameters.select.rows == axnb.widgets.builder.MAX_LIST_ROWS
    assert rows == 2 and builder.objectives.select.rows == 2


def test_the_form_speaks_plainly(builder):
    text = " ".join(w.value for w in builder.objectives.box.children
                    if isinstance(w, widgets.HTML))
    assert "none:" not in text and "minimizes one metric called" in text
