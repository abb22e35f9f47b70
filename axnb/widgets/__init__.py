"""Notebook widgets: the live dashboard, the human-in-the-loop panel and the builder.

    dash = exp.dashboard()      # contour / slice / progress / trials tabs that follow the run
    panel = exp.panel()         # Suggest -> edit -> Accept; results -> Complete; Fail; Attach
    builder = axnb.builder()    # a form that writes the Experiment(...) code and creates it
    ex = exp.explore()          # teaching: the model and acquisition as they were at step k

They are stock ipywidgets (``VBox`` subclasses); the dashboard draws its plotly figures with
small anywidget views that share one compressed copy of plotly.js per kernel
(``axnb.widgets.plotly_view``: about 2 MB of widget state per dashboard, where four plotly
``FigureWidget``s sent 20 MB); the panel, builder and explorer use plotly ``FigureWidget``s.
They hold no state the experiment does not: every action goes straight to the experiment (and
so to its JSON file), and closing a widget or re-running its cell loses nothing. Each widget
follows the experiment through ``exp.subscribe``; updates are coalesced (the dashboard
refreshes at once when idle, then at most about every 0.5 s; the others are debounced) in a
small worker thread (see ``axnb.widgets._events``), so a background ``exp.run`` can update
the dashboard while the notebook stays usable. ``close()`` unsubscribes.

Where they run: JupyterLab 4 and Notebook 7 (both tested in a real browser), and VS Code
(designed for: ipywidgets 8, anywidget). Google Colab renders third-party widgets only after
``google.colab.output.enable_custom_widget_manager()``; axnb detects Colab and calls it once.
Where widgets cannot render (Colab, nbconvert / papermill runs and their HTML exports), the
dashboard is static (``axnb.widgets.static``): the same figures, status and table as plain
outputs, replaced in place through display handles (``axnb.settings.display``).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from axnb.widgets.builder import Builder
    from axnb.widgets.dashboard import Dashboard
    from axnb.widgets.explorer import Explorer
    from axnb.widgets.panel import Panel

_HOMES = {
    "Builder": "axnb.widgets.builder",
    "Dashboard": "axnb.widgets.dashboard",
    "Explorer": "axnb.widgets.explorer",
    "Panel": "axnb.widgets.panel",
}


def __getattr__(name: str) -> Any:  # import plotly and friends only when a widget is used
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'axnb.widgets' has no attribute {name!r}")


__all__ = ["Builder", "Dashboard", "Explorer", "Panel"]
