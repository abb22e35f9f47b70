"""Suggestions: space-filling start, GP models, acquisition, constrained mixed optimization.

The public seam is ``Engine`` and ``Suggestion`` (see ``strategy``). Modules, one concept each:

* ``encoding``    parameters <-> rows of the encoded unit cube
* ``polytope``    linear constraints in the unit space, feasibility, repair after rounding
* ``initial``     scrambled Sobol / polytope sampling (start design and fallback)
* ``models``      GP fitting with retries, caching, ``FittedModel`` for plots
* ``acquisition`` qLogNEI / qLogNEHVI / probability of feasibility
* ``optimize``    constrained, mixed acquisition optimization with pins
* ``results``     best arm and Pareto front
* ``inspect``     acquisition values at given points (for plots)
* ``strategy``    the ``Engine``: init vs model vs fallback
* ``context``     seeding and warning hygiene

Importing this package does not import torch, BoTorch or SciPy; they load on first use.
"""

from axnb.engine.models import FittedModel
from axnb.engine.strategy import Engine, Suggestion

__all__ = ["Engine", "FittedModel", "Suggestion"]
