"""A JupyterLab server in a temporary folder, and Playwright helpers to drive notebooks.

Follows /work/shared/BROWSER_TESTING.md: root-safe flags, no token, Jupyter state kept in the
temp folder, news toasts off, every cell kept in the DOM, the app exposed for commands, the
server stopped by its own pid.
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
_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path, state: Path, timeout: float = 90.0) -> Iterator[str]:
    """Run JupyterLab serving ``root`` (Jupyter's own files under ``state``); yield its URL."""
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
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = open(state / "jupyter.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited ({proc.returncode}):\n"
                    + (state / "jupyter.log").read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(url + "api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not answer /api/status in time.")
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
def open_notebook(page: Any, url: str, name: str, timeout_ms: int = 120_000) -> None:
    """Open a notebook and wait until its kernel is really idle (status bar says so)."""
    workspace = re.sub(r"\W", "_", name)  # a fresh workspace: only this notebook is open
    page.goto(f"{url}lab/workspaces/{workspace}/tree/{name}?reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    wait_kernel_idle(page, timeout_ms)


def wait_kernel_idle(page: Any, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(
        """() => {
            const items = [...document.querySelectorAll('.jp-StatusBar-TextItem')];
            const ready = items.some(e => /\\|\\s*Idle/.test(e.textContent));
            const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
            return ready && (!ind || ind.getAttribute('data-status') === 'idle');
        }""",
        timeout=timeout_ms,
    )


def run_all(page: Any, timeout_ms: int = 240_000) -> None:
    """Run every cell and wait until each shows an execution count and the kernel is idle."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
            const panel = '.jp-NotebookPanel:not(.lm-mod-hidden)';
            const prompts = [...document.querySelectorAll(panel + ' .jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=timeout_ms,
    )
    wait_kernel_idle(page, timeout_ms)


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
    errors += [t for t in outputs if "Error displaying widget" in t]
    return errors
