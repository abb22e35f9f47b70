"""Persistence: overwrite and backups, conflicts, permissions, temporary files, the change log
(journal) of big experiments, suggestions and loops in several processes, stale trials, and
SIGKILL at random moments (slow)."""

import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings
from datetime import timedelta

import pytest

import axnb
from axnb import storage

P2 = [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0)]


def values(exp):
    return [t.result["objective"][0] for t in exp.trials if t.status == "completed"]


def run_script(code: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


# ------------------------------------------------------------------ overwrite and backups
def test_overwrite_with_the_same_configuration_starts_afresh_and_backups_are_never_replaced(
    tmp_path,
):
    exp = axnb.Experiment("o", P2, path=tmp_path, seed=1)
    exp.attach({"x": 0.1, "y": 0.1}, result=1.0)
    fresh = axnb.Experiment("o", P2, path=tmp_path, seed=1, overwrite=True)
    assert fresh.trials == [] and axnb.load(fresh.path).trials == []
    fresh.attach({"x": 0.2, "y": 0.2}, result=2.0)
    fresh.attach({"x": 0.3, "y": 0.3}, result=3.0)
    first = storage.backups(fresh.path)
    assert len(first) == 1 and first[0].name.startswith("o.axnb.json.bak-")
    kept = first[0].read_bytes()
    axnb.Experiment("o", P2, path=tmp_path, seed=1, overwrite=True)  # same second, likely
    both = storage.backups(fresh.path)
    assert len(both) == 2 and both[0].read_bytes() == kept
    assert sorted(len(storage.read(b)["trials"]) for b in both) == [1, 2]
    assert values(axnb.load(both[1])) == [2.0, 3.0]  # a backup is a complete experiment file


def test_overwrite_of_an_empty_experiment_leaves_no_backup(tmp_path):
    axnb.Experiment("e", P2, path=tmp_path)
    axnb.Experiment("e", P2, path=tmp_path, overwrite=True)
    assert storage.backups(tmp_path / "e.axnb.json") == []


def test_overwrite_of_an_unreadable_file_keeps_its_bytes(tmp_path):
    path = tmp_path / "u.axnb.json"
    path.write_text('{"format": "axnb.experiment", "schema_version": 2, "config": {')
    with pytest.raises(axnb.CorruptFileError):
        axnb.Experiment("u", P2, path=path)
    axnb.Experiment("u", P2, path=path, overwrite=True)
    (backup,) = storage.backups(path)
    assert backup.read_text().endswith('"config": {')
    assert axnb.load(path).trials == []


@pytest.mark.parametrize("legacy", [False, True])
def test_a_missing_file_whose_experiment_sits_in_a_backup_is_not_silently_restarted(
    tmp_path, legacy
):
    exp = axnb.Experiment("b", P2, path=tmp_path, seed=2)
    exp.attach({"x": 0.5, "y": 0.5}, result=1.0)
    if legacy:  # what axnb < 0.2 left when killed in the middle of overwrite=True
        os.replace(exp.path, f"{exp.path}.bak")
    else:
        axnb.Experiment("b", P2, path=tmp_path, seed=2, overwrite=True)
        exp.path.unlink()
    with pytest.raises(axnb.ConflictError, match="rename it to b.axnb.json") as info:
        axnb.Experiment("b", P2, path=tmp_path, seed=2)
    assert "overwrite=True" in str(info.value) and not exp.path.exists()
    again = axnb.Experiment("b", P2, path=tmp_path, seed=2, overwrite=True)
    assert again.trials == [] and len(storage.backups(exp.path)) == 1
    other = axnb.Experiment("b2", P2, path=tmp_path / "b.axnb.json.new")  # unrelated: fine
    assert other.trials == []


def test_the_conflict_error_advice_works(tmp_path):
    a = axnb.Experiment("c", P2, path=tmp_path, seed=3)
    a.attach({"x": 0.1, "y": 0.1}, result=1.0)
    b = axnb.Experiment("c", P2, path=tmp_path, seed=3, overwrite=True)  # "another kernel"
    b.attach({"x": 0.9, "y": 0.9}, result=9.0)
    with pytest.raises(axnb.ConflictError, match=r"exp\.save\(\)") as info:
        a.attach({"x": 0.2, "y": 0.2}, result=2.0)
    assert "axnb.load" in str(info.value)
    assert len(a._trials) == 1  # nothing changed (a.trials raises the same error)
    assert "1 trials" in repr(a) and "cannot be merged" in repr(a)  # a repr never raises
    a.save()  # the advice: writes a's experiment back, keeps b's as a backup
    assert values(axnb.load(a.path)) == [1.0]
    assert [values(axnb.load(p)) for p in storage.backups(a.path)] == [[1.0], [9.0]]
    a.attach({"x": 0.2, "y": 0.2}, result=2.0)
    assert values(axnb.load(a.path)) == [1.0, 2.0]
    with pytest.raises(axnb.ConflictError):
        b.trials  # noqa: B018 - b now holds the stale object
    assert values(axnb.load(a.path)) == [1.0, 2.0]


def test_a_file_replaced_by_an_older_copy_is_a_conflict(tmp_path):
    a = axnb.Experiment("old", P2, path=tmp_path)
    a.attach({"x": 0.1, "y": 0.1}, result=1.0)
    copy = a.path.read_bytes()
    a.attach({"x": 0.2, "y": 0.2}, result=2.0)
    a.path.write_bytes(copy)
    with pytest.raises(axnb.ConflictError, match="older copy"):
        a.attach({"x": 0.3, "y": 0.3}, result=3.0)
    a.save()
    assert values(axnb.load(a.path)) == [1.0, 2.0]
    assert values(axnb.load(storage.backups(a.path)[0])) == [1.0]


# ------------------------------------------------------------------ permissions, temp files
@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_permissions_are_kept(tmp_path):
    exp = axnb.Experiment("m", P2, path=tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(exp.path.stat().st_mode) == 0o666 & ~umask  # as any new file
    os.chmod(exp.path, 0o640)
    exp.attach({"x": 0.1, "y": 0.1}, result=1.0)
    assert stat.S_IMODE(exp.path.stat().st_mode) == 0o640


def test_a_read_only_file_is_read_but_never_replaced(tmp_path):
    exp = axnb.Experiment("ro", P2, path=tmp_path, seed=0)
    exp.attach({"x": 0.1, "y": 0.1}, result=1.0)
    os.chmod(exp.path, 0o444)
    before = exp.path.read_bytes()
    try:
        again = axnb.Experiment("ro", P2, path=tmp_path, seed=0)  # resuming reads: fine
        assert values(again) == [1.0]
        for attempt in (lambda: again.attach({"x": 0.2, "y": 0.2}, result=2.0),
                        lambda: exp.complete(exp.attach({"x": 0.3, "y": 0.3}).index, 3.0),
                        again.save,
                        lambda: axnb.Experiment("ro", P2, path=tmp_path, overwrite=True)):
            with pytest.raises(PermissionError, match="read-only.*chmod u\\+w"):
                attempt()
        assert exp.path.read_bytes() == before and len(again.trials) == 1
        assert storage.backups(exp.path) == []
    finally:
        os.chmod(exp.path, 0o644)


def test_hidden_temporary_files_of_killed_writers_are_removed(tmp_path):
    exp = axnb.Experiment("t", P2, path=tmp_path)
    left = [tmp_path / ".t.axnb.json.ab12cd34.tmp", tmp_path / ".t.axnb.json.k_9zq0x1.tmp"]
    keep = [tmp_path / ".other.axnb.json.ab12cd34.tmp", tmp_path / ".t.axnb.json.x.tmp",
            tmp_path / "t.axnb.json.notes"]
    for p in left + keep:
        p.write_text("x")
    axnb.load(exp.path)
    assert [p.exists() for p in left + keep] == [False, False, True, True, True]


# ------------------------------------------------------------------ the journal
@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(storage, "SNAPSHOT_LIMIT", 2000)


def journal_lines(exp):
    return storage.journal_path(exp.path).read_text().splitlines()


def test_a_big_experiment_appends_changes_and_folds_them_in(tmp_path, small_limit):
    exp = axnb.Experiment("j", P2, path=tmp_path, seed=0)
    jpath = storage.journal_path(exp.path)
    for i in range(12):
        exp.attach({"x": i / 20, "y": 0.5}, result=float(i))
        if jpath.exists():
            break
    assert jpath.exists(), "the journal should start once the file passes SNAPSHOT_LIMIT"
    size = exp.path.stat().st_size
    n = len(exp.trials)
    t = exp.attach({"x": 0.99, "y": 0.99})
    exp.complete(t.index, 42.0)
    assert exp.path.stat().st_size == size  # appended, not rewritten
    assert [json.loads(line)["trials"][0]["index"] for line in journal_lines(exp)][-2:] == [n, n]
    plain = json.loads(exp.path.read_text())  # the JSON file stays valid JSON
    assert len(plain["trials"]) < n + 1
    assert values(axnb.load(exp.path))[-1] == 42.0  # axnb.load sees every change
    for i in range(40):  # the journal outgrows the JSON file: folded in
        exp.attach({"x": i / 40, "y": 0.1}, result=float(i))
    assert len(json.loads(exp.path.read_text())["trials"]) > n + 1
    exp.save()
    assert not jpath.exists()
    assert values(axnb.Experiment.from_config(json.loads(exp.path.read_text())["config"],
                                               path=exp.path)) == values(exp)


def test_a_torn_last_line_is_ignored_and_cut_off(tmp_path, small_limit):
    exp = axnb.Experiment("torn", P2, path=tmp_path, seed=0)
    for i in range(15):
        exp.attach({"x": i / 20, "y": 0.5}, result=float(i))
    jpath = storage.journal_path(exp.path)
    assert jpath.exists()
    good = values(exp)
    with open(jpath, "ab") as f:
        f.write(b'{"uid": "' + exp._uid.encode() + b'", "base": 1, "revis')
    assert values(axnb.load(exp.path)) == good
    other = axnb.load(exp.path)
    other.attach({"x": 0.5, "y": 0.9}, result=99.0)
    assert all(json.loads(line) for line in journal_lines(exp))
    assert values(axnb.load(exp.path)) == [*good, 99.0] == values(exp)


def test_a_damaged_line_in_the_middle_is_refused_untouched(tmp_path, small_limit):
    exp = axnb.Experiment("dmg", P2, path=tmp_path, seed=0)
    for i in range(20):
        exp.attach({"x": i / 20, "y": 0.5}, result=float(i))
    jpath = storage.journal_path(exp.path)
    lines = jpath.read_bytes().split(b"\n")
    assert len(lines) > 3
    lines[0] = lines[0][:10]
    jpath.write_bytes(b"\n".join(lines))
    before = (exp.path.read_bytes(), jpath.read_bytes())
    with pytest.raises(axnb.CorruptFileError, match="line 1 of the change log is damaged"):
        axnb.load(exp.path)
    assert (exp.path.read_bytes(), jpath.read_bytes()) == before


def test_lines_left_from_before_a_fold_are_ignored(tmp_path, small_limit):
    exp = axnb.Experiment("fold", P2, path=tmp_path, seed=0)
    for i in range(15):
        exp.attach({"x": i / 20, "y": 0.5}, result=float(i))
    jpath = storage.journal_path(exp.path)
    stale = jpath.read_bytes()
    exp.save()  # a fold ...
    jpath.write_bytes(stale)  # ... killed before the journal was deleted
    assert values(axnb.load(exp.path)) == values(exp)
    again = axnb.load(exp.path)
    again.attach({"x": 0.5, "y": 0.9}, result=99.0)
    assert values(axnb.load(exp.path)) == [*values(exp)[:15], 99.0]


def test_another_kernel_reads_only_the_new_lines(tmp_path, small_limit, monkeypatch):
    a = axnb.Experiment("inc", P2, path=tmp_path, seed=0)
    for i in range(15):
        a.attach({"x": i / 20, "y": 0.5}, result=float(i))
    b = axnb.load(a.path)
    full_reads = []
    real = storage.read_state
    monkeypatch.setattr(storage, "read_state", lambda p: full_reads.append(p) or real(p))
    t = a.attach({"x": 0.9, "y": 0.9})
    assert b.trial(t.index).status == "running"
    b.complete(t.index, 5.0)
    assert a.trial(t.index).result == {"objective": (5.0, None)}
    assert full_reads == []


@pytest.mark.parametrize("tamper", [
    lambda t: t["parameters"].update(x=7.0),  # out of bounds
    lambda t: t.update(status="done"),
    lambda t: t.update(result={"objective": [1.0, -1.0]}),
    lambda t: t.update(surprise=1),  # a field a newer axnb would write
])
def test_a_bad_line_another_process_appends_is_refused_mid_session(
    tmp_path, small_limit, tamper
):
    a = axnb.Experiment("midsession", P2, path=tmp_path, seed=0)
    for i in range(15):
        a.attach({"x": i / 20, "y": 0.5}, result=float(i))
    jpath = storage.journal_path(a.path)
    assert jpath.exists()
    b = axnb.load(a.path)
    known = values(b)
    a.attach({"x": 0.9, "y": 0.9}, result=1.0)
    lines = jpath.read_bytes().split(b"\n")
    entry = json.loads(lines[-2])
    tamper(entry["trials"][0])
    lines[-2] = json.dumps(entry).encode()
    jpath.write_bytes(b"\n".join(lines))
    before = (a.path.read_bytes(), jpath.read_bytes())
    for _ in range(2):  # refused each time, nothing half-applied
        with pytest.raises(axnb.CorruptFileError, match=r"(?i)trial 15|upgrade axnb"):
            b.trials  # noqa: B018 - reading the trials picks up the other process's change
        assert [t.result["objective"][0] for t in b._trials] == known
    with pytest.raises(axnb.CorruptFileError):
        axnb.load(a.path)
    assert (a.path.read_bytes(), jpath.read_bytes()) == before


# ------------------------------------------------------------------ several kernels
def test_a_suggestion_overtaken_by_another_kernel_is_computed_again(tmp_path):
    a = axnb.Experiment("race", P2, path=tmp_path, seed=0, initial_trials=50)
    b = axnb.Experiment("race", P2, path=tmp_path, seed=0, initial_trials=50)
    seen, real = [], b.engine.suggest

    def suggest(trials, n, pinned, task=None):
        seen.append(len(trials))
        out = real(trials, n, pinned, task=task)
        if len(seen) == 1:
            a.suggest()  # another kernel gets the same point meanwhile (same seed, same data)
        return out

    b.engine.suggest = suggest
    tb = b.suggest()
    assert seen == [0, 1] and tb.index == 1
    assert tb.parameters != a.trials[0].parameters


CONCURRENT = """
    import sys, axnb
    folder, n, initial, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    exp = axnb.Experiment("c", [axnb.Range("x", 0.0, 1.0), axnb.Range("y", 0.0, 1.0)],
                          path=folder, seed=0, initial_trials=initial)
    exp.engine  # imports done: the processes start suggesting together
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        batch = exp.suggest(n=2) if i % 4 == 3 else [exp.suggest()]
        for t in batch:
            value = t.parameters["x"] + 10 * t.parameters["y"] + 1000 * tag
            exp.complete(t.index, value)
            print("ack", t.index, repr(value), flush=True)
"""


def start_together(*args) -> list[subprocess.Popen]:
    procs = [run_script(CONCURRENT, *args, tag, stdin=subprocess.PIPE) for tag in range(3)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    return procs


def check_concurrent(tmp_path, procs, expected):
    acked = {}
    for p in procs:
        out = p.stdout.read()  # (communicate() would miss what readline() buffered)
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        for line in out.splitlines():
            _, index, value = line.split()
            acked[int(index)] = float(value)
    trials = axnb.load(tmp_path / "c.axnb.json").trials
    assert len(acked) == len(trials) == expected  # no lost trial, no trial created twice
    assert all(t.status == "completed" and t.result["objective"][0] == acked[t.index]
               for t in trials)
    points = [tuple(sorted(t.parameters.items())) for t in trials]
    assert len(set(points)) == len(points)  # no duplicate point


def test_three_processes_suggesting_at_once_get_distinct_points_and_lose_nothing(tmp_path):
    # Start design: every process would compute the same Sobol point from the same data
    # unless each suggestion sees the others' pending trials.
    axnb.Experiment("c", P2, path=tmp_path, seed=0, initial_trials=1000)
    check_concurrent(tmp_path, start_together(tmp_path, 20, 1000), 3 * 25)


@pytest.mark.slow
def test_three_processes_suggesting_from_the_model_get_distinct_points(tmp_path):
    axnb.Experiment("c", P2, path=tmp_path, seed=0, initial_trials=4)
    check_concurrent(tmp_path, start_together(tmp_path, 6, 4), 3 * 7)


OPTIMIZE = """
    import sys, time, axnb
    def f(p):
        time.sleep(0.15)
        return p["x"] ** 2
    r = axnb.optimize([{"name": "x", "type": "range", "bounds": [-1.0, 1.0]}], f,
                      total_trials=int(sys.argv[2]), path=sys.argv[1], experiment_name="two",
                      initial_trials=50, progress=False, seed=0)
    print(r.best_parameters, flush=True)
"""


def test_optimize_in_two_kernels_shares_total_trials_and_abandons_nothing(tmp_path):
    procs = [run_script(OPTIMIZE, tmp_path, 6) for _ in range(2)]
    errors = []
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        errors.append(err)
    trials = axnb.load(tmp_path / "two.axnb.json").trials
    assert [t.status for t in trials] == ["completed"] * 6
    assert not any("abandon" in e or "was not recorded" in e or "Cannot" in e for e in errors)


# ------------------------------------------------------------------ stale running trials
LOOP = """
    import sys, time, axnb
    exp = axnb.Experiment("loop", [axnb.Range("x", 0.0, 1.0)], path=sys.argv[1], seed=0)
    if sys.argv[2] == "ask":
        exp.suggest()
        print("suggested", flush=True)
        sys.exit(0)
    def f(p):
        print("evaluating", flush=True)
        time.sleep(60)
        return p["x"]
    exp.run(f, trials=3, progress=False)
"""


def start_loop(tmp_path):
    proc = run_script(LOOP, tmp_path, "run")
    assert proc.stdout.readline().strip() == "evaluating"
    return proc


@pytest.mark.parametrize("mode", ["abandon", "rerun"])
def test_a_killed_kernels_loop_trial_is_abandoned_or_run_again(tmp_path, mode):
    proc = start_loop(tmp_path)
    proc.kill()
    proc.wait()
    exp = axnb.load(tmp_path / "loop.axnb.json")
    (t,) = exp.trials
    assert t.status == "running" and exp.stale() == [t]
    assert json.loads(exp.path.read_text())["trials"][0]["owner"]["pid"] == proc.pid
    calls = []
    with pytest.warns(UserWarning, match=r"trial\(s\) \[0\]"):
        exp.run(lambda p: calls.append(p) or 0.5, trials=2, progress=False, stale=mode)
    statuses = [t.status for t in axnb.load(exp.path).trials]
    if mode == "abandon":
        assert statuses == ["abandoned", "completed", "completed"]
        assert "loop that ran it" in exp.trials[0].reason and str(proc.pid) in exp.trials[0].reason
    else:
        assert statuses == ["completed", "completed"] and calls[0] == t.parameters
    assert exp.stale() == []


def test_a_live_kernels_loop_trial_is_never_touched(tmp_path):
    proc = start_loop(tmp_path)
    try:
        exp = axnb.load(tmp_path / "loop.axnb.json")
        assert exp.stale() == [] and exp.stale(older_than=0) == []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exp.run(lambda p: 0.5, trials=1, progress=False)
            assert exp.abandon_stale(older_than=0) == []
        assert [t.status for t in exp.trials] == ["running", "completed"]
    finally:
        proc.kill()
        proc.wait()
    assert [t.index for t in exp.stale()] == [0]


def test_ask_tell_trials_are_stale_only_by_age(tmp_path):
    proc = run_script(LOOP, tmp_path, "ask")
    assert proc.communicate(timeout=120)[0].strip() == "suggested"
    exp = axnb.load(tmp_path / "loop.axnb.json")
    assert exp.stale() == [] and exp.stale(older_than=timedelta(days=1)) == []
    exp.run(lambda p: 0.5, trials=1, progress=False)
    assert exp.trials[0].status == "running"  # a person may still be measuring it
    assert "owner" not in json.loads(exp.path.read_text())["trials"][0]
    (t,) = exp.abandon_stale(older_than=0, reason="lab closed")
    assert (t.index, t.status, t.reason) == (0, "abandoned", "lab closed")
    with pytest.raises(ValueError, match="older_than"):
        exp.stale(older_than=-1)
    with pytest.raises(ValueError, match="stale must be"):
        exp.run(lambda p: 0.5, trials=1, stale="retry")


# ------------------------------------------------------------------ SIGKILL at random moments
CHAOS = """
    import random, sys, tempfile, axnb
    from axnb import storage
    folder, base, limit, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    storage.SNAPSHOT_LIMIT = limit
    rng = random.Random(seed)
    params = [axnb.Range("x", 0.0, 1.0)]
    axnb.Experiment("warm", params, path=tempfile.mkdtemp())  # lazy imports done
    print("ready", flush=True)
    if seed % 3 == 0:  # first saves of new experiments
        for j in range(10):
            print("creating", f"new{base + j}", flush=True)
            axnb.Experiment(f"new{base + j}", params, path=folder)
            print("created", f"new{base + j}", flush=True)
    exp = axnb.Experiment("main", params, path=folder)
    value = base
    while True:
        r = rng.random()
        if r < 0.06:
            print("overwriting", flush=True)
            exp = axnb.Experiment("main", params, path=folder, overwrite=True)
            print("overwrote", flush=True)
        elif r < 0.09:
            exp.save()
        else:
            t = exp.attach({"x": rng.random()})
            if r < 0.95:
                exp.complete(t.index, float(value))
                print("ack", value, flush=True)
                value += 1
"""


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_acknowledged_trial(tmp_path):
    """120 SIGKILLs at random moments: during the first save of an experiment, appends to
    the journal and rewrites of the JSON file, folds, and overwrite=True. After each one every
    file must be readable and every acknowledged result must be in the experiment or, after
    an overwrite, in one of its backups."""
    rng = random.Random(20260101)
    main = tmp_path / "main.axnb.json"
    acked: set[float] = set()
    found_in_backups: dict[str, set[float]] = {}
    created: list[str] = []
    creating = None
    during: dict[str, int] = {}  # the child's last line before the kill
    leftovers = 0
    started = time.monotonic()
    kills = 0
    for k in range(120):
        limit = rng.choice([1_500, 6_000, 10**9])  # journal and folds / rewrites only
        proc = run_script(CHAOS, tmp_path, 1_000_000 * (k + 1), limit, k)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0, 0.03) if k % 3 == 0 else rng.uniform(0, 0.3))
        proc.send_signal(signal.SIGKILL)
        out = proc.stdout.read()  # (communicate() would miss what readline() buffered)
        proc.communicate()
        kills += proc.returncode == -signal.SIGKILL
        lines = [line.split() for line in out.split("\n")[:-1]]  # whole lines only
        assert all(lines), repr(out[-200:])
        last = lines[-1][0] if lines else ""
        during[last] = during.get(last, 0) + 1
        for word, *rest in lines:
            if word == "ack":
                acked.add(float(rest[0]))
            elif word == "creating":
                creating = rest[0]
            elif word == "created":
                created.append(rest[0])
        leftovers += any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
        # every experiment file is readable; opening it removes the killed writer's temp files
        for path in tmp_path.glob("*.axnb.json"):
            axnb.load(path)
        if creating is not None:  # killed in its first save, maybe: run "the cell" again
            axnb.Experiment(creating, [axnb.Range("x", 0.0, 1.0)], path=tmp_path)
            creating = None
        for name in created:
            assert (tmp_path / f"{name}.axnb.json").exists()
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        # no acknowledged result is lost
        for backup in storage.backups(main):
            if backup.name not in found_in_backups:
                found_in_backups[backup.name] = set(values(axnb.load(backup)))
        have = set(values(axnb.load(main))) if main.exists() else set()
        have = have.union(*found_in_backups.values())
        assert acked <= have, sorted(acked - have)[:5]
    assert kills == 120 and len(acked) > 100  # (about 2,500 on an idle 2-core machine)
    assert during.get("overwriting", 0) >= 3 and during.get("creating", 0) >= 3
    print(f"{time.monotonic() - started:.0f} s: {kills} kills ("
          f"{during.get('overwriting', 0)} during overwrite=True, "
          f"{during.get('creating', 0)} during a first save), {len(acked)} acknowledged "
          f"results, {len(found_in_backups)} backups, temporary files left by {leftovers} "
          f"kills (all removed)")
