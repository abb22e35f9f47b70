"""The JSON file: format, exact round trip, resume, mismatch, corruption, two kernels, kills."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import axnb

PARAMS = [axnb.Range("x", -1e9, 1e9), axnb.Int("n", -1000, 1000),
          axnb.Choice("c", ["a", "b", "ü"]), axnb.Fixed("e", 0.1)]


def test_file_format(tmp_path):
    exp = axnb.Experiment("fmt", PARAMS, seed=7, path=tmp_path)
    exp.attach({"x": 0.1, "n": 3, "c": "ü"}, result=(1 / 3, 0.01))
    text = exp.path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == "axnb.experiment" and data["schema_version"] == 2
    assert data["config"]["seed"] == 7 and "\n " in text  # indented
    assert data["trials"][0]["result"]["objective"] == [1 / 3, 0.01]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_seed_is_generated_and_stored(tmp_path):
    exp = axnb.Experiment("s", PARAMS, path=tmp_path)
    assert isinstance(exp.seed, int)
    assert json.loads(exp.path.read_text())["config"]["seed"] == exp.seed
    assert axnb.Experiment("s", PARAMS, path=tmp_path).seed == exp.seed


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(finite, st.integers(-1000, 1000), st.sampled_from(["a", "b", "ü"]),
                  finite, st.one_of(st.none(), st.floats(0, 1e6)), st.booleans()),
        min_size=1, max_size=8,
    )
)
def test_json_round_trip_is_exact(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("rt") / "rt.axnb.json"
    exp = axnb.Experiment("rt", PARAMS, path=path, seed=1)
    for x, n, c, mean, sem, done in rows:
        exp.attach({"x": x, "n": n, "c": c}, result=(mean, sem) if done else None)
    again = axnb.load(path)
    assert [(t.index, t.parameters, t.status, t.source, t.result, t.created_at, t.completed_at)
            for t in again.trials] == \
           [(t.index, t.parameters, t.status, t.source, t.result, t.created_at, t.completed_at)
            for t in exp.trials]
    for t in again.trials:
        assert all(type(v) is type(w) for v, w in zip(t.parameters.values(), (1.0, 1, "a", 1.0)))


def test_resume_after_restart(tmp_path):
    exp = axnb.Experiment("r", PARAMS, path=tmp_path, objective="loss")
    exp.attach({"x": 1.0, "n": 1, "c": "a"}, result=0.5)
    exp.attach({"x": 2.0, "n": 2, "c": "b"})
    again = axnb.Experiment("r", PARAMS, path=tmp_path, objective="loss")
    assert [(t.parameters, t.status, t.result) for t in again.trials] == \
        [(t.parameters, t.status, t.result) for t in exp.trials]
    assert again.seed == exp.seed
    again.complete(1, 0.25)
    assert axnb.load(again.path).trials[1].result == {"loss": (0.25, None)}


def test_mismatch_lists_differences_and_keeps_file(tmp_path):
    exp = axnb.Experiment("m", PARAMS, path=tmp_path, objective="loss", seed=3,
                          constraints=["x + n <= 10"])
    exp.attach({"x": 1.0, "n": 1, "c": "a"}, result=0.5)
    before = exp.path.read_bytes()
    changed = [axnb.Range("x", -1, 1), *PARAMS[1:3], axnb.Int("m", 0, 3)]
    with pytest.raises(axnb.ConfigurationMismatchError) as info:
        axnb.Experiment("m", changed, path=tmp_path, objective="acc", minimize=False, seed=4)
    message = str(info.value)
    for needle in ["parameter 'x' differs", "parameter 'm' is new", "parameter 'e' is in the file",
                   "objectives", "seed", "constraints", "axnb.load"]:
        assert needle in message
    assert exp.path.read_bytes() == before
    assert isinstance(info.value, ValueError)
    # an equivalent constraint written differently is the same configuration
    same = axnb.Experiment("m", PARAMS, path=tmp_path, objective="loss",
                           constraints=["10 >= n + x"])
    assert len(same.trials) == 1


def test_overwrite_keeps_a_backup(tmp_path):
    exp = axnb.Experiment("o", PARAMS, path=tmp_path)
    exp.attach({"x": 1.0, "n": 1, "c": "a"}, result=0.5)
    fresh = axnb.Experiment("o", [axnb.Range("y", 0, 1)], path=tmp_path, overwrite=True)
    assert fresh.trials == []
    (backup,) = tmp_path.glob("o.axnb.json.bak-*")  # issue: a timestamped, never-replaced backup
    assert len(json.loads(backup.read_text())["trials"]) == 1


@pytest.mark.parametrize(
    "content, needle",
    [
        ("", "empty"),
        ('{"format": "axnb.experiment", "schema_version": 1, "config": {', "truncated"),
        ('{"hello": 1}', "not an axnb experiment file"),
        ('{"format": "axnb.experiment", "schema_version": 99, "config": {}, "trials": []}',
         "newer axnb"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
    ],
)
def test_corrupt_file_is_reported_and_never_overwritten(tmp_path, content, needle):
    path = tmp_path / "c.axnb.json"
    raw = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(raw)
    with pytest.raises(axnb.CorruptFileError, match=needle) as info:
        axnb.Experiment("c", PARAMS, path=path)
    assert "left untouched" in str(info.value) or "Upgrade" in str(info.value)
    with pytest.raises(axnb.CorruptFileError):
        axnb.load(path)
    assert path.read_bytes() == raw


def test_truncated_real_file(tmp_path):
    exp = axnb.Experiment("t", PARAMS, path=tmp_path)
    for i in range(5):
        exp.attach({"x": float(i), "n": i, "c": "a"}, result=float(i))
    raw = exp.path.read_bytes()
    exp.path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(axnb.CorruptFileError, match="truncated"):
        axnb.Experiment("t", PARAMS, path=tmp_path)
    assert exp.path.read_bytes() == raw[: len(raw) // 2]


def test_two_kernels_on_one_file_merge(tmp_path):
    a = axnb.Experiment("k", PARAMS, path=tmp_path)
    b = axnb.Experiment("k", PARAMS, path=tmp_path)
    ta = a.attach({"x": 1.0, "n": 1, "c": "a"})
    tb = b.attach({"x": 2.0, "n": 2, "c": "b"})
    assert (ta.index, tb.index) == (0, 1)
    a.complete(1, 2.0)  # a completes the trial b created
    with pytest.raises(axnb.TrialError, match="completed"):
        b.complete(1, 3.0)  # b sees it is done: a clear conflict, nothing lost
    b.complete(0, 1.0)
    final = axnb.load(a.path)
    assert [(t.status, t.result["objective"][0]) for t in final.trials] == [
        ("completed", 1.0), ("completed", 2.0)]
    assert [t.status for t in a.trials] == ["completed", "completed"]


def test_two_processes_attaching_concurrently_lose_nothing(tmp_path):
    script = textwrap.dedent(f"""
        import sys, axnb
        params = [axnb.Range("x", -1e9, 1e9), axnb.Int("n", -1000, 1000),
                  axnb.Choice("c", ["a", "b", "ü"]), axnb.Fixed("e", 0.1)]
        exp = axnb.Experiment("p", params, path={str(tmp_path)!r}, seed=1)
        tag = int(sys.argv[1])
        for i in range(25):
            exp.attach({{"x": float(i), "n": tag, "c": "a"}}, result=float(i))
    """)
    axnb.Experiment("p", PARAMS, path=tmp_path, seed=1)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tag)]) for tag in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    trials = axnb.load(tmp_path / "p.axnb.json").trials
    assert len(trials) == 50
    assert sorted(t.parameters["n"] for t in trials) == [1] * 25 + [2] * 25


def test_sigkill_while_saving_leaves_a_readable_file(tmp_path):
    path = tmp_path / "kill.axnb.json"
    script = textwrap.dedent(f"""
        import axnb
        exp = axnb.Experiment("kill", [axnb.Range("x", 0, 1)], path={str(path)!r})
        i = len(exp.trials)
        print("ready", flush=True)
        while True:
            exp.attach({{"x": (i % 1000) / 1000}}, result=float(i))
            i += 1
    """)
    for delay in (0.3, 0.7, 1.1):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        exp = axnb.load(path)
        values = [t.result["objective"][0] for t in exp.trials]
        assert values == [float(i) for i in range(len(values))]
        assert len(values) > 0
    assert all(not p.name.endswith(".axnb.json") or p == path for p in tmp_path.iterdir())


def test_floats_keep_every_bit(tmp_path):
    exp = axnb.Experiment("bits", [axnb.Range("x", 0, 1)], path=tmp_path)
    values = [0.1, 1 / 3, math.pi, 5e-324, 1.7976931348623157e308, -0.0]
    for v in values:
        exp.attach({"x": 0.5}, result=v)
    again = axnb.load(exp.path)
    assert [t.result["objective"][0] for t in again.trials] == values
    assert math.copysign(1, again.trials[-1].result["objective"][0]) == -1
