"""The ``axnb`` command line.

    $ axnb report booth.axnb.json -o report.html
    $ python -m axnb.cli report booth.axnb.json          # writes booth.html next to it

Errors (missing or unreadable file, bad arguments) print one line to stderr and exit with
status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2; axnb's contract is 1
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="axnb", description="axnb: Bayesian optimization from a notebook.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    report = sub.add_parser(
        "report", help="write a standalone HTML report of an experiment file",
        description="Write a standalone, offline HTML report (summary, best point, plots, "
                    "trials) of a saved experiment.",
    )
    report.add_argument("file", help="the experiment file, e.g. booth.axnb.json")
    report.add_argument(
        "-o", "--output", default=None,
        help="the HTML file to write (default: the experiment file's name with .html)",
    )
    return parser


def _default_output(file: Path) -> Path:
    name = file.name
    for suffix in (".axnb.json", ".json"):
        if name.endswith(suffix):
            return file.with_name(name[: -len(suffix)] + ".html")
    return file.with_name(name + ".html")


def _report(file: str, output: str | None) -> int:
    from axnb.errors import AxnbError
    from axnb.experiment import _load

    path = Path(file).expanduser()
    if not path.exists():
        print(f"axnb: error: no experiment file at {path}", file=sys.stderr)
        return 1
    if path.is_dir():
        print(f"axnb: error: {path} is a folder; give the experiment's .axnb.json file",
              file=sys.stderr)
        return 1
    try:
        exp = _load(path)  # Python constraints need not be given: a report only reads
        written = exp.report(output or _default_output(path))
    except (AxnbError, ValueError, OSError) as e:
        print(f"axnb: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {written}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``axnb`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "report":
        return _report(args.file, args.output)
    parser.print_help(sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
