"""The skeleton stands: the app builds, the bare address leads to the sign-in page."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_root_redirects_to_the_default_language_home(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.headers["Location"].endswith("/es-ES/")


def test_unknown_language_is_not_found(client: FlaskClient) -> None:
    response = client.get("/xx-XX/")
    assert response.status_code == 404
    assert "Página no encontrada" in response.get_data(as_text=True)
