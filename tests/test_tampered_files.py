"""Tampered experiment files: every one is refused on load with a ``CorruptFileError`` (a
``ValueError``) naming the file, the trial and the field; the file keeps its bytes, and an
experiment open in memory is never half-loaded from it. Valid files (plain, bandit,
schema version 1) keep loading."""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import axnb

DATA = Path(__file__).parent / "data"
NAN, INF = float("nan"), float("inf")
DELETE = object()

PARAMS = [axnb.Range("x", 0, 10), axnb.Int("n", 1, 5), axnb.Choice("c", ["a", "b"]),
          axnb.Fixed("f", 3)]
CONFIG: dict[str, Any] = dict(
    name="t", parameters=PARAMS, constraints=["x + n <= 14"], objective="loss",
    outcome_constraints=["lat <= 5"], seed=7,
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real file: trial 0 completed (with sems), 1 running, 2 failed, 3 completed (no sem)."""
    folder = tmp_path_factory.mktemp("base")
    exp = axnb.Experiment(path=folder, **CONFIG)
    exp.attach({"x": 1.0, "n": 2, "c": "a"}, result={"loss": (1.5, 0.1), "lat": (2.0, 0.2)})
    exp.attach({"x": 2.0, "n": 3, "c": "b"})
    exp.fail(exp.attach({"x": 3.0, "n": 1, "c": "a"}).index, reason="OOM")
    exp.attach({"x": 4.0, "n": 5, "c": "b"}, result={"loss": 0.5, "lat": 9.0})
    return json.loads(exp.path.read_text())


def _set(data: dict[str, Any], where: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    node = data
    for k in where[:-1]:
        node = node[k]
    if value is DELETE:
        del node[where[-1]]
    else:
        node[where[-1]] = value
    return data


# (where in the file, tampered value, words the message must contain)
TAMPERED = [
    (("revision",), "7", ["revision"]),
    (("revision",), -1, ["revision"]),
    (("config", "name"), 123, ["config.name"]),
    (("config", "name"), "", ["config.name"]),
    (("config", "parameters"), {}, ["config.parameters"]),
    (("config", "parameters", 0, "bounds"), [10, 0], ["config.parameters", "'x'"]),
    (("config", "parameters", 0, "bounds"), [0, NAN], ["config.parameters[0].bounds[1]"]),
    (("config", "parameters", 0, "bounds"), [0, INF], ["config.parameters[0].bounds[1]"]),
    (("config", "parameters", 0, "log_scale"), "false", ["config.parameters", "log_scale"]),
    (("config", "parameters", 0, "type"), "banana", ["config.parameters", "'x'"]),
    (("config", "parameters", 2, "values"), ["a"], ["config.parameters", "'c'"]),
    (("config", "parameters", 3, "value"), NAN, ["config.parameters[3].value"]),
    (("config", "parameters", 1, "name"), "x", ["config.parameters", "used twice"]),
    (("config", "constraints"), ["x + zz <= 1"], ["config.constraints[0]", "zz"]),
    (("config", "constraints"), ["x <= (-1)**0.5"], ["config.constraints[0]", "real"]),
    (("config", "objectives"), [], ["config.objectives"]),
    (("config", "objectives"), [{"metric": "loss"}], ["config.objectives[0]"]),
    (("config", "objectives", 0, "minimize"), "false", ["config.objectives[0]"]),
    (("config", "objectives", 0, "metric"), "x", ["config.objectives", "parameter 'x'"]),
    (("config", "outcome_constraints"), ["lat <> 5"], ["config.outcome_constraints"]),
    (("config", "seed"), -1, ["config.seed"]),
    (("config", "seed"), "abc", ["config.seed"]),
    (("config", "initial_trials"), 1.5, ["config.initial_trials"]),
    (("trials", 0), None, ["trials[0]"]),
    (("trials", 0), [], ["trials[0]"]),
    (("trials", 0, "index"), 5, ["trial 0", "'index'"]),
    (("trials", 0, "index"), "0", ["trial 0", "'index'"]),
    (("trials", 0, "parameters", "x"), 11.0, ["trial 0", "parameters.x", "out of bounds"]),
    (("trials", 0, "parameters", "x"), NAN, ["trial 0", "parameters.x", "nan"]),
    (("trials", 0, "parameters", "x"), INF, ["trial 0", "parameters.x", "inf"]),
    (("trials", 1, "parameters", "x"), -INF, ["trial 1", "parameters.x", "inf"]),
    (("trials", 0, "parameters", "n"), 2.5, ["trial 0", "parameters.n"]),
    (("trials", 0, "parameters", "c"), "z", ["trial 0", "parameters.c"]),
    (("trials", 0, "parameters", "c"), 1, ["trial 0", "parameters.c"]),
    (("trials", 0, "parameters", "f"), 4, ["trial 0", "parameters.f"]),
    (("trials", 0, "parameters", "zz"), 1.0, ["trial 0", "unknown parameter", "zz"]),
    (("trials", 0, "parameters", "x"), DELETE, ["trial 0", "missing parameter", "x"]),
    (("trials", 0, "parameters"), None, ["trial 0", "'parameters'"]),
    (("trials", 0, "status"), "done", ["trial 0", "'status'", "done"]),
    (("trials", 0, "status"), None, ["trial 0", "'status'"]),
    (("trials", 0, "source"), "robot", ["trial 0", "'source'", "robot"]),
    (("trials", 0, "result"), [1.0, None], ["trial 0", "'result'"]),
    (("trials", 0, "result"), None, ["trial 0", "'result'", "completed"]),
    (("trials", 0, "result"), "1.5", ["trial 0", "'result'"]),
    (("trials", 0, "result", "loss"), [NAN, None], ["trial 0", "result.loss[0]", "nan"]),
    (("trials", 0, "result", "loss"), [1.0, INF], ["trial 0", "result.loss[1]", "inf"]),
    (("trials", 0, "result", "loss"), [1.0, -0.5], ["trial 0", "result.loss", "sem"]),
    (("trials", 0, "result", "loss"), [1.0], ["trial 0", "result.loss"]),
    (("trials", 0, "result", "loss"), ["1.5", None], ["trial 0", "result.loss", "mean"]),
    (("trials", 0, "result", "loss"), [True, None], ["trial 0", "result.loss", "mean"]),
    (("trials", 0, "result", "loss"), 1.5, ["trial 0", "result.loss"]),
    (("trials", 0, "created_at"), "yesterday", ["trial 0", "'created_at'"]),
    (("trials", 0, "created_at"), DELETE, ["trial 0", "created_at", "missing"]),
    (("trials", 0, "completed_at"), 12, ["trial 0", "'completed_at'"]),
    (("trials", 2, "reason"), 42, ["trial 2", "'reason'"]),
    (("trials", 0, "batch"), -1, ["trial 0", "'batch'"]),
    (("trials", 0, "weight"), 2.0, ["trial 0", "'weight'"]),
    (("trials", 0, "counts"), {"loss": [5, 3]}, ["trial 0", "counts.loss"]),
    (("trials", 0, "counts"), [5, 3], ["trial 0", "'counts'"]),
    (("rounds",), [{"batch": "0"}], ["rounds[0]", "'batch'"]),
    (("rounds",), [{"batch": 0, "window": 0}], ["rounds[0]", "'window'"]),
    (("rounds",), [{"batch": 0, "created_at": "noon"}], ["rounds[0]", "'created_at'"]),
]


def _ids() -> list[str]:
    return [".".join(map(str, w)) + f"={v!r}"[:30] for w, v, _ in TAMPERED]


@pytest.mark.parametrize(("where", "value", "words"), TAMPERED, ids=_ids())
def test_tampered_file_is_refused_by_name_and_left_untouched(
    tmp_path: Path, base: dict[str, Any], where: tuple[Any, ...], value: Any, words: list[str]
) -> None:
    path = tmp_path / "t.axnb.json"
    raw = json.dumps(_set(base, where, value), indent=1).encode()
    path.write_bytes(raw)
    for open_it in (lambda: axnb.load(path), lambda: axnb.Experiment(path=path, **CONFIG)):
        with pytest.raises(axnb.CorruptFileError) as info:
            open_it()
        message = str(info.value)
        assert isinstance(info.value, ValueError)
        assert str(path) in message and "left untouched" in message
        for word in words:
            assert word in message, (word, message)
        assert path.read_bytes() == raw


def test_a_number_too_large_for_json_floats_reads_as_infinity_and_is_refused(
    tmp_path: Path, base: dict[str, Any]
) -> None:
    path = tmp_path / "t.axnb.json"
    text = json.dumps(_set(base, ("trials", 3, "result", "loss"), [12345.0, None]), indent=1)
    path.write_text(text.replace("12345.0", "1e400"))
    raw = path.read_bytes()
    with pytest.raises(axnb.CorruptFileError, match=r"trial 3, field 'result.loss\[0\]'"):
        axnb.load(path)
    assert path.read_bytes() == raw


@pytest.mark.parametrize("depth", [200, 100_000])
@pytest.mark.parametrize("where", [("trials", 0, "reason"), ("config", "parameters", 2, "values")])
def test_deeply_nested_values_are_refused_cleanly(
    tmp_path: Path, base: dict[str, Any], depth: int, where: tuple[Any, ...]
) -> None:
    path = tmp_path / "t.axnb.json"
    text = json.dumps(_set(base, where, "NESTED"), indent=1)
    path.write_text(text.replace('"NESTED"', "[" * depth + "]" * depth))
    raw = path.read_bytes()
    with pytest.raises(axnb.CorruptFileError, match="left untouched"):
        axnb.load(path)
    assert path.read_bytes() == raw


def test_an_open_experiment_is_never_half_loaded_from_a_tampered_file(
    tmp_path: Path, base: dict[str, Any]
) -> None:
    exp = axnb.Experiment(path=tmp_path, **CONFIG)
    exp.attach({"x": 1.0, "n": 2, "c": "a"}, result={"loss": 1.0, "lat": 1.0})
    before = [t.to_dict() for t in exp.trials]
    data = json.loads(exp.path.read_text())
    data["trials"].append(_set(data, ("trials", 0, "index"), 1)["trials"][0])
    data["trials"].append(_set(data, ("trials", 0, "index"), 2)["trials"][0])
    data["trials"][2]["status"] = "exploded"  # trial 1 is fine, trial 2 is not
    raw = json.dumps(data, indent=1).encode()
    exp.path.write_bytes(raw)
    with pytest.raises(axnb.CorruptFileError, match="trial 2, field 'status'"):
        exp.attach({"x": 2.0, "n": 2, "c": "a"})
    with pytest.raises(axnb.CorruptFileError):
        exp.trials  # noqa: B018 - reading syncs with the file
    assert [t.to_dict() for t in exp._trials] == before  # nothing of the bad file adopted
    assert exp.path.read_bytes() == raw


def test_after_a_refused_nan_the_experiment_still_saves_once_the_file_is_fixed(
    tmp_path: Path, base: dict[str, Any]
) -> None:
    path = tmp_path / "t.axnb.json"
    path.write_text(json.dumps(_set(base, ("trials", 3, "result", "loss"), [NAN, None])))
    with pytest.raises(axnb.CorruptFileError):
        axnb.load(path)
    path.write_text(json.dumps(base))
    exp = axnb.load(path)
    exp.attach({"x": 5.0, "n": 1, "c": "b"}, result={"loss": 2.0, "lat": 1.0})
    assert len(axnb.load(path).trials) == 5


# ------------------------------------------------------------------ valid files keep loading
def test_the_committed_version_1_file_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "v1_booth.axnb.json"
    shutil.copy(DATA / "v1_booth.axnb.json", path)
    raw = path.read_bytes()
    exp = axnb.load(path)
    assert exp.trials and path.read_bytes() == raw


def test_bandit_files_with_rounds_weights_and_counts_load(tmp_path: Path) -> None:
    ab = axnb.Experiment("ab", [axnb.Choice("button", ["blue", "red"]), axnb.Fixed("copy", "buy")],
                         objective="conversion", minimize=False, path=tmp_path, seed=1)
    for _ in range(2):
        for t in ab.suggest_arms():
            ab.complete(t.index, axnb.Rate(10 + t.index, 100))
    ab.suggest_arms(window=1)
    data = json.loads(ab.path.read_text())
    assert data["rounds"] and all("counts" in t for t in data["trials"] if t["result"])
    again = axnb.load(ab.path)
    assert [(t.batch, t.weight, t.counts) for t in again.trials] == [
        (t.batch, t.weight, t.counts) for t in ab.trials]


def test_a_file_every_field_of_which_is_valid_loads(tmp_path: Path, base: dict[str, Any]) -> None:
    path = tmp_path / "t.axnb.json"
    data = copy.deepcopy(base)
    data["trials"][1]["status"] = "abandoned"  # an abandoned running trial
    data["trials"][3]["result"]["extra"] = [1e300, 0.0]  # huge but finite, extra metric
    data["trials"][0]["parameters"].pop("f")  # a Fixed value may be left out
    path.write_text(json.dumps(data))
    assert len(axnb.load(path).trials) == 4


# ------------------------------------------------------------------ fuzzing
JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.sampled_from(["running", "completed", "nope", "2026-01-01T00:00:00+00:00", "x", "loss"]),
)
JSON_VALUE = st.recursive(
    JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_tampering_either_loads_a_sound_experiment_or_is_refused_cleanly(
    tmp_path_factory: pytest.TempPathFactory, base: dict[str, Any], data: st.DataObject
) -> None:
    where = data.draw(st.sampled_from(_paths(base)), label="where")
    value = data.draw(st.one_of(JSON_VALUE, st.just(DELETE)), label="value")
    if where in (("format",), ("schema_version",), ("config",), ("trials",)):
        return  # the layout checks of storage.read (tested in test_storage)
    path = tmp_path_factory.mktemp("fuzz") / "t.axnb.json"
    raw = json.dumps(_set(base, where, value)).encode()
    path.write_bytes(raw)
    try:
        exp = axnb.load(path)
    except axnb.CorruptFileError as e:
        assert str(path) in str(e)
        assert path.read_bytes() == raw
        return
    # Loaded: everything in it is sound, so it can be used and saved again.
    for t in exp.trials:
        exp.space.validate(t.parameters, check_constraints=False)
        assert t.status in ("running", "completed", "failed", "abandoned")
        for mean, sem in (t.result or {}).values():
            assert math.isfinite(mean) and (sem is None or (math.isfinite(sem) and sem >= 0))
    exp.to_dataframe()
    exp.save()
    assert len(axnb.load(path).trials) == len(exp.trials)
