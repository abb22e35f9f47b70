"""The static dashboard (axnb.settings.display = "static"): plain figures and HTML shown with
display ids and replaced in place; the setting, its validation and the "auto" rule."""

from __future__ import annotations

import sys
import types

import pytest

import axnb
from axnb.widgets.static import StaticDashboard

settings_module = sys.modules["axnb.settings"]


@pytest.fixture
def static():
    before = axnb.settings.display
    axnb.settings.display = "static"
    yield
    axnb.settings.display = before


@pytest.fixture
def exp(tmp_path):
    return axnb.Experiment(
        "static",
        [axnb.Range("x1", -5.0, 5.0), axnb.Range("x2", -5.0, 5.0)],
        objective="loss",
        path=tmp_path,
        seed=0,
    )


class Frontend:
    """Stands in for ``IPython.display``: records display and update_display calls."""

    def __init__(self):
        self.outputs: dict[str, object] = {}
        self.calls: list[tuple[str, str]] = []

    def display(self, obj, display_id, raw=False):
        assert raw and "text/html" in obj  # a MIME bundle, shown as it is
        self.outputs[display_id] = obj
        self.calls.append(("display", display_id))

    def update_display(self, obj, display_id, raw=False):
        assert display_id in self.outputs, "an update of an output never displayed"
        assert raw and "text/html" in obj
        self.outputs[display_id] = obj
        self.calls.append(("update", display_id))


@pytest.fixture
def frontend(monkeypatch):
    front = Frontend()
    monkeypatch.setattr("axnb.widgets.static._ipython_display", lambda: front)
    return front


def test_static_dashboard_updates_its_outputs_in_place(static, exp, frontend):
    dash = exp.dashboard()
    assert isinstance(dash, StaticDashboard)
    assert not frontend.calls  # nothing shown until the dashboard is displayed
    dash._ipython_display_()  # what IPython does with the value of a cell
    ids = dash.display_ids
    assert [i for _, i in frontend.calls] == [
        ids[o] for o in ("status", "contour", "slice", "progress", "trials", "message")
    ]
    assert "0 trials" in frontend.outputs[ids["status"]]["text/html"]

    trial = exp.attach({"x1": 1.0, "x2": 2.0})
    exp.complete(trial.index, 3.5)  # the refresher follows, no refresh() needed
    assert dash.wait_idle(60)
    updated = {i for kind, i in frontend.calls if kind == "update"}
    assert {ids["status"], ids["progress"], ids["trials"]} <= updated
    assert "1 trials: 1 completed" in frontend.outputs[ids["status"]]["text/html"]
    progress = frontend.outputs[ids["progress"]]
    assert "1 completed" in progress["text/html"]  # plotly's bundle, with HTML for exports
    assert list(dash.figures["progress"].data[0].y) == [3.5]
    assert "<td style='padding:2px 8px'>3.5</td>" in frontend.outputs[ids["trials"]]["text/html"]
    assert len(frontend.outputs) == 6  # the same outputs, replaced: none added

    n = len(frontend.calls)
    dash.refresh()  # nothing changed: nothing sent
    assert [c for c in frontend.calls[n:] if c[1] != ids["status"]] == []
    dash.close()


def test_static_dashboard_without_ipython_shows_nothing(static, exp):
    dash = axnb.widgets.Dashboard(exp, interval=0.05)
    assert isinstance(dash, StaticDashboard)
    exp.attach({"x1": 0.0, "x2": 0.0}, result=1.0)
    dash.refresh()
    assert "1 completed" in dash.status.value
    assert len(dash.figures["progress"].data[0].x) == 1
    dash.contour_x.value, dash.contour_y.value = "x2", "x1"  # plain values: set, refresh
    dash.refresh()
    assert dash.figures["contour"].layout.xaxis.title.text == "x2" and dash.last_error is None
    dash.close()


def test_the_setting_is_validated():
    with pytest.raises(ValueError, match=r"one of 'auto', 'widgets', 'static', got 'html'"):
        axnb.settings.display = "html"
    assert axnb.settings.display in ("auto", "widgets", "static")
    with pytest.raises(AttributeError, match="no setting 'dispaly'"):
        axnb.settings.dispaly = "static"


def test_the_environment_variable_sets_the_initial_value(monkeypatch):
    monkeypatch.setenv("AXNB_DISPLAY", "Static")
    assert settings_module.Settings().display == "static"
    monkeypatch.setenv("AXNB_DISPLAY", "plain")
    with pytest.raises(ValueError, match="AXNB_DISPLAY"):
        settings_module.Settings()


def test_auto_rule(monkeypatch):
    resolve = settings_module.resolve_display
    assert resolve("widgets") == "widgets" and resolve("static") == "static"
    monkeypatch.setattr(settings_module, "_in_kernel", lambda: False)
    assert resolve("auto") == "widgets"  # no kernel (scripts, tests): scriptable widgets
    monkeypatch.setattr(settings_module, "_in_kernel", lambda: True)
    parent = ["/usr/bin/python", "/usr/bin/jupyter-lab", "--notebook-dir=/home/u/nbconvert"]
    monkeypatch.setattr(settings_module, "_parent_argv", lambda: parent)
    assert resolve("auto") == "widgets"  # JupyterLab, Notebook 7, VS Code
    monkeypatch.setattr(settings_module, "_parent_argv", lambda: [])
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert resolve("auto") == "static"  # Colab


@pytest.mark.parametrize(
    ("argv", "headless"),
    [
        (["/usr/bin/python", "/usr/bin/jupyter-nbconvert", "--execute", "a.ipynb"], True),
        (["python", "-m", "nbconvert", "--to", "html", "--execute", "a.ipynb"], True),
        (["/venv/bin/jupyter", "execute", "a.ipynb"], True),
        (["/venv/bin/python", "/venv/bin/papermill", "in.ipynb", "out.ipynb"], True),
        (["python", "-m", "pytest", "--nbmake", "notebooks"], True),
        (["/venv/bin/python", "/venv/bin/jupyter-lab", "--no-browser"], False),
        (["/usr/bin/python", "-m", "jupyter", "lab", "--notebook-dir=/srv/papermill"], False),
        (["/usr/share/code/code", "--type=utility"], False),
        ([], False),
    ],
)
def test_headless_executors_are_recognised(argv, headless):
    assert settings_module.is_headless(argv) is headless


def test_importing_axnb_stays_light():
    import subprocess

    code = (
        "import sys, axnb; axnb.settings.display; "
        "print(any(m in sys.modules for m in ('torch', 'plotly', 'ipywidgets')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
