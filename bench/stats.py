"""Percentiles and per-page summaries of the recorded page views."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from bench.journey import PAGES, Sample


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summarize(samples: Iterable[Sample], elapsed: float) -> dict[str, Any]:
    """count, throughput (per second), p50/p95/p99 latency (ms), errors and mean bytes."""
    samples = list(samples)
    latencies = [s.ms for s in samples]
    return {
        "count": len(samples),
        "throughput_per_s": _round(len(samples) / elapsed if elapsed else 0.0, 2),
        "p50_ms": _round(percentile(latencies, 50)),
        "p95_ms": _round(percentile(latencies, 95)),
        "p99_ms": _round(percentile(latencies, 99)),
        "errors": sum(1 for s in samples if not s.ok),
        "mean_bytes": round(sum(s.size for s in samples) / len(samples)) if samples else 0,
    }


def by_page(samples: Sequence[Sample], elapsed: float) -> dict[str, dict[str, Any]]:
    """`summarize` for each page kind seen, in journey order."""
    kinds = [p for p in PAGES if any(s.page == p for s in samples)]
    kinds += sorted({s.page for s in samples} - set(kinds))
    return {kind: summarize((s for s in samples if s.page == kind), elapsed) for kind in kinds}
