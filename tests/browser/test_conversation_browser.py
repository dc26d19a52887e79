"""The case conversation in Debian's Chromium (issue 13), in Spanish and in English: read the agent's
comment and the web note, download the PDF, post a comment with an image, see an agent's answer
written through the Web API at the next load, close and reopen the case; the internal note never
appears."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests

from d365portal.emulator.conversation_data import demo_pdf
from d365portal.emulator.seed import (
    DEMO_AGENT_COMMENT_TEXT,
    DEMO_AGENT_ID,
    DEMO_AGENT_NAME,
    DEMO_CASE_ID,
    DEMO_CASE_NUMBER,
    DEMO_CONTACT_ID,
    DEMO_INTERNAL_NOTE_TEXT,
    DEMO_WEB_NOTE_FILENAME,
    DEMO_WEB_NOTE_TEXT,
)
from tests.browser.conftest import sign_in
from tests.conftest import TEST_TOKEN

pytestmark = pytest.mark.browser

WORDS = {
    "es-ES": {
        "activity": "Actividad del caso", "comment": "Comentario", "attach": "Adjuntar archivos",
        "send": "Enviar comentario", "sent": "Su comentario se agregó al caso.", "you": "Usted",
        "close": "Cerrar caso", "yes_close": "Sí, cerrar el caso", "closed": "El caso quedó resuelto.",
        "reopen": "Reabrir caso", "yes_reopen": "Sí, reabrir el caso", "reopened": "El caso se reabrió.",
        "resolved_list": "/es-ES/support/?which=resolved",
    },
    "en-US": {
        "activity": "Case activity", "comment": "Comment", "attach": "Attach files",
        "send": "Send comment", "sent": "Your comment was added to the case.", "you": "You",
        "close": "Close case", "yes_close": "Yes, close the case", "closed": "The case is now resolved.",
        "reopen": "Reopen case", "yes_reopen": "Yes, reopen the case", "reopened": "The case was reopened.",
        "resolved_list": "/en-US/support/?which=resolved",
    },
}  # fmt: skip
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def agent_answers(emulator: Any, text: str) -> None:
    """An agent writes on the case through the Web API (impersonated, as the emulator README shows)."""
    body = {
        "description": text, "adx_portalcommentdirectioncode": 2,
        "regardingobjectid_incident_adx_portalcomment@odata.bind": f"/incidents({DEMO_CASE_ID})",
        "adx_portalcomment_activity_parties": [
            {"participationtypemask": 1, "partyid_systemuser@odata.bind": f"/systemusers({DEMO_AGENT_ID})"},
            {"participationtypemask": 2, "partyid_contact@odata.bind": f"/contacts({DEMO_CONTACT_ID})"},
        ],
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {TEST_TOKEN}", "MSCRMCallerID": str(DEMO_AGENT_ID)}
    response = requests.post(f"{emulator.url}/api/data/v9.2/adx_portalcomments", json=body, headers=headers,
                             timeout=10)  # fmt: skip
    assert response.status_code == 204, response.text


@pytest.mark.parametrize("lang", ["es-ES", "en-US"])
def test_a_customer_and_an_agent_work_the_case(page: Any, emulator: Any, tmp_path: Path, lang: str) -> None:
    from playwright.sync_api import expect

    words = WORDS[lang]
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(page, lang=lang)
    page.goto(f"/{lang}/support/case/{DEMO_CASE_ID}")
    activity = page.get_by_role("region", name=words["activity"])
    expect(activity).to_contain_text(DEMO_AGENT_COMMENT_TEXT.splitlines()[0])
    expect(activity).to_contain_text(DEMO_AGENT_NAME)
    expect(activity).to_contain_text(DEMO_WEB_NOTE_TEXT)
    expect(page.locator("body")).not_to_contain_text(DEMO_INTERNAL_NOTE_TEXT)

    # The web note's PDF, as a download.
    with page.expect_download() as info:
        activity.get_by_role("link", name=DEMO_WEB_NOTE_FILENAME).click()
    download = info.value
    assert download.suggested_filename == DEMO_WEB_NOTE_FILENAME
    assert Path(download.path()).read_bytes() == demo_pdf()

    # An empty comment is refused in the page's language; then a comment with an image.
    page.get_by_role("button", name=words["send"]).click()  # the browser's own required check
    expect(page.get_by_label(words["comment"])).to_be_focused()
    image = tmp_path / "pantalla.png"
    image.write_bytes(PNG)
    page.get_by_label(words["comment"]).fill(f"Adjunto la pantalla ({lang}).")
    page.get_by_label(words["attach"]).set_input_files(str(image))
    page.get_by_role("button", name=words["send"]).click()
    expect(page.get_by_text(words["sent"])).to_be_visible()
    mine = page.locator(".entry-incoming").filter(has_text=f"Adjunto la pantalla ({lang}).")
    expect(mine).to_contain_text(words["you"])
    expect(mine.get_by_role("link", name="pantalla.png")).to_be_visible()
    created = [
        row for row in emulator.store.query("adx_portalcomments")
        if row["description"] == f"Adjunto la pantalla ({lang})."
    ]  # fmt: skip
    assert len(created) == 1 and created[0]["adx_portalcommentdirectioncode"] == 1
    assert created[0]["_regardingobjectid_value"] == str(DEMO_CASE_ID)
    notes = emulator.store.query("annotations")
    (note,) = [n for n in notes if n["_objectid_value"] == created[0]["activityid"]]
    assert note["filename"] == "pantalla.png" and base64.b64decode(note["documentbody"]) == PNG

    # An agent answers in Dynamics (the Web API): the next load shows it.
    agent_answers(emulator, f"Recibido, lo revisamos ({lang}).")
    page.reload()
    answer = page.locator(".entry-outgoing").filter(has_text=f"Recibido, lo revisamos ({lang}).")
    expect(answer).to_contain_text(DEMO_AGENT_NAME)
    expect(page.locator("body")).not_to_contain_text(DEMO_INTERNAL_NOTE_TEXT)

    # Close (with its confirmation), find it under the resolved cases, reopen.
    page.get_by_role("link", name=words["close"]).click()
    page.get_by_role("button", name=words["yes_close"]).click()
    expect(page.get_by_text(words["closed"])).to_be_visible()
    expect(page.locator("#comment-form")).to_have_count(0)
    assert emulator.store.get("incidents", str(DEMO_CASE_ID))["statecode"] == 1
    page.goto(words["resolved_list"])
    page.locator("#case-search").fill(DEMO_CASE_NUMBER)
    page.locator("#case-search").press("Enter")
    expect(page.locator("table.cases tbody tr").filter(has_text=DEMO_CASE_NUMBER)).to_have_count(1)
    page.goto(f"/{lang}/support/case/{DEMO_CASE_ID}")
    page.get_by_role("link", name=words["reopen"]).click()
    page.get_by_role("button", name=words["yes_reopen"]).click()
    expect(page.get_by_text(words["reopened"])).to_be_visible()
    expect(page.locator("#comment-form")).to_have_count(1)
    assert emulator.store.get("incidents", str(DEMO_CASE_ID))["statecode"] == 0
    assert not errors, errors


def test_the_page_checks_files_before_uploading(page: Any, emulator: Any, tmp_path: Path) -> None:
    """With JavaScript the chosen files are checked against the tenant's limits at once (the
    server checks again without it)."""
    from playwright.sync_api import expect

    sign_in(page)
    page.goto(f"/es-ES/support/case/{DEMO_CASE_ID}")
    empty = tmp_path / "vacio.txt"
    empty.write_bytes(b"")
    page.get_by_label("Comentario").fill("Con un archivo vacío")
    page.get_by_label("Adjuntar archivos").set_input_files(str(empty))
    expect(page.locator("#files-status")).to_have_text("El archivo «vacio.txt» está vacío.")
    page.get_by_role("button", name="Enviar comentario").click()
    expect(page.get_by_label("Adjuntar archivos")).to_be_focused()
    comments = emulator.store.query("adx_portalcomments")
    assert not [r for r in comments if r["description"] == "Con un archivo vacío"]
