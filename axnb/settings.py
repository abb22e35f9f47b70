"""Session settings: how axnb shows its live outputs.

    >>> import axnb
    >>> axnb.settings.display                       # "auto" unless AXNB_DISPLAY says otherwise
    'auto'
    >>> axnb.settings.display = "static"            # doctest: +SKIP

``display`` decides what ``exp.dashboard()`` returns:

- ``"widgets"``: the live ``Dashboard`` (ipywidgets + anywidget): tabs, pickers, a sortable
  table. Needs a front end that renders custom widgets (JupyterLab 4, Notebook 7, VS Code).
- ``"static"``: a ``StaticDashboard``: plain plotly figures and HTML (status line, trials
  table) shown with IPython display handles and replaced in place after every change. Works
  wherever notebook outputs render: Colab, VS Code, GitHub, nbconvert/HTML exports.
- ``"auto"`` (default): ``"static"`` inside an IPython kernel that cannot show custom widgets,
  ``"widgets"`` everywhere else (see ``resolve_display``).

The environment variable ``AXNB_DISPLAY`` sets the initial value (e.g. ``AXNB_DISPLAY=static
jupyter nbconvert --execute ...``). This module imports nothing heavy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DISPLAYS = ("auto", "widgets", "static")
#: Programs that execute notebooks without a widget front end (seen in the kernel's parent).
HEADLESS = frozenset({
    "nbconvert", "nbclient", "jupyter-execute", "papermill", "nbmake", "nbval", "treon",
    "sphinx-build", "jupyter-book", "mkdocs",
})  # fmt: skip
#: ``jupyter <subcommand>`` and pytest options that execute notebooks headless.
_HEADLESS_SUBCOMMANDS = frozenset({"nbconvert", "execute", "book"})
_HEADLESS_OPTIONS = frozenset({"--nbmake", "--nbval", "--nbval-lax"})


def _checked(value: object, source: str) -> str:
    if value not in DISPLAYS:
        raise ValueError(
            f"{source} must be one of {', '.join(map(repr, DISPLAYS))}, got {value!r}. "
            "Use 'widgets' for the live dashboard, 'static' for plain figures updated in "
            "place (Colab, exports), or 'auto' to let axnb choose."
        )
    return str(value)


class Settings:
    """axnb's session settings (one instance: ``axnb.settings``)."""

    __slots__ = ("_display",)

    def __init__(self) -> None:
        self._display = _checked(
            os.environ.get("AXNB_DISPLAY", "auto").strip().lower() or "auto",
            "the environment variable AXNB_DISPLAY",
        )

    @property
    def display(self) -> str:
        """``"auto"``, ``"widgets"`` or ``"static"`` (see the module doc)."""
        return self._display

    @display.setter
    def display(self, value: str) -> None:
        self._display = _checked(value, "axnb.settings.display")

    def __setattr__(self, name: str, value: object) -> None:
        if name not in ("display", "_display"):
            raise AttributeError(
                f"axnb.settings has no setting {name!r}; the settings are: display."
            )
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"axnb.settings(display={self._display!r}, resolved={resolve_display()!r})"


settings = Settings()


def resolve_display(value: str | None = None) -> str:
    """``"widgets"`` or ``"static"`` for ``value`` (default: ``settings.display``).

    The rule for ``"auto"``: ``"static"`` when running in an IPython kernel that cannot show
    custom widgets, that is

    - Google Colab (it ships ipywidgets 7 and renders ipywidgets 8 custom widgets only
      partly, while plain plotly figures render natively), or
    - a kernel started by a headless executor: its parent process is nbconvert, nbclient,
      ``jupyter execute``, papermill, pytest with nbmake or nbval, treon, sphinx-build,
      jupyter-book or mkdocs (``HEADLESS``), whose outputs end up in a file where widgets
      have no live model (other executors, e.g. Quarto: set ``AXNB_DISPLAY=static``);

    ``"widgets"`` otherwise: a kernel of JupyterLab, Notebook 7, VS Code or Voilà, and also
    outside any kernel (plain Python, terminal IPython, tests), where nothing is displayed
    and the widget object is the scriptable one (pickers, ``refresh()``, ``figures``). A live
    dashboard displayed under ``"auto"`` still falls back by itself: if no front end draws
    it within ``axnb.widgets.dashboard.FALLBACK_AFTER`` seconds (VS Code without anywidget's
    code, a widget manager that never answers), the static dashboard appears under it.
    """
    chosen = _checked(settings.display if value is None else value, "display")
    if chosen != "auto":
        return chosen
    if not _in_kernel():
        return "widgets"
    if "google.colab" in sys.modules or _headless_parent():
        return "static"
    return "widgets"


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (an IPython shell with a ``kernel``)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _headless_parent() -> bool:
    """Whether the kernel's parent process is a headless notebook executor."""
    return is_headless(_parent_argv())


def is_headless(argv: list[str]) -> bool:
    """Whether a command line (``argv``) runs a headless notebook executor: its program (or
    ``python -m`` module, or ``jupyter`` subcommand) is one of ``HEADLESS``, or it is pytest
    with ``--nbmake``/``--nbval``."""
    if any(arg in _HEADLESS_OPTIONS for arg in argv):
        return True
    head = ["" if arg.startswith("-") else Path(arg).name.lower() for arg in argv[:4]]
    for i, name in enumerate(head):
        stem = name.removesuffix(".py").removesuffix(".exe")
        if stem in HEADLESS or stem.removeprefix("jupyter-") in HEADLESS:
            return True
        after = head[i + 1] if i + 1 < len(head) else ""
        if stem == "jupyter" and after in _HEADLESS_SUBCOMMANDS:
            return True
    return False


def _parent_argv() -> list[str]:
    """The parent process's command line ([] when unknown)."""
    ppid = os.getppid()
    try:
        raw = Path(f"/proc/{ppid}/cmdline").read_bytes()
        return [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    except OSError:
        pass
    try:  # macOS and other systems without /proc
        import subprocess

        out = subprocess.run(["ps", "-o", "command=", "-p", str(ppid)], capture_output=True,
                             text=True, timeout=2, check=False)  # fmt: skip
        return out.stdout.split()
    except Exception:
        return []


__all__ = ["DISPLAYS", "HEADLESS", "Settings", "is_headless", "resolve_display", "settings"]
