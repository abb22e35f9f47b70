"""The live dashboard's fallback (axnb.settings.display = "auto"): when no front end draws
the widget, the static dashboard appears under it, in place, and follows the experiment;
once a front end draws it after all, the static copy goes."""

from __future__ import annotations

import time
import types

import pytest

import axnb
from axnb.widgets import dashboard as dashboard_module
from axnb.widgets.static import StaticDashboard


class Frontend:
    """Stands in for IPython's display machinery (``display`` with ``display_id=True``,
    ``update_display``), recording the outputs by display id."""

    def __init__(self):
        self.outputs: dict[str, dict] = {}
        self.shown: list[dict] = []
        self._ids = 0

    def display(self, obj, raw=False, display_id=None, **_):
        self.shown.append(obj)
        if display_id is None:
            return None
        if display_id is True:
            self._ids += 1
            display_id = f"out-{self._ids}"
        self.outputs[display_id] = obj
        return types.SimpleNamespace(display_id=display_id)

    def update_display(self, obj, display_id, raw=False, **_):
        assert display_id in self.outputs, "an update of an output never displayed"
        self.outputs[display_id] = obj


@pytest.fixture
def frontend(monkeypatch):
    import IPython.display

    front = Frontend()
    monkeypatch.setattr(IPython.display, "display", front.display)
    monkeypatch.setattr(IPython.display, "update_display", front.update_display)
    monkeypatch.setattr("axnb.widgets.static._ipython_display", lambda: front)
    monkeypatch.setattr(dashboard_module, "FALLBACK_AFTER", 0.3)
    before = axnb.settings.display
    axnb.settings.display = "auto"
    yield front
    axnb.settings.display = before


@pytest.fixture
def exp(tmp_path):
    exp = axnb.Experiment("fallback", [axnb.Range("x1", 0, 1), axnb.Range("x2", 0, 1)],
                          objective="loss", path=tmp_path, seed=0)
    for x in (0.2, 0.5, 0.8):
        exp.attach({"x1": x, "x2": 1 - x}, result=(x - 0.4) ** 2)
    return exp


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def placeholder(front):
    (out_id,) = [k for k, v in front.outputs.items() if v.get("text/html") is not None]
    return out_id


def test_an_undrawn_dashboard_falls_back_to_the_static_one_in_place(frontend, exp):
    dash = axnb.widgets.Dashboard(exp)
    assert not isinstance(dash, StaticDashboard)  # outside a kernel "auto" gives widgets
    dash._ipython_display_()  # what IPython does with the value of a cell
    out = placeholder(frontend)
    assert frontend.outputs[out]["text/html"] == ""  # empty while waiting
    assert wait_for(lambda: "axnb-static-figure" in frontend.outputs[out]["text/html"])
    assert isinstance(dash.fallback, StaticDashboard)
    html = frontend.outputs[out]["text/html"]
    assert "3 trials" in html and "axnb-static-trials" in html
    # it follows the experiment in the same output
    t = exp.attach({"x1": 0.4, "x2": 0.6}, result=0.0)
    assert t.index == 3
    assert wait_for(lambda: "4 trials" in frontend.outputs[out]["text/html"])
    # a front end draws the widget after all: the static copy goes
    dash.views["contour"].rendered.set()
    assert wait_for(lambda: frontend.outputs[out]["text/html"] == "")
    dash.close()


def test_a_drawn_dashboard_needs_no_fallback(frontend, exp):
    dash = axnb.widgets.Dashboard(exp)
    dash._ipython_display_()
    dash.views["contour"]._on_message(None, {"event": "rendered"}, [])  # the view's message
    time.sleep(1.0)
    assert dash.fallback is None
    assert frontend.outputs[placeholder(frontend)]["text/html"] == ""
    dash.close()


def test_widgets_forced_has_no_fallback(frontend, exp):
    axnb.settings.display = "widgets"
    dash = axnb.widgets.Dashboard(exp)
    dash._ipython_display_()
    assert frontend.outputs == {}  # no placeholder
    dash.close()
