"""Human-in-the-loop panel: suggest, edit, accept, enter results, complete, fail, attach.

    panel = exp.panel()          # display it (last expression of a cell)

How the buttons map onto the experiment (the panel itself holds nothing the experiment does
not, so closing it or re-running its cell loses nothing):

* **Suggest** asks the engine for the next point and shows it in the parameter fields. It is a
  *preview*: no trial is created and the JSON file is untouched, so a suggestion that is never
  accepted leaves nothing behind (and costs nothing if the kernel restarts).
* **Accept** creates the trial. Unedited values → ``exp.suggest()``: the suggested trial itself
  (source ``"init"``/``"model"``; suggestions are deterministic for the same data, so it is the
  point shown, and the fitted model is reused). Edited values → ``exp.attach(values)`` (source
  ``"manual"``). If the experiment changed between Suggest and Accept (a trial was added or
  finished), the preview is stale: Accept of unedited values shows a fresh suggestion instead
  and asks you to accept again. The new trial is running and selected in **Running trials**.
* **Complete** records the result fields for the selected running trial
  (``exp.complete(index, {metric: (mean, sem)})``); **Fail** marks it failed with the reason.
* **Attach** records a trial run elsewhere: the parameter fields plus the result fields
  (``exp.attach(params, result)``); with every result field empty it is attached as running.

Result fields: ``panel.result_fields[metric]`` is a small container whose ``.value`` is the
mean (a float, or None when empty) and whose ``.sem`` is the standard error (None = unknown);
the underlying text boxes are ``panel.mean_fields[metric]`` and ``panel.sem_fields[metric]``.

Bad input (a value that violates a constraint, a result that is not a number, completing with
no trial selected) shows a message in ``panel.message`` and changes nothing.

For scripting and tests every part is exposed: ``suggest_button``, ``accept_button``,
``complete_button``, ``fail_button``, ``attach_button``, ``fields`` (parameter -> input
widget), ``result_fields``, ``running`` (the Dropdown of running trials), ``reason``,
``message``. Each part carries a stable CSS class (``axnb-suggest``, ``axnb-field-<name>``,
``axnb-result-<metric>``, ...) for browser tests.
"""

from __future__ import annotations

import html
import math
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from axnb.space import Choice, Fixed, Int, Parameter, Range, Value
from axnb.widgets._colab import enable_custom_widgets
from axnb.widgets._events import INTERVAL, FollowingBox, Refresher

if TYPE_CHECKING:
    from axnb.experiment import Experiment
    from axnb.trial import Trial

_WIDE = {"description_width": "initial"}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _css(name: str) -> str:
    """A CSS-class-safe version of a parameter or metric name."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def parameter_field(p: Parameter) -> widgets.Widget:
    """A typed input widget for one parameter; its ``.value`` is a valid value of it.

    Range -> BoundedFloatText, Int -> BoundedIntText (bounds enforced: values outside are
    clamped), Choice -> Dropdown, Fixed -> disabled Dropdown (read-only).
    """
    if isinstance(p, Range):
        start = math.sqrt(p.low * p.high) if p.log else (p.low + p.high) / 2
        w: widgets.Widget = widgets.BoundedFloatText(
            value=start, min=p.low, max=p.high, step=None, description=p.name, style=_WIDE
        )
    elif isinstance(p, Int):
        w = widgets.BoundedIntText(
            value=p.low, min=p.low, max=p.high, description=p.name, style=_WIDE
        )
    elif isinstance(p, Choice):
        w = widgets.Dropdown(
            options=[(_fmt(v), v) for v in p.values],
            value=p.values[0],
            description=p.name,
            style=_WIDE,
        )
    elif isinstance(p, Fixed):
        w = widgets.Dropdown(
            options=[(_fmt(p.value), p.value)],
            value=p.value,
            description=p.name,
            disabled=True,
            style=_WIDE,
        )
    else:  # pragma: no cover - a new parameter kind
        raise TypeError(f"No input widget for parameter {p!r}.")
    w.add_class("axnb-field")
    w.add_class(f"axnb-field-{_css(p.name)}")
    return w


def parameter_hint(p: Parameter) -> str:
    if isinstance(p, (Range, Int)):
        kind = "float" if isinstance(p, Range) else "int"
        return f"{kind} in [{_fmt(p.low)}, {_fmt(p.high)}]" + (", log scale" if p.log else "")
    if isinstance(p, Choice):
        return "one of " + ", ".join(_fmt(v) for v in p.values)
    if isinstance(p, Fixed):
        return "fixed"
    return ""


def _parse_number(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a number.") from None


class ResultField(widgets.HBox):
    """Mean and optional standard error of one metric.

    ``.value`` is the mean (float, or None when the box is empty; setting it fills the box),
    ``.sem`` the standard error (None = unknown). Reading either raises ``ValueError`` when the
    box holds text that is not a number. ``mean_box`` and ``sem_box`` are the text boxes.
    """

    def __init__(self, metric: str, direction: str = "") -> None:
        self.metric = metric
        label = f"{metric} ({direction})" if direction else metric
        self.mean_box = widgets.Text(
            placeholder="mean",
            description=label,
            style=_WIDE,
            layout=widgets.Layout(width="260px"),
        )
        self.mean_box.add_class("axnb-mean")
        self.sem_box = widgets.Text(
            placeholder="sem (optional)", layout=widgets.Layout(width="130px")
        )
        self.sem_box.add_class("axnb-sem")
        super().__init__(children=[self.mean_box, self.sem_box])
        self.add_class("axnb-result")
        self.add_class(f"axnb-result-{_css(metric)}")

    @property
    def value(self) -> float | None:
        return _parse_number(self.mean_box.value, f"Result for '{self.metric}'")

    @value.setter
    def value(self, mean: float | None) -> None:
        self.mean_box.value = "" if mean is None else repr(float(mean))

    @property
    def sem(self) -> float | None:
        return _parse_number(self.sem_box.value, f"SEM of '{self.metric}'")

    @sem.setter
    def sem(self, sem: float | None) -> None:
        self.sem_box.value = "" if sem is None else repr(float(sem))

    def clear(self) -> None:
        self.mean_box.value = ""
        self.sem_box.value = ""


class _Preview:
    """What Suggest showed: the parameters, their source and the trials they were made for."""

    def __init__(self, parameters: dict[str, Value], source: str, signature: tuple) -> None:
        self.parameters = parameters
        self.source = source
        self.signature = signature


def _button(text: str, css: str, style: str = "", tooltip: str = "") -> widgets.Button:
    b = widgets.Button(description=text, button_style=style, tooltip=tooltip)
    b.add_class(css)
    return b


class Panel(FollowingBox):
    """Suggest / accept / complete / fail / attach trials of ``exp`` by hand (see module doc).

    Example::

        panel = exp.panel()
        panel.suggest_button.click()          # preview the next point in panel.fields
        panel.accept_button.click()           # create the trial (running)
        panel.result_fields["loss"].value = 0.42
        panel.complete_button.click()
    """

    def __init__(self, exp: Experiment, interval: float = INTERVAL) -> None:
        enable_custom_widgets()
        super().__init__()
        self.experiment = exp
        self._lock = threading.RLock()
        self._preview: _Preview | None = None

        self.title = widgets.HTML()
        self.title.add_class("axnb-panel-title")
        self.fields: dict[str, widgets.Widget] = {}
        rows = []
        for p in exp.space.parameters:
            field = parameter_field(p)
            self.fields[p.name] = field
            hint = widgets.HTML(f"<span style='color:#777'>{html.escape(parameter_hint(p))}</span>")
            rows.append(widgets.HBox([field, hint]))
        directions = {o.metric: "min" if o.minimize else "max" for o in exp.objectives}
        self.result_fields: dict[str, ResultField] = {
            m: ResultField(m, directions.get(m, "")) for m in exp.metrics
        }
        self.mean_fields = {m: f.mean_box for m, f in self.result_fields.items()}
        self.sem_fields = {m: f.sem_box for m, f in self.result_fields.items()}

        self.suggest_button = _button(
            "Suggest", "axnb-suggest", "info", "Preview the next suggested point (creates no trial)"
        )
        self.accept_button = _button(
            "Accept", "axnb-accept", "primary", "Create the trial with the values in the fields"
        )
        self.attach_button = _button(
            "Attach", "axnb-attach", "", "Record a trial run elsewhere: fields + results"
        )
        self.complete_button = _button(
            "Complete",
            "axnb-complete",
            "success",
            "Record the results for the selected running trial",
        )
        self.fail_button = _button(
            "Fail", "axnb-fail", "danger", "Mark the selected running trial failed"
        )
        self.running = widgets.Dropdown(
            description="Running trial",
            options=[],
            style=_WIDE,
            layout=widgets.Layout(width="520px"),
        )
        self.running.add_class("axnb-running")
        self.reason = widgets.Text(
            placeholder="failure reason (optional)", layout=widgets.Layout(width="220px")
        )
        self.reason.add_class("axnb-reason")
        self.message = widgets.HTML()
        self.message.add_class("axnb-message")

        self.suggest_button.on_click(lambda _: self._guarded(self._suggest))
        self.accept_button.on_click(lambda _: self._guarded(self._accept))
        self.attach_button.on_click(lambda _: self._guarded(self._attach))
        self.complete_button.on_click(lambda _: self._guarded(self._complete))
        self.fail_button.on_click(lambda _: self._guarded(self._fail))
        self._buttons = [
            self.suggest_button,
            self.accept_button,
            self.attach_button,
            self.complete_button,
            self.fail_button,
        ]

        def section(text: str) -> widgets.HTML:
            return widgets.HTML(f"<b>{html.escape(text)}</b>")

        self.children = [
            self.title,
            section("Parameters"),
            widgets.VBox(rows),
            widgets.HBox([self.suggest_button, self.accept_button, self.attach_button]),
            section("Results"),
            widgets.VBox(list(self.result_fields.values())),
            widgets.HBox([self.running]),
            widgets.HBox([self.complete_button, self.fail_button, self.reason]),
            self.message,
        ]
        self.add_class("axnb-panel")
        self.refresh()
        self._refresher = Refresher(exp, self.refresh, interval, name="axnb-panel-refresh")

    # ------------------------------------------------------------------ scripting helpers
    @property
    def suggestion(self) -> dict[str, Value] | None:
        """The parameters Suggest is showing (None when there is no pending preview)."""
        return None if self._preview is None else dict(self._preview.parameters)

    @property
    def values(self) -> dict[str, Value]:
        """The parameter fields' current values (not validated)."""
        return {name: f.value for name, f in self.fields.items()}

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Fill parameter fields (Fixed ones are left alone)."""
        for name, v in values.items():
            p = self.experiment.space[name]
            if not isinstance(p, Fixed):
                self.fields[name].value = float(v) if isinstance(p, Range) else v

    def refresh(self) -> None:
        """Bring the title and the list of running trials up to date with the experiment."""
        with self._lock:
            exp = self.experiment
            trials = exp.trials
            s = exp.summary()
            best = s["best_observed"]
            best_text = (
                ""
                if best is None
                else (f" · best {html.escape(exp.objective.metric)} = {best:.6g}")
            )
            self.title.value = (
                f"<b>{html.escape(exp.name)}</b> · {s['trials']} trials: {s['completed']} "
                f"completed, {s['running']} running, {s['failed']} failed{best_text}"
            )
            running = [t for t in trials if t.is_running]
            options = [(self._label(t), t.index) for t in running]
            current = self.running.value
            if options != list(self.running.options):
                self.running.options = options
            keep = current if any(t.index == current for t in running) else None
            if keep is None and running:
                keep = running[-1].index
            if self.running.value != keep:
                self.running.value = keep

    @staticmethod
    def _label(t: Trial) -> str:
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in t.parameters.items())
        if len(params) > 70:
            params = params[:67] + "..."
        return f"#{t.index} ({t.source}) {params}"

    # ------------------------------------------------------------------ actions
    def _guarded(self, action: Any) -> None:
        """Run a button's action; any error becomes an inline message (never a traceback)."""
        for b in self._buttons:
            b.disabled = True
        try:
            action()
        except ValueError as e:  # every axnb input error is a ValueError
            self._say(str(e), error=True)
        except Exception as e:  # a bug or an I/O problem: still no traceback out of a click
            self._say(f"{type(e).__name__}: {e}", error=True)
        finally:
            for b in self._buttons:
                b.disabled = False
            try:
                self.refresh()
            except Exception as e:
                self._say(f"Could not refresh the panel: {e}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        color = "#b00020" if error else "#1b5e20"
        self.message.value = (
            f"<span class='{'axnb-error' if error else 'axnb-ok'}' style='color:{color}'>"
            f"{html.escape(text)}</span>"
        )

    def _signature(self) -> tuple:
        return tuple((t.index, t.status) for t in self.experiment.trials)

    def _suggest(self) -> None:
        exp = self.experiment
        self._say("Suggesting… (fitting the model can take a few seconds)")
        signature = self._signature()
        (s,) = exp.engine.suggest(exp.trials, 1)
        self._preview = _Preview(dict(s.parameters), s.source, signature)
        self.set_values(s.parameters)
        self._say(
            f"Suggested ({s.source}): {self._describe(s.parameters)}. Edit the fields if "
            f"you like, then Accept to create the trial."
        )

    def _read_parameters(self) -> dict[str, Value]:
        """The fields as a validated parameterization (raises ValueError when invalid)."""
        values = {
            name: f.value
            for name, f in self.fields.items()
            if not isinstance(self.experiment.space[name], Fixed)
        }
        return self.experiment.space.validate(values)

    def _unedited(self, values: Mapping[str, Value], preview: _Preview) -> bool:
        for p in self.experiment.space.parameters:
            a, b = values[p.name], preview.parameters[p.name]
            if isinstance(p, Range):
                if abs(float(a) - float(b)) > 1e-9 * (p.high - p.low):
                    return False
            elif a != b or type(a) is not type(b):
                return False
        return True

    def _accept(self) -> None:
        exp = self.experiment
        preview = self._preview
        if preview is None:
            raise ValueError(
                "Nothing to accept: click Suggest first (or Attach to record a "
                "trial with your own values)."
            )
        values = self._read_parameters()
        if self._unedited(values, preview):
            if self._signature() != preview.signature:
                self._suggest()
                self._say(
                    "The experiment changed since this suggestion was made (trials were "
                    "added or finished), so here is a fresh one. Check it and Accept "
                    "again.",
                    error=True,
                )
                return
            trial = exp.suggest()
            self._preview = None
            self.set_values(trial.parameters)
            note = ""
            if not self._unedited(trial.parameters, preview):
                note = " (the experiment changed meanwhile: the fields show its values)"
        else:
            trial = exp.attach(values)
            self._preview = None
            note = " with your edits (source 'manual')"
        self.refresh()
        self.running.value = trial.index
        self._say(
            f"Accepted: trial {trial.index} is running{note}. Enter its result and click "
            f"Complete (or Fail)."
        )

    def _read_result(self, required: bool) -> dict[str, tuple[float, float | None]] | None:
        result: dict[str, tuple[float, float | None]] = {}
        for m, f in self.result_fields.items():
            mean, sem = f.value, f.sem
            if mean is None:
                if sem is not None:
                    raise ValueError(f"'{m}' has a SEM but no mean: enter the mean too.")
                continue
            result[m] = (mean, sem)
        if not result:
            if required:
                raise ValueError(
                    "Enter a result (the mean of "
                    + ", ".join(f"'{m}'" for m in self.result_fields)
                    + ") before clicking Complete."
                )
            return None
        return result

    def _selected(self, verb: str) -> int:
        index = self.running.value
        if index is None:
            raise ValueError(
                f"No running trial selected to {verb}: Suggest and Accept one, or "
                f"Attach one without results."
            )
        return index

    def _complete(self) -> None:
        index = self._selected("complete")
        result = self._read_result(required=True)
        trial = self.experiment.complete(index, result)
        for f in self.result_fields.values():
            f.clear()
        values = ", ".join(f"{m} = {mean:.6g}" for m, (mean, _) in (trial.result or {}).items())
        self._say(f"Trial {trial.index} completed: {values}.")

    def _fail(self) -> None:
        index = self._selected("fail")
        trial = self.experiment.fail(index, reason=self.reason.value.strip() or None)
        self.reason.value = ""
        self._say(f"Trial {trial.index} marked failed.")

    def _attach(self) -> None:
        values = self._read_parameters()
        result = self._read_result(required=False)
        trial = self.experiment.attach(values, result)
        self._preview = None
        if result is None:
            self.refresh()
            self.running.value = trial.index
            self._say(
                f"Attached trial {trial.index} (running): enter its result and click Complete."
            )
        else:
            for f in self.result_fields.values():
                f.clear()
            self._say(f"Attached trial {trial.index} (completed).")

    @staticmethod
    def _describe(params: Mapping[str, Any]) -> str:
        return ", ".join(f"{k} = {_fmt(v)}" for k, v in params.items())

    # ------------------------------------------------------------------ lifecycle
    def __repr__(self) -> str:
        return f"<axnb Panel for experiment '{self.experiment.name}'>"


__all__ = ["Panel", "ResultField", "parameter_field"]
