"""What a widget's output holds for when its kernel is gone (axnb/widgets/_snapshot.py).

A saved notebook reopened without the kernel that drew its widgets: JupyterLab 4 and
Notebook 7 write "Error displaying widget: model not found" for a trusted notebook and show
the bundle's best safe type (``text/html``) for an untrusted one; nbconvert exports show
``text/html`` when the notebook holds no widget state. The widgets' bundle carries a hint in
``text/plain`` and ``text/html``, and displaying a widget adds a second output with the same
hint, hidden by CSS unless the widget above it failed to display (checked in Chromium by
hand: see the module doc of ``_snapshot``).
"""

from __future__ import annotations

import re

import pytest

import axnb
from axnb.widgets._snapshot import (
    CSS_CLASS,
    REVIVE_CLASS,
    Snapshot,
    revive_html,
    snapshot_hint,
    snapshot_html,
)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# What the browser tests flag as a widget failure (tests/browser/lab.py): never in a hint.
WIDGET_ERRORS = re.compile(r"Error displaying widget|model not found", re.IGNORECASE)


@pytest.fixture
def exp(tmp_path):
    exp = axnb.Experiment(
        "checkout", [axnb.Range("x", -2.0, 2.0)], objective="loss", path=tmp_path, seed=0
    )
    for i in range(6):
        x = -2.0 + 0.8 * i
        exp.attach({"x": x}, result=(x - 0.3) ** 2)
    return exp


@pytest.fixture
def panel(exp):
    w = exp.panel()
    yield w
    w.close()


def check_bundle(data, head: str, subject: str | None) -> None:
    assert set(data) == {WIDGET_VIEW, "text/plain", "text/html"}
    assert data[WIDGET_VIEW]["model_id"]  # the live widget first
    plain, html = data["text/plain"], data["text/html"]
    assert "\n" not in plain  # one line
    assert plain.startswith(head) and "run this cell again" in plain
    assert (subject in plain) if subject else (" for " not in plain.split(":")[0])
    assert f"class='{CSS_CLASS}'" in html and "run this cell again" in html
    assert "<script" not in html  # shown sanitized in untrusted notebooks: plain HTML only
    assert not WIDGET_ERRORS.search(plain + html)


def test_panel_bundle_carries_the_hint(panel):
    check_bundle(panel._repr_mimebundle_(), "axnb panel for experiment 'checkout'", "'checkout'")
    assert repr(panel) == "<axnb Panel for experiment 'checkout'>"  # repr unchanged


def test_builder_bundle_carries_the_hint():
    b = axnb.builder()
    try:
        check_bundle(b._repr_mimebundle_(), "axnb experiment builder:", None)
    finally:
        b.close()


def test_explorer_bundle_carries_the_hint(exp):
    from axnb.widgets.explorer import Explorer

    w = Explorer(exp)
    try:
        check_bundle(w._repr_mimebundle_(), "axnb explorer for experiment 'checkout'", "'checkout'")
    finally:
        w.close()


def test_dashboard_takes_the_mixin(exp):
    """The lines given for dashboard.py (``class Dashboard(Snapshot, FollowingBox,
    DashboardCore)`` and ``snapshot_name = "dashboard"``) work: tried on a subclass until
    they are in."""
    from axnb.widgets.dashboard import Dashboard

    if issubclass(Dashboard, Snapshot):
        cls = Dashboard
    else:
        cls = type("SnapshotDashboard", (Snapshot, Dashboard), {"snapshot_name": "dashboard"})
    dash = cls(exp, interval=60)
    try:
        check_bundle(
            dash._repr_mimebundle_(), "axnb dashboard for experiment 'checkout'", "'checkout'"
        )
    finally:
        dash.close()


def test_displaying_a_widget_adds_the_hidden_hint_output(panel, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(
        IPython.display, "display", lambda obj, raw=False, **kw: shown.append((obj, raw))
    )
    panel._ipython_display_()
    assert [raw for _, raw in shown] == [True, True]
    widget, hint = shown[0][0], shown[1][0]
    assert WIDGET_VIEW in widget and widget["text/plain"] == snapshot_hint(panel)
    assert set(hint) == {"text/html"}  # nothing for text exports or terminals
    assert hint["text/html"] == revive_html(panel)


def test_revive_output_is_hidden_unless_the_widget_above_failed(panel):
    out = revive_html(panel)
    style, rest = re.fullmatch(r"<style>(.*)</style>(.*)", out, re.S).groups()
    # hidden inline (untrusted notebooks, nbconvert, VS Code, Colab drop or ignore the CSS)
    assert re.search(rf"<div class='{REVIVE_CLASS}' style='display:none;", rest)
    # JupyterLab 4 / Notebook 7: the failed widget renderer has the class jupyter-widgets
    assert f".jp-OutputArea-child:has(.{REVIVE_CLASS}){{display:none}}" in style
    assert (
        "jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets) + "
        f".jp-OutputArea-child .{REVIVE_CLASS}{{display:block !important}}"
    ) in style
    assert "axnb panel" in rest and "run this cell again" in rest
    assert not WIDGET_ERRORS.search(out)


def test_hint_escapes_html():
    class Fake(Snapshot):
        snapshot_name = "panel"
        experiment = type("E", (), {"name": "<b>&x"})()

    w = Fake()
    assert "&lt;b&gt;&amp;x" in snapshot_html(w) and "<b>&x" not in snapshot_html(w)
    assert "&lt;b&gt;&amp;x" in revive_html(w)
    assert "'<b>&x'" in snapshot_hint(w)  # text/plain as it is


def test_hint_never_raises():
    class Broken(Snapshot):
        snapshot_name = "dashboard"

        def snapshot_subject(self):
            raise OSError("file gone")

    assert snapshot_hint(Broken()).startswith("axnb dashboard: ")


def test_nbconvert_export_shows_the_hint_once(panel, monkeypatch):
    """An HTML export of a notebook without widget state shows the bundle's text/html, and
    the second output stays hidden."""
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, **kw: shown.append(obj))
    panel._ipython_display_()
    cell = nbformat.v4.new_code_cell("exp.panel()", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("display_data", data=d) for d in shown]
    nb = nbformat.v4.new_notebook(cells=[cell])
    body, _ = nbconvert.HTMLExporter().from_notebook_node(nb)
    q = "[\"']"  # the exporter may rewrite the quotes
    assert len(re.findall(f"class={q}{CSS_CLASS}{q}", body)) == 1  # the bundle's hint, shown
    assert re.search(f"class={q}{REVIVE_CLASS}{q} style={q}display:\\s*none", body)  # hidden
    assert "axnb panel for experiment" in re.sub(r"<[^>]+>", "", body).replace("&#x27;", "'")
