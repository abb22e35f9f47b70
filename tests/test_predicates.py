"""Python predicate constraints: checked on attach, recorded in the file by name and source,
required again on reopening (axnb.load(path, constraints=[...]))."""

import json
import subprocess
import sys

import pytest

import axnb

SPACE = [axnb.Int("hidden", 8, 64), axnb.Int("heads", 1, 8), axnb.Range("lr", 0.001, 0.1)]


def divisible(p):
    return p["hidden"] % p["heads"] == 0


def make(tmp_path, constraints=(divisible,), name="net"):
    return axnb.Experiment(name, SPACE, constraints=list(constraints), objective="loss",
                           path=tmp_path, seed=0)


def test_attach_of_a_violating_point_raises_and_changes_nothing(tmp_path):
    exp = make(tmp_path)
    exp.attach({"hidden": 32, "heads": 4, "lr": 0.01}, result=1.0)
    before = exp.path.read_bytes()
    with pytest.raises(axnb.ConstraintError, match=r"violate constraint 'divisible'"):
        exp.attach({"hidden": 30, "heads": 4, "lr": 0.01})
    assert exp.path.read_bytes() == before and len(exp.trials) == 1


def test_the_file_records_name_and_source(tmp_path):
    exp = make(tmp_path, constraints=["hidden - 4*heads >= 0", divisible])
    raw = json.loads(exp.path.read_text())
    cons = raw["config"]["constraints"]
    assert cons[0] == "hidden - 4*heads >= 0"
    assert cons[1]["predicate"] == "divisible"
    assert cons[1]["source"].startswith("def divisible(p):")
    assert 'p["hidden"] % p["heads"] == 0' in cons[1]["source"]


def test_a_lambda_is_recorded_by_its_own_source(tmp_path):
    exp = make(tmp_path, constraints=["hidden >= 16", lambda p: p["heads"] != 3])
    (record,) = [c for c in exp.config()["constraints"] if isinstance(c, dict)]
    assert record == {"predicate": "<lambda>", "source": 'lambda p: p["heads"] != 3'}
    with pytest.raises(axnb.ConstraintError, match="violate constraint lambda"):
        exp.attach({"hidden": 16, "heads": 3, "lr": 0.01})


def test_reopening_needs_the_function_again(tmp_path):
    exp = make(tmp_path)
    exp.attach({"hidden": 32, "heads": 4, "lr": 0.01}, result=1.0)
    before = exp.path.read_bytes()
    with pytest.raises(axnb.ConstraintError,
                       match=r"(?s)'divisible'.*def divisible.*axnb\.load\(.*constraints="):
        axnb.load(exp.path)
    again = axnb.load(exp.path, constraints=[divisible])
    assert len(again.trials) == 1
    with pytest.raises(axnb.ConstraintError, match="violate constraint 'divisible'"):
        again.attach({"hidden": 30, "heads": 4, "lr": 0.01})
    assert exp.path.read_bytes() == before


def test_a_different_function_under_the_same_name_is_refused(tmp_path):
    make(tmp_path)

    def divisible(p):  # another body under the recorded name
        return p["hidden"] % (2 * p["heads"]) == 0

    with pytest.raises(axnb.ConstraintError, match=r"(?s)differs.*recorded:.*given:"):
        axnb.load(tmp_path / "net.axnb.json", constraints=[divisible])
    with pytest.raises(axnb.ConstraintError, match="does not have"):
        axnb.load(tmp_path / "net.axnb.json", constraints=[divisible_too])


def divisible_too(p):
    return True


def test_rerunning_the_cell_resumes_and_a_changed_predicate_is_a_mismatch(tmp_path):
    exp = make(tmp_path)
    exp.attach({"hidden": 32, "heads": 4, "lr": 0.01}, result=1.0)
    assert len(make(tmp_path).trials) == 1
    with pytest.raises(axnb.ConfigurationMismatchError, match="constraints"):
        make(tmp_path, constraints=(divisible_too,))


def test_the_report_reads_an_experiment_without_its_functions(tmp_path):
    exp = make(tmp_path)
    exp.attach({"hidden": 32, "heads": 4, "lr": 0.01}, result=1.0)
    out = tmp_path / "r.html"
    done = subprocess.run([sys.executable, "-m", "axnb.cli", "report", str(exp.path), "-o",
                           str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.exists()


def test_a_predicate_that_raises_is_a_clear_error(tmp_path):
    exp = make(tmp_path, constraints=[lambda p: p["missing"] > 0])
    with pytest.raises(axnb.ConstraintError, match=r"raised KeyError.*must return True or"):
        exp.attach({"hidden": 32, "heads": 4, "lr": 0.01})


# --------------------------------------------------------------------- suggestions
def stripes(p):
    """About a third of the (x1, x2) square, in diagonal stripes; not smooth."""
    return (int(10 * p["x1"]) + int(10 * p["x2"])) % 3 == 0


def bowl(p):
    return sum((p[f"x{i}"] - 0.35) ** 2 for i in range(1, 4))


def test_no_suggestion_violates_a_predicate_start_model_and_batches(tmp_path):
    exp = axnb.Experiment("stripes", [axnb.Range(f"x{i}", 0.0, 1.0) for i in range(1, 4)],
                          constraints=[stripes], objective="y", path=tmp_path, seed=3,
                          initial_trials=5)
    sources = set()
    for n in (1, 3, 1, 2, 1, 3):
        batch = exp.suggest(n=n)
        for t in batch if isinstance(batch, list) else [batch]:
            assert stripes(t.parameters), t.parameters
            sources.add(t.source)
            exp.complete(t.index, bowl(t.parameters))
    assert {"init", "model"} <= sources


def test_a_predicate_with_linear_constraints_and_integers(tmp_path):
    exp = axnb.Experiment("mixed", [axnb.Int("hidden", 8, 64), axnb.Int("heads", 1, 8),
                                    axnb.Range("lr", 0.0, 1.0)],
                          constraints=["hidden >= 4*heads", divisible], objective="loss",
                          path=tmp_path, seed=0, initial_trials=4)
    for _ in range(8):
        t = exp.suggest()
        p = t.parameters
        assert p["hidden"] % p["heads"] == 0 and p["hidden"] >= 4 * p["heads"], p
        exp.complete(t.index, (p["hidden"] - 40) ** 2 / 100 + p["lr"])


def test_a_small_discrete_space_with_a_predicate_is_swept_without_repeats(tmp_path):
    exp = axnb.Experiment("grid", [axnb.Int("a", 1, 4), axnb.Int("b", 1, 4)],
                          constraints=[lambda p: (p["a"] + p["b"]) % 2 == 0], objective="y",
                          path=tmp_path, seed=0, initial_trials=3)
    seen = set()
    for _ in range(8):  # 8 points have a + b even
        t = exp.suggest()
        key = (t.parameters["a"], t.parameters["b"])
        assert sum(key) % 2 == 0 and key not in seen
        seen.add(key)
        exp.complete(t.index, float(key[0] * key[1]))
    assert len(seen) == 8


def test_a_predicate_nothing_satisfies_is_a_clear_error(tmp_path):
    exp = axnb.Experiment("never", [axnb.Range("x", 0.0, 1.0)],
                          constraints=[lambda p: p["x"] > 2], objective="y", path=tmp_path)
    with pytest.raises(axnb.InfeasibleError, match=r"lambda.*allow 0 of"):
        exp.suggest()
    assert exp.trials == []
