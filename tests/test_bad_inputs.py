"""Bad inputs give a clear ``ValueError`` subclass naming what is wrong, before anything touches
the disk: a failed creation leaves no file, ``.lock`` or temporary file, and a failed call on an
existing experiment leaves its file byte-identical. Degenerate data get a clear error or
warning instead of silent nonsense."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import axnb
from axnb.space import SearchSpace, parse_parameter

BIG = 10**400
XY = [axnb.Range("x1", 0, 1), axnb.Range("x2", 0, 1)]


def refused(
    folder: Path, error: type[Exception], match: str, make: Callable[[], Any]
) -> pytest.ExceptionInfo:
    """``make()`` raises ``error`` (a ValueError) matching ``match`` and writes nothing."""
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(error, match=match) as info:
        make()
    assert isinstance(info.value, ValueError)
    assert sorted(p.name for p in folder.iterdir()) == before  # no file, .lock or temp file
    return info


def create(folder: Path, **kwargs: Any) -> axnb.Experiment:
    kwargs.setdefault("name", "e")
    kwargs.setdefault("parameters", XY)
    return axnb.Experiment(path=folder, **kwargs)


@pytest.fixture
def exp(tmp_path: Path) -> axnb.Experiment:
    e = create(tmp_path, objective="loss", outcome_constraints=["lat <= 5"], seed=0)
    e.attach({"x1": 0.2, "x2": 0.3}, result={"loss": 1.0, "lat": 1.0})
    e.attach({"x1": 0.4, "x2": 0.1})
    return e


@pytest.fixture
def unchanged(exp: axnb.Experiment) -> Iterator[None]:
    """The file of ``exp`` is byte-identical after the test's failed calls."""
    raw = exp.path.read_bytes()
    yield
    assert exp.path.read_bytes() == raw
    assert len(axnb.load(exp.path).trials) == 2


# ------------------------------------------------------------------ 10**400 everywhere
@pytest.mark.parametrize("make", [
    lambda: axnb.Range("x", 0, BIG),
    lambda: axnb.Range("x", -BIG, 0),
    lambda: axnb.Int("n", 0, BIG),
    lambda: axnb.Fixed("f", BIG),
    lambda: axnb.Choice("c", [1, BIG]),
    lambda: axnb.Choice("c", [1.5, BIG]),
    lambda: parse_parameter({"name": "x", "type": "range", "bounds": [0, BIG]}),
    lambda: parse_parameter({"name": "c", "type": "choice", "values": [1, BIG],
                             "value_type": "float"}),
], ids=["range-high", "range-low", "int", "fixed", "choice-int", "choice-float", "ax-range",
        "ax-choice"])
def test_a_number_too_large_for_a_float_is_a_clear_parameter_error(make: Callable) -> None:
    with pytest.raises(axnb.InvalidParameterError, match=r"digits\)") as info:
        make()
    assert len(str(info.value)) < 400  # the 401 digits are not dumped into the message


@pytest.mark.parametrize(("constraint", "words"), [
    (f"x1 <= {BIG}", "too large"),
    (f"{BIG} * x1 <= 1", "too large"),
    ("x1 <= 10**400", "too large"),
    ("x1 <= 10.0**400", "too large"),
    ("x1 <= (-1)**0.5", "not a real number"),
    ("x1 <= 0**-1", "divides by zero"),
    ("x1 <= 1e309", "not finite"),
    ("1e308 * x1 + 1e308 * x2 <= 1", "overflow"),
    ("x1 <= 1\0", "Cannot parse"),
], ids=["int-bound", "int-coef", "pow", "float-pow", "complex", "zero-division", "inf",
        "overflow-over-box", "null-byte"])
def test_bad_numbers_in_constraints_are_constraint_errors(
    tmp_path: Path, constraint: str, words: str
) -> None:
    refused(tmp_path, axnb.ConstraintError, words, lambda: create(tmp_path,
                                                                  constraints=[constraint]))


@pytest.mark.parametrize("bound", [f"lat <= {BIG}", "lat <= 10**400", "1e-300 * lat <= 1e300"])
def test_bad_numbers_in_outcome_constraints_are_constraint_errors(
    tmp_path: Path, bound: str
) -> None:
    refused(tmp_path, axnb.ConstraintError, "lat",
            lambda: create(tmp_path, outcome_constraints=[bound]))


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda e: e.attach({"x1": BIG, "x2": 0.5}), axnb.InvalidParameterError, "'x1'"),
    (lambda e: e.attach({"x1": 0.5, "x2": 0.5}, result=BIG), axnb.TrialError, "'loss'"),
    (lambda e: e.attach({"x1": 0.5, "x2": 0.5}, result={"loss": (1.0, BIG), "lat": 1.0}),
     axnb.TrialError, "SEM of 'loss'"),
    (lambda e: e.complete(1, {"loss": BIG, "lat": 1.0}), axnb.TrialError, "'loss'"),
    (lambda e: e.complete(1, {"loss": 1.0, "lat": -BIG}), axnb.TrialError, "'lat'"),
    (lambda e: e.complete(1, axnb.Rate(BIG, BIG)), axnb.TrialError, "Rate"),
    (lambda e: e.suggest(fixed={"x1": BIG}), axnb.InvalidParameterError, "'x1'"),
    (lambda e: e.suggest(n=BIG), ValueError, "n must be a positive integer up to"),
    (lambda e: e.predict([{"x1": BIG, "x2": 0.5}]), axnb.InvalidParameterError, "'x1'"),
    (lambda e: e.complete(1, {"loss": 1.0, "lat": 1.0, "x1": 2.0}), ValueError,
     "parameter 'x1'"),
    (lambda e: e.complete(1, {"loss": 1.0, "lat": 1.0, "index": 2.0}), ValueError, "'index'"),
    (lambda e: e.complete(1, {"loss": 1.0, "lat": 1.0, "loss_sem": 2.0}), ValueError,
     "standard-error column"),
    (lambda e: e.complete(1, {"loss": 1.0, "lat": 1.0, "\ud800": 2.0}), axnb.TrialError,
     "UTF-8"),
], ids=["attach-param", "attach-result", "attach-sem", "complete-mean", "complete-constraint-"
        "metric", "rate", "suggest-fixed", "suggest-n", "predict", "metric-named-like-parameter",
        "metric-named-index", "metric-named-like-a-sem-column", "surrogate-metric"])
def test_bad_values_for_an_existing_experiment_leave_its_file_unchanged(
    exp: axnb.Experiment, call: Callable, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words) as info:
        call(exp)
    assert isinstance(info.value, ValueError)
    assert len(str(info.value)) < 600


# ------------------------------------------------------------------ parameters
def test_fixed_nan_names_the_parameter_and_leaves_no_lock(tmp_path: Path) -> None:
    for value in (float("nan"), float("inf"), -float("inf"), np.float64("nan")):
        refused(tmp_path, axnb.InvalidParameterError, "Fixed parameter 'f'.*finite",
                lambda v=value: create(tmp_path, parameters=[*XY, axnb.Fixed("f", v)]))


@pytest.mark.parametrize("spec", [
    {"name": "x", "type": "range", "bounds": [1, 10], "log_scale": "false"},
    {"name": "x", "type": "range", "bounds": [1, 10], "log_scale": "False"},
    {"name": "x", "type": "range", "bounds": [1, 10], "log_scale": "yes"},
    {"name": "n", "type": "range", "bounds": [1, 10], "value_type": "int", "log_scale": "true"},
    {"name": "c", "type": "choice", "values": [1, 2], "is_ordered": "false"},
])
def test_string_flags_in_ax_dicts_are_refused_not_read_as_true(spec: dict) -> None:
    with pytest.raises(axnb.InvalidParameterError, match=f"'{spec['name']}'.*True or False"):
        parse_parameter(spec)


def test_real_bools_in_ax_dicts_still_work() -> None:
    spec = {"name": "x", "type": "range", "bounds": [1, 10], "log_scale": np.bool_(False)}
    assert parse_parameter(spec).log is False
    assert parse_parameter({**spec, "log_scale": True}).log is True
    with pytest.raises(axnb.InvalidParameterError, match="log must be True or False"):
        axnb.Range("x", 1, 10, log="false")  # type: ignore[arg-type]
    with pytest.raises(axnb.InvalidParameterError, match="ordered must be True or False"):
        axnb.Choice("c", [1, 2], ordered="no")  # type: ignore[arg-type]


def test_numpy_strings_and_scalars_are_plain_values(tmp_path: Path) -> None:
    opt = axnb.Choice("opt", [np.str_("adam"), np.str_("sgd")])
    assert opt.values == ("adam", "sgd") and all(type(v) is str for v in opt.values)
    assert type(axnb.Choice("o", ["adam", "sgd"]).validate(np.str_("adam"))) is str
    assert type(axnb.Choice("b", [np.float64(0.5), 1.5]).values[0]) is float
    assert type(axnb.Fixed("f", np.str_("a")).value) is str
    e = create(tmp_path, parameters=[axnb.Range("x", np.float64(0), np.float64(1)),
                                     axnb.Choice("opt", ["adam", "sgd"])])
    t = e.attach({"x": np.float64(0.5), "opt": np.str_("sgd")}, result=np.float32(1.0))
    assert t.parameters == {"x": 0.5, "opt": "sgd"}
    assert [type(v) for v in t.parameters.values()] == [float, str]
    (s,) = e.suggest(n=1, fixed={"opt": np.str_("adam")})
    assert type(s.parameters["opt"]) is str


def test_strings_that_cannot_be_saved_are_refused_before_writing(tmp_path: Path) -> None:
    refused(tmp_path, axnb.InvalidParameterError, "UTF-8",
            lambda: create(tmp_path, parameters=[*XY, axnb.Choice("c", ["a", "\ud800"])]))
    refused(tmp_path, axnb.InvalidParameterError, "UTF-8",
            lambda: create(tmp_path, parameters=[*XY, axnb.Range("x\udcff", 0, 1)]))
    refused(tmp_path, ValueError, "UTF-8", lambda: create(tmp_path, name="e\ud800"))


def test_a_range_wider_than_a_float_is_refused() -> None:
    with pytest.raises(axnb.InvalidParameterError, match="wider than a float"):
        axnb.Range("x", -1.7e308, 1.7e308)


# ------------------------------------------------------------------ names and paths
def test_a_long_name_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    info = refused(tmp_path, ValueError, "300 characters.*at most 200",
                   lambda: create(tmp_path, name="a" * 300))
    assert len(str(info.value)) < 400
    refused(tmp_path, ValueError, "at most 200", lambda: create(tmp_path, name="é" * 150))
    assert create(tmp_path, name="a" * 200).path.exists()


def test_a_path_the_file_system_refuses_is_a_value_error(tmp_path: Path) -> None:
    refused(tmp_path, ValueError, "path component.*bytes long",
            lambda: axnb.Experiment("e", XY, path=tmp_path / ("b" * 250 + ".json")))
    refused(tmp_path, ValueError, "path component",
            lambda: axnb.Experiment("e", XY, path=tmp_path / ("c" * 300) / "e.json"))


@pytest.mark.parametrize("name", ["a\nb", "tab\there", "bell\x07", "a/b", "..", "  "])
def test_names_with_control_characters_or_separators_are_refused(
    tmp_path: Path, name: str
) -> None:
    refused(tmp_path, ValueError, "name", lambda: create(tmp_path, name=name))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=260))
def test_any_name_either_works_or_is_a_value_error_before_writing(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    folder = tmp_path_factory.mktemp("names")
    try:
        e = create(folder, name=name)
    except ValueError as error:
        assert "name" in str(error).lower()
        assert list(folder.iterdir()) == []
        return
    assert e.path.exists() and axnb.load(e.path).name == name


# ------------------------------------------------------------------ metric names
@pytest.mark.parametrize("kwargs", [
    {"objective": "x1"},
    {"objectives": {"acc": "max", "x2": "min"}},
    {"objective": "status"},
    {"objectives": {"loss": "min", "loss_sem": "min"}},
    {"objective": "loss", "outcome_constraints": ["x1 <= 3"]},
    {"parameters": [axnb.Range("loss_sem", 0, 1)], "objective": "loss"},
])
def test_a_metric_that_would_share_a_dataframe_column_is_refused(
    tmp_path: Path, kwargs: dict
) -> None:
    refused(tmp_path, ValueError, "parameter|column|metric", lambda: create(tmp_path, **kwargs))


def test_string_booleans_for_minimize_and_overwrite_are_refused(tmp_path: Path) -> None:
    refused(tmp_path, ValueError, "minimize must be True or False",
            lambda: create(tmp_path, minimize="false"))
    e = create(tmp_path)
    e.attach({"x1": 0.5, "x2": 0.5}, result=1.0)
    raw = e.path.read_bytes()
    refused(tmp_path, ValueError, "overwrite must be True or False",
            lambda: create(tmp_path, parameters=[axnb.Range("y", 0, 1)], overwrite="false"))
    assert e.path.read_bytes() == raw


# ------------------------------------------------------------------ constraints
def test_a_constraint_with_a_thousand_terms_works(tmp_path: Path) -> None:
    params = [axnb.Range(f"p{i}", 0, 1) for i in range(1000)]
    text = " + ".join(f"p{i}" for i in range(1000)) + " <= 10"
    e = create(tmp_path, parameters=params, constraints=[text])
    assert e.space.constraints[0].coefficients == {f"p{i}": 1.0 for i in range(1000)}
    e2 = create(tmp_path, name="same", constraints=[" + ".join(["x1"] * 1000) + " <= 1"])
    assert e2.space.constraints[0].coefficients == {"x1": 1000.0}


@pytest.mark.parametrize("text", [
    " + ".join(["x1"] * 100_000) + " <= 1",
    "(" * 300 + "x1" + ")" * 300 + " <= 1",
    "-" * 20_000 + "x1 <= 1",
    "x1 <= " + "+".join(["1"] * 100_000),
], ids=["100k-terms", "deep-parentheses", "deep-unary", "long-constant-sum"])
def test_constraints_too_big_for_the_parser_are_constraint_errors(
    tmp_path: Path, text: str
) -> None:
    info = refused(tmp_path, axnb.ConstraintError, "Constraint|constraint",
                   lambda: create(tmp_path, constraints=[text]))
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize(("parameters", "constraints", "words"), [
    (XY, ["x1 + x2 >= 3"], "'x1 \\+ x2 >= 3' cannot be satisfied.*misses it by 1"),
    (XY, ["x1 - x2 == 2"], "cannot be satisfied"),
    (XY, ["x1 + x2 <= 0.5", "x1 + x2 >= 1"], "together"),
    (XY, ["x1 <= 0.2", "x2 <= 0.2", "x1 + x2 >= 0.5"], "together"),
    ([axnb.Int("n", 0, 5), axnb.Range("x", 0, 1)], ["2*n == 3"], "not an integer"),
    ([axnb.Range("x", 0, 1), axnb.Fixed("f", 5.0)], ["x + f <= 4"], "cannot be satisfied"),
    ([axnb.Int("a", 0, 3), axnb.Int("b", 0, 3)], ["2*a + 2*b == 3"], "integers"),
    ([axnb.Int("a", 0, 3), axnb.Int("b", 0, 3)], ["a - b >= 0.2", "a - b <= 0.8"],
     "with \\['a', 'b'\\] integers"),
    ([axnb.Int("a", 0, 3), axnb.Range("x", 0, 0.4)], ["a + x == 1.5"], "integers"),
])
def test_infeasible_constraints_are_refused_at_creation_before_any_file(
    tmp_path: Path, parameters: list, constraints: list[str], words: str
) -> None:
    refused(tmp_path, axnb.InfeasibleError, words,
            lambda: create(tmp_path, parameters=parameters, constraints=constraints))


def test_feasible_constraints_are_still_accepted(tmp_path: Path) -> None:
    e = create(tmp_path, constraints=["x1 + x2 == 1", "x1 - x2 >= 0.2"])
    t = e.suggest()
    assert abs(t.parameters["x1"] + t.parameters["x2"] - 1) < 1e-6
    create(tmp_path, name="e2", parameters=[axnb.Int("n", 0, 5), axnb.Range("x", 0, 1)],
           constraints=["2*n == 4"])


def test_import_axnb_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, axnb; bad = [m for m in ('torch', 'scipy', 'numpy') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


TOKENS = ["x1", "x2", "n", "c", "+", "-", "*", "/", "**", "(", ")", "<=", ">=", "==", "=", "<",
          "0", "1", "2.5", "-1", "1e308", "1e-320", "10**400", "(-1)**0.5", "0**-1", "0.0",
          "x1*x2", ".", ",", "%", "abs(", "True", "'a'", "nan", " "]


@settings(max_examples=300, deadline=None)
@given(tokens=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14))
def test_any_constraint_text_parses_or_is_a_constraint_error(tokens: list[str]) -> None:
    space = SearchSpace.build([*XY, axnb.Int("n", 0, 4), axnb.Choice("c", ["a", "b"])])
    text = " ".join(tokens)
    from axnb.constraints import check_feasible, parse_constraint, parse_outcome_constraint

    try:
        c = parse_constraint(text, space)
    except axnb.ConstraintError:
        pass
    else:
        assert all(math.isfinite(v) for v in [*c.coefficients.values(), c.bound])
        space.constraints = [c]
        with contextlib.suppress(axnb.InfeasibleError):
            check_feasible(space)
    try:
        o = parse_outcome_constraint(text)
    except axnb.ConstraintError:
        pass
    else:
        assert math.isfinite(o.bound)


# ------------------------------------------------------------------ property: bad values
BAD_VALUES = st.one_of(
    st.integers(min_value=2**1030), st.integers(max_value=-(2**1030)),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), None, "0.5", True, [0.5],
                     {"x": 1}, b"1", complex(1, 1), np.array([0.1, 0.2]), 1.5, -0.5]),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=BAD_VALUES, which=st.sampled_from(["x1", "x2"]))
def test_any_bad_parameter_value_is_refused_and_the_file_kept(
    exp: axnb.Experiment, value: Any, which: str
) -> None:
    raw = exp.path.read_bytes()
    params = {"x1": 0.5, "x2": 0.5, which: value}
    for call in (lambda: exp.attach(params), lambda: exp.suggest(fixed={which: value}),
                 lambda: exp.predict([params])):
        with pytest.raises(axnb.InvalidParameterError, match=f"'{which}'"):
            call()
    assert exp.path.read_bytes() == raw


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mean=st.one_of(BAD_VALUES.filter(lambda v: not isinstance(v, float) or
                                        not math.isfinite(v) or v in (1.5, -0.5)),
                      st.just(0.0)),
       sem=st.one_of(st.none(), st.just(-1.0), BAD_VALUES))
def test_any_bad_result_is_refused_and_the_file_kept(
    exp: axnb.Experiment, mean: Any, sem: Any
) -> None:
    ok_mean = isinstance(mean, float) and math.isfinite(mean)
    ok_sem = sem is None or (isinstance(sem, float) and math.isfinite(sem) and sem >= 0)
    if ok_mean and ok_sem:
        return
    raw = exp.path.read_bytes()
    with pytest.raises(axnb.TrialError, match="'loss'|Result"):
        exp.complete(1, {"loss": (mean, sem), "lat": 1.0})
    assert exp.path.read_bytes() == raw and exp.trial(1).status == "running"


# ------------------------------------------------------------------ degenerate data
@pytest.mark.usefixtures("unchanged")
def test_suggest_n_with_every_parameter_pinned_is_a_clear_error(exp: axnb.Experiment) -> None:
    with pytest.raises(axnb.InfeasibleError, match="3 distinct.*every tunable parameter is "
                       "pinned.*only 1 distinct point"):
        exp.suggest(n=3, fixed={"x1": 0.1, "x2": 0.2})


def test_suggest_n_beyond_the_discrete_points_left_is_a_clear_error(tmp_path: Path) -> None:
    e = create(tmp_path, parameters=[axnb.Choice("c", ["a", "b"]), axnb.Range("x", 0, 1)])
    raw = e.path.read_bytes()
    with pytest.raises(axnb.InfeasibleError, match="only 2 distinct points.*n=2"):
        e.suggest(n=3, fixed={"x": 0.5})
    assert e.path.read_bytes() == raw
    assert e.suggest(n=1, fixed={"x": 0.5, "c": "a"})[0].parameters == {"c": "a", "x": 0.5}


@pytest.mark.parametrize("seed", range(6))
def test_suggest_n_gives_distinct_points_when_few_are_left(tmp_path: Path, seed: int) -> None:
    e = create(tmp_path, parameters=[axnb.Choice("c", ["a", "b", "c"]), axnb.Range("x", 0, 1)],
               seed=seed)
    ts = e.suggest(n=3, fixed={"x": 0.5})
    assert sorted(t.parameters["c"] for t in ts) == ["a", "b", "c"]


@pytest.mark.parametrize("seed", range(3))
def test_a_small_discrete_space_is_covered_before_any_repeat_and_exhaustion_is_announced(
    tmp_path: Path, seed: int
) -> None:
    e = create(tmp_path, parameters=[axnb.Choice("c", list("abcde"))], seed=seed, objective="loss",
               initial_trials=5)
    seen = []
    for _ in range(5):
        t = e.suggest()
        e.complete(t.index, {"loss": float(ord(t.parameters["c"]) % 3)})
        seen.append(t.parameters["c"])
    assert sorted(seen) == list("abcde")  # the start design never repeats a tried point
    with pytest.warns(UserWarning, match="all 5 points of the search space have been tried"):
        e.suggest()


def test_batches_in_a_small_integer_space_announce_exhaustion(tmp_path: Path) -> None:
    e = create(tmp_path, parameters=[axnb.Int("a", 1, 3), axnb.Int("b", 1, 2)], seed=0,
               objective="loss")
    seen = set()
    for _ in range(2):
        batch = e.suggest(n=3)
        seen |= {(t.parameters["a"], t.parameters["b"]) for t in batch}
        for t in batch:
            e.complete(t.index, {"loss": t.parameters["a"] + 0.5 * t.parameters["b"]})
    assert len(seen) == 6
    with pytest.warns(UserWarning, match="all 6 points.*3 of these 3 suggestion"):
        e.suggest(n=3)


def test_best_warns_when_no_trial_meets_the_outcome_constraints(tmp_path: Path) -> None:
    e = create(tmp_path, objective="loss", outcome_constraints=["lat <= 1"])
    e.attach({"x1": 0.1, "x2": 0.1}, result={"loss": 1.0, "lat": 3.0})
    e.attach({"x1": 0.2, "x2": 0.2}, result={"loss": 0.5, "lat": 2.0})
    with pytest.warns(UserWarning, match="least-violating.*lat = 2 \\(needs <= 1\\)"):
        params, _ = e.best()
    assert params == {"x1": 0.2, "x2": 0.2}
    e.attach({"x1": 0.3, "x2": 0.3}, result={"loss": 0.9, "lat": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert e.best()[0] == {"x1": 0.3, "x2": 0.3}


def test_results_at_1e300_give_clear_errors_and_no_overflow_warnings(tmp_path: Path) -> None:
    e = create(tmp_path, objective="y", outcome_constraints=["c <= 1e299"], initial_trials=2)
    for i in range(5):
        e.attach({"x1": i / 5, "x2": (3 * i % 5) / 5},
                 result={"y": 1e300 * (i % 3), "c": 1e300 * (i % 2)})
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*overflow.*")
        with pytest.raises(axnb.TrialError, match="'y' reach 2e\\+300.*rescale"):
            e.predict([{"x1": 0.5, "x2": 0.5}])
        assert e.best()[1]["y"] == (0.0, None)
        with pytest.warns(RuntimeWarning, match="'y' reach 2e\\+300.*rescale"):
            assert e.suggest().source == "fallback"
        notes = [a.text for a in e.plot.slice("x1").layout.annotations]
        assert any("'y' reach 2e+300" in n and "rescale" in n for n in notes)


def test_parameters_at_1e300_scale_with_a_constraint_raise_no_overflow(tmp_path: Path) -> None:
    e = create(tmp_path, parameters=[axnb.Range("x", -1e300, 1e300), axnb.Range("z", 0, 1e300)],
               constraints=["x + z <= 1e300"], initial_trials=3, seed=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=RuntimeWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        for i in range(4):
            t = e.suggest()
            e.complete(t.index, float(i % 3))
        assert t.source == "model"
        means, sems = e.predict([{"x": 0.0, "z": 1e299}])["objective"]
        assert all(map(math.isfinite, means + sems))


def test_a_failure_reason_that_utf8_cannot_hold_is_escaped(exp: axnb.Experiment) -> None:
    exp.fail(1, reason="bad \ud800 byte")
    assert axnb.load(exp.path).trial(1).reason == "bad \\ud800 byte"
