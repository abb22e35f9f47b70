"""Markdown pieces shared by the benchmarks' sections of RESULTS.md: tables, numbers, seeds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def fmt(x: float) -> str:
    """A regret-like number: 0, three decimals, or scientific below 0.01."""
    if x == 0:
        return "0"
    if abs(x) >= 0.01:
        return f"{x:.3f}"
    return f"{x:.1e}"


def quantiles(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles (``q25``, ``q75``) and mean of ``values``."""
    v = np.asarray(values, dtype=float)
    return {"median": float(np.median(v)), "q25": float(np.quantile(v, 0.25)),
            "q75": float(np.quantile(v, 0.75)), "mean": float(v.mean())}


def quartiles(s: dict[str, float]) -> str:
    """``median [q25, q75]`` of a summary with those keys."""
    return f"{fmt(s['median'])} [{fmt(s['q25'])}, {fmt(s['q75'])}]"


def seeds_text(seeds: Sequence[int]) -> str:
    """"1 seed (4)", "10 seeds (0–9)" or "3 seeds"."""
    seeds = list(seeds)
    if len(seeds) == 1:
        return f"1 seed ({seeds[0]})"
    if seeds and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{len(seeds)} seeds ({seeds[0]}–{seeds[-1]})"
    return f"{len(seeds)} seeds"
