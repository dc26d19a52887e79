"""The case page's conversation (issue 13): the timeline, comments with files, downloads, scope,
bad input (each keeps the typed comment), and the request budget of each route."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, stream_encode_multipart

from d365portal.app import create_app
from d365portal.crm import option_labels
from d365portal.emulator.conversation_data import demo_pdf
from d365portal.emulator.seed import (
    DEMO_AGENT_COMMENT_TEXT,
    DEMO_AGENT_ID,
    DEMO_AGENT_NAME,
    DEMO_CASE_ID,
    DEMO_CONTACT_ID,
    DEMO_CUSTOMER_COMMENT_TEXT,
    DEMO_INTERNAL_NOTE_ID,
    DEMO_INTERNAL_NOTE_TEXT,
    DEMO_WEB_NOTE_FILENAME,
    DEMO_WEB_NOTE_ID,
    DEMO_WEB_NOTE_TEXT,
    ORGANIZATION_ID,
    OTHER_CASE_ID,
)
from tests.conftest import make_settings
from tests.web.support_helpers import RIGHTS_CHECK, requests_for, sign_in, text

CASE_URL = f"/es-ES/support/case/{DEMO_CASE_ID}"
COMMENT_URL = f"{CASE_URL}/comment"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def form_fields(client: FlaskClient, url: str = CASE_URL) -> dict[str, str]:
    """The hidden fields of the page's comment (or confirmation) form."""
    body = client.get(url).get_data(as_text=True)
    fields = {}
    for name in ("csrf_token", "form_token"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', body)
        assert tag, f"no {name} on {url}"
        value = re.search(r'value="([^"]*)"', tag.group(0))
        fields[name] = value.group(1) if value else ""
    return fields


def post_comment(
    client: FlaskClient, comment: str, files: list[tuple[bytes, str]] | None = None, **extra: Any
) -> TestResponse:
    data: dict[str, Any] = {**form_fields(client), "comment": comment, **extra}
    data["files"] = [(io.BytesIO(content), name) for content, name in files or []]
    return client.post(COMMENT_URL, data=data, content_type="multipart/form-data")


def incoming(emulator: Any) -> list[dict[str, Any]]:
    return [
        row
        for row in emulator.store.query("adx_portalcomments")
        if row["_regardingobjectid_value"] == str(DEMO_CASE_ID) and row["adx_portalcommentdirectioncode"] == 1
    ]


def files_of(emulator: Any, comment_id: str) -> list[dict[str, Any]]:
    return [row for row in emulator.store.query("annotations") if row["_objectid_value"] == comment_id]


# --- the timeline -------------------------------------------------------------------------------
def test_the_manual_case_shows_its_conversation_in_one_request(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    response, calls = requests_for(emulator, lambda: client.get(CASE_URL))
    page = text(response)
    assert response.status_code == 200 and calls == 1 + RIGHTS_CHECK
    assert "Actividad del caso" in page and "Agregar un comentario" in page
    for shown in (DEMO_AGENT_NAME, DEMO_CUSTOMER_COMMENT_TEXT, DEMO_WEB_NOTE_TEXT, DEMO_WEB_NOTE_FILENAME):
        assert shown in page
    assert DEMO_AGENT_COMMENT_TEXT.splitlines()[1] in page
    assert "*WEB*" not in page  # the prefix is hidden
    assert DEMO_INTERNAL_NOTE_TEXT not in page and str(DEMO_INTERNAL_NOTE_ID) not in page
    order = [
        page.index(DEMO_AGENT_COMMENT_TEXT.splitlines()[0]),
        page.index(DEMO_CUSTOMER_COMMENT_TEXT),
        page.index(DEMO_WEB_NOTE_TEXT),
    ]
    assert order == sorted(order)  # oldest first
    assert re.search(r'entry-author">Usted<', page)  # the signed-in user's own comment
    assert "26/12/2019 13:05" in page  # the agent's comment, in the portal's time zone


def test_the_english_page_says_the_same(client: FlaskClient) -> None:
    sign_in(client)
    page = text(client.get(f"/en-US/support/case/{DEMO_CASE_ID}"))
    assert "Case activity" in page and "Add a comment" in page and "Send comment" in page
    assert re.search(r'entry-author">You<', page) and "Support note" in page


def test_text_from_dataverse_is_escaped_with_its_line_breaks(client: FlaskClient, emulator: Any) -> None:
    emulator.store.insert(
        "adx_portalcomments",
        {
            "description": "<script>alert(1)</script>\nsegunda línea",
            "adx_portalcommentdirectioncode": 2,
            "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({DEMO_CASE_ID})",
        },
    )
    body = sign_in(client).get(CASE_URL).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nsegunda línea" in body


def test_two_hundred_entries_are_still_one_request(client: FlaskClient, emulator: Any) -> None:
    for index in range(200):
        emulator.store.insert(
            "adx_portalcomments",
            {
                "description": f"Entrada {index}",
                "adx_portalcommentdirectioncode": 1 + index % 2,
                "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({DEMO_CASE_ID})",
            },
        )
    sign_in(client)
    response, calls = requests_for(emulator, lambda: client.get(CASE_URL))
    assert calls == 1 + RIGHTS_CHECK and "Entrada 199" in text(response)


# --- posting --------------------------------------------------------------------------------------
def test_a_comment_with_an_image_is_one_request_and_shows_at_once(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    fields = form_fields(client)
    emulator.stats.reset()
    response = client.post(
        COMMENT_URL,
        data={
            **fields,
            "comment": "Adjunto la captura\ndel error.",
            "files": [(io.BytesIO(PNG), "error.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303 and emulator.stats.snapshot()["total"] == 1 + RIGHTS_CHECK
    (created,) = [c for c in incoming(emulator) if c["description"].startswith("Adjunto")]
    assert created["description"] == "Adjunto la captura\ndel error."
    (image,) = files_of(emulator, created["activityid"])
    assert image["filename"] == "error.png" and image["mimetype"] == "image/png"
    assert base64.b64decode(image["documentbody"]) == PNG and image["filesize"] == len(PNG)
    parties = [
        p for p in emulator.store.query("activityparties") if p["_activityid_value"] == created["activityid"]
    ]
    assert [(p["participationtypemask"], p["_partyid_value"]) for p in parties] == [(1, str(DEMO_CONTACT_ID))]
    page = text(client.get(response.headers["Location"]))
    assert "Su comentario se agregó al caso." in page and "del error." in page and "error.png" in page


def test_a_double_click_creates_one_comment(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    fields = form_fields(client)
    data = {**fields, "comment": "Solo una vez"}
    first = client.post(COMMENT_URL, data=data, content_type="multipart/form-data")
    second = client.post(COMMENT_URL, data=data, content_type="multipart/form-data")
    assert first.status_code == second.status_code == 303
    assert len([c for c in incoming(emulator) if c["description"] == "Solo una vez"]) == 1
    assert "ya estaba enviado" in text(client.get(CASE_URL))


@pytest.fixture()
def tiny_limits(emulator: Any, client: FlaskClient, app: Any) -> None:
    """The tenant allows 1,000 characters of base64 (750-byte files) and blocks .exe."""
    emulator.store.update("organizations", ORGANIZATION_ID, {"maxuploadfilesize": 1000})
    option_labels(app).refresh_now()
    emulator.stats.reset()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(b"x" * 751, "grande.log")], "supera el tamaño máximo de"),
        ([(b"MZ", "instalar.exe")], "No se admiten archivos de tipo «.exe»"),
        ([(b"", "vacio.txt")], "El archivo «vacio.txt» está vacío."),
        ([(b"a", "carpeta/x.txt")], "contiene caracteres no válidos"),
        ([(b"a", "ctrl\x07.txt")], "contiene caracteres no válidos"),
        ([(b"a", "n" * 296 + ".txt")], "es demasiado largo"),
        ([(b"a", f"f{i}.txt") for i in range(6)], "Puede adjuntar hasta 5 archivos por comentario."),
    ],
    ids=["too-big", "blocked", "empty-file", "slash", "control", "300-chars", "too-many"],
)
def test_each_bad_file_gets_its_message_and_keeps_the_comment(
    client: FlaskClient, emulator: Any, tiny_limits: None, files: list[tuple[bytes, str]], message: str
) -> None:
    sign_in(client)
    before = len(emulator.store.query("adx_portalcomments"))
    response = post_comment(client, "Texto que escribí con cuidado", files)
    page = text(response)
    assert response.status_code == 400 and message in page
    assert "Texto que escribí con cuidado</textarea>" in page  # the typed comment is back
    assert "vuelva a adjuntar los archivos" in page
    assert len(emulator.store.query("adx_portalcomments")) == before  # nothing half written


def test_an_empty_comment_is_refused(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    response = post_comment(client, "   \n ")
    assert response.status_code == 400 and "Escriba el comentario antes de enviarlo." in text(response)
    assert incoming(emulator) == [c for c in incoming(emulator) if c["description"].strip()]


def test_a_forged_or_foreign_token_keeps_the_comment_and_writes_nothing(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in(client)
    fields = form_fields(client)
    before = len(emulator.store.query("adx_portalcomments"))
    forged = {**fields, "form_token": fields["form_token"][:-3] + "abc", "comment": "Mi texto"}
    response = client.post(COMMENT_URL, data=forged, content_type="multipart/form-data")
    assert response.status_code == 400 and "La página del caso caducó" in text(response)
    assert "Mi texto</textarea>" in text(response)
    # A token of this case sent to another account's case: that case is not found, nothing written.
    other = client.post(
        f"/es-ES/support/case/{OTHER_CASE_ID}/comment",
        data={**fields, "comment": "x"},
        content_type="multipart/form-data",
    )
    assert other.status_code == 404
    assert len(emulator.store.query("adx_portalcomments")) == before


def test_dataverse_down_keeps_the_comment(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    fields = form_fields(client)
    emulator.faults.set(unavailable_ratio=1.0)
    response = client.post(
        COMMENT_URL, data={**fields, "comment": "No lo pierdan"}, content_type="multipart/form-data"
    )
    emulator.faults.clear()
    page = text(response)
    assert (
        response.status_code == 503
        and "Servicio no disponible" in page
        and "No lo pierdan</textarea>" in page
    )
    assert "Traceback" not in page


def test_dataverse_refusing_a_file_says_so(client: FlaskClient, emulator: Any) -> None:
    """The portal's own checks pass (its limits are old), Dataverse refuses: the page says why."""
    sign_in(client)
    fields = form_fields(client)
    emulator.store.update("organizations", ORGANIZATION_ID, {"blockedattachments": "png"})
    response = client.post(
        COMMENT_URL,
        data={**fields, "comment": "Con imagen", "files": [(io.BytesIO(PNG), "a.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "Dynamics 365 rechazó uno de los archivos" in text(response)
    assert not [c for c in incoming(emulator) if c["description"] == "Con imagen"]


def test_a_request_over_the_total_cap_gets_a_clear_page(tmp_path: Path, emulator: Any) -> None:
    app = create_app(make_settings(tmp_path, emulator.url, comment_max_files=1))
    app.testing = True
    option_labels(app).refresh_now()
    emulator.store.update("organizations", ORGANIZATION_ID, {"maxuploadfilesize": 4000})
    option_labels(app).refresh_now()
    client = app.test_client()
    sign_in(client)
    fields = form_fields(client)
    huge = (io.BytesIO(b"x" * (2 * 1024 * 1024)), "enorme.bin")
    form = MultiDict([*fields.items(), ("comment", "x")])
    form.add("files", FileStorage(huge[0], huge[1]))
    body, length, boundary = stream_encode_multipart(form)
    try:  # the test's own body file: the portal stops reading it (413), the test closes it
        response = client.post(
            COMMENT_URL,
            input_stream=body,
            content_length=length,
            content_type=f'multipart/form-data; boundary="{boundary}"',
        )
    finally:
        body.close()
    assert response.status_code == 413 and "superan el tamaño total permitido" in text(response)


# --- downloads ------------------------------------------------------------------------------------
def test_the_web_notes_pdf_downloads_as_an_attachment_in_one_request(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in(client)
    url = f"{CASE_URL}/files/{DEMO_WEB_NOTE_ID}"
    response, calls = requests_for(emulator, lambda: client.get(url))
    assert response.status_code == 200 and calls == 1 + RIGHTS_CHECK
    assert response.data == demo_pdf()
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="guia-endpoint.pdf"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Length"] == str(len(demo_pdf()))


def test_html_and_svg_are_served_as_downloads_with_their_exact_names(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in(client)
    fields = form_fields(client)
    page = b"<html><script>alert(document.cookie)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    emulator.store.update("organizations", ORGANIZATION_ID, {"blockedattachments": "exe"})
    option_labels(client.application).refresh_now()
    client.post(
        COMMENT_URL,
        data={
            **fields,
            "comment": "archivos",
            "files": [(io.BytesIO(page), "página.html"), (io.BytesIO(svg), "logo.svg")],
        },
        content_type="multipart/form-data",
    )
    (created,) = [c for c in incoming(emulator) if c["description"] == "archivos"]
    for row in files_of(emulator, created["activityid"]):
        response = client.get(f"{CASE_URL}/files/{row['annotationid']}")
        disposition = response.headers["Content-Disposition"]
        assert response.status_code == 200 and disposition.startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        if row["filename"] == "página.html":
            assert "filename*=UTF-8''p%C3%A1gina.html" in disposition
            assert response.data == page


@pytest.mark.parametrize("which", ["internal-note", "other-account", "wrong-case", "missing"])
def test_a_file_outside_the_users_scope_is_not_found(client: FlaskClient, emulator: Any, which: str) -> None:
    other_note = emulator.store.insert(
        "annotations",
        {
            "notetext": "*WEB*de otro cliente",
            "filename": "otro.pdf",
            "mimetype": "application/pdf",
            "documentbody": base64.b64encode(b"%PDF").decode(),
            "objectid_incident@odata.bind": f"/incidents({OTHER_CASE_ID})",
        },
    )
    urls = {
        "internal-note": f"{CASE_URL}/files/{DEMO_INTERNAL_NOTE_ID}",
        "other-account": f"/es-ES/support/case/{OTHER_CASE_ID}/files/{other_note['annotationid']}",
        "wrong-case": f"{CASE_URL}/files/{other_note['annotationid']}",
        "missing": f"{CASE_URL}/files/{UUID(int=7)}",
    }
    emulator.store.update(
        "annotations",
        DEMO_INTERNAL_NOTE_ID,
        {"documentbody": base64.b64encode(b"secret").decode(), "filename": "interno.txt"},
    )
    response = sign_in(client).get(urls[which])
    assert response.status_code == 404 and b"secret" not in response.data and b"%PDF" not in response.data


def test_another_accounts_case_is_not_found_on_every_new_route(client: FlaskClient) -> None:
    sign_in(client)
    base = f"/es-ES/support/case/{OTHER_CASE_ID}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/close").status_code == 404
    assert client.get(f"{base}/reopen").status_code == 404
    assert client.get(f"{base}/files/{DEMO_WEB_NOTE_ID}").status_code == 404
    fields = form_fields(client, f"{CASE_URL}/close")
    assert client.post(f"{base}/close", data=fields).status_code == 404


# --- the list's marker --------------------------------------------------------------------------------
def test_the_list_marks_cases_awaiting_the_customer_in_its_one_request(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in(client)
    response, calls = requests_for(emulator, lambda: client.get("/es-ES/support/?q=CAS-01202"))
    # the web note is the latest entry
    assert calls == 1 + RIGHTS_CHECK and "Esperando su respuesta" in text(response)
    client.post(
        COMMENT_URL, data={**form_fields(client), "comment": "Respondo"}, content_type="multipart/form-data"
    )
    assert "Esperando su respuesta" not in text(client.get("/es-ES/support/?q=CAS-01202"))  # we wrote last
    emulator.store.update("incidents", DEMO_CASE_ID, {"statuscode": 3})  # Esperando detalles
    assert "Esperando su respuesta" in text(client.get("/es-ES/support/?q=CAS-01202"))
    emulator.store.insert(
        "adx_portalcomments",
        {
            "description": "¿Algo más?",
            "adx_portalcommentdirectioncode": 2,
            "createdby@odata.bind": f"/systemusers({DEMO_AGENT_ID})",
            "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({DEMO_CASE_ID})",
            "createdon": (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    emulator.store.update("incidents", DEMO_CASE_ID, {"statuscode": 1})
    assert "Awaiting your reply" in text(client.get("/en-US/support/?q=CAS-01202"))  # the agent asked again


# --- close, cancel, reopen ------------------------------------------------------------------------------
def confirm(client: FlaskClient, action: str, **data: str) -> TestResponse:
    """The confirmation page of `action`, then its button."""
    url = f"{CASE_URL}/{action}"
    return client.post(url, data={**form_fields(client, url), **data})


def test_close_resolves_through_closeincident_and_reopen_brings_it_back(
    client: FlaskClient, emulator: Any
) -> None:
    sign_in(client)
    question = text(client.get(f"{CASE_URL}/close"))
    assert "¿Cerrar el caso CAS-01202-B2K8P0?" in question and "Último comentario (opcional)" in question
    fields = form_fields(client, f"{CASE_URL}/close")
    emulator.stats.reset()
    closed = client.post(f"{CASE_URL}/close", data={**fields, "last_comment": "Ya funciona, gracias."})
    assert closed.status_code == 303 and emulator.stats.snapshot()["total"] == 1 + RIGHTS_CHECK
    case = emulator.store.get("incidents", str(DEMO_CASE_ID))
    assert (case["statecode"], case["statuscode"]) == (1, 5)  # Resuelto / Problema resuelto
    (resolution,) = [
        r for r in emulator.store.query("incidentresolutions") if r["_incidentid_value"] == str(DEMO_CASE_ID)
    ]
    assert resolution["subject"] == "Cerrado por el cliente en el portal (Lorena Melo Hernandez)"
    assert resolution["description"] == "Ya funciona, gracias."
    page = text(client.get(CASE_URL))
    assert "El caso quedó resuelto." in page and "Resolución" in page and "Ya funciona, gracias." in page
    assert 'id="comment-form"' not in page and "vuelva a abrirlo" in page
    assert "Reabrir caso" in page and 'id="action-close"' not in page
    resolved = text(client.get("/es-ES/support/?which=resolved&q=CAS-01202"))
    assert "CAS-01202-B2K8P0" in resolved
    # The same confirmation sent again (a double click): still one resolution, no error.
    again = client.post(f"{CASE_URL}/close", data={**fields, "last_comment": "otra vez"})
    assert again.status_code == 303 and "El caso quedó resuelto." in text(client.get(CASE_URL))
    assert (
        len(
            [
                r
                for r in emulator.store.query("incidentresolutions")
                if r["_incidentid_value"] == str(DEMO_CASE_ID)
            ]
        )
        == 1
    )
    reopened = confirm(client, "reopen")
    assert reopened.status_code == 303
    case = emulator.store.get("incidents", str(DEMO_CASE_ID))
    assert (case["statecode"], case["statuscode"]) == (0, 1)
    page = text(client.get(CASE_URL))
    assert "El caso se reabrió." in page and 'id="comment-form"' in page


def test_cancel_is_refused_while_switched_off(client: FlaskClient, emulator: Any) -> None:
    sign_in(client)
    assert "Cancelar caso" not in text(client.get(CASE_URL))
    assert client.get(f"{CASE_URL}/cancel").status_code == 404
    fields = form_fields(client)
    assert client.post(f"{CASE_URL}/cancel", data=fields).status_code == 404
    assert emulator.store.get("incidents", str(DEMO_CASE_ID))["statecode"] == 0


def test_cancel_when_switched_on(tmp_path: Path, emulator: Any) -> None:
    app = create_app(
        make_settings(tmp_path, emulator.url, case_cancel_enabled=True, case_reopen_enabled=False)
    )
    app.testing = True
    option_labels(app).refresh_now()
    client = app.test_client()
    sign_in(client)
    assert "Cancelar caso" in text(client.get(CASE_URL))
    assert confirm(client, "cancel").status_code == 303
    case = emulator.store.get("incidents", str(DEMO_CASE_ID))
    assert (case["statecode"], case["statuscode"]) == (2, 6)
    page = text(client.get(CASE_URL))
    assert "El caso quedó cancelado." in page and "Reabrir caso" not in page  # reopen is off here
    assert client.get(f"{CASE_URL}/reopen").status_code == 404


def test_closing_charges_the_hour_bank_and_reopening_gives_it_back(
    client: FlaskClient, emulator: Any
) -> None:
    from d365portal.emulator.seed import DEMO_ACTIVE_ENTITLEMENT_ID

    bank = str(DEMO_ACTIVE_ENTITLEMENT_ID)
    emulator.store.update(
        "incidents",
        DEMO_CASE_ID,
        {"entitlementid@odata.bind": f"/entitlements({bank})", "billedserviceunits": 90},
    )
    before = emulator.store.get("entitlements", bank)["remainingterms"]
    sign_in(client)
    hours_url = f"/es-ES/vigencia-soporte/{bank}"
    confirm(client, "close")
    assert emulator.store.get("entitlements", bank)["remainingterms"] == pytest.approx(before - 1.5)
    shown_after_close = text(client.get(hours_url))
    confirm(client, "reopen")
    assert emulator.store.get("entitlements", bank)["remainingterms"] == pytest.approx(before)
    shown_after_reopen = text(client.get(hours_url))
    left = lambda page: re.search(r"Disponibles</dt>\s*<dd[^>]*>([^<]+)<", page)  # noqa: E731
    assert left(shown_after_close) and left(shown_after_reopen)
    assert left(shown_after_close).group(1) != left(shown_after_reopen).group(1)
