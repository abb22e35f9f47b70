"""Run a notebook headless and print what it printed, then the best point of its experiments.

    python scripts/run_notebook.py notebooks/quickstart.ipynb

The notebook is executed in memory (nbclient): its file is never written, so no outputs end
up in the repository. The kernel's working directory is the notebook's folder, as in Jupyter,
so the experiment file (``<name>.axnb.json``) lands next to the notebook and a second run
resumes it. Exits non-zero when a cell raises.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cell_text(cell: nbformat.NotebookNode) -> str:
    """The plain-text outputs of one executed code cell."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            data = out.get("data", {})
            if "text/plain" in data and "application/vnd.jupyter.widget-view+json" not in data:
                parts.append(data["text/plain"] + "\n")
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback) + "\n")
    return ANSI.sub("", "".join(parts))


def experiment_files(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in sorted(folder.glob("*.axnb.json"))}


def report_best(paths: list[Path]) -> None:
    import axnb

    for path in paths:
        exp = axnb.load(path)
        done = sum(t.is_completed for t in exp.trials)
        print(f"\n{path.name}: {done} completed trials")
        if not done:
            continue
        if exp.is_multi_objective:
            print(f"  Pareto front: {len(exp.pareto())} points")
            continue
        params, values = exp.best()
        print(f"  best point:  {params}")
        print(f"  best values: {values}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--kernel", default="python3", help="kernel name (default python3)")
    args = parser.parse_args(argv)

    path = args.notebook.resolve()
    folder = path.parent
    nb = nbformat.read(path, as_version=4)
    before = experiment_files(folder)
    client = NotebookClient(
        nb,
        timeout=args.timeout,
        kernel_name=args.kernel,
        resources={"metadata": {"path": str(folder)}},  # the kernel's working directory
    )
    print(f"Running {args.notebook} (kernel cwd {folder}) ...", flush=True)
    start = time.perf_counter()
    failed: CellExecutionError | None = None
    try:
        client.execute()
    except CellExecutionError as e:
        failed = e
    elapsed = time.perf_counter() - start

    for cell in nb.cells:
        text = cell_text(cell).rstrip() if cell.cell_type == "code" else ""
        if text:
            print(f"\n--- In [{cell.get('execution_count') or ' '}]")
            print(text)
    if failed is not None:
        error = f"{failed.ename}: {failed.evalue}"
        print(f"\n{args.notebook} FAILED after {elapsed:.1f} s: {error}", file=sys.stderr)
        return 1
    print(f"\n{args.notebook} ran in {elapsed:.1f} s.")

    after = experiment_files(folder)
    touched = [p for p, mtime in after.items() if before.get(p) != mtime] or list(after)
    report_best(touched)
    return 0


if __name__ == "__main__":
    sys.exit(main())
