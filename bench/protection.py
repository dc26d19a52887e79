"""The service-protection run: small Dataverse limits in the emulator, more customers than they allow.

Customers search, read pages and submit cases as fast as they can. The portal reads Dataverse's
remaining-budget headers and sheds searches before pages and pages before a case being submitted;
the figures: pages with a 500 or a stack trace (none), Dataverse 429s the portal received (≤ 1 % of
its requests), the share of each kind of work served, and the budget over time (for the plot).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.journey import Customer
from bench.measure import EmulatorProbe

# The emulator's limits in this run, and the portal's matching settings (bench/stack.py sets them).
REQUESTS_PER_WINDOW = 600
WINDOW_SECONDS = 10
_TOKEN = re.compile(r'name="(csrf_token|case_token)"[^>]*value="([^"]+)"')


@dataclass
class ProtectionRun:
    """What the customers saw and what Dataverse answered."""

    outcomes: dict[str, Counter[int]] = field(default_factory=dict)
    tracebacks: int = 0
    budget_series: list[tuple[float, float | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int, body: str) -> None:
        """One answer of one kind of work."""
        with self.lock:
            self.outcomes.setdefault(kind, Counter())[status] += 1
            if "Traceback" in body:
                self.tracebacks += 1


def _hidden(body: str) -> dict[str, str]:
    return {name: value for name, value in _TOKEN.findall(body)}


def _customer_loop(customer: Customer, until: float, run: ProtectionRun, n: int) -> None:
    base, http = customer.base_url, customer.session
    step = 0
    while time.monotonic() < until:
        step += 1
        kind = ("search", "page", "page", "submit", "page")[step % 5]
        try:
            if kind == "search":
                response = http.get(f"{base}/es-ES/support/", params={"q": "CAS"}, timeout=30)
            elif kind == "page":
                response = http.get(f"{base}/es-ES/support/", timeout=30)
            else:
                form = http.get(f"{base}/es-ES/support/create-case/", timeout=30)
                data = {**_hidden(form.text), "title": f"Bench protection {n}-{step}", "intent": "send"}
                url = f"{base}/es-ES/support/create-case/"
                response = http.post(url, data=data, timeout=30, allow_redirects=False)
        except requests.RequestException:  # a kept-alive connection the server closed: not a page
            run.record("connection", 0, "")
            continue
        run.record(kind, response.status_code, response.text)
        if response.status_code == 429:
            time.sleep(min(2.0, float(response.headers.get("Retry-After", "1"))))


def _sample_budget(base: str, until: float, run: ProtectionRun, started: float) -> None:
    while time.monotonic() < until:
        try:
            ready = requests.get(f"{base}/readyz", timeout=5).json()
            left = ready.get("dataverse_budget", {}).get("requests_remaining")
        except (requests.RequestException, ValueError):
            left = None
        run.budget_series.append((round(time.monotonic() - started, 2), left))
        time.sleep(0.5)


def protection_run(
    base: str, probe: EmulatorProbe, users: list[tuple[str, str]], duration: float
) -> dict[str, Any]:
    """Run the customers against small limits for `duration` seconds; the figures for the report."""
    customers = [
        Customer(base, name, password, lambda s: None, seed=n) for n, (name, password) in enumerate(users)
    ]
    for customer in customers:  # signed in before the limits start: sign-in pages are shed first
        customer.sign_in()
    probe.http.post(
        f"{probe.url}/_emulator/protection",
        json={"requests": REQUESTS_PER_WINDOW, "window": WINDOW_SECONDS},
        timeout=10,
    ).raise_for_status()
    probe.reset()
    run = ProtectionRun()
    started = time.monotonic()
    until = started + duration
    threads = [
        threading.Thread(target=_customer_loop, args=(customer, until, run, n), daemon=True)
        for n, customer in enumerate(customers)
    ]
    sampler = threading.Thread(target=_sample_budget, args=(base, until, run, started), daemon=True)
    for thread in [*threads, sampler]:
        thread.start()
    for thread in [*threads, sampler]:
        thread.join(timeout=duration + 60)
    traffic = probe.traffic()
    probe.http.post(f"{probe.url}/_emulator/protection", json={}, timeout=10).raise_for_status()
    api = [call for call in traffic if "/_" not in call["path"]]
    throttled = sum(1 for call in api if int(call["status"]) == 429)
    served = {
        kind: round(sum(counts[s] for s in (200, 302)) / max(1, sum(counts.values())), 3)
        for kind, counts in run.outcomes.items()
    }
    errors = sum(n for counts in run.outcomes.values() for status, n in counts.items() if status >= 500)
    return {
        "limits": {"requests": REQUESTS_PER_WINDOW, "window_s": WINDOW_SECONDS},
        "customers": len(users),
        "duration_s": duration,
        "answers": {kind: dict(sorted(counts.items())) for kind, counts in run.outcomes.items()},
        "served_share": served,
        "server_errors": errors,
        "tracebacks": run.tracebacks,
        "dataverse_requests": len(api),
        "dataverse_429": throttled,
        "dataverse_429_share": round(throttled / len(api), 4) if api else 0.0,
        "budget_over_time": run.budget_series,
    }
