"""A standalone HTML report of an experiment: summary, best point, every analysis, all trials.

    exp.report("report.html")                      # from Python
    $ axnb report booth.axnb.json -o report.html   # from a shell, no Jupyter needed

One self-contained file: plotly.js is inlined once in ``<head>`` and every figure is a
``<div>`` plus a small script calling it; there are no network references (no CDN, no MathJax,
no web fonts), so the file opens offline and can be mailed or archived. The analyses are the
ones of ``exp.plot`` (same compute and draw functions): importance, a contour over the two most
important parameters, a slice per parameter (the most important first, at most
``MAX_SLICES``), progress, parallel coordinates, the Pareto front (several objectives) and
leave-one-out cross-validation; an experiment with bandit rounds (``exp.suggest_arms``) also
gets the arms figure first (estimates by arm, the best arm and the next round's traffic). An
analysis that fails is replaced by its error message; the report itself is always written for
a valid experiment.

Many trials (issue 20): the file stays small and quick to open. The progress and parallel
coordinates figures draw a capped subsample and say so (``axnb.analysis.progress.MAX_POINTS``,
``axnb.analysis.parallel.MAX_LINES``: 2,000 each, the best-so-far line exact), and the trials
table lists at most ``MAX_TABLE_ROWS`` (1,000) rows: above that, the most recent half and the
best trials by the first objective (completed, feasible, not excluded) to fill the other
half, in trial order, under a note ("Showing 1,000 of 10,000 trials: ..."); every trial is in
the experiment file (``exp.to_dataframe()``).
"""

from __future__ import annotations

import html
import math
import os
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.experiment import Experiment

#: Slices drawn in the report (the most important parameters first).
MAX_SLICES = 8
#: Longest failure reason shown in the trials table (the end of a traceback is kept).
MAX_REASON = 400
#: What a cell shows for a missing value (a running trial's end time, a missing result).
MISSING = "—"
#: Most rows of the trials table (see module doc); None: every trial.
MAX_TABLE_ROWS: int | None = 1_000

_CSS = """
body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial,
       sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem 2rem 4rem; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem;
margin-top: 2.5rem; } .meta { color: #666; font-size: 0.9rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f5f9; } tr:nth-child(even) td { background: #fafafa; }
.scroll { overflow-x: auto; } .figure { margin: 1rem 0; }
.axnb-error { color: #a00; background: #fff3f3; border: 1px solid #e99; padding: 0.5rem; }
td.reason { max-width: 28rem; white-space: pre-wrap; font-family: monospace;
            font-size: 0.75rem; }
nav a { margin-right: 1rem; }
"""


def write_report(exp: Experiment, path: str | os.PathLike[str] = "report.html") -> Path:
    """Write the report of ``exp`` to ``path`` (see module doc) and return its absolute path."""
    out = Path(path).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    text = build_report(exp)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out


def build_report(exp: Experiment) -> str:
    """The report as one HTML string."""
    from plotly.offline import get_plotlyjs

    import axnb

    trials = exp.trials
    sections: list[tuple[str, str, str]] = []  # (anchor, title, body html)
    sections.append(("summary", "Summary", _summary(exp, trials)))
    sections.append(("best", "Best point" if not exp.is_multi_objective
                     else "Pareto-optimal trials", _best(exp, trials)))
    for anchor, title, body in _analyses(exp, trials):
        sections.append((anchor, title, body))
    sections.append(("trials", "Trials", _trials_table(exp)))

    nav = " ".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, _ in sections)
    body = "\n".join(
        f'<section id="{a}"><h2>{html.escape(t)}</h2>\n{b}\n</section>' for a, t, b in sections
    )
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>axnb report: {html.escape(exp.name)}</title>\n"
        f"<style>{_CSS}</style>\n"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script>\n"
        "</head>\n<body>\n"
        f"<h1>{html.escape(exp.name)}</h1>\n"
        f"<p class=\"meta\">axnb {html.escape(axnb.__version__)} report of "
        f"{html.escape(str(exp.path))}, written {html.escape(when)}.</p>\n"
        f"<nav>{nav}</nav>\n{body}\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------- sections
def _summary(exp: Experiment, trials: list) -> str:
    from axnb.space import Choice, Fixed

    counts: dict[str, int] = {}
    for t in trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    objs = ", ".join(f"{o.metric} ({'minimize' if o.minimize else 'maximize'})"
                     for o in exp.objectives)
    rows = [
        ("Trials", f"{len(trials)} ("
         + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ")" if trials else "0"),
        ("Objective" + ("s" if exp.is_multi_objective else ""), objs),
    ]
    if exp.outcome_constraints:
        rows.append(("Outcome constraints",
                     ", ".join(c.text for c in exp.outcome_constraints)))
    if exp.space.constraints:
        rows.append(("Parameter constraints", ", ".join(c.text for c in exp.space.constraints)))
    rows.append(("Seed", str(exp.seed)))
    out = [_kv_table(rows), "<h3>Parameters</h3>"]
    prows = []
    for p in exp.space.parameters:
        if isinstance(p, Choice):
            what = f"choice{' (ordered)' if p.ordered else ''}: " + ", ".join(
                map(str, p.values))
        elif isinstance(p, Fixed):
            what = f"fixed at {p.value!r}"
        else:
            kind = "integer" if p.kind == "int" else "float"
            what = f"{kind} in [{p.low:g}, {p.high:g}]" + (" (log scale)" if p.log else "")
        prows.append((p.name, what))
    out.append(_kv_table(prows, header=("parameter", "domain")))
    return "\n".join(out)


def _best(exp: Experiment, trials: list) -> str:
    if not any(t.is_completed for t in trials):
        return "<p>No completed trial yet.</p>"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if exp.is_multi_objective:
                front = exp.pareto()
                if not front:
                    return "<p>No trial satisfies the outcome constraints yet.</p>"
                names = exp.space.names
                metrics = list(front[0][1])
                head = "".join(f"<th>{html.escape(n)}</th>" for n in names + metrics)
                body = "".join(
                    "<tr>" + "".join(f"<td>{_cell(p[n])}</td>" for n in names)
                    + "".join(f"<td>{_mean_sem(v[m])}</td>" for m in metrics) + "</tr>"
                    for p, v in front
                )
                return (f"<p>{len(front)} non-dominated feasible trial(s).</p>"
                        f"<div class=\"scroll\"><table><tr>{head}</tr>{body}</table></div>")
            params, values = exp.best()
    except Exception as e:
        return _error("best point", e)
    rows = [(k, _cell(v)) for k, v in params.items()]
    rows += [(m, _mean_sem(v)) for m, v in values.items()]
    return _kv_table(rows, header=("", "value"), escape_values=False)


def _analyses(exp: Experiment, trials: list) -> list[tuple[str, str, str]]:
    from axnb import analysis as A

    out: list[tuple[str, str, str]] = []
    metric = exp.objectives[0].metric
    if any(t.batch is not None for t in trials):
        out.append(("arms", "Bandit arms", _figure(
            "arms", lambda: A.compute_arms(exp, trials=trials), A.draw_arms)[1]))
    model_metrics = [o.metric for o in exp.objectives]

    order = [p.name for p in exp.space.tunable]
    imp_html = []
    for m in model_metrics:
        rec, html_ = _figure(f"importance of {m}",
                             lambda m=m: A.compute_importance(exp, m, trials=trials),
                             A.draw_importance)
        imp_html.append(html_)
        if m == metric and rec is not None and rec.note is None:
            order = list(rec.names)

    if len(order) >= 2:
        _, h = _figure("contour", lambda: A.compute_contour(
            exp, order[0], order[1], metric, trials=trials, grid=40), A.draw_contour)
        out.append(("contour", f"Contour: {order[0]} and {order[1]}", h))
    slices = [
        _figure(f"slice of {p}",
                lambda p=p: A.compute_slice(exp, p, metric, trials=trials, grid=60),
                A.draw_slice)[1]
        for p in order[:MAX_SLICES]
    ]
    more = len(order) - MAX_SLICES
    if more > 0:
        slices.append(f"<p>{more} less important parameter(s) not shown.</p>")
    out.append(("slices", "Slices", "\n".join(slices)))
    out.append(("progress", "Progress", "\n".join(
        _figure(f"progress of {m}", lambda m=m: A.compute_progress(exp, m, trials=trials),
                A.draw_progress)[1]
        for m in model_metrics
    )))
    out.append(("parallel", "Parallel coordinates", _figure(
        "parallel coordinates", lambda: A.compute_parallel(exp, trials=trials),
        A.draw_parallel)[1]))
    if exp.is_multi_objective:
        out.append(("pareto", "Pareto front", _figure(
            "Pareto front", lambda: A.compute_pareto(exp, trials=trials), A.draw_pareto)[1]))
    out.append(("cross-validation", "Cross-validation", "\n".join(
        _figure(f"cross-validation of {m}",
                lambda m=m: A.compute_cross_validation(exp, m, trials=trials),
                A.draw_cross_validation)[1]
        for m in model_metrics
    )))
    out.append(("importance", "Parameter importance", "\n".join(imp_html)))
    return out


def _figure(
    what: str, compute: Callable[[], Any], draw: Callable[[Any], go.Figure]
) -> tuple[Any, str]:
    """``(record, html)`` of one analysis; an error message instead if it fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = compute()
            fig = draw(rec)
    except Exception as e:  # one broken analysis must not lose the whole report
        return None, _error(what, e)
    div = fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False,
                      config={"displaylogo": False, "responsive": True})
    return rec, f'<div class="figure">{div}</div>'


def _trials_table(exp: Experiment) -> str:
    frame = exp.to_dataframe()
    if frame.empty:
        return "<p>No trials yet.</p>"
    empty_sems = [c for c in frame.columns if c.endswith("_sem") and frame[c].isna().all()]
    cols = [c for c in frame.columns if c != "created_at" and c not in empty_sems]
    note = ""
    if MAX_TABLE_ROWS is not None and len(frame) > MAX_TABLE_ROWS:
        keep, n_best = _table_rows(exp, MAX_TABLE_ROWS)
        metric = exp.objectives[0].metric
        best = (f" and the {n_best:,} best by {html.escape(metric)}" if n_best else "")
        note = (f'<p class="meta trials-note">Showing {len(keep):,} of {len(frame):,} trials: '
                f"the {len(keep) - n_best:,} most recent{best}, in trial order. Every trial is "
                f"in the experiment file (<code>exp.to_dataframe()</code>).</p>\n")
        frame = frame.iloc[keep]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    rows = []
    for rec in frame[cols].to_dict("records"):
        cells = []
        for c in cols:
            v = rec[c]
            if c == "reason":
                text = "" if _is_missing(v) else str(v)
                if len(text) > MAX_REASON:
                    text = "…" + text[-MAX_REASON:]
                cells.append(f'<td class="reason">{html.escape(text)}</td>')
            else:
                cells.append(f"<td>{_cell(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'{note}<div class="scroll"><table class="trials"><tr>{head}</tr>\n'
            + "\n".join(rows) + "</table></div>")


def _table_rows(exp: Experiment, limit: int) -> tuple[list[int], int]:
    """Positions (in ``exp.trials`` and its data frame) of the rows kept: the most recent
    ``limit - limit // 2`` trials and the best ones by the first objective (completed,
    feasible, not excluded nor outside the space) not among them, ``limit`` in all; and how
    many of those best ones there are."""
    from axnb.analysis._common import feasible, with_metric

    trials = exp.trials
    recent = set(range(max(len(trials) - (limit - limit // 2), 0), len(trials)))
    objective = exp.objectives[0]
    position = {t.index: k for k, t in enumerate(trials)}
    ranked = sorted((t for t in with_metric(trials, objective.metric)
                     if feasible(exp, t.result)),
                    key=lambda t: t.result[objective.metric][0],  # type: ignore[index]
                    reverse=not objective.minimize)
    best = []
    for t in ranked:
        if len(recent) + len(best) >= limit:
            break
        if position[t.index] not in recent:
            best.append(position[t.index])
    return sorted(recent | set(best)), len(best)


# --------------------------------------------------------------------- small helpers
def _is_missing(v: Any) -> bool:
    """True for a missing value: None, NaN, pandas' NaT (a running trial's end time) or NA."""
    import pandas as pd

    if v is None or v is pd.NaT or v is pd.NA:
        return True
    return isinstance(v, float) and math.isnan(v)


def _cell(v: Any) -> str:
    if _is_missing(v):
        return MISSING
    if isinstance(v, float):
        return f"{v:.6g}"
    if hasattr(v, "strftime"):  # datetime or pandas Timestamp
        return html.escape(v.strftime("%Y-%m-%d %H:%M:%S"))
    return html.escape(str(v))


def _mean_sem(v: tuple[float, float | None]) -> str:
    mean, sem = v
    return f"{mean:.6g}" + ("" if sem is None else f" ± {sem:.3g}")


def _kv_table(
    rows: list[tuple[str, str]], header: tuple[str, str] | None = None,
    escape_values: bool = True,
) -> str:
    head = ("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
            if header else "")
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v) if escape_values else v}</td></tr>"
        for k, v in rows
    )
    return f"<table>{head}{body}</table>"


def _error(what: str, e: Exception) -> str:
    return (f'<p class="axnb-error">Could not draw the {html.escape(what)}: '
            f"{html.escape(type(e).__name__)}: {html.escape(str(e))}</p>")


__all__ = ["build_report", "write_report"]
