"""The arms analysis of bandit rounds: the record's numbers, the figure, exp.plot, the report
and the dashboard's arms tab."""

import math

import numpy as np
import plotly.graph_objects as go
import pytest

import axnb
from axnb.analysis import ArmsRecord, compute_arms, draw_arms
from axnb.analysis.arms import NO_ROUND, Z95, pooling_text
from axnb.rounds import arm_label, estimate, plan_round

COLORS = ["blue", "green", "red"]
COPY = ["buy", "get"]
#: True conversion rates of the six arms (green · buy is the best).
RATES = {("blue", "buy"): 0.050, ("blue", "get"): 0.046, ("green", "buy"): 0.058,
         ("green", "get"): 0.047, ("red", "buy"): 0.044, ("red", "get"): 0.041}


@pytest.fixture(autouse=True, scope="module")
def quick_fits():
    """Small fit budget for the model figures of the report and dashboard (see
    tests/test_analysis.py)."""
    import axnb.engine.models as models

    saved = models.FIT_MAXITER
    models.FIT_MAXITER = 50
    yield
    models.FIT_MAXITER = saved


def checkout(tmp_path, name="checkout", **kw):
    return axnb.Experiment(
        name, [axnb.Choice("button", COLORS), axnb.Choice("copy", COPY)],
        objective="conversion", minimize=False, path=tmp_path, seed=0, **kw,
    )


def counts(t, r, units=4000):
    """Deterministic successes of arm ``t`` in round ``r`` (near its true rate)."""
    p = RATES[(t.parameters["button"], t.parameters["copy"])]
    return round(units * p * (1 + 0.05 * math.sin(3 * t.index + r))), units


def run_round(exp, r, arms=None, skip=()):
    ts = exp.suggest_arms(arms=arms)
    for j, t in enumerate(ts):
        if j not in skip:
            exp.complete(t.index, axnb.Rate(*counts(t, r)))
    return ts


def all_arms():
    return [{"button": b, "copy": c} for b in COLORS for c in COPY]


def key(params):
    return (params["button"], params["copy"])


# ----------------------------------------------------------------------------- numbers
def test_raw_estimates_pool_the_counts_of_every_round(tmp_path):
    exp = checkout(tmp_path)
    r0 = run_round(exp, 0)
    r1 = run_round(exp, 1, arms=all_arms())  # every arm again, so each pools two rounds
    rec = compute_arms(exp)
    assert isinstance(rec, ArmsRecord) and rec.n == 6 and rec.note is None
    assert rec.labels == [arm_label(t.parameters, ["button", "copy"]) for t in r0]
    assert rec.rounds == [0, 1] and rec.window is None
    for i, params in enumerate(rec.parameters):
        got = [counts(t, r) for r, ts in enumerate((r0, r1)) for t in ts
               if t.parameters == params]
        s, n = sum(c[0] for c in got), sum(c[1] for c in got)
        assert (rec.successes[i], rec.units[i]) == (s, n)
        assert rec.raw[i] == pytest.approx(s / n)
        assert rec.raw_sem[i] == pytest.approx(axnb.trial.agresti_coull_sem(s, n))
        assert rec.n_rounds[i] == 2
    assert rec.estimated.all() and not rec.running.any()


def test_shrunk_estimates_lie_between_raw_and_the_grand_mean(tmp_path):
    exp = checkout(tmp_path)
    run_round(exp, 0)
    rec = compute_arms(exp)
    assert rec.shrinkage and rec.grand_mean == pytest.approx(rec.raw.mean())
    lo = np.minimum(rec.raw, rec.grand_mean) - 1e-12
    hi = np.maximum(rec.raw, rec.grand_mean) + 1e-12
    assert ((lo <= rec.shrunk) & (rec.shrunk <= hi)).all()
    assert not np.allclose(rec.shrunk, rec.raw)  # similar arms: shrunk noticeably
    assert (rec.shrunk_sem > 0).all()


def test_weights_are_the_next_rounds_and_best_is_exp_best(tmp_path):
    exp = checkout(tmp_path)
    run_round(exp, 0)
    run_round(exp, 1)
    rec = compute_arms(exp)
    assert rec.weights_next and rec.weights_round == 2 and rec.latest_round == 1
    assert rec.weights.sum() == pytest.approx(1.0)
    planned = {key(p.parameters): p.weight for p in plan_round(exp, exp.trials)}
    for params, w in zip(rec.parameters, rec.weights):
        assert w == pytest.approx(planned.get(key(params), 0.0))
    assert rec.prob_best.sum() == pytest.approx(1.0)
    best_params, best_values = exp.best()
    assert rec.parameters[rec.best] == best_params
    assert rec.shrunk[rec.best] == pytest.approx(best_values["conversion"][0])
    assert rec.parameters[rec.best] == {"button": "green", "copy": "buy"}
    # the figure: the next round's shares as bars, the best row in bold
    fig = draw_arms(rec)
    assert list(fig.data[5].x) == pytest.approx(rec.weights.tolist())
    assert fig.data[5].orientation == "h"
    assert "P(best)" in fig.data[5].text[rec.best]
    assert fig.layout.yaxis.ticktext[rec.best] == f"<b>{rec.labels[rec.best]}</b>"
    assert list(fig.data[3].x) == [pytest.approx(rec.shrunk[rec.best])]
    assert "pooled over rounds 0–1" in fig.layout.title.text
    assert "conversion (higher is better)" in fig.layout.xaxis.title.text
    err = fig.data[1].error_x.array
    assert err[0] == pytest.approx(Z95 * rec.shrunk_sem[rec.feasible][0])


def test_window_one_uses_the_latest_round_only(tmp_path):
    exp = checkout(tmp_path)
    run_round(exp, 0)
    r1 = run_round(exp, 1, arms=all_arms())
    pooled, latest = compute_arms(exp, window=None), compute_arms(exp, window=1)
    assert latest.window == 1 and latest.rounds == [1] and pooled.rounds == [0, 1]
    for i, params in enumerate(latest.parameters):
        t = next(t for t in r1 if t.parameters == params)
        s, n = counts(t, 1)
        assert latest.raw[i] == pytest.approx(s / n) and latest.n_rounds[i] == 1
    assert (latest.raw_sem > pooled.raw_sem).all()  # half the data
    assert pooling_text(latest) == "latest round only (window=1): round 1"
    assert "latest round only (window=1)" in draw_arms(latest).layout.title.text
    # the default is the latest round's window (as exp.best())
    exp2 = checkout(tmp_path, "drift")
    run_round(exp2, 0)
    exp2.suggest_arms(window=1)
    assert compute_arms(exp2).window == 1
    with pytest.raises(ValueError, match="window"):
        compute_arms(exp2, window=0)


def test_before_any_round_the_figure_says_so(tmp_path):
    exp = checkout(tmp_path)
    rec = compute_arms(exp)
    assert rec.n == 0 and rec.note == NO_ROUND and rec.best is None
    fig = exp.plot.arms()
    assert isinstance(fig, go.Figure) and fig.layout.meta["analysis"] == "arms"
    assert [a.text for a in fig.layout.annotations] == [NO_ROUND]
    assert len(fig.data) == 6 and all(len(t.x) == 0 for t in fig.data)
    assert fig.layout.height
    fig.to_json()


def test_running_round_shows_its_weights_and_arms_without_results(tmp_path):
    exp = checkout(tmp_path)
    r0 = exp.suggest_arms()
    rec = compute_arms(exp)  # nothing completed yet
    assert rec.n == 6 and not rec.estimated.any() and rec.running.all()
    assert not rec.weights_next and rec.weights_round == 0
    assert rec.weights == pytest.approx([1 / 6] * 6)
    assert "No arm has a result yet" in rec.note
    for t in r0[:4]:
        exp.complete(t.index, axnb.Rate(*counts(t, 0)))
    rec = compute_arms(exp)
    assert rec.estimated.tolist() == [True] * 4 + [False] * 2
    assert rec.running.tolist() == [False] * 4 + [True] * 2
    assert rec.weights_note == "round 0 running: 6 arms (4 completed)"
    assert rec.weights == pytest.approx([1 / 6] * 6) and not rec.weights_next
    assert np.isnan(rec.raw[4:]).all()
    fig = draw_arms(rec)
    assert "round 0 running: 6 arms (4 completed)" in fig.layout.title.text
    assert len(fig.data[4].x) == 2 and list(fig.data[4].text) == ["no result yet"] * 2
    assert "(running)" in fig.layout.yaxis.ticktext[5]
    assert len(fig.data[0].x) == 4


def test_fewer_than_four_arms_are_not_shrunk(tmp_path):
    exp = checkout(tmp_path)
    run_round(exp, 0, arms=all_arms()[:3])
    rec = compute_arms(exp)
    assert rec.n == 3 and not rec.shrinkage and rec.grand_mean is None
    assert rec.shrunk == pytest.approx(rec.raw) and rec.shrunk_sem == pytest.approx(rec.raw_sem)
    assert "no shrinkage with fewer than 4 arms" in draw_arms(rec).layout.title.text


def test_outcome_constraint(tmp_path):
    exp = checkout(tmp_path, outcome_constraints=["cost <= 1.0"])
    costs = {"green": 1.5, "blue": 0.5, "red": 0.6}  # the best converting colour costs too much
    for t in exp.suggest_arms():
        exp.complete(t.index, {"conversion": axnb.Rate(*counts(t, 0)),
                               "cost": (costs[t.parameters["button"]], 0.02)})
    rec = compute_arms(exp)
    green = [p["button"] == "green" for p in rec.parameters]
    assert rec.feasible.tolist() == [not g for g in green]
    assert rec.parameters[rec.best] == exp.best()[0]
    assert rec.parameters[rec.best]["button"] != "green"
    fig = draw_arms(rec)
    assert len(fig.data[2].x) == 2 and fig.data[2].showlegend  # the infeasible arms
    cost = compute_arms(exp, "cost")
    assert cost.bounds == [("<=", 1.0)] and cost.minimize is None
    assert cost.raw == pytest.approx([costs[p["button"]] for p in cost.parameters])
    assert cost.best == rec.best
    shapes = draw_arms(cost).layout.shapes
    assert any(s.name == "constraint bound" and s.x0 == 1.0 for s in shapes)
    with pytest.raises(ValueError, match="Unknown metric"):
        compute_arms(exp, "nonsense")


def test_trace_layout_is_stable_between_records(tmp_path):
    """The dashboard pushes new records into the same FigureWidget: same traces, same order."""
    exp = checkout(tmp_path)
    figs = [draw_arms(compute_arms(exp))]
    ts = exp.suggest_arms()
    figs.append(draw_arms(compute_arms(exp)))
    exp.complete(ts[0].index, axnb.Rate(*counts(ts[0], 0)))
    figs.append(draw_arms(compute_arms(exp)))
    for t in ts[1:]:
        exp.complete(t.index, axnb.Rate(*counts(t, 0)))
    figs.append(draw_arms(compute_arms(exp)))
    run_round(exp, 1)
    figs.append(draw_arms(compute_arms(exp, window=1)))
    layouts = [[(type(t).__name__, t.name) for t in f.data] for f in figs]
    assert all(lay == layouts[0] for lay in layouts) and len(layouts[0]) == 6
    heights = [f.layout.height for f in figs]
    assert heights[1] > heights[0]  # grows with the arms


def test_estimates_match_rounds_estimate(tmp_path):
    exp = checkout(tmp_path)
    run_round(exp, 0)
    run_round(exp, 1)
    rec = compute_arms(exp)
    est = estimate(exp, exp.trials, None)
    order = [next(i for i, a in enumerate(est.arms) if a == p) for p in rec.parameters]
    assert rec.shrunk == pytest.approx(est.allocation.shrunk[order])
    assert rec.shrunk_sem == pytest.approx(est.allocation.shrunk_sem[order])
    assert rec.prob_best == pytest.approx(est.allocation.prob_best[order])


# ----------------------------------------------------------------------------- plot, report
def test_plot_arms_and_repr(tmp_path):
    exp = checkout(tmp_path)
    run_round(exp, 0)
    fig = exp.plot.arms()
    assert isinstance(fig, go.Figure) and fig.layout.meta["analysis"] == "arms"
    assert fig.layout.height >= 360
    assert "arms" in repr(exp.plot)
    fig.to_json()


def test_report_includes_the_arms_figure(tmp_path):
    exp = checkout(tmp_path)
    run_round(exp, 0)
    text = exp.report(tmp_path / "ab.html").read_text(encoding="utf-8")
    assert 'id="arms"' in text and "Bandit arms" in text
    assert "axnb-error" not in text.split('id="arms"')[1].split("</section>")[0]
    assert '"analysis":"arms"' in text.replace(" ", "")

    plain = axnb.Experiment("plain", [axnb.Range("x", 0, 1)], objective="y", path=tmp_path)
    plain.attach({"x": 0.5}, result=1.0)
    assert 'id="arms"' not in plain.report(tmp_path / "plain.html").read_text()


# ----------------------------------------------------------------------------- dashboard
def test_dashboard_gains_the_arms_tab_with_the_first_round(tmp_path):
    exp = checkout(tmp_path)
    dash = exp.dashboard()
    dash.close()  # no automatic refreshes: only refresh() updates it now
    dash.refresh()
    assert "arms" not in dash.figures and "arms" not in dash.tabs.titles
    n_tabs = len(dash.tabs.children)
    assert "batch" not in dash.sort_by.options

    ts = exp.suggest_arms()
    dash.refresh()
    assert "arms" in dash.figures and dash.tabs.titles[-1] == "arms"
    assert len(dash.tabs.children) == n_tabs + 1
    assert dash.tabs.children[-1].children[1] is dash.views["arms"]
    fw = dash.figures["arms"]
    assert isinstance(fw, go.Figure) and len(fw.data) == 6
    assert list(fw.data[5].x) == pytest.approx([1 / 6] * 6)  # the round's weights
    assert len(fw.data[1].x) == 0  # no estimate yet
    assert "round 0: 6 arms (0 completed)" in dash.status.value
    assert "batch" in dash.sort_by.options and "weight" in dash.sort_by.options
    header = [h.replace("<b>", "").replace("</b>", "") for h in
              dash.figures["trials"].data[0].header.values]
    assert header[3:5] == ["batch", "weight"]

    for t in ts[:3]:
        exp.complete(t.index, axnb.Rate(*counts(t, 0)))
    dash.refresh()
    assert dash.figures["arms"] is fw  # updated in place
    assert len(fw.data[0].x) == 3 and len(fw.data[4].x) == 3
    assert "round 0: 6 arms (3 completed)" in dash.status.value
    for t in ts[3:]:
        exp.complete(t.index, axnb.Rate(*counts(t, 0)))
    dash.refresh()
    assert len(fw.data[1].x) + len(fw.data[2].x) == 6
    assert sum(fw.data[5].x) == pytest.approx(1.0)  # the next round's weights
    assert "P(best)" in fw.data[5].text[0] and "best arm: green · buy" in dash.status.value
    assert dash.last_error is None
    assert len(dash.tabs.children) == n_tabs + 1  # added once


def test_dashboard_of_a_bandit_experiment_has_the_tab_from_the_start(tmp_path):
    exp = checkout(tmp_path)
    run_round(exp, 0)
    dash = exp.dashboard()
    dash.close()
    assert "arms" in dash.figures and "arms" in dash.tabs.titles
    assert len(dash.figures["arms"].data) == 6  # drawn at once (a cheap part)
    dash.refresh()
    assert dash.last_error is None
    dash.arms_metric.value = "conversion"
    assert dash.figures["arms"].layout.meta["analysis"] == "arms"


def test_dashboard_without_rounds_has_no_arms_figure(tmp_path):
    exp = axnb.Experiment("plain", [axnb.Range("x", 0, 1), axnb.Range("y", 0, 1)],
                          objective="loss", path=tmp_path, seed=0)
    exp.attach({"x": 0.2, "y": 0.4}, result=1.0)
    dash = exp.dashboard()
    dash.close()
    dash.refresh()
    assert "arms" not in dash.figures
    assert dash.sort_by.options[:4] == ("index", "status", "source", "x")
