"""Werkzeug's threaded server, for the standalone emulator and the test and bench servers.

Production runs under gunicorn (`d365portal serve`). Werkzeug's server leaves a response unclosed
when the client goes away mid-answer: after a write fails, it drains the request body in a `finally`
that raises again on the reset connection, and skips the response's `close()`. A file being sent
(a static file, a download) then stays open until the garbage collector finds it, with a
`ResourceWarning`. `close_on_drop()` makes closing the response's job, not the server's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:  # pragma: no cover
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def _closing(result: Iterable[bytes]) -> Iterator[bytes]:
    """Yield `result`'s chunks, then close it: also when abandoned midway (the generator's own close,
    called by the server or when the generator is dropped, runs the `finally`)."""
    try:
        yield from result
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def close_on_drop(app: WSGIApplication) -> WSGIApplication:
    """`app`, whose responses are closed however the connection ends."""

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return _closing(app(environ, start_response))

    return wsgi


def loopback_server(
    host: str, port: int, app: Any, tls: tuple[str, str] | None = None
) -> BaseWSGIServer:
    """A threaded werkzeug server for `app` on `host:port` (0: a free port); HTTPS with `tls`
    (certificate file, key file)."""
    return make_server(host, port, close_on_drop(app), threaded=True, ssl_context=tls)
