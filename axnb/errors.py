"""Exceptions raised by axnb.

Every error caused by bad input is a ``ValueError`` subclass, so ``except ValueError`` catches
them all, and each message says what was wrong, what was expected and what to do next.
"""

from __future__ import annotations


class AxnbError(Exception):
    """Base class of all axnb errors."""


class InvalidParameterError(AxnbError, ValueError):
    """A parameter definition or a parameter value is invalid."""


class ConstraintError(AxnbError, ValueError):
    """A parameter or outcome constraint cannot be parsed or is violated."""


class TrialError(AxnbError, ValueError):
    """A trial operation is invalid: unknown trial, wrong status, bad result."""


class ConfigurationMismatchError(AxnbError, ValueError):
    """An experiment file exists and its configuration differs from the one given."""


class CorruptFileError(AxnbError, ValueError):
    """An experiment file cannot be read; it is left untouched."""


class ConflictError(AxnbError, ValueError):
    """Another process changed the experiment file in a way that conflicts with this change."""


class InfeasibleError(AxnbError, ValueError):
    """No point satisfies the parameter constraints (and pinned values)."""
