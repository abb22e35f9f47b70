"""Hierarchical parameters (when=): activity in suggestions, attach, the file and the model."""

import json
import math

import pytest

import axnb

SPACE = [
    axnb.Choice("model", ["svm", "forest"]),
    axnb.Range("C", 1e-3, 1e3, log=True, when={"model": "svm"}),
    axnb.Range("gamma", 1e-3, 1.0, log=True, when={"model": "svm"}),
    axnb.Int("trees", 10, 500, when={"model": "forest"}),
    axnb.Int("depth", 2, 12, when={"model": "forest"}),
    axnb.Choice("split", ["gini", "entropy"], when={"depth": [10, 11, 12]}),  # nested
]


def loss(p):
    if p["model"] == "svm":
        return (math.log10(p["C"]) - 1) ** 2 + (math.log10(p["gamma"]) + 2) ** 2
    extra = 0.1 if p.get("split") == "gini" else 0.0
    return 1 + ((p["trees"] - 200) / 200) ** 2 + extra


def active_ok(p):
    if p["model"] == "svm":
        return set(p) == {"model", "C", "gamma"}
    expected = {"model", "trees", "depth"} | ({"split"} if p["depth"] >= 10 else set())
    return set(p) == expected


def test_suggestions_hold_only_active_parameters(tmp_path):
    exp = axnb.Experiment("h", SPACE, objective="loss", path=tmp_path, seed=0,
                          initial_trials=6)
    for _ in range(14):
        t = exp.suggest()
        assert active_ok(t.parameters), t.parameters
        exp.complete(t.index, loss(t.parameters))
    batch = exp.suggest(n=3)
    assert all(active_ok(t.parameters) for t in batch)
    assert {t.source for t in exp.trials} >= {"init", "model"}
    assert exp.best()[0]["model"] == "svm"  # the better branch is found


def test_attach_checks_activity(tmp_path):
    exp = axnb.Experiment("a", SPACE, objective="loss", path=tmp_path)
    before = exp.path.read_bytes()
    with pytest.raises(axnb.InvalidParameterError, match=r"Missing value.*\['C'\].*model='svm'"):
        exp.attach({"model": "svm", "gamma": 0.1})
    with pytest.raises(axnb.InvalidParameterError,
                       match=r"'trees' is inactive here.*applies when model='forest'.*leave it"):
        exp.attach({"model": "svm", "C": 1.0, "gamma": 0.1, "trees": 100})
    with pytest.raises(axnb.InvalidParameterError, match=r"\['split'\]"):
        exp.attach({"model": "forest", "trees": 100, "depth": 11})
    assert exp.path.read_bytes() == before
    t = exp.attach({"model": "forest", "trees": 100, "depth": 11, "split": "gini"}, result=1.0)
    assert t.parameters == {"model": "forest", "trees": 100, "depth": 11, "split": "gini"}
    frame = exp.to_dataframe()
    assert math.isnan(frame.loc[0, "C"]) and frame.loc[0, "trees"] == 100


def test_the_file_records_when_and_reloads(tmp_path):
    exp = axnb.Experiment("f", SPACE, objective="loss", path=tmp_path, seed=0)
    exp.attach({"model": "svm", "C": 10.0, "gamma": 0.01}, result=0.0)
    raw = json.loads(exp.path.read_text())
    assert raw["config"]["parameters"][1]["when"] == {"model": ["svm"]}
    assert raw["trials"][0]["parameters"] == {"model": "svm", "C": 10.0, "gamma": 0.01}
    again = axnb.load(exp.path)
    assert again.space["split"].when == (("depth", (10, 11, 12)),)
    assert again.trial(0).parameters == exp.trial(0).parameters
    # re-running the cell resumes
    assert len(axnb.Experiment("f", SPACE, objective="loss", path=tmp_path).trials) == 1


def test_ax_dependents_become_when(tmp_path):
    params = [
        {"name": "model", "type": "choice", "values": ["svm", "forest"],
         "dependents": {"svm": ["C"], "forest": ["trees"]}},
        {"name": "C", "type": "range", "bounds": [0.001, 1000.0], "log_scale": True},
        {"name": "trees", "type": "range", "bounds": [10, 500], "value_type": "int"},
    ]
    exp = axnb.Experiment("ax", params, objective="loss", path=tmp_path)
    assert exp.space["C"].when == (("model", ("svm",)),)
    assert exp.space["trees"].when == (("model", ("forest",)),)


@pytest.mark.parametrize("when, match", [
    ({"nope": "x"}, "not a parameter"),
    ({"model": "tree"}, "not a value 'model' can take"),
    ({"lr": 0.1}, "a parent must be a Choice, Int or Fixed"),
    ({"model": []}, "allows no value"),
    ("model", "must be a dict"),
])
def test_bad_when_is_a_clear_error(tmp_path, when, match):
    with pytest.raises(axnb.InvalidParameterError, match=match):
        axnb.Experiment("bad", [axnb.Choice("model", ["svm", "forest"]),
                                axnb.Range("lr", 0.0, 1.0),
                                axnb.Range("C", 0.0, 1.0, when=when)],
                        objective="y", path=tmp_path)
    assert not (tmp_path / "bad.axnb.json").exists()


def test_a_circle_of_conditions_is_refused(tmp_path):
    with pytest.raises(axnb.InvalidParameterError, match="in a circle"):
        axnb.Experiment("loop", [axnb.Choice("a", ["x", "y"], when={"b": "x"}),
                                 axnb.Choice("b", ["x", "y"], when={"a": "x"})],
                        objective="y", path=tmp_path)


def test_linear_constraints_on_conditional_parameters_are_refused(tmp_path):
    with pytest.raises(axnb.ConstraintError, match="active only sometimes"):
        axnb.Experiment("lin", [axnb.Choice("m", ["a", "b"]),
                                axnb.Range("x", 0.0, 1.0, when={"m": "a"}),
                                axnb.Range("y", 0.0, 1.0)],
                        constraints=["x + y <= 1"], objective="v", path=tmp_path)


def test_pinning_a_child_needs_its_parent(tmp_path):
    exp = axnb.Experiment("pin", SPACE, objective="loss", path=tmp_path, seed=0)
    with pytest.raises(axnb.InvalidParameterError, match=r"pin its parent.*'model': 'forest'"):
        exp.suggest(fixed={"trees": 100})
    t = exp.suggest(fixed={"model": "forest", "trees": 100})
    assert t.parameters["model"] == "forest" and t.parameters["trees"] == 100


def test_a_small_discrete_hierarchical_space_is_swept_once(tmp_path):
    space = [axnb.Choice("kind", ["a", "b"]), axnb.Int("na", 1, 3, when={"kind": "a"}),
             axnb.Int("nb", 1, 2, when={"kind": "b"})]
    exp = axnb.Experiment("grid", space, objective="y", path=tmp_path, seed=0,
                          initial_trials=2)
    seen = set()
    for _ in range(5):  # 3 + 2 distinct points
        t = exp.suggest()
        key = tuple(sorted(t.parameters.items()))
        assert key not in seen
        seen.add(key)
        exp.complete(t.index, float(len(seen)))
    assert len(seen) == 5
    with pytest.warns(UserWarning, match="have been tried"):
        exp.suggest()


# ------------------------------------------------------------------ the acquisition optimizer
def _branch_names(exp, branch):
    """{name: 'inactive' | pinned value | 'free'} for the columns of one branch's pins."""
    from axnb.engine.encoding import INACTIVE

    enc = exp.engine.encoder
    out = {}
    for j, c in enumerate(enc.columns):
        if j not in branch:
            out[c.name] = "free"
        elif branch[j] == INACTIVE:
            out[c.name] = "inactive"
        else:
            out[c.name] = enc.decode_value(j, branch[j])
    return out


def test_the_optimizer_searches_one_branch_at_a_time(tmp_path):
    """Each branch is optimized with its inactive columns where its trials have them: the
    parents' values grouped by the children they switch on (depth 2..9 / 10..12)."""
    exp = axnb.Experiment("h", SPACE, objective="loss", path=tmp_path, seed=0)
    opt = exp.engine.optimizer
    got = [_branch_names(exp, b) for b in opt.branches({})]
    assert len(got) == 3
    svm = {"model": "svm", "C": "free", "gamma": "free", "trees": "inactive",
           "depth": "inactive", "split": "inactive"}
    shallow = {"model": "forest", "C": "inactive", "gamma": "inactive", "trees": "free",
               "depth": "free", "split": "inactive"}
    deep = dict(shallow, split="free")
    assert svm in got and shallow in got and deep in got
    # a pinned parent leaves its branch only
    j = exp.engine.encoder.index["model"]
    pinned = opt.branches({j: exp.engine.encoder.encode_value("model", "svm")})
    assert [_branch_names(exp, b) for b in pinned] == [svm]
    # no when=: no branches
    flat = axnb.Experiment("f", [axnb.Range("x", 0, 1)], objective="y", path=tmp_path / "f")
    assert flat.engine.optimizer.branches({}) is None


def test_model_suggestions_are_rated_where_they_are_suggested(tmp_path):
    """The candidates come out with their inactive columns at INACTIVE, best first by the
    acquisition at those very rows (not at rows whose inactive columns roamed over [0, 1])."""
    import numpy as np
    import torch

    from axnb.engine.encoding import INACTIVE

    exp = axnb.Experiment("h", SPACE, objective="loss", path=tmp_path, seed=0,
                          initial_trials=6)
    for _ in range(8):
        t = exp.suggest()
        exp.complete(t.index, loss(t.parameters))
    strategy = exp.engine
    acqf, _, _ = strategy.acquisition(exp.trials, 0)
    rows = strategy.optimizer.candidates(acqf, {})
    enc = strategy.encoder
    for row in rows:
        on = exp.space.active(enc.decode(row))
        for j, c in enumerate(enc.columns):
            assert (row[j] == INACTIVE) == (c.name not in on), (c.name, row)
    with torch.no_grad():
        values = acqf(torch.tensor(np.asarray(rows)).unsqueeze(-2)).reshape(-1).numpy()
    assert np.all(np.diff(values) <= 1e-9)
