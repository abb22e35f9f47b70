"""In Colab the widgets turn on Colab's custom widget manager themselves, once."""

from __future__ import annotations

import sys
import types

import axnb
from axnb.widgets import _colab


def test_colab_custom_widget_manager_is_enabled_once(monkeypatch):
    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append(1))
    colab = types.ModuleType("google.colab")
    colab.output = output
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(_colab, "_done", False)
    axnb.builder()
    axnb.builder()
    assert calls == [1]


def test_nothing_to_do_outside_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(_colab, "_done", False)
    assert _colab.enable_custom_widgets() is False
