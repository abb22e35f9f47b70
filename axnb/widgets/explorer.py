"""Teaching explorer: step through the history and watch the model and the acquisition change.

    ex = exp.explore()            # or axnb.widgets.explorer.Explorer(exp); display it
    ex.step.value = 4             # the model as it was after 4 results
    ex.acquisition.value = "UCB"  # qLogNEI (the engine's), EI, UCB, PI, Thompson
    ex.beta.value = 9.0           # UCB's trade-off (enabled only for UCB)
    ex.x.value, ex.y.value = "x1", "x2"   # a 2-D view; y = "none" for 1-D
    ex.figure                     # go.FigureWidget: posterior (top), acquisition (bottom)
    ex.record                     # the numbers drawn (axnb.analysis.explore.ExploreRecord)

Parts: ``step`` (IntSlider from the first step a model is fitted at to the number of results),
``acquisition`` (Dropdown), ``beta`` (FloatSlider), ``x`` and ``y`` (Dropdowns), ``figure``
(FigureWidget), ``info`` (HTML: the step, the next point, the hyperparameters in words and a
paragraph about the acquisition), ``message`` (HTML: errors). CSS classes ``axnb-explorer``,
``axnb-explorer-step``, ``-acquisition``, ``-beta``, ``-x``, ``-y``, ``-info``, ``-message``.

The numbers come from ``axnb.analysis.explore`` (fits cached per step, so moving back is
instant) and are drawn with ``draw_explore`` into the same FigureWidget
(``update_in_place``). The explorer follows the experiment: a new result extends the step
slider (and moves it along when it was at the end). It holds no state the experiment does
not: closing it or re-running its cell loses nothing.
"""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import plotly.graph_objects as go

from axnb.analysis._common import fmt
from axnb.analysis.explore import ACQUISITIONS, DEFAULT_BETA, Exploration, draw_explore
from axnb.widgets._colab import enable_custom_widgets
from axnb.widgets._events import INTERVAL, FollowingBox, Refresher
from axnb.widgets._snapshot import Snapshot
from axnb.widgets.dashboard import message_figure, update_in_place

if TYPE_CHECKING:
    from axnb.analysis.explore import ExploreRecord
    from axnb.experiment import Experiment

_WIDE = {"description_width": "initial"}
#: The y picker's value for a 1-D view.
NONE = "none"
#: Largest UCB beta on the slider.
BETA_MAX = 25.0


class Explorer(Snapshot, FollowingBox):
    """The teaching explorer of ``exp`` (see module doc). ``ValueError`` (naming the fix)
    for several objectives or fewer results than a model needs."""

    snapshot_name = "explorer"  # the output's hint once the kernel is gone (_snapshot)

    def __init__(self, exp: Experiment, interval: float = INTERVAL) -> None:
        self.exploration = Exploration(exp)  # raises before any widget is created
        enable_custom_widgets()
        super().__init__()
        self.experiment = exp
        self.record: ExploreRecord | None = None
        self.last_error: str | None = None
        self._lock = threading.RLock()
        self._busy = False
        first, last = self.exploration.steps()
        start = min(max(first, self.exploration.engine().initial_trials), last)
        tunable = [p.name for p in exp.space.tunable]

        self.step = widgets.IntSlider(
            value=start, min=first, max=last, step=1, description="step (results used)",
            continuous_update=False, style=_WIDE, layout=widgets.Layout(width="420px"),
        )
        self.acquisition = widgets.Dropdown(
            options=list(ACQUISITIONS), value=ACQUISITIONS[0], description="acquisition",
            style=_WIDE, layout=widgets.Layout(width="220px"),
        )
        self.beta = widgets.FloatSlider(
            value=DEFAULT_BETA, min=0.0, max=BETA_MAX, step=0.1, description="UCB β",
            disabled=True, continuous_update=True, style=_WIDE,
            layout=widgets.Layout(width="320px"),
        )
        self.x = widgets.Dropdown(options=tunable, value=tunable[0], description="x",
                                  style=_WIDE, layout=widgets.Layout(width="200px"))
        self.y = widgets.Dropdown(options=[NONE, *tunable], value=NONE, description="y",
                                  style=_WIDE, layout=widgets.Layout(width="200px"))
        self.figure = go.FigureWidget(message_figure("Computing…", "explorer"))
        self.info = widgets.HTML()
        self.message = widgets.HTML()
        for w, css in ((self.step, "step"), (self.acquisition, "acquisition"),
                       (self.beta, "beta"), (self.x, "x"), (self.y, "y"), (self.info, "info"),
                       (self.message, "message")):
            w.add_class(f"axnb-explorer-{css}")
        self.children = [
            widgets.HBox([self.step, self.acquisition, self.beta]),
            widgets.HBox([self.x, self.y]),
            self.figure, self.message, self.info,
        ]
        self.add_class("axnb-explorer")
        for w in (self.step, self.acquisition, self.beta, self.x, self.y):
            w.observe(self._on_control, names="value")
        self.update()
        self._refresher = Refresher(exp, self._follow, interval, "axnb-explorer")

    # ------------------------------------------------------------------ public
    def update(self) -> None:
        """Redraw the figure and the text for the current controls (synchronously)."""
        with self._lock:
            self.beta.disabled = self.acquisition.value != "UCB"
            y = None if self.y.value == NONE else self.y.value
            try:
                rec = self.exploration.record(
                    int(self.step.value), self.x.value, y, self.acquisition.value,
                    float(self.beta.value),
                )
            except Exception as e:  # the widget stays usable; the message says why
                self.last_error = f"{type(e).__name__}: {e}"
                self.message.value = (
                    f"<span class='axnb-error' style='color:#b00020'>"
                    f"{html.escape(self.last_error)}</span>"
                )
                return
            self.record = rec
            self.last_error = None
            self.message.value = ""
            update_in_place(self.figure, draw_explore(rec))
            self.info.value = info_html(rec)

    def refresh(self) -> None:
        """Follow the experiment now: extend the step slider to new results, redraw."""
        self._follow()

    def __repr__(self) -> str:
        return f"<axnb Explorer for experiment '{self.experiment.name}'>"

    # ------------------------------------------------------------------ events
    def _on_control(self, change: Any) -> None:
        if self._busy:
            return
        if change.owner is self.y and change.new == self.x.value:
            self._busy = True  # keep two different parameters: back to 1-D
            try:
                self.y.value = NONE
            finally:
                self._busy = False
        if change.owner is self.x and change.new == self.y.value:
            self._busy = True
            try:
                self.y.value = NONE
            finally:
                self._busy = False
        self.update()

    def _follow(self) -> None:
        """New results: extend the slider (moving along when it was at the end); redraw."""
        with self._lock:
            try:
                _, last = self.exploration.steps()
            except ValueError as e:  # e.g. every result excluded since
                self.message.value = (f"<span class='axnb-error' style='color:#b00020'>"
                                      f"{html.escape(str(e))}</span>")
                return
            at_end = self.step.value == self.step.max
            self._busy = True
            try:
                if last != self.step.max:
                    self.step.max = last  # first never changes (MIN_MODEL_POINTS)
                if at_end:
                    self.step.value = last
            finally:
                self._busy = False
            self.update()


def info_html(rec: ExploreRecord) -> str:
    """The text under the figure: the step, the pick and the next trial, the hyperparameters
    in words, the acquisition explained."""
    acq = rec.acquisition
    used = ", ".join(str(int(i)) for i in rec.trial_index)
    pick = ", ".join(f"{k} = {fmt(v)}" for k, v in rec.pick.items())
    parts = [
        f"<p><b>Step {rec.step}</b>: the model is fitted to the first {rec.step} results "
        f"(trials {html.escape(used)}). On this view, <b>{html.escape(acq.name)}</b> prefers "
        f"<b>{html.escape(pick)}</b> (red triangle; {acq.better} is more promising).</p>"
    ]
    nxt = rec.next_trial
    if nxt is not None:
        line = f"Yellow star: {html.escape(nxt.text)}"
        if acq.at_next_trial is not None:
            line += f"; {html.escape(acq.name)} there = {fmt(acq.at_next_trial)}"
        parts.append(f"<p>{line}.</p>")
    else:
        parts.append("<p>No trial came after this step yet.</p>")
    words = "".join(f"<li>{w}</li>" for w in rec.hyperparameters.words)
    parts.append(f"<p><b>What the model has learned</b> (fitted hyperparameters):</p>"
                 f"<ul>{words}</ul>")
    parts.append(f"<p>{rec.explanation}</p>")
    return "<div class='axnb-explorer-text'>" + "".join(parts) + "</div>"


__all__ = ["Explorer", "info_html"]
