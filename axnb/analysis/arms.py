"""Arms: the bandit rounds' estimates of every arm, and the traffic of the next round.

One row per arm (its label is ``axnb.rounds.arm_label``: the values joined by " · "). The
left panel shows each arm's *raw* estimate (its completed results pooled over the rounds that
count, ``axnb.rounds.estimate``) and its *shrunk* (empirical-Bayes, James–Stein) estimate, both
± 1.96 sem; the best arm (``exp.best()``: the best shrunk estimate among the arms meeting the
outcome constraints) is highlighted. The right panel shows the traffic shares of the next
round (what ``exp.suggest_arms(window=window)`` would give, ``axnb.rounds.plan_round``) with
each arm's Thompson probability of being best; while the latest round still has running
arms the next round cannot be planned, so it shows that round's weights instead. Arms of the
latest round without a result yet are listed with their weight and no estimate. Nothing is
suggested or saved.

    >>> rec = compute_arms(ab)                                     # doctest: +SKIP
    >>> rec.parameters[rec.best] == ab.best()[0]                   # doctest: +SKIP
    >>> float(rec.weights.sum())            # 1.0 (next round's shares)   # doctest: +SKIP

Rows are in the order the arms first appeared (stable from round to round); row ``i`` is
drawn at ``y = i`` (top to bottom) with the label as tick text.

Figure layout (stable for every record; the rows may change):

====  =======  ==================================================================  ======
trace type     data                                                                axes
====  =======  ==================================================================  ======
0     Scatter  raw estimates ± 1.96 ``raw_sem`` (hollow grey), slightly above row  x, y
1     Scatter  shrunk estimates ± 1.96 ``shrunk_sem`` of arms meeting the outcome  x, y
               constraints (filled blue), slightly below the row
2     Scatter  shrunk estimates of arms violating an outcome constraint (orange)   x, y
3     Scatter  the best arm's shrunk estimate (red star; 0 or 1 point)             x, y
4     Scatter  text "no result yet" for arms without an estimate                   x, y
5     Bar      horizontal: the traffic ``weights`` shown (``weights_round``), the   x2, y
               text says the share and P(best)
====  =======  ==================================================================  ======

Layout: a pale band behind the best arm's row (a shape), a dotted line at the grand mean the
estimates are shrunk towards (when there is shrinkage) and a dashed line at the bound of an
outcome constraint on the metric shown (shapes); ``note`` (e.g. before the first round) is
an annotation in the middle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from axnb.analysis._common import (
    BLUE,
    GREY,
    ORANGE,
    RED,
    add_note,
    base_layout,
    direction,
    fmt,
    resolve_metric,
)
from axnb.space import Value

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.experiment import Experiment
    from axnb.trial import Trial

#: z of the intervals drawn (a 95% normal interval).
Z95 = 1.96
#: Message of the figure before the first bandit round.
NO_ROUND = "No bandit round yet: call exp.suggest_arms()"


@dataclass(frozen=True, eq=False)
class ArmsRecord:
    """Numbers of an arms plot, one entry per row (arm) in every array and list.

    ``raw``/``raw_sem`` are the arms' results of ``metric`` pooled over ``rounds`` (the
    completed rounds that count for ``window``), ``shrunk``/``shrunk_sem`` their empirical-
    Bayes estimates (equal to the raw ones when ``shrinkage`` is False: fewer than 4 arms),
    ``grand_mean`` the mean of the raw estimates they are shrunk towards; ``successes`` and
    ``units`` the pooled counts of a rate (NaN otherwise), ``n_rounds`` the rounds pooled.
    All are NaN for an arm without an estimate (``estimated`` False). ``prob_best`` is the
    Thompson probability of being the best feasible arm (on the objective) and ``feasible``
    whether the arm's shrunk means meet the outcome constraints. ``best`` is the row of
    ``exp.best()`` (None without an estimate).

    ``weights`` are the traffic shares of round ``weights_round`` (0 for an arm not in it):
    the next round when it can be planned (``weights_next`` True), else the latest round's
    (``weights_note`` says why). ``running`` marks the arms with a running trial in the latest
    round ``latest_round``, which has ``round_arms`` arms, ``round_completed`` of them
    completed and ``round_running`` running. ``bounds`` are the outcome constraints on
    ``metric`` as ``(op, bound)``. ``note`` explains an empty or partial figure.
    """

    metric: str
    minimize: bool | None
    labels: list[str]
    parameters: list[dict[str, Value]]
    estimated: np.ndarray
    raw: np.ndarray
    raw_sem: np.ndarray
    shrunk: np.ndarray
    shrunk_sem: np.ndarray
    successes: np.ndarray
    units: np.ndarray
    n_rounds: np.ndarray
    prob_best: np.ndarray
    feasible: np.ndarray
    weights: np.ndarray
    running: np.ndarray
    best: int | None
    grand_mean: float | None
    shrinkage: bool
    window: int | None
    rounds: list[int]
    latest_round: int | None
    round_arms: int
    round_completed: int
    round_running: int
    weights_round: int | None
    weights_next: bool
    weights_note: str | None
    bounds: list[tuple[str, float]]
    note: str | None

    @property
    def n(self) -> int:
        """Number of rows (arms)."""
        return len(self.labels)


def compute_arms(
    exp: Experiment,
    metric: str | None = None,
    *,
    trials: list[Trial] | None = None,
    window: int | Literal["latest"] | None = "latest",
) -> ArmsRecord:
    """Raw and shrunk estimates of every arm, the best arm and the next round's traffic (see
    module doc).

    ``metric`` is the objective (default) or a metric of an outcome constraint (the weights
    and the best arm are always the objective's). ``window`` chooses the rounds pooled as in
    ``exp.suggest_arms``: ``None`` every completed round, ``k`` the latest ``k``; the default
    ``"latest"`` is the window of the latest round (as ``exp.best()`` does).
    """
    from axnb.engine.bandit import shrink
    from axnb.rounds import (
        arm_key,
        arm_label,
        batches,
        estimate,
        latest_window,
        plan_round,
    )

    trials = exp.trials if trials is None else trials
    metric = resolve_metric(exp, metric, trials)
    arm_metrics = [exp.objective.metric] + [c.metric for c in exp.outcome_constraints]
    if metric not in arm_metrics:
        raise ValueError(
            f"The arms plot shows the objective or a metric of an outcome constraint "
            f"{arm_metrics}, not {metric!r}: the arms are only estimated on those."
        )
    if isinstance(window, str):
        if window != "latest":
            raise ValueError(
                f"window must be None (pool every round), a positive integer (the latest k "
                f"rounds) or 'latest' (the window of the latest round), got {window!r}."
            )
        window = latest_window(exp.rounds)
    elif window is not None and (isinstance(window, bool) or not isinstance(window, int)
                                 or window < 1):
        raise ValueError(
            f"window must be None (pool every round), a positive integer (the latest k "
            f"rounds) or 'latest' (the window of the latest round), got {window!r}."
        )
    names = exp.space.names
    bounds = [(c.op, float(c.bound)) for c in exp.outcome_constraints if c.metric == metric]
    minimize = direction(exp, metric)
    rounds = batches(trials)
    if not rounds:
        return _empty(metric, minimize, window, bounds, NO_ROUND)

    latest, members = next(reversed(rounds.items()))
    running_keys = {arm_key(t.parameters) for t in members if t.is_running}
    round_completed = sum(t.is_completed for t in members)
    round_running = sum(t.is_running for t in members)
    est = estimate(exp, trials, window)
    est_index = {arm_key(a): i for i, a in enumerate(est.arms)}

    # Rows: every arm of every round, in first-seen order (one without a result in the rounds
    # that count has no estimate; the next round brings it back at the minimum weight).
    row_of: dict[Any, int] = {}
    params: list[dict[str, Value]] = []
    for ts in rounds.values():
        for t in ts:
            key = arm_key(t.parameters)
            if key in row_of:
                continue
            row_of[key] = len(params)
            params.append(dict(t.parameters))
    keys = list(row_of)
    k = len(keys)
    nan = np.full(k, np.nan)
    raw, raw_sem, shrunk, shrunk_sem = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    successes, units, n_rounds, prob_best = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    feasible = np.ones(k, dtype=bool)
    rows = [est_index.get(key) for key in keys]
    estimated = np.array([r is not None for r in rows], dtype=bool)
    alloc = est.allocation
    best = grand_mean = None
    if alloc is not None:
        data = est.data[metric]
        if metric == exp.objective.metric:
            mu, sd = alloc.shrunk, alloc.shrunk_sem
        else:
            mu, sd = shrink([a.mean for a in data], [a.sem for a in data])
        ok = np.ones(len(est.arms), dtype=bool)
        for c in exp.outcome_constraints:
            c_data = est.data[c.metric]
            c_mu, _ = shrink([a.mean for a in c_data], [a.sem for a in c_data])
            ok &= (c_mu <= c.bound) if c.op == "<=" else (c_mu >= c.bound)
        for i, r in enumerate(rows):
            if r is None:
                continue
            a = data[r]
            raw[i], raw_sem[i], shrunk[i], shrunk_sem[i] = a.mean, a.sem, mu[r], sd[r]
            if a.units is not None:
                successes[i], units[i] = a.successes, a.units
            n_rounds[i] = a.rounds
            prob_best[i] = alloc.prob_best[r]
            feasible[i] = ok[r]
        best = rows.index(alloc.best)
        if not ok.any():
            # No arm meets the constraints: the best is the likeliest one, whose Thompson
            # draws depend on the seed; exp.best() estimates from the completed trials only.
            done = estimate(exp, [t for t in trials if t.is_completed], window)
            if done.allocation is not None:
                best = row_of[arm_key(done.arms[done.allocation.best])]
        if alloc.shrinkage:
            grand_mean = float(np.mean([a.mean for a in data]))

    # The traffic shown: the next round's when it can be planned, else the latest round's.
    current = np.zeros(k)
    for t in members:
        current[row_of[arm_key(t.parameters)]] += t.weight or 0.0
    plan_error = None
    weights_note = None
    weights_next = False
    weights_round: int | None = latest
    weights = current
    if round_running:
        weights_note = (f"round {latest} running: {len(members)} arms "
                        f"({round_completed} completed)")
    else:
        try:
            planned = plan_round(exp, trials, window=window)
        except ValueError as e:  # e.g. no arm with a result in the rounds that count
            weights_note, plan_error = "no next round yet", str(e)
        else:
            weights = np.zeros(k)
            for p in planned:
                weights[row_of[arm_key(p.parameters)]] = p.weight
            weights_next, weights_round = True, latest + 1
    note = plan_error
    if alloc is None and round_running:
        note = (f"No arm has a result yet: complete the arms of round {latest} "
                f"(exp.complete(t.index, axnb.Rate(successes, trials)) or (mean, sem)).")
    return ArmsRecord(
        metric=metric,
        minimize=minimize,
        labels=[arm_label(p, names) for p in params],
        parameters=params,
        estimated=estimated,
        raw=raw,
        raw_sem=raw_sem,
        shrunk=shrunk,
        shrunk_sem=shrunk_sem,
        successes=successes,
        units=units,
        n_rounds=n_rounds,
        prob_best=prob_best,
        feasible=feasible,
        weights=weights,
        running=np.array([key in running_keys for key in keys], dtype=bool),
        best=best,
        grand_mean=grand_mean,
        shrinkage=bool(alloc is not None and alloc.shrinkage),
        window=window,
        rounds=list(est.rounds),
        latest_round=latest,
        round_arms=len(members),
        round_completed=round_completed,
        round_running=round_running,
        weights_round=weights_round,
        weights_next=weights_next,
        weights_note=weights_note,
        bounds=bounds,
        note=note,
    )


def _empty(
    metric: str, minimize: bool | None, window: int | None, bounds: list[tuple[str, float]],
    note: str,
) -> ArmsRecord:
    empty = np.zeros(0)
    return ArmsRecord(
        metric=metric, minimize=minimize, labels=[], parameters=[],
        estimated=np.zeros(0, dtype=bool), raw=empty, raw_sem=empty, shrunk=empty,
        shrunk_sem=empty, successes=empty, units=empty, n_rounds=empty, prob_best=empty,
        feasible=np.zeros(0, dtype=bool), weights=empty, running=np.zeros(0, dtype=bool),
        best=None, grand_mean=None, shrinkage=False, window=window, rounds=[],
        latest_round=None, round_arms=0, round_completed=0, round_running=0,
        weights_round=None, weights_next=False, weights_note=None, bounds=bounds, note=note,
    )


def span(rounds: list[int]) -> str:
    """``"round 3"``, ``"rounds 0–4"`` (consecutive) or ``"rounds 0, 2, 3"``."""
    if len(rounds) == 1:
        return f"round {rounds[0]}"
    if rounds == list(range(rounds[0], rounds[-1] + 1)):
        return f"rounds {rounds[0]}–{rounds[-1]}"
    return "rounds " + ", ".join(map(str, rounds))


def pooling_text(rec: ArmsRecord) -> str:
    """How the rounds are pooled, for titles: "pooled over rounds 0–4", "from round 0 (pools
    every round)", "latest round only (window=1): round 4", "latest 2 rounds (window=2): rounds
    3–4"."""
    if rec.window == 1:
        text = "latest round only (window=1)"
        return text + (f": {span(rec.rounds)}" if rec.rounds else "")
    if rec.window is not None:
        text = f"latest {rec.window} rounds (window={rec.window})"
        return text + (f": {span(rec.rounds)}" if rec.rounds else "")
    if not rec.rounds:
        return "pooled over every completed round"
    if len(rec.rounds) == 1:
        return f"from {span(rec.rounds)} (pools every round)"
    return f"pooled over {span(rec.rounds)}"


def _hover(rec: ArmsRecord, i: int) -> str:
    lines = [f"<b>{rec.labels[i]}</b>"]
    if rec.estimated[i]:
        raw = f"raw {fmt(float(rec.raw[i]))} ± {fmt(Z95 * float(rec.raw_sem[i]))}"
        if np.isfinite(rec.units[i]):
            raw += f" ({int(rec.successes[i])}/{int(rec.units[i])})"
        lines.append(raw)
        lines.append(f"shrunk {fmt(float(rec.shrunk[i]))} ± "
                     f"{fmt(Z95 * float(rec.shrunk_sem[i]))}")
        lines.append(f"{int(rec.n_rounds[i])} round(s) pooled")
        lines.append(f"P(best) {rec.prob_best[i]:.1%}")
        if not rec.feasible[i]:
            lines.append("violates an outcome constraint")
    else:
        lines.append("no result yet")
    if rec.running[i]:
        lines.append(f"running in round {rec.latest_round}")
    if rec.weights_round is not None:
        lines.append(f"traffic in round {rec.weights_round}: {rec.weights[i]:.1%}")
    return "<br>".join(lines)


def height_for(n: int) -> int:
    """Figure height in pixels: grows with the number of arms."""
    per_arm = 34 if n <= 16 else 24
    return max(360, 210 + per_arm * n)


def draw_arms(rec: ArmsRecord) -> go.Figure:
    """Estimates by arm (left) and the traffic of the next round (right; see module doc)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.66, 0.34],
                        horizontal_spacing=0.03)
    ys = np.arange(rec.n, dtype=float)
    est = rec.estimated
    hover = [_hover(rec, i) for i in range(rec.n)]
    hv = np.array(hover, dtype=object)
    raw_y, shrunk_y = ys - 0.14, ys + 0.14

    def errors(sem: np.ndarray) -> dict[str, Any]:
        return {"type": "data", "array": (Z95 * sem).tolist(), "visible": True,
                "thickness": 1.5, "width": 4}

    fig.add_trace(go.Scatter(
        x=rec.raw[est].tolist(), y=raw_y[est].tolist(), mode="markers",
        name=f"raw ± {Z95} sem",
        marker={"color": "white", "size": 9, "symbol": "circle",
                "line": {"color": GREY, "width": 2}},
        error_x={**errors(rec.raw_sem[est]), "color": GREY},
        hovertext=hv[est].tolist(), hoverinfo="text",
    ), row=1, col=1)
    ok = est & rec.feasible
    fig.add_trace(go.Scatter(
        x=rec.shrunk[ok].tolist(), y=shrunk_y[ok].tolist(), mode="markers",
        name=f"shrunk ± {Z95} sem",
        marker={"color": BLUE, "size": 9},
        error_x={**errors(rec.shrunk_sem[ok]), "color": BLUE},
        hovertext=hv[ok].tolist(), hoverinfo="text",
    ), row=1, col=1)
    bad = est & ~rec.feasible
    fig.add_trace(go.Scatter(
        x=rec.shrunk[bad].tolist(), y=shrunk_y[bad].tolist(), mode="markers",
        name="violates an outcome constraint", showlegend=bool(bad.any()),
        marker={"color": ORANGE, "size": 9},
        error_x={**errors(rec.shrunk_sem[bad]), "color": ORANGE},
        hovertext=hv[bad].tolist(), hoverinfo="text",
    ), row=1, col=1)
    b = rec.best
    fig.add_trace(go.Scatter(
        x=[] if b is None else [float(rec.shrunk[b])],
        y=[] if b is None else [float(shrunk_y[b])], mode="markers", name="best arm",
        marker={"color": RED, "size": 16, "symbol": "star",
                "line": {"color": "black", "width": 1}},
        hovertext=[] if b is None else [hover[b]], hoverinfo="text",
    ), row=1, col=1)
    missing = ~est
    centre = (rec.grand_mean if rec.grand_mean is not None
              else float(np.nanmean(rec.raw)) if est.any() else 0.0)
    fig.add_trace(go.Scatter(
        x=[centre] * int(missing.sum()), y=ys[missing].tolist(), mode="text",
        text=["no result yet"] * int(missing.sum()), textfont={"color": GREY, "size": 12},
        name="no result yet", showlegend=False,
        hovertext=hv[missing].tolist(), hoverinfo="text",
    ), row=1, col=1)
    weight_text = []
    for i in range(rec.n):
        if rec.weights[i] <= 0:
            weight_text.append("dropped" if rec.weights_next else "not in round")
        elif rec.estimated[i] and rec.weights_next:
            weight_text.append(f"{rec.weights[i]:.1%} · P(best) {rec.prob_best[i]:.0%}")
        else:
            weight_text.append(f"{rec.weights[i]:.1%}")
    colors = [(BLUE if rec.weights_next else GREY) if i != b else RED for i in range(rec.n)]
    fig.add_trace(go.Bar(
        x=rec.weights.tolist(), y=ys.tolist(), orientation="h", width=0.6,
        name="traffic",
        marker={"color": colors, "opacity": 0.75}, showlegend=False,
        text=weight_text, textposition="outside", cliponaxis=False,
        textfont={"size": 11}, hovertext=hover, hoverinfo="text",
    ), row=1, col=2)

    # Layout: title, axes, best-row band, grand mean and constraint bound lines.
    better = {True: " (lower is better)", False: " (higher is better)"}.get(rec.minimize, "")
    if rec.minimize is None and rec.bounds:
        better = " (" + ", ".join(f"constraint {op} {fmt(v)}" for op, v in rec.bounds) + ")"
    sub = []
    if rec.latest_round is not None:
        if rec.round_running:
            sub.append(rec.weights_note or "")
        else:
            n = rec.latest_round + 1
            sub.append(f"{n} round{'s' if n > 1 else ''}")
        sub.append(pooling_text(rec))
        if rec.estimated.any():
            k = int(rec.estimated.sum())
            sub.append(f"shrunk towards the mean of {k} arms" if rec.shrinkage
                       else "no shrinkage with fewer than 4 arms")
        if b is not None:
            sub.append(f"best: {rec.labels[b]}")
    title = f"{rec.metric} by arm"
    if sub:
        title += "<br><sup>" + " · ".join(s for s in sub if s) + "</sup>"
    layout = base_layout(title, height_for(rec.n))
    layout["margin"] = {"l": 60, "r": 30, "t": 100, "b": 55}
    layout["legend"] = {"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left",
                        "x": 0.0, "font": {"size": 12}}
    layout["bargap"] = 0.3
    fig.update_layout(**layout)
    ticktext = []
    for i, lab in enumerate(rec.labels):
        lab = f"<b>{lab}</b>" if i == b else lab
        if rec.running[i]:
            lab += f" <span style='color:{GREY}'>(running)</span>"
        ticktext.append(lab)
    fig.update_yaxes(tickmode="array", tickvals=ys.tolist(), ticktext=ticktext,
                     range=[rec.n - 0.5, -0.5] if rec.n else [0.5, -0.5],
                     showgrid=False, zeroline=False, automargin=True, row=1, col=1)
    fig.update_yaxes(showgrid=False, zeroline=False, row=1, col=2)
    fig.update_xaxes(title_text=f"{rec.metric}{better}: estimate ± {Z95} sem",
                     zeroline=False, automargin=True, showticklabels=bool(rec.n),
                     row=1, col=1)
    if rec.weights_next:
        right = f"next round ({rec.weights_round}): traffic · P(best)"
    elif rec.weights_round is not None:
        state = "running" if rec.round_running else "no next round yet"
        right = f"round {rec.weights_round} ({state}): traffic"
    else:
        right = "traffic"
    # The bars take at most 55% of the panel: their text (share and P(best)) fits after them.
    top = float(rec.weights.max()) if rec.n else 1.0
    fig.update_xaxes(title_text=right, range=[0, max(top, 0.05) / 0.55], showgrid=False,
                     showticklabels=False, zeroline=False, automargin=True, row=1, col=2)
    shapes = []
    if b is not None:
        shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                       "y0": b - 0.48, "y1": b + 0.48, "fillcolor": "rgba(239,85,59,0.09)",
                       "line": {"width": 0}, "layer": "below", "name": "best arm"})
    if rec.grand_mean is not None:
        shapes.append({"type": "line", "xref": "x", "x0": rec.grand_mean, "x1": rec.grand_mean,
                       "yref": "y domain", "y0": 0, "y1": 1, "layer": "below",
                       "line": {"color": BLUE, "width": 1, "dash": "dot"},
                       "name": "grand mean"})
    for _, bound in rec.bounds:
        shapes.append({"type": "line", "xref": "x", "x0": bound, "x1": bound,
                       "yref": "y domain", "y0": 0, "y1": 1,
                       "line": {"color": ORANGE, "width": 1.5, "dash": "dash"},
                       "name": "constraint bound"})
    fig.update_layout(shapes=shapes)
    add_note(fig, rec.note, y=0.5 if not rec.estimated.any() else 0.08)
    fig.layout.meta = {"analysis": "arms"}
    return fig


__all__ = ["NO_ROUND", "Z95", "ArmsRecord", "compute_arms", "draw_arms"]
