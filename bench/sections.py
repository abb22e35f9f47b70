"""A generated block inside a hand-edited section of bench/RESULTS.md (``python -m
bench.hierarchical --write``, ``bench.multitask --write``): the block between two markers is
replaced, the section's hand-written analysis is kept."""

from __future__ import annotations

from pathlib import Path


def update_section(text: str, block: str, heading: str, begin: str, end: str,
                   placeholder: str) -> str:
    """``text`` (a RESULTS.md) with the section ``heading``'s generated block (between
    ``begin`` and ``end``) replaced, everything else (the section's hand-written analysis
    included) kept; without the section, it is appended with ``placeholder``."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.rstrip("\n") == heading), None)
    new = f"{begin}\n{block}\n{end}"
    if start is None:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else
                                                            "\n\n")
        return f"{text}{sep}{heading}\n\n{new}\n\n{placeholder}\n"
    stop = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                len(lines))
    section = "".join(lines[start:stop])
    if begin in section and end in section:
        i, j = section.index(begin), section.index(end) + len(end)
        section = section[:i] + new + section[j:]
    else:
        section = section[:len(heading) + 1] + "\n" + new + "\n" + section[len(heading) + 1:]
    return "".join(lines[:start]) + section + "".join(lines[stop:])


def write_section(path: Path | str, text_of: object) -> None:
    """Rewrite ``path`` with ``text_of(old_text)`` (the file created if missing)."""
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text_of(text))  # type: ignore[operator]
