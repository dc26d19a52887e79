"""`python -m bench.markdown [var/bench/report.json]`: a report's figures as Markdown (docs/BENCHMARK.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.processes import PROJECT_ROOT
from bench.report import page_calls


def _v(value: Any) -> str:
    return "—" if value is None else str(value)


def markdown(report: dict[str, Any]) -> str:
    """The page table, workers, tokens, scale check and budgets of one run."""
    p, m, load = report["parameters"], report["machine"], report["load"]
    lines = [
        f"Run: {p['users']} customers, {p['duration_s']:.0f} s, Dataverse latency {p['latency_ms']} ms, "
        f"{p['workers']} workers × {p['threads']} threads, {m['cpus']} CPUs (load average at start "
        f"{m['loadavg_at_start'][0]}, at end {m['loadavg_at_end'][0]}); {load['journeys']} journeys, "
        f"{load['failed_journeys']} failed; {load['dataverse_requests']} Dataverse requests "
        f"({load['dataverse_calls_per_view']} per page view).",
        "",
        "| page | views | per s | p50 ms | p95 ms | p99 ms | errors | DV calls/view | overhead_ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for page, f in {**load["pages"], "overall": load["overall"]}.items():
        calls: Any = page_calls(report["dataverse_calls_per_page"].get(page))
        if page == "overall":
            calls = load["dataverse_calls_per_view"]
        over = report["overhead"].get(page, {}).get("overhead_ms")
        lines.append(
            f"| {page} | {f['count']} | {f['throughput_per_s']} | {f['p50_ms']} | {f['p95_ms']} | "
            f"{f['p99_ms']} | {f['errors']} | {_v(calls)} | {_v(over)} |"
        )
    lines += [
        "",
        "| overhead pass (one customer) | page p50 | its DV requests direct p50 | overhead_ms | inside app "
        "| outside Flask | the portal's DV calls |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page, o in report["overhead"].items():
        logged = o.get("request_log_p50_ms")
        outside = None if logged is None else round(o["page_p50_ms"] - logged, 2)
        lines.append(
            f"| {page} | {o['page_p50_ms']} | {o['dataverse_direct_p50_ms']} | {o['overhead_ms']} | "
            f"{_v(o.get('inside_app_p50_ms'))} | {_v(outside)} | {_v(o.get('portal_dataverse_p50_ms'))} |"
        )
    w = report["workers"]
    lines += [
        "",
        "Workers (RSS MB, before load → peak): "
        + ", ".join(
            f"{w['rss_before_load_mb'].get(pid, '?')} → {peak}" for pid, peak in w["peak_rss_mb"].items()
        )
        + f". Token requests: {_v(report['token_requests']['count'])} ({report['token_requests']['path']}).",
    ]
    scale = report.get("scale_check")
    if scale:
        lines += [
            "",
            "| scale check | cases | DV calls/view | bytes from DV | page bytes | p50 ms | emulator p50 ms | "
            "portal p50 ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, f in scale["accounts"].items():
            lines.append(
                f"| {name} | {f['cases']} | {f['dataverse_calls_per_view']} | "
                f"{f['dataverse_bytes_per_view']} | {f['page_bytes']} | {f['p50_ms']} | "
                f"{f['emulator_p50_ms']} | {f['portal_p50_ms']} |"
            )
    lines += ["", "| budget | figure | limit | verdict |", "|---|---|---|---|"]
    for b in report["budgets"]:
        verdict = "ok" if b["ok"] else f"**not ok** — {b.get('why', '')}"
        lines.append(f"| {b['name']} | {_v(b['figure'])} | {b['limit']} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print the Markdown of a report file."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else PROJECT_ROOT / "var" / "bench" / "report.json"
    print(markdown(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
