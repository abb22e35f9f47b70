"""Front-end compatibility: Google Colab's custom widget manager.

JupyterLab, Notebook 7 and VS Code render ipywidgets 8 and plotly's ``FigureWidget`` (an
anywidget since plotly 6) out of the box. Colab renders only its built-in widgets until
``google.colab.output.enable_custom_widget_manager()`` has been called in the session; axnb's
widgets call ``enable_custom_widgets()`` when they are created, so nothing is needed by hand.
"""

from __future__ import annotations

import sys

_done = False


def in_colab() -> bool:
    """True inside a Google Colab kernel."""
    return "google.colab" in sys.modules


def enable_custom_widgets() -> bool:
    """Enable Colab's custom widget manager once per session; True when it was enabled (now
    or earlier), False outside Colab or when Colab refused."""
    global _done
    if _done:
        return True
    if not in_colab():
        return False
    try:
        from google.colab import output  # type: ignore[import-not-found]

        output.enable_custom_widget_manager()
    except Exception:  # an old Colab runtime: widgets fall back to their text repr
        return False
    _done = True
    return True
