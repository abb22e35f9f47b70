"""Analyses of an experiment: compute a record of numbers, then draw it with plotly.

Each analysis lives in its own module and has two public functions:

=================  =========================  ==========================  ==================
analysis           compute (experiment ->)    record                      draw (record ->)
=================  =========================  ==========================  ==================
contour            ``compute_contour``        ``ContourRecord``           ``draw_contour``
slice              ``compute_slice``          ``SliceRecord``             ``draw_slice``
progress           ``compute_progress``       ``ProgressRecord``          ``draw_progress``
parallel           ``compute_parallel``       ``ParallelRecord``          ``draw_parallel``
pareto             ``compute_pareto``         ``ParetoRecord``            ``draw_pareto``
cross-validation   ``compute_cross_validation`` ``CrossValidationRecord`` ``draw_cross_validation``
importance         ``compute_importance``     ``ImportanceRecord``        ``draw_importance``
arms (bandits)     ``compute_arms``           ``ArmsRecord``              ``draw_arms``
=================  =========================  ==========================  ==================

Records are frozen dataclasses of numpy arrays and lists: tests check their numbers, the HTML
report and ``exp.plot`` draw them, and live widgets push a new record's data into an existing
``go.FigureWidget`` (``with fw.batch_update(): ...``). For that, every draw function emits the
same traces in the same order for records of the same analysis (and the same axes); each
module's docstring lists its trace layout. Compute functions accept ``trials=`` (a snapshot)
and, where a model is used, ``model=`` (a ``FittedModel`` from ``exp.engine.fit``) so a caller
can fit once and compute several analyses.

Rendering
---------
The figures are plain ``plotly.graph_objects.Figure`` objects and axnb configures no renderer:
plotly 7.1 already picks the right one when ``plotly.io`` is first imported (checked in
``plotly/io/_renderers.py``):

* JupyterLab 4 and Notebook 7 (an ipykernel ``ZMQInteractiveShell``): ``plotly_mimetype``.
  The output is the ``application/vnd.plotly.v1+json`` mimetype, drawn by the
  ``jupyterlab-plotly`` extension that ships inside the plotly wheel
  (``share/jupyter/labextensions``), so plotly.js is never embedded in the notebook. A blank
  output means the Jupyter *server's* environment lacks plotly (the extension lives there, not
  in the kernel's): ``pip install plotly`` next to jupyterlab. Calling
  ``plotly.offline.init_notebook_mode()`` overrides the default; don't.
* VS Code (``VSCODE_PID`` set): ``vscode``, the same mimetype; VS Code's Jupyter extension
  renders it natively. The Colab VS Code extension is VS Code too (plotly >= 6.6, PR 5473).
* Google Colab web (``COLAB_NOTEBOOK_ID`` set): ``colab``, HTML loading plotly.js from the CDN
  once per output (Colab sandboxes every output in its own iframe). Plotly 7.0.0 had a Colab
  regression (blank space growing below figures, issue 5717) fixed in 7.1 (PR 5718).
* A script or terminal IPython: ``browser`` (when Python's ``webbrowser`` finds one):
  ``fig.show()`` serves the figure once to a new tab with plotly.js inline. Without a browser
  (CI, SSH), save it: ``fig.write_html("contour.html")`` or ``exp.report("report.html")``.
* ``PLOTLY_RENDERER`` in the environment overrides all of the above.

Every figure sets an explicit height (JupyterLab 4 sizes plotly outputs by it).
"""

from axnb.analysis.arms import ArmsRecord, compute_arms, draw_arms
from axnb.analysis.contour import ContourRecord, compute_contour, draw_contour
from axnb.analysis.cross_validation import (
    CrossValidationRecord,
    compute_cross_validation,
    draw_cross_validation,
)
from axnb.analysis.importance import ImportanceRecord, compute_importance, draw_importance
from axnb.analysis.parallel import ParallelRecord, compute_parallel, draw_parallel
from axnb.analysis.pareto import ParetoRecord, compute_pareto, draw_pareto
from axnb.analysis.plots import Plots
from axnb.analysis.progress import ProgressRecord, compute_progress, draw_progress
from axnb.analysis.slice import SliceRecord, compute_slice, draw_slice

__all__ = [
    "ArmsRecord",
    "ContourRecord",
    "CrossValidationRecord",
    "ImportanceRecord",
    "ParallelRecord",
    "ParetoRecord",
    "Plots",
    "ProgressRecord",
    "SliceRecord",
    "compute_arms",
    "compute_contour",
    "compute_cross_validation",
    "compute_importance",
    "compute_parallel",
    "compute_pareto",
    "compute_progress",
    "compute_slice",
    "draw_arms",
    "draw_contour",
    "draw_cross_validation",
    "draw_importance",
    "draw_parallel",
    "draw_pareto",
    "draw_progress",
    "draw_slice",
]
