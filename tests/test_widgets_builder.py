"""The experiment builder, filled through its input widgets and buttons as a user would."""

from __future__ import annotations

import json

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
