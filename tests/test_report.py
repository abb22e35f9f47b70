"""exp.report() and `axnb report`: one offline HTML file with every analysis and the trials."""

import math
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import axnb

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def quick_fits():
    """Small fit budget (see tests/test_analysis.py)."""
    import axnb.engine.models as models

    saved = models.FIT_MAXITER
    models.FIT_MAXITER = 50
    yield
    models.FIT_MAXITER = saved


class Page(HTMLParser):
    """Collects what the offline checks need: scripts, external references, tables."""

    def __init__(self):
        super().__init__()
        self.scripts = []  # (attrs, text)
        self.refs = []  # (tag, attr, value) for src / href
        self.tables = []  # list of rows of cell texts
        self.errors = []
        self._script = None
        self._cell = None
        self._error = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if key in attrs:
                self.refs.append((tag, key, attrs[key]))
        if tag == "script":
            self._script = (attrs, [])
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        if "axnb-error" in (attrs.get("class") or ""):
            self._error = True

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None
        elif tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "p":
            self._error = False

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._error:
            self.errors.append(data)


def parse(path):
    page = Page()
    page.feed(Path(path).read_text(encoding="utf-8"))
    return page


def check_offline(page):
    bundles = [text for _, text in page.scripts if "plotly.js v" in text[:2000]]
    assert len(bundles) == 1, "plotly.js must be inlined exactly once"
    assert not [s for s in page.scripts if "src" in s[0]], "no external scripts"
    external = [r for r in page.refs if r[2].startswith(("http://", "https://", "//"))]
    assert external == []
    assert all(r[2].startswith("#") for r in page.refs)  # only in-page links
    assert page.errors == []


def trials_table(page):
    return next(t for t in page.tables if t and t[0][:3] == ["index", "status", "source"])


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    exp = axnb.Experiment(
        "small",
        [axnb.Range("x", -2.0, 2.0), axnb.Range("lr", 1e-3, 1.0, log=True), axnb.Int("k", 1, 4),
         axnb.Choice("opt", ["adam", "sgd"], ordered=True)],
        objective="loss", path=folder, seed=1,
    )
    for i in range(8):
        p = {"x": -2 + 4 * ((i * 0.37) % 1), "lr": 10 ** (-3 + 3 * ((i * 0.61) % 1)),
             "k": 1 + i % 4, "opt": ["adam", "sgd"][i % 2]}
        exp.attach(p, result=(p["x"] - 0.5) ** 2 + 0.1 * math.log10(p["lr"]) ** 2 + 0.1 * p["k"])
    exp.fail(exp.attach({"x": 0.0, "lr": 0.1, "k": 1, "opt": "sgd"}).index,
             reason="Traceback (most recent call last):\nValueError: <diverged> & NaN")
    return exp


def test_report_is_one_offline_file_with_everything(small, tmp_path):
    out = small.report(tmp_path / "sub" / "report.html")
    assert out == (tmp_path / "sub" / "report.html").resolve() and out.exists()
    page = parse(out)
    check_offline(page)
    text = out.read_text(encoding="utf-8")
    for section in ("summary", "best", "contour", "slices", "progress", "parallel",
                    "cross-validation", "importance", "trials"):
        assert f'id="{section}"' in text, section
    assert 'id="pareto"' not in text  # one objective
    # one figure per analysis: contour, 4 slices, progress, parallel, CV, importance
    assert text.count('class="plotly-graph-div"') == 9
    table = trials_table(page)
    assert len(table) == 1 + len(small.trials)
    assert table[9][1] == "failed"
    reason = table[9][table[0].index("reason")]
    assert "ValueError: <diverged> & NaN" in reason  # escaped in the file, intact as text
    best_params, _ = small.best()
    assert f"{best_params['x']:.6g}" in text


def test_report_of_several_objectives_and_of_an_empty_experiment(tmp_path):
    mo = axnb.Experiment("mo", [axnb.Range("x", 0, 1), axnb.Range("y", 0, 1)],
                         objectives={"a": "min", "b": "min"}, outcome_constraints=["a <= 0.9"],
                         path=tmp_path)
    for x, y in [(0.1, 0.2), (0.5, 0.5), (0.9, 0.1), (0.3, 0.8)]:
        mo.attach({"x": x, "y": y}, result={"a": x, "b": 1 - x + y})
    page = parse(mo.report(tmp_path / "mo.html"))
    check_offline(page)
    text = (tmp_path / "mo.html").read_text()
    assert 'id="pareto"' in text and "Pareto front" in text
    front = next(t for t in page.tables if t and t[0] == ["x", "y", "a", "b"])
    assert len(front) == 1 + len(mo.pareto())

    empty = axnb.Experiment("empty", [axnb.Range("x", 0, 1)], objective="y", path=tmp_path)
    page = parse(empty.report(tmp_path / "empty.html"))
    check_offline(page)
    assert "No completed trial yet" in (tmp_path / "empty.html").read_text()


def run_cli(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "axnb.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_report_end_to_end(tmp_path):
    exp = axnb.Experiment("booth", [axnb.Range("x1", -10, 10), axnb.Range("x2", -10, 10)],
                          objective="loss", path=tmp_path)
    for x1, x2 in [(1, 3), (0, 0), (-5, 5)]:
        exp.attach({"x1": x1, "x2": x2},
                   result=(x1 + 2 * x2 - 7) ** 2 + (2 * x1 + x2 - 5) ** 2)
    done = run_cli("report", exp.path.name, "-o", "out/report.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out" / "report.html"
    assert str(out) in done.stdout
    page = parse(out)
    check_offline(page)
    assert len(trials_table(page)) == 4


@pytest.fixture
def in_progress(tmp_path):
    """An experiment as during a background run: completed, running and abandoned trials."""
    exp = axnb.Experiment("live", [axnb.Range("x", 0, 1), axnb.Range("y", 0, 1)],
                          objective="loss", path=tmp_path, seed=0)
    for x, y in [(0.1, 0.2), (0.5, 0.5), (0.9, 0.1)]:
        exp.attach({"x": x, "y": y}, result=x + y)
    exp.suggest()
    exp.abandon(exp.suggest().index, reason="interrupted: the loop stopped")
    return exp


def check_missing_times(page):
    table = trials_table(page)
    head, rows = table[0], {row[1]: row for row in table[1:]}
    assert set(rows) == {"completed", "running", "abandoned"}
    assert rows["running"][head.index("completed_at")] == "—"
    assert rows["abandoned"][head.index("completed_at")] == "—"
    assert rows["running"][head.index("loss")] == "—"
    assert rows["completed"][head.index("completed_at")][:2] == "20"  # a real time


def test_report_shows_missing_times_of_running_and_abandoned_trials(in_progress, tmp_path):
    page = parse(in_progress.report(tmp_path / "live.html"))
    check_offline(page)
    check_missing_times(page)


def test_cli_report_of_an_experiment_with_running_and_abandoned_trials(in_progress, tmp_path):
    done = run_cli("report", in_progress.path.name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = parse(tmp_path / "live.html")
    check_offline(page)
    check_missing_times(page)


def test_cli_output_defaults_to_the_experiment_name(tmp_path):
    from axnb.cli import main

    exp = axnb.Experiment("booth", [axnb.Range("x1", -10, 10)], objective="loss", path=tmp_path)
    assert main(["report", str(exp.path)]) == 0
    assert (tmp_path / "booth.html").exists()


def test_cli_errors_exit_1_with_a_clear_message(tmp_path):
    missing = run_cli("report", "nope.axnb.json", cwd=tmp_path)
    assert missing.returncode == 1 and "no experiment file at nope.axnb.json" in missing.stderr
    assert "Traceback" not in missing.stderr
    (tmp_path / "bad.axnb.json").write_text('{"format": ', encoding="utf-8")
    corrupt = run_cli("report", "bad.axnb.json", cwd=tmp_path)
    assert corrupt.returncode == 1 and "invalid JSON" in corrupt.stderr
    assert "Traceback" not in corrupt.stderr
    usage = run_cli("report", cwd=tmp_path)
    assert usage.returncode == 1 and "required" in usage.stderr
    assert run_cli(cwd=tmp_path).returncode == 1


def test_console_script_entry_point_is_main():
    from axnb.cli import main

    assert main(["report", "/nonexistent/x.axnb.json"]) == 1
