"""Cross-validation: leave-one-out predictions of the model against the observations.

For a GP with fixed hyperparameters leaving one point out has a closed form (Rasmussen &
Williams 2006, eq. 5.12), so no model is refitted. With ``K`` the prior covariance of the
observations *including noise*, ``m`` the prior mean and ``y`` the (standardized) targets::

    a = K^-1 (y - m)
    mu_-i   = y_i - a_i / [K^-1]_ii              LOO predictive mean
    s2_-i   = 1 / [K^-1]_ii                      LOO predictive variance of y_i
    sf2_-i  = s2_-i - noise_i                    ... of the latent f(x_i)

(then un-standardized). This is the quantity BoTorch's ``batch_cross_validation`` estimates by
refitting ``n`` models, minus the hyperparameter refit, at the cost of one Cholesky. Points
far off the diagonal show where the model is over-confident or the data are surprising.

    >>> rec = compute_cross_validation(exp)                        # doctest: +SKIP
    >>> float(np.max(np.abs(rec.predicted - rec.observed)))        # doctest: +SKIP

Figure layout (stable): trace 0 the diagonal ``y = x``; trace 1 the points ``observed,
predicted`` with ``error_y = 2 * predicted_sd`` (and ``error_x = 2 * observed_sem`` if known).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from axnb.analysis._common import (
    BLUE,
    GREY,
    add_note,
    base_layout,
    finite_or_none,
    fitted_model,
    fmt,
    observed,
    resolve_metric,
)
from axnb.engine.models import loo

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.engine.models import FittedModel
    from axnb.experiment import Experiment
    from axnb.trial import Trial


@dataclass(frozen=True, eq=False)
class CrossValidationRecord:
    """Numbers of a leave-one-out plot, one entry per training observation.

    ``predicted_sd`` is the LOO sd of the latent mean, ``predictive_sd`` that of a new
    observation (noise included; use it for z-scores). ``r2`` and ``rmse`` summarize the fit
    (NaN with fewer than 2 points); ``coverage`` is the fraction of observations within 2
    predictive sds.
    """

    metric: str
    trial_index: np.ndarray
    observed: np.ndarray
    observed_sem: np.ndarray
    predicted: np.ndarray
    predicted_sd: np.ndarray
    predictive_sd: np.ndarray
    r2: float
    rmse: float
    coverage: float
    note: str | None


def compute_cross_validation(
    exp: Experiment,
    metric: str | None = None,
    *,
    trials: list[Trial] | None = None,
    model: FittedModel | None = None,
) -> CrossValidationRecord:
    """Leave-one-out predicted vs observed for ``metric`` (see module doc)."""
    trials = exp.trials if trials is None else trials
    metric = resolve_metric(exp, metric, trials)
    fitted, note = fitted_model(exp, trials, [metric], model)
    obs = observed(exp, trials, metric)
    sem_by_trial = dict(zip(obs.trial_index.tolist(), obs.sem.tolist()))
    if fitted is None:
        empty = np.zeros(0)
        return CrossValidationRecord(
            metric, obs.trial_index, obs.mean, obs.sem, np.full(obs.n, np.nan),
            np.full(obs.n, np.nan), np.full(obs.n, np.nan), np.nan, np.nan, np.nan,
            note or "No model.",
        ) if obs.n else CrossValidationRecord(
            metric, np.zeros(0, dtype=int), empty, empty, empty, empty, empty,
            np.nan, np.nan, np.nan, note or "No model.",
        )
    data = fitted.data[metric]
    mean, sd_f, sd_y = loo(fitted.models[metric])
    y = np.asarray(data.Y, dtype=float)
    resid = mean - y
    sst = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / sst if len(y) > 1 and sst > 0 else np.nan
    return CrossValidationRecord(
        metric=metric,
        trial_index=np.asarray(data.trial_indices, dtype=int),
        observed=y,
        observed_sem=np.array([sem_by_trial.get(i, np.nan) for i in data.trial_indices]),
        predicted=mean,
        predicted_sd=sd_f,
        predictive_sd=sd_y,
        r2=r2,
        rmse=float(np.sqrt(np.mean(resid**2))),
        coverage=float(np.mean(np.abs(resid) <= 2 * sd_y)),
        note=None,
    )


def draw_cross_validation(rec: CrossValidationRecord) -> go.Figure:
    """Predicted vs observed with 2-sd error bars and the diagonal (see module doc)."""
    import plotly.graph_objects as go

    band = np.concatenate([rec.predicted - 2 * rec.predicted_sd,
                           rec.predicted + 2 * rec.predicted_sd])
    vals = np.concatenate([rec.observed, band[np.isfinite(band)]])
    lo, hi = (float(vals.min()), float(vals.max())) if len(vals) else (0.0, 1.0)
    pad = 0.05 * ((hi - lo) or 1.0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[lo - pad, hi + pad], y=[lo - pad, hi + pad], mode="lines", name="y = x",
        line={"color": GREY, "dash": "dash", "width": 1}, hoverinfo="skip",
    ))
    has_sem = bool(np.isfinite(rec.observed_sem).any())
    fig.add_trace(go.Scatter(
        x=rec.observed.tolist(), y=finite_or_none(rec.predicted), mode="markers",
        name="leave-one-out", marker={"color": BLUE, "size": 8},
        error_y={"type": "data", "array": finite_or_none(2 * rec.predicted_sd),
                 "thickness": 1, "width": 0},
        error_x={"type": "data", "array": finite_or_none(2 * rec.observed_sem),
                 "visible": has_sem, "thickness": 1, "width": 0},
        customdata=rec.trial_index.tolist(),
        hovertemplate="trial %{customdata}<br>observed %{x:.4g}<br>predicted %{y:.4g}"
                      "<extra></extra>",
    ))
    stats = ""
    if np.isfinite(rec.rmse):
        stats = (f"<br><sup>R² {fmt(rec.r2)}, RMSE {fmt(rec.rmse)}, "
                 f"{rec.coverage:.0%} within 2 sd</sup>")
    fig.update_layout(**base_layout(f"Leave-one-out cross-validation of {rec.metric}{stats}"))
    fig.update_layout(margin={"t": 90})
    span = [lo - pad, hi + pad]
    fig.update_xaxes(title_text=f"observed {rec.metric}", range=span)
    fig.update_yaxes(title_text=f"predicted {rec.metric} (± 2 sd)", range=span)
    add_note(fig, rec.note)
    fig.layout.meta = {"analysis": "cross_validation"}
    return fig
