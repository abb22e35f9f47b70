"""Live latency of the dashboard: a change on an idle dashboard is refreshed at once (no
debounce wait), a burst of changes is coalesced into few refreshes, the selected tab is drawn
first and hidden tabs left stale by a busy refresh are drawn when selected. No timing
assertions: clocks are replaced and refreshes counted."""

from __future__ import annotations

import threading
import time

import pytest

import axnb
from axnb.widgets._events import Refresher


class FakeExperiment:
    """Just ``subscribe``: ``fire()`` calls the listeners as a change would."""

    def __init__(self) -> None:
        self.listeners = []

    def subscribe(self, listener):
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def fire(self) -> None:
        for listener in list(self.listeners):
            listener("completed", [])


def shifted_clock(offset: float):
    return lambda: time.monotonic() + offset


def test_refresher_debounces_by_default():
    exp = FakeExperiment()
    calls = []
    r = Refresher(exp, lambda: calls.append(1), interval=1000.0)  # the panel's, explorer's
    try:
        exp.fire()
        time.sleep(0.2)
        assert calls == [] and r.pending  # waits ``interval`` before refreshing
    finally:
        r.close()


def test_refresher_refreshes_at_once_when_idle_then_throttles():
    exp = FakeExperiment()
    calls = []
    r = Refresher(exp, lambda: calls.append(1), interval=1000.0, leading=True)
    try:
        exp.fire()
        assert r.wait_idle(30)  # a debounce would wait 1000 s
        assert len(calls) == 1 and r.refreshes == 1
        r.clock = shifted_clock(2000.0)  # as if idle for longer than the interval
        exp.fire()
        assert r.wait_idle(30)
        assert len(calls) == 2
        exp.fire()  # less than ``interval`` after the previous refresh: held back
        time.sleep(0.2)
        assert len(calls) == 2 and r.pending
        assert not r.wait_idle(0.1)
    finally:
        r.close()
    assert not r.pending


def test_refresher_coalesces_a_burst_and_ends_with_the_latest_state():
    exp = FakeExperiment()
    state = {"n": 0}
    seen = []

    def refresh():
        seen.append(state["n"])
        time.sleep(0.02)

    r = Refresher(exp, refresh, interval=0.2, leading=True)
    try:
        n = 300
        for _ in range(n):
            state["n"] += 1
            exp.fire()
        assert r.wait_idle(30)
        assert 1 <= r.refreshes < 10  # not one per change (about one per interval)
        assert seen[-1] == n  # the last refresh saw every change
    finally:
        r.close()


def test_refresher_changes_from_several_threads():
    exp = FakeExperiment()
    state = {"n": 0}
    lock = threading.Lock()
    seen = []
    r = Refresher(exp, lambda: seen.append(state["n"]), interval=0.1, leading=True)

    def work():
        for _ in range(50):
            with lock:
                state["n"] += 1
            exp.fire()
            time.sleep(0.001)

    try:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert r.wait_idle(30)
        assert seen[-1] == 200 and r.refreshes < 200
    finally:
        r.close()


def booth(p):
    return (p["x1"] + 2 * p["x2"] - 7) ** 2 + (2 * p["x1"] + p["x2"] - 5) ** 2


@pytest.fixture
def exp(tmp_path):
    exp = axnb.Experiment(
        "latency",
        [axnb.Range("x1", -5.0, 5.0), axnb.Range("x2", -5.0, 5.0)],
        objective="loss",
        path=tmp_path,
        seed=0,
        initial_trials=6,
    )
    for i in range(4):
        p = {"x1": -4.0 + 1.3 * i, "x2": 4.0 - 1.1 * i}
        exp.attach(p, result=booth(p))
    return exp


def points(dash, name="progress"):
    return len(dash.figures[name].data[0].x)


def test_dashboard_single_complete_on_an_idle_dashboard_refreshes_at_once(exp):
    dash = axnb.widgets.Dashboard(exp, interval=1000.0)
    try:
        assert dash.wait_idle(60)  # the first drawing did not wait 1000 s either
        assert points(dash) == 4 and dash.figures["contour"].data[0].z is not None
        before = dash._refresher.refreshes
        dash._refresher.clock = shifted_clock(2000.0)  # idle for longer than the interval
        t = exp.attach({"x1": 0.5, "x2": 0.5})
        assert dash.wait_idle(60)
        dash._refresher.clock = shifted_clock(4000.0)
        exp.complete(t.index, booth(t.parameters))
        assert dash.wait_idle(60)
        assert dash._refresher.refreshes == before + 2
        assert points(dash) == 5 and "5 trials: 5 completed" in dash.status.value
        assert len(dash.figures["slice"].data[3].x) == 5  # every tab followed
        assert dash.last_error is None
    finally:
        dash.close()


def test_dashboard_burst_of_completes_is_coalesced(exp):
    dash = axnb.widgets.Dashboard(exp, interval=1.0)
    try:
        assert dash.wait_idle(60)
        before = dash._refresher.refreshes
        n = 15
        for i in range(n):
            p = {"x1": -4.5 + 0.6 * i, "x2": 4.5 - 0.55 * i}
            exp.attach(p, result=booth(p))
        assert dash.wait_idle(120)
        assert dash._refresher.refreshes - before < n // 2
        assert points(dash) == 4 + n
        assert f"{4 + n} trials: {4 + n} completed" in dash.status.value
        assert len(dash.figures["trials"].data[0].cells.values[0]) == 4 + n
        assert dash.last_error is None
    finally:
        dash.close()


class Busy:
    """Stands for a refresher with changes waiting: a refresh leaves hidden tabs stale."""

    pending = True
    refreshes = 0

    def wait_idle(self, timeout=0):
        return True

    def close(self):
        pass


def test_selected_tab_first_and_hidden_tabs_drawn_when_selected(exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05)
    try:
        assert dash.wait_idle(60)
        dash._refresher.close()
        dash._refresher = Busy()
        titles = list(dash.tabs.titles)
        dash.tabs.selected_index = titles.index("slice")
        order = []
        show = dash._show
        dash._show = lambda name, fig: order.append(name) or show(name, fig)
        exp.attach({"x1": 0.1, "x2": 0.2}, result=3.0)
        dash._refresh_changed()
        assert order == ["slice"]  # changes are waiting: only the selected tab
        assert len(dash.figures["slice"].data[3].x) == 5
        assert points(dash) == 4  # the progress tab is stale ...
        assert {"contour", "progress", "trials"} <= dash._stale
        assert "5 trials" in dash.status.value  # ... the status line is not
        dash.tabs.selected_index = titles.index("progress")  # ... until it is shown
        assert points(dash) == 5 and order[-1] == "progress"
        assert "progress" not in dash._stale

        dash._refresher.pending = False  # nothing waiting: every tab, the selected first
        del order[:]
        exp.attach({"x1": 0.3, "x2": -0.2}, result=2.0)
        dash._refresh_changed()
        assert order[0] == "progress" and {"contour", "slice", "trials"} <= set(order)
        assert not dash._stale
        assert points(dash) == 6 and len(dash.figures["contour"].data[2].x) == 6
    finally:
        dash.close()


def test_refresh_draws_every_tab(exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05)
    try:
        assert dash.wait_idle(60)
        dash._refresher.close()
        dash._refresher = Busy()
        exp.attach({"x1": 0.1, "x2": 0.2}, result=3.0)
        dash._refresh_changed()
        assert dash._stale
        dash.refresh()
        assert not dash._stale and points(dash) == 5
    finally:
        dash.close()


def test_static_dashboard_draws_every_output_each_refresh(exp):
    from axnb.widgets.static import StaticDashboard

    dash = StaticDashboard(exp, interval=0.05)
    try:
        assert dash.wait_idle(60)
        assert set(dash._shown()) >= {"contour", "slice", "progress", "trials"}
        exp.attach({"x1": 0.1, "x2": 0.2}, result=3.0)
        assert dash.wait_idle(60)
        assert points(dash) == 5 and not dash._stale
    finally:
        dash.close()


def test_error_of_a_stale_tab_stays_shown_until_it_is_redrawn(exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05)
    try:
        assert dash.wait_idle(60)
        dash._refresher.close()
        dash._refresher = Busy()
        dash._refresher.pending = False

        def broken(trials):
            raise RuntimeError("slice broke")

        dash._slice = broken
        exp.attach({"x1": 0.1, "x2": 0.2}, result=3.0)
        dash._refresh_changed()
        assert "slice: RuntimeError: slice broke" in dash.last_error
        assert "slice broke" in dash.message.value
        dash._refresher.pending = True  # the slice tab is hidden and left stale ...
        exp.attach({"x1": 0.3, "x2": -0.2}, result=2.0)
        dash._refresh_changed()
        assert "slice" in dash._stale and "slice broke" in dash.last_error  # ... error kept
        del dash._slice  # fixed: drawn when its tab is selected
        dash.tabs.selected_index = list(dash.tabs.titles).index("slice")
        assert dash.last_error is None and dash.message.value == ""
        assert len(dash.figures["slice"].data[3].x) == 6
    finally:
        dash.close()
