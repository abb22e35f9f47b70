"""Real browser: JupyterLab + Debian's Chromium (Playwright) run the widget notebooks.

Copies notebooks/human_in_the_loop.ipynb and notebooks/live_dashboard.ipynb to a temporary
folder, serves it with JupyterLab, runs every cell in Chromium, then works the panel with real
clicks (Suggest, Accept, type a result, Complete) and checks that the plots are drawn, that
the dashboard's trials table shows the new trial and that the JSON file next to the notebook
holds it. Screenshots go to tests/artifacts/ (gitignored).

Skipped when /usr/bin/chromium or playwright is missing, except in CI (CI=true), where it
must run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from browser.lab import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    jupyterlab,
    open_notebook,
    output_errors,
    run_all,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

ARTIFACTS = REPO / "tests" / "artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_browser():
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright is not installed (pip install playwright)")
    if missing and IN_CI:
        pytest.fail("Browser test must run in CI but " + "; ".join(missing))
    if missing:
        pytest.skip("; ".join(missing))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _require_browser()
    root = tmp_path_factory.mktemp("notebooks")
    for name in ("human_in_the_loop.ipynb", "live_dashboard.ipynb"):
        shutil.copy(REPO / "notebooks" / name, root / name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with jupyterlab(root, tmp_path_factory.mktemp("jupyter")) as url:
        yield url, root


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def message(panel) -> str:
    return panel.locator(".axnb-message").inner_text()


def wait_message(page, panel, pattern: str, timeout_ms: int = 120_000) -> str:
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        text = message(panel)
        if re.search(pattern, text):
            return text
        if "error" in (panel.locator(".axnb-message span").get_attribute("class") or ""):
            raise AssertionError(f"panel shows an error: {text}")
        page.wait_for_timeout(200)
    raise AssertionError(f"panel message never matched {pattern!r}; it says {message(panel)!r}")


def test_human_in_the_loop_notebook(lab, page):
    url, root = lab
    start = time.monotonic()
    open_notebook(page, url, "human_in_the_loop.ipynb")
    run_all(page)
    assert output_errors(page) == []

    panel = page.locator(".axnb-panel").first
    panel.scroll_into_view_if_needed()
    panel.locator("button.axnb-suggest").click()
    wait_message(page, panel, r"Suggested \(")
    panel.locator("button.axnb-accept").click()
    accepted = wait_message(page, panel, r"Accepted: trial \d+")
    index = int(re.search(r"trial (\d+)", accepted).group(1))

    mean = panel.locator(".axnb-result-loss input").first
    mean.fill("0.4321")
    mean.press("Tab")
    page.wait_for_timeout(300)  # let the value reach the kernel
    panel.locator("button.axnb-complete").click()
    wait_message(page, panel, rf"Trial {index} completed: loss = 0\.4321")
    page.screenshot(path=str(ARTIFACTS / "browser_panel.png"), full_page=True)

    # The file next to the notebook holds the completed trial at once.
    saved = json.loads((root / "hitl_demo.axnb.json").read_text())["trials"][index]
    assert saved["status"] == "completed" and saved["result"]["loss"][0] == 0.4321

    # The dashboard of the same experiment follows: a plot is drawn and the trials table
    # (its own tab) lists the new trial.
    dash = page.locator(".axnb-dashboard").first
    dash.scroll_into_view_if_needed()
    assert dash.locator(".js-plotly-plot .main-svg").first.is_visible()
    dash.locator(".lm-TabBar-tab", has_text="trials").click()
    table = dash.locator(".axnb-tab-trials .js-plotly-plot")
    table.locator(".main-svg").first.wait_for(state="visible")
    page.wait_for_function(
        """([el, text]) => el.textContent.includes(text)""",
        arg=[table.element_handle(), "0.4321"],
        timeout=30_000,
    )
    assert "completed" in table.inner_text() or "completed" in table.text_content()
    dash.screenshot(path=str(ARTIFACTS / "browser_panel_dashboard.png"))
    assert output_errors(page) == []
    print(f"human_in_the_loop in the browser: {time.monotonic() - start:.1f} s")


def test_live_dashboard_notebook(lab, page):
    url, root = lab
    start = time.monotonic()
    open_notebook(page, url, "live_dashboard.ipynb")
    run_all(page)
    assert output_errors(page) == []
    dash = page.locator(".axnb-dashboard").first
    dash.scroll_into_view_if_needed()
    plot = dash.locator(".js-plotly-plot .main-svg").first
    plot.wait_for(state="visible")
    # The contour tab draws the model (heatmaps) and the observed points.
    page.wait_for_function(
        "el => el.querySelectorAll('.scatterlayer .trace, .heatmaplayer .hm').length > 0",
        arg=dash.locator(".js-plotly-plot").first.element_handle(),
        timeout=60_000,
    )
    dash.screenshot(path=str(ARTIFACTS / "browser_live_contour.png"))
    status = dash.locator(".axnb-status").inner_text()
    assert "10 trials: 10 completed" in status, status
    dash.locator(".lm-TabBar-tab", has_text="progress").click()
    progress = dash.locator(".axnb-tab-progress .js-plotly-plot")
    progress.locator(".main-svg").first.wait_for(state="visible")
    assert progress.locator(".scatterlayer .trace").count() > 0
    page.screenshot(path=str(ARTIFACTS / "browser_live_dashboard.png"), full_page=True)
    saved = json.loads((root / "live_demo.axnb.json").read_text())["trials"]
    assert len(saved) == 10 and all(t["status"] == "completed" for t in saved)
    print(f"live_dashboard in the browser: {time.monotonic() - start:.1f} s")
