"""The case conversation's figures (issue 13), against the started stack.

- A case with 200 entries against one with 2: Dataverse requests per view (the same, one) and the
  p50 of the page, views interleaved so that machine noise hits both alike (budget: under 3×).
- A 5 MB file posted on a comment and downloaded again: the peak resident memory each adds to the
  gunicorn worker that served it, sampled every 10 ms, against the file and its base64 text.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from typing import Any

import requests

from bench import html
from bench.journey import LANG, Customer, JourneyError
from bench.measure import EmulatorProbe, is_metadata, is_rights_check, settled
from bench.processes import MemorySampler

FILE_BYTES = 5 * 2**20
ROUNDS = 30


def _api(emulator_url: str, token: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
    return session, f"{emulator_url.rstrip('/')}/api/data/v9.2/"


def _add_entries(api: requests.Session, base: str, case_id: str, count: int) -> None:
    for index in range(count):
        body = {
            "description": f"Entrada {index} del benchmark: una línea de conversación con el soporte.",
            "adx_portalcommentdirectioncode": 1 + index % 2,
            "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({case_id})",
        }
        api.post(f"{base}adx_portalcomments", json=body, timeout=30).raise_for_status()


def _view(customer: Customer, url: str) -> tuple[float, str]:
    started = time.monotonic()
    page = customer.fetch("GET", url)
    return (time.monotonic() - started) * 1000, page.text


def conversation_run(
    portal_url: str, probe: EmulatorProbe, portal_pid: int, username: str, password: str
) -> dict[str, Any]:
    """Both measurements; the figures for the report."""
    customer = Customer(portal_url, username, password, lambda sample: None, seed=99)
    customer.sign_in()
    listing = customer.fetch("GET", f"/{LANG}/support/?which=open&size=50")
    cases = html.links_matching(listing.text, listing.url, "/support/case/")
    if len(cases) < 2:
        raise JourneyError("conversation: the bench user has fewer than two open cases")
    small, big = cases[0], cases[1]
    api, base = _api(probe.url, probe.token)
    _add_entries(api, base, small.rsplit("/", 1)[1], 2)
    _add_entries(api, base, big.rsplit("/", 1)[1], 200)
    calls: dict[str, int] = {}
    for name, url in (("2", small), ("200", big)):
        probe.reset()
        _view(customer, url)
        # The case page's own requests (the re-read of the user's rights is counted apart, in the journey).
        own = [call for call in settled(probe) if not is_rights_check(call) and not is_metadata(call)]
        calls[name] = len(own)
    times: dict[str, list[float]] = {"2": [], "200": []}
    for _ in range(ROUNDS):
        times["2"].append(_view(customer, small)[0])
        times["200"].append(_view(customer, big)[0])
    p50 = {name: round(statistics.median(values), 1) for name, values in times.items()}
    result: dict[str, Any] = {
        "entries": {
            "calls_per_view": calls,
            "p50_ms": p50,
            "ratio": round(p50["200"] / p50["2"], 2) if p50["2"] else None,
            "rounds": ROUNDS,
        }
    }
    result["large_file"] = _large_file(customer, small, portal_pid)
    return result


def _large_file(customer: Customer, case_url: str, portal_pid: int) -> dict[str, Any]:
    """Post a 5 MB file on a comment, then download it; the peak memory each adds to a worker."""
    page = customer.fetch("GET", case_url)
    form = html.form_with(page.text, action_part="/comment")
    if form is None:
        raise JourneyError("conversation: no comment form on the case page")
    content = os.urandom(FILE_BYTES)
    name = f"grande-{uuid.uuid4().hex[:8]}.bin"
    note = "Archivo grande del benchmark"
    sampler = MemorySampler(portal_pid, interval=0.01)
    before = sampler.current()
    sampler.start()
    shown = customer.submit_files(
        form, page.url, {"comment": note}, [("files", (name, content, "application/octet-stream"))]
    )
    upload_peaks = sampler.stop()
    links = [u for u in html.links_matching(shown.text, shown.url, "/files/")]
    if note not in shown.text or not links:
        raise JourneyError("conversation: the 5 MB file is not on the case page")
    sampler = MemorySampler(portal_pid, interval=0.01)
    before_download = sampler.current()
    sampler.start()
    downloaded = customer.fetch("GET", links[-1])
    download_peaks = sampler.stop()
    if downloaded.content != content:
        raise JourneyError("conversation: the downloaded file differs from the one posted")
    return {
        "file_mb": round(FILE_BYTES / 2**20, 2),
        "base64_mb": round(4 * ((FILE_BYTES + 2) // 3) / 2**20, 2),
        "upload_peak_added_mb": _added(before, upload_peaks),
        "download_peak_added_mb": _added(before_download, download_peaks),
    }


def _added(before: dict[int, int], peaks: dict[int, int]) -> float:
    """The largest rise over a worker's resident memory before the request, in MB."""
    rises = [peak - before.get(pid, peak) for pid, peak in peaks.items()]
    return round(max([0, *rises]) / 2**20, 1)
