"""The experiment file: JSON format and its versions, atomic writes, reading with clear errors,
and locking.

One file per experiment, ``<name>.axnb.json`` by default, indented and human-readable.

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
      "revision": 7,                   # bumped at every save; lets another process see a change
      "saved_at": "2026-...+00:00",
      "config": {
        "name": "checkout",
        "parameters": [{...}],         # Ax-style dicts; planned: "when": {"model": ["svm"]}
        "constraints": ["x1 + x2 <= 1"],   # planned: {"predicate": name, "source": text}
        "objectives": [{"metric": "conversion", "minimize": false}],
        "outcome_constraints": [],
        "seed": 0,
        "initial_trials": null
        # planned: "tasks": [...], "related": [paths], "model": "import.path",
        #          "acquisition": "import.path", "acquisition_options": {...}
      },
      "trials": [
        {"index": 0, "parameters": {...}, "status": "completed", "source": "init",
         "result": {"conversion": [0.052, 0.0071]},     # metric -> [mean, sem or null]
         "created_at": "...", "completed_at": "...", "reason": null,
         "batch": 0, "weight": 0.1666,                  # optional: bandit round, traffic share
         "counts": {"conversion": [52, 1000]}           # optional: results given as Rate
         # planned: "task": "online", "excluded": true,
         #          "history": [{"result": {...}, "reason": "...", "at": "..."}]
        }
      ],
      "rounds": [                                       # optional: bandit rounds
        {"batch": 0, "created_at": "...", "window": null}
      ]
      # planned: "revisions": [{"revision": 5, "at": "...", "what": "...", "config": {...}}]
    }

Version 1 is version 2 without the optional keys: a version-1 file loads unchanged and is
written as version 2 at its next save. A file of a later version is refused with "upgrade
axnb" and never modified.

Writes go to a temporary file in the same folder, which is flushed and fsync'ed and then
``os.replace``-d over the old file, so a reader (or a crash) only ever sees the old or the new
file, never half of one. A sidecar ``<file>.lock`` serializes writers across processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from axnb.errors import CorruptFileError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: in-process locking only
    fcntl = None  # type: ignore[assignment]

FORMAT = "axnb.experiment"
SCHEMA_VERSION = 2
#: Keys this version reads, at the top level and in a trial (see the module doc).
TOP_KEYS = frozenset({"format", "schema_version", "revision", "saved_at", "config", "trials",
                      "rounds"})
TRIAL_KEYS = frozenset({"index", "parameters", "status", "source", "result", "created_at",
                        "completed_at", "reason", "batch", "weight", "counts"})
SUFFIX = ".axnb.json"


def default_path(name: str) -> Path:
    """``<name>.axnb.json`` in the working directory (next to the notebook)."""
    return Path.cwd() / f"{name}{SUFFIX}"


def dumps(state: dict[str, Any]) -> str:
    """Serialize a state dict; floats round-trip exactly (``repr``), NaN is refused."""
    body = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **state}
    return json.dumps(body, indent=1, allow_nan=False, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: temp file, flush, fsync, ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


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


def read(path: Path) -> dict[str, Any]:
    """Read and check an experiment file; raise ``CorruptFileError`` (never modify it)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise _corrupt(path, f"not UTF-8 text ({e.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        where = "it is empty" if not text.strip() else f"{e.msg} at line {e.lineno}"
        raise _corrupt(path, f"invalid JSON: {where}; it may be truncated") from None
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
    unknown = sorted(set(data) - TOP_KEYS)
    for t in data["trials"]:
        if isinstance(t, dict):
            unknown += sorted(f"trials[].{k}" for k in set(t) - TRIAL_KEYS)
    if unknown:
        raise CorruptFileError(
            f"{path} uses {sorted(set(unknown))}, which this axnb does not know (a newer axnb "
            f"wrote it?). Upgrade axnb to open it. The file was left untouched."
        )
    if not isinstance(data.get("rounds", []), list):
        raise _corrupt(path, "'rounds' is not a list")
    return data


def _corrupt(path: Path, detail: str) -> CorruptFileError:
    return CorruptFileError(
        f"Cannot read experiment file {path}: {detail}. The file was left untouched. Restore "
        f"it from a backup, or move it away (or pass another path=) to start a new experiment."
    )


def signature(path: Path) -> tuple[int, int, int] | None:
    """Cheap fingerprint of the file on disk (changes whenever it is replaced)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock on ``<path>.lock`` across processes (POSIX ``flock``; released on exit
    or when the process dies)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    lock_path = Path(f"{path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
