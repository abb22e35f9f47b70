"""Linear parameter constraints and outcome constraints."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import axnb
from axnb.constraints import parse_constraint, parse_outcome_constraint
from axnb.space import SearchSpace

SPACE = SearchSpace.build(
    [axnb.Range(n, -5, 5) for n in ("x", "y", "z")]
    + [axnb.Int("k", 0, 10), axnb.Range("lr", 1e-3, 1, log=True), axnb.Choice("c", ["a", "b"]),
       axnb.Fixed("e", 2)]
)


@pytest.mark.parametrize(
    "text, coefficients, op, bound",
    [
        ("x - y >= 1", {"x": -1.0, "y": 1.0}, "<=", -1.0),
        ("2*x + 0.5*y <= 1.5", {"x": 2.0, "y": 0.5}, "<=", 1.5),
        ("x + y + z == 1", {"x": 1.0, "y": 1.0, "z": 1.0}, "==", 1.0),
        ("x + y + z = 1", {"x": 1.0, "y": 1.0, "z": 1.0}, "==", 1.0),
        ("x <= y + 0.5", {"x": 1.0, "y": -1.0}, "<=", 0.5),
        ("3 >= (x + y) / 2", {"x": 0.5, "y": 0.5}, "<=", 3.0),
        ("x + k <= 2 * e", {"x": 1.0, "k": 1.0}, "<=", 4.0),
        ("-x >= -1 - y", {"x": 1.0, "y": -1.0}, "<=", 1.0),
    ],
)
def test_linear_forms(text, coefficients, op, bound):
    c = parse_constraint(text, SPACE)
    assert c.coefficients == pytest.approx(coefficients)
    assert (c.op, c.bound) == (op, pytest.approx(bound))


@pytest.mark.parametrize(
    "text, needle",
    [
        ("x * y <= 1", "not linear"),
        ("x / y <= 1", "not linear"),
        ("x ** 2 <= 1", "not linear"),
        ("abs(x) <= 1", "not linear"),
        ("x + q <= 1", "unknown parameter 'q'"),
        ("lr + x <= 1", "log-scale"),
        ("c <= 1", "choice parameter"),
        ("x < 1", "strict"),
        ("0 <= x <= 1", "exactly one comparison"),
        ("x + y", "exactly one comparison"),
        ("x - x <= 1", "no tunable parameter"),
        ("__import__('os').system('echo hi') == 0", "not linear"),
        ("x +* y <= 1", "Cannot parse"),
    ],
)
def test_rejected_forms_show_accepted_forms(text, needle):
    with pytest.raises(axnb.ConstraintError, match=needle) as info:
        parse_constraint(text, SPACE)
    assert "Accepted forms" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_outcome_constraints():
    c = parse_outcome_constraint("latency <= 20")
    assert (c.metric, c.op, c.bound) == ("latency", "<=", 20.0)
    c = parse_outcome_constraint("0.9 <= acc")
    assert (c.metric, c.op, c.bound) == ("acc", ">=", 0.9)
    for bad in ["acc == 1", "acc + lat <= 2", "acc <= 5%", "acc * acc <= 1"]:
        with pytest.raises(axnb.ConstraintError):
            parse_outcome_constraint(bad)


def test_experiment_rejects_bad_constraints_with_nothing_written(tmp_path):
    with pytest.raises(axnb.ConstraintError):
        axnb.Experiment("c", [axnb.Range("x", 0, 1)], constraints=["x * x <= 1"], path=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_attach_checks_constraints(tmp_path):
    exp = axnb.Experiment(
        "w", [axnb.Range(f"w{i}", 0, 1) for i in (1, 2, 3)],
        constraints=["w1 + w2 + w3 == 1", "w1 - w2 >= 0.1"], path=tmp_path,
    )
    exp.attach({"w1": 0.5, "w2": 0.3, "w3": 0.2}, result=1.0)
    with pytest.raises(axnb.ConstraintError, match="w1 \\+ w2 \\+ w3 == 1"):
        exp.attach({"w1": 0.5, "w2": 0.3, "w3": 0.3})
    with pytest.raises(axnb.ConstraintError, match="w1 - w2 >= 0.1"):
        exp.attach({"w1": 0.3, "w2": 0.3, "w3": 0.4})
    assert len(exp.trials) == 1


names = st.sampled_from(["x", "y", "z", "k"])
coef = st.integers(-9, 9).filter(bool)
term = st.tuples(coef, names)


@settings(max_examples=200, deadline=None)
@given(
    lhs=st.lists(term, min_size=1, max_size=4),
    rhs=st.lists(term, max_size=3),
    const=st.integers(-20, 20),
    op=st.sampled_from(["<=", ">=", "=="]),
    point=st.fixed_dictionaries({n: st.integers(-5, 5) for n in ["x", "y", "z", "k"]}),
)
def test_parsed_constraint_agrees_with_direct_evaluation(lhs, rhs, const, op, point):
    """Property: the coefficient form says 'satisfied' exactly when the text is true."""
    point["k"] = abs(point["k"])
    left = " + ".join(f"{c}*{n}" for c, n in lhs)
    right = " + ".join([f"{c}*{n}" for c, n in rhs] + [str(const)])
    text = f"{left} {op} {right}"
    lv = sum(c * point[n] for c, n in lhs)
    rv = sum(c * point[n] for c, n in rhs) + const
    net = {n: 0 for n in point}
    for c, n in lhs:
        net[n] += c
    for c, n in rhs:
        net[n] -= c
    if not any(net.values()):
        with pytest.raises(axnb.ConstraintError):
            parse_constraint(text, SPACE)
        return
    truth = {"<=": lv <= rv, ">=": lv >= rv, "==": lv == rv}[op]
    assert parse_constraint(text, SPACE).satisfied(point, tol=1e-9) == truth
