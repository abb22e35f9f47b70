"""The dashboard and the report at scale (issue 20): progress and parallel figures draw a
capped subsample with a note, the trials table is paginated, the report's trials table is
capped; small experiments are drawn exactly as before.

Benchmark (before/after numbers of the issue): ``python tests/test_scale_ui.py [n ...]``;
with ``--uncapped`` every cap is lifted (the figures, tables and report as before).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import axnb
from axnb.analysis import compute_parallel, compute_progress, draw_progress


# --------------------------------------------------------------------- a big experiment
def big_experiment(folder: Path, n: int, name: str = "scale", seed: int = 0) -> axnb.Experiment:
    """An experiment of ``n`` trials written in one go (as ``bench/micro.py`` does): 6 float
    parameters, objective ``loss`` (minimized), about 2% failed with a traceback, 0.5%
    excluded, the last 3 running."""
    from axnb import storage
    from axnb.trial import COMPLETED, FAILED, RUNNING, Trial, now

    exp = axnb.Experiment(name, [axnb.Range(f"x{i}", 0.0, 1.0) for i in range(6)],
                          objective="loss", path=folder, seed=seed, overwrite=True)
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 6))
    y = ((x - 0.3) ** 2).sum(axis=1) + 0.1 * rng.normal(size=n)
    stamp = now()
    records = []
    for i in range(n):
        params = {f"x{j}": float(x[i, j]) for j in range(6)}
        if i >= n - 3:
            t = Trial(index=i, parameters=params, status=RUNNING, source="manual",
                      created_at=stamp)
        elif i % 50 == 7:
            t = Trial(index=i, parameters=params, status=FAILED, source="manual",
                      created_at=stamp, completed_at=stamp,
                      reason=f"Traceback (most recent call last):\nValueError: diverged {i}")
        else:
            t = Trial(index=i, parameters=params, status=COMPLETED, source="manual",
                      result={"loss": (float(y[i]), None)}, created_at=stamp,
                      completed_at=stamp)
        record = t.to_dict()
        if i % 200 == 11 and t.status == COMPLETED:
            record["excluded"] = True
        records.append(record)
    storage.write_atomic(exp.path, storage.dumps({
        "revision": 1, "saved_at": stamp.isoformat(), "uid": storage.new_uid(),
        "config": exp.config(), "trials": records}))
    return axnb.load(exp.path)


def _no_model(monkeypatch=None):
    """Replace the model figures (contour, slice, cross-validation, importance: another
    part of issue 20) by quick messages; returns an undo function."""
    import axnb.analysis as A
    from axnb.widgets.dashboard import DashboardCore, message_figure

    def fail(*args, **kwargs):
        raise RuntimeError("model figures left out of this benchmark")

    saved = []
    targets = [(DashboardCore, "_contour", lambda self, trials: message_figure("-", "contour")),
               (DashboardCore, "_slice", lambda self, trials: message_figure("-", "slice"))]
    targets += [(A, f, fail) for f in ("compute_contour", "compute_slice",
                                       "compute_cross_validation", "compute_importance")]
    for obj, attr, new in targets:
        if monkeypatch is not None:
            monkeypatch.setattr(obj, attr, new)
        else:
            saved.append((obj, attr, getattr(obj, attr)))
            setattr(obj, attr, new)

    def undo():
        for obj, attr, old in saved:
            setattr(obj, attr, old)

    return undo


# --------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """630 trials: 610 completed, 13 failed, 4 excluded, 3 running."""
    return big_experiment(tmp_path_factory.mktemp("scale"), 630)


@pytest.fixture
def no_model(monkeypatch):
    _no_model(monkeypatch)


def completed(exp):
    return [t for t in exp.trials if t.is_completed and not t.excluded]


def best_trial(exp):
    return min(completed(exp), key=lambda t: t.result["loss"][0])


def step_value(xs, ys, i):
    """The value of the step line (shape hv) through ``xs, ys`` at ``i``."""
    k = np.searchsorted(xs, i, side="right") - 1
    return ys[k]


def drawn_note(fig):
    """The progress figure's note on what it draws ("" without one)."""
    return next((a.text for a in fig.layout.annotations if a.name == "drawn"), "")


def test_progress_draws_a_capped_subsample_and_says_so(many, monkeypatch):
    from axnb.analysis import progress

    monkeypatch.setattr(progress, "MAX_POINTS", 100)
    fig = many.plot.progress()
    rec = compute_progress(many)
    n_done = len(completed(many))
    assert len(rec.index) == n_done  # the record keeps every trial
    drawn = list(fig.data[0].x) + list(fig.data[1].x)
    assert len(drawn) <= 100 and len(set(drawn)) == len(drawn)
    assert drawn_note(fig) == \
        f"showing {len(drawn)} of {n_done} completed trials (every new best kept)"
    assert fig.layout.margin.b == 55 + progress.DRAWN_ROW_PX
    # every trial that set a new best is drawn, the latest one, the lowest and the highest
    news = [int(i) for k, i in enumerate(rec.best_index)
            if k == 0 or rec.best_values[k] != rec.best_values[k - 1]]
    assert set(news) <= set(drawn)
    assert best_trial(many).index in drawn
    assert int(rec.index[-1]) in drawn
    assert int(rec.index[np.argmax(rec.values)]) in drawn
    # the best-so-far line is exact: its corners draw the same steps at every trial
    xs, ys = np.array(fig.data[2].x), np.array(fig.data[2].y)
    assert len(xs) < len(rec.best_index)
    for i, v in zip(rec.best_index, rec.best_values):
        assert step_value(xs, ys, i) == v
    assert xs[-1] == rec.best_index[-1]
    # failed (12) and excluded (3) trials are all drawn: fewer than the cap
    assert len(fig.data[3].x) == len(rec.failed_index) == 13
    assert len(fig.data[4].x) == rec.excluded.n == 4
    # the same trials, the same markers
    assert list(many.plot.progress().data[0].x) == list(fig.data[0].x)
    # max_points=None draws everything
    assert len(draw_progress(compute_progress(many, max_points=None)).data[0].x) == \
        int(rec.feasible.sum())


def test_progress_caps_failed_and_excluded_markers_too(many, monkeypatch):
    from axnb.analysis import progress

    monkeypatch.setattr(progress, "MAX_POINTS", 5)
    fig = many.plot.progress()
    assert len(fig.data[0].x) + len(fig.data[1].x) <= 5
    assert len(fig.data[3].x) == 5 and drawn_note(fig).endswith("; 5 of 13 failed")
    assert len(fig.data[4].x) == 4  # 4 excluded: fewer than the cap, all drawn
    assert len(fig.data) == 6  # the documented trace layout


def test_a_small_progress_figure_is_drawn_as_before(many):
    rec = compute_progress(many)  # 610 completed, below MAX_POINTS
    assert rec.shown is None
    fig = draw_progress(rec)
    assert list(fig.data[0].x) == rec.index[rec.feasible].tolist()
    assert list(fig.data[2].x) == rec.best_index.tolist()  # every point of the line
    assert drawn_note(fig) == "" and fig.layout.margin.b == 55


def test_parallel_draws_the_best_lines_and_an_even_sample(many, monkeypatch):
    from axnb.analysis import parallel

    monkeypatch.setattr(parallel, "MAX_LINES", 100)
    fig = many.plot.parallel()
    rec = compute_parallel(many)
    trace = fig.data[0]
    assert len(trace.line.color) == 100
    assert all(len(d["values"]) == 100 for d in trace.dimensions)
    n_done = len(rec.trial_index)
    assert f"showing 100 of {n_done} trials (the 25 best and an even sample of the rest)" \
        in fig.layout.title.text
    shown = rec.trial_index[rec.shown]
    ranked = sorted(completed(many), key=lambda t: t.result["loss"][0])
    assert {t.index for t in ranked[:25]} <= set(shown.tolist())  # the 25 best
    assert ranked[-1].index in shown  # the worst too: the even sample spans the range
    loss = next(d for d in trace.dimensions if d["label"] == "loss")
    assert tuple(loss["range"]) == rec.dimensions[-1].range  # ranges span every trial
    assert compute_parallel(many, max_lines=None).shown is None
    assert parallel.compute_parallel(many).shown is not None


def test_a_small_parallel_figure_is_drawn_as_before(many):
    rec = compute_parallel(many)
    assert rec.shown is None
    fig = many.plot.parallel()
    assert len(fig.data[0].line.color) == len(rec.trial_index)
    assert "showing" not in fig.layout.title.text


def table_indexes(dash):
    return [int(i) for i in dash.figures["trials"].data[0].cells.values[0]]


def test_the_trials_tab_is_paginated_and_reaches_every_row(many, no_model):
    dash = many.dashboard()
    try:
        assert dash.page_size.value == 200
        # page 1: the latest 200 trials (index, descending)
        assert table_indexes(dash) == list(range(629, 429, -1))
        title = dash.figures["trials"].layout.title.text
        assert "630 trials" in title and "rows 1–200 of 630 (page 1 of 4)" in title
        assert dash.page_label.value == "rows 1–200 of 630"
        assert dash.page.max == 4 and dash.page_prev.disabled and not dash.page_next.disabled
        dash.page_next.click()
        assert dash.page.value == 2 and table_indexes(dash) == list(range(429, 229, -1))
        dash.page.value = 4
        assert table_indexes(dash) == list(range(29, -1, -1)) and dash.page_next.disabled
        assert dash.page_label.value == "rows 601–630 of 630"
        # a new page size goes back to page 1; the pages hold every row once
        dash.page_size.value = 50
        assert dash.page.value == 1 and dash.page.max == 13
        seen = table_indexes(dash)
        while not dash.page_next.disabled:
            dash.page_next.click()
            seen += table_indexes(dash)
        assert sorted(seen) == list(range(630)) and len(seen) == 630
        # sorted by the objective, ascending: the best trial first (back on page 1)
        dash.sort_by.value = "loss"
        dash.descending.value = False
        assert dash.page.value == 1
        assert table_indexes(dash)[0] == best_trial(many).index
        assert len(dash.table_rows()) == 630  # the rows themselves are all there
        assert len(dash.figures["trials"].data[0].cells.values[0]) == 50
    finally:
        dash.close()


def test_a_small_trials_table_has_one_page(tmp_path, no_model):
    exp = big_experiment(tmp_path, 30)
    dash = exp.dashboard()
    try:
        assert len(table_indexes(dash)) == 30
        assert dash.figures["trials"].layout.title.text.startswith("30 trials")
        assert "rows" not in dash.figures["trials"].layout.title.text
        assert dash.page.max == 1 and dash.page.disabled
        assert dash.page_prev.disabled and dash.page_next.disabled
    finally:
        dash.close()


def static_rows(html):
    return html.count("<tr style=") - 1  # the header's row too


def test_the_static_trials_table_is_paginated_too(many, no_model, monkeypatch):
    monkeypatch.setattr(axnb.settings, "display", "static")
    dash = many.dashboard()
    try:
        from axnb.widgets.static import StaticDashboard

        assert isinstance(dash, StaticDashboard)
        html = dash.table_html()
        assert static_rows(html) == 200 and "rows 1–200 of 630" in html
        dash.page.value = 4
        dash.refresh()
        html = dash.table_html()
        assert static_rows(html) == 30 and "rows 601–630 of 630" in html
        dash.page.value = 99  # beyond the last page: the last one
        dash.refresh()
        assert dash.page.value == 4 and static_rows(dash.table_html()) == 30
    finally:
        dash.close()


def report_table(text):
    from html.parser import HTMLParser

    rows = []

    class Table(HTMLParser):
        inside = False

        def handle_starttag(self, tag, attrs):
            if tag == "table" and ("class", "trials") in attrs:
                self.inside = True
            elif tag == "tr" and self.inside:
                rows.append([])
            elif tag == "td" and self.inside:
                self.cell = []

        def handle_endtag(self, tag):
            if tag == "table":
                self.inside = False
            elif tag == "td" and self.inside:
                rows[-1].append("".join(self.cell))

        def handle_data(self, data):
            if self.inside and hasattr(self, "cell"):
                self.cell.append(data)

    Table().feed(text)
    return [r for r in rows if r]  # the header row has no <td>


def test_the_report_caps_its_trials_table_and_says_so(many, no_model, monkeypatch, tmp_path):
    from axnb import report
    from axnb.analysis import parallel, progress

    monkeypatch.setattr(report, "MAX_TABLE_ROWS", 50)
    monkeypatch.setattr(progress, "MAX_POINTS", 100)
    monkeypatch.setattr(parallel, "MAX_LINES", 100)
    text = many.report(tmp_path / "r.html").read_text(encoding="utf-8")
    rows = report_table(text)
    indexes = [int(r[0]) for r in rows]
    assert len(rows) == 50 and indexes == sorted(indexes)
    assert indexes[-25:] == list(range(605, 630))  # the most recent 25
    ranked = sorted(completed(many), key=lambda t: t.result["loss"][0])
    assert {t.index for t in ranked[:25]} <= set(indexes)  # and the 25 best
    assert ("Showing 50 of 630 trials: the 25 most recent and the 25 best by loss, in trial "
            "order.") in text
    assert "showing 100 of 610 completed trials" in text  # the progress figure's note
    assert "showing 100 of 610 trials" in text  # the parallel figure's


def test_a_small_report_table_lists_every_trial(tmp_path, no_model):
    exp = big_experiment(tmp_path, 40)
    text = exp.report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert [int(r[0]) for r in report_table(text)] == list(range(40))
    assert "Showing" not in text


def test_ten_thousand_trials(tmp_path, no_model):
    """The defaults at 10,000 trials: capped figures, one page, a capped report table."""
    exp = big_experiment(tmp_path, 10_000)
    best = best_trial(exp)
    fig = exp.plot.progress()
    drawn = list(fig.data[0].x) + list(fig.data[1].x)
    assert len(drawn) <= 2_000 and best.index in drawn
    assert drawn_note(fig) == "showing 2,000 of 9,747 completed trials (every new best kept)"
    fig = exp.plot.parallel()
    assert len(fig.data[0].line.color) == 2_000
    dash = exp.dashboard()
    try:
        assert len(table_indexes(dash)) == 200 and table_indexes(dash)[0] == 9_999
        assert "rows 1–200 of 10,000 (page 1 of 50)" in dash.figures["trials"].layout.title.text
        dash.page.value = 50
        assert table_indexes(dash)[-1] == 0
    finally:
        dash.close()
    text = exp.report(tmp_path / "r.html").read_text(encoding="utf-8")
    rows = report_table(text)
    assert len(rows) == 1_000 and str(best.index) in {r[0] for r in rows}
    assert "Showing 1,000 of 10,000 trials" in text


# --------------------------------------------------------------------- benchmark
def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def bench_at(folder: Path, n: int) -> dict:
    """Time (s) and size (kB) of what the progress and parallel figures, the live and the
    static dashboard and the report compute and send, at ``n`` trials (model figures left
    out: ``_no_model``)."""
    from axnb import report
    from axnb.analysis import draw_parallel
    from axnb.widgets.dashboard import Dashboard
    from axnb.widgets.static import StaticDashboard

    exp, t_build = _timed(lambda: big_experiment(folder, n))
    trials = exp.trials
    row: dict = {"n": n, "build_s": t_build}
    fig, t = _timed(lambda: draw_progress(compute_progress(exp, trials=trials)))
    row["progress_s"], row["progress_kb"] = t, len(fig.to_json()) / 1e3
    fig, t = _timed(lambda: draw_parallel(compute_parallel(exp, trials=trials)))
    row["parallel_s"], row["parallel_kb"] = t, len(fig.to_json()) / 1e3
    dash, t = _timed(lambda: Dashboard(exp, interval=3600))
    dash._refresher.wait_idle(600)
    row["dash_init_s"] = t
    _, row["dash_trials_s"] = _timed(lambda: dash._update(["trials"]))
    row["dash_trials_kb"] = len(json.dumps(dash.views["trials"].figure)) / 1e3
    _, row["dash_progress_s"] = _timed(lambda: dash._update(["progress"]))
    row["dash_progress_kb"] = len(json.dumps(dash.views["progress"].figure)) / 1e3
    row["dash_state_kb"] = sum(len(json.dumps(v.figure)) for v in dash.views.values()) / 1e3
    _, row["dash_refresh_s"] = _timed(dash.refresh)
    dash.close()
    static = StaticDashboard(exp, interval=3600)
    static.wait_idle(600)
    _, row["static_refresh_s"] = _timed(static.refresh)
    row["static_trials_kb"] = len(static.table_html()) / 1e3
    row["static_kb"] = sum(len(static._bundle(o, static._content.get(o, ""))["text/html"])
                           for o in static._outputs) / 1e3
    static.close()
    text, row["report_s"] = _timed(lambda: report.build_report(exp))
    row["report_kb"] = len(text.encode()) / 1e3
    row["report_trials_kb"] = len(report._trials_table(exp).encode()) / 1e3
    return row


def bench(ns=(200, 1_000, 10_000)) -> list[dict]:
    """``bench_at`` each ``n``, printed as JSON lines."""
    import tempfile

    undo = _no_model()
    rows = []
    try:
        for n in ns:
            with tempfile.TemporaryDirectory() as folder:
                row = bench_at(Path(folder), n)
            rows.append(row)
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                              for k, v in row.items()}), flush=True)
    finally:
        undo()
    return rows


def uncapped() -> None:
    """Lift every cap (what the figures, tables and report sent before issue 20)."""
    from axnb import report
    from axnb.analysis import parallel, progress
    from axnb.widgets import dashboard

    progress.MAX_POINTS = parallel.MAX_LINES = report.MAX_TABLE_ROWS = None
    dashboard.PAGE_SIZE = 10**9


if __name__ == "__main__":
    if "--uncapped" in sys.argv:
        uncapped()
    bench(tuple(int(a) for a in sys.argv[1:] if a != "--uncapped") or (200, 1_000, 10_000))
