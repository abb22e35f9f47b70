"""Importance: how much each parameter moves the model, as Sobol sensitivity indices.

The GP posterior mean ``f`` of ``metric`` over the encoded search space (each parameter
uniform over its range — log-uniform for log parameters — or over its values; linear
parameter constraints are ignored) is decomposed by variance (Sobol 2001). With ``V =
Var f``, for parameter ``i``::

    first order  S_i  = Var_{x_i}( E[f | x_i] ) / V        the effect of x_i alone
    total        ST_i = E_{x_~i}( Var[f | x_~i] ) / V     x_i with all its interactions

estimated from ``N (d + 2)`` model evaluations by Saltelli's scheme on a scrambled Sobol
sequence (Saltelli et al. 2010: ``S_i ~ mean(f(B) (f(A_B^i) - f(A))) / V``, Jansen's
``ST_i ~ mean((f(A) - f(A_B^i))^2) / (2 V)``), seeded, so the same model gives the same
numbers. An irrelevant parameter has ``ST_i ~ 0``; ``sum S_i ~ 1`` means no interactions.

Hierarchical spaces (``when=``): every parameter is still sampled uniformly (parents over
their values), but each sample is evaluated as the engine sees that point, with the
parameters it leaves inactive at the inactive constant (``Encoder.canonical``). So an
inactive parameter's value changes nothing: a conditional parameter's indices measure its
effect where it is active, weighted by how often its condition holds (``C`` with
``when={"model": "svm"}`` matters in half the samples of a two-model choice), and its total
index includes the interaction with its parents; a parent's indices include the switch
between branches (and the children it turns on and off). The figure's subtitle says so.

    >>> rec = compute_importance(exp)       # doctest: +SKIP
    >>> rec.names[0]                         # the most important parameter   # doctest: +SKIP

Figure layout (stable): horizontal bars, most important at the top; trace 0 total order,
trace 1 first order, both over ``rec.names`` (sorted by total order, descending).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from axnb.analysis._common import (
    BLUE,
    ORANGE,
    add_note,
    base_layout,
    fitted_model,
    predict,
    resolve_metric,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.engine.encoding import Encoder
    from axnb.engine.models import FittedModel
    from axnb.experiment import Experiment
    from axnb.trial import Trial


@dataclass(frozen=True, eq=False)
class ImportanceRecord:
    """Sobol indices of the model mean, sorted by ``total`` (descending), clipped to [0, 1]."""

    metric: str
    names: list[str]
    first_order: np.ndarray
    total: np.ndarray
    note: str | None
    #: Parameters with ``when=`` (hierarchical space): indices where active (module doc).
    conditional: list[str] = field(default_factory=list)


def sobol_indices(
    f: Callable[[np.ndarray], np.ndarray], encoder: Encoder, n: int = 512, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, float]:
    """First-order and total Sobol indices of ``f`` (rows of the encoded cube -> values) and
    the total variance, by Saltelli sampling over ``encoder.from_cube`` (see module doc)."""
    from scipy.stats import qmc

    d = encoder.d
    U = qmc.Sobol(d=2 * d, scramble=True, seed=seed).random(n)
    A = encoder.from_cube(U[:, :d])
    B = encoder.from_cube(U[:, d:])
    ABs = []
    for i in range(d):
        AB = A.copy()
        AB[:, i] = B[:, i]
        ABs.append(AB)
    values = np.asarray(f(np.vstack([A, B, *ABs])), dtype=float)
    fA, fB = values[:n], values[n:2 * n]
    fAB = values[2 * n:].reshape(d, n)
    V = float(np.var(np.concatenate([fA, fB])))
    if not np.isfinite(V) or V <= 1e-300:
        return np.zeros(d), np.zeros(d), 0.0
    first = np.mean(fB * (fAB - fA), axis=1) / V
    total = 0.5 * np.mean((fA - fAB) ** 2, axis=1) / V
    return np.clip(first, 0.0, 1.0), np.clip(total, 0.0, 1.0), V


def compute_importance(
    exp: Experiment,
    metric: str | None = None,
    samples: int = 512,
    *,
    trials: list[Trial] | None = None,
    model: FittedModel | None = None,
) -> ImportanceRecord:
    """Sobol indices of each tunable parameter for ``metric`` (see module doc).

    ``samples`` is Saltelli's ``N`` (a power of 2; ``N (d + 2)`` model evaluations).
    """
    trials = exp.trials if trials is None else trials
    metric = resolve_metric(exp, metric, trials)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 8:
        raise ValueError(f"samples must be an integer >= 8, got {samples!r}.")
    names = [p.name for p in exp.space.tunable]
    fitted, note = fitted_model(exp, trials, [metric], model)
    if fitted is None:
        zeros = np.zeros(len(names))
        return ImportanceRecord(metric, names, zeros, zeros.copy(), note)
    n = 1 << max(3, int(np.ceil(np.log2(samples))))

    encoder = fitted.encoder
    conditional = [p.name for p in exp.space.tunable if p.when]

    def f(X: np.ndarray) -> np.ndarray:
        if conditional:  # each sample as the engine sees it: inactive columns at INACTIVE
            X = np.array([encoder.canonical(row) for row in X])
        return predict(fitted, metric, X)[0]

    first, total, V = sobol_indices(f, fitted.encoder, n=n, seed=0)
    cols = fitted.names
    order = sorted(range(len(cols)), key=lambda i: (-total[i], -first[i], i))
    if V == 0.0:
        note = f"The model of '{metric}' is flat: no parameter changes it (yet)."
    return ImportanceRecord(
        metric=metric,
        names=[cols[i] for i in order],
        first_order=first[order],
        total=total[order],
        note=note,
        conditional=conditional,
    )


def draw_importance(rec: ImportanceRecord) -> go.Figure:
    """Sorted horizontal bars of total and first-order indices (see module doc)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    where = ""
    if rec.conditional:
        where = f"; {', '.join(rec.conditional)}: where active"
    fig.add_trace(go.Bar(
        x=rec.total.tolist(), y=rec.names, orientation="h", name="total (with interactions)",
        marker_color=BLUE, hovertemplate="%{y}: total %{x:.3f}<extra></extra>",
    ))
    fig.add_trace(go.Bar(
        x=rec.first_order.tolist(), y=rec.names, orientation="h", name="first order (alone)",
        marker_color=ORANGE, hovertemplate="%{y}: first order %{x:.3f}<extra></extra>",
    ))
    height = max(300, 120 + 40 * len(rec.names))
    fig.update_layout(**base_layout(
        f"Parameter importance for {rec.metric}<br><sup>Sobol indices of the model mean: "
        f"share of its variance due to each parameter{where}</sup>", height=height,
    ))
    fig.update_layout(barmode="group", margin={"t": 90})
    fig.update_xaxes(title_text="Sobol index", range=[0, 1.02])
    fig.update_yaxes(autorange="reversed")
    add_note(fig, rec.note)
    fig.layout.meta = {"analysis": "importance"}
    return fig
