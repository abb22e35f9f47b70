"""Light plotly views: many figures, one copy of plotly.js.

Since plotly 6 every ``go.FigureWidget`` is an anywidget whose ESM carries the whole plotly.js
bundle (about 5 MB of widget state per figure), so a dashboard of four figures sent about
21 MB to the browser before drawing anything. Here the bundle travels once:

- ``PlotlyLibrary``: a widget model holding plotly.min.js (from the plotly package's
  ``package_data``, read lazily), gzip-compressed and base64-encoded (about 2 MB). One per
  kernel (``plotly_library()``), shared by every view.
- ``PlotlyView``: a small anywidget (a few kB of ESM) holding one figure's JSON
  (``figure``: ``{"data": [...], "layout": {...}}``) and a reference to the library. In the
  browser it loads plotly.js from the library once per page (decompressed with
  ``DecompressionStream``, imported from a blob URL, cached in ``globalThis``) and draws with
  ``Plotly.react`` whenever ``figure`` changes, at the width of its container (a
  ``ResizeObserver`` redraws it when that changes, e.g. a hidden tab becoming visible).

    view = PlotlyView(fig)          # fig: a go.Figure
    view.show(new_fig)              # push a new figure (one state message)

Clicks on points are forwarded as messages ``{"event": "click", "points": [...]}`` to the
callbacks registered with ``view.on_click(callback)`` (each point: curve number, point
number, x, y, customdata when present).
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

_LIBRARY_ESM = "export default {};\n"

_VIEW_ESM = r"""
const cache = (globalThis.__axnbPlotly ??= {});

function decode(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

async function importPlotly(lib) {
  const stream = new Blob([decode(lib.get("source"))]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  const text = await new Response(stream).text();
  // plotly.min.js is a UMD bundle: give it a CommonJS `module` to fill in.
  const code = "const module = {exports: {}}; const exports = module.exports;\n" + text
    + "\nexport default module.exports;\n";
  const url = URL.createObjectURL(new Blob([code], {type: "text/javascript"}));
  try {
    return (await import(/* webpackIgnore: true */ url)).default;
  } finally {
    URL.revokeObjectURL(url);
  }
}

async function library(model) {
  const ref = model.get("library");
  if (ref && typeof ref.get === "function") return ref;
  const id = String(ref).replace(/^IPY_MODEL_/, "");
  return await model.widget_manager.get_model(id);
}

async function loadPlotly(model) {
  const lib = await library(model);
  const key = lib.get("version");
  if (!cache[key]) {
    cache[key] = importPlotly(lib);
    cache[key].catch(() => delete cache[key]);
  }
  return cache[key];
}

function pointsOf(event) {
  return (event.points || []).map((p) => ({
    curve: p.curveNumber, point: p.pointNumber ?? null,
    x: p.x ?? null, y: p.y ?? null, customdata: p.customdata ?? null,
  }));
}

async function render({ model, el }) {
  model.send({ event: "rendered" }); // the front end draws this widget (see Dashboard)
  el.classList.add("axnb-plotly-view");
  const div = document.createElement("div");
  div.style.width = "100%";
  el.appendChild(div);
  let Plotly;
  try {
    Plotly = await loadPlotly(model);
  } catch (e) {
    div.textContent = "axnb could not load plotly.js in this browser: " + e;
    return;
  }
  const config = () => ({ displaylogo: false, ...model.get("config") });
  let width = 0;
  // An explicit width: plotly's own autosize guesses 700 px when it first draws in a
  // detached or hidden element and does not always catch up.
  const draw = () => {
    const fig = model.get("figure") || {};
    const layout = { ...(fig.layout || {}) };
    if (layout.width === undefined && width > 0) layout.width = width;
    return Plotly.react(div, fig.data || [], layout, config());
  };
  width = el.clientWidth;
  await draw();
  div.on("plotly_click", (event) => model.send({ event: "click", points: pointsOf(event) }));
  model.on("change:figure", draw);
  model.on("change:config", draw);
  const observer = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w > 0 && w !== width) {
      width = w;
      draw();
    }
  });
  observer.observe(el);
  return () => {
    observer.disconnect();
    model.off("change:figure", draw);
    model.off("change:config", draw);
    Plotly.purge(div);
  };
}

export default { render };
"""

_VIEW_CSS = """
.axnb-plotly-view { width: 100%; min-width: 0; }
"""

_source: str | None = None
_source_lock = threading.Lock()
_library: PlotlyLibrary | None = None


def plotly_js_path() -> Path:
    """plotly.min.js as shipped in the plotly Python package (the version plotly.py targets)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def plotly_js_source() -> str:
    """plotly.min.js, gzip-compressed and base64-encoded (read and compressed once)."""
    global _source
    with _source_lock:
        if _source is None:
            raw = plotly_js_path().read_bytes()
            _source = base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode()
        return _source


class PlotlyLibrary(anywidget.AnyWidget):
    """The plotly.js bundle, once, for the ``PlotlyView``s that reference it (not displayed)."""

    _esm = _LIBRARY_ESM
    version = traitlets.Unicode().tag(sync=True)
    source = traitlets.Unicode().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        import plotly

        super().__init__(version=plotly.__version__, source=plotly_js_source(), **kwargs)


def plotly_library() -> PlotlyLibrary:
    """The kernel's shared ``PlotlyLibrary`` (re-created if it was closed)."""
    global _library
    with _source_lock:
        lib = _library
    if lib is None or lib.comm is None:
        lib = PlotlyLibrary()
        with _source_lock:
            _library = lib
    return lib


def figure_json(fig: Any) -> dict[str, Any]:
    """``{"data": [...], "layout": {...}}`` of a plotly figure as plain JSON values (numpy
    arrays converted by plotly's own encoder)."""
    import plotly.io as pio

    out = json.loads(pio.to_json(fig, validate=False, remove_uids=False))
    return {"data": out.get("data", []), "layout": out.get("layout", {})}


class PlotlyView(anywidget.AnyWidget):
    """One plotly figure drawn with the shared plotly.js (see module doc)."""

    _esm = _VIEW_ESM
    _css = _VIEW_CSS
    library = traitlets.Instance(PlotlyLibrary).tag(sync=True, **widgets.widget_serialization)
    figure = traitlets.Dict().tag(sync=True)
    config = traitlets.Dict().tag(sync=True)

    def __init__(
        self, fig: Any = None, library: PlotlyLibrary | None = None, **kwargs: Any
    ) -> None:
        super().__init__(library=library or plotly_library(), **kwargs)
        self._click_callbacks: list[Callable[[list[dict[str, Any]]], Any]] = []
        #: Set when a front end has rendered a view of this widget (it says so on render).
        self.rendered = threading.Event()
        self.on_msg(self._on_message)
        if fig is not None:
            self.show(fig)

    def show(self, fig: Any, uirevision: str | None = None) -> None:
        """Draw ``fig`` (a plotly figure or its JSON dict). ``uirevision`` keeps the user's
        zoom and hidden traces across updates with the same value."""
        data = fig if isinstance(fig, dict) else figure_json(fig)
        if uirevision is not None:
            data["layout"].setdefault("uirevision", uirevision)
        self.figure = data

    def on_click(self, callback: Callable[[list[dict[str, Any]]], Any]) -> None:
        """Call ``callback(points)`` when a point is clicked in the browser."""
        self._click_callbacks.append(callback)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "rendered":
            self.rendered.set()
        if isinstance(content, dict) and content.get("event") == "click":
            for callback in list(self._click_callbacks):
                callback(content.get("points") or [])


__all__ = ["PlotlyLibrary", "PlotlyView", "figure_json", "plotly_library"]
