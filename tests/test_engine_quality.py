"""Optimization quality of the engine on standard test functions (small budgets)."""

from __future__ import annotations

import numpy as np
import pytest

from axnb.engine._bench import regret


def test_branin_small_budget_reaches_low_regret():
    """22 evaluations (3 Sobol + 19 model): median simple regret below 0.5 over 5 seeds."""
    regs = [regret("branin", 22, seed) for seed in range(5)]
    assert np.median(regs) < 0.5, regs


@pytest.mark.slow
def test_branin_many_seeds():
    regs = [regret("branin", 25, seed) for seed in range(10, 20)]
    assert np.median(regs) < 0.2, regs
    assert np.mean(np.array(regs) < 0.5) >= 0.8, regs


@pytest.mark.slow
def test_hartmann6_budget_40():
    regs = [regret("hartmann6", 40, seed) for seed in range(5)]
    assert np.median(regs) < 0.5, regs


def test_booth_wide_range_reaches_low_value_at_20_evaluations():
    """Booth on [-10, 10]^2 (values 0 to ~2600): the Yeo-Johnson-warped acquisition model
    reaches a median best value of 0.04 over seeds 0-4 (8 seeds: 0.065; unwarped 0.23)."""
    regs = [regret("booth", 20, seed) for seed in range(5)]
    assert np.median(regs) < 0.15, regs
