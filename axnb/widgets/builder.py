"""Experiment builder: a form that writes the ``axnb.Experiment(...)`` code and creates it.

    builder = axnb.builder()     # display it, fill it in, click "Create experiment"
    exp = builder.experiment     # then use it like any other experiment
    print(builder.code)          # the equivalent Python, to paste into the next cell

The form adds parameters of each kind (Range, Int, Choice, Fixed), linear parameter
constraints, one or several objectives (name + min/max) and outcome constraints, and takes a
name, a seed and an optional path. Every item is checked when it is added, with axnb's own
parsers (``axnb.space.parse_parameter``, ``axnb.constraints.parse_constraint``,
``parse_outcome_constraint``); a bad item shows a message in ``builder.message`` and is not
added. The message shows in the section of the button that was pressed, under its row.
Changing the kind of parameter clears the bounds, log, values and value typed for the
previous kind. ``builder.code`` is always the Python that creates the same experiment, and
``create_button`` runs exactly that configuration.

Hierarchical parameters: ``param_when`` (optional) makes the parameter being added active only
when others take given values, typed as ``parent=value`` pairs separated by ``;``, each with
one value or several separated by commas: ``model=svm`` or ``model=svm, lr; kernel=rbf``
(``parse_when``). Parents must be added first; each value is checked against its parent. It
becomes ``when={'model': 'svm'}`` in the parameter and in ``builder.code``. To change the
condition of a parameter already added, select it, type the condition (empty: always
active) and click ``set_when_button``.

Scripting (and tests) can fill the form through its input widgets and buttons, or with the
helpers, which set those same widgets, click, and raise ``ValueError`` with the inline message
when the input is rejected::

    b = axnb.builder()
    b.add_parameter("range", "lr", low=1e-4, high=0.1, log=True)
    b.add_parameter("choice", "opt", values=["adam", "sgd"])
    b.add_objective("loss", "min")
    b.name_field.value = "tuning"
    exp = b.create()
"""

from __future__ import annotations

import ast
import functools
import html
import keyword
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import ipywidgets as widgets

from axnb.constraints import parse_constraint, parse_outcome_constraint
from axnb.errors import InvalidParameterError
from axnb.space import Choice, Fixed, Int, Parameter, Range, SearchSpace, parse_parameter
from axnb.widgets._colab import enable_custom_widgets
from axnb.widgets._snapshot import Snapshot

KINDS = ("Range", "Int", "Choice", "Fixed")
_WIDE = {"description_width": "initial"}
#: Most rows a list of added items shows at once (more: it scrolls); it shows at least 2.
MAX_LIST_ROWS = 8
#: A button as wide as its label (the stock width, 148px, cuts "Add outcome constraint").
_FIT = {"width": "auto"}


def parse_literal(text: str) -> Any:
    """One value typed in a form: a number, True/False, a quoted or bare string."""
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"{text!r} is not a single value: give a number, True/False or text.")


def parse_values(text: str) -> list[Any]:
    """Comma-separated choice values: ``adam, sgd`` or ``16, 32, 64`` or ``'a,b', 'c'``."""
    out: list[Any] = []
    buf, quote = "", ""
    for ch in text:
        if quote:
            buf += ch
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            buf += ch
        elif ch == ",":
            out.append(buf)
            buf = ""
        else:
            buf += ch
    out.append(buf)
    tokens = [t for t in (s.strip() for s in out) if t]
    return [parse_literal(t) for t in tokens]


def parse_when(text: str) -> dict[str, list[Any]] | None:
    """A typed condition: ``model=svm`` or ``model=svm, lr; kernel=rbf`` -> ``{parent:
    [values]}`` (None when empty). Values are read like choice values (``parse_values``)."""
    out: dict[str, list[Any]] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        parent, eq, rest = part.partition("=")
        parent = parent.strip()
        values = parse_values(rest) if eq else []
        if not eq or not parent or not values:
            raise ValueError(
                f"when: {part!r} is not understood; type parent=value, e.g. model=svm, or "
                f"several values and parents: model=svm, lr; kernel=rbf."
            )
        if parent in out:
            raise ValueError(f"when: '{parent}' is named twice; give its values once.")
        out[parent] = values
    return out or None


def when_text(when: Any) -> str:
    """The text ``parse_when`` reads back for a normalized ``Parameter.when``."""
    return "; ".join(f"{k}=" + ", ".join(repr(v) for v in vs) for k, vs in when or ())


def when_code(when: Any) -> str:
    """``{'model': 'svm'}`` (one value) or ``{'model': ['svm', 'lr']}`` for ``Parameter.when``."""
    return "{" + ", ".join(
        f"{k!r}: {vs[0]!r}" if len(vs) == 1 else f"{k!r}: {list(vs)!r}" for k, vs in when
    ) + "}"


def parameter_code(p: Parameter) -> str:
    """The ``axnb.Range(...)``-style expression that builds ``p``."""
    when = f", when={when_code(p.when)}" if p.when else ""
    if isinstance(p, Range):
        return (f"axnb.Range({p.name!r}, {p.low!r}, {p.high!r}"
                f"{', log=True' if p.log else ''}{when})")
    if isinstance(p, Int):
        return (f"axnb.Int({p.name!r}, {p.low!r}, {p.high!r}"
                f"{', log=True' if p.log else ''}{when})")
    if isinstance(p, Choice):
        return f"axnb.Choice({p.name!r}, {list(p.values)!r}{when})"
    if isinstance(p, Fixed):
        return f"axnb.Fixed({p.name!r}, {p.value!r}{when})"
    raise TypeError(f"Unknown parameter {p!r}.")  # pragma: no cover


def _parent_value(parent: Parameter, value: Any) -> Any:
    """``value`` as a value of ``parent`` (text typed for a choice of strings such as ``1``
    is read as the string); ValueError naming the values it can take."""
    for candidate in (value, str(value)):
        try:
            return parent.validate(candidate)
        except ValueError:
            continue
    can = list(parent.values) if isinstance(parent, Choice) else (
        [parent.value] if isinstance(parent, Fixed) else
        f"integers in [{parent.low}, {parent.high}]")  # type: ignore[attr-defined]
    raise ValueError(
        f"when: {value!r} is not a value '{parent.name}' can take ({can})."
    )


class _ItemList:
    """A Select listing added items, with a "Remove" button. It is as tall as the list (2 to
    ``MAX_LIST_ROWS`` rows), so that no item hides below a scroll bar until there are many."""

    def __init__(self, title: str, css: str, on_change: Callable[[], None]) -> None:
        self.items: list[Any] = []
        self._labels: list[str] = []
        self.select = widgets.Select(options=[], rows=2, layout=widgets.Layout(width="420px"))
        self.select.add_class(f"axnb-{css}-list")
        self.remove_button = widgets.Button(description="Remove selected", layout=_FIT)
        self.remove_button.add_class(f"axnb-remove-{css}")
        self.remove_button.on_click(lambda _: self.remove(self.select.index))
        self._on_change = on_change
        self.box = widgets.VBox(
            [
                widgets.HTML(f"<i>{html.escape(title)}</i>"),
                widgets.HBox([self.select, self.remove_button]),
            ]
        )

    def add(self, item: Any, label: str) -> None:
        self.items.append(item)
        self._labels.append(label)
        self._sync()

    def replace(self, index: int, item: Any, label: str) -> None:
        """Put ``item`` in place of the one at ``index`` (kept selected)."""
        self.items[index] = item
        self._labels[index] = label
        self._sync()
        self.select.index = index

    def remove(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.items):
            return
        del self.items[index]
        del self._labels[index]
        self._sync()

    def _sync(self) -> None:
        self.select.options = [(label, i) for i, label in enumerate(self._labels)]
        self.select.rows = min(max(len(self._labels), 2), MAX_LIST_ROWS)
        self._on_change()


class Builder(Snapshot, widgets.VBox):
    """Form that builds an ``axnb.Experiment`` and shows the equivalent code (see module doc).

    Parts: ``name_field``, ``seed_field``, ``path_field``, ``overwrite_field``; parameter inputs
    ``param_kind``, ``param_name``, ``param_low``, ``param_high``, ``param_log``,
    ``param_values``, ``param_value``, ``param_when`` and ``add_parameter_button`` (and
    ``set_when_button`` for the selected parameter); ``constraint_text`` +
    ``add_constraint_button``; ``objective_name``, ``objective_direction`` +
    ``add_objective_button``; ``outcome_text`` + ``add_outcome_button``; ``code_view``,
    ``create_button``, ``message`` (shown under the row of the button last pressed). The
    form's sections: ``experiment_section``, ``parameter_section``, ``constraint_section``,
    ``objective_section``, ``code_section``. Results: ``code`` (str) and ``experiment``.
    """

    snapshot_name = "experiment builder"  # the output's hint once the kernel is gone

    def __init__(self) -> None:
        enable_custom_widgets()
        super().__init__()
        self.experiment: Any = None
        self.last_error: str | None = None

        self.name_field = widgets.Text(value="experiment", description="Name", style=_WIDE)
        self.seed_field = widgets.Text(
            placeholder="random",
            description="Seed",
            style=_WIDE,
            layout=widgets.Layout(width="180px"),
        )
        self.path_field = widgets.Text(
            placeholder="<name>.axnb.json next to the notebook",
            description="File",
            style=_WIDE,
            layout=widgets.Layout(width="380px"),
        )
        self.overwrite_field = widgets.Checkbox(value=False, description="overwrite", indent=False)

        self.param_kind = widgets.Dropdown(
            options=list(KINDS),
            value="Range",
            description="Kind",
            style=_WIDE,
            layout=widgets.Layout(width="150px"),
        )
        self.param_name = widgets.Text(placeholder="name", layout=widgets.Layout(width="130px"))
        self.param_low = widgets.FloatText(
            value=0.0, description="low", style=_WIDE, layout=widgets.Layout(width="130px")
        )
        self.param_high = widgets.FloatText(
            value=1.0, description="high", style=_WIDE, layout=widgets.Layout(width="130px")
        )
        self.param_log = widgets.Checkbox(
            value=False, description="log", indent=False, layout=widgets.Layout(width="60px")
        )
        self.param_values = widgets.Text(
            placeholder="values, e.g. adam, sgd", layout=widgets.Layout(width="220px")
        )
        self.param_value = widgets.Text(
            placeholder="value, e.g. 10", layout=widgets.Layout(width="130px")
        )
        self.param_when = widgets.Text(
            placeholder="when (optional), e.g. model=svm",
            layout=widgets.Layout(width="230px"),
            tooltip="Active only when other parameters take these values: parent=value, "
            "several values separated by commas, several parents by ';' "
            "(e.g. model=svm, lr; kernel=rbf). Empty: always active.",
        )
        self.param_when.add_class("axnb-param-when")
        self.add_parameter_button = widgets.Button(
            description="Add parameter", button_style="info", layout=_FIT
        )
        self.set_when_button = widgets.Button(
            description="Set 'when' of selected",
            tooltip="Give the selected parameter the condition typed in 'when' (empty: "
            "always active)",
            layout=_FIT,
        )
        self.set_when_button.add_class("axnb-set-when")
        self.param_kind.observe(lambda _: self._kind_changed(), names="value")

        self.constraint_text = widgets.Text(
            placeholder="e.g. x1 + x2 <= 1", layout=widgets.Layout(width="300px")
        )
        self.add_constraint_button = widgets.Button(description="Add constraint", layout=_FIT)
        self.objective_name = widgets.Text(
            placeholder="metric, e.g. loss", layout=widgets.Layout(width="180px")
        )
        self.objective_direction = widgets.Dropdown(
            options=["min", "max"], value="min", layout=widgets.Layout(width="80px")
        )
        self.add_objective_button = widgets.Button(description="Add objective", layout=_FIT)
        self.outcome_text = widgets.Text(
            placeholder="e.g. latency <= 20", layout=widgets.Layout(width="300px")
        )
        self.add_outcome_button = widgets.Button(
            description="Add outcome constraint", layout=_FIT
        )

        self.parameters = _ItemList("Parameters", "parameter", self._changed)
        self.constraints = _ItemList("Parameter constraints", "constraint", self._changed)
        self.objectives = _ItemList(
            "Objectives (if you add none, the experiment minimizes one metric called "
            "'objective')",
            "objective",
            self._changed,
        )
        self.outcome_constraints = _ItemList("Outcome constraints", "outcome", self._changed)

        self.code_view = widgets.HTML()
        self.code_view.add_class("axnb-code")
        self.create_button = widgets.Button(
            description="Create experiment", button_style="success", layout=_FIT
        )
        self.message = widgets.HTML()
        self.message.add_class("axnb-message")
        #: Where the message shows: under the row of the button that was pressed.
        self._slots = {
            b: widgets.VBox()
            for b in (self.add_parameter_button, self.add_constraint_button,
                      self.add_objective_button, self.add_outcome_button, self.create_button)
        }
        self._slots[self.set_when_button] = self._slots[self.add_parameter_button]

        for w, css in [
            (self.add_parameter_button, "axnb-add-parameter"),
            (self.add_constraint_button, "axnb-add-constraint"),
            (self.add_objective_button, "axnb-add-objective"),
            (self.add_outcome_button, "axnb-add-outcome"),
            (self.create_button, "axnb-create"),
            (self.name_field, "axnb-name"),
            (self.seed_field, "axnb-seed"),
        ]:
            w.add_class(css)
        for button, action in [
            (self.add_parameter_button, self._add_parameter),
            (self.set_when_button, self._set_when),
            (self.add_constraint_button, self._add_constraint),
            (self.add_objective_button, self._add_objective),
            (self.add_outcome_button, self._add_outcome),
            (self.create_button, self._create),
        ]:
            button.on_click(functools.partial(self._clicked, action))
        for w in (self.name_field, self.seed_field, self.path_field, self.overwrite_field):
            w.observe(lambda _: self._changed(), names="value")

        def section(text: str) -> widgets.HTML:
            return widgets.HTML(f"<b>{html.escape(text)}</b>")

        slot = self._slots
        self.experiment_section = widgets.VBox([
            section("Experiment"),
            widgets.HBox([self.name_field, self.seed_field]),
            widgets.HBox([self.path_field, self.overwrite_field]),
        ])
        self.parameter_section = widgets.VBox([
            section("Parameters"),
            widgets.HBox(
                [
                    self.param_kind,
                    self.param_name,
                    self.param_low,
                    self.param_high,
                    self.param_log,
                    self.param_values,
                    self.param_value,
                    self.param_when,
                ]
            ),
            widgets.HBox([self.add_parameter_button, self.set_when_button]),
            slot[self.add_parameter_button],
            self.parameters.box,
        ])
        self.constraint_section = widgets.VBox([
            section("Parameter constraints (linear)"),
            widgets.HBox([self.constraint_text, self.add_constraint_button]),
            slot[self.add_constraint_button],
            self.constraints.box,
        ])
        self.objective_section = widgets.VBox([
            section("Objectives and outcome constraints"),
            widgets.HBox(
                [self.objective_name, self.objective_direction, self.add_objective_button]
            ),
            slot[self.add_objective_button],
            self.objectives.box,
            widgets.HBox([self.outcome_text, self.add_outcome_button]),
            slot[self.add_outcome_button],
            self.outcome_constraints.box,
        ])
        self.code_section = widgets.VBox([
            section("Code"),
            self.code_view,
            widgets.HBox([self.create_button]),  # in a VBox it would span the whole form
            slot[self.create_button],
        ])
        self.children = [
            self.experiment_section,
            self.parameter_section,
            self.constraint_section,
            self.objective_section,
            self.code_section,
        ]
        self.add_class("axnb-builder")
        self._move_message(self.create_button)
        self._show_kind_fields()
        self._changed()

    # ------------------------------------------------------------------ the configuration
    def _seed(self) -> int | None:
        text = self.seed_field.value.strip()
        if not text:
            return None
        try:
            seed = int(text)
        except ValueError:
            raise ValueError(
                f"Seed {text!r} is not an integer: give e.g. 0, or leave it "
                f"empty for a random seed."
            ) from None
        if seed < 0:
            raise ValueError(f"Seed must be >= 0, got {seed}.")
        return seed

    def kwargs(self) -> dict[str, Any]:
        """The ``axnb.Experiment`` keyword arguments the form describes (what Create uses)."""
        out: dict[str, Any] = {
            "name": self.name_field.value.strip(),
            "parameters": list(self.parameters.items),
        }
        if self.constraints.items:
            out["constraints"] = list(self.constraints.items)
        objectives = self.objectives.items
        if len(objectives) > 1:
            out["objectives"] = dict(objectives)
        else:
            metric, direction = objectives[0] if objectives else ("objective", "min")
            out["objective"] = metric
            out["minimize"] = direction == "min"
        if self.outcome_constraints.items:
            out["outcome_constraints"] = list(self.outcome_constraints.items)
        if self.path_field.value.strip():
            out["path"] = self.path_field.value.strip()
        seed = self._seed()
        if seed is not None:
            out["seed"] = seed
        if self.overwrite_field.value:
            out["overwrite"] = True
        return out

    @property
    def code(self) -> str:
        """Python that creates the experiment the form describes."""
        try:
            kw = self.kwargs()
        except ValueError as e:
            return f"# {e}"
        lines = [
            "import axnb",
            "",
            "exp = axnb.Experiment(",
            f"    name={kw['name']!r},",
            "    parameters=[",
        ]
        lines += [f"        {parameter_code(p)}," for p in kw["parameters"]]
        lines.append("    ],")
        if "constraints" in kw:
            lines.append(f"    constraints={kw['constraints']!r},")
        if "objectives" in kw:
            lines.append(f"    objectives={kw['objectives']!r},")
        else:
            lines.append(f"    objective={kw['objective']!r}, minimize={kw['minimize']!r},")
        for key in ("outcome_constraints", "path", "seed", "overwrite"):
            if key in kw:
                lines.append(f"    {key}={kw[key]!r},")
        lines.append(")")
        return "\n".join(lines) + "\n"

    def _changed(self) -> None:
        self.code_view.value = (
            "<pre style='background:#f6f8fa;padding:6px;font-size:12px;line-height:1.35'>"
            f"{html.escape(self.code)}</pre>"
        )

    def _kind_changed(self) -> None:
        """Another kind of parameter: clear what was typed for the previous kind (a log Range
        followed by an Int must not make a log Int), then show this kind's fields."""
        self.param_low.value, self.param_high.value = 0.0, 1.0
        self.param_log.value = False
        self.param_values.value = ""
        self.param_value.value = ""
        self._show_kind_fields()

    def _show_kind_fields(self) -> None:
        kind = self.param_kind.value
        show = {
            self.param_low: kind in ("Range", "Int"),
            self.param_high: kind in ("Range", "Int"),
            self.param_log: kind in ("Range", "Int"),
            self.param_values: kind == "Choice",
            self.param_value: kind == "Fixed",
        }
        for w, visible in show.items():
            w.layout.display = None if visible else "none"

    def _space(self) -> SearchSpace:
        try:
            return SearchSpace(list(self.parameters.items))
        except ValueError as e:
            raise ValueError(f"Add the parameters first ({e})") from None

    # ------------------------------------------------------------------ actions
    def _clicked(self, action: Callable[[], str], button: widgets.Button) -> None:
        """A button's click: its message shows under that button's row."""
        self._move_message(button)
        self._guarded(action)

    def _move_message(self, button: widgets.Button) -> None:
        for box in self._slots.values():
            wanted = (self.message,) if box is self._slots[button] else ()
            if box.children != wanted:
                box.children = wanted

    def _guarded(self, action: Callable[[], str]) -> None:
        try:
            text = action()
        except ValueError as e:
            self.last_error = str(e)
            self._say(str(e), error=True)
        except Exception as e:  # no traceback out of a click
            self.last_error = f"{type(e).__name__}: {e}"
            self._say(self.last_error, error=True)
        else:
            self.last_error = None
            self._say(text)

    def _say(self, text: str, error: bool = False) -> None:
        color = "#b00020" if error else "#1b5e20"
        self.message.value = (
            f"<span class='{'axnb-error' if error else 'axnb-ok'}' style='color:{color}'>"
            f"{html.escape(text)}</span>"
        )

    def _add_parameter(self) -> str:
        kind = self.param_kind.value
        name = self.param_name.value.strip()
        spec: dict[str, Any]
        if kind in ("Range", "Int"):
            spec = {
                "name": name,
                "type": "range",
                "bounds": [self.param_low.value, self.param_high.value],
                "value_type": "float" if kind == "Range" else "int",
                "log_scale": bool(self.param_log.value),
            }
        elif kind == "Choice":
            spec = {"name": name, "type": "choice", "values": parse_values(self.param_values.value)}
        else:
            if not self.param_value.value.strip():
                raise ValueError(f"Fixed parameter '{name}' needs a value.")
            spec = {"name": name, "type": "fixed", "value": parse_literal(self.param_value.value)}
        p = parse_parameter(spec)
        when = self._when(p.name, self.param_when.value)
        if when:
            p = replace(p, when=when)
        if p.name in [q.name for q in self.parameters.items]:
            raise ValueError(
                f"There is already a parameter named '{p.name}': give each "
                f"parameter its own name (or remove the old one)."
            )
        self.parameters.add(p, parameter_code(p).removeprefix("axnb."))
        self.param_name.value = ""
        self.param_when.value = ""
        return f"Added parameter '{p.name}'" + (
            f", active when {when_text(p.when)}." if p.when else ".")

    def _when(self, name: str, text: str) -> dict[str, list[Any]] | None:
        """The condition typed for parameter ``name``, each value checked against (and
        converted to a value of) its parent, which must already be added."""
        when = parse_when(text)
        if when is None:
            return None
        added = {q.name: q for q in self.parameters.items}
        out: dict[str, list[Any]] = {}
        for parent, values in when.items():
            q = added.get(parent)
            if q is None or parent == name:
                raise ValueError(
                    f"when: '{parent}' is not a parameter added so far ({list(added) or 'none'}"
                    f"): add the parent parameter first, then '{name}'."
                )
            if isinstance(q, Range):
                raise ValueError(
                    f"when: '{parent}' is a Range; a parent must be a Choice, Int or Fixed "
                    f"parameter (it takes exact values)."
                )
            out[parent] = [_parent_value(q, v) for v in values]
        return out

    def _set_when(self) -> str:
        index = self.parameters.select.index
        if index is None:
            raise ValueError("Select a parameter in the list first, then click Set 'when'.")
        p = self.parameters.items[index]
        when = self._when(p.name, self.param_when.value)
        new = replace(p, when=when)
        items = [new if q is p else q for q in self.parameters.items]
        try:  # the experiment's own check of when= (no circle)
            SearchSpace(items)
        except InvalidParameterError as e:
            raise ValueError(f"when: {e}") from None
        self.parameters.replace(index, new, parameter_code(new).removeprefix("axnb."))
        self.param_when.value = ""
        return (f"'{p.name}' is now active when {when_text(new.when)}." if new.when
                else f"'{p.name}' is now always active.")

    def _add_constraint(self) -> str:
        text = self.constraint_text.value.strip()
        c = parse_constraint(text, self._space())
        self.constraints.add(c.text, c.text)
        self.constraint_text.value = ""
        return f"Added constraint '{c.text}'."

    def _add_objective(self) -> str:
        name = self.objective_name.value.strip()
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(
                f"Objective name {name!r} must be an identifier such as 'loss' or 'accuracy'."
            )
        if name in [m for m, _ in self.objectives.items]:
            raise ValueError(f"Objective '{name}' is already there.")
        if name in [p.name for p in self.parameters.items]:
            raise ValueError(f"'{name}' is a parameter: an objective is a measured metric.")
        direction = self.objective_direction.value
        self.objectives.add((name, direction), f"{direction}imize {name}")
        self.objective_name.value = ""
        return f"Added objective '{name}' ({direction})."

    def _add_outcome(self) -> str:
        text = self.outcome_text.value.strip()
        c = parse_outcome_constraint(text)
        if c.metric in [p.name for p in self.parameters.items]:
            raise ValueError(
                f"Outcome constraint '{text}' names parameter '{c.metric}': put "
                f"parameter bounds in the parameter constraints instead."
            )
        objectives = self.objectives.items
        single = (
            objectives[0][0] if len(objectives) == 1 else ("objective" if not objectives else None)
        )
        if c.metric == single:
            raise ValueError(
                f"Outcome constraint '{text}' bounds the objective '{c.metric}' "
                f"itself; constrain another metric."
            )
        self.outcome_constraints.add(c.text, c.text)
        self.outcome_text.value = ""
        return f"Added outcome constraint '{c.text}'."

    def _create(self) -> str:
        from axnb.experiment import Experiment

        exp = Experiment(**self.kwargs())
        self.experiment = exp
        return (
            f"Created experiment '{exp.name}' ({len(exp.trials)} trials so far); file "
            f"{exp.path}. Use builder.experiment, or paste the code above."
        )

    # ------------------------------------------------------------------ scripting helpers
    def _click(self, button: widgets.Button) -> None:
        button.click()
        if self.last_error is not None:
            raise ValueError(self.last_error)

    def add_parameter(
        self,
        kind: str,
        name: str,
        low: float | None = None,
        high: float | None = None,
        log: bool = False,
        values: Sequence[Any] | None = None,
        value: Any = None,
        when: str | Mapping[str, Any] | None = None,
    ) -> Parameter:
        """Fill the parameter inputs and click "Add parameter"; returns the new parameter.

        ``kind`` is "range", "int", "choice" or "fixed" (any case); ``when`` the condition as
        typed (``"model=svm"``) or a dict (``{"model": "svm"}``). Raises ValueError (and
        shows it inline) when the input is rejected.
        """
        kinds = {k.lower(): k for k in KINDS}
        if str(kind).lower() not in kinds:
            raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}.")
        self.param_kind.value = kinds[str(kind).lower()]
        self.param_name.value = name
        if low is not None:
            self.param_low.value = float(low)
        if high is not None:
            self.param_high.value = float(high)
        self.param_log.value = bool(log)
        if values is not None:
            self.param_values.value = ", ".join(repr(v) for v in values)
        if value is not None:
            self.param_value.value = repr(value)
        if isinstance(when, Mapping):
            when = "; ".join(
                f"{k}=" + ", ".join(repr(v) for v in (vs if isinstance(vs, (list, tuple))
                                                      else [vs]))
                for k, vs in when.items()
            )
        self.param_when.value = when or ""
        self._click(self.add_parameter_button)
        return self.parameters.items[-1]

    def add_constraint(self, text: str) -> None:
        """Type a linear constraint and click "Add constraint" (ValueError if rejected)."""
        self.constraint_text.value = text
        self._click(self.add_constraint_button)

    def add_objective(self, name: str, direction: str = "min") -> None:
        """Add an objective metric, "min" or "max" (ValueError if rejected)."""
        if direction not in ("min", "max"):
            raise ValueError(f"direction must be 'min' or 'max', got {direction!r}.")
        self.objective_name.value = name
        self.objective_direction.value = direction
        self._click(self.add_objective_button)

    def add_outcome_constraint(self, text: str) -> None:
        """Add an outcome constraint such as "latency <= 20" (ValueError if rejected)."""
        self.outcome_text.value = text
        self._click(self.add_outcome_button)

    def create(self) -> Any:
        """Click "Create experiment" and return it (ValueError if the form is not valid)."""
        self._click(self.create_button)
        return self.experiment

    def snapshot_subject(self) -> str | None:
        """Nothing: the form is for a new experiment (``_snapshot``)."""
        return None

    def __repr__(self) -> str:
        return f"<axnb Builder: {len(self.parameters.items)} parameters>"


__all__ = ["Builder", "parse_literal", "parse_values", "parse_when"]
