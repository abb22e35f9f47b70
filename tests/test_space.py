"""Parameters and the search space, through the public API."""

import numpy as np
import pytest

import axnb


def test_parameter_kinds_and_plain_values():
    lr = axnb.Range("lr", 1e-6, 0.4, log=True)
    assert (lr.low, lr.high, lr.log) == (1e-6, 0.4, True)
    layers = axnb.Int("layers", 1, 8)
    assert layers.validate(np.int64(3)) == 3 and type(layers.validate(np.int64(3))) is int
    assert type(lr.validate(np.float32(0.25))) is float
    assert axnb.Choice("opt", ["adam", "sgd"]).ordered is False
    assert axnb.Choice("batch", [16, 32, 64]).ordered is True
    assert axnb.Choice("flag", [True, False]).ordered is False
    assert axnb.Choice("batch", [16, 32, 64], ordered=False).ordered is False
    assert axnb.Fixed("epochs", 10).value == 10


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda: axnb.Choice("c", []), "no values"),
        (lambda: axnb.Choice("c", ["a"]), "Fixed"),
        (lambda: axnb.Choice("c", ["a", "a"]), "more than once"),
        (lambda: axnb.Choice("c", ["a", 1]), "mixes value types"),
        (lambda: axnb.Range("x", 1.0, 1.0), "low must be below high"),
        (lambda: axnb.Range("x", 2.0, 1.0), "low must be below high"),
        (lambda: axnb.Range("x", 0.0, 1.0, log=True), "log scale"),
        (lambda: axnb.Int("n", 0, 4, log=True), "log scale"),
        (lambda: axnb.Int("n", 0.5, 4), "integer bounds"),
        (lambda: axnb.Range("x", 0, float("inf")), "finite"),
        (lambda: axnb.Range("", 0, 1), "name"),
        (lambda: axnb.Fixed("e", [1, 2]), "str, int, float or bool"),
    ],
)
def test_bad_parameter_definitions_raise_clear_errors(make, needle):
    with pytest.raises(axnb.InvalidParameterError, match=needle) as info:
        make()
    assert isinstance(info.value, ValueError)


def test_ax_dicts_are_accepted(tmp_path):
    exp = axnb.Experiment(
        "ax",
        [
            {"name": "x1", "type": "range", "bounds": [-10.0, 10.0], "value_type": "float",
             "log_scale": False},
            {"name": "n", "type": "range", "bounds": [1, 5], "value_type": "int"},
            {"name": "c", "type": "choice", "values": ["a", "b"], "is_ordered": False},
            {"name": "e", "type": "fixed", "value": 3},
        ],
        path=tmp_path,
    )
    kinds = [type(p).__name__ for p in exp.space.parameters]
    assert kinds == ["Range", "Int", "Choice", "Fixed"]
    t = exp.attach({"x1": 1, "n": 2.0, "c": "a"}, result=1.0)
    assert t.parameters == {"x1": 1.0, "n": 2, "c": "a", "e": 3}
    assert [type(v) for v in t.parameters.values()] == [float, int, str, int]


@pytest.mark.parametrize(
    "spec, needle",
    [
        ({"name": "x", "type": "range", "bound": [0, 1]}, "unknown keys"),
        ({"name": "x", "type": "range"}, "bounds"),
        ({"name": "x", "type": "uniform", "bounds": [0, 1]}, "'range', 'choice' or 'fixed'"),
        ({"name": "x", "type": "choice", "values": ["a", "b"], "dependents": {"a": ["z"]}},
         "which are not parameters"),
        ({"name": "x", "type": "fixed"}, "value"),
    ],
)
def test_bad_ax_dicts(spec, needle, tmp_path):
    with pytest.raises(axnb.InvalidParameterError, match=needle):
        axnb.Experiment("bad", [axnb.Range("y", 0, 1), spec], path=tmp_path)


def test_duplicate_names_and_empty_space(tmp_path):
    with pytest.raises(axnb.InvalidParameterError, match="used twice"):
        axnb.Experiment("d", [axnb.Range("x", 0, 1), axnb.Int("x", 0, 3)], path=tmp_path)
    with pytest.raises(axnb.InvalidParameterError, match="at least one"):
        axnb.Experiment("d", [], path=tmp_path)
    with pytest.raises(axnb.InvalidParameterError, match="Fixed"):
        axnb.Experiment("d", [axnb.Fixed("x", 1)], path=tmp_path)


def test_values_are_checked(tmp_path):
    exp = axnb.Experiment(
        "v", [axnb.Range("x", 0, 1), axnb.Int("n", 1, 3), axnb.Choice("c", [16, 32])],
        path=tmp_path,
    )
    for bad, needle in [
        ({"x": 2.0, "n": 1, "c": 16}, "out of bounds"),
        ({"x": 0.5, "n": 1.5, "c": 16}, "integer"),
        ({"x": 0.5, "n": 1, "c": 17}, "not one of"),
        ({"x": float("nan"), "n": 1, "c": 16}, "finite"),
        ({"x": 0.5, "n": 1}, "Missing"),
        ({"x": 0.5, "n": 1, "c": 16, "z": 1}, "Unknown parameter"),
        ({"x": True, "n": 1, "c": 16}, "number"),
    ]:
        with pytest.raises(axnb.InvalidParameterError, match=needle):
            exp.attach(bad)
    assert exp.trials == []


def test_unit_cube_mapping_round_trips():
    lr = axnb.Range("lr", 1e-4, 1.0, log=True)
    assert lr.to_unit(1e-2) == pytest.approx(0.5)
    assert lr.from_unit(lr.to_unit(0.0314)) == pytest.approx(0.0314)
    n = axnb.Int("n", 1, 9)
    assert n.from_unit(n.to_unit(5)) == 5 and n.from_unit(0.49) == 5
    c = axnb.Choice("b", [16, 32, 64])
    assert c.from_unit(c.to_unit(32)) == 32
