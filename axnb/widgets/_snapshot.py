"""What a widget's output shows once the kernel that drew it is gone: a one-line hint.

A widget cell's output is a MIME bundle: ``application/vnd.jupyter.widget-view+json`` (the
id of a model that lives in the kernel and in the page) and fallbacks. When a saved notebook
is opened again, that model no longer exists. What each front end then shows (checked in
Chromium with JupyterLab 4.6 / Notebook 7.6, jupyterlab_widgets 3.0, nbconvert 7):

* JupyterLab 4 and Notebook 7, trusted notebook (one saved on this server): the widget
  renderer (``@jupyter-widgets/jupyterlab-manager``, rank -10, ahead of every other MIME
  type) writes "Error displaying widget: model not found" and never falls back to another
  type of the bundle (unless the widget state was saved in the notebook: Settings > "Save
  Widget State Automatically", off by default).
* JupyterLab 4 and Notebook 7, untrusted notebook (e.g. one received from someone else): the
  widget renderer is not "safe", so the best safe type is shown: ``text/html`` (sanitized),
  else ``text/plain``.
* nbconvert (HTML exports, and viewers built on it): the widget view only when the notebook
  holds its state, else ``text/html``, else ``text/plain``.
* A terminal (IPython) shows ``text/plain``.

``Snapshot``, a mixin for ``ipywidgets`` widgets placed first among the bases, does two
things:

1. Its ``_repr_mimebundle_`` puts the hint ("axnb panel for experiment 'checkout': an
   interactive widget, gone with the kernel that drew it: run this cell again ...") in
   ``text/plain`` and ``text/html`` instead of ipywidgets' ``repr``: the untrusted, nbconvert
   and terminal cases above.
2. Its ``_ipython_display_`` (used for a cell's value and ``display(w)``) displays that
   bundle, then a second, ``text/html`` only output (``revive_html``): the same hint, hidden
   by an inline ``display:none``, with a ``<style>`` that shows it only right under a widget
   output that failed to display (JupyterLab's renderer then carries the class
   ``jupyter-widgets`` itself; a live one does not). So the trusted case shows the error and,
   under it, the hint. Where the ``<style>`` is dropped or does not match (untrusted
   notebooks, nbconvert, VS Code, Colab) the second output stays hidden.

::

    class Panel(Snapshot, FollowingBox):
        snapshot_name = "panel"

The hint is written when the output is: it names the experiment and counts nothing (a count
would be stale as the widget follows the run).
"""

from __future__ import annotations

import html
from typing import Any

MIME_PLAIN = "text/plain"
MIME_HTML = "text/html"
#: The class of the HTML fallback's element (for tests and styling).
CSS_CLASS = "axnb-snapshot"
_HINT = (
    "an interactive widget, gone with the kernel that drew it: run this cell again (after the "
    "cells it depends on) to bring it back"
)


class Snapshot:
    """Mixin: the widget's MIME bundle also carries a ``text/plain`` and a ``text/html`` hint,
    shown where the live widget cannot be (see module doc). ``snapshot_name`` names the kind
    of widget ("panel", "dashboard"); ``snapshot_subject()`` what it is for (by default the
    ``experiment`` attribute's name)."""

    snapshot_name = "widget"

    def snapshot_subject(self) -> str | None:
        """What the widget shows, e.g. "experiment 'checkout'" (None: nothing to say)."""
        exp = getattr(self, "experiment", None)
        name = getattr(exp, "name", None)
        return None if name is None else f"experiment '{name}'"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if data is None:  # no view: nothing is displayed
            return None
        data = dict(data)
        data[MIME_PLAIN] = snapshot_hint(self)
        data[MIME_HTML] = snapshot_html(self)
        return data

    def _ipython_display_(self) -> None:
        """Display the widget's bundle, then the hidden ``revive_html`` output (module doc)."""
        from IPython.display import display

        data = self._repr_mimebundle_()
        if data is None:
            return
        display(data, raw=True)
        display({MIME_HTML: revive_html(self)}, raw=True)


def _head(widget: Snapshot) -> tuple[str, str | None]:
    try:
        subject = widget.snapshot_subject()
    except Exception:  # a display never raises
        subject = None
    return f"axnb {widget.snapshot_name}", subject


def _what_html(widget: Snapshot) -> str:
    head, subject = _head(widget)
    what = f"<b>{html.escape(head)}</b>"
    return what if subject is None else f"{what} for {html.escape(subject)}"


def snapshot_hint(widget: Snapshot) -> str:
    """The one-line ``text/plain`` hint of ``widget``."""
    head, subject = _head(widget)
    return f"{head}{'' if subject is None else ' for ' + subject}: {_HINT}."


def snapshot_html(widget: Snapshot) -> str:
    """The ``text/html`` hint of ``widget``: the same line in a dashed box."""
    what = _what_html(widget)
    return (
        f"<div class='{CSS_CLASS}' style='border:1px dashed #999;border-radius:4px;"
        f"padding:6px 10px;color:#444;font-size:13px;display:inline-block'>"
        f"{what}: {html.escape(_HINT)}.</div>"
    )


#: The class of the second output's hint (``revive_html``).
REVIVE_CLASS = "axnb-revive"
_WIDGET_OUTPUT = ".jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets)"
#: Hide the hint's output, unless the output before it is a widget that failed to display
#: (its renderer then has the class ``jupyter-widgets`` itself; a live widget's does not).
REVIVE_CSS = (
    f".jp-OutputArea-child:has(.{REVIVE_CLASS}){{display:none}}"
    f"{_WIDGET_OUTPUT} + .jp-OutputArea-child:has(.{REVIVE_CLASS}){{display:flex}}"
    f"{_WIDGET_OUTPUT} + .jp-OutputArea-child .{REVIVE_CLASS}{{display:block !important}}"
)


def revive_html(widget: Snapshot) -> str:
    """The second output displayed with a widget: the hint, hidden (inline ``display:none``)
    unless ``REVIVE_CSS`` applies, i.e. in JupyterLab 4 and Notebook 7 when the widget
    above shows "Error displaying widget" (trusted notebooks: the ``<style>`` is kept)."""
    what = _what_html(widget)
    return (
        f"<style>{REVIVE_CSS}</style>"
        f"<div class='{REVIVE_CLASS}' style='display:none;border:1px dashed #999;"
        f"border-radius:4px;padding:6px 10px;color:#444;font-size:13px'>"
        f"{what}: {html.escape(_HINT)}.</div>"
    )


__all__ = [
    "CSS_CLASS",
    "REVIVE_CLASS",
    "Snapshot",
    "revive_html",
    "snapshot_hint",
    "snapshot_html",
]
