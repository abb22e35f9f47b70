"""Live dashboard: contour, slice, progress and trials tabs that follow the experiment.

    dash = exp.dashboard()                       # display it; it refreshes itself
    handle = exp.run(f, trials=20, background=True)
    handle.wait()
    dash.refresh()                               # synchronous refresh (scripts, tests)
    dash.figures["progress"]                     # the plotly figures (go.Figure), by name
    dash.close()                                 # stop following the experiment

Tabs: **contour** (x / y parameter and metric pickers), **slice** (parameter and metric
pickers; shows the acquisition and the next point), **progress** (metric picker), **trials**
(a sortable, paginated table: column picker, descending toggle, page controls and rows per
page; see below), **pareto** for several
objectives, and **arms** (metric picker: ``axnb.analysis.arms``) for an experiment with bandit
rounds (``exp.suggest_arms``). The status line shows the trial counts, the best value so far
(in a bandit experiment: the latest round, its arms and the best arm) and what the engine is
doing (``exp.engine.status``: idle, sampling initial points, fitting model, optimizing
acquisition).

The arms tab and its figure exist only once the experiment has a round: a dashboard
created before the first ``suggest_arms`` gains the tab at the refresh that sees the round
(the trials table gains its ``batch`` and ``weight`` columns then too). While a trial is
excluded (``exp.exclude``) the table has an ``excluded`` column (with the reason) and shades
those rows; the figures draw excluded trials as hollow markers. Once a trial has failed (or
been abandoned) with a reason, the table has a ``reason`` column: the reason's last line (a
traceback's error), shortened. Until a model can be drawn, the contour's and slice's parameter
axes span the parameters' bounds. The figures take the dashboard's full width.

A change of the search space (``exp.change_parameters``, in this kernel or, seen at the next
sync, in another) is followed at the next refresh: the parameter pickers offer the new
tunable parameters and keep the picks that still exist (a removed one falls back to the first
parameter, as in a new dashboard), the figures are redrawn for the new space (trials outside
it greyed, their values beyond the new bounds drawn beyond the axes' bounds), and the trials
table has the new parameters' columns (those removed after them, as in ``exp.to_dataframe()``)
and, once the space has changed, an ``outside`` column with those rows greyed.

How it stays live without flicker or waste: the dashboard subscribes to the experiment's
change events (they may come from a background run's thread); a ``Refresher`` worker
refreshes at once after a change on an idle dashboard, and under a stream of changes (a fast
background run) coalesces them into at most about one refresh every ``interval`` seconds, with
the latest state. A refresh draws the status line and the selected tab first, then the other
tabs; when new changes are already waiting it leaves those for later (the next refresh, or the
moment their tab is selected: a hidden tab is brought up to date when it is shown).
``refresh()`` draws every tab. Each refresh computes the analyses' records
(``axnb.analysis.*.compute_*``), draws them with the same ``draw_*`` functions as
``exp.plot``, pushes their JSON to the tab's ``PlotlyView`` (``dash.views``; one state message
per changed figure, drawn in the browser with ``Plotly.react``, the user's zoom kept while the
pickers stay the same), then copies the result into the figure of ``dash.figures`` (a
``go.Figure`` that keeps its identity).

Why not ``go.FigureWidget``: since plotly 6 each one carries the whole plotly.js bundle in its
widget state (about 5 MB; a dashboard sent about 21 MB and stayed blank for seconds). The
views share one gzip-compressed copy (``axnb.widgets.plotly_view``): a dashboard's widget state
is about 2 MB plus its figures' JSON, and a second dashboard in the same kernel reuses the
copy the browser already has.

The model-based figures (contour, slice) are recomputed only when the completed-trial data
change (a signature of completed trials, their results and whether they are excluded: an
``exp.exclude``, ``include`` or ``correct`` redraws them) or a picker changes; the status
line, progress, arms and trials table follow every change. While the engine is busy the status
line is polled about once a second.

Many trials (issue 20): the trials table shows one page of ``page_size`` rows (default
``PAGE_SIZE``, 200; the ``rows`` picker offers ``PAGE_SIZES``), page 1 first: with the default
sort (index, descending) the latest trials, sorted by a metric ascending the best ones. The
page controls (◀, the page number ``dash.page``, ▶) reach every row; the title and the label
next to them say ``rows 1–200 of 10,000``; a new sort or page size goes back to page 1, and a
page beyond the last (trials removed from view) shows the last. Only the page's rows are
formatted and sent to the browser, so the tab costs the same at 200 and at 10,000 trials
(``table_rows()`` still returns every row, sorted). An experiment with at most ``page_size``
trials has one page and the table of before (no page note). The progress figure draws at
most ``axnb.analysis.progress.MAX_POINTS`` markers (see that module: the best-so-far line
stays exact, every new best is kept, the figure says what it shows).

Hierarchical spaces (``when=``): the contour's default y parameter is one that can be active
together with x, and the figures follow ``axnb.analysis`` (observed points where the plotted
parameters are active; a message for two parameters never active together).

The figures are model views of the experiment; the widget keeps nothing else, so closing it
or re-running its cell loses nothing.

Where custom widgets cannot render (Colab, notebooks executed for an export), ``Dashboard(exp)``
and ``exp.dashboard()`` return an ``axnb.widgets.static.StaticDashboard`` (the same figures as
plain outputs updated in place) when ``axnb.settings.display`` resolves to ``"static"``.
"""

from __future__ import annotations

import contextlib
import html
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import plotly.graph_objects as go

from axnb.analysis._common import never_together
from axnb.loop import stop_at_exit
from axnb.widgets._colab import enable_custom_widgets
from axnb.widgets._events import INTERVAL, FollowingBox, Refresher
from axnb.widgets._snapshot import Snapshot
from axnb.widgets.plotly_view import PlotlyView, plotly_library

if TYPE_CHECKING:
    from axnb.experiment import Experiment
    from axnb.trial import Trial

_WIDE = {"description_width": "initial"}
#: How often the status line is polled while the engine is busy (seconds).
STATUS_POLL = 1.0
#: With ``axnb.settings.display == "auto"``: seconds a displayed dashboard waits for a front
#: end to draw it (its views say so when they render) before the static dashboard appears
#: under it (VS Code without anywidget's front end, a widget manager that never answers).
FALLBACK_AFTER = 10.0
_STATUS_COLORS = {
    "running": "#fff7d6",
    "failed": "#fde0dc",
    "abandoned": "#eeeeee",
    "completed": "white",
}
#: Fill of the rows of excluded trials (the analyses draw them as hollow orange markers).
_EXCLUDED_COLOR = "#fff0e0"
#: Fill of the rows of trials outside the search space (greyed in the analyses).
_OUTSIDE_COLOR = "#ececec"
#: Rows per page of the trials table (the default of the ``rows`` picker).
PAGE_SIZE = 200
#: What the ``rows`` picker offers.
PAGE_SIZES = (50, 100, 200, 500, 1000)


def any_excluded(trials: list[Trial]) -> bool:
    """Whether a trial is excluded (``exp.exclude``): the table then has an excluded column."""
    return any(t.excluded for t in trials)


def _excluded_cell(t: Trial) -> str:
    """``yes`` and the last exclusion's reason (shortened), or empty."""
    if not t.excluded:
        return ""
    why = next((c.reason for c in reversed(t.history) if c.action == "excluded"), None)
    if not why:
        return "yes"
    why = " ".join(why.split())
    return "yes: " + (why if len(why) <= 40 else why[:39] + "…")


def any_reason(trials: list[Trial]) -> bool:
    """Whether a failed or abandoned trial has a reason: the table then has a reason column."""
    return any(t.status in ("failed", "abandoned") and t.reason for t in trials)


def _reason_cell(t: Trial, width: int = 60) -> str:
    """Why a trial failed (or was abandoned): the reason's last line (a traceback's error),
    shortened; empty for other trials."""
    if t.status not in ("failed", "abandoned") or not t.reason:
        return ""
    lines = [line.strip() for line in t.reason.strip().splitlines() if line.strip()]
    why = lines[-1] if lines else ""
    return why if len(why) <= width else why[: width - 1] + "…"


def any_outside(trials: list[Trial]) -> bool:
    """Whether a trial is outside the search space (``Trial.outside``): the table then has an
    outside column."""
    return any(t.outside for t in trials)


def removed_parameters(exp: Experiment, trials: list[Trial]) -> list[str]:
    """Parameters the trials have values of but the search space no longer has (removed by
    ``exp.change_parameters``), in order of appearance."""
    names = set(exp.space.names)
    return list(dict.fromkeys(n for t in trials for n in t.parameters if n not in names))


def space_signature(exp: Experiment) -> tuple:
    """What the parameter pickers, the model figures and the table columns depend on: the
    parameters (names, kinds, bounds, values) and the parameter constraints."""
    return (repr(exp.space.to_dicts()), repr(exp.space.constraint_texts))


def keep_pick(value: str | None, options: list[str], avoid: str | None = None) -> str | None:
    """``value`` when it is still among ``options`` (and not ``avoid``), else the first option
    that is not ``avoid`` (None without options)."""
    if value in options and value != avoid:
        return value
    return next((o for o in options if o != avoid), options[0] if options else None)


def has_rounds(trials: list[Trial]) -> bool:
    """Whether the experiment has bandit rounds (trials with a ``batch``)."""
    return any(t.batch is not None for t in trials)


def rounds_signature(trials: list[Trial]) -> tuple:
    """What the arms figure shows: every bandit trial's status, weight, result and whether it
    is excluded."""
    return tuple(
        (t.index, t.status, t.weight, t.excluded, tuple(sorted((t.result or {}).items())))
        for t in trials if t.batch is not None
    )


def data_signature(trials: list[Trial]) -> tuple:
    """What the models and the model figures see: completed trials, whether they are excluded
    (drawn hollow, not fitted) and their results (corrections included). Unchanged -> no
    refit."""
    return tuple(
        (t.index, t.excluded, t.outside, tuple(sorted((t.result or {}).items())),
         len(t.history))
        for t in trials if t.is_completed
    )


def update_in_place(target: go.Figure, fig: go.Figure) -> None:
    """Make ``target`` hold ``fig``'s traces and layout, keeping ``target`` itself (scripts
    and tests may hold on to ``dash.figures[name]``)."""
    target.data = ()
    target.add_traces(list(fig.data))
    target.layout = fig.layout


def bounds_range(axis: Any) -> list[float] | None:
    """An analysis axis's parameter bounds in plotly's units (log10 on a log axis), None on a
    category axis."""
    if axis.is_category or not axis.values:
        return None
    to = math.log10 if axis.scale == "log" else float
    return [to(float(axis.values[0])), to(float(axis.values[-1]))]


def fit_axes(fig: go.Figure, axes: dict[str, Any]) -> None:
    """Give the figure's axes without a range (plotly would autorange them on nothing: -1 to
    6) their parameter's bounds. ``axes``: ``"x"`` or ``"y"`` -> analysis axis."""
    for letter, axis in axes.items():
        rng = bounds_range(axis)
        if rng is None:
            continue
        select = fig.for_each_xaxis if letter == "x" else fig.for_each_yaxis
        select(lambda a, rng=rng: a.update(range=rng, autorange=False)
               if a.range is None else None)


def message_figure(text: str, title: str = "", height: int = 300) -> go.Figure:
    """A blank figure that says something (waiting for data, not applicable, an error)."""
    fig = go.Figure()
    fig.add_annotation(
        text=html.escape(text).replace("\n", "<br>"),
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 13, "color": "#444"},
    )
    fig.update_layout(
        title={"text": title, "x": 0.02},
        height=height,
        template="plotly_white",
        xaxis={"visible": False},
        yaxis={"visible": False},
        margin={"l": 30, "r": 30, "t": 50, "b": 30},
    )
    return fig


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _weight(value: Any) -> str:
    return "" if value is None else f"{value:.1%}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _sort_key(value: Any) -> tuple:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


class DashboardCore:
    """What a dashboard computes, without its widgets: the picks, the figures (``figures``:
    name -> ``go.Figure``), the trials table and the status line, brought up to date by
    ``refresh()`` and by a ``Refresher``. ``Dashboard`` shows them as widgets,
    ``axnb.widgets.static.StaticDashboard`` as plain outputs updated in place.

    A subclass provides ``status`` and ``message`` (objects with a ``value``: HTML), the
    pickers (objects with ``value``, ``options`` and ``disabled``: ipywidgets or ``Pick``),
    ``_show(name, fig)`` and ``_add_tab(name)``."""

    #: Parts that every refresh brings up to date.
    PARTS = ("status", "contour", "slice", "progress", "trials", "pareto", "arms")

    experiment: Experiment
    figures: dict[str, go.Figure]
    status: Any
    message: Any
    _refresher: Refresher | None

    def _setup(self, exp: Experiment, grid: int) -> None:
        """The state every dashboard starts with."""
        self.experiment = exp
        self.grid = int(grid)
        self._lock = threading.RLock()
        self._drawn: dict[str, tuple] = {}
        self._closed = threading.Event()
        self.last_error: str | None = None
        self._counts = ""
        self._space = space_signature(exp)
        self._following = False  # True while the pickers follow a new space: no redraws
        self._stale: set[str] = set()  # hidden parts a refresh left for later
        self._errors: dict[str, str] = {}  # part -> its error shown in the message line
        self.figures = {}

    def _make_pickers(self, picker: Callable[[str, list[Any], Any, str], Any],
                      toggle: Callable[[], Any], counter: Callable[[], Any]) -> list[str]:
        """Create the pickers with ``picker(label, options, value, css)``, the descending
        toggle with ``toggle()`` and the trials table's page number with ``counter()`` (an
        object with ``value`` and ``max``); the names of the first tabs."""
        exp = self.experiment
        tunable = [p.name for p in exp.space.tunable]
        metrics = list(exp.metrics)
        second = next(  # in a hierarchical space, one that can be active with the first
            (n for n in tunable[1:] if never_together(exp.space, [tunable[0], n]) is None),
            tunable[1] if len(tunable) > 1 else tunable[0],
        )
        self.contour_x = picker("x", tunable, tunable[0], "axnb-contour-x")
        self.contour_y = picker("y", tunable, second, "axnb-contour-y")
        self.contour_metric = picker("metric", metrics, metrics[0], "axnb-contour-metric")
        self.slice_param = picker("parameter", tunable, tunable[0], "axnb-slice-param")
        self.slice_metric = picker("metric", metrics, metrics[0], "axnb-slice-metric")
        self.progress_metric = picker("metric", metrics, metrics[0], "axnb-progress-metric")
        arm_metrics = list(dict.fromkeys(
            [exp.objective.metric] + [c.metric for c in exp.outcome_constraints]
        ))
        self.arms_metric = picker("metric", arm_metrics, arm_metrics[0], "axnb-arms-metric")
        trials = exp.trials
        self.sort_by = picker("sort by", self._columns(trials), "index", "axnb-sort-by")
        self.descending = toggle()
        sizes = sorted({*PAGE_SIZES, PAGE_SIZE})
        self.page_size = picker("rows", sizes, PAGE_SIZE, "axnb-page-size")
        self.page = counter()
        self._paging = False  # True while a refresh moves the page: no redraw
        #: With tasks (``Experiment(tasks=...)``): the task the contour, slice and progress
        #: tabs show (that task's trials over its view of the model; the same picker in the
        #: three tabs). None without tasks.
        self.task = picker("task", list(exp.tasks), exp.tasks[0], "axnb-task") \
            if exp.tasks else None
        on_task = [self.task] if self.task is not None else []
        if len(tunable) < 2:
            self.contour_x.disabled = self.contour_y.disabled = True
        self._controls: dict[str, list[Any]] = {
            "contour": [*on_task, self.contour_x, self.contour_y, self.contour_metric],
            "slice": [*on_task, self.slice_param, self.slice_metric],
            "progress": [*on_task, self.progress_metric],
            "trials": [self.sort_by, self.descending, self.page_size, self.page],
            "pareto": [],
            "arms": [self.arms_metric],
        }
        names = ["contour", "slice", "progress", "trials"]
        if exp.is_multi_objective:
            names.append("pareto")
        if has_rounds(trials):
            names.append("arms")
        return names

    def _start(self, interval: float, name: str) -> None:
        """Draw the cheap parts now, the model figures in the worker; follow the experiment
        and poll the engine's status."""
        self._update(["status", "progress", "trials", "pareto", "arms"])
        self._refresher = Refresher(self.experiment, self._refresh_changed, interval, name,
                                    leading=True)
        self._refresher.poke()
        self._poller = threading.Thread(target=self._poll_status, daemon=True)
        self._poller.start()
        stop_at_exit(self._closed.set, self._poller.join)

    def _show(self, name: str, fig: go.Figure) -> None:
        raise NotImplementedError

    def _add_tab(self, name: str) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        """Bring every figure and the status line up to date now (synchronously)."""
        self._update(list(self.PARTS), force=True)

    # ------------------------------------------------------------------ updating
    def _shown(self) -> list[str]:
        """The parts in view (a ``Dashboard``: its selected tab; a static one shows all)."""
        return list(self.PARTS)

    def _refresh_changed(self) -> None:
        """The automatic refresh (in the worker): the status line and the parts in view
        first, then the others unless new changes are waiting (they are then left stale, for
        the next refresh or until their tab is selected)."""
        if self._closed.is_set():
            return
        shown = self._shown()
        first = ["status", *(p for p in shown if p != "status")]
        self._update(first, keep_message=True)
        refresher = self._refresher
        for part in (p for p in self.PARTS if p not in first):
            if self._closed.is_set():
                return
            if refresher is not None and refresher.pending and part in self.figures:
                # (a tab that does not exist yet, arms at the first round, is added at once)
                with self._lock:
                    self._stale.add(part)
                continue
            self._update([part], keep_message=True)

    def _bring_up_to_date(self, name: str) -> None:
        """Draw ``name`` now if a refresh left it stale (its tab was just selected)."""
        if name in self._stale and not self._closed.is_set():
            self._update([name], keep_message=True)

    def _follow_space(self) -> tuple:
        """Offer the parameters of the current search space in the pickers when it changed
        (``exp.change_parameters``), keeping the picks that still exist; its signature."""
        space = space_signature(self.experiment)
        if space == self._space:
            return space
        tunable = [p.name for p in self.experiment.space.tunable]
        self._following = True
        try:
            x = keep_pick(self.contour_x.value, tunable)
            y = keep_pick(self.contour_y.value, tunable, avoid=x)
            picks = ((self.contour_x, x), (self.contour_y, y),
                     (self.slice_param, keep_pick(self.slice_param.value, tunable)))
            for w, value in picks:
                if list(w.options) != tunable:
                    w.options = tunable
                if w.value != value:
                    w.value = value
            self.contour_x.disabled = self.contour_y.disabled = len(tunable) < 2
        finally:
            self._following = False
        self._space = space
        return space

    def _update(self, parts: list[str], force: bool = False, keep_message: bool = False) -> None:
        """Bring ``parts`` up to date (``force``: recompute the model figures even when their
        data did not change). The message line shows these parts' errors (``keep_message``:
        added to those already shown)."""
        with self._lock:
            self._stale.difference_update(parts)
            trials = self.experiment.trials
            signature = data_signature(trials)
            space = self._follow_space()
            task = None if self.task is None else self.task.value
            errors: dict[str, str] = {}
            for part in parts:
                if part == "pareto" and part not in self.figures:
                    continue
                if part == "arms" and not has_rounds(trials):
                    continue
                try:
                    if part == "status":
                        self._update_status(trials)
                    elif part == "contour":
                        key = (signature, space, self.contour_x.value, self.contour_y.value,
                               self.contour_metric.value, task)  # fmt: skip
                        if force or self._drawn.get(part) != key:
                            self._show(part, self._contour(trials))
                            self._drawn[part] = key
                    elif part == "slice":
                        key = (signature, space, self.slice_param.value,
                               self.slice_metric.value, task)
                        if force or self._drawn.get(part) != key:
                            self._show(part, self._slice(trials))
                            self._drawn[part] = key
                    elif part == "progress":
                        from axnb.analysis.progress import compute_progress, draw_progress

                        view = self._view()
                        rec = compute_progress(
                            view, self.progress_metric.value, trials=self._of_view(view, trials)
                        )
                        self._show(part, draw_progress(rec))
                    elif part == "trials":
                        self._sync_columns(trials)
                        self._show(part, self._table(trials))
                    elif part == "pareto":
                        from axnb.analysis.pareto import compute_pareto, draw_pareto

                        self._show(
                            part, draw_pareto(compute_pareto(self.experiment, trials=trials))
                        )
                    elif part == "arms":
                        if part not in self.figures:
                            self._add_tab(part)
                        from axnb.rounds import latest_window

                        window = latest_window(self.experiment.rounds)
                        key = (rounds_signature(trials), window, self.arms_metric.value)
                        if force or self._drawn.get(part) != key:
                            from axnb.analysis.arms import compute_arms, draw_arms

                            rec = compute_arms(self.experiment, self.arms_metric.value,
                                               trials=trials, window=window)
                            self._show(part, draw_arms(rec))
                            self._drawn[part] = key
                except Exception as e:  # a broken plot must not break the dashboard
                    errors[part] = f"{part}: {type(e).__name__}: {e}"
                    self._drawn.pop(part, None)
            if keep_message:  # the errors of the parts not updated now stay
                errors = {**{k: v for k, v in self._errors.items() if k not in parts},
                          **errors}
            self._errors = errors
            self.last_error = "; ".join(errors.values()) or None
            self.message.value = (
                ""
                if not errors
                else f"<span class='axnb-error' style='color:#b00020'>"
                f"{html.escape(self.last_error or '')}</span>"
            )

    def _view(self) -> Any:
        """The experiment as the model tabs show it: from the picked task (``self.task``)."""
        from axnb.analysis.tasks import for_task

        return for_task(self.experiment, None if self.task is None else self.task.value)

    @staticmethod
    def _of_view(view: Any, trials: list[Trial]) -> list[Trial]:
        """``trials`` of the view's task (all of them without tasks)."""
        mine = getattr(view, "_mine", None)
        return mine(trials) if mine is not None else trials

    def _ui_key(self, name: str) -> str:
        """What the user's zoom on a figure belongs to: its pickers (new picks, new zoom)."""
        picks = [w.value for w in self._controls.get(name, []) if w is not self.descending]
        return "|".join(str(v) for v in [name, *picks])

    def _contour(self, trials: list[Trial]) -> go.Figure:
        if len(self.experiment.space.tunable) < 2:
            return message_figure(
                "A contour needs two tunable parameters; see the slice tab.", "contour"
            )
        from axnb.analysis.contour import compute_contour, draw_contour

        view = self._view()
        rec = compute_contour(
            view,
            self.contour_x.value,
            self.contour_y.value,
            self.contour_metric.value,
            grid=self.grid,
            trials=self._of_view(view, trials),
        )
        fig = draw_contour(rec)
        if rec.mean is None:  # no model yet: the axes show the parameters' bounds
            fit_axes(fig, {"x": rec.x, "y": rec.y})
        return fig

    def _slice(self, trials: list[Trial]) -> go.Figure:
        if self.slice_param.value is None:
            return message_figure("The search space has no tunable parameter.", "slice")
        from axnb.analysis.slice import compute_slice, draw_slice

        view = self._view()
        rec = compute_slice(
            view,
            self.slice_param.value,
            self.slice_metric.value,
            grid=max(self.grid, 60),
            trials=self._of_view(view, trials),
        )
        fig = draw_slice(rec)
        if rec.mean is None:  # no model yet: the x axis shows the parameter's bounds
            fit_axes(fig, {"x": rec.axis})
        return fig

    # ------------------------------------------------------------------ trials table
    def _columns(self, trials: list[Trial]) -> list[str]:
        exp = self.experiment
        rounds = ["batch", "weight"] if has_rounds(trials) else []
        reason = ["reason"] if any_reason(trials) else []
        excluded = ["excluded"] if any_excluded(trials) else []
        outside = ["outside"] if any_outside(trials) else []
        task = ["task"] if exp.tasks else []
        return ["index", "status", *reason, *excluded, *outside, "source", *task, *rounds,
                *self._parameter_columns(trials), *exp.metrics]

    def _parameter_columns(self, trials: list[Trial]) -> list[str]:
        """The search space's parameters, then those removed from it (their values stay)."""
        return [*self.experiment.space.names, *removed_parameters(self.experiment, trials)]

    def _sync_columns(self, trials: list[Trial]) -> None:
        """Offer the ``batch`` and ``weight`` columns to sort by once rounds appear (and
        ``excluded`` while a trial is excluded, ``outside`` while one is outside the search
        space, the parameters of the current space)."""
        columns = self._columns(trials)
        if list(self.sort_by.options) != columns:
            value = self.sort_by.value
            self.sort_by.options = columns
            if value in columns and self.sort_by.value != value:
                self.sort_by.value = value

    def table_rows(self, trials: list[Trial] | None = None) -> list[dict[str, Any]]:
        """The trials table's rows (sorted as picked): index, status, (``reason``, why it
        failed, when a failed or abandoned trial has a reason; ``excluded``, a bool, when a
        trial is excluded; ``outside``, a bool, when one is outside the search space),
        source, (``batch`` and ``weight`` in an experiment with bandit rounds), parameters
        (those removed from the space too), metric means and sems."""
        exp = self.experiment
        trials = exp.trials if trials is None else trials
        rounds = has_rounds(trials)
        reason = any_reason(trials)
        excluded = any_excluded(trials)
        outside = any_outside(trials)
        rows = []
        for t in trials:
            row: dict[str, Any] = {"index": t.index, "status": t.status}
            if reason:
                row["reason"] = _reason_cell(t)
            if excluded:
                row.update(excluded=t.excluded, excluded_text=_excluded_cell(t))
            if outside:
                row["outside"] = t.outside
            row["source"] = t.source
            if exp.tasks:
                row["task"] = t.task or exp.tasks[0]
            if rounds:
                row.update(batch=t.batch, weight=t.weight)
            row.update(t.parameters)
            for m in exp.metrics:
                mean, sem = (t.result or {}).get(m, (None, None))
                row[m], row[f"{m}_sem"] = mean, sem
            rows.append(row)
        key, descending = self.sort_by.value, bool(self.descending.value)
        present = [r for r in rows if not _missing(r.get(key))]
        missing = [r for r in rows if _missing(r.get(key))]
        present.sort(key=lambda r: _sort_key(r[key]), reverse=descending)
        rows = present + missing  # missing values last, whatever the direction
        return rows

    def table_page(self, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int, int]:
        """The rows of the page picked (``page``, ``page_size``) out of ``rows``, with their
        first row's position and the number of pages; a page beyond the last is the last (and
        the page number is moved there)."""
        size = max(int(self.page_size.value or PAGE_SIZE), 1)
        pages = max(1, math.ceil(len(rows) / size))
        page = min(max(int(self.page.value or 1), 1), pages)
        self._set_page(page, pages)
        start = (page - 1) * size
        return rows[start:start + size], start, pages

    def _set_page(self, page: int, pages: int) -> None:
        """Show page ``page`` of ``pages`` in the page controls, without a redraw."""
        self._paging = True
        try:
            if pages >= (self.page.max or 1):
                self.page.max = pages
                self.page.value = page
            else:
                self.page.value = page
                self.page.max = pages
        finally:
            self._paging = False

    def _first_page(self) -> None:
        """Back to page 1 (a new sort or page size)."""
        if self.page.value != 1:
            self._paging = True
            try:
                self.page.value = 1
            finally:
                self._paging = False

    def _table(self, trials: list[Trial]) -> go.Figure:
        exp = self.experiment
        everything = self.table_rows(trials)
        rows, start, pages = self.table_page(everything)
        total = len(everything)
        rounds = ["batch", "weight"] if has_rounds(trials) else []
        reason = ["reason"] if any_reason(trials) else []
        excluded = ["excluded"] if any_excluded(trials) else []
        outside = ["outside"] if any_outside(trials) else []
        params = self._parameter_columns(trials)
        task = ["task"] if exp.tasks else []
        header = ["trial", "status", *reason, *excluded, *outside, "source", *task, *rounds,
                  *params, *exp.metrics]
        columns: list[list[str]] = [[] for _ in header]
        for row in rows:
            values = [row["index"], row["status"]]
            values += [row["reason"] for _ in reason]
            values += [row["excluded_text"] for _ in excluded]
            values += ["yes" if row["outside"] else "" for _ in outside]
            values += [row["source"]]
            values += [row["task"] for _ in task]
            values += [_weight(row[c]) if c == "weight" else row[c] for c in rounds]
            values += [row.get(n) for n in params]
            for m in exp.metrics:
                mean, sem = row[m], row[f"{m}_sem"]
                values.append(_cell(mean) + (f" ± {_cell(sem)}" if sem is not None else ""))
            for c, v in zip(columns, values):
                c.append(_cell(v))
        fill = [_OUTSIDE_COLOR if r.get("outside") else _EXCLUDED_COLOR if r.get("excluded")
                else _STATUS_COLORS.get(r["status"], "white") for r in rows]
        arrow = " ↓" if self.descending.value else " ↑"
        sort_col = self.sort_by.value
        header = [h + (arrow if h == sort_col or (h == "trial" and sort_col == "index") else "")
                  for h in header]  # fmt: skip
        # Built without plotly's validation (the values are plain strings and colors made
        # here): validating each cell and its fill took most of a refresh at 200 trials.
        # ``update_in_place`` validates once, into ``figures["trials"]``.
        fig = go.Figure(
            go.Table(
                header={
                    "values": [f"<b>{html.escape(h)}</b>" for h in header],
                    "fill": {"color": "#e8eaf6"},
                    "align": "left",
                },
                cells={
                    "values": columns,
                    "fill": {"color": [fill] * len(header)},
                    "align": "left",
                    "height": 24,
                },
                _validate=False,
            ),
            _validate=False,
        )
        out = sum(bool(r.get("excluded")) for r in everything)
        off = sum(bool(r.get("outside")) for r in everything)
        note = (f", {out:,} excluded" if out else "") + (
            f", {off:,} outside the search space" if off else "")
        self._page_text = (f"rows {start + 1:,}–{start + len(rows):,} of {total:,}"
                           if rows else f"no rows of {total:,}")
        paged = f" · {self._page_text} (page {self.page.value:,} of {pages:,})" \
            if pages > 1 else ""
        self._paged(pages)
        fig.update_layout(
            title={"text": f"{total:,} trials{note} (sorted by {sort_col}){paged}", "x": 0.02},
            height=min(560, 120 + 26 * max(len(rows), 3)),
            margin={"l": 10, "r": 10, "t": 50, "b": 10},
        )
        fig.layout.meta = {"analysis": "trials"}
        return fig

    def _paged(self, pages: int) -> None:
        """The page controls' other parts (a ``Dashboard``: its label and buttons)."""

    # ------------------------------------------------------------------ status line
    def _status_text(self, trials: list[Trial]) -> str:
        from axnb.experiment import best_observed

        exp = self.experiment
        counts = {s: sum(t.status == s for t in trials) for s in ("completed", "running", "failed")}
        excluded = sum(t.excluded for t in trials)
        outside = sum(t.outside and t.is_completed for t in trials)  # as exp.summary()
        parts = [
            f"<b>{html.escape(exp.name)}</b>",
            f"{len(trials)} trials: {counts['completed']} completed, {counts['running']} "
            f"running, {counts['failed']} failed" + (f", {excluded} excluded" if excluded else "")
            + (f", {outside} outside the space" if outside else ""),
        ]
        if has_rounds(trials):
            parts.extend(self._round_status(trials))
        elif exp.is_multi_objective:
            with contextlib.suppress(Exception):
                parts.append(f"Pareto front: {len(exp.pareto())} points")
        else:
            best = best_observed(exp, trials)
            if best is not None:
                parts.append(f"best {html.escape(exp.objective.metric)} so far: {best:.6g}")
        return " · ".join(parts)

    def _round_status(self, trials: list[Trial]) -> list[str]:
        """"round k: n arms (m completed)" and the best arm (as ``exp.best()``)."""
        from axnb.rounds import arm_label, batches, best_arm, latest_window

        exp = self.experiment
        latest, members = next(reversed(batches(trials).items()))
        done = sum(t.is_completed for t in members)
        parts = [f"round {latest}: {len(members)} arms ({done} completed)"]
        with contextlib.suppress(Exception):  # no completed arm yet: no best arm
            params, values = best_arm(exp, trials, latest_window(exp.rounds))
            mean = values[exp.objective.metric][0]
            parts.append(f"best arm: {html.escape(arm_label(params, exp.space.names))} "
                         f"({html.escape(exp.objective.metric)} {mean:.4g})")
        return parts

    def _engine_status(self) -> str:
        try:
            return str(self.experiment.engine.status)
        except Exception as e:  # e.g. infeasible constraints: say so instead of failing
            return f"unavailable ({type(e).__name__})"

    def _update_status(self, trials: list[Trial] | None = None) -> None:
        if trials is not None:
            self._counts = self._status_text(trials)
        engine = html.escape(self._engine_status())
        text = f"{self._counts} · engine: <span class='axnb-engine-status'>{engine}</span>"
        if self.status.value != text:
            self.status.value = text

    def _poll_status(self) -> None:
        # The engine's status changes inside a suggestion, between change events. Reading it
        # takes no lock (the experiment's lock is held while a background run suggests).
        while not self._closed.wait(STATUS_POLL):
            with contextlib.suppress(Exception):
                self._update_status()


class Dashboard(Snapshot, FollowingBox, DashboardCore):
    """Live tabs for ``exp`` (see module doc). Parts: ``figures`` (name -> ``go.Figure``, the
    figure each tab shows), ``views`` (name -> the ``PlotlyView`` that draws it), ``status``,
    ``tabs``, the pickers (``contour_x``, ``contour_y``, ``contour_metric``, ``slice_param``,
    ``slice_metric``, ``progress_metric``, ``arms_metric``, ``sort_by``, ``descending``,
    ``page_size``), the trials table's page (``page``, ``page_prev``, ``page_next``,
    ``page_label``),
    ``refresh()`` and ``close()``. ``figures["arms"]`` exists once the experiment has a
    bandit round.

    ``Dashboard(exp)`` (and so ``exp.dashboard()``) returns a
    ``axnb.widgets.static.StaticDashboard`` instead when ``axnb.settings.display`` resolves to
    ``"static"`` (see ``axnb.settings``).
    """

    snapshot_name = "dashboard"  # the output's hint once the kernel is gone (_snapshot)

    def __new__(cls, exp: Experiment, *args: Any, **kwargs: Any) -> Any:
        from axnb.settings import resolve_display

        if cls is Dashboard and resolve_display() == "static":
            from axnb.widgets.static import StaticDashboard

            return StaticDashboard(exp, *args, **kwargs)  # not a Dashboard: no __init__
        return super().__new__(cls, exp, *args, **kwargs)

    def __init__(self, exp: Experiment, interval: float = INTERVAL, grid: int = 40) -> None:
        enable_custom_widgets()
        super().__init__()
        self._setup(exp, grid)
        self.status = widgets.HTML()
        self.status.add_class("axnb-status")
        self.message = widgets.HTML()
        self.message.add_class("axnb-dashboard-message")

        def picker(label: str, options: list[str], value: str | None, css: str) -> Any:
            w = widgets.Dropdown(
                options=options,
                value=value,
                description=label,
                style=_WIDE,
                layout=widgets.Layout(width="220px"),
            )
            w.add_class(css)
            return w

        def toggle() -> widgets.ToggleButton:
            w = widgets.ToggleButton(value=True, description="descending",
                                     icon="sort-amount-desc")
            w.add_class("axnb-descending")
            return w

        def counter() -> widgets.BoundedIntText:
            w = widgets.BoundedIntText(value=1, min=1, max=1, description="page",
                                       layout=widgets.Layout(width="130px"))
            w.add_class("axnb-page")
            return w

        names = self._make_pickers(picker, toggle, counter)
        self.page_prev = widgets.Button(icon="chevron-left", tooltip="previous page",
                                        layout=widgets.Layout(width="36px"), disabled=True)
        self.page_prev.add_class("axnb-page-prev")
        self.page_next = widgets.Button(icon="chevron-right", tooltip="next page",
                                        layout=widgets.Layout(width="36px"), disabled=True)
        self.page_next.add_class("axnb-page-next")
        self.page_label = widgets.HTML()
        self.page_label.add_class("axnb-page-label")
        self.page_prev.on_click(lambda _: self._turn(-1))
        self.page_next.on_click(lambda _: self._turn(+1))
        #: The static dashboard shown under the widget when no front end draws it
        #: (``_ipython_display_``); None while there is no need.
        self.fallback: Any = None
        self._watching = False
        self.views: dict[str, PlotlyView] = {}
        self._library = plotly_library()
        pages = [self._page(name) for name in names]
        self.tabs = widgets.Tab(children=pages, titles=names)
        self.tabs.add_class("axnb-tabs")
        self.children = [self.status, self.tabs, self.message]
        self.add_class("axnb-dashboard")

        for w in (self.contour_x, self.contour_y, self.contour_metric):
            w.observe(self._on_picker("contour"), names="value")
        for w in (self.slice_param, self.slice_metric):
            w.observe(self._on_picker("slice"), names="value")
        self.progress_metric.observe(self._on_picker("progress"), names="value")
        if self.task is not None:
            for tab in ("contour", "slice", "progress"):
                self.task.observe(self._on_picker(tab), names="value")
        self.arms_metric.observe(self._on_picker("arms"), names="value")
        for w in (self.sort_by, self.descending, self.page_size, self.page):
            w.observe(self._on_picker("trials"), names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        self._start(interval, "axnb-dashboard")

    def close(self) -> None:
        """Stop following the experiment (unsubscribe, stop polling) and close the views."""
        self._closed.set()
        if self.fallback is not None:
            self.fallback.close()
        super().close()

    # ------------------------------------------------------------ fallback (display "auto")
    def _ipython_display_(self) -> None:
        """Display the widget; with ``axnb.settings.display == "auto"`` also an empty output
        that takes the static dashboard if no front end draws the widget within
        ``FALLBACK_AFTER`` seconds (and gives it up once one does)."""
        from IPython.display import display

        from axnb.settings import settings

        super()._ipython_display_()
        if settings.display != "auto" or self._watching:
            return
        handle = display({"text/html": ""}, raw=True, display_id=True)
        if handle is None:
            return
        self._watching = True
        threading.Thread(target=self._fall_back_if_undrawn, args=(handle.display_id,),
                         name="axnb-dashboard-fallback", daemon=True).start()

    def _seen(self) -> bool:
        """Whether a front end has drawn one of the views."""
        return any(v.rendered.is_set() for v in self.views.values())

    def _fall_back_if_undrawn(self, display_id: str) -> None:
        """Wait for a view to say it was drawn; if none has after ``FALLBACK_AFTER`` s, show
        a ``StaticDashboard`` in ``display_id`` (``self.fallback``) until one is."""
        from IPython.display import update_display

        from axnb.widgets.static import StaticDashboard

        deadline = time.monotonic() + FALLBACK_AFTER
        while not self._seen() and not self._closed.is_set():
            if time.monotonic() >= deadline and self.fallback is None:
                static = StaticDashboard(self.experiment)
                for tab, controls in self._controls.items():  # the widget's picks
                    for mine, theirs in zip(controls, static._controls[tab]):
                        with contextlib.suppress(Exception):
                            theirs.value = mine.value
                static.refresh()
                static.show_in(display_id)
                self.fallback = static
            self._closed.wait(0.2)
        if self.fallback is not None and self._seen():  # drawn after all: the widget alone
            self.fallback.close()  # later refreshes push nothing
            with self.fallback._lock, contextlib.suppress(Exception):  # after one under way
                update_display({"text/html": ""}, raw=True, display_id=display_id)

    def __repr__(self) -> str:
        return f"<axnb Dashboard for experiment '{self.experiment.name}'>"

    def _page(self, name: str) -> widgets.VBox:
        """A tab's page (its pickers above its figure), creating the figure and its view."""
        self.figures[name] = message_figure("Computing…", name)
        self.views[name] = PlotlyView(self.figures[name], library=self._library)
        self.views[name].add_class(f"axnb-figure-{name}")
        controls = self._controls[name]
        if name == "trials":  # sort by, descending | ◀ page ▶ rows a–b of n | rows per page
            controls = [self.sort_by, self.descending, self.page_prev, self.page,
                        self.page_next, self.page_label, self.page_size]
        page = widgets.VBox([widgets.HBox(controls), self.views[name]])
        page.add_class(f"axnb-tab-{name}")
        return page

    def _add_tab(self, name: str) -> None:
        """Add a tab after creation (the arms tab when the first round appears)."""
        page = self._page(name)
        titles = tuple(self.tabs.titles)
        self.tabs.children = (*self.tabs.children, page)
        self.tabs.titles = (*titles, name)

    def _on_picker(self, name: str) -> Callable[[Any], None]:
        def handler(change: Any) -> None:
            if self._following:  # the refresh that moves the pickers redraws after
                return
            if name == "trials":
                if self._paging:  # the table moved its page itself
                    return
                if change.owner is not self.page:  # a new sort or page size: page 1
                    self._first_page()
            if name == "contour" and self.contour_x.value == self.contour_y.value:
                # keep two different axes: move the other picker out of the way
                other = self.contour_y if change.owner is self.contour_x else self.contour_x
                alternatives = [v for v in other.options if v != change.new]
                if alternatives:
                    other.value = change.old if change.old in alternatives else alternatives[0]
                    return  # that change triggers the update
            self._update([name])

        return handler

    def _shown(self) -> list[str]:
        """The selected tab."""
        index, titles = self.tabs.selected_index, tuple(self.tabs.titles)
        return [titles[index]] if index is not None and 0 <= index < len(titles) else []

    def _on_tab(self, change: Any) -> None:
        # A tab that a refresh left stale (it was hidden while changes kept coming) is drawn
        # when it is selected.
        for name in self._shown():
            self._bring_up_to_date(name)

    def _turn(self, step: int) -> None:
        """Show the previous (``step`` -1) or next (+1) page of the trials table."""
        self.page.value = min(max(int(self.page.value) + step, 1), int(self.page.max))

    def _paged(self, pages: int) -> None:
        page = int(self.page.value)
        self.page_prev.disabled = page <= 1
        self.page_next.disabled = page >= pages
        self.page.disabled = pages <= 1
        if self.page_label.value != self._page_text:
            self.page_label.value = self._page_text

    def _show(self, name: str, fig: go.Figure) -> None:
        # The view first (what the browser draws), then the figure object kept for scripts.
        self.views[name].show(fig, uirevision=self._ui_key(name))
        update_in_place(self.figures[name], fig)


__all__ = ["Dashboard", "data_signature", "space_signature", "update_in_place"]
