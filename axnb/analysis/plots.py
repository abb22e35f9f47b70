"""``exp.plot``: one method per analysis, each ``compute_*`` then ``draw_*``.

    exp.plot.contour("x1", "x2")       # -> plotly go.Figure; displays itself in a notebook
    exp.plot.slice("x1").show()        # from a script: opens a browser tab
    exp.plot.progress().write_html("progress.html")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from axnb.analysis.arms import compute_arms, draw_arms
from axnb.analysis.contour import compute_contour, draw_contour
from axnb.analysis.cross_validation import compute_cross_validation, draw_cross_validation
from axnb.analysis.importance import compute_importance, draw_importance
from axnb.analysis.parallel import compute_parallel, draw_parallel
from axnb.analysis.pareto import compute_pareto, draw_pareto
from axnb.analysis.progress import compute_progress, draw_progress
from axnb.analysis.slice import compute_slice, draw_slice
from axnb.analysis.tasks import for_task

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from axnb.experiment import Experiment


class Plots:
    """Plotly figures of an experiment's analyses (``exp.plot``).

    Every method returns a ``plotly.graph_objects.Figure`` built from the experiment as it is
    now. Model layers come from the engine's cached GP; before a model exists the figures show
    the observed data and say, inside the figure, why the model is missing. Invalid arguments
    (unknown parameter or metric, ``x == y``) raise ``ValueError``. With tasks
    (``Experiment(tasks=[...])``) every method takes ``task=`` (default: the target): that
    task's trials over its view of the multi-task model.
    """

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment

    def _of(self, task: str | None) -> Any:
        """The experiment seen from ``task`` (``analysis.tasks``; default: the target task of
        an experiment with tasks, else the experiment itself)."""
        return for_task(self.experiment, task)

    def __repr__(self) -> str:
        return (f"<axnb plots of '{self.experiment.name}': contour, slice, progress, parallel, "
                f"pareto, cross_validation, importance, arms>")

    def contour(
        self,
        x: str,
        y: str,
        metric: str | None = None,
        slice_values: Mapping[str, Any] | None = None,
        grid: int = 50,
        task: str | None = None,
    ) -> go.Figure:
        """Model mean and standard error over ``x`` and ``y`` (others held at the best point,
        or ``slice_values``), observed points and the best point."""
        return draw_contour(compute_contour(self._of(task), x, y, metric, slice_values, grid))

    def slice(
        self,
        param: str,
        metric: str | None = None,
        slice_values: Mapping[str, Any] | None = None,
        grid: int = 100,
        task: str | None = None,
    ) -> go.Figure:
        """Model mean ± 2 sd along ``param``, observations, the acquisition and its argmax."""
        return draw_slice(compute_slice(self._of(task), param, metric, slice_values, grid))

    def progress(self, metric: str | None = None, task: str | None = None) -> go.Figure:
        """Every trial's value by index, the best so far and the failed trials."""
        return draw_progress(compute_progress(self._of(task), metric))

    def parallel(self, metric: str | None = None, task: str | None = None) -> go.Figure:
        """Parallel coordinates of completed trials, colored by ``metric`` (the objective)."""
        return draw_parallel(compute_parallel(self._of(task), metric))

    def pareto(self, x_metric: str | None = None, y_metric: str | None = None,
               task: str | None = None) -> go.Figure:
        """Observed trade-off of two objectives with the Pareto front and thresholds."""
        return draw_pareto(compute_pareto(self._of(task), x_metric, y_metric))

    def cross_validation(self, metric: str | None = None, task: str | None = None) -> go.Figure:
        """Leave-one-out predicted vs observed values of the model."""
        return draw_cross_validation(compute_cross_validation(self._of(task), metric))

    def importance(self, metric: str | None = None, task: str | None = None) -> go.Figure:
        """Sobol sensitivity (first order and total) of each parameter, sorted."""
        return draw_importance(compute_importance(self._of(task), metric))

    def arms(self, metric: str | None = None) -> go.Figure:
        """Bandit arms: raw and shrunk (empirical-Bayes) estimates ± 1.96 sem with the best arm
        highlighted, and the next round's traffic with each arm's P(best)."""
        return draw_arms(compute_arms(self.experiment, metric))
