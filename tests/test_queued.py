"""Must-try points: exp.attach(params) without a result queues the point; exp.run and optimize
evaluate queued points before asking for new suggestions."""

import multiprocessing as mp
import threading

import axnb

SPACE = [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0)]


def f(p):
    return (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2


def test_run_evaluates_queued_points_first(tmp_path):
    exp = axnb.Experiment("queue", SPACE, objective="loss", path=tmp_path, seed=0)
    a = exp.attach({"x": 0.11, "y": 0.22})
    b = exp.attach({"x": 0.33, "y": 0.44})
    assert [t.index for t in exp.queued] == [a.index, b.index]
    assert a.status == "running"
    exp.run(f, trials=4, progress=False)
    assert exp.queued == []
    trials = exp.trials
    assert len(trials) == 4
    assert [t.status for t in trials] == ["completed"] * 4
    assert trials[0].result["loss"][0] == f({"x": 0.11, "y": 0.22})
    assert trials[1].parameters == {"x": 0.33, "y": 0.44} and trials[1].source == "manual"
    assert {t.source for t in trials[2:]} <= {"init", "model"}


def test_a_queue_longer_than_the_budget_is_left_for_the_next_run(tmp_path):
    exp = axnb.Experiment("long", SPACE, objective="loss", path=tmp_path, seed=0)
    for x in (0.1, 0.2, 0.3):
        exp.attach({"x": x, "y": 0.5})
    exp.run(f, trials=2, progress=False)
    assert [t.status for t in exp.trials] == ["completed", "completed", "running"]
    assert [t.index for t in exp.queued] == [2]
    exp.run(f, trials=1, progress=False)
    assert exp.queued == [] and len(exp.trials) == 3


def test_parallel_runs_take_queued_points_before_suggesting(tmp_path):
    exp = axnb.Experiment("par", SPACE, objective="loss", path=tmp_path, seed=0)
    for x in (0.1, 0.2, 0.3):
        exp.attach({"x": x, "y": 0.5})
    exp.run(f, trials=5, parallel=2, progress=False)
    trials = exp.trials
    assert len(trials) == 5 and all(t.is_completed for t in trials)
    assert [t.parameters["x"] for t in trials[:3]] == [0.1, 0.2, 0.3]


def test_optimize_resumes_with_a_queued_point(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = [{"name": "x", "type": "range", "bounds": [0.0, 1.0]},
              {"name": "y", "type": "range", "bounds": [0.0, 1.0]}]
    axnb.optimize(params, f, minimize=True, total_trials=3, experiment_name="opt",
                  random_seed=0)
    exp = axnb.load("opt.axnb.json")
    exp.attach({"x": 0.3, "y": 0.7})  # the person's guess of the optimum
    best, *_ = axnb.optimize(params, f, minimize=True, total_trials=5, experiment_name="opt",
                             random_seed=0)
    again = axnb.load("opt.axnb.json")
    (value,) = again.trial(3).result.values()
    assert again.trial(3).is_completed and value[0] == 0.0
    assert len(again.trials) == 5
    assert best == {"x": 0.3, "y": 0.7}


def _claim(path, out):
    exp = axnb.load(path)
    out.put([t.index for t in exp._claim_queued({"host": "h", "pid": 1, "start": None}, 10)])


def test_two_loops_never_take_the_same_queued_point(tmp_path):
    exp = axnb.Experiment("two", SPACE, objective="loss", path=tmp_path, seed=0)
    for k in range(6):
        exp.attach({"x": k / 10, "y": 0.5})
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(exp.path, out)) for _ in range(3)]
    for p in procs:
        p.start()
    taken = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    flat = sorted(i for got in taken for i in got)
    assert flat == list(range(6))
    assert exp.queued == []


def test_a_point_evaluated_by_hand_is_not_evaluated_again(tmp_path):
    exp = axnb.Experiment("hand", SPACE, objective="loss", path=tmp_path, seed=0)
    t = exp.attach({"x": 0.5, "y": 0.5})
    exp.complete(t.index, 1.0)
    calls = []
    lock = threading.Lock()

    def g(p):
        with lock:
            calls.append(dict(p))
        return f(p)

    exp.run(g, trials=2, progress=False)
    assert {"x": 0.5, "y": 0.5} not in calls and len(exp.trials) == 3
