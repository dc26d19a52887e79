"""Measurements around the load run: Dataverse calls per page, the portal's own overhead, scale.

They run one customer at a time, so the emulator's counters (`/_emulator/stats`) and the bench
recorder's log (`/_bench/traffic`) can be read before and after each page view and attributed to it.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.journey import Customer, Sample, classify
from bench.stats import percentile


class EmulatorProbe:
    """Reads and resets the emulator's request counters and the bench recorder's traffic log."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.http = requests.Session()

    def reset(self) -> None:
        """Zero the counters and clear the traffic log."""
        self.http.post(f"{self.url}/_emulator/stats/reset", timeout=10).raise_for_status()
        self.http.post(f"{self.url}/_bench/traffic", timeout=10).raise_for_status()

    def stats(self) -> dict[str, Any]:
        """The emulator's counters as it reports them ({"total": n, "requests": {...}})."""
        response = self.http.get(f"{self.url}/_emulator/stats", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def traffic(self) -> list[dict[str, Any]]:
        """The Web API requests recorded since the last reset."""
        response = self.http.get(f"{self.url}/_bench/traffic", timeout=30)
        response.raise_for_status()
        return list(response.json())

    def replay(self, calls: list[dict[str, Any]]) -> float:
        """Make the same Web API requests directly, one after the other; elapsed milliseconds."""
        started = time.monotonic()
        for call in calls:
            headers = {**call["headers"], "Authorization": f"Bearer {self.token}"}
            url = f"{self.url}{call['path']}" + (f"?{call['query']}" if call["query"] else "")
            response = self.http.request(call["method"], url, headers=headers, timeout=30)
            response.raise_for_status()
        return (time.monotonic() - started) * 1000


@dataclass
class PageCost:
    """What one kind of page costs in Dataverse requests, seen one view at a time."""

    calls: list[int] = field(default_factory=list)
    rights_checks: list[int] = field(default_factory=list)  # of `calls`: re-reads of the user's rights
    dataverse_bytes: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # the last view's Web API requests
    url: str | None = None  # a GET URL of this page, to time it again

    def summary(self) -> dict[str, Any]:
        """Calls per view (max and mean), the request shapes, bytes received from Dataverse."""
        return {
            "views": len(self.calls),
            "max": max(self.calls, default=0),
            "mean": round(sum(self.calls) / len(self.calls), 2) if self.calls else 0,
            "rights_checks": max(self.rights_checks, default=0),
            "own_max": max((c - r for c, r in zip(self.calls, self.rights_checks, strict=True)), default=0),
            "requests": sorted({f"{c['method']} {_entity(c['path'])}" for c in self.requests}),
            "dataverse_bytes_mean": round(sum(self.dataverse_bytes) / len(self.dataverse_bytes))
            if self.dataverse_bytes
            else 0,
        }


def settled(probe: EmulatorProbe, quiet_s: float = 0.15, limit_s: float = 2.0) -> list[dict[str, Any]]:
    """The traffic once it stops growing: writes a page makes after answering (an article's view
    count) belong to that page, not to the next one."""
    deadline = time.monotonic() + limit_s
    seen = probe.traffic()
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        again = probe.traffic()
        if len(again) == len(seen):
            return again
        seen = again
    return seen


def is_metadata(call: dict[str, Any]) -> bool:
    """Whether a recorded request read table definitions (the label catalogue's background refresh,
    which no page view waits for: counted apart from the pages)."""
    path = str(call.get("path", ""))
    # The organization's attachment limits are read with the labels (crm/labels.py).
    return "/EntityDefinitions" in path or "RetrieveAvailableLanguages" in path or "/organizations" in path


_CONTACT_BY_ID = re.compile(r"/contacts\([0-9a-fA-F-]{36}\)$")


def is_rights_check(call: dict[str, Any]) -> bool:
    """Whether a recorded request is the re-read of the signed-in user's rights (DESIGN.md decision 20):
    one contact by id with its web roles."""
    return (
        call.get("method") == "GET"
        and bool(_CONTACT_BY_ID.search(str(call.get("path", ""))))
        and "adx_webrole_contact" in str(call.get("query", ""))
    )


def _entity(path: str) -> str:
    return path.split("/api/data/", 1)[-1].split("/", 1)[-1].split("(")[0]


def calibrate(
    base_url: str, probe: EmulatorProbe, username: str, password: str, journeys: int = 2
) -> dict[str, PageCost]:
    """Walk the journey alone `journeys` times, attributing the emulator's counters to each page view."""
    pages: dict[str, PageCost] = defaultdict(PageCost)

    def before(page: str, method: str, url: str) -> None:
        probe.reset()

    def after(page: str, method: str, url: str) -> None:
        everything = settled(probe)
        traffic = [call for call in everything if not is_metadata(call)]
        METADATA_SEEN.extend(call for call in everything if is_metadata(call))
        cost = pages[page]
        cost.calls.append(len(traffic))
        cost.rights_checks.append(sum(1 for call in traffic if is_rights_check(call)))
        cost.dataverse_bytes.append(sum(int(call["bytes"]) for call in traffic))
        cost.requests = traffic
        if method == "GET" and cost.url is None:
            cost.url = url

    for n in range(journeys):
        Customer(base_url, username, password, lambda s: None, seed=n, before=before, after=after).journey()
    return dict(pages)


# Metadata requests the calibration saw (background label refreshes), for the report.
METADATA_SEEN: list[dict[str, Any]] = []

# Pages a signed-in customer can reload without side effects (the overhead pass times these).
RELOADABLE = (
    "home", "case_list", "search", "case", "download", "new_case_form", "associates", "hour_banks",
    "hour_bank",
)  # fmt: skip


def overhead(
    base_url: str,
    probe: EmulatorProbe,
    costs: dict[str, PageCost],
    username: str,
    password: str,
    repeat: int = 25,
) -> dict[str, dict[str, Any]]:
    """Per page: p50 of the page alone minus p50 of its own Dataverse requests made directly. The
    re-read of the user's rights runs beside the page's own request, so it is left out of the replay:
    a page that waited for it longer would show the wait here, as overhead."""
    samples: list[Sample] = []
    customer = Customer(base_url, username, password, samples.append)
    customer.sign_in()
    result: dict[str, dict[str, Any]] = {}
    for page in RELOADABLE:
        cost = costs.get(page)
        if cost is None or cost.url is None or any(c["method"] != "GET" for c in cost.requests):
            continue
        samples.clear()
        direct: list[float] = []
        own = [call for call in cost.requests if not is_rights_check(call)]
        for _ in range(repeat):  # interleaved, so both see the same machine state
            customer.fetch("GET", cost.url)
            direct.append(probe.replay(own))
        page_ms = [s.ms for s in samples if s.page == page]
        page_p50, direct_p50 = percentile(page_ms, 50) or 0.0, percentile(direct, 50) or 0.0
        result[page] = {
            "page_p50_ms": round(page_p50, 2),
            "dataverse_direct_p50_ms": round(direct_p50, 2),
            "overhead_ms": round(page_p50 - direct_p50, 2),
            "dataverse_requests": len(own),
            "rights_checks_beside": len(cost.requests) - len(own),
        }
    customer.sign_out(customer.fetch("GET", "/es-ES/support/"))
    return result


def scale_check(
    base_url: str, probe: EmulatorProbe, accounts: dict[str, int], password: str, repeat: int = 30
) -> dict[str, Any]:
    """The case list of each account (50 vs 50,000 cases): Dataverse calls, bytes and latency.

    The accounts' views alternate (after a warm-up of every worker), so drift on a busy machine hits
    both alike. Each view's time is also split into the time inside the emulator and the rest (the
    portal's own), reported for information: the emulator's in-memory query work grows with the rows.
    """
    names = list(accounts)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    traffic: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in names}
    customers: dict[str, Customer] = {}
    for name in names:

        def after(page: str, method: str, url: str, name: str = name) -> None:
            traffic[name].append(probe.traffic())

        customer = Customer(base_url, name, password, samples[name].append, after=after)
        customer.sign_in()
        customers[name] = customer
    for _ in range(4):  # warm-up: templates compiled and connections open in every worker
        for name in names:
            customers[name].fetch("GET", "/es-ES/support/")
    for name in names:
        samples[name].clear()
        traffic[name].clear()
    for _ in range(repeat):
        for name in names:
            probe.reset()
            customers[name].fetch("GET", "/es-ES/support/")
    figures = {name: _scale_figures(accounts[name], samples[name], traffic[name]) for name in names}
    small, large = (figures[name] for name in names)
    checks = {}
    for key in ("dataverse_calls_per_view", "dataverse_bytes_per_view", "page_bytes", "p50_ms"):
        base, value = small[key], large[key]
        ratio = (value / base) if base else (1.0 if value == base else float("inf"))
        checks[key] = {"small": base, "large": value, "ratio": round(ratio, 3), "ok": abs(ratio - 1) <= 0.20}
    return {"accounts": figures, "checks": checks, "ok": all(c["ok"] for c in checks.values())}


def _scale_figures(cases: int, samples: list[Sample], traffic: list[list[dict[str, Any]]]) -> dict[str, Any]:
    """Per-view means and medians of one account's case-list views."""
    dataverse_ms = [sum(float(c["ms"]) for c in view) for view in traffic]
    return {
        "cases": cases,
        "views": len(samples),
        "dataverse_calls_per_view": round(sum(len(view) for view in traffic) / len(traffic), 2),
        "dataverse_bytes_per_view": round(
            sum(sum(int(c["bytes"]) for c in v) for v in traffic) / len(traffic)
        ),
        "page_bytes": round(sum(s.size for s in samples) / len(samples)),
        "p50_ms": round(percentile([s.ms for s in samples], 50) or 0.0, 1),
        "emulator_p50_ms": round(percentile(dataverse_ms, 50) or 0.0, 1),
        "portal_p50_ms": round(
            percentile([s.ms - d for s, d in zip(samples, dataverse_ms, strict=True)], 50) or 0.0, 1
        ),
    }


_LOG_LINE = re.compile(r"d365portal\.request: (GET|POST) (\S+) (\d{3}) ([\d.]+)ms dataverse=(\d+)/([\d.]+)ms")


def time_inside_app(log_text: str) -> dict[str, float]:
    """p50 per page of the portal's own time (request duration − Dataverse time) from its request log.

    Reads the one-line-per-request log of `d365portal.logs` (text format); pages it cannot find are
    left out."""
    own: dict[str, list[float]] = defaultdict(list)
    for match in _LOG_LINE.finditer(log_text):
        method, path, _status, total, _calls, dataverse = match.groups()
        own[classify(method, "http://portal" + path)].append(float(total) - float(dataverse))
    return {page: round(percentile(values, 50) or 0.0, 2) for page, values in own.items()}


def request_log_figures(log_text: str) -> dict[str, dict[str, float]]:
    """p50 per page of the portal's request log: whole request, its Dataverse calls, and the rest.

    With the page's p50 from outside, this splits `overhead_ms` into the time before and after Flask
    (HTTP client and server, gunicorn, session), inside the app, and the portal's own Dataverse call
    against the same requests made directly."""
    total: dict[str, list[float]] = defaultdict(list)
    dataverse: dict[str, list[float]] = defaultdict(list)
    for match in _LOG_LINE.finditer(log_text):
        method, path, _status, duration, _calls, dataverse_ms = match.groups()
        page = classify(method, "http://portal" + path)
        total[page].append(float(duration))
        dataverse[page].append(float(dataverse_ms))
    return {
        page: {
            "request_log_p50_ms": round(percentile(total[page], 50) or 0.0, 2),
            "portal_dataverse_p50_ms": round(percentile(dataverse[page], 50) or 0.0, 2),
        }
        for page in total
    }

