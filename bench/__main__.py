"""`python -m bench`: start the emulator and the portal, measure them, write the report and the plot."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import idp, measure, report
from bench.conversation import conversation_run
from bench.journey import Customer, JourneyError
from bench.load import run_load
from bench.measure import (
    EmulatorProbe,
    calibrate,
    overhead,
    request_log_figures,
    scale_check,
    time_inside_app,
)
from bench.notify_bench import notifier_run
from bench.plot import plot_latency
from bench.processes import PROJECT_ROOT, MemorySampler
from bench.protection import REQUESTS_PER_WINDOW, WINDOW_SECONDS, protection_run
from bench.seeding import BENCH_PASSWORD, LARGE_USER, SMALL_USER, bench_username
from bench.stack import Stack, StackOptions, start_redis
from bench.stats import by_page, summarize


def _production_pool() -> tuple[int, int]:
    """Workers and threads as the production settings give them (config file and environment)."""
    from d365portal.settings import Settings, SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError:
        settings = Settings.model_construct()
    return settings.workers, settings.threads


def _notifier_sizes(args: argparse.Namespace) -> dict[str, Any]:
    """A shorter notifier phase for short runs (the smoke test): fewer comments, a shorter quiet spell."""
    if args.duration >= 30:
        return {"comments": 10, "quiet_seconds": 20.0}
    return {"comments": 3, "quiet_seconds": 6.0}


def _case_count(probe: EmulatorProbe) -> str:
    """How many cases the emulator holds, as `/incidents/$count` says (Dataverse caps it at 5000)."""
    import requests

    headers = {"Authorization": f"Bearer {probe.token}"}
    count = int(requests.get(f"{probe.url}/api/data/v9.2/incidents/$count", headers=headers, timeout=30).text)
    return str(count) if count < 5000 else "over 50,000"  # the scale seed: 50,000 cases in one account


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    workers, threads = _production_pool()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--users", type=int, default=40, help="simulated customers (default 40)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--latency-ms", type=int, default=50, help="latency the emulator adds (default 50)")
    parser.add_argument(
        "--workers", type=int, default=workers, help=f"gunicorn workers (settings: {workers})"
    )
    parser.add_argument(
        "--threads", type=int, default=threads, help=f"threads per worker (settings: {threads})"
    )
    parser.add_argument("--accounts", type=int, default=8, help="customer accounts the users spread over")
    parser.add_argument("--repeat", type=int, default=40, help="views per page in the overhead pass")
    parser.add_argument("--redis", action="store_true", help="sessions in a redis-server (D365_REDIS_URL)")
    parser.add_argument("--no-scale", action="store_true", help="skip the 50 / 50,000 cases check")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget fails (for CI)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "bench", help="report directory")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 500 or args.duration <= 0 or args.duration > 3600:
        parser.error("--users must be 1..500 and --duration 0..3600 seconds")
    args.accounts = max(1, min(args.accounts, args.users, 99))
    return args


def _say(message: str) -> None:
    print(message, flush=True)


def _start_main_stack(
    args: argparse.Namespace, provider: idp.FakeIdentityProvider, redis_url: str | None
) -> tuple[Stack, dict[str, Any]]:
    """Start with the real MSAL token path; fall back to a static token if the adapter cannot use it."""
    options = StackOptions(
        args.out,
        args.latency_ms,
        args.workers,
        args.threads,
        args.users,
        args.accounts,
        identity_provider=provider,
        redis_url=redis_url,
    )
    stack = Stack("load", options).start()
    try:
        Customer(stack.portal_url, bench_username(0), BENCH_PASSWORD, lambda s: None).sign_in()
        return stack, {"path": "client_secret (MSAL) against a loopback identity provider", "note": None}
    except JourneyError as exc:
        if provider.token_requests:
            raise
        stack.stop()
        note = (
            f"the portal got no token from the loopback identity provider ({exc}); "
            "ran with D365_AUTH=static, so token requests were not measured"
        )
        _say(f"  ! {note}")
        options.identity_provider = None
        return Stack("load", options).start(), {"path": "static", "note": note}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every phase of the benchmark; returns the report."""
    for stale in ("report.json", "latency.png", "logs"):
        path = args.out / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    parameters = {
        "users": args.users,
        "duration_s": args.duration,
        "latency_ms": args.latency_ms,
        "workers": args.workers,
        "threads": args.threads,
        "accounts": args.accounts,
        "sessions": "redis" if args.redis else "embedded",
    }
    _say(f"bench: {parameters}")
    result: dict[str, Any] = {
        "parameters": parameters,
        # Other work on the machine skews every figure: the load average says how busy it was.
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
    }
    provider = idp.FakeIdentityProvider(Path(tempfile.mkdtemp(prefix="d365bench-idp-"))).start()
    redis_child = None
    try:
        redis_url = None
        if args.redis:
            redis_child, redis_url = start_redis(args.out / "logs")
        _say("starting the emulator (seeding bench users) and the portal under gunicorn…")
        stack, token_path = _start_main_stack(args, provider, redis_url)
        try:
            _main_phases(args, stack, result)
        finally:
            stack.stop()
        count = provider.token_requests if token_path["path"] != "static" else None
        result["token_requests"] = {"count": count, "path": token_path["path"], "note": token_path["note"]}
        if not args.no_scale:
            _say("scale check: seeding an account with 50 cases and one with 50,000…")
            options = StackOptions(
                args.out, args.latency_ms, args.workers, args.threads, 1, 1, scale=True, redis_url=redis_url
            )
            stack = Stack("scale", options).start()
            try:
                probe = EmulatorProbe(stack.emulator_url, idp.ACCESS_TOKEN)
                result["scale_check"] = scale_check(
                    stack.portal_url, probe, {SMALL_USER: 50, LARGE_USER: 50_000}, BENCH_PASSWORD
                )
                _say("notifier on the scale tenant (more than 50,000 cases)…")
                result.setdefault("notifier", {})["scale"] = notifier_run(
                    probe, _case_count(probe), **_notifier_sizes(args)
                )
            finally:
                stack.stop()
    finally:
        provider.stop()
        if redis_child is not None:
            redis_child.stop()
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["budgets"] = report.budgets(result)
    result["ok"] = all(b["ok"] for b in result["budgets"])
    return result


def _main_phases(args: argparse.Namespace, stack: Stack, result: dict[str, Any]) -> None:
    """Calibration, overhead and load against the started stack; fills `result`."""
    assert stack.portal is not None
    memory = MemorySampler(stack.portal.pid).start()
    probe = EmulatorProbe(stack.emulator_url, idp.ACCESS_TOKEN)
    _say("calibration: Dataverse calls per page, one view at a time…")
    costs = calibrate(stack.portal_url, probe, bench_username(0), BENCH_PASSWORD)
    result["dataverse_calls_per_page"] = {page: cost.summary() for page, cost in costs.items()}
    # Option labels are read in the background (crm/labels.py), never by a page view: the requests
    # the calibration saw are listed apart, and none of them is in a page's count above.
    result["metadata_requests_in_background"] = sorted(
        {f"{c['method']} {c['path'].split('/api/data/v9.2/', 1)[-1]}" for c in measure.METADATA_SEEN}
    )
    _say("overhead: each page alone vs. its Dataverse requests made directly…")
    log_offset = stack.portal.log_path.stat().st_size
    result["overhead"] = overhead(
        stack.portal_url, probe, costs, bench_username(0), BENCH_PASSWORD, repeat=args.repeat
    )
    with stack.portal.log_path.open(errors="replace") as log:
        log.seek(log_offset)
        log_text = log.read()
    inside, logged = time_inside_app(log_text), request_log_figures(log_text)
    for page, figures in result["overhead"].items():
        # The request log leaves out query strings: a search is logged as the case list.
        logged_as = "case_list" if page == "search" else page
        figures["inside_app_p50_ms"] = inside.get(logged_as)
        if logged_as == page:  # the split needs the page's own request times, not a mix of two pages
            figures.update(logged.get(page, {}))
    _say("conversation: a case with 200 entries against one with 2, and a 5 MB file up and down…")
    result["conversation"] = conversation_run(
        stack.portal_url, probe, stack.portal.pid, bench_username(0), BENCH_PASSWORD
    )
    _say("notifier: quiet polls, then agents' comments mailed through SMTP…")
    result["notifier"] = {"main": notifier_run(probe, _case_count(probe), **_notifier_sizes(args))}
    _say(f"load: {args.users} customers for {args.duration:.0f} s…")
    before_load = memory.current()
    probe.reset()
    users = [(bench_username(i), BENCH_PASSWORD) for i in range(args.users)]
    load = run_load(stack.portal_url, users, args.duration)
    dataverse_total = int(probe.stats()["total"])
    peaks = memory.stop()
    views = len(load.samples)
    result["load"] = {
        "elapsed_s": round(load.elapsed, 1),
        "journeys": load.journeys,
        "failed_journeys": load.failed_journeys,
        "failures": dict(load.failures),
        "pages": by_page(load.samples, load.elapsed),
        "overall": summarize(load.samples, load.elapsed),
        "dataverse_requests": dataverse_total,
        "dataverse_calls_per_view": round(dataverse_total / views, 3) if views else None,
    }
    result["workers"] = {
        "peak_rss_mb": {str(pid): round(rss / 2**20, 1) for pid, rss in peaks.items()},
        "rss_before_load_mb": {str(pid): round(rss / 2**20, 1) for pid, rss in before_load.items()},
    }
    seconds = min(20.0, max(5.0, args.duration / 3))
    crowd = users[: max(2, min(len(users), 24))]
    _say(f"service protection: {len(crowd)} customers for {seconds:.0f} s against Dataverse limits "
         f"of {REQUESTS_PER_WINDOW} requests / {WINDOW_SECONDS} s…")  # fmt: skip
    result["service_protection"] = protection_run(stack.portal_url, probe, crowd, seconds)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark. Exit 0 once the report is written (1 with --strict when a budget fails),
    2 when it could not run."""
    args = parse_args(argv)
    started = time.monotonic()
    try:
        result = run(args)
    except (RuntimeError, JourneyError, OSError) as exc:
        _say(f"bench failed: {exc}")
        return 2
    result["wall_time_s"] = round(time.monotonic() - started, 1)
    path = report.write(result, args.out / "report.json")
    png = plot_latency(result, args.out / "latency.png")
    _say("")
    _say(report.table(result))
    _say("")
    failed = [b["name"] for b in result["budgets"] if not b["ok"]]
    _say("all budgets hold" if not failed else f"budgets not met ({len(failed)}): {'; '.join(failed)}")
    _say(f"report: {path}\nplot:   {png}")
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
