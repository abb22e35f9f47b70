"""Acquisition values at given points, for plots that show why the next point is chosen.

    >>> # res = acquisition_values(exp.engine, exp.trials, rows)   # rows: (k, d) encoded
    >>> # res.values, res.kind, res.model_phase

``values`` are the engine's acquisition at each row with the running trials pending: the log
of the (noisy, constrained) expected improvement for one objective (``kind`` "qLogNEI"), of the
expected hypervolume improvement for several ("qLogNEHVI"), or the log probability of
feasibility while nothing observed satisfies the outcome constraints ("feasibility"; the
thresholds of several objectives do not count, see ``acquisition``). For a warped objective
(``models`` module doc) the improvement is measured in warped units, which is what the
optimizer maximizes. ``model_phase`` is False while the engine still places its initial
space-filling trials (the values are then what the model would use once it takes over).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from axnb.engine.context import derive_seed, quiet, seeded, single_thread

if TYPE_CHECKING:
    from axnb.engine.strategy import Engine
    from axnb.trial import Trial


@dataclass
class AcquisitionValues:
    """Acquisition ``values`` (k,) at the requested rows, its ``kind``, and ``model_phase``."""

    values: np.ndarray
    kind: str
    model_phase: bool


def acquisition_values(
    engine: Engine, trials: Sequence[Trial], rows: np.ndarray
) -> AcquisitionValues:
    """Evaluate the engine's current acquisition at encoded ``rows`` (see module doc)."""
    import torch

    X = np.asarray(rows, dtype=np.float64).reshape(-1, engine.encoder.d)
    seed = derive_seed(engine.seed, "inspect", len(trials))
    with engine._lock, single_thread():
        try:
            with seeded(seed), quiet():
                acqf, kind, _ = engine.acquisition(trials, derive_seed(seed, "mc"))
                out = []
                with torch.no_grad():
                    for chunk in np.array_split(X, max(1, len(X) // 256)):
                        t = torch.tensor(chunk, dtype=torch.float64).unsqueeze(-2)
                        out.append(acqf(t).reshape(-1).numpy().copy())
        finally:
            engine.status = "idle"
    values = np.concatenate(out) if out else np.zeros(0)
    return AcquisitionValues(values, kind, engine.in_model_phase(trials))
