"""Local execution context: reproducible seeding and quiet BoTorch warnings.

Nothing here touches global state permanently: ``seeded`` forks torch's RNG and restores it,
``quiet`` installs warning filters only for the duration of the block, ``single_thread`` runs
torch on one intra-op thread and restores the previous count.

    >>> derive_seed(0, "suggest", 3) == derive_seed(0, "suggest", 3)
    True
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def derive_seed(*parts: Any) -> int:
    """A stable 31-bit seed from any reprs (same in every process, unlike ``hash``)."""
    text = "\x1f".join(repr(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's, numpy's and Python's global RNGs seeded by ``seed``.

    Their previous states are restored afterwards (BoTorch draws from torch's RNG, and from
    Python's ``random`` when subsampling large categorical neighbourhoods).
    """
    import random

    import numpy as np
    import torch

    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            random.seed(seed)
            np.random.seed(seed)
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread for the block (the previous setting is restored).

    The engine's tensors are tiny (tens to hundreds of points): extra threads only add
    synchronization, and on a busy machine their spin-waiting made one Branin run 18x slower
    (100 s vs 5.7 s wall on 2 loaded cores). One thread also makes floating-point reductions,
    hence suggestions, independent of the machine's core count.
    """
    import torch

    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence warnings BoTorch / GPyTorch / SciPy raise routinely on small or odd data sets."""
    with warnings.catch_warnings():
        try:
            from botorch.exceptions.warnings import (
                BotorchWarning,
                InputDataWarning,
                OptimizationWarning,
            )

            warnings.simplefilter("ignore", InputDataWarning)
            warnings.simplefilter("ignore", OptimizationWarning)
            warnings.simplefilter("ignore", BotorchWarning)
        except ImportError:  # pragma: no cover
            pass
        try:
            from linear_operator.utils.warnings import NumericalWarning

            warnings.simplefilter("ignore", NumericalWarning)
        except ImportError:  # pragma: no cover
            pass
        warnings.filterwarnings("ignore", module=r"(gpytorch|linear_operator|botorch)(\.|$)")
        warnings.filterwarnings("ignore", message=r".*(degrees of freedom|balance properties).*")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"scipy")
        yield
