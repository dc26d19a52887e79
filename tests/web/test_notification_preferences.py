"""Perfil > Notificaciones (issue 14): the switches are kept in the shared store and read by the notifier;
the language of the user's last page is kept for their mails."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from d365portal.emulator.seed import DEMO_CONTACT_ID
from d365portal.identity import identity
from d365portal.notify.deliver import preferences
from tests.web.account_helpers import csrf_token
from tests.web.support_helpers import sign_in, text

URL = "/es-ES/profile/notifications"


def test_switching_case_updates_off_is_kept_and_shown(client: FlaskClient, app: Flask) -> None:
    sign_in(client)
    page = text(client.get(URL))
    assert "Notificaciones" in page and "Novedades de mis casos" in page and 'checked' in page
    token = csrf_token(client, URL)
    saved = client.post(URL, data={"csrf_token": token, "hours": "y"}, follow_redirects=True)
    assert "Se guardaron sus preferencias de notificación." in text(saved)
    with app.app_context():
        assert preferences(identity().store, str(DEMO_CONTACT_ID)) == {"cases": False, "hours": True}
    shown = text(client.get(URL))
    assert 'id="notify-cases" name="cases" type="checkbox" value="y">' in shown  # unchecked now
    assert client.post(URL, data={"hours": "y"}).status_code == 400  # CSRF, as everywhere


def test_the_language_of_the_last_page_is_kept_for_the_mails(client: FlaskClient, app: Flask) -> None:
    sign_in(client)
    client.get("/en-US/profile/")
    with app.app_context():
        assert identity().store.get(f"lang:{DEMO_CONTACT_ID}") == "en-US"
    client.get("/es-ES/profile/")
    with app.app_context():
        assert identity().store.get(f"lang:{DEMO_CONTACT_ID}") == "es-ES"
