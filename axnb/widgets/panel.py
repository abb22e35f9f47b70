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

**Amend a finished trial** (``amend_section``, CSS class ``axnb-amend``): ``trial_field`` (the
index of a trial; ``trial_info`` shows its parameters, result, whether it is excluded and its
history) and ``reason_field`` (why: kept in the trial's history), then

* **Exclude** (``exclude_button``): ``exp.exclude(index, reason=...)``: the trial's result is
  left out of the model, ``best()`` and the fits (it stays in the file, drawn hollow in plots);
* **Include** (``include_button``): ``exp.include(index, reason=...)`` takes it back;
* **Correct** (``correct_button``): ``exp.correct(index, result, reason=...)`` with the result
  fields above (metrics left empty keep their current value); the earlier result is kept in
  ``Trial.history``.

A button that does not apply to the trial shown is disabled (clicked from code anyway, it
explains in ``panel.message`` and changes nothing).

**A change of the search space** (``exp.change_parameters``, in this kernel or, seen at the
next sync, in another) is followed at the next refresh: ``fields`` (the same dict) then holds
one field per parameter of the new space (a new parameter gets a field, a removed one's field
is closed; an unchanged parameter keeps its field and what was typed in it), a pending Suggest
preview is dropped and ``panel.message`` says what changed. Accept or Attach clicked before
that refresh changes nothing and asks to check the fields and click again. The title counts
the trials outside the new space.

**Hierarchical parameters** (``when=``): each field's hint and tooltip say when it applies
(``only when model = svm``). The fields of parameters that are inactive under the values
currently in their parents' fields are disabled (greyed, hint ``inactive``) and follow every
change of a parent field; ``panel.active`` names the active ones and ``panel.values`` holds
only them. Accept and Attach send only the active parameters (what ``exp.attach`` expects), a
suggestion fills only its (active) fields and switches the parents, so the right fields turn
on; an inactive field keeps what was typed in it for when it is active again.

Result fields: ``panel.result_fields[metric]`` is a small container whose ``.value`` is the
mean (a float, or None when empty) and whose ``.sem`` is the standard error (None = unknown);
the underlying text boxes are ``panel.mean_fields[metric]`` and ``panel.sem_fields[metric]``.

Bad input (a value that violates a constraint, a result that is not a number, completing with
no trial selected) shows a message in ``panel.message`` and changes nothing; ``message_text``
is the same message as plain text (for ``print``). A number typed outside a parameter's
bounds is brought back to the nearest bound, and the message says so (``layers: 99 is above
the largest value allowed (6)...``). Floats are shown to 6 significant digits (a field shows
0.000181796 for 0.00018179603125365696) while the field keeps the exact value, so accepting an
unedited suggestion creates exactly the suggested trial. A second click on Accept (a double
click) leaves the trial accepted by the first and says there is nothing left to accept.

For scripting and tests every part is exposed: ``suggest_button``, ``accept_button``,
``complete_button``, ``fail_button``, ``attach_button``, ``fields`` (parameter -> input
widget), ``result_fields``, ``running`` (the Dropdown of running trials), ``reason``,
``message``, and the amend section's ``trial_field``, ``trial_info``, ``reason_field``,
``exclude_button``, ``include_button``, ``correct_button``. Each part carries a stable CSS
class (``axnb-suggest``, ``axnb-field-<name>``, ``axnb-result-<metric>``, ...) for browser tests.

**Bandit rounds** (A/B and multivariate tests, see ``axnb.rounds``). The panel has a round
section (``panel.round_section``, CSS class ``axnb-round``) when the experiment has bandit
rounds, or when every parameter is discrete (Choice / Int / Fixed) and there is one objective,
so that the first round can be started from the panel; otherwise it is hidden and the panel is
as above. It follows the experiment like the rest of the panel: rounds created in another cell
or thread show up on the next refresh.

* **Suggest round** (``round_button``) calls ``exp.suggest_arms()`` (with the ``window`` of the
  latest round, so a ``window=1`` chosen in code is kept). It is disabled while the current
  round has running arms.
* The current (latest) round is listed one arm a row: ``arm_labels[index]`` shows the trial
  index, the arm's values (``axnb.rounds.arm_label``), its traffic share (``"16.7 %"``) and its
  status; ``arm_fields[index]`` is the text box for its result (disabled, showing what was
  recorded, once the arm is no longer running).
* **Complete round** (``complete_round_button``) reads every running arm's box. All filled boxes
  are checked first: if any is wrong, a message names the arm and what to type and *nothing*
  is completed. Then each filled arm is completed with ``exp.complete(index, value)``; arms left
  empty stay running (the message says which).

What to type in an arm's box (``parse_arm_result``):

* ``52/1000`` - successes/trials, recorded as ``axnb.Rate(52, 1000)`` (whole numbers);
* ``0.052 ± 0.007``, ``0.052 +- 0.007``, ``0.052 +/- 0.007`` or ``0.052, 0.007`` - mean and
  standard error (parentheses allowed: ``(0.052, 0.007)``).

A bare number (``0.052``) is refused: bandit arms are shrunk and sampled by their uncertainty.
With outcome constraints the box is still for the objective, and the other metrics follow as
``metric=value`` pairs separated by ``;`` (each in one of the forms above), e.g.
``52/1000; latency=120 ± 3`` (the objective may be named too: ``conversion=52/1000``).
"""

from __future__ import annotations

import contextlib
import html
import math
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from traitlets import CFloat, CInt, TraitError, validate

from axnb.rounds import arm_label, batches, latest_window
from axnb.space import Choice, Fixed, Int, Parameter, Range, SearchSpace, Value
from axnb.trial import CORRECTED, Rate, normalize
from axnb.widgets._colab import enable_custom_widgets
from axnb.widgets._events import INTERVAL, FollowingBox, Refresher
from axnb.widgets._snapshot import Snapshot

if TYPE_CHECKING:
    from axnb.experiment import Experiment
    from axnb.trial import Trial

_WIDE = {"description_width": "initial"}


#: Significant digits of a float shown on screen (fields, labels, messages).
DIGITS = 6


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.{DIGITS}g}"
    return str(value)


def _shown(value: float) -> float:
    """``value`` as a field shows it: ``DIGITS`` significant digits (0.00018179603125365696
    -> 0.000181796)."""
    return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else value


class _NumberField:
    """What the Range and Int fields share: bounds kept by the kernel, not the browser.

    A stock ``BoundedFloatText`` clamps a value typed out of bounds in the browser, silently
    (99 becomes 6 and the kernel never hears of 99). These fields send no bounds to the
    browser; the kernel brings a value outside ``[min, max]`` back to the nearest bound, shows
    the browser the value it holds and calls the ``on_clamp`` callbacks with ``(field, typed,
    held)``, so that the panel can say what happened.
    """

    min: Any
    max: Any

    def _init_clamp(self) -> None:
        self._clamp_handlers = widgets.CallbackDispatcher()

    def on_clamp(self, callback: Any, remove: bool = False) -> None:
        """Call ``callback(field, typed, held)`` when a value outside the bounds is clamped."""
        self._clamp_handlers.register_callback(callback, remove=remove)

    @validate("value")
    def _within_bounds(self, proposal: Any) -> Any:
        value = proposal["value"]
        held = min(max(value, self.min), self.max)
        if held != value:
            self._clamp_handlers(self, value, held)
        return held

    def set_state(self, sync_data: dict[str, Any]) -> None:
        super().set_state(sync_data)  # type: ignore[misc]
        if "value" in sync_data and sync_data["value"] != self.value:  # type: ignore[attr-defined]
            self.send_state("value")  # type: ignore[attr-defined] # clamped: show what is held


class RangeField(_NumberField, widgets.FloatText):
    """The field of a Range parameter: ``.value`` is exact, the browser shows it to
    ``DIGITS`` significant digits; a value typed outside ``[min, max]`` is clamped and
    reported (see ``_NumberField``)."""

    value = CFloat(0.0).tag(sync=True, to_json=lambda v, _: _shown(float(v)))
    min = CFloat(0.0)  # not synced: the browser would clamp silently
    max = CFloat(1.0)

    def __init__(self, **kwargs: Any) -> None:
        self._init_clamp()
        super().__init__(**kwargs)


class IntField(_NumberField, widgets.IntText):
    """The field of an Int parameter: a value typed outside ``[min, max]`` is clamped and
    reported (see ``_NumberField``)."""

    min = CInt(0)  # not synced: the browser would clamp silently
    max = CInt(100)

    def __init__(self, **kwargs: Any) -> None:
        self._init_clamp()
        super().__init__(**kwargs)


def _css(name: str) -> str:
    """A CSS-class-safe version of a parameter or metric name."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def when_hint(p: Parameter) -> str:
    """When a conditional parameter applies, in words: ``only when model = svm`` (empty for
    a parameter that is always active)."""
    parts = [f"{k} = {_fmt(vs[0])}" if len(vs) == 1
             else f"{k} in {', '.join(_fmt(v) for v in vs)}" for k, vs in p.when or ()]
    return "only when " + " and ".join(parts) if parts else ""


def parameter_field(p: Parameter) -> widgets.Widget:
    """A typed input widget for one parameter; its ``.value`` is a valid value of it.

    Range -> ``RangeField``, Int -> ``IntField`` (bounds enforced: values outside are
    clamped, and ``field.on_clamp(callback)`` hears of it), Choice -> Dropdown, Fixed ->
    disabled Dropdown (read-only). A conditional parameter's tooltip says when it applies
    (``when_hint``).
    """
    if isinstance(p, Range):
        start = math.sqrt(p.low * p.high) if p.log else (p.low + p.high) / 2
        w: widgets.Widget = RangeField(
            value=start, min=p.low, max=p.high, step=None, description=p.name, style=_WIDE
        )
    elif isinstance(p, Int):
        w = IntField(value=p.low, min=p.low, max=p.high, description=p.name, style=_WIDE)
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
    if p.when:
        w.tooltip = f"{p.name}: {when_hint(p)}"
    return w


def _space_key(space: SearchSpace) -> tuple:
    """What the parameter fields are made from: the parameters and the constraints."""
    return (repr(space.to_dicts()), repr(space.constraint_texts))


def parameter_hint(p: Parameter) -> str:
    if isinstance(p, (Range, Int)):
        kind = "float" if isinstance(p, Range) else "int"
        return f"{kind} in [{_fmt(p.low)}, {_fmt(p.high)}]" + (", log scale" if p.log else "")
    if isinstance(p, Choice):
        return "one of " + ", ".join(_fmt(v) for v in p.values)
    if isinstance(p, Fixed):
        return "fixed"
    return ""


def _hint_html(p: Parameter, active: bool = True) -> str:
    """A parameter row's hint: kind and bounds, when it applies, whether it is inactive."""
    text = html.escape(parameter_hint(p))
    when = when_hint(p)
    if when:
        text += f" · <i>{html.escape(when)}</i>"
    if not active:
        text = f"<b>inactive</b> · {text}"
    return f"<span style='color:{'#777' if active else '#aaa'}'>{text}</span>"


def _parse_number(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a number.") from None


# ---------------------------------------------------------------------- bandit arm results
#: What to type in an arm's result box (used in messages).
ARM_RESULT_HELP = (
    "type successes/trials such as 52/1000, or mean ± sem such as 0.052 ± 0.007 "
    "(also 0.052 +- 0.007 or 0.052, 0.007)"
)
_PLUS_MINUS = re.compile(r"\s*(?:±|\+/-|\+-)\s*")
_WHOLE = re.compile(r"\d+")


def _arm_number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number; {ARM_RESULT_HELP}.") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} is {text!r}: it must be a finite number.")
    return value


def _parse_one(text: str, metric: str, named: bool) -> Rate | tuple[float, float]:
    """One metric's result: ``s/n`` -> Rate, ``mean ± sem`` or ``mean, sem`` -> tuple."""
    where = f"'{metric}': " if named else ""
    body = text.strip().replace("\u2212", "-")  # a typographic minus sign
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1].strip()
    if not body:
        raise ValueError(f"{where}no value; {ARM_RESULT_HELP}.")
    pm = _PLUS_MINUS.split(body)
    if len(pm) == 1 and "/" in body:
        s, _, n = (x.strip() for x in body.partition("/"))
        if not (_WHOLE.fullmatch(s) and _WHOLE.fullmatch(n)):
            raise ValueError(
                f"{where}{body!r}: successes/trials must be two whole numbers such as 52/1000 "
                f"(or type mean ± sem such as 0.052 ± 0.007)."
            )
        if int(n) == 0 or int(s) > int(n):
            raise ValueError(
                f"{where}{body!r} is not a rate: trials must be > 0 and successes <= trials."
            )
        return Rate(int(s), int(n))
    if len(pm) == 1:
        pm = body.split(",")
    if len(pm) == 1:
        try:
            float(body)
        except ValueError:
            raise ValueError(f"{where}{body!r} is not understood; {ARM_RESULT_HELP}.") from None
        raise ValueError(
            f"{where}{body!r} has no uncertainty, and a bandit arm needs one: "
            f"{ARM_RESULT_HELP}."
        )
    if len(pm) != 2:
        raise ValueError(f"{where}{body!r} is not understood; {ARM_RESULT_HELP}.")
    mean = _arm_number(pm[0].strip(), f"{where}the mean")
    sem = _arm_number(pm[1].strip(), f"{where}the sem")
    if sem < 0:
        raise ValueError(f"{where}the sem is negative ({pm[1].strip()}); it must be >= 0.")
    return (mean, sem)


def parse_arm_result(
    text: str, metrics: Sequence[str], objective: str
) -> Rate | tuple[float, float] | dict[str, Rate | tuple[float, float]]:
    """What a person typed for one bandit arm, as a value for ``exp.complete(index, value)``.

    ``metrics`` are the experiment's metrics (``exp.metrics``), ``objective`` the one an unnamed
    value is for (``exp.objective.metric``). Accepted (see the module doc):

        >>> parse_arm_result("52/1000", ["conversion"], "conversion")
        Rate(successes=52, trials=1000)
        >>> parse_arm_result("0.052 ± 0.007", ["conversion"], "conversion")
        (0.052, 0.007)
        >>> parse_arm_result("52/1000; latency=120 +- 3", ["conversion", "latency"], "conversion")
        {'conversion': Rate(successes=52, trials=1000), 'latency': (120.0, 3.0)}

    One metric: a ``Rate`` or ``(mean, sem)``; several: ``{metric: Rate | (mean, sem)}`` with
    every metric. Raises ``ValueError`` saying what to type for empty text, a bare number (no
    uncertainty), an unknown, repeated or missing metric, or anything else not understood.
    """
    metrics = list(metrics)
    if objective not in metrics:
        metrics.insert(0, objective)
    parts = [part.strip() for part in str(text).split(";")]
    parts = [part for part in parts if part]
    if not parts:
        raise ValueError(f"Nothing typed: {ARM_RESULT_HELP}.")
    several = len(metrics) > 1
    values: dict[str, Rate | tuple[float, float]] = {}
    for part in parts:
        name, eq, rest = part.partition("=")
        metric, body = (name.strip(), rest) if eq else (objective, part)
        if metric not in metrics:
            raise ValueError(
                f"Unknown metric '{metric}' in {part!r}: this experiment's metrics are "
                + ", ".join(metrics) + "."
            )
        if metric in values:
            other = [m for m in metrics if m != objective]
            hint = (
                f" Give the other metrics as name=value, e.g. {_example(metrics, objective)}."
                if other and not eq else ""
            )
            raise ValueError(f"Two values for '{metric}'.{hint}")
        values[metric] = _parse_one(body, metric, several)
    missing = [m for m in metrics if m not in values]
    if missing:
        raise ValueError(
            "Missing " + ", ".join(f"'{m}'" for m in missing) + ": type every metric, "
            f"separated by ';', e.g. {_example(metrics, objective)}."
        )
    if not several:
        return values[objective]
    return {m: values[m] for m in metrics}


def _example(metrics: Sequence[str], objective: str) -> str:
    """A typing example for these metrics: ``52/1000; latency=120 ± 3``."""
    return "; ".join(["52/1000"] + [f"{m}=120 ± 3" for m in metrics if m != objective])


def format_arm_result(trial: Trial, metrics: Sequence[str], objective: str) -> str:
    """A recorded result in the form ``parse_arm_result`` reads (``52/1000``, ``0.052 ± 0.007``,
    ``...; latency=120 ± 3``); empty when the trial has no result."""
    if not trial.result:
        return ""
    counts = trial.counts or {}
    names = [objective] + [m for m in metrics if m != objective]
    out = []
    for m in names:
        if m not in trial.result:
            continue
        mean, sem = trial.result[m]
        if m in counts:
            text = f"{counts[m][0]}/{counts[m][1]}"
        elif sem is None:
            text = f"{mean:.6g}"
        else:
            text = f"{mean:.6g} ± {sem:.6g}"
        out.append(text if m == objective else f"{m}={text}")
    return "; ".join(out)


def format_share(weight: float | None) -> str:
    """A traffic share as a percentage: ``"16.7 %"``, ``"1.0 %"``, ``"0.35 %"``, ``"100 %"``."""
    if weight is None:
        return "?"
    pct = 100.0 * float(weight)
    if pct >= 99.95:
        return "100 %"
    if pct >= 0.95:
        return f"{pct:.1f} %"
    if pct <= 0:
        return "0 %"
    return f"{pct:.2g} %"


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
            placeholder="± standard error (optional)",
            tooltip="The standard error of the mean, if you know it (empty: unknown)",
            layout=widgets.Layout(width="210px"),
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


def _section(text: str) -> widgets.HTML:
    return widgets.HTML(f"<b>{html.escape(text)}</b>")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


#: Column widths of the round table (arm, parameters, traffic, status).
_COLUMNS = (("Arm", "56px", "left"), ("", "230px", "left"), ("Traffic", "76px", "right"),
            ("Status", "96px", "left"))
_LABEL_WIDTH = "520px"
_STATUS_COLORS = {"running": "#0d47a1", "completed": "#1b5e20", "failed": "#b00020",
                  "abandoned": "#777"}


def _cells(texts: Sequence[str], titles: Sequence[str] = ()) -> str:
    """One row of the round table as fixed-width inline cells (the texts are HTML)."""
    out = []
    for i, (text, (_, width, align)) in enumerate(zip(texts, _COLUMNS)):
        tip = titles[i] if i < len(titles) else ""
        title = f" title='{html.escape(tip, quote=True)}'" if tip else ""
        out.append(
            f"<span{title} style='display:inline-block;width:{width};text-align:{align};"
            f"padding-right:10px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;"
            f"vertical-align:bottom'>{text}</span>"
        )
    return "".join(out)


def _result_text(result: Mapping[str, tuple[float, float | None]] | None) -> str:
    if not result:
        return "none"
    return ", ".join(
        f"{m} = {mean:.6g}" + ("" if sem is None else f" ± {sem:.6g}")
        for m, (mean, sem) in result.items()
    )


def _trial_html(t: Trial | None, index: int, count: int) -> str:
    """What the amend section shows about a trial: parameters, result, excluded, history."""
    if t is None:
        span = f"0..{count - 1}" if count else "none yet"
        return html.escape(f"No trial {index}: this experiment's trials are {span}.")
    color = _STATUS_COLORS.get(t.status, "#333")
    lines = [
        f"<b>Trial {t.index}</b> · <span style='color:{color}'>{t.status}</span> · "
        f"source {html.escape(t.source)}",
        "parameters: " + html.escape(", ".join(f"{k} = {_fmt(v)}"
                                              for k, v in t.parameters.items())),
        "result: " + html.escape(_result_text(t.result)),
    ]
    if t.excluded:
        lines.append("<span class='axnb-excluded' style='color:#b26a00'><b>excluded</b>: left "
                     "out of the model, best() and the fits</span>")
    if not t.is_completed:
        lines.append(html.escape(
            f"It is {t.status}: only a completed trial can be excluded, included or corrected."
        ))
    if t.history:
        items = []
        for c in t.history:
            at = c.at.astimezone(UTC) if c.at.tzinfo else c.at
            text = f"{at:%Y-%m-%d %H:%M} UTC {c.action}"
            if c.by:
                text += f" by {c.by}"
            if c.action == CORRECTED:
                text += f" (was {_result_text(c.result)})"
            if c.reason:
                text += f": {c.reason}"
            items.append(f"<li>{html.escape(text)}</li>")
        lines.append("history:<ul style='margin:0'>" + "".join(items) + "</ul>")
    return "<div style='line-height:1.5'>" + "<br>".join(lines) + "</div>"


def _button(text: str, css: str, style: str = "", tooltip: str = "") -> widgets.Button:
    b = widgets.Button(description=text, button_style=style, tooltip=tooltip)
    b.add_class(css)
    return b


class Panel(Snapshot, FollowingBox):
    """Suggest / accept / complete / fail / attach trials of ``exp`` by hand (see module doc).

    Example::

        panel = exp.panel()
        panel.suggest_button.click()          # preview the next point in panel.fields
        panel.accept_button.click()           # create the trial (running)
        panel.result_fields["loss"].value = 0.42
        panel.complete_button.click()
    """

    snapshot_name = "panel"  # the output's hint once the kernel is gone (_snapshot)

    def __init__(self, exp: Experiment, interval: float = INTERVAL) -> None:
        enable_custom_widgets()
        super().__init__()
        self.experiment = exp
        self._lock = threading.RLock()
        self._preview: _Preview | None = None
        self._accepted: int | None = None  # the trial the last Accept created
        self._busy = False

        self.title = widgets.HTML()
        self.title.add_class("axnb-panel-title")
        self.fields: dict[str, widgets.Widget] = {}
        #: The parameter each field was made for (``_follow_space`` compares them).
        self._field_parameters: dict[str, Parameter] = {}
        self.parameter_rows = widgets.VBox()
        self.parameter_rows.add_class("axnb-parameters")
        self._space = _space_key(exp.space)
        self._build_fields()
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

        self._build_round_section()
        self._build_amend_section()

        self.suggest_button.on_click(lambda _: self._guarded(self._suggest))
        self.accept_button.on_click(lambda _: self._guarded(self._accept))
        self.attach_button.on_click(lambda _: self._guarded(self._attach))
        self.complete_button.on_click(lambda _: self._guarded(self._complete))
        self.fail_button.on_click(lambda _: self._guarded(self._fail))
        self.round_button.on_click(lambda _: self._guarded(self._suggest_round))
        self.complete_round_button.on_click(lambda _: self._guarded(self._complete_round))
        self.exclude_button.on_click(lambda _: self._guarded(self._exclude))
        self.include_button.on_click(lambda _: self._guarded(self._include))
        self.correct_button.on_click(lambda _: self._guarded(self._correct))
        self._buttons = [
            self.suggest_button,
            self.accept_button,
            self.attach_button,
            self.complete_button,
            self.fail_button,
            self.round_button,
            self.complete_round_button,
            self.exclude_button,
            self.include_button,
            self.correct_button,
        ]

        self.children = [
            self.title,
            _section("Parameters"),
            self.parameter_rows,
            widgets.HBox([self.suggest_button, self.accept_button, self.attach_button]),
            _section("Results"),
            widgets.VBox(list(self.result_fields.values())),
            widgets.HBox([self.running]),
            widgets.HBox([self.complete_button, self.fail_button, self.reason]),
            self.amend_section,
            self.round_section,
            self.message,
        ]
        self.add_class("axnb-panel")
        self.refresh()
        self.trial_field.observe(lambda _: self._show_trial(), names="value")
        self._refresher = Refresher(exp, self.refresh, interval, name="axnb-panel-refresh")

    # ------------------------------------------------------------------ scripting helpers
    @property
    def message_text(self) -> str:
        """The message the panel shows, as plain text (``message`` is HTML)::

            panel.accept_button.click()
            print(panel.message_text)   # Accepted: trial 0 is running. Enter its result ...
        """
        text = re.sub(r"<br\s*/?>", "\n", self.message.value)
        return html.unescape(re.sub(r"<[^>]+>", "", text))

    @property
    def suggestion(self) -> dict[str, Value] | None:
        """The parameters Suggest is showing (None when there is no pending preview)."""
        return None if self._preview is None else dict(self._preview.parameters)

    @property
    def values(self) -> dict[str, Value]:
        """The active parameter fields' current values (not validated)."""
        active = self.active
        return {name: f.value for name, f in self.fields.items() if name in active}

    @property
    def active(self) -> set[str]:
        """Names of the parameters active under the values in the fields (all of them
        unless the space is hierarchical); the other fields are disabled."""
        space = self._field_space
        if not space.conditional:
            return set(self.fields)
        return space.active({name: f.value for name, f in self.fields.items()})

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Fill parameter fields (Fixed ones are left alone); the fields of parameters the
        new values make inactive keep their values and are disabled."""
        for name, v in values.items():
            p = self.experiment.space[name]
            if not isinstance(p, Fixed):
                self.fields[name].value = float(v) if isinstance(p, Range) else v
        self._show_active()

    def refresh(self) -> None:
        """Bring the title, the parameter fields (after a change of the search space) and the
        list of running trials up to date with the experiment."""
        with self._lock:
            exp = self.experiment
            trials = exp.trials
            changed = self._follow_space()
            if changed:
                self._say(changed)
            s = exp._counts(trials)  # summary() without what needs a model (tasks' fits)
            best = s["best_observed"]
            best_text = (
                ""
                if best is None
                else (f" · best {html.escape(exp.objective.metric)} = {best:.6g}")
            )
            excluded = f", {s['excluded']} excluded" if s["excluded"] else ""
            excluded += f", {s['outside']} outside the space" if s["outside"] else ""
            self.title.value = (
                f"<b>{html.escape(exp.name)}</b> · {s['trials']} trials: {s['completed']} "
                f"completed, {s['running']} running, {s['failed']} failed{excluded}{best_text}"
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
            self._refresh_round(trials)
            self._refresh_amend(trials)

    # ------------------------------------------------------------------ parameter fields
    def _row(self, p: Parameter, field: widgets.Widget) -> widgets.HBox:
        hint = widgets.HTML(_hint_html(p))
        row = widgets.HBox([field, hint])
        row.add_class("axnb-parameter-row")
        row.add_class(f"axnb-row-{_css(p.name)}")
        return row

    def _build_fields(self) -> None:
        """One field per parameter of the search space (see ``_follow_space``)."""
        self._field_space = self.experiment.space
        for p in self.experiment.space.parameters:
            self.fields[p.name] = self._field(p)
            self._field_parameters[p.name] = p
        self.parameter_rows.children = [self._row(p, self.fields[p.name])
                                        for p in self.experiment.space.parameters]
        self._show_active()

    def _field(self, p: Parameter) -> widgets.Widget:
        """``parameter_field(p)``, followed by the panel."""
        field = parameter_field(p)
        field.observe(self._on_field, names="value")
        if isinstance(field, _NumberField):
            field.on_clamp(self._on_clamp)
        return field

    def _on_field(self, _change: Any) -> None:
        self._show_active()

    def _on_clamp(self, field: widgets.Widget, typed: Any, held: Any) -> None:
        """A value typed out of bounds was brought back to the bound: say so."""
        name = next((n for n, f in self.fields.items() if f is field), field.description)
        side = "above the largest" if typed > held else "below the smallest"
        self._say(
            f"{name}: {_fmt(typed)} is {side} value allowed ({_fmt(held)}), so the field now "
            f"holds {_fmt(held)}. Type a value in [{_fmt(field.min)}, {_fmt(field.max)}].",
            error=True,
        )

    def _show_active(self) -> None:
        """Disable the fields of inactive parameters (hierarchical spaces), enable the
        others, and say so in their rows' hints."""
        space = self._field_space
        if not space.conditional:
            return
        active = self.active
        for row in self.parameter_rows.children:
            field, hint = row.children
            name = next((n for n, f in self.fields.items() if f is field), None)
            if name is None:
                continue
            p = self._field_parameters[name]
            on = name in active
            field.disabled = isinstance(p, Fixed) or not on
            text = _hint_html(p, on)
            if hint.value != text:
                hint.value = text
            if on:
                row.remove_class("axnb-inactive")
            else:
                row.add_class("axnb-inactive")

    def _follow_space(self) -> str | None:
        """Rebuild the parameter fields when the search space changed (``exp.change_parameters``
        here or in another kernel): a field per new parameter, none for a removed one, a new
        field for a changed one (keeping its value when still valid), unchanged ones kept. Drops
        a pending preview. Returns what changed, in words (None when nothing did)."""
        with self._lock:  # a click and the refresher's thread may both get here
            return self._rebuild_fields()

    def _rebuild_fields(self) -> str | None:
        """``_follow_space`` with the lock held."""
        exp = self.experiment
        space = _space_key(exp.space)
        if space == self._space:
            return None
        old, made_for = dict(self.fields), dict(self._field_parameters)
        fields: dict[str, widgets.Widget] = {}
        for p in exp.space.parameters:
            if made_for.get(p.name) == p:
                fields[p.name] = old[p.name]
                continue
            fields[p.name] = self._field(p)
            if p.name in old and not isinstance(p, Fixed):
                with contextlib.suppress(ValueError, TypeError, TraitError):
                    fields[p.name].value = p.validate(old[p.name].value)
        rows = list(self.parameter_rows.children)
        self.parameter_rows.children = [self._row(p, fields[p.name])
                                        for p in exp.space.parameters]
        for row in rows:  # the hints and rows, and the fields no longer used
            for w in (*row.children, row):
                if not any(w is f for f in fields.values()):
                    w.close()
        self.fields.clear()
        self.fields.update(fields)
        self._field_parameters = {p.name: p for p in exp.space.parameters}
        self._field_space = exp.space
        self._show_active()
        self._space = space
        self._preview = None
        self.round_header.children[0].value = self._round_space()
        added = [n for n in fields if n not in made_for]
        removed = [n for n in made_for if n not in fields]
        changed = [n for n in fields if n in made_for and made_for[n] != self._field_parameters[n]]
        what = [f"{verb} " + ", ".join(f"'{n}'" for n in names)
                for verb, names in (("added", added), ("removed", removed), ("changed", changed))
                if names]
        return (f"The search space changed ({'; '.join(what) or 'constraints'}): the parameter "
                f"fields follow it.")

    @staticmethod
    def _label(t: Trial) -> str:
        params = ", ".join(f"{k}={_fmt(v)}" for k, v in t.parameters.items())
        if len(params) > 70:
            params = params[:67] + "..."
        return f"#{t.index} ({t.source}) {params}"

    # ------------------------------------------------------------------ actions
    def _guarded(self, action: Any) -> None:
        """Run a button's action; any error becomes an inline message (never a traceback)."""
        self._busy = True
        for b in self._buttons:
            b.disabled = True
        try:
            action()
        except ValueError as e:  # every axnb input error is a ValueError
            self._say(str(e), error=True)
        except Exception as e:  # a bug or an I/O problem: still no traceback out of a click
            self._say(f"{type(e).__name__}: {e}", error=True)
        finally:
            self._busy = False
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
            f"{html.escape(text).replace(chr(10), '<br>')}</span>"
        )

    def _signature(self) -> tuple:
        return tuple((t.index, t.status) for t in self.experiment.trials)

    def _suggest(self) -> None:
        exp = self.experiment
        self._say("Suggesting… (fitting the model can take a few seconds)")
        signature = self._signature()
        trials = exp.trials
        self._follow_space()  # the fields of the space the suggestion is made in
        (s,) = exp.engine.suggest(trials, 1)
        self._preview = _Preview(dict(s.parameters), s.source, signature)
        self._accepted = None
        self.set_values(s.parameters)
        self._say(
            f"Suggested ({s.source}): {self._describe(s.parameters)}. Edit the fields if "
            f"you like, then Accept to create the trial."
        )

    def _read_parameters(self) -> dict[str, Value]:
        """The fields as a validated parameterization (raises ValueError when invalid, or
        when the search space changed since the fields were made)."""
        self.experiment.trials  # noqa: B018 - picks up a change made by another kernel
        changed = self._follow_space()
        if changed:
            raise ValueError(f"{changed} Nothing was changed: check the fields, then Suggest or "
                             f"Attach again.")
        values = {
            name: value
            for name, value in self.values.items()  # the active fields only
            if not isinstance(self.experiment.space[name], Fixed)
        }
        return self.experiment.space.validate(values)

    def _unedited(self, values: Mapping[str, Value], preview: _Preview) -> bool:
        if set(values) != set(preview.parameters):  # another branch of a hierarchical space
            return False
        for p in self.experiment.space.parameters:
            if p.name not in values:
                continue
            a, b = values[p.name], preview.parameters[p.name]
            if isinstance(p, Range):  # the exact value, or as the field showed it
                close = abs(float(a) - float(b)) <= 1e-9 * (p.high - p.low)
                if not close and float(a) != _shown(float(b)):
                    return False
            elif a != b or type(a) is not type(b):
                return False
        return True

    def _accept(self) -> None:
        exp = self.experiment
        preview = self._preview
        if preview is None and self._accepted is not None:  # e.g. a double click
            index = self._accepted
            then = ("enter its result and click Complete, or Suggest the next point"
                    if exp.trial(index).is_running else "click Suggest for the next point")
            self._say(f"Trial {index} is accepted already, nothing left to accept: {then}.")
            return
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
        self._accepted = trial.index
        self.refresh()
        self.running.value = trial.index
        self._say(
            f"Accepted: trial {trial.index} is running{note}. Enter its result and click "
            f"Complete (or Fail)."
        )

    def _read_result(
        self, required: bool, verb: str = "Complete"
    ) -> dict[str, tuple[float, float | None]] | None:
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
                    + f") before clicking {verb}."
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
        self._accepted = None
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

    # ------------------------------------------------------------------ amending trials
    def _build_amend_section(self) -> None:
        done = [t.index for t in self.experiment.trials if t.is_completed]
        self.trial_field = widgets.IntText(
            value=done[-1] if done else 0, description="Trial", style=_WIDE,
            layout=widgets.Layout(width="160px"),
        )
        self.trial_field.add_class("axnb-trial-field")
        self.reason_field = widgets.Text(
            placeholder="reason (kept in the trial's history)",
            layout=widgets.Layout(width="340px"),
        )
        self.reason_field.add_class("axnb-amend-reason")
        self.trial_info = widgets.HTML()
        self.trial_info.add_class("axnb-trial-info")
        self.exclude_button = _button(
            "Exclude", "axnb-exclude", "warning",
            "Leave this trial's result out of the model, best() and the fits (kept in the file)",
        )
        self.include_button = _button(
            "Include", "axnb-include", "", "Use this excluded trial's result again"
        )
        self.correct_button = _button(
            "Correct", "axnb-correct", "",
            "Replace this trial's result with the Results fields (the earlier one is kept in "
            "its history)",
        )
        help_text = widgets.HTML(
            "<span style='color:#555'><b>Exclude</b> leaves a completed trial out of the "
            "model, best() and the fits (it stays in the file, drawn hollow in plots); "
            "<b>Include</b> takes it back; <b>Correct</b> replaces its result with the "
            "Results fields above (metrics left empty keep their value). Each is kept in the "
            "trial's history with the reason.</span>"
        )
        self.amend_section = widgets.VBox([
            _section("Amend a finished trial"),
            help_text,
            widgets.HBox([self.trial_field, self.reason_field]),
            self.trial_info,
            widgets.HBox([self.exclude_button, self.include_button, self.correct_button]),
        ])
        self.amend_section.add_class("axnb-amend")

    def _show_trial(self) -> None:
        """Show the trial picked in ``trial_field`` (its value changed)."""
        with self._lock:
            try:
                trials = self.experiment.trials
            except Exception as e:  # the file cannot be read now: say so, keep the panel
                self.trial_info.value = html.escape(f"{type(e).__name__}: {e}")
                return
            self._refresh_amend(trials)

    def _refresh_amend(self, trials: list[Trial]) -> None:
        """The picked trial's details and which amend buttons apply (lock held)."""
        index = self.trial_field.value
        t = trials[index] if 0 <= index < len(trials) else None
        text = _trial_html(t, index, len(trials))
        if self.trial_info.value != text:
            self.trial_info.value = text
        done = t is not None and t.is_completed and not self._busy
        self.exclude_button.disabled = not done or bool(t and t.excluded)
        self.include_button.disabled = not done or not (t and t.excluded)
        self.correct_button.disabled = not done

    def _amend_target(self, verb: str) -> tuple[int, int, str | None]:
        """The picked trial's index, its number of changes so far and the reason typed;
        ValueError when it is unknown or not completed."""
        index = self.trial_field.value
        trial = self.experiment.trial(index)  # an unknown index: a clear TrialError
        if not trial.is_completed:
            hint = ("enter its result and click Complete first" if trial.is_running
                    else "it has no result")
            raise ValueError(
                f"Cannot {verb} trial {index}: it is {trial.status}, and only a completed "
                f"trial can be excluded, included or corrected ({hint}). Nothing was changed."
            )
        return index, len(trial.history), self.reason_field.value.strip() or None

    def _exclude(self) -> None:
        index, changes, reason = self._amend_target("exclude")
        trial = self.experiment.exclude(index, reason=reason)
        if len(trial.history) == changes:
            self._say(f"Trial {index} is already excluded; nothing changed.")
            return
        self.reason_field.value = ""
        why = f" ({reason})" if reason else ""
        self._say(
            f"Trial {index} excluded{why}: its result is left out of the model, best() and the "
            f"fits, and drawn hollow in plots. Include brings it back."
        )

    def _include(self) -> None:
        index, changes, reason = self._amend_target("include")
        trial = self.experiment.include(index, reason=reason)
        if len(trial.history) == changes:
            self._say(f"Trial {index} is not excluded; nothing changed.")
            return
        self.reason_field.value = ""
        self._say(f"Trial {index} included again: the model and best() use its result.")

    def _correct(self) -> None:
        index, changes, reason = self._amend_target("correct")
        exp = self.experiment
        typed = self._read_result(required=True, verb="Correct")
        assert typed is not None
        before = exp.trial(index)
        result: dict[str, Any] = dict(typed)
        counts = before.counts or {}
        for m, value in (before.result or {}).items():  # empty fields keep their value
            if m not in result:
                result[m] = Rate(*counts[m]) if m in counts else value
        trial = exp.correct(index, result, reason=reason)
        if len(trial.history) == changes:
            self._say(f"Trial {index} already has this result; nothing changed.")
            return
        for f in self.result_fields.values():
            f.clear()
        self.reason_field.value = ""
        old = trial.history[-1].result or {}
        now = ", ".join(f"{m} = {mean:.6g}" for m, (mean, _) in (trial.result or {}).items())
        was = ", ".join(f"{m} = {mean:.6g}" for m, (mean, _) in old.items())
        self._say(
            f"Trial {index} corrected: {now} (was {was}); the earlier result is kept in its "
            f"history."
        )

    # ------------------------------------------------------------------ bandit rounds
    def _round_space(self) -> str:
        """Take what the round section needs from the search space (whether round 0 can be
        started here, the parameters naming an arm); the header cells of the arms table."""
        exp = self.experiment
        #: Shown without rounds: a discrete space and one objective can start round 0 here.
        self._can_start_rounds = not exp.is_multi_objective and all(
            isinstance(p, (Choice, Int, Fixed)) for p in exp.space.parameters
        )
        varying = [p.name for p in exp.space.parameters if not isinstance(p, Fixed)]
        self._arm_names = varying or exp.space.names
        return _cells([
            "<b>Arm</b>",
            "<b>" + html.escape(" · ".join(self._arm_names)) + "</b>",
            "<b>Traffic</b>",
            "<b>Status</b>",
        ])

    def _build_round_section(self) -> None:
        exp = self.experiment
        header = self._round_space()
        self._round_members: tuple[int, ...] | None = None
        self.arm_fields: dict[int, widgets.Text] = {}
        self.arm_labels: dict[int, widgets.HTML] = {}

        metric = exp.objective.metric
        others = [m for m in exp.metrics if m != metric]
        if others:
            self._arm_placeholder = "52/1000; " + "; ".join(f"{m}=mean ± sem" for m in others)
            extra = (
                f" The box is for <b>{html.escape(metric)}</b>; add "
                + ", ".join(f"<code>{html.escape(m)}</code>" for m in others)
                + " as <code>metric=value</code>, separated by <code>;</code>: "
                f"<code>{html.escape(_example(exp.metrics, metric))}</code>."
            )
        else:
            self._arm_placeholder = "52/1000 or 0.052 ± 0.007"
            extra = ""
        self.round_title = widgets.HTML()
        self.round_title.add_class("axnb-round-title")
        self.round_help = widgets.HTML(
            f"<span style='color:#555'>Result of each arm ({html.escape(metric)}): "
            "<code>52/1000</code> (successes/trials) or <code>0.052 ± 0.007</code> "
            "(mean ± sem; also <code>0.052 +- 0.007</code> or <code>0.052, 0.007</code>). "
            f"A bare number is refused: an arm needs its uncertainty.{extra} "
            "Arms left empty stay running.</span>"
        )
        self.round_help.add_class("axnb-round-help")
        self.round_header = widgets.HBox(
            [
                widgets.HTML(header, layout=widgets.Layout(width=_LABEL_WIDTH)),
                widgets.HTML(f"<b>Result ({html.escape(metric)})</b>"),
            ]
        )
        self.round_header.add_class("axnb-round-header")
        self.round_arms = widgets.VBox()
        self.round_arms.add_class("axnb-round-arms")
        self.round_button = _button(
            "Suggest round",
            "axnb-round-suggest",
            "info",
            "Create the next bandit round: its arms and their traffic shares",
        )
        self.complete_round_button = _button(
            "Complete round",
            "axnb-round-complete",
            "success",
            "Record the results typed for the running arms of the current round",
        )
        self.round_section = widgets.VBox(
            [
                _section("Bandit round"),
                self.round_title,
                self.round_help,
                self.round_header,
                self.round_arms,
                widgets.HBox([self.round_button, self.complete_round_button]),
            ],
            layout=widgets.Layout(display="none"),
        )
        self.round_section.add_class("axnb-round")

    @property
    def round_shown(self) -> bool:
        """Whether the round section is displayed (see module doc)."""
        return self.round_section.layout.display != "none"

    def _arm_row(self, t: Trial) -> widgets.HBox:
        label = widgets.HTML(layout=widgets.Layout(width=_LABEL_WIDTH))
        label.add_class("axnb-round-arm")
        label.add_class(f"axnb-round-arm-{t.index}")
        field = widgets.Text(
            placeholder=self._arm_placeholder, layout=widgets.Layout(width="300px")
        )
        field.add_class("axnb-round-field")
        field.add_class(f"axnb-round-field-{t.index}")
        self.arm_labels[t.index] = label
        self.arm_fields[t.index] = field
        row = widgets.HBox([label, field])
        row.add_class("axnb-round-row")
        return row

    def _refresh_round(self, trials: list[Trial]) -> None:
        """Bring the round section up to date (called by ``refresh``, lock held)."""
        exp = self.experiment
        rounds = batches(trials)
        shown = bool(rounds) or self._can_start_rounds
        display = None if shown else "none"
        if self.round_section.layout.display != display:
            self.round_section.layout.display = display
        if not shown:
            return
        batch, members = next(reversed(rounds.items())) if rounds else (None, [])
        indices = tuple(t.index for t in members)
        if indices != self._round_members:
            old = list(self.round_arms.children)
            self.arm_fields, self.arm_labels = {}, {}
            self.round_arms.children = [self._arm_row(t) for t in members]
            for row in old:
                for w in (*row.children, row):
                    w.close()
            self._round_members = indices
        metric = exp.objective.metric
        for t in members:
            color = _STATUS_COLORS.get(t.status, "#333")
            params = ", ".join(f"{k}={_fmt(v)}" for k, v in t.parameters.items())
            text = _cells(
                [
                    f"#{t.index}",
                    html.escape(arm_label(t.parameters, self._arm_names)),
                    format_share(t.weight),
                    f"<span class='axnb-round-status axnb-round-{t.status}' "
                    f"style='color:{color}'>{t.status}</span>",
                ],
                titles=["", params],
            )
            label = self.arm_labels[t.index]
            if label.value != text:
                label.value = text
            field = self.arm_fields[t.index]
            if t.is_running:
                field.disabled = False
                field.placeholder = self._arm_placeholder
            else:
                field.disabled = True
                field.placeholder = t.status
                field.value = format_arm_result(t, exp.metrics, metric)
        running = [t for t in members if t.is_running]
        if batch is None:
            title = (
                "No round yet. <b>Suggest round</b> starts round 0: every arm (each "
                "combination of the levels) with an equal share of the traffic."
            )
        elif running:
            title = (
                f"<b>Round {batch}</b>: {_plural(len(members), 'arm')}, {len(running)} "
                f"running. Send each arm its share of the traffic, then type the results "
                f"below and click <b>Complete round</b>."
            )
        else:
            title = (
                f"<b>Round {batch}</b> is done ({_plural(len(members), 'arm')}). "
                f"<b>Suggest round</b> plans round {batch + 1} from the results."
            )
        if self.round_title.value != title:
            self.round_title.value = title
        self.round_header.layout.display = None if members else "none"
        self.round_button.disabled = self._busy or bool(running)
        self.round_button.tooltip = (
            f"Round {batch} still has running arms: complete them (Complete round) or fail "
            f"them first"
            if running
            else "Create the next bandit round: its arms and their traffic shares"
        )
        self.complete_round_button.disabled = self._busy or not running

    def _suggest_round(self) -> None:
        exp = self.experiment
        with self._lock:
            arms = exp.suggest_arms(window=latest_window(exp.rounds))
            self.refresh()
        batch = arms[0].batch
        shares = ", ".join(f"#{t.index} {format_share(t.weight)}" for t in arms)
        shares = f" ({shares})" if len(arms) <= 8 else ""
        self._say(
            f"Round {batch} suggested: {_plural(len(arms), 'arm')}{shares}. Send each arm "
            f"its share of the traffic, then type each arm's result and click Complete round."
        )

    def _complete_round(self) -> None:
        exp = self.experiment
        metric = exp.objective.metric
        with self._lock:
            self.refresh()  # the fields are those of the latest round, and current
            rounds = batches(exp.trials)
            if not rounds:
                raise ValueError("There is no round yet: click Suggest round first.")
            batch, members = next(reversed(rounds.items()))
            running = [t for t in members if t.is_running]
            if not running:
                raise ValueError(
                    f"Round {batch} has no running arm left: click Suggest round for the next "
                    f"round."
                )
            values: dict[int, Any] = {}
            errors, empty = [], []
            for t in running:
                field = self.arm_fields.get(t.index)
                text = "" if field is None else field.value
                if not text.strip():
                    empty.append(t.index)
                    continue
                try:
                    value = parse_arm_result(text, exp.metrics, metric)
                    normalize(value, exp.metrics, metric)  # what exp.complete will check
                except ValueError as e:
                    name = arm_label(t.parameters, self._arm_names)
                    errors.append(f"Arm #{t.index} ({name}): {e}")
                else:
                    values[t.index] = value
            if errors:
                raise ValueError("\n".join(errors) + "\nNothing was completed: correct "
                                 + ("this arm" if len(errors) == 1 else "these arms")
                                 + " and click Complete round again.")
            if not values:
                raise ValueError(
                    f"No result typed for the running arms of round {batch}: in each arm's "
                    f"box, {ARM_RESULT_HELP}; then click Complete round."
                )
            done: list[int] = []
            for index, value in values.items():
                try:
                    exp.complete(index, value)
                except ValueError as e:
                    before = (
                        f"Arms {done} were completed; " if done else "Nothing was completed; "
                    )
                    raise ValueError(f"{before}arm #{index} could not be: {e}") from e
                done.append(index)
            self.refresh()
        finished = len(members) - len(running)
        if not empty:
            earlier = f" ({finished} finished earlier)" if finished else ""
            self._say(
                f"Round {batch} completed: {_plural(len(done), 'arm')}{earlier}. Click Suggest "
                f"round for round {batch + 1}."
            )
        else:
            listed = ", ".join(f"#{i}" for i in empty)
            one = len(empty) == 1
            self._say(
                f"Round {batch}: {_plural(len(done), 'arm')} completed; "
                f"{_plural(len(empty), 'arm')} left empty {'is' if one else 'are'} still "
                f"running ({listed}). Type {'its result' if one else 'their results'} and "
                f"click Complete round again (or Fail {'it' if one else 'them'}) before the "
                f"next round."
            )

    # ------------------------------------------------------------------ lifecycle
    def __repr__(self) -> str:
        return f"<axnb Panel for experiment '{self.experiment.name}'>"


__all__ = [
    "IntField",
    "Panel",
    "RangeField",
    "ResultField",
    "format_arm_result",
    "format_share",
    "parameter_field",
    "parse_arm_result",
    "when_hint",
]
