"""Earlier campaigns as extra tasks: ``Experiment(..., related=["last_year.axnb.json"])``.

Each related file is read (never written) when the experiment is created or opened. Its
completed trials that are not excluded enter the experiment's multi-task model as one more
task, named after that experiment (``"last_year"``; ``"last_year (2)"`` for a second one of the
same name); the experiment's own trials are the target task. They are not copied into this
experiment's file, which records the paths (``config.related``, relative to this file's folder
when the related file is inside it).

Search spaces may differ; the shared parameters are used:

* a parameter of the related experiment that this one does not have is dropped (its trials
  then look like repeated measurements at this experiment's points: noise for the model);
* a parameter of this experiment that the related one does not have is held at the middle of
  its range (the first value of an unordered choice) for the related trials;
* a related trial whose values are not in this search space (out of bounds, a choice value
  this space lacks, a constraint broken) is left out.

``Related`` says what was dropped, held and left out; ``exp.summary()["related"]`` shows it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axnb.errors import InvalidParameterError
from axnb.space import SearchSpace, Value, middle_value
from axnb.trial import Trial


@dataclass
class Related:
    """One related experiment: where it is, its task name, its trials in this space and
    what the mapping dropped (see module doc)."""

    path: str
    name: str
    trials: list[Trial] = field(default_factory=list)
    completed: int = 0
    dropped_parameters: list[str] = field(default_factory=list)
    held: dict[str, Value] = field(default_factory=dict)
    outside: int = 0
    error: str | None = None

    def info(self) -> dict[str, Any]:
        """A plain summary (``exp.summary()["related"]``)."""
        out: dict[str, Any] = {
            "name": self.name, "path": self.path, "used": len(self.trials),
            "completed": self.completed, "dropped_parameters": list(self.dropped_parameters),
            "held": dict(self.held), "outside_space": self.outside,
        }
        if self.error:
            out["error"] = self.error
        return out


def check_paths(related: Any) -> list[str]:
    """The related paths as strings (a list of paths), or a ``ValueError`` saying what to
    pass."""
    if related is None:
        return []
    if isinstance(related, (str, os.PathLike)) or not isinstance(related, Sequence):
        raise InvalidParameterError(
            f"related must be a list of experiment files, e.g. ['last_year.axnb.json']; got "
            f"{related!r}.")
    out = []
    for p in related:
        if not isinstance(p, (str, os.PathLike)) or not str(p).strip():
            raise InvalidParameterError(
                f"related: {p!r} is not a path to an experiment file.")
        out.append(str(p))
    return out


def locate(path: str, folder: Path) -> Path:
    """A related file's path: relative paths are taken from ``folder`` (this experiment's
    file's folder), then from the working directory."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    for base in (folder, Path.cwd()):
        if (base / p).exists():
            return (base / p).resolve()
    return (folder / p).resolve()


def record(path: Path, folder: Path) -> str:
    """How the file records a related path: relative to ``folder`` when inside it."""
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def load(paths: Sequence[str], space: SearchSpace, metrics: Sequence[str], own: Path,
         taken: Sequence[str], strict: bool) -> list[Related]:
    """Read the related experiments (``strict``: a missing or unreadable file raises;
    otherwise it is kept with ``error`` set and no trials, and the caller warns)."""
    from axnb import storage

    out: list[Related] = []
    names = set(taken)
    for i, given in enumerate(paths):
        path = locate(given, own.parent)
        if path == own.resolve():
            raise InvalidParameterError(
                f"related: {given!r} is this experiment's own file; list earlier campaigns.")
        try:
            data = storage.read(path)
        except (OSError, ValueError) as e:
            if strict:
                raise InvalidParameterError(
                    f"related: cannot read {path}: {e}. Give the path of an experiment file "
                    f"(<name>.axnb.json), absolute or relative to {own.parent}.") from None
            out.append(Related(given, f"related {i + 1}", error=f"{type(e).__name__}: {e}"))
            continue
        name = _unique(str(data["config"].get("name") or path.stem), names)
        names.add(name)
        out.append(_map(record(path, own.parent), name, data, space, metrics, i))
    return out


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name} ({k})" in taken:
        k += 1
    return f"{name} ({k})"


def _map(path: str, name: str, data: dict[str, Any], space: SearchSpace,
         metrics: Sequence[str], number: int) -> Related:
    """The related file's completed trials, mapped into ``space`` (module doc)."""
    theirs = [p.get("name") for p in data["config"].get("parameters", [])]
    ours = {p.name: p for p in space.parameters}
    rel = Related(path, name)
    rel.dropped_parameters = [n for n in theirs if n not in ours]
    rel.held = {n: middle_value(p) for n, p in ours.items() if n not in theirs and not p.when}
    for k, d in enumerate(data["trials"]):
        if d.get("status") != "completed" or d.get("excluded") or not d.get("result"):
            continue
        rel.completed += 1
        result = {m: v for m, v in d["result"].items() if m in metrics}
        if not result:
            continue
        params = {n: v for n, v in d["parameters"].items() if n in ours}
        params.update({n: v for n, v in rel.held.items() if n not in params})
        try:
            params = space.prune(space.validate(params, check_constraints=False))
            params = space.validate(params)
        except ValueError:
            rel.outside += 1
            continue
        t = Trial.from_dict({**d, "parameters": params, "result": result})
        # Negative indices, unique across related files: they never meet this file's trials.
        t.index = -(1 + number * 1_000_000 + k)
        t.task, t.batch, t.weight, t.history = name, None, None, []
        rel.trials.append(t)
    return rel

