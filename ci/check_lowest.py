"""Check that ci/lowest.txt, pyproject.toml and the current venv agree on the lowest versions.

``make test-lowest`` installs axnb with ``-c ci/lowest.txt`` into ``.venv-lowest`` and runs the
tests there. That only proves the floors in pyproject.toml if

1. every pin ``name==X`` in ci/lowest.txt is a runtime dependency whose floor is ``>=X``;
2. every runtime dependency with a floor is pinned there (except those in ``NOT_PINNED``);
3. the versions installed in the running interpreter's environment equal the pins.

Run with the venv's python: ``.venv-lowest/bin/python ci/check_lowest.py``. With
``--no-installed`` only checks 1 and 2 are made (any python >= 3.11 will do). Exits 1 and lists
every mismatch, or prints one line per pin and exits 0.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOWEST = ROOT / "ci" / "lowest.txt"

#: Runtime dependencies that ci/lowest.txt does not pin, and why.
NOT_PINNED: dict[str, str] = {
    "torch": "CI installs the on-disk CPU wheel torch==2.13.0 first; older CPU builds are not "
    "on PyPI and a bare 'torch' pulls multi-GB CUDA wheels",
}

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)$")


def normalize_name(name: str) -> str:
    """The PEP 503 form of a distribution name (``Linear_Operator`` -> ``linear-operator``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def normalize_version(version: str) -> str:
    """``version`` with a local label (``+cpu``) and trailing ``.0`` release parts dropped, so
    that ``1.14`` and ``1.14.0`` compare equal; other versions are compared as written."""
    v = version.strip().lower().split("+", 1)[0]
    if re.fullmatch(r"\d+(\.\d+)*", v):
        parts = v.split(".")
        while len(parts) > 1 and parts[-1] == "0":
            parts.pop()
        return ".".join(parts)
    return v


def floors(pyproject: Path = PYPROJECT) -> dict[str, str | None]:
    """Runtime dependency name -> the version of its ``>=`` specifier (None without one)."""
    with pyproject.open("rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    out: dict[str, str | None] = {}
    for dep in deps:
        m = _REQUIREMENT.match(dep.split(";", 1)[0])
        if m is None:
            raise ValueError(f"{pyproject.name}: cannot parse dependency {dep!r}")
        floor = None
        for spec in filter(None, (s.strip() for s in m.group(3).split(","))):
            if spec.startswith(">="):
                floor = spec[2:].strip()
        out[normalize_name(m.group(1))] = floor
    return out


def pins(lowest: Path = LOWEST) -> dict[str, str]:
    """Name -> version of each ``name==version`` line of ``lowest`` (comments ignored)."""
    out: dict[str, str] = {}
    for n, raw in enumerate(lowest.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _PIN.match(line)
        if m is None:
            raise ValueError(f"{lowest.name}:{n}: expected 'name==version', got {raw.strip()!r}")
        name = normalize_name(m.group(1))
        if name in out:
            raise ValueError(f"{lowest.name}:{n}: {name} is pinned twice")
        out[name] = m.group(2)
    return out


def problems(
    declared: dict[str, str | None], pinned: dict[str, str], check_installed: bool
) -> list[str]:
    """Every disagreement between the floors, the pins and (optionally) the installed versions."""
    out: list[str] = []
    lo, pp = LOWEST.relative_to(ROOT), PYPROJECT.name
    for name, version in pinned.items():
        if name not in declared:
            out.append(f"{lo} pins {name}=={version}, which is not a runtime dependency in {pp}")
        elif name in NOT_PINNED:
            out.append(f"{lo} pins {name}, listed in NOT_PINNED of {Path(__file__).name}")
        elif declared[name] is None:
            out.append(f"{lo} pins {name}=={version} but {pp} declares no '>=' floor for it")
        elif normalize_version(declared[name]) != normalize_version(version):
            out.append(f"{lo} pins {name}=={version} but {pp} declares {name}>={declared[name]}")
    for name, floor in declared.items():
        if floor is not None and name not in pinned and name not in NOT_PINNED:
            out.append(f"{pp} declares {name}>={floor} but {lo} has no {name}=={floor}")
    if check_installed:
        for name, version in pinned.items():
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                out.append(f"{name} is not installed in {sys.prefix} ({lo} pins {version})")
                continue
            if normalize_version(installed) != normalize_version(version):
                out.append(
                    f"{name} {installed} is installed in {sys.prefix} but {lo} pins "
                    f"{version}: reinstall with `pip install -c {lo} ...`"
                )
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the checks; print the mismatches and return 1, or a summary and return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-installed", action="store_true", help="only compare ci/lowest.txt with pyproject.toml"
    )
    args = parser.parse_args(argv)
    try:
        declared, pinned = floors(), pins()
    except (OSError, ValueError, KeyError) as e:
        print(f"check_lowest: {e}", file=sys.stderr)
        return 1
    found = problems(declared, pinned, check_installed=not args.no_installed)
    if found:
        print(f"check_lowest: {len(found)} mismatch(es):", file=sys.stderr)
        for p in found:
            print(f"  - {p}", file=sys.stderr)
        return 1
    where = "pyproject.toml" if args.no_installed else f"pyproject.toml and {sys.prefix}"
    print(
        f"check_lowest: {len(pinned)} pins of {LOWEST.relative_to(ROOT)} match {where}: "
        + ", ".join(f"{n}=={v}" for n, v in pinned.items())
    )
    for name, why in NOT_PINNED.items():
        if name in declared:
            print(f"check_lowest: {name} not pinned ({why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
