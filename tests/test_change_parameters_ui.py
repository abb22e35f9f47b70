"""A change of the search space (exp.change_parameters) in the plots, the dashboard and the
panel, through the public API: trials outside the new space are greyed ("outside the space"
traces, not in fits nor the best so far), values beyond the new bounds are drawn beyond them;
the dashboard's pickers, figures and table and the panel's fields follow the change, made in
this kernel or in another one."""

from __future__ import annotations

import math

import pytest

import axnb
import axnb.widgets
from axnb.analysis import compute_contour, compute_progress, compute_slice

OUTSIDE = "outside the space"
NARROWED = [axnb.Range("lr", 0.03, 0.1), axnb.Choice("opt", ["adam", "sgd"]),
            axnb.Range("z", 0.0, 1.0)]


@pytest.fixture
def exp(tmp_path):
    e = axnb.Experiment("space-ui", [axnb.Range("lr", 0.01, 0.1),
                                     axnb.Choice("opt", ["adam", "sgd"]),
                                     axnb.Range("z", 0.0, 1.0)],
                        objective="loss", path=tmp_path, seed=0)
    for k in range(6):  # lr 0.01, 0.025, 0.04, 0.055, 0.07, 0.085
        lr = 0.01 + 0.015 * k
        e.attach({"lr": lr, "opt": "adam" if k % 2 else "sgd", "z": k / 5},
                 result=(lr - 0.05) ** 2)
    return e


def traces(fig, name):
    return [t for t in fig.data if t.name == name]


def outside(fig):
    """The points of the figure's "outside the space" traces (one per subplot)."""
    found = traces(fig, OUTSIDE)
    assert found, [t.name for t in fig.data]
    for t in found:
        assert t.marker.symbol == "diamond-open" and t.marker.color == "#8C8C8C"
        assert t is fig.data[-1] or fig.data[-1].name == OUTSIDE  # appended last
    return [list(zip(t.x, t.y)) for t in found]


def pickers(dash):
    return {"x": list(dash.contour_x.options), "y": list(dash.contour_y.options),
            "slice": list(dash.slice_param.options)}


def header(dash):
    return [h.replace("<b>", "").replace("</b>", "").split(" ")[0]
            for h in dash.figures["trials"].data[0].header.values]


# ------------------------------------------------------------------------------- plots
def test_before_any_change_the_outside_traces_are_there_and_empty(exp):
    assert outside(exp.plot.progress()) == [[]]
    assert outside(exp.plot.slice("lr")) == [[]]
    assert outside(exp.plot.contour("lr", "z", grid=8)) == [[], []]
    fig = exp.plot.slice("lr")
    assert fig.layout.xaxis.range is None and not fig.layout.shapes


def test_progress_greys_the_trials_outside_and_keeps_them_out_of_the_best_so_far(exp):
    assert traces(exp.plot.progress(), "best so far")[0].x[0] == 0
    exp.change_parameters(NARROWED, reason="the low end diverges")
    assert exp.summary()["outside"] == 2
    fig = exp.plot.progress()
    assert outside(fig) == [[(0, pytest.approx(0.0016)), (1, pytest.approx(0.000625))]]
    (grey,) = traces(fig, OUTSIDE)
    assert "outside the search space since a change of parameters" in grey.hovertext[0]
    assert "0.01 is out of bounds [0.03, 0.1]" in grey.hovertext[0]
    assert not {0, 1} & set(traces(fig, "trial")[0].x)
    assert not {0, 1} & set(traces(fig, "best so far")[0].x)
    assert "2 outside the space" in fig.layout.title.text
    rec = compute_progress(exp)
    assert list(rec.outside_space.trial_index) == [0, 1] and list(rec.index) == [2, 3, 4, 5]


def test_slice_and_contour_draw_values_beyond_the_new_bounds_beyond_them(exp):
    exp.change_parameters(NARROWED)
    fig = exp.plot.slice("lr")
    # 0.025 is within reach of the axis (15 % of the span below 0.03): drawn at its value;
    # 0.01 is farther: drawn at the edge, and its hover says so
    edge = 0.03 - 0.15 * 0.07
    assert outside(fig) == [[(pytest.approx(edge), pytest.approx(0.0016)),
                             (0.025, pytest.approx(0.000625))]]
    (grey,) = traces(fig, OUTSIDE)
    assert "lr = 0.01 is off this axis: drawn at its edge" in grey.hovertext[0]
    assert "drawn at its edge" not in grey.hovertext[1]
    low, high = fig.layout.xaxis.range
    assert low < edge and high > 0.1  # the axis reaches past the new bounds
    assert [(s.x0, s.x1) for s in fig.layout.shapes] == [(pytest.approx(low), 0.03)]
    observed = traces(fig, "observed")[0]
    assert sorted(observed.x) == pytest.approx([0.04, 0.055, 0.07, 0.085])
    mean = traces(fig, "model mean")[0]
    assert min(mean.x) == 0.03  # the model only over the new space
    rec = compute_slice(exp, "lr", acquisition=False)
    assert list(rec.outside_space.trial_index) == [0, 1]

    fig = exp.plot.slice("z")  # along z both are in range: drawn at their values
    assert outside(fig) == [[(0.0, pytest.approx(0.0016)), (0.2, pytest.approx(0.000625))]]
    assert fig.layout.xaxis.range is None and fig.layout.xaxis.autorange

    fig = exp.plot.contour("lr", "z", grid=8)
    assert outside(fig) == [[(pytest.approx(edge), 0.0), (0.025, 0.2)]] * 2
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range and fig.layout.xaxis.range[0] < edge
    assert fig.layout.yaxis.range is None
    for t in traces(fig, "observed"):
        assert not {0.01, 0.025} & set(t.x)
    best = traces(fig, "best")[0]
    assert best.x[0] >= 0.03
    assert list(compute_contour(exp, "lr", "z", grid=8).outside_space.trial_index) == [0, 1]


def test_a_value_that_has_no_place_on_an_axis_is_left_out_of_it(exp):
    exp.attach({"lr": 0.05, "opt": "adam", "z": 0.0}, result=0.5)  # trial 6: z = 0
    exp.change_parameters([axnb.Range("lr", 0.01, 0.1), axnb.Choice("opt", ["adam", "sgd"]),
                           axnb.Range("z", 0.01, 1.0, log=True)])
    assert [t.index for t in exp.trials if t.outside] == [0, 6]  # z = 0 is not in [0.01, 1]
    assert [p[0] for p in outside(exp.plot.progress())[0]] == [0, 6]
    assert outside(exp.plot.slice("z")) == [[]]  # 0 has no place on a log axis
    assert [p[0] for p in outside(exp.plot.slice("lr"))[0]] == [0.01, 0.05]


def test_a_removed_choice_value_is_a_category_after_the_others(exp):
    exp.change_parameters([axnb.Range("lr", 0.01, 0.1), axnb.Choice("opt", ["adam", "lion"]),
                           axnb.Range("z", 0.0, 1.0)])
    assert [t.index for t in exp.trials if t.outside] == [0, 2, 4]  # the sgd trials
    fig = exp.plot.slice("opt")
    assert [p[0] for p in outside(fig)[0]] == ["sgd"] * 3
    assert list(fig.layout.xaxis.categoryarray) == ["adam", "lion", "sgd"]
    fig = exp.plot.contour("opt", "lr", grid=8)
    assert list(fig.layout.xaxis.categoryarray) == ["adam", "lion", "sgd"]
    assert len(outside(fig)[0]) == 3


def test_parallel_and_pareto(exp, tmp_path):
    exp.change_parameters(NARROWED)
    fig = exp.plot.parallel()
    assert len(fig.data[0].dimensions[0].values) == 4
    assert "2 trials outside the search space not shown" in fig.layout.title.text
    exp.exclude(2, reason="noisy")
    assert "1 excluded trial and 2 trials outside" in exp.plot.parallel().layout.title.text

    mo = axnb.Experiment("mo", [axnb.Range("x", 0.0, 1.0)], objectives={"a": "min", "b": "min"},
                         path=tmp_path, seed=0)
    for x in (0.1, 0.4, 0.7, 0.9):
        mo.attach({"x": x}, result={"a": x, "b": 1 - x})
    mo.change_parameters([axnb.Range("x", 0.3, 1.0)])
    fig = mo.plot.pareto()
    assert outside(fig) == [[(0.1, 0.9)]]
    assert 0.1 not in traces(fig, "Pareto front")[0].x
    assert "1 outside the space" in fig.layout.title.text


def test_an_excluded_trial_outside_the_space_is_drawn_as_outside(exp):
    exp.exclude(0, reason="sensor fault")
    exp.change_parameters(NARROWED)
    fig = exp.plot.progress()
    assert traces(fig, "excluded")[0].x == ()
    (grey,) = traces(fig, OUTSIDE)
    assert list(grey.x) == [0, 1] and "sensor fault" in grey.hovertext[0]


# ------------------------------------------------------------------------------- dashboard
def test_the_dashboard_follows_a_narrowing(exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05, grid=8)
    assert dash.wait_idle(60)
    assert outside(dash.figures["progress"]) == [[]] and "outside" not in header(dash)
    exp.change_parameters(NARROWED)
    assert dash.wait_idle(60) and dash.last_error is None
    assert [p[0] for p in outside(dash.figures["progress"])[0]] == [0, 1]
    assert len(outside(dash.figures["slice"])[0]) == 2  # the slice is along lr
    assert dash.figures["slice"].layout.xaxis.range[0] < 0.03
    assert "2 outside the space" in dash.status.value
    assert "outside" in header(dash)
    rows = {r["index"]: r for r in dash.table_rows()}
    assert rows[0]["outside"] and not rows[3]["outside"]
    dash.close()


def test_the_dashboard_follows_an_added_and_a_removed_parameter(exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05, grid=8)
    assert dash.wait_idle(60)
    dash.contour_x.value, dash.contour_y.value = "z", "opt"
    dash.slice_param.value = "opt"
    assert dash.wait_idle(60)

    exp.change_parameters([*NARROWED, axnb.Range("dropout", 0.0, 0.5)],
                          defaults={"dropout": 0.1})
    assert dash.wait_idle(60) and dash.last_error is None
    assert pickers(dash) == {k: ["lr", "opt", "z", "dropout"] for k in ("x", "y", "slice")}
    assert (dash.contour_x.value, dash.contour_y.value, dash.slice_param.value) == (
        "z", "opt", "opt")  # the picks are kept
    assert "dropout" in header(dash)
    dash.slice_param.value = "dropout"
    assert "along dropout" in dash.figures["slice"].layout.title.text
    dash.contour_y.value = "dropout"
    assert dash.figures["contour"].layout.yaxis.title.text == "dropout"
    assert dash.last_error is None

    exp.change_parameters([axnb.Range("lr", 0.03, 0.1), axnb.Range("z", 0.0, 1.0)])
    assert dash.wait_idle(60) and dash.last_error is None
    assert pickers(dash) == {k: ["lr", "z"] for k in ("x", "y", "slice")}
    assert (dash.contour_x.value, dash.contour_y.value) == ("z", "lr")  # y fell back
    assert dash.slice_param.value == "lr"  # so did the slice
    assert "along lr" in dash.figures["slice"].layout.title.text
    assert dash.figures["contour"].layout.yaxis.title.text == "lr"
    columns = header(dash)
    assert columns.index("z") < columns.index("opt") < columns.index("dropout")  # kept after
    assert [r["dropout"] for r in dash.table_rows()] == [0.1] * 6
    dash.close()


def test_the_dashboard_of_another_kernel_follows_the_change(exp):
    other = axnb.load(exp.path)
    dash = axnb.widgets.Dashboard(other, interval=0.05, grid=8)
    assert dash.wait_idle(60)
    exp.change_parameters([*NARROWED, axnb.Int("layers", 1, 4)], defaults={"layers": 2})
    assert other.trials[0].outside  # the next sync of the other kernel emits "reload"
    assert dash.wait_idle(60) and dash.last_error is None
    assert pickers(dash)["slice"] == ["lr", "opt", "z", "layers"]
    assert [p[0] for p in outside(dash.figures["progress"])[0]] == [0, 1]
    assert "2 outside the space" in dash.status.value
    dash.close()


# ------------------------------------------------------------------------------- panel
def test_the_panel_fields_follow_the_space(exp):
    panel = axnb.widgets.Panel(exp, interval=0.05)
    fields = panel.fields
    panel.fields["z"].value = 0.7
    z = panel.fields["z"]
    exp.change_parameters([axnb.Range("lr", 0.03, 0.1), axnb.Range("z", 0.0, 1.0),
                           axnb.Choice("act", ["relu", "tanh"])], defaults={"act": "relu"})
    assert panel.wait_idle(30)
    assert panel.fields is fields and list(fields) == ["lr", "z", "act"]  # opt is gone
    assert fields["z"] is z and z.value == 0.7  # unchanged: kept, with what was typed
    assert (fields["lr"].min, fields["lr"].max) == (0.03, 0.1)
    assert [v for _, v in fields["act"].options] == ["relu", "tanh"]
    assert "added 'act'" in panel.message.value.replace("&#x27;", "'")
    assert "2 outside the space" in panel.title.value
    panel.set_values({"lr": 0.05, "z": 0.5, "act": "tanh"})
    panel.attach_button.click()
    assert "axnb-error" not in panel.message.value
    assert exp.trials[-1].parameters == {"lr": 0.05, "z": 0.5, "act": "tanh"}
    panel.close()


def test_attach_with_fields_of_the_old_space_changes_nothing(exp):
    panel = axnb.widgets.Panel(exp, interval=30)  # no automatic refresh before the click
    panel.set_values({"lr": 0.05, "opt": "adam", "z": 0.5})
    exp.change_parameters([*NARROWED, axnb.Range("dropout", 0.0, 0.5)],
                          defaults={"dropout": 0.0})
    panel.attach_button.click()
    assert "axnb-error" in panel.message.value and "search space changed" in panel.message.value
    assert len(exp.trials) == 6
    assert "dropout" in panel.fields
    panel.attach_button.click()  # the fields are those of the new space now
    assert "axnb-error" not in panel.message.value and len(exp.trials) == 7
    panel.close()


def test_suggest_after_a_change_fills_the_new_fields(exp):
    panel = axnb.widgets.Panel(exp, interval=30)
    exp.change_parameters([axnb.Range("lr", 0.03, 0.1), axnb.Range("w", 1.0, 2.0)],
                          defaults={"w": 1.5})
    panel.suggest_button.click()
    assert "axnb-error" not in panel.message.value
    assert set(panel.fields) == {"lr", "w"} and set(panel.suggestion) == {"lr", "w"}
    assert math.isclose(panel.fields["w"].value, panel.suggestion["w"])
    panel.accept_button.click()
    assert "axnb-error" not in panel.message.value and exp.trials[-1].is_running
    panel.close()
