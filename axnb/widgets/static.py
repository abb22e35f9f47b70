"""The static dashboard: plain plotly figures and HTML, updated in place.

Where custom widgets cannot render (Google Colab, notebooks executed by nbconvert or
papermill and exported to HTML, GitHub's viewer), ``exp.dashboard()`` returns a
``StaticDashboard`` when ``axnb.settings.display`` resolves to ``"static"``
(``axnb.settings.resolve_display``). It computes exactly what the live ``Dashboard`` does
(``DashboardCore``) and shows it as ordinary notebook outputs:

====================  =====================================================================
output                what
====================  =====================================================================
status                HTML: trial counts, best value, engine status
contour, slice,       plotly figures (the analyses' ``draw_*``), shown with plotly's own
progress (pareto,     renderers (the ``application/vnd.plotly.v1+json`` bundle and HTML)
arms)
trials                an HTML table (newest first; failures with their reason), one page
                      of ``page_size.value`` rows (200) as in the live dashboard: the title
                      says ``rows 1–200 of 10,000``; set ``dash.page.value`` and refresh
message               HTML: the last error, if any
====================  =====================================================================

Each output has a fixed display id: displaying the dashboard (the value of a cell, or
``display(dash)``) shows them, and every refresh replaces them in place with
``IPython.display.update_display`` (all copies, only the outputs that changed). Refreshes
follow the experiment as in the live dashboard (a ``Refresher``: at once after a change, at
most about once per ``interval`` seconds under a stream of changes; every output is drawn
at each refresh, there are no hidden tabs); ``dash.refresh()`` brings everything up to date
now, which a notebook meant for export should call at the end of its last cell so the final
state is in the file.

There are no pickers to click: set ``dash.contour_x.value = "x2"`` (or any pick) and call
``dash.refresh()``.

    axnb.settings.display = "static"
    dash = exp.dashboard()      # a StaticDashboard
    dash                        # shows the outputs
    exp.run(f, trials=20)       # they follow
    dash.refresh()
"""

from __future__ import annotations

import html
import json
import sys
import uuid
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go

from axnb.widgets._events import INTERVAL
from axnb.widgets.dashboard import DashboardCore, message_figure, update_in_place

if TYPE_CHECKING:
    from axnb.experiment import Experiment


class Pick:
    """A picker without a widget: ``value``, ``options``, ``disabled`` (set ``value`` and
    call ``refresh()``)."""

    def __init__(self, label: str, options: list[Any], value: Any, css: str = "") -> None:
        self.description = label
        self.options = list(options)
        self.value = value
        self.disabled = False

    def __repr__(self) -> str:
        return f"<Pick {self.description}={self.value!r} of {self.options!r}>"


class _Text:
    """An HTML output whose ``value`` is shown in the dashboard's ``name`` output."""

    def __init__(self, owner: StaticDashboard, name: str) -> None:
        self._owner = owner
        self._name = name
        self._value = ""

    @property
    def value(self) -> str:
        return self._value

    @value.setter
    def value(self, text: str) -> None:
        self._value = text
        self._owner._push(self._name, text)


def _new_id(output: str) -> str:
    return f"axnb-{output}-{uuid.uuid4().hex}"


def _ipython_display() -> Any:
    """``IPython.display`` when IPython is running, else None (nothing is displayed)."""
    if "IPython" not in sys.modules:
        return None
    import IPython

    if IPython.get_ipython() is None:
        return None
    import IPython.display as display

    return display


class StaticDashboard(DashboardCore):
    """The dashboard as plain outputs updated in place (see module doc). Parts: ``figures``
    (name -> ``go.Figure``), ``display_ids`` (output -> display id), ``status`` and
    ``message`` (``.value``: HTML), the picks (``contour_x`` ... ``descending``,
    ``page_size`` and ``page``, whose ``max`` is the number of pages: ``Pick``),
    ``table_html()``, ``refresh()``, ``wait_idle()`` and ``close()``."""

    def __init__(self, exp: Experiment, interval: float = INTERVAL, grid: int = 40) -> None:
        self._setup(exp, grid)
        self._refresher = None
        self._content: dict[str, Any] = {}  # output -> what it shows now
        self._pushed: dict[str, str] = {}  # output -> signature of what was last sent
        self._displayed = False
        self._single: str | None = None  # show_in(): every output in one display
        self._signatures: dict[str, str] = {}  # show_in(): output -> its content's signature
        self.display_ids: dict[str, str] = {}
        self.status = _Text(self, "status")
        self.message = _Text(self, "message")
        names = self._make_pickers(Pick, lambda: Pick("descending", [True, False], True),
                                   lambda: Pick("page", [], 1))
        self.page.max = 1
        for name in names:
            self.figures[name] = self._content[name] = message_figure("Computing…", name)
        self._outputs = ["status", *names, "message"]
        self.display_ids = {o: _new_id(o) for o in self._outputs}
        self._start(interval, "axnb-static-dashboard")

    # ------------------------------------------------------------------ public
    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until pending automatic refreshes are done (scripts and tests)."""
        return self._refresher.wait_idle(timeout) if self._refresher is not None else True

    def close(self) -> None:
        """Stop following the experiment; the outputs keep their last state."""
        self._closed.set()
        if self._refresher is not None:
            self._refresher.close()

    def table_html(self) -> str:
        """The trials table as HTML (the columns and order of the live table)."""
        table = self.figures["trials"].data[0]
        head = "".join(f"<th style='text-align:left;padding:2px 8px'>{h}</th>"
                       for h in table.header.values)  # fmt: skip
        columns = [list(c) for c in table.cells.values]
        fills = list(table.cells.fill.color[0]) if columns and columns[0] else []
        rows = []
        for i, fill in enumerate(fills):
            cells = "".join(f"<td style='padding:2px 8px'>{html.escape(str(c[i]))}</td>"
                            for c in columns)  # fmt: skip
            rows.append(f"<tr style='background:{fill}'>{cells}</tr>")
        title = html.escape(self.figures["trials"].layout.title.text or "")
        return (
            f"<div class='axnb-static-trials'><div style='margin:4px 0'>{title}</div>"
            "<table style='border-collapse:collapse;font-size:12px'>"
            f"<thead><tr style='background:#e8eaf6'>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    def _ipython_display_(self) -> None:
        display = _ipython_display()
        if display is None:
            return
        with self._lock:
            self._displayed = True
            for output in self._outputs:
                content = self._content.get(output, "")
                display.display(self._bundle(output, content), raw=True,
                                display_id=self.display_ids[output])  # fmt: skip
                self._pushed[output] = self._signature(content)

    def show_in(self, display_id: str) -> None:
        """Show every output, one after the other, in the existing display ``display_id``
        (the live dashboard's fallback when its front end never draws it), kept up to date
        there; ``show_in`` again with another id moves it."""
        with self._lock:
            self._single, self._displayed = display_id, True
            self._pushed.clear()
            self._push_single()

    def __repr__(self) -> str:
        return f"<axnb StaticDashboard for experiment '{self.experiment.name}'>"

    # ------------------------------------------------------------------ outputs
    def _show(self, name: str, fig: go.Figure) -> None:
        update_in_place(self.figures[name], fig)
        self._push(name, self.table_html() if name == "trials" else self.figures[name])

    def _add_tab(self, name: str) -> None:
        """A new figure output (the arms figure when the first round appears): listed before
        the message; already displayed copies get it at the end of the refreshing cell."""
        self.figures[name] = self._content[name] = message_figure("Computing…", name)
        self._outputs.insert(self._outputs.index("message"), name)
        self.display_ids[name] = _new_id(name)
        display = _ipython_display()
        if self._single is not None:
            self._push_single()
        elif self._displayed and display is not None:
            display.display(self._bundle(name, self.figures[name]), raw=True,
                            display_id=self.display_ids[name])  # fmt: skip

    def _push(self, output: str, content: Any) -> None:
        """Keep ``content`` for ``output`` and update the displayed copies if it changed."""
        self._content[output] = content
        if self._single is not None:
            self._signatures[output] = self._signature(content)
            self._push_single()
            return
        if not self._displayed or output not in self.display_ids:
            return
        signature = self._signature(content)
        if self._pushed.get(output) == signature:
            return
        display = _ipython_display()
        if display is None:
            return
        display.update_display(self._bundle(output, content), raw=True,
                               display_id=self.display_ids[output])  # fmt: skip
        self._pushed[output] = signature

    def _push_single(self) -> None:
        """Update the one display of ``show_in`` with every output, if anything changed."""
        for o in self._outputs:  # each output's signature is made once, when it changes
            if o not in self._signatures:
                self._signatures[o] = self._signature(self._content.get(o, ""))
        signature = "".join(self._signatures[o] for o in self._outputs)
        display = _ipython_display()
        if display is None or self._closed.is_set() or self._pushed.get("*") == signature:
            return  # closed: the live dashboard took the output back
        parts = [self._bundle(o, self._content.get(o, ""))["text/html"] for o in self._outputs]
        display.update_display({"text/html": "".join(parts), "text/plain": repr(self)},
                               raw=True, display_id=self._single)  # fmt: skip
        self._pushed["*"] = signature

    @staticmethod
    def _signature(content: Any) -> str:
        if isinstance(content, go.Figure):
            return content.to_json()
        return json.dumps(content)

    @staticmethod
    def _bundle(output: str, content: Any) -> dict[str, Any]:
        """The MIME bundle of an output: HTML only (a figure: ``figure_html``). ``display``
        gets it raw: a figure's own ``_ipython_display_`` would drop the display id, and
        JupyterLab's plotly renderer ignores updates of ``application/vnd.plotly.v1+json``."""
        if isinstance(content, go.Figure):
            return {"text/html": figure_html(content), "text/plain": f"<axnb figure: {output}>"}
        css = {"status": "axnb-status", "message": "axnb-dashboard-message"}.get(output, "")
        text = f"<div class='{css}'>{content}</div>" if css else str(content)
        return {"text/html": text, "text/plain": f"<axnb {output}>"}


_FIGURE_HTML = """<div id="{id}" class="axnb-static-figure" style="width:100%;height:{height}px">
</div><script type="text/javascript">(function () {{
  var fig = {json};
  function load() {{
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!window.__axnbPlotly) window.__axnbPlotly = new Promise(function (ok, fail) {{
      if (typeof window.require === "function" && window.define && window.define.amd) {{
        window.require(["{url}"], function (P) {{
          if (P) window.Plotly = P;  // plotly.js 2 defines an AMD module; 3+ sets window.Plotly
          ok(window.Plotly);
        }}, fail);
      }} else {{
        var s = document.createElement("script");
        s.src = "{url}"; s.charset = "utf-8";
        s.onload = function () {{ ok(window.Plotly); }}; s.onerror = fail;
        document.head.appendChild(s);
      }}
    }});
    return window.__axnbPlotly;
  }}
  load().then(function (Plotly) {{
    var el = document.getElementById("{id}");
    if (el) Plotly.react(el, fig.data, fig.layout, {{responsive: true, displaylogo: false}});
  }});
}})();</script>"""


def plotly_cdn_url() -> str:
    """plotly.js on its CDN, the version the installed plotly package ships."""
    from plotly.offline import get_plotlyjs_version

    return f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"


def figure_html(fig: go.Figure) -> str:
    """A figure as HTML that draws itself wherever outputs run scripts (JupyterLab, VS Code,
    Colab, an nbconvert HTML export): plotly.js is taken from the page when it is there,
    else loaded once from its CDN (through RequireJS when the page has it)."""
    height = int(fig.layout.height or 450)
    return _FIGURE_HTML.format(
        id=f"axnb-{uuid.uuid4().hex}",
        height=height,
        url=plotly_cdn_url(),
        json=fig.to_json(),  # plotly escapes "<" and "/": no "</script>" inside
    )


__all__ = ["Pick", "StaticDashboard", "figure_html", "plotly_cdn_url"]
