"""`make bench` end to end, shortened: it starts its processes, walks every page, and writes the report
and the plot. Timings are not asserted here (the report's budgets are for that); the counts are."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.processes import PROJECT_ROOT

pytestmark = pytest.mark.live


def test_bench_runs_and_writes_its_report_and_plot(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-m",
        "bench",
        "--users",
        "2",
        "--duration",
        "1",
        "--repeat",
        "1",
        "--workers",
        "1",
        "--threads",
        "4",
        "--no-scale",
        "--out",
        str(tmp_path),
    ]
    done = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "load: 2 customers" in done.stdout and "budgets:" in done.stdout  # phases and the table

    report = json.loads((tmp_path / "report.json").read_text())
    assert (tmp_path / "latency.png").read_bytes().startswith(b"\x89PNG")
    calls = report["dataverse_calls_per_page"]
    assert set(calls) >= {
        "sign_in",
        "case_list",
        "search",
        "case",
        "comment",
        "download",
        "case_action",
        "notifications",
        "new_case_form",
        "associates",
        "associate_select",
        "submit",
        "hour_banks",
        "hour_bank",
        "company_users",
        "company_action",
        "company_invite",
        "kb_search",
        "kb_article",
        "kb_rate",
        "suggest",
        "sign_out",
    }
    by_name = {b["name"]: b for b in report["budgets"]}
    assert all(b["ok"] for name, b in by_name.items() if name.startswith("dataverse calls per view")), calls
    assert all(b["ok"] for name, b in by_name.items() if name.startswith("rights re-read per view")), calls
    # The company page proves the visitor is an admin with its own one request (issue 15).
    assert calls["company_users"]["max"] == 1 and calls["company_users"]["rights_checks"] == 0
    assert calls["case_list"]["rights_checks"] == 1 and calls["case_list"]["own_max"] == 1
    # The knowledge base (issue 16): the search and each suggestion one request, no rights re-read.
    assert calls["kb_search"]["max"] == 1 and calls["suggest"]["max"] == 1
    assert "knowledge: suggestions p50 under the case list p50 (ms)" in by_name
    notifier = report["notifier"]["main"]
    assert notifier["events"] == 3 and notifier["extra_requests_per_event"] <= 1
    conversation = report["conversation"]
    assert conversation["entries"]["calls_per_view"] == {"2": 1, "200": 1}
    assert conversation["large_file"]["file_mb"] == 5.0
    assert report["load"]["overall"]["count"] > 0 and report["load"]["overall"]["errors"] == 0
    # The real MSAL path ran against the loopback identity provider: one token for the one worker.
    assert report["token_requests"]["path"].startswith("client_secret")
    assert report["token_requests"]["count"] == 1
    assert len(report["workers"]["peak_rss_mb"]) == 1
