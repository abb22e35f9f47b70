"""Analyses (exp.plot): the records' numbers on a mixed space, arguments, trace layouts."""

import math
import warnings

import numpy as np
import plotly.graph_objects as go
import pytest

import axnb
from axnb.analysis import (
    compute_contour,
    compute_cross_validation,
    compute_importance,
    compute_parallel,
    compute_pareto,
    compute_progress,
    compute_slice,
    draw_contour,
    draw_progress,
    draw_slice,
)

OPT_COST = {"adam": 0.0, "sgd": 0.3, "rms": 0.1}


@pytest.fixture(autouse=True, scope="module")
def quick_fits():
    """Small fit budget: the plots only need a reasonable GP, and the suite must stay fast
    (a mixed-space GP can take all 200 default L-BFGS iterations)."""
    import axnb.engine.models as models

    saved = models.FIT_MAXITER
    models.FIT_MAXITER = 50
    yield
    models.FIT_MAXITER = saved


def mixed_loss(p):
    return ((p["x"] - 0.3) ** 2 + 0.02 * (math.log10(p["lr"]) + 2) ** 2 + 0.05 * p["n"]
            + OPT_COST[p["opt"]])


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Float, log, int and (unordered) choice parameters; 12 results, 1 failure, 1 running."""
    exp = axnb.Experiment(
        "mixed",
        [axnb.Range("x", 0.0, 1.0), axnb.Range("lr", 1e-4, 1.0, log=True), axnb.Int("n", 1, 6),
         axnb.Choice("opt", ["adam", "sgd", "rms"]), axnb.Fixed("epochs", 3)],
        objective="loss", path=tmp_path_factory.mktemp("mixed"), seed=0, initial_trials=4,
    )
    rng = np.random.default_rng(0)
    for i in range(12):
        p = {"x": float(rng.random()), "lr": float(10 ** rng.uniform(-4, 0)),
             "n": int(rng.integers(1, 7)), "opt": ["adam", "sgd", "rms"][i % 3]}
        exp.attach(p, result=mixed_loss(p))
    t = exp.attach({"x": 0.5, "lr": 0.01, "n": 2, "opt": "sgd"})
    exp.fail(t.index, reason="Traceback ...\nRuntimeError: CUDA out of memory")
    exp.attach({"x": 0.6, "lr": 0.01, "n": 2, "opt": "sgd"})  # running
    return exp


def best_trial(exp):
    done = [t for t in exp.trials if t.is_completed]
    return min(done, key=lambda t: t.result["loss"][0])


# ----------------------------------------------------------------------------- contour
def test_contour_of_float_and_log_parameters(mixed):
    rec = compute_contour(mixed, "x", "lr", grid=20)
    assert rec.note is None and rec.metric == "loss" and rec.minimize is True
    assert rec.mean.shape == rec.sd.shape == (20, 20)
    assert rec.x.scale == "linear" and rec.y.scale == "log"
    assert rec.y.values[0] == pytest.approx(1e-4) and rec.y.values[-1] == pytest.approx(1.0)
    assert np.allclose(np.diff(np.log(rec.y.values)), np.log(1e4) / 19)  # geometric grid
    assert np.all(rec.sd >= 0)
    # the held parameters are the best trial's, and the figure title says so
    best = best_trial(mixed)
    assert rec.slice == {"n": best.parameters["n"], "opt": best.parameters["opt"], "epochs": 3}
    assert rec.best == (best.parameters["x"], best.parameters["lr"])
    # observed points: every completed trial, with its index in the hover
    assert sorted(rec.trial_index) == [t.index for t in mixed.trials if t.is_completed]
    assert all(h.startswith(f"trial {i}<br>") for h, i in zip(rec.hover, rec.trial_index))
    fig = draw_contour(rec)
    assert isinstance(fig, go.Figure)
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.type == "log"
    assert f"opt={best.parameters['opt']!r}" in fig.layout.title.text


def test_contour_mean_matches_model_predictions(mixed):
    assert compute_contour(mixed, "x", "lr", grid=4).outside is None  # no constraints
    rec = compute_contour(mixed, "x", "n", grid=6)
    assert rec.x.values == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert rec.y.values == [1, 2, 3, 4, 5, 6]  # every integer (6 <= grid)
    assert compute_contour(mixed, "x", "n", grid=4).y.values == [1, 3, 4, 6]  # 4 of them
    i, j = 4, 2  # n = 5, x = 0.4
    point = {**rec.slice, "x": 0.4, "n": 5}
    means, sds = mixed.predict([point])["loss"]
    assert rec.mean[i, j] == pytest.approx(means[0], rel=1e-6, abs=1e-9)
    assert rec.sd[i, j] == pytest.approx(sds[0], rel=1e-4, abs=1e-9)


def test_contour_with_a_choice_axis_uses_category_coordinates(mixed):
    rec = compute_contour(mixed, "opt", "x", grid=10)
    assert rec.x.scale == "category" and rec.x.coords == ["adam", "sgd", "rms"]
    assert rec.mean.shape == (10, 3)
    assert set(rec.px) <= {"adam", "sgd", "rms"}
    # the model sees the choice: 'sgd' (cost 0.3) is worse than 'adam' everywhere
    assert np.all(rec.mean[:, 1] > rec.mean[:, 0])
    fig = draw_contour(rec)
    assert fig.layout.xaxis.type == "category"
    assert list(fig.layout.xaxis.categoryarray) == ["adam", "sgd", "rms"]


def test_contour_slice_values_hold_a_choice(mixed):
    adam = compute_contour(mixed, "x", "lr", slice_values={"opt": "adam"}, grid=8)
    sgd = compute_contour(mixed, "x", "lr", slice_values={"opt": "sgd"}, grid=8)
    assert adam.slice["opt"] == "adam" and sgd.slice["opt"] == "sgd"
    assert sgd.mean.mean() > adam.mean.mean()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda e: compute_contour(e, "x", "x"), "both 'x'"),
        (lambda e: compute_contour(e, "x", "nope"), "Unknown y parameter 'nope'"),
        (lambda e: compute_contour(e, "x", "epochs"), "Fixed"),
        (lambda e: compute_contour(e, "x", "lr", metric="acc"), "Unknown metric 'acc'"),
        (lambda e: compute_contour(e, "x", "lr", slice_values={"zz": 1}), "unknown parameter"),
        (lambda e: compute_contour(e, "x", "lr", slice_values={"n": 99}), "out of bounds"),
        (lambda e: compute_contour(e, "x", "lr", grid=1), "grid"),
        (lambda e: compute_slice(e, "nope"), "Unknown parameter 'nope'"),
        (lambda e: compute_progress(e, metric="nope"), "Unknown metric"),
        (lambda e: compute_importance(e, metric="nope"), "Unknown metric"),
        (lambda e: compute_cross_validation(e, metric="nope"), "Unknown metric"),
        (lambda e: e.plot.contour("lr", "lr"), "both 'lr'"),
        (lambda e: e.plot.pareto(x_metric="nope"), "not an objective"),
    ],
)
def test_invalid_arguments_raise_value_error(mixed, call, match):
    with pytest.raises(ValueError, match=match):
        call(mixed)


# ----------------------------------------------------------------------------- slice
def test_slice_has_band_acquisition_and_next_suggestion(mixed):
    n_trials = len(mixed.trials)
    rec = compute_slice(mixed, "x", grid=25)
    assert len(mixed.trials) == n_trials  # no trial created
    assert rec.mean.shape == rec.sd.shape == (25,)
    assert rec.acquisition.shape == (25,) and rec.acquisition_kind == "qLogNEI"
    assert rec.next_value == rec.axis.values[int(np.argmax(rec.acquisition))]
    assert rec.acquisition_note is None  # 12 results > initial_trials: model phase
    fig = draw_slice(rec)
    band_hi, band_lo, mean = fig.data[0], fig.data[1], fig.data[2]
    assert np.allclose(band_hi.y, rec.mean + 2 * rec.sd)
    assert np.allclose(band_lo.y, rec.mean - 2 * rec.sd)
    assert np.allclose(mean.y, rec.mean)
    assert fig.data[4].yaxis == "y2" and fig.data[5].x == (rec.next_value,)
    # the model's minimum is near the true one (x = 0.3) at the best point's other values
    assert abs(rec.axis.values[int(np.argmin(rec.mean))] - 0.3) < 0.2


def test_contour_and_slice_blank_out_what_violates_parameter_constraints(tmp_path):
    exp = axnb.Experiment("lc", [axnb.Range("a", 0.0, 1.0), axnb.Range("b", 0.0, 1.0),
                                 axnb.Range("c", 0.0, 1.0)],
                          objective="y", constraints=["a + b <= 1"], path=tmp_path, seed=0)
    rng = np.random.default_rng(1)
    for _ in range(8):
        a, b = rng.random(2) * 0.5
        exp.attach({"a": a, "b": b, "c": float(rng.random())}, result=(a - 0.2) ** 2 + b)
    rec = compute_contour(exp, "a", "b", grid=11)
    a_grid, b_grid = np.meshgrid(rec.x.values, rec.y.values)
    violates = a_grid + b_grid > 1 + 1e-9
    assert rec.outside is not None and np.array_equal(rec.outside, violates)
    assert np.isnan(rec.mean[violates]).all() and np.isnan(rec.sd[violates]).all()
    assert np.isfinite(rec.mean[~violates]).all()
    assert "outside the parameter constraints" in draw_contour(rec).layout.title.text
    # b held at the best point's value (< 0.5): the slice along a is blank above 1 - b.
    sl = compute_slice(exp, "a", grid=21)
    cut = np.asarray(sl.axis.values) + sl.slice["b"] > 1 + 1e-9
    assert cut.any() and np.isnan(sl.mean[cut]).all() and np.isnan(sl.acquisition[cut]).all()
    assert np.isfinite(sl.mean[~cut]).all() and sl.next_value + sl.slice["b"] <= 1 + 1e-9


def test_slice_of_int_log_and_choice_parameters(mixed):
    n = compute_slice(mixed, "n")
    assert n.axis.values == [1, 2, 3, 4, 5, 6] and n.axis.scale == "linear"
    lr = compute_slice(mixed, "lr", grid=30)
    assert lr.axis.scale == "log" and draw_slice(lr).layout.xaxis.type == "log"
    # small numbers are labelled 10^-4, not with plotly's SI prefixes ("100μ")
    assert draw_slice(lr).layout.xaxis.exponentformat == "power"
    assert draw_slice(compute_slice(mixed, "x")).layout.xaxis.exponentformat == "e"
    opt = compute_slice(mixed, "opt")
    assert opt.axis.coords == ["adam", "sgd", "rms"] and opt.mean.shape == (3,)
    assert opt.next_value in ("adam", "sgd", "rms")
    fig = draw_slice(opt)
    assert fig.data[2].mode == "markers"  # no line between categories
    assert int(np.argmin(opt.mean)) == 0  # adam is best


# ----------------------------------------------------------------------------- progress
def test_progress_values_best_so_far_and_failures(mixed):
    rec = compute_progress(mixed)
    done = [t for t in mixed.trials if t.is_completed]
    assert rec.index.tolist() == [t.index for t in done]
    assert rec.values.tolist() == [t.result["loss"][0] for t in done]
    expected = np.minimum.accumulate(rec.values)
    assert rec.best_index.tolist() == rec.index.tolist()
    assert np.allclose(rec.best_values, expected)
    assert rec.failed_index.tolist() == [12]
    assert "CUDA out of memory" in rec.failed_reason[0]
    assert rec.failed_y < rec.values.min()
    assert rec.n_running == 1
    fig = draw_progress(rec)
    assert fig.data[3].marker.symbol == "x" and "trial 12 failed" in fig.data[3].hovertext[0]


def test_progress_best_so_far_counts_feasible_trials_only(tmp_path):
    exp = axnb.Experiment("oc", [axnb.Range("x", 0, 1)], objective="loss",
                          outcome_constraints=["cost <= 1"], path=tmp_path)
    for x, loss, cost in [(0.1, 5.0, 0.5), (0.2, 1.0, 3.0), (0.3, 4.0, 0.9), (0.4, 6.0, 0.1)]:
        exp.attach({"x": x}, result={"loss": loss, "cost": cost})
    rec = compute_progress(exp)
    assert rec.feasible.tolist() == [True, False, True, True]
    assert rec.best_values.tolist() == [5.0, 5.0, 4.0, 4.0]  # trial 1 (loss 1) is infeasible
    cost = compute_progress(exp, "cost")  # not an objective: no best-so-far line
    assert cost.minimize is None and len(cost.best_values) == 0


# ----------------------------------------------------------------------------- parallel
def test_parallel_dimensions(mixed):
    rec = compute_parallel(mixed)
    labels = [d.label for d in rec.dimensions]
    assert labels == ["x", "lr", "n", "opt", "loss"]
    dims = {d.label: d for d in rec.dimensions}
    done = [t for t in mixed.trials if t.is_completed]
    assert np.allclose(dims["lr"].values, [math.log10(t.parameters["lr"]) for t in done])
    assert dims["lr"].range == pytest.approx((-4.0, 0.0))
    assert dims["opt"].ticktext == ["adam", "sgd", "rms"]
    assert dims["opt"].values.tolist() == [["adam", "sgd", "rms"].index(t.parameters["opt"])
                                           for t in done]
    assert rec.color.tolist() == [t.result["loss"][0] for t in done]
    fig = mixed.plot.parallel()
    assert isinstance(fig.data[0], go.Parcoords) and len(fig.data[0].dimensions) == 5


# ----------------------------------------------------------------------------- importance
def test_importance_ranks_an_irrelevant_parameter_last(tmp_path):
    exp = axnb.Experiment("imp", [axnb.Range(f"x{i}", 0, 1) for i in (1, 2, 3)],
                          objective="y", path=tmp_path, seed=0)
    rng = np.random.default_rng(1)
    for _ in range(16):
        p = {f"x{i}": float(v) for i, v in zip((1, 2, 3), rng.random(3))}
        exp.attach(p, result=2 * math.sin(3 * p["x1"]) + p["x3"] ** 2)  # x2 is irrelevant
    rec = compute_importance(exp)
    assert rec.names[0] == "x1" and rec.names[-1] == "x2"
    assert rec.total[-1] < 0.05
    assert rec.total[0] > 0.5
    assert np.all(rec.first_order <= rec.total + 0.05)
    assert list(exp.plot.importance().data[0].y) == rec.names
    # cross-validation of the same smooth function: LOO predictions close to observed
    cv = compute_cross_validation(exp)
    spread = np.ptp(cv.observed)
    assert np.max(np.abs(cv.predicted - cv.observed)) < 0.25 * spread
    assert cv.r2 > 0.9
    assert np.all(cv.predicted_sd > 0) and np.all(cv.predictive_sd >= cv.predicted_sd)


def test_closed_form_loo_equals_refitting_without_each_point(mixed):
    """The LOO formula equals conditioning the same GP on the other n - 1 points."""
    import torch
    from botorch.models import SingleTaskGP

    exp = axnb.Experiment("loo", [axnb.Range("x", 0, 1)], objective="y", path=mixed.path.parent,
                          seed=0)
    xs = [0.05, 0.2, 0.4, 0.55, 0.7, 0.9]
    for x in xs:
        exp.attach({"x": x}, result=math.sin(6 * x))
    rec = compute_cross_validation(exp)
    model = exp.engine.fit(exp.trials, ["y"]).models["y"]
    X = model.train_inputs[0]
    y = model.train_targets
    tf = model.outcome_transform
    for i in range(len(xs)):
        keep = [j for j in range(len(xs)) if j != i]
        sub = SingleTaskGP(X[keep], y[keep].unsqueeze(-1), likelihood=model.likelihood,
                           covar_module=model.covar_module, mean_module=model.mean_module,
                           outcome_transform=None)
        sub.eval()
        with torch.no_grad():
            post = sub.posterior(X[i : i + 1])
        mean = float(post.mean) * float(tf.stdvs) + float(tf.means)
        sd = math.sqrt(float(post.variance)) * float(tf.stdvs)
        assert rec.predicted[i] == pytest.approx(mean, rel=1e-5, abs=1e-7)
        assert rec.predicted_sd[i] == pytest.approx(sd, rel=1e-4, abs=1e-7)


# ----------------------------------------------------------------------------- every plot
PLOTS = {
    "contour": lambda e: e.plot.contour("x", "lr"),
    "slice": lambda e: e.plot.slice("lr"),
    "progress": lambda e: e.plot.progress(),
    "parallel": lambda e: e.plot.parallel(),
    "pareto": lambda e: e.plot.pareto(),
    "cross_validation": lambda e: e.plot.cross_validation(),
    "importance": lambda e: e.plot.importance(),
}


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_every_plot_draws_on_the_mixed_space(mixed, name):
    fig = PLOTS[name](mixed)
    assert isinstance(fig, go.Figure) and fig.layout.meta["analysis"] == name
    assert fig.layout.height  # explicit height: JupyterLab 4 sizes outputs by it
    fig.to_json()  # serializable (what every renderer does first)


def test_plots_do_not_change_the_renderer(mixed):
    import plotly.io as pio

    before = pio.renderers.default
    mixed.plot.progress()
    assert pio.renderers.default == before


def test_trace_layout_is_the_same_before_and_after_the_model(mixed, tmp_path):
    """Widgets push new records into existing figures: same traces, same order."""
    empty = axnb.Experiment("empty", mixed.space.parameters, objective="loss", path=tmp_path)
    for compute, draw, args in [
        (compute_contour, draw_contour, ("x", "opt")),
        (compute_slice, draw_slice, ("opt",)),
        (compute_progress, draw_progress, ()),
    ]:
        before, after = draw(compute(empty, *args)), draw(compute(mixed, *args))
        assert [type(t).__name__ for t in before.data] == [type(t).__name__ for t in after.data]
        assert [t.name for t in before.data] == [t.name for t in after.data]


# ----------------------------------------------------------------------------- no model yet
def _mixed_space():
    return [axnb.Range("x", 0.0, 1.0), axnb.Range("lr", 1e-4, 1.0, log=True),
            axnb.Int("n", 1, 6), axnb.Choice("opt", ["adam", "sgd", "rms"])]


@pytest.mark.parametrize("stage", ["no trials", "one result", "all failed", "running only"])
def test_plots_before_a_model_show_data_and_say_why(tmp_path, stage):
    exp = axnb.Experiment("early", _mixed_space(), objective="loss", path=tmp_path)
    p = {"x": 0.2, "lr": 0.01, "n": 2, "opt": "rms"}
    if stage == "one result":
        exp.attach(p, result=mixed_loss(p))
    elif stage == "all failed":
        for _ in range(3):
            exp.fail(exp.attach(p).index, reason="boom")
    elif stage == "running only":
        exp.attach(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warnings leak to the user either
        for name, plot in PLOTS.items():
            fig = plot(exp)
            texts = " ".join(a.text for a in fig.layout.annotations if a.name == "note")
            if name in ("contour", "slice", "cross_validation", "importance"):
                assert "No model yet" in texts, name
            if stage == "all failed" and name in ("contour", "importance"):
                assert "3 failed" in texts
    rec = compute_contour(exp, "x", "opt")
    assert rec.mean is None and rec.x.values and rec.y.coords == ["adam", "sgd", "rms"]
    if stage == "one result":
        assert rec.px == [0.2] and rec.py == ["rms"] and rec.best == (0.2, "rms")
        assert compute_progress(exp).best_values.tolist() == [mixed_loss(p)]
    if stage == "all failed":
        assert compute_progress(exp).failed_index.tolist() == [0, 1, 2]


def test_two_results_give_a_model(tmp_path):
    exp = axnb.Experiment("two", [axnb.Range("x", 0, 1), axnb.Range("y", 0, 1)], objective="f",
                          path=tmp_path, seed=0)
    exp.attach({"x": 0.2, "y": 0.3}, result=1.0)
    exp.attach({"x": 0.8, "y": 0.6}, result=2.0)
    rec = compute_contour(exp, "x", "y", grid=10)
    assert rec.note is None and rec.mean.shape == (10, 10)
    for plot in PLOTS.values():
        try:
            plot(exp)
        except ValueError as e:  # the mixed-space arguments do not exist here
            assert "Unknown" in str(e)
    assert exp.plot.slice("x").data[2].y is not None


# ----------------------------------------------------------------------------- pareto
@pytest.fixture
def two_objectives(tmp_path):
    exp = axnb.Experiment(
        "mo", [axnb.Range("x", 0, 1)], objectives={"err": "min", "speed": "max"},
        outcome_constraints=["mem <= 10", "err <= 0.5"], path=tmp_path,
    )
    # (err, speed, mem): hand-computed front among feasible points = trials 0, 2, 3
    rows = [
        (0.10, 1.0, 5),   # 0 front (lowest error)
        (0.20, 0.9, 5),   # 1 dominated by 0
        (0.30, 3.0, 5),   # 2 front
        (0.45, 5.0, 5),   # 3 front (fastest feasible)
        (0.05, 9.0, 20),  # 4 infeasible: mem > 10 (would dominate all)
        (0.60, 9.5, 5),   # 5 infeasible: err above the 0.5 threshold
        (0.30, 2.0, 5),   # 6 dominated by 2
        (0.30, 3.0, 5),   # 7 duplicate of 2: not a second front point
    ]
    for i, (e, s, m) in enumerate(rows):
        exp.attach({"x": i / 10}, result={"err": e, "speed": s, "mem": m})
    exp.fail(exp.attach({"x": 0.99}).index, reason="crash")
    return exp


def test_pareto_front_matches_hand_computed_front(two_objectives):
    rec = compute_pareto(two_objectives)
    assert (rec.x_metric, rec.y_metric) == ("err", "speed")
    assert (rec.x_minimize, rec.y_minimize) == (True, False)
    assert rec.trial_index.tolist() == list(range(8))
    assert rec.trial_index[rec.front].tolist() == [0, 2, 3]
    assert rec.feasible.tolist() == [True, True, True, True, False, False, True, True]
    assert rec.trial_index[rec.front_order].tolist() == [0, 2, 3]  # sorted by err
    assert rec.x_thresholds == [0.5] and rec.y_thresholds == []
    # same front as the experiment's own answer
    front_params = [p["x"] for p, _ in two_objectives.pareto()]
    assert sorted(front_params) == [0.0, 0.2, 0.3]
    fig = two_objectives.plot.pareto()
    assert list(fig.data[2].x) == [0.1, 0.3, 0.45]
    assert list(fig.data[3].x[:2]) == [0.5, 0.5]  # the err threshold, a vertical line
    assert fig.data[0].marker.opacity < 1  # dominated points faded
    swapped = compute_pareto(two_objectives, x_metric="speed")
    assert swapped.y_metric == "err"


def test_pareto_of_a_single_objective_explains_itself(mixed):
    rec = compute_pareto(mixed)
    assert len(rec.x) == 0 and "One objective" in rec.note


def test_several_objectives_every_plot(two_objectives):
    for name, plot in PLOTS.items():
        if name in ("contour", "slice"):
            continue
        assert isinstance(plot(two_objectives), go.Figure)
    assert two_objectives.plot.slice("x", metric="speed").layout.meta["analysis"] == "slice"
    rec = compute_slice(two_objectives, "x", metric="mem", grid=10)
    assert rec.acquisition_kind == "qLogNEHVI" and rec.minimize is None
