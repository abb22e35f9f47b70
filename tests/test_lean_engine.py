"""The lean fit closure (``models._fit_mll_lean``) and the lean qLogNEI posterior
(``acquisition._lean_qlognei``) are speed paths: they must give what BoTorch's own fit and
acquisition give, and leave other models to BoTorch."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import axnb
from axnb.engine import acquisition, models

torch = pytest.importorskip("torch")


def _data(seed: int, n: int = 24, d: int = 4, cat: bool = False):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    if cat:
        X[:, -1] = rng.integers(0, 3, n)
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2 - (X[:, -1] == 1) + 0.05 * rng.standard_normal(n)
    return torch.tensor(X), torch.tensor(y).unsqueeze(-1)


def _model(X, Y, cat: bool):
    from botorch.models import MixedSingleTaskGP, SingleTaskGP
    from botorch.models.transforms.outcome import Standardize

    if cat:
        return MixedSingleTaskGP(X, Y, cat_dims=[X.shape[-1] - 1], outcome_transform=Standardize(1))
    return SingleTaskGP(X, Y, outcome_transform=Standardize(1))


def _mll(model) -> float:
    from gpytorch.mlls import ExactMarginalLogLikelihood

    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    mll.train()
    with torch.no_grad():
        value = float(mll(model(*model.train_inputs), model.train_targets))
    mll.eval()
    return value


@pytest.mark.parametrize("cat", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lean_fit_reaches_botorchs_marginal_likelihood(seed, cat, monkeypatch):
    X, Y = _data(seed, cat=cat)
    fitted = {}
    for lean in (False, True):
        monkeypatch.setattr(models, "LEAN_FIT", lean)
        torch.manual_seed(seed)
        model = _model(X, Y, cat)
        models._fit_mll(model, max_attempts=3, ftol=models.FIT_FTOL)
        fitted[lean] = _mll(model)
    assert fitted[True] == pytest.approx(fitted[False], abs=2e-3)


def test_lean_fit_leaves_subclasses_and_multitask_models_to_botorch():
    from botorch.models import MultiTaskGP, SingleTaskGP

    class MyGP(SingleTaskGP):
        pass

    X, Y = _data(0)
    assert models._lean_fit_applies(SingleTaskGP(X, Y))
    assert not models._lean_fit_applies(MyGP(X, Y))
    Xt = torch.cat([X, (torch.arange(len(X)) % 2).unsqueeze(-1).double()], dim=-1)
    assert not models._lean_fit_applies(MultiTaskGP(Xt, Y, task_feature=-1))


@pytest.mark.parametrize("cat", [False, True])
def test_lean_qlognei_matches_botorch_values_and_gradients(cat):
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.sampling import SobolQMCNormalSampler

    X, Y = _data(3, cat=cat)
    model = _model(X, Y, cat)
    models._fit_mll(model, max_attempts=3, ftol=models.FIT_FTOL)
    pending = X[:2] + 0.01
    lean_cls = acquisition._lean_qlognei()
    values, grads = [], []
    for cls in (qLogNoisyExpectedImprovement, lean_cls):
        acqf = cls(model, X_baseline=X, sampler=SobolQMCNormalSampler(torch.Size([64]), seed=5),
                   X_pending=pending, prune_baseline=True, cache_root=True)
        gen = torch.Generator().manual_seed(1)
        Xc = torch.rand(7, 1, X.shape[-1], dtype=X.dtype, generator=gen)
        if cat:
            Xc[..., -1] = torch.tensor([0.0, 1, 2, 0, 1, 2, 0]).view(7, 1)
        Xc.requires_grad_(True)
        v = acqf(Xc)
        (g,) = torch.autograd.grad(v.sum(), Xc)
        values.append(v.detach())
        grads.append(g[..., :-1] if cat else g)
    assert torch.allclose(values[0], values[1], atol=1e-8, rtol=1e-7)
    assert torch.allclose(grads[0], grads[1], atol=1e-7, rtol=1e-6)


def test_speed_paths_do_not_change_what_an_experiment_suggests(tmp_path, monkeypatch):
    """The same experiment with and without the lean paths suggests the same points while
    the acquisition has a clear maximum. (Later, on flat acquisition surfaces, differences of
    1e-12 send L-BFGS-B to other points of nearly the same value: from the 7th trial here.)"""

    def run(lean: bool, path) -> list[dict]:
        monkeypatch.setattr(models, "LEAN_FIT", lean)
        monkeypatch.setattr(acquisition, "LEAN_POSTERIOR", lean)
        exp = axnb.Experiment(
            "lean", [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0),
                     axnb.Choice("c", ["a", "b"])],
            objective="f", minimize=True, seed=3, path=path / "e.json")
        out = []
        for _ in range(6):
            t = exp.suggest()
            p = t.parameters
            exp.complete(t, (p["x"] - 0.3) ** 2 + (p["y"] - 0.6) ** 2 + (p["c"] == "b") * 0.2)
            out.append(p)
        return out

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    slow, fast = run(False, tmp_path / "a"), run(True, tmp_path / "b")
    for a, b in zip(slow, fast):
        assert a["c"] == b["c"]
        assert a["x"] == pytest.approx(b["x"], abs=1e-6)
        assert a["y"] == pytest.approx(b["y"], abs=1e-6)


@pytest.mark.parametrize("direct", [True, False])
@pytest.mark.parametrize("cat", [False, True])
def test_dense_kernel_equals_gpytorchs(cat, direct, monkeypatch):
    from botorch.optim.utils import sample_all_priors

    if not direct:  # the matmul expansion that large data take
        monkeypatch.setattr(models, "DIRECT_DIFFERENCES", 0)

    X, Y = _data(4, cat=cat)
    model = _model(X, Y, cat)
    torch.manual_seed(0)
    sample_all_priors(model)
    with torch.no_grad():
        for p in model.covar_module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    Z = X[:5] + 0.02
    import gpytorch

    with gpytorch.settings.lazily_evaluate_kernels(False):
        ref = model.covar_module(Z, X).to_dense()
    assert torch.allclose(models.dense_kernel(model.covar_module)(Z, X), ref, atol=1e-12)


def test_refit_anchor_schedule(monkeypatch):
    monkeypatch.setattr(models, "REFIT_FROM", None)
    assert [models.refit_anchor(n, 500) for n in (5, 250, 600)] == [5, 250, 600]
    monkeypatch.setattr(models, "REFIT_FROM", 200)
    monkeypatch.setattr(models, "REFIT_GROWTH", 0.05)
    got = [models.refit_anchor(n, 500) for n in (150, 200, 209, 210, 219, 220, 231, 499, 500)]
    assert got == [150, 200, 200, 210, 210, 220, 231, 493, 500]


def test_long_runs_refit_at_anchors_only_and_reproduce_after_reload(tmp_path, monkeypatch):
    """With the refit schedule on (here from 8 observations, +25% each), a run fits the
    hyperparameters at 8, 10 and 12 observations only (the acquisition's warped GP), and a
    reloaded experiment (a new process would do the same) suggests exactly the same point."""
    monkeypatch.setattr(models, "REFIT_FROM", 8)
    monkeypatch.setattr(models, "REFIT_GROWTH", 0.25)
    exp = axnb.Experiment("refit", [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0)],
                          objective="f", minimize=True, seed=1, path=tmp_path / "e.json")

    def f(p: dict) -> float:
        return (p["x"] - 0.3) ** 2 + (p["y"] - 0.6) ** 2

    for _ in range(8):
        t = exp.suggest()
        exp.complete(t, f(t.parameters))
    fits = exp.engine.cache.fits
    for _ in range(5):  # suggestions at 8, 9, 10, 11, 12 observations
        t = exp.suggest()
        assert t.source == "model"
        exp.complete(t, f(t.parameters))
    assert exp.engine.cache.fits - fits == 3  # 8, 10 and 12: one warped GP each
    (tmp_path / "copy").mkdir()
    shutil.copy(tmp_path / "e.json", tmp_path / "copy" / "e.json")
    again = axnb.load(tmp_path / "copy" / "e.json")
    assert again.suggest().parameters == exp.suggest().parameters
