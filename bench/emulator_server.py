"""The benchmark's emulator process: `python -m bench.emulator_server --port N ...`.

The real emulator app (demo seed + bench data added through its store API), wrapped in a recorder
that keeps every Web API request it serves (method, URL, headers, response size), so the bench can
count the bytes the portal receives and replay a page's exact Dataverse requests directly.
Served by werkzeug's threaded server on loopback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from bench.seeding import seed_bench_users, seed_scale_accounts

StartResponse = Callable[..., Any]
REPLAYED_HEADERS = ("HTTP_PREFER", "HTTP_ACCEPT", "HTTP_ODATA_VERSION", "HTTP_ODATA_MAXVERSION")


class TrafficRecorder:
    """WSGI middleware: records each /api/data/ request and its response size; serves /_bench/traffic."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/traffic":
            return self._control(environ, start_response)
        if "/api/data/" not in path:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        started = time.monotonic()
        status_box: list[str] = []

        def recording_start(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status_box.append(status)
            return start_response(status, headers, *args)

        entry: dict[str, Any] = {
            "method": environ["REQUEST_METHOD"],
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "headers": {
                key[5:].replace("_", "-").title(): environ[key] for key in REPLAYED_HEADERS if key in environ
            },
            "status": 0,  # stays 0 when the response is dropped (fault injection)
            "bytes": 0,
        }
        try:
            result = self.app(environ, recording_start)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            entry["status"] = int(status_box[0].split()[0]) if status_box else 0
            entry["bytes"] = len(body)
        finally:
            entry["ms"] = round((time.monotonic() - started) * 1000, 2)
            with self._lock:
                self._log.append(entry)
        return [body]

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the requests recorded since the last `clear()`."""
        with self._lock:
            return list(self._log)

    def clear(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._log.clear()

    def _control(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with self._lock:
            data = json.dumps(self._log).encode()
            if environ["REQUEST_METHOD"] == "POST":
                self._log.clear()
                data = b"[]"
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def main(argv: list[str] | None = None) -> None:
    """Seed, wrap and serve the emulator until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--token", required=True, help="the only bearer token accepted")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--scale", action="store_true", help="also seed the 50 / 50,000 case accounts")
    args = parser.parse_args(argv)

    from d365portal.emulator import create_emulator_app
    from d365portal.serving import loopback_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: it costs CPU
    started = time.monotonic()
    app = create_emulator_app(
        seed="demo", language="es-ES", require_token=args.token, latency_ms=args.latency_ms
    )
    seed_bench_users(app.store, args.users, args.accounts)
    if args.scale:
        seed_scale_accounts(app.store)
    print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)
    server = loopback_server("127.0.0.1", args.port, TrafficRecorder(app))
    print(f"emulator ready on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # pragma: no cover - interactive use
        pass
    finally:
        server.server_close()
        sys.exit(0)


if __name__ == "__main__":
    main()
