"""The live dashboard: figures follow the experiment, in place, and stop when closed."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

import axnb


def booth(p):
    return (p["x1"] + 2 * p["x2"] - 7) ** 2 + (2 * p["x1"] + p["x2"] - 5) ** 2


@pytest.fixture
def exp(tmp_path):
    return axnb.Experiment(
        "dash",
        [axnb.Range("x1", -5.0, 5.0), axnb.Range("x2", -5.0, 5.0)],
        objective="loss",
        path=tmp_path,
        seed=0,
        initial_trials=6,
    )


def attach(exp, n, start=0):
    for i in range(start, start + n):
        p = {"x1": -4.0 + 1.3 * i, "x2": 4.0 - 1.1 * i}
        exp.attach(p, result=booth(p))


def completed_in_progress(dash):
    return len(dash.figures["progress"].data[0].x)


def test_parts_and_display(exp):
    dash = exp.dashboard()
    assert set(dash.figures) == {"contour", "slice", "progress", "trials"}
    assert all(isinstance(f, go.Figure) for f in dash.figures.values())
    assert set(dash.views) == set(dash.figures)  # one light PlotlyView per figure
    assert dash._repr_mimebundle_ is not None  # an ipywidget: displays itself
    assert "0 trials" in dash.status.value and "engine:" in dash.status.value
    dash.close()


def test_figures_update_in_place_during_a_background_run(exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05)
    before = {name: id(f) for name, f in dash.figures.items()}
    handle = exp.run(booth, trials=4, background=True, progress=False)
    assert handle.wait(60)
    assert dash.wait_idle(60)
    assert completed_in_progress(dash) == 4
    assert "4 trials: 4 completed" in dash.status.value
    table = dash.figures["trials"].data[0]
    assert list(table.cells.values[0]) == ["3", "2", "1", "0"]  # newest first
    contour = dash.figures["contour"]
    assert [t.type for t in contour.data][:2] == ["heatmap", "heatmap"]
    assert contour.data[0].z is not None  # the model is drawn
    assert {name: id(f) for name, f in dash.figures.items()} == before
    assert dash.last_error is None
    dash.close()


def test_synchronous_refresh(exp):
    dash = exp.dashboard()
    dash.close()  # no automatic refreshes: only refresh() updates it now
    attach(exp, 3)
    assert completed_in_progress(dash) == 0
    dash.refresh()
    assert completed_in_progress(dash) == 3
    assert len(dash.figures["slice"].data[3].x) == 3  # observed points on the slice


def test_model_figures_recompute_only_when_data_change(exp, monkeypatch):
    import axnb.analysis.contour as contour

    calls = []
    real = contour.compute_contour
    monkeypatch.setattr(
        contour, "compute_contour", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    attach(exp, 3)
    dash = axnb.widgets.Dashboard(exp, interval=0.05)
    assert dash.wait_idle(60)
    n = len(calls)
    assert n >= 1
    exp.attach({"x1": 0.0, "x2": 0.0})  # a running trial: no new data
    assert dash.wait_idle(60)
    assert len(calls) == n and "1 running" in dash.status.value
    assert dash.figures["trials"].data[0].cells.values[1][0] == "running"
    exp.complete(3, 1.0)  # new data: the model figures follow
    assert dash.wait_idle(60)
    assert len(calls) == n + 1
    dash.close()


def test_close_unsubscribes(exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05)
    assert dash.wait_idle(60)
    dash.close()
    attach(exp, 2)
    assert dash.wait_idle(5)
    assert completed_in_progress(dash) == 0
    assert "0 trials" in dash.status.value


def test_pickers_and_sorting(exp):
    attach(exp, 4)
    dash = exp.dashboard()
    dash.refresh()
    dash.slice_param.value = "x2"
    assert "along x2" in dash.figures["slice"].layout.title.text
    dash.contour_x.value = "x2"  # the same as y: the pickers swap
    assert (dash.contour_x.value, dash.contour_y.value) == ("x2", "x1")
    assert dash.figures["contour"].layout.xaxis.title.text == "x2"
    dash.sort_by.value = "loss"
    dash.descending.value = False
    losses = [r["loss"] for r in dash.table_rows()]
    assert losses == sorted(losses)
    assert dash.figures["trials"].data[0].cells.values[5][0] == f"{losses[0]:.6g}"
    dash.close()


def test_multi_objective_and_single_parameter(tmp_path):
    mo = axnb.Experiment("mo", [axnb.Range("x", 0, 1), axnb.Range("y", 0, 1)],
                         objectives={"a": "min", "b": "min"}, path=tmp_path, seed=0)  # fmt: skip
    for x in (0.1, 0.5, 0.9):
        mo.attach({"x": x, "y": 0.5}, result={"a": x, "b": 1 - x})
    dash = mo.dashboard()
    dash.refresh()
    assert "pareto" in dash.figures and "Pareto front: 3 points" in dash.status.value
    dash.close()

    one = axnb.Experiment("one", [axnb.Range("x", 0, 1)], objective="y", path=tmp_path, seed=0)
    one.attach({"x": 0.5}, result=1.0)
    dash = one.dashboard()
    dash.refresh()
    assert "two tunable parameters" in dash.figures["contour"].layout.annotations[0].text
    assert dash.last_error is None
    dash.close()
