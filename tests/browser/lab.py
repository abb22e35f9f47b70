"""A throw-away Jupyter server (JupyterLab or Notebook 7) and Playwright helpers to drive it.

Follows /work/shared/BROWSER_TESTING.md: root-safe flags, no token, Jupyter state kept in a
temp folder, news toasts off, every cell kept in the DOM, the app exposed in the page as
``window.jupyterapp`` (both front ends support it) for commands and kernel status, the server
stopped by its own pid.

``kind`` is the front end: ``"lab"`` (``jupyter lab``) or ``"notebook"`` (``jupyter notebook``,
Notebook 7). Both are built on the same JupyterLab components, so the notebook DOM
(``.jp-Notebook``, ``.jp-CodeCell``, ``.jp-InputPrompt``, ``.jp-OutputArea``) and the command
``notebook:run-all-cells`` are shared; what differs is the URL that opens a notebook, the
chrome around it (Notebook 7 shows no kernel status in a status bar) and the app's traits on
the command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
]
FRONTENDS = ("lab", "notebook")
# User settings, read by both front ends (JUPYTERLAB_SETTINGS_DIR).
_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
_APP_FLAGS = {
    "lab": [
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
    ],
    "notebook": ["--JupyterNotebookApp.expose_app_in_browser=True"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(
    root: Path, state: Path, kind: str = "lab", timeout: float = 90.0
) -> Iterator[str]:
    """Run ``jupyter lab`` or ``jupyter notebook`` serving ``root`` (Jupyter's own files under
    ``state``); yield its base URL."""
    if kind not in FRONTENDS:
        raise ValueError(f"kind must be one of {FRONTENDS}, not {kind!r}")
    env = dict(os.environ)
    for key, sub in [
        ("HOME", "home"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
    ]:
        (state / sub).mkdir(parents=True, exist_ok=True)
        env[key] = str(state / sub)
    for name, value in _SETTINGS.items():
        path = state / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    # The kernel imports axnb from this checkout even when it is not pip-installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("MPLBACKEND", None)
    port = free_port()
    cmd = [
        sys.executable, "-m", "jupyter", kind, "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}",
        *_APP_FLAGS[kind],
    ]  # fmt: skip
    log_path = state / f"jupyter-{kind}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter {kind} exited ({proc.returncode}):\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(url + "api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter {kind} did not answer /api/status in time.")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.close()


# --------------------------------------------------------------------- page actions
def notebook_url(url: str, name: str, kind: str) -> str:
    if kind == "lab":
        workspace = re.sub(r"\W", "_", name)  # a fresh workspace: only this notebook is open
        return f"{url}lab/workspaces/{workspace}/tree/{name}?reset"
    return f"{url}notebooks/{name}"


def open_notebook(
    page: Any, url: str, name: str, kind: str = "lab", timeout_ms: int = 120_000
) -> None:
    """Open a notebook and wait until its kernel is really idle."""
    page.goto(notebook_url(url, name, kind), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)


_KERNEL_IDLE_JS = """() => {
    const app = window.jupyterapp;
    const ctx = app && app.shell.currentWidget && app.shell.currentWidget.sessionContext;
    if (ctx) {
        // 'initializing' until a kernel is connected and ready, then the kernel's status.
        return ctx.isReady && ctx.kernelDisplayStatus === 'idle';
    }
    // No app exposed. The execution indicator alone says idle too early.
    const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
    const indIdle = !ind || ind.getAttribute('data-status') === 'idle';
    const config = document.getElementById('jupyter-config-data');
    if (!/Notebook/.test(JSON.parse(config ? config.textContent : '{}').appName || '')) {
        // JupyterLab: the status bar must say "<kernel> | Idle".
        const items = [...document.querySelectorAll('.jp-StatusBar-TextItem')];
        return indIdle && items.some(e => /\\|\\s*Idle/.test(e.textContent));
    }
    // Notebook 7 (no kernel status bar): a kernel name in the toolbar, no "Kernel Initializing".
    const name = document.querySelector('.jp-Toolbar-kernelName');
    const note = document.querySelector('.jp-NotebookKernelStatus');
    return !!ind && indIdle && !!name && !/No Kernel/.test(name.textContent)
        && !(note && /Initializing|Starting|Restarting|Connecting/.test(note.textContent));
}"""

# The visible notebook's code-cell prompts: "[ ]:" before, "[*]:" queued/running, "[n]:" done.
_PROMPTS_JS = """() => {
    const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook')
        || document.querySelector('.jp-Notebook');
    return [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
}"""


def wait_kernel_idle(page: Any, timeout_ms: int = 120_000) -> None:
    """Wait until the open notebook's kernel is connected, ready and idle."""
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout_ms)


def _run_all_from_menu(page: Any) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel").get_by_text(
        "Run All Cells", exact=True
    ).click()


def run_all(page: Any, timeout_ms: int = 240_000) -> str:
    """Run every cell; wait until each shows an execution count and the kernel is idle.

    Uses the command ``notebook:run-all-cells`` through ``window.jupyterapp`` (both front
    ends expose it with ``expose_app_in_browser``); falls back to the menu Run > Run All
    Cells when the app is not exposed or the command started nothing. Returns the way used.
    """
    started = "() => (" + _PROMPTS_JS + r")().some(t => /\[(\*|\d+)\]/.test(t))"
    how = "command"
    issued = page.evaluate(
        """() => {
            const app = window.jupyterapp;
            if (!app || !app.commands.hasCommand('notebook:run-all-cells')) return false;
            app.commands.execute('notebook:run-all-cells');  // not awaited: runs for long
            return true;
        }"""
    )
    try:
        if not issued:
            raise TimeoutError("no app")
        page.wait_for_function(started, timeout=20_000)
    except Exception:
        how = "menu"
        _run_all_from_menu(page)
        page.wait_for_function(started, timeout=20_000)
    page.wait_for_function(
        "() => { const p = (" + _PROMPTS_JS + ")();"
        r" return p.length > 0 && p.every(t => /\[\d+\]/.test(t)); }",
        timeout=timeout_ms,
    )
    wait_kernel_idle(page, timeout_ms)
    return how


WIDGET_ERRORS = re.compile(r"Error displaying widget|model not found", re.IGNORECASE)


def output_errors(page: Any) -> list[str]:
    """Tracebacks and widget rendering failures shown in the notebook's outputs."""
    texts = page.eval_on_selector_all(
        '.jp-OutputArea [data-mime-type="application/vnd.jupyter.stderr"]',
        "els => els.map(e => e.textContent)",
    )
    errors = [t for t in texts if re.search(r"Traceback|\w+Error\b", t)]
    outputs = page.eval_on_selector_all(
        ".jp-OutputArea-output", "els => els.map(e => e.textContent)"
    )
    errors += [t for t in outputs if WIDGET_ERRORS.search(t)]
    return errors


# --------------------------------------------------------------------- time to first plot
# Selectors for "a plotly plot drawn" inside a cell's output, generic on purpose so that any
# widget design passes (FigureWidgets, one anywidget drawing several figures, fig.show()):
# plotly adds .js-plotly-plot to the plot's div as it starts and draws into svg.main-svg.
PLOT_SELECTOR = ".jp-OutputArea .js-plotly-plot"
DRAWN_SELECTOR = ".jp-OutputArea svg.main-svg"

_WATCH_JS = """([source, plotSel, drawnSel]) => {
    const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
    const cell = cells.find(c => {
        const ed = c.querySelector('.jp-InputArea-editor');
        return ed && ed.textContent.includes(source);
    });
    if (!cell) return false;
    const t = window.__axnbFirstPlot = {};
    const now = () => performance.now();
    const shown = el => el.getClientRects().length > 0;
    const check = () => {
        const prompt = cell.querySelector('.jp-InputPrompt').textContent;
        if (t.executed == null && /\\[\\d+\\]/.test(prompt)) t.executed = now();
        if (t.output == null && cell.querySelector('.jp-OutputArea-output')) t.output = now();
        if (t.plot == null && cell.querySelector(plotSel)) t.plot = now();
        if (t.drawn == null && [...cell.querySelectorAll(drawnSel)].some(shown)) t.drawn = now();
        if (t.executed != null && t.drawn != null) { obs.disconnect(); clearInterval(tick); }
    };
    const obs = new MutationObserver(check);
    obs.observe(cell, {subtree: true, childList: true, characterData: true, attributes: true});
    const tick = setInterval(check, 20);  // visibility can change outside the cell's subtree
    check();
    return true;
}"""


def watch_first_plot(page: Any, source: str) -> None:
    """Start timing, in the page, the code cell whose source contains ``source``: when its
    execution count appears and when the first plotly plot is drawn in its output."""
    if not page.evaluate(_WATCH_JS, [source, PLOT_SELECTOR, DRAWN_SELECTOR]):
        raise AssertionError(f"no code cell contains {source!r}")


def first_plot_times(page: Any, timeout_ms: int = 120_000) -> dict[str, float]:
    """Wait for the watched cell's first drawn plot; return the times in ms.

    ``first_paint_ms``: execution count shown -> first visible ``svg.main-svg`` in the output
    (negative if the plot came first); ``plot_div_ms``: -> first ``.js-plotly-plot``;
    ``output_ms``: -> first output node (the widget's, before it renders anything).
    """
    page.wait_for_function(
        "() => { const t = window.__axnbFirstPlot; return t && t.executed != null"
        " && t.drawn != null; }",
        timeout=timeout_ms,
    )
    t = page.evaluate("() => window.__axnbFirstPlot")
    return {
        "first_paint_ms": round(t["drawn"] - t["executed"], 1),
        "plot_div_ms": round(t["plot"] - t["executed"], 1),
        "output_ms": round(t["output"] - t["executed"], 1),
    }
