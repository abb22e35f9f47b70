"""The suggestion engine, driven directly with Trial objects (no Experiment)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from axnb.constraints import parse_outcome_constraint
from axnb.engine import Engine, FittedModel, Suggestion
from axnb.errors import InfeasibleError, InvalidParameterError
from axnb.space import Choice, Fixed, Int, Range, SearchSpace
from axnb.trial import Objective, Trial

ROOT = Path(__file__).resolve().parents[1]


def done(index: int, params: dict, result: dict, source: str = "manual") -> Trial:
    """A completed trial; ``result`` values are numbers or (mean, sem)."""
    res = {m: (v if isinstance(v, tuple) else (float(v), None)) for m, v in result.items()}
    return Trial(index, dict(params), "completed", source, res)


def running(index: int, params: dict) -> Trial:
    return Trial(index, dict(params), "running", "model")


def run(engine: Engine, f, trials: list[Trial], steps: int, n: int = 1, **kw) -> list[Trial]:
    """Suggest, evaluate ``f(params) -> dict`` and complete, ``steps`` times."""
    for _ in range(steps):
        for s in engine.suggest(trials, n=n, **kw):
            trials.append(done(len(trials), s.parameters, f(s.parameters), s.source))
    return trials


def quad(p: dict) -> dict:
    return {"y": sum((float(v) - 0.3) ** 2 for k, v in p.items() if k.startswith("x"))}


def simple_engine(d: int = 2, **kw) -> Engine:
    space = SearchSpace([Range(f"x{i}", 0, 1) for i in range(d)])
    return Engine(space, [Objective("y", minimize=True)], [], seed=kw.pop("seed", 0), **kw)


# ----------------------------------------------------------------------------- start design

def test_initial_points_are_sobol_and_continue_the_sequence():
    eng = simple_engine(initial_trials=4)
    assert eng.initial_trials == 4
    first = eng.suggest([], n=2)
    assert [s.source for s in first] == ["init", "init"]
    assert all(isinstance(s, Suggestion) for s in first)
    trials = [running(i, s.parameters) for i, s in enumerate(first)]
    nxt = eng.suggest(trials, n=2)
    pts = [tuple(s.parameters.values()) for s in first + nxt]
    assert len(set(pts)) == 4


def test_first_trial_is_the_centre_when_it_satisfies_the_constraints():
    space = SearchSpace([Range("x", -10, 10), Range("lr", 1e-4, 1e-0, log=True),
                         Int("k", 0, 10), Choice("c", ["a", "b", "c"])])
    eng = Engine(space, [Objective("y")], [], seed=3)
    first = eng.suggest([], n=2)
    assert first[0].parameters == {"x": 0.0, "lr": pytest.approx(1e-2), "k": 5, "c": "b"}
    assert first[1].parameters != first[0].parameters
    # Only an empty experiment starts at the centre.
    later = eng.suggest([running(0, first[0].parameters)])
    assert later[0].parameters != first[0].parameters
    # A centre outside the constraints is skipped: the start stays feasible.
    cons = SearchSpace.build([Range("x", 0, 1), Range("y", 0, 1)], ["x + y <= 0.8"])
    s = Engine(cons, [Objective("f")], [], seed=0).suggest([])[0].parameters
    assert s["x"] + s["y"] <= 0.8 + 1e-9 and s != {"x": 0.5, "y": 0.5}


def test_default_initial_trials_grows_with_dimension():
    assert simple_engine(1).initial_trials == 3
    assert simple_engine(2).initial_trials == 3
    assert simple_engine(6).initial_trials == 7


def test_attached_data_count_toward_the_start_design():
    eng = simple_engine(initial_trials=5)
    rng = np.random.default_rng(0)
    trials = []
    for i in range(5):
        p = {"x0": float(rng.random()), "x1": float(rng.random())}
        trials.append(done(i, p, quad(p)))
    [s] = eng.suggest(trials)
    assert s.source == "model"


def test_running_and_failed_trials_do_not_count_as_data():
    eng = simple_engine(initial_trials=3)
    p = {"x0": 0.1, "x1": 0.2}
    trials = [done(0, p, quad(p)), Trial(1, p, "failed", "init"), running(2, p),
              Trial(3, p, "abandoned", "init")]
    assert eng.suggest(trials)[0].source == "init"


# ----------------------------------------------------------------------------- constraints

def constrained_space() -> SearchSpace:
    return SearchSpace.build(
        [Range("w1", 0, 1), Range("w2", 0, 1), Range("w3", 0, 1), Int("n", 1, 6),
         Range("x", -2, 3), Fixed("epochs", 10)],
        ["w1 + w2 + w3 == 1", "x - n <= -1.5", "2*w1 + 0.5*n <= 3", "x + w2 >= -1"],
    )


def check_valid(space: SearchSpace, params: dict) -> None:
    space.validate(params)  # bounds, types and every constraint to 1e-6
    for c in space.constraints:
        assert c.satisfied(params, tol=1e-6), (c.text, params)
    for k, v in params.items():
        assert type(v) in (float, int, str, bool), (k, type(v))


def test_every_suggestion_satisfies_equality_and_inequality_constraints_with_ints():
    space = constrained_space()
    eng = Engine(space, [Objective("y")], [], seed=1, initial_trials=6)

    def f(p):
        return {"y": (p["w1"] - 0.6) ** 2 + (p["x"] - 1) ** 2 + 0.1 * p["n"]}

    trials = run(eng, f, [], steps=5, n=2)  # 6 init + 4 model
    assert {t.source for t in trials} == {"init", "model"}
    for t in trials:
        check_valid(space, t.parameters)
        assert isinstance(t.parameters["n"], int)
        assert t.parameters["epochs"] == 10


def test_only_integer_equality_constraint():
    space = SearchSpace.build([Int("a", 0, 10), Int("b", 0, 10), Int("c", 0, 10)],
                              ["a + b + c == 10"])
    eng = Engine(space, [Objective("y")], [], seed=0, initial_trials=4)
    trials = run(eng, lambda p: {"y": (p["a"] - 3) ** 2 + p["b"]}, [], steps=7)
    for t in trials:
        check_valid(space, t.parameters)
        assert sum(t.parameters.values()) == 10


def test_infeasible_space_and_pins_raise_clear_errors():
    with pytest.raises(InfeasibleError, match="x1 \\+ x2 >= 3"):
        Engine(SearchSpace.build([Range("x1", 0, 1), Range("x2", 0, 1)], ["x1 + x2 >= 3"]),
               [Objective("y")], [], seed=0)
    space = SearchSpace.build([Range("x1", 0, 1), Range("x2", 0, 1)], ["x1 + x2 <= 1"])
    eng = Engine(space, [Objective("y")], [], seed=0)
    with pytest.raises(InfeasibleError, match="x2"):
        eng.suggest([], fixed={"x1": 0.5, "x2": 0.9})
    with pytest.raises(InvalidParameterError, match="nope"):
        eng.suggest([], fixed={"nope": 1})
    with pytest.raises(InvalidParameterError, match="out of bounds"):
        eng.suggest([], fixed={"x1": 2.0})


# ----------------------------------------------------------------------------- mixed spaces

def mixed_space() -> SearchSpace:
    return SearchSpace([
        Range("x", 0, 1), Range("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 8),
        Int("units", 16, 1024, log=True), Choice("opt", ["adam", "sgd", "rms"]),
        Choice("batch", [16, 32, 64, 128]), Choice("flag", [True, False]), Fixed("seed", 7),
    ])


def mixed_f(p: dict) -> dict:
    y = (p["x"] - 0.7) ** 2 + (math.log10(p["lr"]) + 2.5) ** 2 / 4 + abs(p["layers"] - 3) / 5
    y += {"adam": 0.0, "sgd": 0.4, "rms": 0.2}[p["opt"]] + p["batch"] / 640 + 0.1 * p["flag"]
    return {"y": y}


@pytest.mark.parametrize("categorical_model", ["mixed", "onehot"])
def test_mixed_types_are_respected(monkeypatch, categorical_model):
    from axnb.engine import models

    monkeypatch.setattr(models, "CATEGORICAL_MODEL", categorical_model)
    space = mixed_space()
    eng = Engine(space, [Objective("y")], [], seed=2, initial_trials=8)
    trials = run(eng, mixed_f, [], steps=6, n=2)
    gp = eng.fit(trials).models["y"]
    if categorical_model == "mixed":
        assert type(gp).__name__ == "MixedSingleTaskGP"
    else:  # "opt" (3 choices) and "flag" (2) become one-hot columns
        assert type(gp).__name__ == "SingleTaskGP"
        assert gp.input_transform(gp.train_inputs[0][:1]).shape[-1] == 7 - 2 + 3 + 2
    assert {t.source for t in trials} == {"init", "model"}
    for t in trials:
        p = t.parameters
        check_valid(space, p)
        assert isinstance(p["layers"], int) and 1 <= p["layers"] <= 8
        assert isinstance(p["units"], int)
        assert p["opt"] in ("adam", "sgd", "rms")
        assert p["batch"] in (16, 32, 64, 128) and isinstance(p["batch"], int)
        assert isinstance(p["flag"], bool)
        assert p["seed"] == 7


def test_one_hot_transform_maps_encoded_choices_to_their_own_column():
    import torch

    from axnb.engine.models import one_hot_transform

    tf = one_hot_transform(3, {1: 3})
    X = torch.tensor([[0.2, 0.0, 0.9], [0.3, 0.5, 0.1], [0.4, 1.0, 0.7]], dtype=torch.float64)
    assert tf.transform(X).tolist() == [[0.2, 1, 0, 0, 0.9], [0.3, 0, 1, 0, 0.1],
                                        [0.4, 0, 0, 1, 0.7]]


def test_fully_discrete_space_is_enumerated_and_batches_are_distinct():
    space = SearchSpace([Int("a", 0, 4), Choice("c", ["p", "q", "r"])])
    eng = Engine(space, [Objective("y")], [], seed=0, initial_trials=5)
    trials = run(eng, lambda p: {"y": (p["a"] - 2) ** 2 + (p["c"] == "q")}, [], steps=1, n=5)
    batch = eng.suggest(trials, n=4)
    keys = {tuple(s.parameters.values()) for s in batch}
    assert len(keys) == 4 and all(s.source == "model" for s in batch)


# ----------------------------------------------------------------------------- pinning

def test_fixed_pins_parameters_in_init_and_model_phases():
    space = mixed_space()
    eng = Engine(space, [Objective("y")], [], seed=3, initial_trials=6)
    trials = run(eng, mixed_f, [], steps=3, n=2)
    for phase in range(2):
        for s in eng.suggest(trials, n=2, fixed={"opt": "sgd", "layers": 5, "x": 0.25}):
            assert s.source == ("model" if phase or len(trials) >= 6 else "init")
            assert s.parameters["opt"] == "sgd"
            assert s.parameters["layers"] == 5
            assert s.parameters["x"] == 0.25
            check_valid(space, s.parameters)
        trials = run(eng, mixed_f, trials, steps=1)


def test_fixed_with_equality_constraint():
    space = SearchSpace.build([Range("w1", 0, 1), Range("w2", 0, 1), Range("w3", 0, 1)],
                              ["w1 + w2 + w3 == 1"])
    eng = Engine(space, [Objective("y")], [], seed=0, initial_trials=3)
    trials = run(eng, lambda p: {"y": p["w1"] ** 2 + p["w2"]}, [], steps=4)
    for s in eng.suggest(trials, n=2, fixed={"w1": 0.3}):
        assert s.parameters["w1"] == 0.3
        check_valid(space, s.parameters)


# ----------------------------------------------------------------------------- pending points

def test_exact_data_never_repeat_an_evaluated_point():
    # A linear objective (minimized) drives the optimizer into the corner (0, 0); once it is
    # evaluated (no noise), suggesting it again would waste a trial (it did: 4-5 of 14).
    space = SearchSpace.build([Range("a", 0, 1), Range("b", 0, 1)], ["a + b <= 1"])
    eng = Engine(space, [Objective("y")], [], seed=0, initial_trials=3)
    trials = run(eng, lambda p: {"y": p["a"] + 2 * p["b"]}, [], steps=14)
    points = [tuple(t.parameters.values()) for t in trials]
    assert len(set(points)) == len(points)
    assert min(t.result["y"][0] for t in trials) < 0.01  # still converges to the corner


def test_pending_points_make_batch_points_distinct():
    eng = simple_engine(initial_trials=5)
    trials = run(eng, quad, [], steps=6)
    batch = eng.suggest(trials, n=3)
    assert all(s.source == "model" for s in batch)
    rows = np.array([list(s.parameters.values()) for s in batch])
    dists = [np.linalg.norm(rows[i] - rows[j]) for i in range(3) for j in range(i)]
    assert min(dists) > 1e-3
    # A running trial is a pending point: the next suggestion moves away from it.
    alone = eng.suggest(trials)[0].parameters
    pend = [*trials, running(len(trials), alone)]
    other = eng.suggest(pend)[0].parameters
    assert np.linalg.norm(np.subtract(list(other.values()), list(alone.values()))) > 1e-3


# ----------------------------------------------------------------------------- reproducibility

SCRIPT = textwrap.dedent("""
    import json, sys
    from axnb.engine import Engine
    from axnb.space import SearchSpace, Range, Int, Choice
    from axnb.trial import Objective, Trial
    space = SearchSpace([Range("x", 0, 1), Int("n", 1, 5), Choice("c", ["a", "b"])])
    eng = Engine(space, [Objective("y")], [], seed=11, initial_trials=4)
    trials = []
    for i in range(6):
        for s in eng.suggest(trials):
            p = s.parameters
            y = (p["x"] - 0.3) ** 2 + p["n"] / 10 + (p["c"] == "b")
            trials.append(Trial(len(trials), p, "completed", s.source, {"y": (y, None)}))
    out = [t.parameters for t in trials] + [s.parameters for s in eng.suggest(trials, n=2)]
    print(json.dumps(out))
""")


def _run_script() -> list:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "random"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_same_seed_and_trials_give_identical_suggestions_in_fresh_processes():
    a, b = _run_script(), _run_script()
    assert a == b
    assert len({json.dumps(p, sort_keys=True) for p in a}) == len(a)


def test_different_seeds_differ():
    # The first point of an empty experiment is the centre for every seed; the rest differ.
    s0 = [s.parameters for s in simple_engine(seed=0).suggest([], n=3)]
    s1 = [s.parameters for s in simple_engine(seed=1).suggest([], n=3)]
    assert s0[0] == s1[0] and s0[1:] != s1[1:]


def test_suggest_does_not_touch_global_rng_state():
    import torch

    eng = simple_engine(initial_trials=3)
    trials = run(eng, quad, [], steps=3)
    torch.manual_seed(123)
    np.random.seed(123)
    expected_t, expected_n = torch.rand(1).item(), np.random.rand()
    torch.manual_seed(123)
    np.random.seed(123)
    eng.suggest(trials)
    assert torch.rand(1).item() == expected_t and np.random.rand() == expected_n


def test_import_does_not_load_torch():
    code = ("import sys, axnb, axnb.engine; "
            "print([m for m in ('torch', 'botorch', 'gpytorch', 'scipy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, cwd=ROOT,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- degenerate data

def _model_suggest(trials, **kw):
    eng = simple_engine(initial_trials=kw.pop("initial_trials", 1), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback warning expected
        s = eng.suggest(trials, n=2)
    assert [x.source for x in s] == ["model", "model"]
    return s


def test_single_observation():
    _model_suggest([done(0, {"x0": 0.5, "x1": 0.5}, {"y": 1.0})])


def test_duplicates_and_constant_outcomes():
    p = {"x0": 0.2, "x1": 0.7}
    _model_suggest([done(i, p, {"y": 3.0}) for i in range(6)])
    _model_suggest([done(i, p, {"y": (3.0, 0.0)}) for i in range(6)])
    rng = np.random.default_rng(1)
    pts = [{"x0": float(a), "x1": float(b)} for a, b in rng.random((6, 2))]
    _model_suggest([done(i, q, {"y": 2.5}) for i, q in enumerate(pts)])


def test_huge_outliers():
    rng = np.random.default_rng(2)
    trials = []
    for i in range(10):
        p = {"x0": float(rng.random()), "x1": float(rng.random())}
        y = quad(p)["y"] + (1e12 if i == 4 else 0.0)
        trials.append(done(i, p, {"y": y}))
    _model_suggest(trials)


def test_forced_fit_failure_falls_back_with_a_warning(monkeypatch):
    from linear_operator.utils.errors import NotPSDError

    import axnb.engine.models as models

    def broken(*a, **k):
        raise NotPSDError("forced for the test")

    monkeypatch.setattr(models, "_fit_mll", broken)
    eng = simple_engine(initial_trials=3)
    trials = [done(i, {"x0": i / 4, "x1": 0.5}, {"y": float(i)}) for i in range(4)]
    with pytest.warns(RuntimeWarning, match="NotPSDError"):
        out = eng.suggest(trials, n=2)
    assert [s.source for s in out] == ["fallback", "fallback"]
    assert out[0].parameters != out[1].parameters
    assert eng.status == "idle"


# ----------------------------------------------------------------------------- outcome constraints

def test_outcome_constraints_feasibility_first_then_constrained_nei():
    space = SearchSpace([Range("x0", 0, 1), Range("x1", 0, 1)])
    eng = Engine(space, [Objective("y")], [parse_outcome_constraint("c >= 1.6")], seed=0,
                 initial_trials=4)

    def f(p):
        return {"y": p["x0"] + p["x1"], "c": p["x0"] + p["x1"]}

    # Nothing observed is feasible yet: probability of feasibility.
    trials = [done(i, {"x0": v, "x1": v}, f({"x0": v, "x1": v}))
              for i, v in enumerate([0.1, 0.2, 0.3, 0.4])]
    [s] = eng.suggest(trials)
    assert eng.last_acquisition == "feasibility" and s.source == "model"
    trials = run(eng, f, trials, steps=6)
    assert eng.last_acquisition == "qLogNEI"
    assert any(t.result["c"][0] >= 1.6 for t in trials)
    _params, values = eng.best(trials)
    assert values["c"][0] >= 1.6


# ----------------------------------------------------------------------------- results

def test_best_observed_when_exact_and_least_violating_when_none_feasible():
    eng = Engine(SearchSpace([Range("x", 0, 1)]), [Objective("y", minimize=True)],
                 [parse_outcome_constraint("c <= 1")], seed=0)
    trials = [done(0, {"x": 0.1}, {"y": 1.0, "c": 0.5}),
              done(1, {"x": 0.2}, {"y": 0.1, "c": 2.0}),
              done(2, {"x": 0.3}, {"y": 0.7, "c": 0.9})]
    params, values = eng.best(trials)
    assert params == {"x": 0.3} and values == {"y": (0.7, None), "c": (0.9, None)}
    infeasible = [done(0, {"x": 0.1}, {"y": 1.0, "c": 3.0}),
                  done(1, {"x": 0.2}, {"y": 0.1, "c": 1.5})]
    assert eng.best(infeasible)[0] == {"x": 0.2}
    assert eng.best([]) is None


def test_best_is_model_based_for_noisy_data():
    eng = simple_engine(d=1)
    rng = np.random.default_rng(0)
    xs = np.linspace(0, 1, 12)
    trials = [done(i, {"x0": float(x)}, {"y": ((x - 0.3) ** 2 + rng.normal(0, 0.05), 0.05)})
              for i, x in enumerate(xs)]
    params, values = eng.best(trials)
    mean, sd = values["y"]
    assert sd is not None and 0 < sd < 0.05
    assert abs(params["x0"] - 0.3) < 0.15
    assert mean == pytest.approx((params["x0"] - 0.3) ** 2, abs=0.05)


def test_pareto_front_is_the_feasible_non_dominated_set():
    space = SearchSpace([Range("x", 0, 1)])
    objectives = [Objective("acc", minimize=False), Objective("lat", minimize=True)]
    eng = Engine(space, objectives, [parse_outcome_constraint("lat <= 20")], seed=0)
    data = [(0.9, 10), (0.95, 15), (0.8, 5), (0.85, 12), (0.99, 25), (0.9, 10.0), (0.7, 6)]
    trials = [done(i, {"x": i / 10}, {"acc": a, "lat": lat}) for i, (a, lat) in enumerate(data)]
    front = eng.pareto(trials)
    got = sorted((v["acc"][0], v["lat"][0]) for _, v in front)
    assert got == [(0.8, 5.0), (0.9, 10.0), (0.95, 15.0)]
    # brute force check: nothing feasible dominates a front member
    for _, v in front:
        for a, lat in data:
            assert not (lat <= 20 and a >= v["acc"][0] and lat <= v["lat"][0]
                        and (a, lat) != (v["acc"][0], v["lat"][0]))
    best = eng.best(trials)
    assert (best[1]["acc"][0], best[1]["lat"][0]) in got


def test_thresholds_alone_do_not_start_the_feasibility_phase():
    # Several objectives whose only outcome constraints are thresholds: qLogNEHVI from the
    # first model-based trial, even while nothing observed is inside the thresholds (as Ax);
    # a constraint on another metric still starts the feasibility-first phase.
    space = SearchSpace([Range("x0", 0, 1), Range("x1", 0, 1)])
    objectives = [Objective("f1", minimize=True), Objective("f2", minimize=True)]

    def f(p):
        return {"f1": p["x0"], "f2": 1 - p["x0"] ** 0.5 + 0.5 * p["x1"], "c": p["x1"]}

    trials = [done(i, {"x0": v, "x1": 0.9}, f({"x0": v, "x1": 0.9}))
              for i, v in enumerate([0.6, 0.7, 0.8])]
    thresholds = [parse_outcome_constraint("f1 <= 0.5"), parse_outcome_constraint("f2 <= 0.5")]
    eng = Engine(space, objectives, thresholds, seed=0, initial_trials=3)
    assert eng.suggest(trials)[0].source == "model"
    assert eng.last_acquisition == "qLogNEHVI"
    eng = Engine(space, objectives, [*thresholds, parse_outcome_constraint("c <= 0.5")],
                 seed=0, initial_trials=3)
    eng.suggest(trials)
    assert eng.last_acquisition == "feasibility"


def test_multi_objective_suggestions_use_nehvi_with_thresholds():
    space = SearchSpace([Range("x0", 0, 1), Range("x1", 0, 1)])
    objectives = [Objective("f1", minimize=True), Objective("f2", minimize=True)]
    eng = Engine(space, objectives, [parse_outcome_constraint("f1 <= 0.9")], seed=0,
                 initial_trials=6)

    def f(p):
        return {"f1": p["x0"], "f2": 1 - p["x0"] ** 0.5 + 0.5 * p["x1"]}

    trials = run(eng, f, [], steps=8)
    assert eng.last_acquisition == "qLogNEHVI"
    front = eng.pareto(trials)
    assert front and all(v["f1"][0] <= 0.9 for _, v in front)
    batch = eng.suggest(trials, n=2)
    assert [s.source for s in batch] == ["model", "model"]


def test_predict_and_fit_reuse_the_cached_model():
    eng = simple_engine(initial_trials=4)
    trials = run(eng, quad, [], steps=6)
    eng.suggest(trials)
    eng.predict(trials, [trials[0].parameters])  # fits the unwarped (display) model once
    fits = eng.cache.fits
    pred = eng.predict(trials, [{"x0": 0.3, "x1": 0.3}, trials[0].parameters])
    means, sds = pred["y"]
    assert len(means) == 2 and all(isinstance(v, float) for v in means + sds)
    assert means[1] == pytest.approx(trials[0].result["y"][0], abs=0.05)
    fm = eng.fit(trials)
    assert isinstance(fm, FittedModel) and eng.cache.fits == fits
    row = fm.encode(trials[0].parameters)
    assert fm.decode(row) == trials[0].parameters
    mu, _sd = fm.predict_unit(np.vstack([row, row]))["y"]
    assert mu.shape == (2,) and mu[0] == pytest.approx(means[1])
    assert fm.data["y"].X.shape == (len(trials), 2)
    assert simple_engine().fit([]) is None


def test_acquisition_values_for_plots():
    from axnb.engine.inspect import acquisition_values

    eng = simple_engine(initial_trials=4)
    trials = run(eng, quad, [], steps=5)
    rows = np.array([[0.3, 0.3], [0.9, 0.9], [0.31, 0.29]])
    res = acquisition_values(eng, trials, rows)
    assert res.kind == "qLogNEI" and res.model_phase and res.values.shape == (3,)
    assert np.all(np.isfinite(res.values))
    early = acquisition_values(eng, trials[:2], rows)
    assert not early.model_phase


def test_pins_with_equality_constraint_in_the_start_design():
    space = SearchSpace.build([Range("w1", 0, 1), Range("w2", 0, 1), Int("k", 0, 3)],
                              ["w1 + w2 + 0.25*k == 1"])
    eng = Engine(space, [Objective("y")], [], seed=0)
    for s in eng.suggest([], n=3, fixed={"k": 2}):
        assert s.source == "init" and s.parameters["k"] == 2
        check_valid(space, s.parameters)


def test_warm_start_reuses_hyperparameters_and_still_suggests():
    eng = simple_engine(initial_trials=4, warm_start=True)
    trials = run(eng, quad, [], steps=7)
    assert eng.cache.fits == 3 and trials[-1].source == "model"


# ----------------------------------------------------------------------------- outcome warping

def test_warp_values_are_monotone_and_spread_the_best_values():
    from axnb.engine.models import warp_values

    y = np.array([0.0, 0.5, 1.0, 3.0, 40.0, 900.0, 2600.0])
    for kind in ("yj", "log", "copula"):
        w = warp_values(y, kind, sign=-1.0)  # minimized: increasing in y
        assert np.all(np.diff(w) > 0), kind
        v = warp_values(-y, kind, sign=1.0)  # maximized mirror image
        assert np.all(np.diff(v) < 0), kind
    w = warp_values(y, "yj", -1.0)
    # the small (good) values are far less squashed than in the raw scale
    assert (w[2] - w[0]) / np.ptp(w) > 3 * (y[2] - y[0]) / np.ptp(y)
    assert np.array_equal(warp_values(y[:2], "yj", -1.0), y[:2])
    assert np.array_equal(warp_values(np.full(5, 3.0), "yj", -1.0), np.full(5, 3.0))


def test_warped_objective_drives_the_acquisition_but_predictions_stay_in_original_units():
    from axnb.engine import models as M

    assert M.OUTCOME_WARP == "yj"
    space = SearchSpace([Range("x1", -10, 10), Range("x2", -10, 10)])
    eng = Engine(space, [Objective("y", minimize=True)], [], seed=3)

    def booth(p):
        return {"y": (p["x1"] + 2 * p["x2"] - 7) ** 2 + (2 * p["x1"] + p["x2"] - 5) ** 2}

    trials = run(eng, booth, [], steps=8)
    fm = eng._fitted(trials, ["y"])
    assert fm.warps == {"y": "yj"} and "y" in fm.acq_models
    assert fm.model_list(["y"]) is fm.acq_models["y"]
    display = fm.models["y"]
    assert display is not fm.acq_models["y"]
    ys = np.array([t.result["y"][0] for t in trials])
    mu, sd = fm.predict_unit(fm.data["y"].X)["y"]
    assert np.allclose(mu, ys, rtol=1e-2, atol=1e-2 * np.ptp(ys)) and np.all(sd >= 0)
    pred = eng.predict(trials, [trials[-1].parameters])["y"][0][0]
    assert pred == pytest.approx(ys[-1], rel=1e-2, abs=1e-2 * np.ptp(ys))
    # constrained, multi-objective and known-sem objectives are not warped
    cons = [parse_outcome_constraint("y <= 100")]
    assert Engine(space, [Objective("y", minimize=True)], cons, seed=3)._fitted(
        trials, ["y"]).warps == {}
    with_sem = [done(t.index, t.parameters, {"y": (t.result["y"][0], 0.1)}) for t in trials]
    assert eng._fitted(with_sem, ["y"]).warps == {}
    mo = Engine(space, [Objective("y", minimize=True), Objective("z")], [], seed=3)
    both = [done(t.index, t.parameters, {"y": 10.0 + t.index, "z": 1.0 + t.index})
            for t in trials]
    assert mo._fitted(both, ["y", "z"]).warps == {}  # no outlier: nothing to winsorize


def test_winsorizing_clips_only_the_bad_tail_beyond_the_threshold():
    from axnb.engine.models import warp_values

    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 300.0])  # minimized, one huge value
    w = warp_values(y, "winsor", -1.0)
    q1, q3 = 2.0, 7.0  # Tukey fence q3 + 1.5 (q3 - q1) = 14.5
    assert np.array_equal(w[:-1], y[:-1]) and w[-1] == pytest.approx(q3 + 1.5 * (q3 - q1))
    # a threshold beyond q3 moves the fence out: 20 + 1.5 * (20 - 2) = 47
    assert warp_values(y, "winsor", -1.0, bound=20.0)[-1] == pytest.approx(47.0)
    # maximized: the low tail is clipped, mirror image
    v = warp_values(-y, "winsor", 1.0, bound=-20.0)
    assert np.array_equal(v[:-1], -y[:-1]) and v[-1] == pytest.approx(-47.0)
    assert np.all(np.diff(w) >= 0)
    assert np.array_equal(warp_values(y[:5], "winsor", -1.0), y[:5])  # nothing beyond


def test_several_objectives_acquire_on_winsorized_models_and_predict_unchanged():
    from axnb.engine import models as M

    assert M.MOO_WARP == "winsor"
    space = SearchSpace([Range("x1", 0, 1), Range("x2", 0, 1)])
    cons = [parse_outcome_constraint("y <= 20")]  # a threshold: the reference point
    eng = Engine(space, [Objective("y", minimize=True), Objective("z", minimize=True)], cons,
                 seed=1)

    def f(p):
        y = 300.0 if p["x1"] > 0.9 else 10 * p["x1"] + p["x2"]
        return {"y": y, "z": (1 - p["x1"]) ** 2 + p["x2"]}

    rows = [(0.1, 0.2), (0.3, 0.9), (0.5, 0.5), (0.7, 0.1), (0.2, 0.6), (0.95, 0.3),
            (0.4, 0.4), (0.6, 0.8)]
    trials = [done(i, {"x1": a, "x2": b}, f({"x1": a, "x2": b})) for i, (a, b) in
              enumerate(rows)]
    fm = eng._fitted(trials, ["y", "z"])
    assert fm.warps == {"y": "winsor"}  # z has no outlier
    ys = np.array([t.result["y"][0] for t in trials])
    acq_train = fm.acq_models["y"].outcome_transform.untransform(
        fm.acq_models["y"].train_targets.unsqueeze(-1))[0].squeeze(-1).detach().numpy()
    assert acq_train.max() < 300.0 and np.allclose(acq_train[ys < 300], ys[ys < 300])
    # predictions (plots, predict) use the GP of the raw observations
    mu, _ = fm.predict_unit(fm.data["y"].X)["y"]
    assert mu.max() == pytest.approx(300.0, rel=0.05)
    s = eng.suggest(trials)[0]
    assert s.source == "model"


def test_few_discrete_combinations_with_linear_constraint_are_valid_and_quick():
    import time

    space = SearchSpace.build([Range("w1", 0, 1), Range("w2", 0, 1), Int("depth", 1, 8),
                               Choice("kernel", ["rbf", "linear", "poly"])], ["w1 + w2 <= 1"])
    cons = [parse_outcome_constraint("cost <= 6")]
    eng = Engine(space, [Objective("error", minimize=True)], cons, seed=0, initial_trials=4)

    def f(p):
        bonus = {"rbf": 0.0, "linear": 0.2, "poly": 0.1}[p["kernel"]]
        err = (p["w1"] - 0.3) ** 2 + (p["w2"] - 0.5) ** 2 + 0.02 * (p["depth"] - 5) ** 2 + bonus
        return {"error": err, "cost": p["depth"] + 2 * p["w2"]}

    trials = run(eng, f, [], steps=4)
    t = time.perf_counter()
    trials = run(eng, f, trials, steps=3)
    assert time.perf_counter() - t < 60  # was 20-85 s per suggestion with the alternating search
    for tr in trials:
        check_valid(space, tr.parameters)
    assert [tr.source for tr in trials[4:]] == ["model"] * 3


def test_several_objectives_never_compile_a_cpp_extension(tmp_path):
    """BoTorch's fused qLogEHVI kernel is compiled at first use (17-35 s, per venv, needs a
    compiler) and would make suggestions differ between machines: axnb keeps BoTorch from
    trying (acquisition.FUSED_QLOGEHVI). In a fresh process, where nothing was loaded yet."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import torch.utils.cpp_extension as ext
        calls = []
        ext.load = lambda *a, **k: calls.append(k.get("name")) or (_ for _ in ()).throw(
            RuntimeError("no compile"))
        import axnb
        exp = axnb.Experiment("moo", [axnb.Range("x1", 0, 1), axnb.Range("x2", 0, 1)],
                              objectives={{"a": "min", "b": "min"}}, path={str(tmp_path)!r},
                              seed=0, initial_trials=4)
        for _ in range(5):
            t = exp.suggest()
            exp.complete(t.index, {{"a": t.parameters["x1"], "b": 1 - t.parameters["x1"]
                                                          + t.parameters["x2"]}})
        print("source", t.source, "compiles", calls)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "source model compiles []" in out.stdout, out.stdout + out.stderr[-2000:]
