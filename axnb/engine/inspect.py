"""Read-only views of the engine's decision, for plots and teaching.

``acquisition_values`` evaluates, at given encoded points, the very acquisition function the
engine would maximize for its next suggestion (same models, same pending points, same seed),
without creating a trial or changing the engine's state:

    >>> acq = acquisition_values(exp.engine, exp.trials, X)      # doctest: +SKIP
    >>> acq.kind, acq.values.argmax()                             # doctest: +SKIP
    ('qLogNEI', 17)

The values are on the acquisition's own scale (log expected improvement for ``qLogNEI``, log
hypervolume improvement for ``qLogNEHVI``, log probability of feasibility for
``feasibility``); only their order matters for the suggestion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from axnb.engine.acquisition import build_acquisition, observed_feasible
from axnb.engine.context import derive_seed, quiet, seeded
from axnb.engine.results import usable

if TYPE_CHECKING:
    from axnb.engine.strategy import Engine
    from axnb.trial import Trial

#: Points evaluated per batch (bounds memory for the MC acquisitions).
CHUNK = 256


@dataclass(frozen=True, eq=False)
class AcquisitionValues:
    """Acquisition values at some encoded points, and the acquisition's kind."""

    values: np.ndarray
    kind: str
    model_phase: bool  # False while the engine still makes space-filling (initial) points


def acquisition_values(
    engine: Engine, trials: Sequence[Trial], X: np.ndarray
) -> AcquisitionValues:
    """Acquisition values at the encoded rows ``X`` (``(k, d)`` in the unit cube).

    Raises what model fitting raises (``ModelFitError``) when there is no usable model.
    """
    import torch

    trials = list(trials)
    X = np.asarray(X, dtype=np.float64).reshape(-1, engine.encoder.d)
    with engine._lock:
        problem = engine._modelled_problem(trials)
        fitted = engine._fitted(trials, problem.metrics, strict=True)
    assert fitted is not None
    ok = usable(problem, trials)
    any_feasible = any(observed_feasible(problem, t.result) for t in ok)  # type: ignore[arg-type]
    baseline = np.unique(fitted.data[problem.objectives[0].metric].X, axis=0)
    pending = engine._encode_valid([t.parameters for t in trials if t.status == "running"])
    seed = derive_seed(engine.seed, "suggest", len(trials), 1, [])
    n_data = len([t for t in trials if t.status == "completed" and t.result
                  and all(o.metric in t.result for o in problem.objectives)])
    out = []
    with seeded(seed), quiet(), torch.no_grad():
        acqf, kind = build_acquisition(
            fitted, problem, baseline, pending, any_feasible, derive_seed(seed, "mc")
        )
        for start in range(0, len(X), CHUNK):
            chunk = torch.tensor(X[start:start + CHUNK], dtype=torch.float64).unsqueeze(-2)
            out.append(acqf(chunk).reshape(-1).numpy().copy())
    values = np.concatenate(out) if out else np.zeros(0)
    return AcquisitionValues(values, kind, n_data >= max(engine.initial_trials, 1))


__all__ = ["AcquisitionValues", "acquisition_values"]
