"""The closed loop: N customers walk the journeys back to back for T seconds, with progress shown."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from bench.journey import Customer, JourneyError, Sample


@dataclass
class LoadResult:
    """Every page view of the run, the journeys completed and why the failed ones stopped."""

    samples: list[Sample] = field(default_factory=list)
    journeys: int = 0
    failed_journeys: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    elapsed: float = 0.0


class Recorder:
    """Collects samples from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.result = LoadResult()

    def record(self, sample: Sample) -> None:
        """Keep one page view."""
        with self._lock:
            self.result.samples.append(sample)

    def journey_done(self, error: str | None) -> None:
        """Count one finished journey (and its failure, if any)."""
        with self._lock:
            if error is None:
                self.result.journeys += 1
            else:
                self.result.failed_journeys += 1
                self.result.failures[error] += 1


def run_load(
    base_url: str,
    users: list[tuple[str, str]],
    duration: float,
    *,
    progress_every: float = 5.0,
    out: TextIO = sys.stdout,
) -> LoadResult:
    """Run len(users) customers in a closed loop for `duration` seconds (then let journeys finish)."""
    recorder = Recorder()
    deadline = time.monotonic() + duration
    start = time.monotonic()
    recorder.result.started = start

    def customer_loop(index: int, username: str, password: str) -> None:
        time.sleep(index * min(0.05, duration / max(len(users), 1) / 10))  # no thundering herd at t=0
        customer = Customer(base_url, username, password, recorder.record, seed=index)
        while time.monotonic() < deadline:
            try:
                customer.journey()
            except JourneyError as exc:
                recorder.journey_done(str(exc).split(" at ")[0])
                customer.session.close()
                customer = Customer(base_url, username, password, recorder.record, seed=index + 1000)
            else:
                recorder.journey_done(None)

    threads = [
        threading.Thread(target=customer_loop, args=(i, u, p), name=f"customer-{i}", daemon=True)
        for i, (u, p) in enumerate(users)
    ]
    for thread in threads:
        thread.start()
    last_count, last_time = 0, start
    while any(t.is_alive() for t in threads):
        for thread in threads:
            thread.join(timeout=progress_every / len(threads))
        now = time.monotonic()
        if now - last_time >= progress_every:
            result = recorder.result
            count = len(result.samples)
            errors = sum(1 for s in result.samples if not s.ok)
            rate = (count - last_count) / (now - last_time)
            phase = "running" if now < deadline else "finishing journeys"
            print(
                f"  {now - start:5.0f} s  {phase:<18} page views {count:6d}  ({rate:6.1f}/s)  "
                f"journeys {result.journeys:5d}  errors {errors}",
                file=out,
                flush=True,
            )
            last_count, last_time = count, now
    recorder.result.elapsed = time.monotonic() - start
    return recorder.result
