"""Loops: optimize (Ax-compatible), run with executors, failures, background, Ctrl-C."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import axnb

BOOTH_PARAMS = [
    {"name": "x1", "type": "range", "bounds": [-10.0, 10.0]},
    {"name": "x2", "type": "range", "bounds": [-10.0, 10.0]},
]


def booth(p):
    return (p["x1"] + 2 * p["x2"] - 7) ** 2 + (2 * p["x1"] + p["x2"] - 5) ** 2


def sphere(p):
    return sum(v**2 for v in p.values())


def test_seed_readme_booth_example_runs_with_only_the_import_changed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from axnb import optimize

    best_parameters, best_values, experiment, model = optimize(
        parameters=[
            {
                "name": "x1",
                "type": "range",
                "bounds": [-10.0, 10.0],
            },
            {
                "name": "x2",
                "type": "range",
                "bounds": [-10.0, 10.0],
            },
        ],
        # Booth function
        evaluation_function=lambda p: (p["x1"] + 2 * p["x2"] - 7) ** 2
        + (2 * p["x1"] + p["x2"] - 5) ** 2,
        minimize=True,
    )
    assert set(best_parameters) == {"x1", "x2"}
    # unseeded, as in Ax's README: a loose bound (random search would be near 10 at best);
    # the engine's quality is measured by tests/test_engine_quality.py and the benchmark
    assert abs(best_parameters["x1"] - 1) < 2.0 and abs(best_parameters["x2"] - 3) < 2.0
    means, covariances = best_values
    assert means["objective"] < 5.0 and "objective" in covariances
    assert best_values["objective"][0] == means["objective"]
    assert len(experiment.trials) == 20
    assert experiment.path.parent == tmp_path and experiment.path.name.endswith(".axnb.json")
    assert set(model.predict(best_parameters)) == {"objective"}


def test_optimize_result_fields_and_resume(tmp_path):
    result = axnb.optimize(BOOTH_PARAMS, booth, total_trials=8, seed=1, path=tmp_path,
                           experiment_name="b", progress=False)
    assert result.best_parameters == result[0] and result.best_values is result.values
    assert result.experiment.path == tmp_path / "b.axnb.json"
    first = [t.parameters for t in result.experiment.trials]
    again = axnb.optimize(BOOTH_PARAMS, booth, total_trials=10, seed=1, path=tmp_path,
                          experiment_name="b", progress=False)
    assert len(again.experiment.trials) == 10  # resumed: only the 2 missing trials ran
    assert [t.parameters for t in again.experiment.trials[:8]] == first


def test_optimize_accepts_ax_aliases(tmp_path):
    result = axnb.optimize(
        [axnb.Range("x", 0, 1), axnb.Range("y", 0, 1)], sphere, total_trials=6,
        parameter_constraints=["x + y <= 1"], random_seed=3, path=tmp_path, progress=False,
    )
    assert all(t.parameters["x"] + t.parameters["y"] <= 1 + 1e-6
               for t in result.experiment.trials)
    assert result.experiment.seed == 3


def flaky(p):
    if p["x"] > 0.5:
        raise RuntimeError("simulated crash")
    return p["x"]


def test_exception_fails_the_trial_with_traceback_and_the_loop_goes_on(tmp_path):
    exp = axnb.Experiment("f", [axnb.Range("x", 0, 1)], path=tmp_path, seed=0)
    exp.run(flaky, trials=8, progress=False)
    assert len(exp.trials) == 8
    failed = [t for t in exp.trials if t.status == "failed"]
    assert failed and all("RuntimeError: simulated crash" in t.reason for t in failed)
    assert "Traceback" in failed[0].reason
    assert all(t.status in ("completed", "failed") for t in exp.trials)


def test_invalid_result_fails_the_trial(tmp_path):
    exp = axnb.Experiment("nan", [axnb.Range("x", 0, 1)], path=tmp_path, seed=0)
    with pytest.warns(UserWarning, match="all 2 trials of this run failed"):
        exp.run(lambda p: float("nan"), trials=2, progress=False)
    assert [t.status for t in exp.trials] == ["failed", "failed"]
    assert "finite" in exp.trials[0].reason


def test_thread_pool_parallel(tmp_path):
    exp = axnb.Experiment("t", [axnb.Range("x", -1, 1), axnb.Range("y", -1, 1)],
                          path=tmp_path, seed=0)
    with ThreadPoolExecutor(3) as pool:
        exp.run(sphere, trials=9, parallel=3, executor=pool, progress=False)
    assert len(exp.trials) == 9 and all(t.is_completed for t in exp.trials)
    params = [tuple(t.parameters.values()) for t in exp.trials]
    assert len(set(params)) == 9


def test_parallel_without_executor_uses_threads(tmp_path):
    exp = axnb.Experiment("p", [axnb.Range("x", -1, 1)], path=tmp_path, seed=0)
    exp.run(sphere, trials=4, parallel=2, progress=False)
    assert [t.status for t in exp.trials] == ["completed"] * 4


@pytest.mark.slow
def test_process_pool(tmp_path):
    exp = axnb.Experiment("pp", [axnb.Range("x", -1, 1), axnb.Range("y", -1, 1)],
                          path=tmp_path, seed=0)
    with ProcessPoolExecutor(2) as pool:
        exp.run(sphere, trials=6, parallel=2, executor=pool, progress=False)
    assert [t.status for t in exp.trials] == ["completed"] * 6
    assert exp.trials[0].result["objective"][0] == pytest.approx(sphere(exp.trials[0].parameters))


@pytest.mark.slow
def test_process_pool_with_unpicklable_function_says_why(tmp_path):
    exp = axnb.Experiment("pk", [axnb.Range("x", -1, 1)], path=tmp_path, seed=0)
    with ProcessPoolExecutor(1) as pool, pytest.raises(ValueError, match="pickled"):
        exp.run(lambda p: p["x"], trials=2, executor=pool, progress=False)
    assert all(t.status != "running" for t in exp.trials)


@pytest.mark.slow
def test_dask_local_cluster_with_two_worker_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    exp = axnb.Experiment("dask", [axnb.Range("x", -1, 1), axnb.Range("y", -1, 1)],
                          path=tmp_path, seed=0)

    def evaluate(p):  # defined here: sent by value with cloudpickle
        import os

        return {"objective": (p["x"] ** 2 + p["y"] ** 2, 0.0), "pid": float(os.getpid())}

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        exp.run(evaluate, trials=6, parallel=2, executor=client.get_executor(), progress=False)
    assert [t.status for t in exp.trials] == ["completed"] * 6
    pids = {t.result["pid"][0] for t in exp.trials}
    assert os.getpid() not in pids


def slow_sphere(p):
    time.sleep(0.2)
    return sphere(p)


def test_background_run_returns_a_handle(tmp_path):
    exp = axnb.Experiment("bg", [axnb.Range("x", -1, 1)], path=tmp_path, seed=0)
    events = []
    exp.subscribe(lambda e, t: events.append(e))
    handle = exp.run(slow_sphere, trials=4, background=True, progress=False)
    assert isinstance(handle, axnb.RunHandle) and not handle.done
    assert handle.wait(timeout=120) and handle.done
    assert [t.status for t in exp.trials] == ["completed"] * 4
    assert events.count("complete") == 4


def test_background_run_can_be_stopped(tmp_path):
    exp = axnb.Experiment("stop", [axnb.Range("x", -1, 1)], path=tmp_path, seed=0)
    handle = exp.run(slow_sphere, trials=200, background=True, progress=False)
    time.sleep(0.5)
    handle.stop()
    assert handle.done and len(exp.trials) < 200
    assert all(t.status == "completed" for t in exp.trials)


def test_keyboard_interrupt_abandons_in_flight_trials(tmp_path):
    exp = axnb.Experiment("ki", [axnb.Range("x", -1, 1)], path=tmp_path, seed=0)
    calls = []

    def f(p):
        calls.append(p)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return 1.0

    with pytest.raises(KeyboardInterrupt):
        exp.run(f, trials=10, progress=False)
    statuses = [t.status for t in axnb.load(exp.path).trials]
    assert statuses == ["completed", "completed", "abandoned"]


def test_ctrl_c_in_a_real_process_leaves_a_consistent_file(tmp_path):
    # A test runner started in the background inherits SIGINT ignored (POSIX shells do that
    # for background jobs) and so would this child: restore Python's Ctrl-C handler first.
    script = textwrap.dedent(f"""
        import signal, time, axnb
        signal.signal(signal.SIGINT, signal.default_int_handler)
        exp = axnb.Experiment("sig", [axnb.Range("x", 0, 1)], path={str(tmp_path)!r}, seed=0)
        def f(p):
            print("evaluating", flush=True)
            time.sleep(0.3)
            return p["x"]
        exp.run(f, trials=100, parallel=2, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    seen = 0
    while seen < 4:  # two evaluation threads: their lines may run together
        line = proc.stdout.readline()
        assert line, "the loop ended before it was interrupted"
        seen += line.count(b"evaluating")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    data = json.loads((tmp_path / "sig.axnb.json").read_text())
    statuses = [t["status"] for t in data["trials"]]
    assert "running" not in statuses and "completed" in statuses


def test_progress_bar_shows_best(tmp_path, capsys):
    exp = axnb.Experiment("bar", [axnb.Range("x", -1, 1)], path=tmp_path, seed=0)
    exp.run(sphere, trials=3)
    err = capsys.readouterr().err
    assert "3/3" in err and "best objective" in err


@pytest.mark.parametrize(
    "kw, needle",
    [
        ({"trials": -1}, "trials"),
        ({"parallel": 0}, "parallel"),
        ({"executor": object()}, "Executor"),
    ],
)
def test_bad_run_arguments(tmp_path, kw, needle):
    exp = axnb.Experiment("bad", [axnb.Range("x", -1, 1)], path=tmp_path)
    with pytest.raises(ValueError, match=needle):
        exp.run(sphere, **kw)
    with pytest.raises(ValueError, match="callable"):
        exp.run(42)
    assert exp.trials == []


def test_suggest_batches_are_distinct_and_pending(tmp_path):
    exp = axnb.Experiment("s", [axnb.Range("x", -1, 1), axnb.Int("n", 0, 5),
                                axnb.Choice("c", ["a", "b"])], path=tmp_path, seed=0)
    one = exp.suggest()
    assert isinstance(one, axnb.Trial) and one.status == "running" and one.source == "init"
    batch = exp.suggest(n=4)
    assert isinstance(batch, list) and len(batch) == 4
    keys = {tuple(t.parameters.values()) for t in [one, *batch]}
    assert len(keys) == 5
    pinned = exp.suggest(fixed={"c": "b"})
    assert pinned.parameters["c"] == "b"
    with pytest.raises(axnb.InvalidParameterError):
        exp.suggest(fixed={"c": "z"})
    with pytest.raises(ValueError, match="positive"):
        exp.suggest(n=0)
    assert len(json.loads(exp.path.read_text())["trials"]) == 6
    for t in exp.trials:
        assert type(t.parameters["n"]) is int and type(t.parameters["x"]) is float
        assert not math.isnan(t.parameters["x"])


def test_optimize_maximizes_by_default_like_ax(tmp_path):
    result = axnb.optimize([axnb.Range("x", 0, 1)], lambda p: p["x"], total_trials=6, seed=0,
                           path=tmp_path, progress=False)
    assert result.experiment.objective.minimize is False
    assert result.best_parameters["x"] == max(t.parameters["x"] for t in result.experiment.trials)
    low = axnb.optimize([axnb.Range("x", 0, 1)], lambda p: p["x"], total_trials=6, seed=0,
                        path=tmp_path, progress=False, minimize=True)
    assert low.best_parameters["x"] < result.best_parameters["x"]


def test_optimize_accepts_ax_keywords_it_ignores_with_one_warning(tmp_path):
    with pytest.warns(UserWarning, match="ignores Ax's generation_strategy, wait_time") as seen:
        result = axnb.optimize([axnb.Range("x", 0, 1)], sphere, total_trials=3, seed=0,
                               path=tmp_path, progress=False, generation_strategy=object(),
                               wait_time=1.0)
    assert len([w for w in seen if "ignores Ax" in str(w.message)]) == 1
    assert len(result.experiment.trials) == 3


def test_best_values_covariance_is_the_model_variance_when_sems_are_unknown(tmp_path):
    result = axnb.optimize(BOOTH_PARAMS, booth, total_trials=6, seed=0, path=tmp_path,
                           progress=False, minimize=True)
    means, covariances = result.best_values
    assert means["objective"] == result.best_values["objective"][0]
    variance = covariances["objective"]["objective"]
    assert math.isfinite(variance) and variance >= 0
    assert result.best_values["objective"][1] is None  # the observed sem stays unknown


def always_fails(p):
    raise RuntimeError(f"boom at x={p['x']:.2f}")


def failure_warnings(seen):
    return [w for w in seen if "of this run failed" in str(w.message)]


@pytest.mark.parametrize("background", [False, True])
def test_a_run_whose_every_trial_fails_ends_with_one_warning(tmp_path, background):
    exp = axnb.Experiment("fails", [axnb.Range("x", 0, 1)], path=tmp_path, seed=0)
    with pytest.warns(UserWarning, match="of this run failed") as seen:
        handle = exp.run(always_fails, trials=3, progress=False, background=background)
        if background:
            handle.wait(timeout=120)
    [warning] = failure_warnings(seen)
    text = str(warning.message)
    assert "all 3 trials" in text and "RuntimeError: boom at x=" in text
    assert "evaluation function" in text and "exp.trials[i].reason" in text
    assert text.endswith(f"RuntimeError: boom at x={exp.trials[0].parameters['x']:.2f}")


def test_optimize_whose_every_trial_fails_warns_once(tmp_path):
    with pytest.warns(UserWarning, match="all 2 trials of this run failed") as seen:
        result = axnb.optimize([axnb.Range("x", 0, 1)], always_fails, total_trials=2, seed=0,
                               path=tmp_path, progress=False)
    assert len(failure_warnings(seen)) == 1
    assert result.best_parameters is None
    assert [t.status for t in result.experiment.trials] == ["failed", "failed"]


def test_one_failed_trial_of_one_warns_and_invalid_results_count_as_failures(tmp_path):
    exp = axnb.Experiment("nan1", [axnb.Range("x", 0, 1)], path=tmp_path, seed=0)
    with pytest.warns(UserWarning, match="the one trial of this run failed") as seen:
        exp.run(lambda p: float("nan"), trials=1, progress=False)
    assert "TrialError: " in str(failure_warnings(seen)[0].message)


def test_no_failure_warning_when_a_trial_succeeds_or_none_ran(tmp_path):
    exp = axnb.Experiment("some", [axnb.Range("x", 0, 1)], path=tmp_path, seed=0)
    calls = []

    def fails_but_once(p):
        calls.append(p)
        if len(calls) > 1:
            raise RuntimeError("boom")
        return p["x"]

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        exp.run(fails_but_once, trials=4, progress=False)
        exp.run(always_fails, trials=0, progress=False)
    assert [t.status for t in exp.trials] == ["completed"] + ["failed"] * 3
    assert failure_warnings(seen) == []


@pytest.mark.parametrize("parallel", [1, 2])
def test_exit_during_a_background_run_with_a_dashboard_is_clean(tmp_path, parallel):
    script = textwrap.dedent(f"""
        import time, axnb
        exp = axnb.Experiment("exit", [axnb.Range("x", 0, 1), axnb.Range("y", 0, 1)],
                              path={str(tmp_path)!r}, seed=0)
        dash = exp.dashboard()
        def f(p):
            time.sleep(0.5)
            return p["x"] + p["y"]
        handle = exp.run(f, trials=100, parallel={parallel}, background=True, progress=False)
        while len(handle.trials) < 4:
            time.sleep(0.05)
        print(len(handle.trials), flush=True)  # then exit, the run going on
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "terminate called" not in done.stderr and "Traceback" not in done.stderr
    launched = int(done.stdout)
    statuses = [t.status for t in axnb.load(tmp_path / "exit.axnb.json").trials]
    assert len(statuses) >= launched
    assert statuses == ["completed"] * len(statuses)  # those in flight were finished
