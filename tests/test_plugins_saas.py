"""The fully Bayesian SAAS GP as a plug-in (``model="SaasFullyBayesianSingleTaskGP"``).

BoTorch fits it by NUTS in NumPyro, which needs JAX (``pip install 'axnb[saas]'``, ~400 MB).
``make test`` runs this file in ``.venv-saas``, the test venv plus those packages; without
them (a plain ``.venv``) the file is skipped, and a test checks the clear error instead.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import axnb
from axnb.engine.plugins import PluginError

D = 6
PARAMS = [axnb.Range(f"x{i}", 0.0, 1.0) for i in range(D)]
#: Small NUTS runs keep a fit to a few seconds (most of it JAX compiling for the data size).
NUTS = {"warmup_steps": 32, "num_samples": 16, "thinning": 4}


def f(p: dict) -> float:
    """Two of the six parameters matter."""
    return (p["x1"] - 0.3) ** 2 + 2 * (p["x4"] - 0.7) ** 2


def _has_jax() -> bool:
    try:
        import jax  # noqa: F401
        import numpyro  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(_has_jax(), reason="JAX is installed here")
def test_without_jax_the_error_names_the_extra(tmp_path):
    with pytest.raises(PluginError, match=r"axnb\[saas\]"):
        axnb.Experiment("s", PARAMS, objective="loss", path=tmp_path,
                        model="SaasFullyBayesianSingleTaskGP")
    assert not list(tmp_path.iterdir())


needs_jax = pytest.mark.skipif(not _has_jax(), reason="needs JAX and NumPyro (axnb[saas])")


@needs_jax
def test_saas_suggests_predicts_and_round_trips(tmp_path):
    exp = axnb.Experiment("saas", PARAMS, objective="loss", seed=0, path=tmp_path,
                          initial_trials=6,
                          model="botorch.models.SaasFullyBayesianSingleTaskGP",  # as API.md
                          model_options=NUTS)
    rng = np.random.default_rng(0)
    for _ in range(16):
        p = {f"x{i}": float(v) for i, v in enumerate(rng.random(D))}
        exp.attach(p, result=f(p))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to random points
        exp.run(f, trials=2)
    assert [t.source for t in exp.trials][-2:] == ["model", "model"]
    config = json.loads(exp.path.read_text())["config"]
    assert config["model"] == "botorch.models.fully_bayesian.SaasFullyBayesianSingleTaskGP"
    assert config["model_options"] == NUTS

    fitted = exp.engine.fit(exp.trials)
    model = fitted.models["loss"]
    assert type(model).__name__ == "SaasFullyBayesianSingleTaskGP"
    assert model.batch_shape == (NUTS["num_samples"] // NUTS["thinning"],)
    means, sds = exp.predict([exp.trials[0].parameters])["loss"]
    assert len(means) == 1 and np.isfinite(means[0]) and sds[0] > 0
    for fig in (exp.plot.slice("x1"), exp.plot.cross_validation(), exp.plot.importance(),
                exp.plot.contour("x1", "x4")):
        assert fig.data
    # The two parameters that matter have the shortest lengthscales (SAAS shrinks the rest).
    ls = model.median_lengthscale.detach().numpy().reshape(-1)
    assert set(np.argsort(ls)[:2]) == {1, 4}

    # reload: same model class and options, the same next suggestion
    copy = tmp_path / "copy.axnb.json"
    copy.write_text(exp.path.read_text())
    again = axnb.load(copy)
    assert again.model is exp.model
    assert again.suggest().parameters == exp.suggest().parameters
