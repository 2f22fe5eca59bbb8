"""Stretches of time (start, end) and how much of a window they cover: what silences and holds
share. Plain Python."""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[float, float]


def union(spans: Iterable[Span]) -> list[Span]:
    """Disjoint, sorted spans covering exactly what ``spans`` cover (empty spans dropped)."""
    merged: list[Span] = []
    for lo, hi in sorted(spans):
        if hi <= lo:
            continue
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def clipped(spans: Iterable[tuple[float, float | None]], start: float, end: float
            ) -> list[Span]:
    """``spans`` cut to [start, end]; a span still open (end None) runs to ``end``."""
    return [(max(lo, start), min(end if hi is None else hi, end)) for lo, hi in spans]


def covered(spans: Iterable[Span]) -> float:
    """Seconds covered at least once."""
    return sum(hi - lo for lo, hi in union(spans))
