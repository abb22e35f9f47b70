"""The dashboard's weight and what its views draw: one copy of plotly.js per dashboard, the
figures' full JSON in each view's state, axes on the parameters' bounds before any result, the
failure's reason in the trials table."""

from __future__ import annotations

import json

import ipywidgets as widgets
import plotly.graph_objects as go
import pytest

import axnb
from axnb.widgets.plotly_view import PlotlyView, figure_json

MB = 1_000_000


@pytest.fixture
def exp(tmp_path):
    return axnb.Experiment(
        "weight",
        [axnb.Range("x1", -5.0, 5.0), axnb.Range("lr", 1e-4, 1e-1, log=True)],
        objective="loss",
        path=tmp_path,
        seed=0,
    )


def attach(exp, n):
    for i in range(n):
        p = {"x1": -4.0 + 2.5 * i, "lr": 10 ** (-3.5 + 0.6 * i)}
        exp.attach(p, result=(p["x1"] - 1) ** 2 + i)


def tree_state_bytes(root: widgets.Widget) -> int:
    """What a front end receives: the JSON size of ``get_state()`` (``_esm``/``_css`` included)
    of every widget in the tree (children and widget-valued traits), each counted once."""
    seen, total, todo = set(), 0, [root]
    while todo:
        w = todo.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        total += len(json.dumps(w.get_state()).encode())
        for name in w.keys:
            value = getattr(w, name)
            todo.extend(
                v
                for v in (value if isinstance(value, (list, tuple)) else [value])
                if isinstance(v, widgets.Widget)
            )
    return total


def header(fig):
    return [h.replace("<b>", "").replace("</b>", "") for h in fig.data[0].header.values]


def test_a_dashboard_sends_at_most_6_mb_of_widget_state(exp):
    attach(exp, 4)
    dash = exp.dashboard()
    dash.refresh()
    size = tree_state_bytes(dash)
    assert size < 6 * MB, f"{size / MB:.1f} MB of widget state"
    # plotly.js travels once, whatever the number of figures: one library for every view
    libraries = {view.library.model_id for view in dash.views.values()}
    assert len(libraries) == 1 and len(dash.views) == 4
    assert all(len(view._esm) < 20_000 for view in dash.views.values())
    dash.close()


def test_views_hold_the_figures_as_drawn(exp):
    dash = exp.dashboard()
    dash.close()
    attach(exp, 1)
    dash.refresh()
    note = dash.views["contour"].figure["layout"]["annotations"][-1]["text"]
    assert "1 completed trial(s)" in note and "1 completed" in dash.status.value
    attach(exp, 3)
    dash.refresh()
    assert "4 completed" in dash.status.value
    for name, view in dash.views.items():
        assert isinstance(view, PlotlyView)
        expected = figure_json(dash.figures[name])
        assert view.figure["data"] == expected["data"]
        layout = {k: v for k, v in view.figure["layout"].items() if k != "uirevision"}
        assert layout == expected["layout"]
        shown = json.dumps(view.figure["layout"])
        assert "completed trial(s)" not in shown  # no stale note once the model is drawn
        assert "width" not in view.figure["layout"]  # as wide as the dashboard
    table = dash.figures["trials"]
    assert all(h.strip() for h in header(table))
    assert header(table)[0] == "trial ↓"


def test_axes_show_the_bounds_before_the_first_result(exp):
    dash = exp.dashboard()
    dash.refresh()
    contour, slice_ = dash.figures["contour"], dash.figures["slice"]
    assert list(contour.layout.xaxis.range) == [-5.0, 5.0]
    assert list(contour.layout.xaxis2.range) == [-5.0, 5.0]
    assert list(contour.layout.yaxis.range) == pytest.approx([-4.0, -1.0])  # log10 bounds
    assert list(slice_.layout.xaxis.range) == [-5.0, 5.0]
    assert contour.layout.xaxis.autorange is False
    attach(exp, 4)  # with a model, the analyses' own axes
    dash.refresh()
    assert contour.layout.xaxis.range is None
    dash.close()


def test_a_failure_reason_is_in_the_trials_table(exp):
    attach(exp, 2)
    dash = exp.dashboard()
    dash.close()
    dash.refresh()
    assert "reason" not in header(dash.figures["trials"])
    t = exp.attach({"x1": 0.0, "lr": 0.01})
    exp.fail(t.index, reason="Traceback (most recent call last):\n  ...\nValueError: nan loss")
    dash.refresh()
    table = dash.figures["trials"].data[0]
    column = table.cells.values[header(dash.figures["trials"]).index("reason")]
    assert list(column) == ["ValueError: nan loss", "", ""]
    assert "reason" in dash.sort_by.options
    assert [r["reason"] for r in dash.table_rows()] == ["ValueError: nan loss", "", ""]


def test_figures_keep_plotlys_interface(exp):
    attach(exp, 3)
    dash = exp.dashboard()
    dash.refresh()
    progress = dash.figures["progress"]
    assert isinstance(progress, go.Figure) and len(progress.data[0].x) == 3
    assert progress.layout.title.text.startswith("loss")
    dash.close()


def test_a_click_in_the_browser_reaches_python():
    view = PlotlyView(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])))
    clicked = []
    view.on_click(clicked.append)
    points = [{"curve": 0, "point": 1, "x": 2, "y": 4, "customdata": None}]
    view._on_message(view, {"event": "click", "points": points}, [])  # what the ESM sends
    assert clicked == [points]
    assert view.figure["data"][0]["type"] == "scatter"
    view.close()
