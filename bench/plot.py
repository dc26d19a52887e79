"""The latency plot written next to the report: p50/p95/p99 per page (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first


def plot_latency(report: dict[str, Any], path: Path) -> Path:
    """Grouped bars of p50/p95/p99 latency for every page of the load run; returns the PNG's path."""
    pages = report["load"]["pages"]
    names = list(pages)
    width = 0.27
    fig, ax = plt.subplots(figsize=(max(8.0, 0.9 * len(names) + 2), 4.8), dpi=110)
    for offset, (key, label, colour) in enumerate(
        (("p50_ms", "p50", "#2b6cb0"), ("p95_ms", "p95", "#dd6b20"), ("p99_ms", "p99", "#c53030"))
    ):
        values = [pages[n][key] or 0.0 for n in names]
        ax.bar(
            [i + (offset - 1) * width for i in range(len(names))], values, width, label=label, color=colour
        )
    overall = report["load"]["overall"]
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("latency (ms)")
    params = report["parameters"]
    ax.set_title(
        f"Page latency: {params['users']} customers, {params['duration_s']:.0f} s, Dataverse +"
        f"{params['latency_ms']} ms, {params['workers']}×{params['threads']} gunicorn — "
        f"overall p50 {overall['p50_ms']} ms",
        fontsize=9,
    )
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
