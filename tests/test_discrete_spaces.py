"""Small all-discrete spaces: no repeats until the space is exhausted, then a warning and
re-measurements of the best points only; pending points and parameter constraints hold."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import axnb
import axnb.engine.optimize

EXHAUSTED = "have been tried"


def make(path: Path, parameters: list[axnb.Parameter], **kwargs: Any) -> axnb.Experiment:
    kwargs.setdefault("objective", "loss")
    return axnb.Experiment("d", parameters, path=path, **kwargs)


def point(trial: axnb.Trial) -> tuple:
    return tuple(trial.parameters.values())


def loss(p: dict[str, Any]) -> float:
    """Known values: (2, "x") is best, then (2, "y"), then (1 or 3, "x")."""
    return (p["a"] - 2) ** 2 + 0.5 * (p["b"] == "y") + 0.1 * p.get("c", 0)


@pytest.fixture
def not_exhausted() -> Iterator[None]:
    """Fail on the exhaustion warning (the space is not exhausted yet)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=f".*{EXHAUSTED}")
        yield


def sweep(exp: axnb.Experiment, batches: int, n: int) -> list[axnb.Trial]:
    """``batches`` batches of ``n`` suggestions, each completed with a noisy result
    (sem > 0: evaluated points are worth re-measuring, so only the rule keeps them out)."""
    out = []
    for _ in range(batches):
        batch = exp.suggest(n=n)
        for t in batch:
            exp.complete(t.index, (loss(t.parameters), 0.3))
        out += batch
    return out


SIX = [axnb.Int("a", 1, 3), axnb.Choice("b", ["x", "y"])]
EIGHTEEN = [axnb.Int("a", 1, 3), axnb.Choice("b", ["x", "y", "z"]), axnb.Int("c", 1, 2)]


# ------------------------------------------------------------------ no repeats before exhaustion
@pytest.mark.usefixtures("not_exhausted")
@pytest.mark.parametrize("seed", range(3))
def test_a_full_sweep_in_batches_never_repeats_a_point(tmp_path: Path, seed: int) -> None:
    exp = make(tmp_path, EIGHTEEN, seed=seed)
    trials = sweep(exp, 6, 3)
    assert len({point(t) for t in trials}) == 18
    assert {t.source for t in trials} == {"init", "model"}


@pytest.mark.usefixtures("not_exhausted")
@pytest.mark.parametrize("seed", range(3))
def test_one_at_a_time_a_choice_is_covered_before_any_repeat(tmp_path: Path, seed: int) -> None:
    """The reported bug: a 5-value choice got c, d, c and never e from the model."""
    exp = make(tmp_path, [axnb.Choice("c", list("abcde"))], seed=seed, initial_trials=2)
    seen = []
    for _ in range(5):
        t = exp.suggest()
        exp.complete(t.index, (float("abcde".index(t.parameters["c"]) % 3), 0.5))
        seen.append(t.parameters["c"])
    assert sorted(seen) == list("abcde")


@pytest.mark.usefixtures("not_exhausted")
def test_without_enumeration_no_point_repeats_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(axnb.engine.optimize, "ENUMERATE_LIMIT", 0)
    exp = make(tmp_path, EIGHTEEN, seed=0)
    assert exp.engine.settings.max_enumerate == 0
    trials = sweep(exp, 6, 3)
    assert len({point(t) for t in trials}) == 18


# ------------------------------------------------------------------ exhaustion
@pytest.mark.parametrize("minimize", [True, False])
def test_once_exhausted_only_the_best_points_are_repeated(tmp_path: Path, minimize: bool) -> None:
    exp = make(tmp_path, SIX, seed=0, minimize=minimize)
    sign = 1.0 if minimize else -1.0
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=f".*{EXHAUSTED}")
        for _ in range(2):
            for t in exp.suggest(n=3):
                exp.complete(t.index, sign * loss(t.parameters))
    assert len({point(t) for t in exp.trials}) == 6
    with pytest.warns(UserWarning, match=f"all 6 points.*{EXHAUSTED}.*1 of these 1"):
        best = exp.suggest()
    assert point(best) == (2, "x")
    with pytest.warns(UserWarning, match=EXHAUSTED):
        second = exp.suggest()  # the best one is running: the next best
    assert point(second) == (2, "y")
    exp.complete(best.index, sign * loss(best.parameters))
    exp.complete(second.index, sign * loss(second.parameters))
    with pytest.warns(UserWarning, match=EXHAUSTED):
        pair = exp.suggest(n=2)
    assert {point(t) for t in pair} == {(2, "x"), (2, "y")}


@pytest.mark.parametrize("seed", range(2))
def test_a_batch_that_exhausts_the_space_fills_up_with_the_best(tmp_path: Path, seed: int) -> None:
    exp = make(tmp_path, SIX, seed=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=f".*{EXHAUSTED}")
        first = sweep(exp, 1, 3) + sweep(exp, 1, 2)  # start phase, then the model
    left = {(a, b) for a in (1, 2, 3) for b in "xy"} - {point(t) for t in first}
    with pytest.warns(UserWarning, match="all 6 points.*1 of these 2"):
        batch = exp.suggest(n=2)
    assert point(batch[0]) in left
    assert point(batch[1]) in {point(t) for t in first}
    assert loss(batch[1].parameters) == min(loss(t.parameters) for t in first)


# ------------------------------------------------------------------ pending points
@pytest.mark.usefixtures("not_exhausted")
def test_running_trials_are_not_suggested_again(tmp_path: Path) -> None:
    space = [axnb.Int("a", 1, 3), axnb.Choice("b", ["x", "y", "z"])]  # 9 points
    exp = make(tmp_path, space, seed=0)
    start = exp.suggest(n=2) + exp.suggest(n=2)
    assert {t.source for t in start} == {"init"}
    assert len({point(t) for t in start}) == 4
    for t in start:
        exp.complete(t.index, (loss(t.parameters), 0.2))
    model = exp.suggest(n=2) + exp.suggest(n=2)
    assert {t.source for t in model} == {"model"}
    assert len({point(t) for t in start + model}) == 8


# ------------------------------------------------------------------ parameter constraints
def test_a_constrained_discrete_space_is_swept_with_feasible_points_only(tmp_path: Path) -> None:
    space = [axnb.Int("a", 1, 4), axnb.Choice("b", ["x", "y"]), axnb.Int("c", 1, 4)]
    exp = make(tmp_path, space, constraints=["a + c <= 5"], seed=2)  # 10 * 2 = 20 points
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=f".*{EXHAUSTED}")
        trials = sweep(exp, 6, 3) + sweep(exp, 1, 2)
    assert len({point(t) for t in trials}) == 20
    with pytest.warns(UserWarning, match=f"all 20 points.*{EXHAUSTED}"):
        trials += exp.suggest(n=3)
    assert all(t.parameters["a"] + t.parameters["c"] <= 5 for t in trials)
