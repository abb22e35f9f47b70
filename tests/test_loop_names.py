"""optimize()'s default experiment name: the same in every process, so a re-run resumes."""

import functools
import hashlib
import inspect
import json
import os
import subprocess
import sys
import textwrap

import axnb
from axnb.loop import _default_name

PARAMS = [{"name": "x", "type": "range", "bounds": [0.0, 1.0]}]

# Evaluation functions in a module of their own, as a user's project would have them.
MODULE = """
import threading


def scaled(p, scale=1.0, shift=0.0):
    return scale * (p["x"] - shift) ** 2


def square(v):
    return v * v


def transformed(p, transform):
    return transform(p["x"])


class Model:
    def __init__(self, scale):
        self.scale = scale
        self.tags = {"alpha", "beta", "gamma"}  # a set: its order changes with the hash seed

    def evaluate(self, p):
        return self.scale * p["x"]


class Objective:
    def __init__(self, target, options=None):
        self.target = target
        self.options = options or {}

    def __call__(self, p):
        return (p["x"] - self.target) ** 2


class Locked:  # state that is not plain data: the class stands for it
    def __init__(self):
        self.lock = threading.Lock()

    def evaluate(self, p):
        return p["x"]
"""

# Prints the default names of many kinds of evaluation functions, as JSON.
SCRIPT = """
import functools, json
import evalfuncs as m
from axnb.loop import _default_name

P = [{"name": "x", "type": "range", "bounds": [0.0, 1.0]}]


def name(f):
    return _default_name(P, None, None, "objective", False, 0, f)


def inline(p, k=1):  # defined in python -c: no source, keyed by its code
    return k * sum(v for v in p.values() if v not in {"a", "b"})


print(json.dumps({
    "partial": name(functools.partial(m.scaled, scale=2.0)),
    "partial, other argument": name(functools.partial(m.scaled, scale=3.0)),
    "partial, two arguments": name(functools.partial(m.scaled, scale=2.0, shift=0.5)),
    "partial of a partial": name(functools.partial(
        functools.partial(m.scaled, scale=2.0), shift=0.1)),
    "partial with a function argument": name(
        functools.partial(m.transformed, transform=m.square)),
    "partial with an object argument": name(
        functools.partial(m.transformed, transform=m.Objective(0.5))),
    "bound method": name(m.Model(2.0).evaluate),
    "bound method, other state": name(m.Model(3.0).evaluate),
    "bound method, not plain state": name(m.Locked().evaluate),
    "partial of a bound method": name(functools.partial(m.Model(2.0).evaluate)),
    "callable object": name(m.Objective(0.5, {"tags": {"x", "y", "z"}})),
    "callable object, other state": name(m.Objective(0.7)),
    "partial of an inline function": name(functools.partial(inline, k=2)),
    "partial of a lambda": name(functools.partial(lambda p, k: k * p["x"], k=2)),
    "lambda with a nested lambda": name(lambda p: (lambda v: v + 1)(p["x"])),
}))
"""


def default_names(folder, hash_seed):
    """The names ``SCRIPT`` prints, in a fresh interpreter with this hash seed."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_default_name_is_the_same_in_two_fresh_processes(tmp_path):
    (tmp_path / "evalfuncs.py").write_text(MODULE)
    first, second = default_names(tmp_path, 1), default_names(tmp_path, 2)
    assert first == second
    # and it tells apart what differs: arguments, instance state, functions
    assert len(set(first.values())) == len(first)
    assert all(n.startswith("optimize-") for n in first.values())


def scaled(p, scale=1.0, shift=0.0):
    return scale * (p["x"] - shift) ** 2


def name(f):
    return _default_name(PARAMS, None, None, "objective", False, 0, f)


def test_partial_names_follow_the_arguments_not_the_object():
    assert name(functools.partial(scaled, scale=2.0)) == name(functools.partial(scaled, scale=2.0))
    assert name(functools.partial(scaled, scale=2.0, shift=1.0)) == name(
        functools.partial(scaled, shift=1.0, scale=2.0)
    )
    assert name(functools.partial(scaled, scale=2.0)) != name(functools.partial(scaled, scale=3.0))
    assert name(functools.partial(scaled, 2.0)) != name(functools.partial(scaled, scale=2.0))
    assert name(functools.partial(scaled)) != name(scaled)


def test_plain_function_names_are_unchanged():
    """Experiments that optimize() named before keep their name (and resume)."""
    config = [PARAMS, None, None, "objective", False, 0]
    blob = json.dumps(config, sort_keys=True, default=repr) + inspect.getsource(scaled)
    assert name(scaled) == "optimize-" + hashlib.sha1(blob.encode()).hexdigest()[:8]


def test_optimize_with_a_partial_resumes_in_a_new_process(tmp_path):
    (tmp_path / "evalfuncs.py").write_text(MODULE)
    script = textwrap.dedent("""
        import functools, sys
        import axnb, evalfuncs
        result = axnb.optimize(
            [{"name": "x", "type": "range", "bounds": [0.0, 1.0]}],
            functools.partial(evalfuncs.scaled, scale=2.0, shift=0.3),
            total_trials=int(sys.argv[1]), seed=0, minimize=True, progress=True,
        )
        print(result.experiment.name)
    """)

    def optimize(total):
        done = subprocess.run(
            [sys.executable, "-c", script, str(total)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = optimize(3)
    again = optimize(5)
    assert "resuming" not in first
    assert "resuming optimize-" in again and "with 3 of 5 trials done" in again
    assert first.split()[-1] == again.split()[-1]  # the experiment's name
    [path] = tmp_path.glob("*.axnb.json")
    trials = axnb.load(path).trials
    assert [t.status for t in trials] == ["completed"] * 5
