"""Custom BoTorch models and acquisitions (``Experiment(model=..., acquisition=...)``):
plug-in, JSON round trip, reload of a notebook-defined class, clear errors, and the plots,
``predict``, cross-validation and importance on the custom model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import axnb
from axnb.engine.plugins import PluginError
from axnb.errors import ConfigurationMismatchError, CorruptFileError

PARAMS = [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0)]

#: A user's own GP in a module of theirs: a SingleTaskGP with a Matern-1/2 kernel.
USER_MODULE = '''
from botorch.models import SingleTaskGP
from gpytorch.kernels import MaternKernel, ScaleKernel


class RoughGP(SingleTaskGP):
    """SingleTaskGP with a Matern-1/2 ARD kernel."""

    def __init__(self, train_X, train_Y, train_Yvar=None, outcome_transform=None):
        kernel = ScaleKernel(MaternKernel(nu=0.5, ard_num_dims=train_X.shape[-1]))
        super().__init__(train_X, train_Y, train_Yvar, covar_module=kernel,
                         outcome_transform=outcome_transform)


class TwoOutputs(SingleTaskGP):
    """Wrong for axnb: two outputs for one metric."""

    def __init__(self, train_X, train_Y, outcome_transform=None):
        super().__init__(train_X, train_Y.repeat(1, 2))
'''


def loss(p: dict) -> float:
    return (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2


def _run(exp: axnb.Experiment, trials: int = 6) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to random points
        exp.run(loss, trials=trials)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    import my_models

    return importlib.reload(my_models)


def test_qucb_by_name_with_beta_round_trips_and_reproduces(tmp_path):
    exp = axnb.Experiment("ucb", PARAMS, objective="loss", seed=3, path=tmp_path,
                          acquisition="qUpperConfidenceBound",
                          acquisition_options={"beta": 2.0})
    _run(exp)
    assert [t.source for t in exp.trials][-3:] == ["model"] * 3
    assert exp.engine.last_acquisition == "qUpperConfidenceBound"
    config = json.loads(exp.path.read_text())["config"]
    assert config["acquisition"] == "botorch.acquisition.monte_carlo.qUpperConfidenceBound"
    assert config["acquisition_options"] == {"beta": 2.0}
    assert "model" not in config

    again = axnb.load(exp.path)
    assert again.acquisition.__name__ == "qUpperConfidenceBound"
    from botorch.acquisition import qUpperConfidenceBound

    acqf, kind, _ = again.engine.acquisition(again.trials, 0)
    assert isinstance(acqf, qUpperConfidenceBound) and kind == "qUpperConfidenceBound"
    assert float(acqf.beta_prime) == pytest.approx((2.0 * np.pi / 2) ** 0.5)
    # the same seed and data give the same suggestion in a fresh experiment
    copy = _copy(exp, tmp_path / "copy.axnb.json")
    assert again.suggest().parameters == copy.suggest().parameters


def _copy(exp: axnb.Experiment, path) -> axnb.Experiment:
    path.write_text(exp.path.read_text())
    return axnb.load(path)


def test_beta_changes_the_suggestion(tmp_path):
    picks = []
    for beta in (0.01, 100.0):
        exp = axnb.Experiment(f"b{beta}", PARAMS, objective="loss", seed=1, path=tmp_path,
                              acquisition="qUpperConfidenceBound",
                              acquisition_options={"beta": beta})
        for p in ({"x": 0.1, "y": 0.1}, {"x": 0.9, "y": 0.2}, {"x": 0.3, "y": 0.6},
                  {"x": 0.5, "y": 0.9}):
            exp.attach(p, result=loss(p))
        picks.append(exp.suggest().parameters)
    assert picks[0] != picks[1]


def test_qei_with_outcome_constraint(tmp_path):
    exp = axnb.Experiment("qei", PARAMS, objective="loss", seed=0, path=tmp_path,
                          outcome_constraints=["cost <= 0.8"], acquisition="qExpectedImprovement")

    def f(p):
        return {"loss": loss(p), "cost": p["x"] + p["y"]}

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        exp.run(f, trials=8)
    assert exp.trials[-1].source == "model"
    from botorch.acquisition import qExpectedImprovement

    acqf, _, _ = exp.engine.acquisition(exp.trials, 0)
    assert isinstance(acqf, qExpectedImprovement) and acqf._constraints


def test_user_model_from_a_module_is_used_everywhere(tmp_path, user_module):
    exp = axnb.Experiment("rough", PARAMS, objective="loss", seed=2, path=tmp_path,
                          model=user_module.RoughGP)
    _run(exp)
    assert json.loads(exp.path.read_text())["config"]["model"] == "my_models.RoughGP"
    fitted = exp.engine.fit(exp.trials)
    model = fitted.models["loss"]
    assert type(model).__name__ == "RoughGP"
    # predict, plots, cross-validation and importance come from that model
    import torch

    point = {"x": 0.3, "y": 0.7}
    means, _ = exp.predict([point])["loss"]
    with torch.no_grad():
        direct = model.posterior(torch.tensor([[0.3, 0.7]], dtype=torch.float64)).mean
    assert means[0] == pytest.approx(float(direct), rel=1e-9)
    for fig in (exp.plot.contour("x", "y"), exp.plot.slice("x"),
                exp.plot.cross_validation(), exp.plot.importance()):
        assert fig.data
    again = axnb.load(exp.path)
    assert again.model is user_module.RoughGP
    assert type(again.engine.fit(again.trials).models["loss"]).__name__ == "RoughGP"


def test_custom_model_with_several_objectives_and_pending(tmp_path, user_module):
    exp = axnb.Experiment(
        "moo", PARAMS, objectives={"a": "min", "b": "min"}, seed=0, path=tmp_path,
        model=user_module.RoughGP, acquisition="qLogNoisyExpectedHypervolumeImprovement")

    def f(p):
        return {"a": p["x"] ** 2 + p["y"], "b": (1 - p["x"]) ** 2 + p["y"]}

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        exp.run(f, trials=6)
        batch = exp.suggest(n=2)  # the second avoids the first (pending)
    assert [t.source for t in batch] == ["model", "model"]
    assert batch[0].parameters != batch[1].parameters
    assert exp.pareto()


def test_class_defined_in_a_notebook_is_supplied_on_reload(tmp_path):
    path = tmp_path / "nb.axnb.json"
    script = textwrap.dedent(f'''
        import axnb
        {textwrap.indent(USER_MODULE, "        ").strip()}

        exp = axnb.Experiment("nb", [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0)],
                              objective="loss", seed=0, path={str(path)!r}, model=RoughGP)
        exp.run(lambda p: (p["x"] - 0.3) ** 2 + p["y"], trials=5)
    ''')
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    assert json.loads(path.read_text())["config"]["model"] == "__main__.RoughGP"
    with pytest.raises(PluginError, match=r"axnb.load\(path, model=RoughGP\)"):
        axnb.load(path)
    namespace: dict = {}
    exec(USER_MODULE, namespace)  # what the notebook defines again after a restart
    exp = axnb.load(path, model=namespace["RoughGP"])
    assert len(exp.trials) == 5
    assert type(exp.engine.fit(exp.trials).models["loss"]).__name__ == "RoughGP"
    with pytest.raises(PluginError, match="another class"):
        axnb.load(path, model=namespace["TwoOutputs"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "botorch.models.NoSuchGP"}, "is not in module"),
        ({"model": "NoSuchGP"}, "No model class named 'NoSuchGP'"),
        ({"model": "not_a_package_xyz.GP"}, "Cannot import model"),
        ({"model": int}, "not a BoTorch model class"),
        ({"model": 3}, "takes a BoTorch model class"),
        ({"model": "botorch.models.MultiTaskGP"}, "cannot be built"),
        ({"model": "SingleTaskGP", "model_options": {"bogus": 1}},
         r"model_options \['bogus'\] are not arguments"),
        ({"acquisition": "qNoSuchThing"}, "No acquisition class"),
        ({"acquisition": "botorch.models.SingleTaskGP"}, "not a BoTorch acquisition"),
        ({"acquisition": "qUpperConfidenceBound", "acquisition_options": {"bogus": 1}},
         r"acquisition_options \['bogus'\]"),
        ({"acquisition": "qUpperConfidenceBound", "acquisition_options": {"model": 1}},
         r"acquisition_options \['model'\]"),
        ({"acquisition": "qLogNoisyExpectedHypervolumeImprovement"}, "several objectives"),
        ({"acquisition_options": {"beta": 1.0}}, "without acquisition="),
        ({"acquisition": "qUpperConfidenceBound", "acquisition_options": {"beta": np.nan}},
         "JSON values"),
    ],
)
def test_bad_plugins_give_clear_errors_and_write_nothing(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        axnb.Experiment("bad", PARAMS, objective="loss", path=tmp_path, **kwargs)
    assert not list(tmp_path.iterdir())


def test_model_with_two_outputs_is_refused(tmp_path, user_module):
    with pytest.raises(PluginError, match="gives 2 outputs"):
        axnb.Experiment("two", PARAMS, objective="loss", path=tmp_path,
                        model=user_module.TwoOutputs)


def test_what_a_class_cannot_do_is_said(tmp_path):
    with pytest.raises(PluginError, match="cannot take outcome constraints"):
        axnb.Experiment("c", PARAMS, objective="loss", path=tmp_path,
                        outcome_constraints=["cost <= 1"], acquisition="UpperConfidenceBound")
    with pytest.raises(PluginError, match="optimizes one objective"):
        axnb.Experiment("m", PARAMS, objectives={"a": "min", "b": "max"}, path=tmp_path,
                        acquisition="qUpperConfidenceBound")
    exp = axnb.Experiment("a", PARAMS, objective="loss", seed=0, path=tmp_path,
                          acquisition="UpperConfidenceBound", acquisition_options={"beta": 1.0})
    _run(exp, 4)
    with pytest.raises(PluginError, match="qUpperConfidenceBound"):
        exp.suggest(n=2)
    exp.suggest()  # one at a time works ...
    with pytest.raises(PluginError, match="1 running"):
        exp.suggest()  # ... but not next to a running trial
    assert len(exp.trials) == 5


def test_resuming_with_another_model_is_a_mismatch(tmp_path):
    axnb.Experiment("r", PARAMS, objective="loss", seed=0, path=tmp_path,
                    acquisition="qUpperConfidenceBound")
    with pytest.raises(ConfigurationMismatchError, match="acquisition: file has"):
        axnb.Experiment("r", PARAMS, objective="loss", seed=0, path=tmp_path)
    same = axnb.Experiment("r", PARAMS, objective="loss", seed=0, path=tmp_path,
                           acquisition="botorch.acquisition.qUpperConfidenceBound")
    assert same.acquisition.__name__ == "qUpperConfidenceBound"


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [("model", 5, "config.model"), ("acquisition_options", {"beta": 1}, "acquisition_options"),
     ("fidelities", ["low"], "not known to this axnb")],
)
def test_tampered_plugin_config_is_refused(tmp_path, key, value, match):
    exp = axnb.Experiment("t", PARAMS, objective="loss", seed=0, path=tmp_path)
    data = json.loads(exp.path.read_text())
    data["config"][key] = value
    exp.path.write_text(json.dumps(data))
    with pytest.raises(CorruptFileError, match=match):
        axnb.load(exp.path)
