"""The notifier's figures (issue 14), against a started stack's emulator.

A notifier (the production `Notifier`, in a thread of the bench process) follows the emulator's
change tracking and mails a real SMTP server on loopback (aiosmtpd). Measured: the Dataverse requests
per minute while nothing changes (with the stack's number of cases: the main stack has a few hundred,
the scale stack more than 50,000), then agents' comments written through the Web API one after the
other: the time from each comment to its mail accepted by SMTP, and the requests each event cost
beyond the polls.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench.measure import EmulatorProbe
from bench.processes import free_port

QUIET_SECONDS = 20.0
POLL_SECONDS = 2.0


class _Inbox:
    """aiosmtpd handler: when each mail arrived, and its text."""

    def __init__(self) -> None:
        self.received: list[tuple[float, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((time.monotonic(), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def notifier_run(
    probe: EmulatorProbe, cases: str, comments: int = 10, quiet_seconds: float = QUIET_SECONDS
) -> dict[str, Any]:
    """Quiet requests per minute, then `comments` agent comments: latency and cost per event."""
    from aiosmtpd.controller import Controller

    from d365portal.app import create_app
    from d365portal.notify.events import FOLLOWED
    from d365portal.notify.runner import Notifier
    from d365portal.settings import Settings

    inbox, port = _Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    var = Path(tempfile.mkdtemp(prefix="d365bench-notify-"))
    settings = Settings(
        dataverse_url=probe.url,
        auth="static",
        static_token=probe.token,
        smtp_url=f"smtp://127.0.0.1:{port}",
        var_dir=var,
        secret_key=secrets.token_urlsafe(32),
        public_base_url="http://portal.bench",
        notify_poll_seconds=POLL_SECONDS,
        demo=True,
    )
    notifier = Notifier(create_app(settings))
    thread = threading.Thread(target=notifier.run, name="bench-notifier", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 300
        while any(notifier.store.get(f"notify:token:{t.entity_set}") is None for t in FOLLOWED):
            if time.monotonic() > deadline:
                raise RuntimeError("the notifier's baseline did not finish")
            time.sleep(0.2)
        time.sleep(POLL_SECONDS)
        probe.reset()
        time.sleep(quiet_seconds)
        quiet = int(probe.stats()["total"])
        latencies, extra = _comments(probe, inbox, comments)
    finally:
        notifier.stop_event.set()
        thread.join(timeout=30)
        controller.stop()
    return {
        "cases": cases,
        "poll_seconds": POLL_SECONDS,
        "followed_tables": len(FOLLOWED),
        "quiet_seconds": quiet_seconds,
        "quiet_requests_per_minute": round(quiet * 60 / quiet_seconds, 1),
        "expected_per_minute": round(len(FOLLOWED) * 60 / POLL_SECONDS, 1),
        "events": len(latencies),
        "extra_requests_per_event": round(extra / len(latencies), 2) if latencies else None,
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(sorted(latencies)[max(0, int(len(latencies) * 0.95) - 1)], 2)
        if latencies
        else None,
    }


def _comments(probe: EmulatorProbe, inbox: _Inbox, count: int) -> tuple[list[float], int]:
    """Agent comments on cases whose contact has a portal account, one at a time."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {probe.token}"
    base = f"{probe.url}/api/data/v9.2/"
    users = http.get(
        base + "contacts",
        params={"$select": "contactid", "$filter": "adx_identity_username ne null"},
        timeout=30,
    ).json()["value"]
    ids = {u["contactid"] for u in users}
    rows = http.get(
        base + "incidents",
        params={"$select": "incidentid,_primarycontactid_value", "$filter": "statecode eq 0", "$top": "500"},
        timeout=60,
    ).json()["value"]
    targets = [r["incidentid"] for r in rows if r.get("_primarycontactid_value") in ids][:count]
    probe.reset()
    latencies: list[float] = []
    for index, case_id in enumerate(targets):
        before = len(inbox.received)
        marker = f"bench-notify-{index}-{time.monotonic_ns()}"
        started = time.monotonic()
        http.post(
            base + "adx_portalcomments",
            json={
                "description": marker,
                "adx_portalcommentdirectioncode": 2,
                "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({case_id})",
            },
            timeout=30,
        ).raise_for_status()
        deadline = started + POLL_SECONDS + 30
        while len(inbox.received) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        if len(inbox.received) > before:
            latencies.append(inbox.received[-1][0] - started)
    traffic = probe.traffic()
    # The notifier's reads beyond its delta polls (the bench's own POSTs are not reads).
    extra = sum(
        1
        for call in traffic
        if call.get("method") == "GET" and "deltatoken" not in str(call.get("query", ""))
    )
    return latencies, extra
