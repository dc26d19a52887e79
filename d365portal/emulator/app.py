"""The emulator's WSGI app: auth and faults, then the route table (`routes.py`) → thin handlers
(`handlers.py`) → the store; control endpoints under /_emulator."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from d365portal.emulator import errors, routes
from d365portal.emulator.controls import control
from d365portal.emulator.faults import Faults, Stats
from d365portal.emulator.formatting import Formatter
from d365portal.emulator.metadata import DEMO_METADATA, SeedMetadata
from d365portal.emulator.privileges import PORTAL_ROLE
from d365portal.emulator.protection import ServiceProtection
from d365portal.emulator.query import QueryParser, ResultCache
from d365portal.emulator.responses import drop_connection, error_response
from d365portal.emulator.store import Store
from d365portal.emulator.writes import Writer

log = logging.getLogger(__name__)
API_PREFIX = "/api/data/v9.2/"


class DroppedResponse(ConnectionResetError):
    """Raised after a committed write when the response is to be dropped (fault injection)."""


class EmulatorApp:
    """A local Dataverse Web API (WSGI), with `.store`, `.faults` and `.stats`."""

    def __init__(
        self,
        seed: str = "demo",
        language: str = "es-ES",
        require_token: str | None = None,
        db_path: str | Path | None = None,
        latency_ms: int = 0,
        reset: bool = False,
        metadata: SeedMetadata = DEMO_METADATA,
        protection: dict[str, Any] | None = None,
        **faults: float,
    ) -> None:
        self.store = Store(seed=seed, metadata=metadata, db_path=db_path, reset=reset)
        self.faults = Faults(latency_ms=latency_ms, **faults)
        self.stats = Stats()
        self.protection = ServiceProtection(**(protection or {}))
        self.language = language
        self.require_token = require_token
        self.url: str | None = None  # set by whoever serves it
        self.formatter = Formatter(self.store, language)
        self.parser = QueryParser(self.store)
        self.cache = ResultCache()
        self.writer = Writer(self.store)
        # What the application user's role grants (RetrieveUserPrivileges); tests may remove some.
        self.privileges: list[str] = list(PORTAL_ROLE)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except DroppedResponse:
            drop_connection(environ)
            raise
        return response(environ, start_response)

    # --- dispatch -------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        """Route one request (never raises an EmulatorError; a bug answers 500 without a trace)."""
        path = request.path
        if path.startswith("/_emulator/"):
            return control(self, request, path[len("/_emulator/") :])
        if not path.startswith(API_PREFIX):
            return error_response(errors.unknown_segment(path.strip("/").split("/")[0] or "/"))
        rest = path[len(API_PREFIX) :]
        self.stats.count(f"{request.method} {routes.first_segment(rest)}")
        user = request.headers.get("Authorization", "").partition(" ")[2].strip()
        try:
            self._authorize(request)
            started = self.protection.admit(user)  # in flight, and charged, from its arrival
            try:
                if self.faults.latency_ms:
                    time.sleep(self.faults.latency_ms / 1000)
                if self.faults.hit("throttle"):
                    raise errors.throttled(int(self.faults.throttle_retry_after))
                if self.faults.hit("unavailable"):
                    raise errors.unavailable()
                handler, call = routes.resolve(self, request, rest)
                with self.store.lock:
                    response = handler(self, call)
            finally:
                self.protection.finish(user, started)
            response.headers.update(self.protection.headers(user))
            if request.method in ("POST", "PATCH", "DELETE") and response.status_code < 300:
                if self.faults.hit("drop_response"):
                    raise DroppedResponse("fault injection: response dropped after commit")
            return response
        except errors.EmulatorError as exc:
            failed = error_response(exc)
            failed.headers.update(self.protection.headers(user))  # Dataverse sends them on every answer
            return failed
        except DroppedResponse:
            raise
        except Exception:  # a bug in the emulator: answer 500, log it, never show a trace
            log.exception("emulator error on %s %s", request.method, path)
            return error_response(errors.EmulatorError(500, "0x80040216", "An unexpected error occurred."))

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.unauthorized()
        if self.require_token is not None and not hmac.compare_digest(
            token.strip().encode(), self.require_token.encode()
        ):
            raise errors.unauthorized()

    def base(self, request: Request) -> str:
        """The Web API root as the client addressed it (next links and ids use it)."""
        return request.host_url.rstrip("/") + API_PREFIX
