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
    series = (report.get("service_protection") or {}).get("budget_over_time") or []
    if series:
        fig, (ax, budget_ax) = plt.subplots(
            2, 1, figsize=(max(8.0, 0.9 * len(names) + 2), 8.4), dpi=110, height_ratios=[3, 2]
        )
        _plot_budget(budget_ax, report["service_protection"])
    else:
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


def _plot_budget(ax: Any, run: dict[str, Any]) -> None:
    """Dataverse's remaining requests over the service-protection run, as the portal saw them."""
    points = [(t, left) for t, left in run["budget_over_time"] if left is not None]
    if points:
        ax.plot([t for t, _ in points], [left for _, left in points], color="#2b6cb0", label="requests left")
    limit = run["limits"]["requests"]
    for share, label, colour in ((0.25, "anonymous shed", "#a0aec0"), (0.15, "searches shed", "#dd6b20"),
                                 (0.05, "pages shed", "#c53030")):  # fmt: skip
        ax.axhline(limit * share, color=colour, linestyle="--", linewidth=1, label=label)
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("Dataverse requests left")
    ax.set_title(
        f"Service protection: {run['customers']} customers, {limit} requests / "
        f"{run['limits']['window_s']} s; "
        f"served: {run['served_share']}; Dataverse 429s {run['dataverse_429_share']:.1%}",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
