"""Helpers for the real-browser test: a throw-away Jupyter server (JupyterLab or Notebook 7)
and page actions."""
