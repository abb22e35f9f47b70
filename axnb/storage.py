"""The experiment file: JSON format and its versions, the change log (journal), atomic writes,
reading with clear errors, the cross-process lock, backups, and the owners of running trials.

One experiment is one JSON file, ``<name>.axnb.json`` by default, indented and
human-readable, with one trial per line (diffable).

Schema version 2
----------------
One schema for everything an experiment records. Keys marked *optional* are written only when
they hold something, so a plain experiment's file looks as it did in version 1; a reader
treats a missing optional key as its default. Marked *planned*: reserved for the named
feature (an open issue); this version writes none of them and refuses a file that has them
(``CorruptFileError`` naming the key: "upgrade axnb"), rather than misreading it.

::

    {
      "format": "axnb.experiment",
      "schema_version": 2,
      "revision": 7,                   # bumped at every change; lets another process see it
      "saved_at": "2026-...+00:00",    # when this file was last written as a whole
      "uid": "9f3c0a1b2c3d4e5f",       # optional: this experiment's identity, kept by every
                                       # save; a new one when overwrite=True starts afresh
      "config": {
        "name": "checkout",
        "parameters": [{...}],         # Ax-style dicts; optional "when": {"model": ["svm"]}
        "constraints": ["x1 + x2 <= 1",    # linear, then Python predicates by name and
                        {"predicate": "divisible", "source": "def divisible(p): ..."}],
        "objectives": [{"metric": "conversion", "minimize": false}],
        "outcome_constraints": [],
        "seed": 0,
        "initial_trials": null,
        "model": "botorch.models.fully_bayesian.SaasFullyBayesianSingleTaskGP",  # optional:
        "model_options": {"num_samples": 64},        # custom classes, as import paths, and
        "acquisition": "botorch.acquisition.monte_carlo.qUpperConfidenceBound",  # their
        "acquisition_options": {"beta": 2.0},        # options (axnb/engine/plugins.py)
        "tasks": ["online", "simulator"],            # optional: combined tasks, target first
        "related": ["last_year.axnb.json"]           # optional: earlier campaigns as extra
                                                     # tasks (axnb/related.py)
      },
      "trials": [
        {"index": 0, "parameters": {...}, "status": "completed", "source": "init",
         "result": {"conversion": [0.052, 0.0071]},     # metric -> [mean, sem or null]
         "created_at": "...", "completed_at": "...", "reason": null,
         "batch": 0, "weight": 0.1666,                  # optional: bandit round, traffic share
         "counts": {"conversion": [52, 1000]},          # optional: results given as Rate
         "owner": {"host": "lab-pc", "pid": 4242,       # optional: the process whose run() /
                   "start": "<boot id>:<ticks>"}        # optimize() loop started the trial
         "excluded": true,                              # optional: left out of the model
         "history": [                                   # optional: changes once finished
           {"action": "corrected", "at": "...", "by": "ada", "reason": "re-measured",
            "result": {"conversion": [0.05, 0.007]}}    # the result the correction replaced
         ]                                              # actions: excluded/included/corrected
         "task": "simulator"                            # optional: the trial's task
        }
      ],
      "rounds": [                                       # optional: bandit rounds
        {"batch": 0, "created_at": "...", "window": null}
      ],
      "revisions": [                                    # optional: exp.change_parameters
        {"revision": 5, "at": "...", "by": "ada", "reason": "...", "what": ["..."],
         "trials": 12, "parameters": [...], "constraints": [...], "defaults": {...}}
      ]                                                 # (see axnb/revisions.py)
    }

Version 1 is version 2 without the optional keys: a version-1 file loads unchanged and is
written as version 2 at its next save. A file of a later version is refused with "upgrade
axnb" and never modified.

Files next to the notebook
--------------------------
``booth.axnb.json``
    The experiment, as above.
``booth.axnb.json.journal``
    Only for a big experiment (see below): the changes made since the JSON file was last
    written, one JSON line each. Keep it with the JSON file until it is folded in
    (``exp.save()`` does that).
``booth.axnb.json.lock``
    The lock file (empty). Safe to delete when no kernel uses the experiment.
``booth.axnb.json.bak-20260101T120000Z``
    An experiment set aside by ``overwrite=True`` (or by ``exp.save()`` after a conflict):
    a complete, readable experiment file. Backups are never replaced: a second one in the
    same second is ``...Z-2``. ``booth.axnb.json.bak`` is what axnb before 0.2 left.
``.booth.axnb.json.<8 characters>.tmp``
    A hidden temporary file, during a write only. Every one is written under the lock, so
    one found while holding the lock was left by a killed writer and is deleted (when an
    experiment is opened, and by ``exp.save()``).

How a change is written
-----------------------
Every change (suggest, attach, complete, fail, abandon, a bandit round) is made under the
lock: read what other processes wrote, check the change, write it, and only then apply it in
memory; the call returns once the bytes are fsync'ed. A change is written in one of two ways:

* While the JSON file is smaller than ``SNAPSHOT_LIMIT`` (256 KiB, about 1,000 trials) the
  whole file is written again: to a hidden temporary file in the same folder, fsync'ed,
  given the old file's permissions, and ``os.replace``-d over the old file; then the folder
  is fsync'ed. A reader, or a crash, sees the old or the new file, never half of one, and
  the JSON file is always complete.
* Above that size one line is appended to the journal and fsync'ed, so a change costs
  O(change), not O(experiment)::

      {"uid": "9f3c...", "base": 40, "revision": 42, "at": "...", "trials": [{...}, ...],
       "rounds": [{...}]}

  ``uid`` and ``base`` name the JSON file the line continues (its ``uid`` and ``revision``);
  each trial (written as in the JSON file) replaces the trial with its index or is the next
  one; ``rounds`` (optional) are appended. The journal is *folded in* - the whole JSON file
  written again as above, then the journal deleted - when it grows bigger than the JSON
  file (so the rewrites cost O(1) amortized per change), at the end of every ``run()`` and
  ``optimize()``, and on ``exp.save()``. A crash between the two steps leaves lines that
  name an older ``base``: they are ignored, and cleared by the next write.

Reading (``read``) takes the JSON file and applies the journal lines that continue it, in
order. A last line without its newline (a write killed half-way, so never acknowledged) is
ignored and cut off by the next writer; a damaged line followed by good ones raises
``CorruptFileError`` and nothing is modified. So ``axnb.load`` sees every acknowledged change,
and a plain ``json.load`` of the JSON file sees all of a small experiment and, of a big one,
everything up to the last fold. Reading never writes.

Permissions: a rewritten file keeps the old one's permission bits (a new file gets the usual
ones, 0666 less the umask); a file without write permission (``chmod a-w``) is never replaced
or appended to: the change raises ``PermissionError`` and is not made.

The lock is ``<file>.lock``, held through ``filelock`` (``flock`` on POSIX, ``msvcrt`` locking
on Windows): exclusive between processes and between threads, re-entrant within a thread, and
released by the operating system when its process dies, so a killed kernel never leaves an
experiment locked.

Running trials and their owners: a trial created by ``run()`` / ``optimize()`` records its
owner process (host name, pid and, on Linux, a start-time token that tells a later process
with the same pid apart). ``owner_alive`` says whether that process still runs (on this host;
on another host it cannot tell), which is how a loop recognizes a trial left running by a
killed kernel without touching the trials of a live one.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import re
import secrets
import socket
import stat
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock

from axnb.errors import ConflictError, CorruptFileError
from axnb.filecheck import TRIAL_KEYS, validate
from axnb.filecheck import corrupt as _corrupt

FORMAT = "axnb.experiment"
SCHEMA_VERSION = 2
#: Keys this version reads at the top level (a trial's: ``TRIAL_KEYS``; see the module doc).
TOP_KEYS = frozenset({"format", "schema_version", "revision", "saved_at", "uid", "config",
                      "revisions", "trials", "rounds"})
SUFFIX = ".axnb.json"
JOURNAL_SUFFIX = ".journal"
LOCK_SUFFIX = ".lock"
#: While the JSON file is smaller than this (bytes), every change rewrites it; above, changes
#: are appended to the journal.
SNAPSHOT_LIMIT = 256 * 1024
#: Seconds of waiting for the lock after which axnb says (once) that another process holds it.
LOCK_PATIENCE = 10.0

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
_BACKUP_TAIL = re.compile(r"\.bak(-\d{8}T\d{6}Z(-\d+)?)?")
_STAMP = "%Y%m%dT%H%M%SZ"


def default_path(name: str) -> Path:
    """``<name>.axnb.json`` in the working directory (next to the notebook)."""
    return Path.cwd() / f"{name}{SUFFIX}"


def journal_path(path: Path) -> Path:
    """The journal of the experiment file ``path``: ``<path>.journal``."""
    return Path(f"{path}{JOURNAL_SUFFIX}")


def new_uid() -> str:
    """A new experiment identity (16 hex digits)."""
    return secrets.token_hex(8)


# --------------------------------------------------------------------- serializing
def encode(record: Mapping[str, Any]) -> str:
    """One record (a trial, a round) as one line of JSON, without the newline; NaN refused."""
    return _ENCODER.encode(record)


def render(
    head: Mapping[str, Any], trial_lines: Sequence[str],
    rounds: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The text of an experiment file: ``format`` and ``schema_version``, the ``head`` keys
    (``revision``, ``saved_at``, ``uid``, ``config``: indented), then ``trials`` from the
    already encoded ``trial_lines`` (one per line) and ``rounds`` (one per line; only when
    there are some)."""
    skip = ("format", "schema_version", "trials", "rounds")
    items = {"format": FORMAT, "schema_version": SCHEMA_VERSION,
             **{k: v for k, v in head.items() if k not in skip}}
    body = [
        f" {json.dumps(k)}: "
        + json.dumps(v, indent=1, ensure_ascii=False, allow_nan=False).replace("\n", "\n ")
        for k, v in items.items()
    ]
    body.append(' "trials": ' + _rows(trial_lines))
    if rounds:
        body.append(' "rounds": ' + _rows([encode(r) for r in rounds]))
    return "{\n" + ",\n".join(body) + "\n}\n"


def _rows(lines: Sequence[str]) -> str:
    return "[\n  " + ",\n  ".join(lines) + "\n ]" if lines else "[]"


def dumps(state: Mapping[str, Any]) -> str:
    """Serialize a whole state dict (``trials`` and ``rounds`` as dicts) as ``render`` lays
    it out; floats round-trip exactly (``repr``), NaN is refused."""
    return render(state, [encode(t) for t in state.get("trials", [])], state.get("rounds") or ())


def journal_entry(
    uid: str, base: int, revision: int, trial_lines: Sequence[str],
    rounds: Sequence[Mapping[str, Any]] = (),
) -> str:
    """One journal line (without the newline) from already encoded trial lines."""
    head = encode({"uid": uid, "base": base, "revision": revision,
                   "at": datetime.now(UTC).isoformat()})
    tail = f', "rounds": {encode(list(rounds))}' if rounds else ""
    return f'{head[:-1]}, "trials": [{", ".join(trial_lines)}]{tail}}}'


# --------------------------------------------------------------------- what is on disk
@dataclass(frozen=True)
class Mark:
    """What a reader or writer knows of the files: the JSON file it read or wrote last
    (``snapshot``: its signature, ``size``, ``uid``, ``base``: its revision) and how much of
    the journal it applied (``journal``: inode and size seen, ``offset``: bytes of whole,
    applied lines). ``stale``: the journal holds lines of an older JSON file (ignored; the
    next append starts it afresh)."""

    snapshot: tuple[int, ...] | None = None
    size: int = 0
    uid: str | None = None
    base: int | None = 0
    journal: tuple[int, int] | None = None
    offset: int = 0
    stale: bool = False


@dataclass
class State:
    """An experiment file as read: the data (journal applied), the ``Mark`` to follow it, and
    each trial's line of JSON text as the file has it (None for a trial the journal changed;
    ``lines`` None when the file is not laid out one trial per line), so that writing the whole
    file again need not encode the trials nobody changed."""

    data: dict[str, Any]
    mark: Mark
    lines: list[str | None] | None = None


def signature(path: Path) -> tuple[int, ...] | None:
    """Cheap fingerprint of the JSON file on disk (changes whenever it is replaced)."""
    try:
        return _signature(os.stat(path))
    except FileNotFoundError:
        return None


def _signature(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def journal_signature(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(journal_path(path))
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size)


def changed(path: Path, mark: Mark) -> bool:
    """Whether the JSON file or its journal changed since ``mark`` (two ``stat`` calls)."""
    return signature(path) != mark.snapshot or journal_signature(path) != mark.journal


# --------------------------------------------------------------------- reading
def read(path: Path) -> dict[str, Any]:
    """Read and check an experiment file, its journal applied; raise ``CorruptFileError``
    (never modify anything)."""
    return read_state(path).data


def read_state(path: Path) -> State:
    """``read``, and the ``Mark`` from which ``read_tail`` follows later changes."""
    path = Path(path)
    with gc_paused():
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _corrupt(path, f"not UTF-8 text ({e.reason})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            where = "it is empty" if not text.strip() else f"{e.msg} at line {e.lineno}"
            raise _corrupt(path, f"invalid JSON: {where}; it may be truncated") from None
        except RecursionError:
            raise _corrupt(path, "its JSON is nested too deeply to be an experiment") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _corrupt(path, f"it is not an axnb experiment file (no \"format\": \"{FORMAT}\")")
        version = data.get("schema_version")
        if not isinstance(version, int) or version < 1:
            raise _corrupt(path, f"bad schema_version {version!r}")
        if version > SCHEMA_VERSION:
            raise CorruptFileError(
                f"{path} was written by a newer axnb (schema {version}; this axnb reads up to "
                f"{SCHEMA_VERSION}). Upgrade axnb to open it. The file was left untouched."
            )
        if not isinstance(data.get("config"), dict) or not isinstance(data.get("trials"), list):
            raise _corrupt(path, "it lacks 'config' or 'trials'")
        if not isinstance(data.get("rounds", []), list):
            raise _corrupt(path, "'rounds' is not a list")
        uid, base = data.get("uid"), data.get("revision", 0)
        if uid is not None and not isinstance(uid, str):
            raise _corrupt(path, f"bad uid {uid!r}")
        if isinstance(base, bool) or not isinstance(base, int):
            base = None  # no journal line can continue it (and validate() says why)
        mark = Mark(snapshot=_signature(st), size=len(raw), uid=uid, base=base)
        lines = _trial_lines(text, len(data["trials"]))
        entries, mark = _read_journal(path, mark, base)
        _apply(path, data, entries)
        if lines is not None:
            for e in entries:
                for t in e["trials"]:
                    if t["index"] < len(lines):
                        lines[t["index"]] = None
                    else:
                        lines.append(None)
        unknown = sorted(set(data) - TOP_KEYS)
        for t in data["trials"]:
            if type(t) is dict and not t.keys() <= TRIAL_KEYS:
                unknown += sorted(f"trials[].{k}" for k in set(t) - TRIAL_KEYS)
        if unknown:
            raise CorruptFileError(
                f"{path} uses {sorted(set(unknown))}, which this axnb does not know (a newer "
                f"axnb wrote it?). Upgrade axnb to open it. The file was left untouched."
            )
        try:
            validate(data, path)
        except RecursionError:
            raise _corrupt(path, "a value is nested too deeply to be an experiment's") from None
    return State(data, mark, lines)


_TRIALS_OPEN = '\n "trials": [\n'


def _trial_lines(text: str, count: int) -> list[str | None] | None:
    """The text of each trial in a file laid out as ``render`` does (one trial per line, each
    line starting with its index); None for any other layout. Raw newlines cannot occur in
    JSON strings, so the trials' block is exactly the lines between ``"trials": [`` and ``]``,
    and ``",\n  "`` occurs in it only between two trials."""
    start = text.find(_TRIALS_OPEN)
    if count == 0 or start < 0:
        return None
    start += len(_TRIALS_OPEN)
    end = text.find("\n ]", start)
    if end < 0 or not text.startswith('  {"index": 0,', start) or text[end - 1] != "}":
        return None
    block = text[start + 2:end]
    if block.count('\n  {"index": ') != count - 1:
        return None
    parts = block.split(",\n  ")
    if len(parts) != count or any(not parts[i].startswith(f'{{"index": {i},')
                                  for i in {count // 2, count - 1}):
        return None
    return list[str | None](parts)


def read_tail(
    path: Path, mark: Mark, revision: int
) -> tuple[list[dict[str, Any]], Mark] | None:
    """The journal lines written since ``mark`` (whose data are at ``revision``), and the new
    mark; None when the JSON file itself changed (or the journal was replaced): read it all
    again with ``read_state``. Call with the lock held."""
    if signature(path) != mark.snapshot:
        return None
    seen = journal_signature(path)
    if seen is None:
        return ([], replace(mark, journal=None, stale=False)) if mark.offset == 0 else None
    if mark.stale or (mark.journal is not None and seen[0] != mark.journal[0]):
        if mark.offset:
            return None
        mark = replace(mark, offset=0)
    if seen[1] < mark.offset:
        return None
    entries, new = _read_journal(path, mark, revision)
    if new.stale and mark.offset:
        return None
    return entries, new


def _read_journal(
    path: Path, mark: Mark, revision: int | None
) -> tuple[list[dict[str, Any]], Mark]:
    jpath = journal_path(path)
    try:
        f = open(jpath, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return [], replace(mark, journal=None, offset=0, stale=False)
    with f:
        inode = os.fstat(f.fileno()).st_ino
        f.seek(mark.offset)
        blob = f.read()
    entries, used, stale = _parse_journal(jpath, blob, mark.uid, mark.base, revision)
    end = mark.offset + len(blob)
    return entries, replace(mark, journal=(inode, end), offset=mark.offset + used, stale=stale)


def _parse_journal(
    jpath: Path, blob: bytes, uid: str | None, base: int | None, revision: int | None
) -> tuple[list[dict[str, Any]], int, bool]:
    """The entries of ``blob`` that continue the JSON file (``uid``, ``base``) from
    ``revision``, the bytes they span, and whether the journal is stale (its first line
    continues another JSON file)."""
    lines = blob.split(b"\n")[:-1]  # the piece after the last newline is a torn write
    entries: list[dict[str, Any]] = []
    used = 0
    for k, line in enumerate(lines):
        entry = _entry(line)
        if entry is None:
            if any(_entry(rest) is not None for rest in lines[k + 1:]):
                raise _corrupt(jpath, f"line {k + 1} of the change log is damaged, but later "
                               f"lines are not")
            break  # a torn last write: never acknowledged, ignored
        if (uid is None or revision is None or entry.get("uid") != uid
                or entry.get("base") != base or entry["revision"] != revision + 1):
            if not entries:
                return [], 0, True
            raise _corrupt(jpath, f"line {k + 1} of the change log does not continue line {k}")
        entries.append(entry)
        revision += 1
        used += len(line) + 1
    return entries, used, False


def _entry(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if (not isinstance(entry, dict) or isinstance(entry.get("revision"), bool)
            or not isinstance(entry.get("revision"), int)
            or not isinstance(entry.get("trials"), list)
            or not all(isinstance(t, dict) for t in entry["trials"])
            or not isinstance(entry.get("rounds", []), list)):
        return None
    return entry


def _apply(path: Path, data: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Apply journal entries to the data of the JSON file they continue."""
    trials = data["trials"]
    for e in entries:
        for t in e["trials"]:
            i = t.get("index")
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i <= len(trials):
                raise _corrupt(journal_path(path), f"revision {e['revision']} writes trial "
                               f"{i!r}, but the experiment has {len(trials)} trials")
            if i == len(trials):
                trials.append(t)
            else:
                trials[i] = t
        if e.get("rounds"):
            data["rounds"] = [*data.get("rounds", []), *e["rounds"]]
        data["revision"] = e["revision"]


# --------------------------------------------------------------------- writing
def write_atomic(path: Path, text: str | bytes) -> tuple[int, ...] | None:
    """Replace ``path`` with ``text`` atomically: a hidden temporary file in the same folder
    (fsync'ed, with the old file's permissions), ``os.replace``, then an fsync of the folder.
    A read-only file is refused (``PermissionError``). Returns the new file's signature."""
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.parent.mkdir(parents=True, exist_ok=True)
    old = _stat(path)
    if old is not None:
        check_writable(path, old)
    tmp = _write_temp(path, data, None if old is None else stat.S_IMODE(old.st_mode))
    try:
        _replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return signature(path)


def write_snapshot(
    path: Path, head: Mapping[str, Any], trial_lines: Sequence[str],
    rounds: Sequence[Mapping[str, Any]] = (),
) -> Mark:
    """Write the whole experiment file (``render``) atomically, then delete its journal (now
    folded in). Returns the writer's new ``Mark``."""
    data = render(head, trial_lines, rounds).encode("utf-8")
    sig = write_atomic(path, data)
    mark = Mark(snapshot=sig, size=len(data), uid=head.get("uid"), base=head.get("revision"))
    try:
        os.unlink(journal_path(path))
    except FileNotFoundError:
        pass
    except OSError:  # e.g. open elsewhere on Windows: its lines name an older base, ignored
        return replace(mark, journal=journal_signature(path), stale=True)
    return mark


def append_journal(path: Path, mark: Mark, line: str) -> Mark:
    """Append one journal line (fsync'ed) after the ``mark.offset`` bytes the writer applied,
    cutting off a torn last line first (or all of a stale journal). Refused, like a rewrite,
    when the JSON file is read-only. Returns the writer's new ``Mark``."""
    st = _stat(path)
    if st is None:
        raise FileNotFoundError(f"{path} disappeared; the change was not made.")
    check_writable(path, st)
    data = (line + "\n").encode("utf-8")
    jpath = journal_path(path)
    fd = os.open(jpath, os.O_WRONLY | os.O_CREAT | _BINARY, stat.S_IMODE(st.st_mode))
    try:
        jst = os.fstat(fd)
        start = 0 if mark.stale else mark.offset
        if jst.st_size < start:
            raise ConflictError(f"{jpath} was cut short by someone else; the change was not "
                                f"made. Open the experiment again with axnb.load().")
        if jst.st_size != start:
            os.ftruncate(fd, start)
        os.lseek(fd, start, os.SEEK_SET)
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if mark.journal is None:  # a new journal: make its name durable too
        _fsync_dir(path.parent)
    end = start + len(data)
    return replace(mark, journal=(jst.st_ino, end), offset=end, stale=False)


def check_writable(path: Path, st: os.stat_result | None = None) -> None:
    """Raise ``PermissionError`` if the experiment file exists and may not be written (no
    write permission bit at all - even for root - or no access for this user)."""
    st = _stat(path) if st is None else st
    if st is None:
        return
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise PermissionError(
            f"{path} is read-only (permissions {stat.filemode(st.st_mode)}): axnb does not "
            f"replace or append to a file you cannot write, so this change was not made. "
            f"Make it writable (chmod u+w '{Path(path).name}') to record changes, or pass "
            f"another path= to work on a copy."
        )


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _write_temp(path: Path, data: bytes, mode: int | None) -> Path:
    """A new hidden temporary file next to ``path`` holding ``data``, fsync'ed. ``mode``: its
    permission bits (None: those of any new file, 0666 less the umask)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY,
                         0o666 if mode is None else 0o600)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        break
    try:
        try:
            _write_all(fd, data)
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None and not hasattr(os, "fchmod"):  # pragma: no cover - Windows
            os.chmod(tmp, mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _replace(src: Path, dst: Path) -> None:
    """``os.replace``; on Windows, retried for a moment while another program (a virus
    scanner, an editor) has the target open."""
    for attempt in itertools.count():
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if os.name != "nt" or attempt >= 20:
                raise
            time.sleep(0.05)  # pragma: no cover - Windows


def _fsync_dir(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------- backups, clean-up
def backup(path: Path, text: str | bytes) -> Path:
    """Write ``text`` to a new backup ``<file>.bak-<UTC time>`` next to ``path`` (``-2``,
    ``-3``, ... when the name is taken): complete and fsync'ed before it gets its name, with
    the permissions of ``path``; an existing file is never replaced."""
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    st = _stat(path)
    tmp = _write_temp(path, data, None if st is None else stat.S_IMODE(st.st_mode))
    try:
        stamp = datetime.now(UTC).strftime(_STAMP)
        for k in itertools.count(1):
            target = path.with_name(f"{path.name}.bak-{stamp}" + (f"-{k}" if k > 1 else ""))
            if _link_new(tmp, target):
                break
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return target


def backup_unreadable(path: Path) -> Path:
    """Set aside a file that cannot be read as it is: its bytes to a new backup, and its
    journal (if any) next to that backup as ``<backup>.journal``."""
    target = backup(path, Path(path).read_bytes())
    jpath = journal_path(path)
    if jpath.exists():
        os.replace(jpath, journal_path(target))
    return target


def _link_new(src: Path, target: Path) -> bool:
    """Give ``src``'s content the new name ``target``; False when ``target`` exists."""
    try:
        os.link(src, target)
        return True
    except FileExistsError:
        return False
    except (OSError, NotImplementedError, AttributeError):  # pragma: no cover - no hard links
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o600)
        except FileExistsError:
            return False
        os.close(fd)
        os.replace(src, target)
        return True


def backups(path: Path) -> list[Path]:
    """The backups of ``path`` (``<file>.bak-<time>[-k]`` and the former ``<file>.bak``),
    oldest first."""
    path = Path(path)
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        if name.startswith(path.name) and _BACKUP_TAIL.fullmatch(name[len(path.name):]):
            st = _stat(path.parent / name)
            if st is not None:
                found.append((st.st_mtime_ns, name))
    return [path.parent / name for _, name in sorted(found)]


def cleanup(path: Path) -> list[Path]:
    """Delete the hidden temporary files that killed writers left next to ``path``. Call with
    the lock held: every temporary file is written under it, so any found is abandoned."""
    path = Path(path)
    pattern = re.compile(r"\." + re.escape(path.name) + r"\.[0-9a-z_]{8}\.tmp")
    removed = []
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    for name in names:
        if pattern.fullmatch(name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path.parent / name)
                removed.append(path.parent / name)
    return removed


# --------------------------------------------------------------------- locking
_LOCKS: dict[str, filelock.FileLock] = {}
_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def lock(path: Path) -> Iterator[None]:
    """Hold the experiment's lock ``<file>.lock``: exclusive between processes (on every OS,
    through ``filelock``) and between threads, re-entrant within a thread, released by the
    operating system if the process dies. After ``LOCK_PATIENCE`` seconds of waiting, says
    once that another process holds it, and goes on waiting."""
    key = os.fspath(path)
    with _LOCKS_GUARD:
        held = _LOCKS.get(key)
        if held is None:
            Path(key).parent.mkdir(parents=True, exist_ok=True)
            held = _LOCKS[key] = filelock.FileLock(f"{key}{LOCK_SUFFIX}")
    try:
        held.acquire(timeout=LOCK_PATIENCE)
    except filelock.Timeout:
        warnings.warn(
            f"axnb: waiting for {key}{LOCK_SUFFIX}: another process has held it for "
            f"{LOCK_PATIENCE:.0f} s (a long suggestion in another kernel?).",
            stacklevel=3,
        )
        held.acquire()
    try:
        yield
    finally:
        held.release()


file_lock = lock  # its former name


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a big file is parsed and turned into trials
    (its many small containers would otherwise set off repeated full collections, which
    cost more than the parse); re-entrant and thread-safe."""
    global _gc_depth, _gc_restore
    with _gc_guard:
        if _gc_depth == 0:
            _gc_restore = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_guard:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_restore:
                gc.enable()


_gc_guard = threading.Lock()
_gc_depth = 0
_gc_restore = False


# --------------------------------------------------------------------- owners of trials
_OWNER: tuple[int, dict[str, Any]] | None = None


def process_owner() -> dict[str, Any]:
    """This process as the owner of the trials its loops run: host name, pid and (Linux) a
    start-time token that tells a later process with the same pid apart."""
    global _OWNER
    pid = os.getpid()
    if _OWNER is None or _OWNER[0] != pid:  # computed again in a forked child
        _OWNER = (pid, {"host": socket.gethostname(), "pid": pid, "start": _start_token(pid)})
    return dict(_OWNER[1])


def owner_alive(owner: Mapping[str, Any]) -> bool | None:
    """True if the process ``owner`` names still runs, False if it has ended (or its pid now
    belongs to another process), None if that cannot be known (another host)."""
    pid = owner.get("pid")
    if (owner.get("host") != socket.gethostname() or isinstance(pid, bool)
            or not isinstance(pid, int) or pid <= 0):
        return None
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self"):
        token = _start_token(pid)
        if token is None:
            return False
        recorded = owner.get("start")
        return recorded is None or token == recorded
    if os.name == "nt":  # pragma: no cover - Windows
        return _windows_alive(pid)
    try:  # pragma: no cover - macOS and other POSIX
        os.kill(pid, 0)
    except ProcessLookupError:  # pragma: no cover
        return False
    except PermissionError:  # pragma: no cover - alive, another user's
        return True
    except OSError:  # pragma: no cover
        return None
    return True  # pragma: no cover


def _start_token(pid: int) -> str | None:
    """Linux: ``<boot id>:<start time in clock ticks>`` of ``pid``; None when there is no such
    process (or it is a zombie), and elsewhere."""
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            line = f.read()
    except OSError:
        return None
    fields = line[line.rfind(b")") + 2:].split()
    if len(fields) < 20 or fields[0] in (b"Z", b"X"):
        return None
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:  # pragma: no cover
        boot = ""
    return f"{boot}:{fields[19].decode()}"


def _windows_alive(pid: int) -> bool | None:  # pragma: no cover - Windows
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        error = ctypes.get_last_error()
        return True if error == 5 else False if error == 87 else None  # denied / no such pid
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return None
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
