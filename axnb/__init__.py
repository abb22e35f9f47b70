"""axnb: Bayesian optimization you drive from a notebook.

    >>> import axnb
    >>> exp = axnb.Experiment("booth", [axnb.Range("x1", -10, 10), axnb.Range("x2", -10, 10)],
    ...                       objective="loss", minimize=True)          # doctest: +SKIP
    >>> exp.run(lambda p: (p["x1"] + 2 * p["x2"] - 7) ** 2, trials=20)  # doctest: +SKIP
    >>> exp.best()                                                       # doctest: +SKIP

Importing axnb is light: torch and BoTorch load when the first model is fit.
"""

from typing import TYPE_CHECKING

from axnb.errors import (
    AxnbError,
    ConfigurationMismatchError,
    ConflictError,
    ConstraintError,
    CorruptFileError,
    InfeasibleError,
    InvalidParameterError,
    TrialError,
)
from axnb.experiment import Experiment, load
from axnb.loop import OptimizeResult, RunHandle, optimize
from axnb.settings import settings
from axnb.space import Choice, Fixed, Int, Parameter, Range
from axnb.trial import Rate, Trial

if TYPE_CHECKING:
    from axnb.widgets.builder import Builder

__version__ = "0.1.0"


def builder() -> "Builder":
    """Experiment builder widget: a form that creates an Experiment and shows its code."""
    from axnb.widgets.builder import Builder

    return Builder()


__all__ = [
    "AxnbError",
    "Choice",
    "ConfigurationMismatchError",
    "ConflictError",
    "ConstraintError",
    "CorruptFileError",
    "Experiment",
    "Fixed",
    "InfeasibleError",
    "Int",
    "InvalidParameterError",
    "OptimizeResult",
    "Parameter",
    "Range",
    "Rate",
    "RunHandle",
    "Trial",
    "TrialError",
    "__version__",
    "builder",
    "load",
    "optimize",
    "settings",
]
