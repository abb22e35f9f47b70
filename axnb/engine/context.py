"""Local execution context: reproducible seeding and quiet BoTorch warnings.

Nothing here touches global state permanently: ``seeded`` forks torch's RNG and restores it,
``quiet`` installs warning filters only for the duration of the block.

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
    """Run the block with torch's RNG seeded by ``seed``; the global RNG state is restored."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


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
