"""Excluded and corrected trials in the plots, the panel and the dashboard, through the public
API: excluded trials are drawn hollow (a trace named "excluded") and left out of the fits, the
best so far and the best point; parallel coordinates leave them out and say so; the panel's
amend buttons exclude, include and correct; the dashboard redraws after an exclusion."""

from __future__ import annotations

import json

import pytest

import axnb
from axnb.analysis import compute_cross_validation, compute_progress, compute_slice

OUTLIER = 5  # the index of the faulty reading in every experiment below


@pytest.fixture
def exp(tmp_path):
    e = axnb.Experiment("amend-ui", [axnb.Range("x", 0.0, 1.0), axnb.Range("z", 0.0, 1.0)],
                        objective="y", path=tmp_path, seed=0)
    for x in (0.1, 0.3, 0.5, 0.7, 0.9):
        e.attach({"x": x, "z": 1.0 - x}, result=(x - 0.6) ** 2)
    e.attach({"x": 0.2, "z": 0.4}, result=-5.0)  # a faulty reading, far below the rest
    return e


def traces(fig, name):
    return [t for t in fig.data if t.name == name]


def excluded(fig):
    """The points of the figure's "excluded" traces (one per subplot), as (x, y) pairs."""
    found = traces(fig, "excluded")
    assert found, [t.name for t in fig.data]
    for t in found:
        assert "open" in t.marker.symbol  # hollow
    return [list(zip(t.x, t.y)) for t in found]


def saved(exp):
    return json.loads(exp.path.read_text())["trials"]


# ------------------------------------------------------------------------------- plots
def test_progress_draws_the_excluded_trial_hollow_and_not_in_the_best_so_far(exp):
    before = exp.plot.progress()
    assert min(traces(before, "best so far")[0].y) == -5.0
    assert excluded(before) == [[]]  # the trace is always there (stable layout), empty

    exp.exclude(OUTLIER, reason="sensor fault")
    fig = exp.plot.progress()
    assert excluded(fig) == [[(OUTLIER, -5.0)]]
    (hollow,) = traces(fig, "excluded")
    assert "excluded" in hollow.hovertext[0] and "sensor fault" in hollow.hovertext[0]
    best = traces(fig, "best so far")[0]
    assert min(best.y) == pytest.approx(0.01) and OUTLIER not in best.x
    assert OUTLIER not in traces(fig, "trial")[0].x
    assert "1 excluded" in fig.layout.title.text
    rec = compute_progress(exp)
    assert list(rec.excluded.trial_index) == [OUTLIER] and OUTLIER not in rec.index


def test_the_last_exclusion_reason_is_shown(exp):
    exp.exclude(OUTLIER, reason="first look")
    exp.include(OUTLIER, reason="was fine")
    exp.exclude(OUTLIER, reason="pump <leak>")
    (hollow,) = traces(exp.plot.progress(), "excluded")
    assert "pump &lt;leak&gt;" in hollow.hovertext[0] and "first look" not in hollow.hovertext[0]


def test_slice_and_contour_draw_it_hollow_and_the_model_ignores_it(exp):
    exp.exclude(OUTLIER, reason="sensor fault")
    fig = exp.plot.slice("x")
    assert excluded(fig) == [[(0.2, -5.0)]]
    assert 0.2 not in traces(fig, "observed")[0].x
    mean = traces(fig, "model mean")[0]
    near = min(range(len(mean.x)), key=lambda i: abs(mean.x[i] - 0.2))
    assert mean.y[near] > -1.0  # the fit is nowhere near the excluded -5
    (hollow,) = traces(fig, "excluded")
    assert "sensor fault" in hollow.hovertext[0]
    rec = compute_slice(exp, "x", acquisition=False)
    assert list(rec.excluded.trial_index) == [OUTLIER] and OUTLIER not in rec.trial_index

    fig = exp.plot.contour("x", "z", grid=10)
    assert excluded(fig) == [[(0.2, 0.4)], [(0.2, 0.4)]]  # mean and standard-error panels
    for t in traces(fig, "observed"):
        assert (0.2, 0.4) not in list(zip(t.x, t.y))
    best = traces(fig, "best")[0]
    params = exp.best()[0]
    assert (best.x[0], best.y[0]) == (params["x"], params["z"]) != (0.2, 0.4)  # not the -5


def test_a_corrected_trial_shows_its_earlier_result(exp):
    exp.correct(2, 0.42, reason="re-measured")
    progress = traces(exp.plot.progress(), "trial")[0]
    text = progress.hovertext[list(progress.x).index(2)]
    assert "corrected (was y=0.01)" in text and "re-measured" in text
    observed = traces(exp.plot.slice("x"), "observed")[0]
    assert "corrected (was y=0.01)" in observed.hovertext[list(observed.x).index(0.5)]


def test_parallel_omits_excluded_trials_and_says_so(exp):
    assert "excluded" not in exp.plot.parallel().layout.title.text
    exp.exclude(OUTLIER, reason="sensor fault")
    fig = exp.plot.parallel()
    dims = {d.label: d.values for d in fig.data[0].dimensions}
    assert len(dims["y"]) == 5 and -5.0 not in dims["y"]
    assert "1 excluded trial not shown" in fig.layout.title.text


def test_cross_validation_uses_only_the_trials_not_excluded(exp):
    exp.exclude(OUTLIER)
    rec = compute_cross_validation(exp)
    assert sorted(rec.trial_index.tolist()) == [0, 1, 2, 3, 4]
    assert exp.plot.importance().layout.meta["analysis"] == "importance"


def test_pareto_draws_excluded_trials_hollow_and_off_the_front(tmp_path):
    mo = axnb.Experiment("mo", [axnb.Range("x", 0.0, 1.0)], objectives={"a": "min", "b": "min"},
                         path=tmp_path, seed=0)
    for x in (0.1, 0.4, 0.7, 0.9):
        mo.attach({"x": x}, result={"a": x, "b": 1 - x})
    mo.attach({"x": 0.5}, result={"a": -1.0, "b": -1.0})  # dominates everything
    front = traces(mo.plot.pareto(), "Pareto front")[0]
    assert list(zip(front.x, front.y)) == [(-1.0, -1.0)]
    mo.exclude(4, reason="bad scale")
    fig = mo.plot.pareto()
    assert excluded(fig) == [[(-1.0, -1.0)]]
    front = traces(fig, "Pareto front")[0]
    assert len(front.x) == 4 and -1.0 not in front.x


# ------------------------------------------------------------------------------- panel
def is_error(panel):
    return "axnb-error" in panel.message.value


def test_panel_excludes_includes_and_corrects(exp):
    panel = exp.panel()
    panel.trial_field.value = OUTLIER
    assert "Trial 5" in panel.trial_info.value and "x = 0.2" in panel.trial_info.value
    assert not panel.exclude_button.disabled and panel.include_button.disabled

    panel.reason_field.value = "sensor fault"
    panel.exclude_button.click()
    t = exp.trial(OUTLIER)
    assert not is_error(panel) and t.excluded
    assert [(c.action, c.reason) for c in t.history] == [("excluded", "sensor fault")]
    assert saved(exp)[OUTLIER]["excluded"] is True
    assert "excluded" in panel.trial_info.value and "sensor fault" in panel.trial_info.value
    assert panel.exclude_button.disabled and not panel.include_button.disabled
    assert panel.reason_field.value == ""
    assert exp.best()[0] == {"x": 0.5, "z": 0.5}

    panel.include_button.click()
    assert not is_error(panel) and not exp.trial(OUTLIER).excluded
    assert [c.action for c in exp.trial(OUTLIER).history] == ["excluded", "included"]

    panel.result_fields["y"].value = 0.3
    panel.reason_field.value = "typo"
    panel.correct_button.click()
    t = exp.trial(OUTLIER)
    assert not is_error(panel) and t.result == {"y": (0.3, None)}
    assert (t.history[-1].action, t.history[-1].result, t.history[-1].reason) == (
        "corrected", {"y": (-5.0, None)}, "typo")
    assert "was y = -5" in panel.trial_info.value
    assert panel.result_fields["y"].value is None  # the fields are cleared
    panel.close()


def test_bad_amend_clicks_say_why_and_change_nothing(exp):
    running = exp.attach({"x": 0.45, "z": 0.45})  # no result: running
    panel = exp.panel()
    before = saved(exp)

    panel.trial_field.value = running.index
    assert panel.exclude_button.disabled and panel.correct_button.disabled
    assert "running" in panel.trial_info.value
    for button in (panel.exclude_button, panel.include_button, panel.correct_button):
        panel.result_fields["y"].value = 1.0
        button.click()  # clicked from code although disabled
        assert is_error(panel) and "running" in panel.message.value
    assert exp.trial(running.index).status == "running"
    assert exp.trial(running.index).history == [] and not exp.trial(running.index).excluded

    panel.trial_field.value = 99
    assert "No trial 99" in panel.trial_info.value
    panel.exclude_button.click()
    assert is_error(panel) and "Unknown trial 99" in panel.message.value

    panel.trial_field.value = 1
    panel.result_fields["y"].value = None
    panel.correct_button.click()  # no corrected result typed
    assert is_error(panel) and "Correct" in panel.message.value
    assert saved(exp) == before
    panel.close()


def test_panel_follows_amendments_made_elsewhere(exp):
    panel = axnb.widgets.Panel(exp, interval=0.05)
    panel.trial_field.value = 1
    assert "excluded" not in panel.trial_info.value
    exp.exclude(1, reason="from another cell")
    assert panel.wait_idle(30)
    assert "from another cell" in panel.trial_info.value and "1 excluded" in panel.title.value
    assert not panel.include_button.disabled and panel.exclude_button.disabled
    exp.correct(1, 0.5)
    assert panel.wait_idle(30)
    assert "y = 0.5" in panel.trial_info.value and "corrected" in panel.trial_info.value
    panel.close()


# ------------------------------------------------------------------------------- dashboard
def test_dashboard_redraws_after_exclude_and_correct(exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05, grid=10)
    assert dash.wait_idle(60)
    assert excluded(dash.figures["progress"]) == [[]]
    assert "excluded" not in [v.replace("<b>", "").replace("</b>", "").split()[0]
                              for v in dash.figures["trials"].data[0].header.values]

    exp.exclude(OUTLIER, reason="sensor fault")
    assert dash.wait_idle(60) and dash.last_error is None
    assert excluded(dash.figures["progress"]) == [[(OUTLIER, -5.0)]]
    assert excluded(dash.figures["slice"]) == [[(0.2, -5.0)]]
    assert excluded(dash.figures["contour"]) == [[(0.2, 0.4)], [(0.2, 0.4)]]
    assert 0.2 not in traces(dash.figures["slice"], "observed")[0].x
    table = dash.figures["trials"].data[0]
    header = [h.replace("<b>", "").replace("</b>", "") for h in table.header.values]
    column = table.cells.values[header.index("excluded")]
    row = list(table.cells.values[0]).index(str(OUTLIER))
    assert column[row] == "yes: sensor fault"
    assert "1 excluded" in dash.status.value
    assert [r["excluded"] for r in dash.table_rows() if r["index"] == OUTLIER] == [True]

    exp.correct(0, 0.5, reason="re-measured")  # new data: the slice follows
    assert dash.wait_idle(60)
    observed = traces(dash.figures["slice"], "observed")[0]
    assert observed.y[list(observed.x).index(0.1)] == 0.5

    dash.close()  # no automatic refreshes now: refresh() brings it back
    exp.include(OUTLIER)
    dash.refresh()
    assert excluded(dash.figures["slice"]) == [[]]
    assert 0.2 in traces(dash.figures["slice"], "observed")[0].x
