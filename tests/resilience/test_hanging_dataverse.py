"""Dataverse that stops answering (a hang, not a 503): pages say "unavailable" within the configured
timeouts with the input kept, and the portal serves again as soon as Dataverse answers."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from d365portal import create_app
from tests.conftest import make_settings
from tests.web.support_helpers import hidden, sign_in, text

pytestmark = pytest.mark.live


class HangingProxy:
    """A TCP proxy to the emulator that, while `hang` is set, accepts requests and never answers."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.hang = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.hang.is_set():
                self._held.append(client)  # read nothing back, answer nothing
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def close(self) -> None:
        self._stop.set()
        time.sleep(0.3)  # the accept loop notices within its 0.2 s timeout
        self._server.close()
        for sock in self._held:
            sock.close()


def test_a_hanging_dataverse_gives_the_unavailable_page_in_time_and_the_portal_recovers(
    tmp_path: Path, emulator: Any
) -> None:
    proxy = HangingProxy(int(emulator.url.rsplit(":", 1)[1]))
    try:
        settings = make_settings(
            tmp_path, f"http://127.0.0.1:{proxy.port}", http_read_timeout=1.0, retry_budget_seconds=2.0
        )
        app = create_app(settings)
        app.testing = True
        client = sign_in(app.test_client())
        form_page = client.get("/es-ES/support/create-case/").get_data(as_text=True)
        form = {
            "csrf_token": hidden(form_page, "csrf_token"), "case_token": hidden(form_page, "case_token"),
            "title": "Se colgó Dataverse", "description": "texto largo escrito", "intent": "send",
        }  # fmt: skip
        proxy.hang.set()
        started = time.monotonic()
        response = client.post("/es-ES/support/create-case/", data=form)
        took = time.monotonic() - started
        page = text(response)
        assert response.status_code == 503
        assert "Servicio no disponible" in page or "no está disponible" in page
        assert 'value="Se colgó Dataverse"' in page and "texto largo escrito" in page
        assert took < 1.0 + 2.0 + 2.0, f"the page took {took:.1f} s"  # read timeout + retry budget
        listed = client.get("/es-ES/support/")
        assert listed.status_code == 503
        proxy.hang.clear()  # Dataverse answers again
        assert client.get("/es-ES/support/").status_code == 200
        sent = client.post("/es-ES/support/create-case/", data=form)
        assert sent.status_code == 302
        assert [r for r in emulator.store.query("incidents") if r["title"] == "Se colgó Dataverse"]
    finally:
        proxy.close()
