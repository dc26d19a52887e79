"""The notifier in-process (issue 14), against the test emulator over HTTP and a real SMTP server on
loopback: which change mails whom, once; the language; preferences, `donotemail`; an expired token; an
SMTP outage; one delta request per followed table per poll."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from d365portal.emulator.seed import (
    DEMO_ACTIVE_ENTITLEMENT_ID,
    DEMO_CASE_ID,
    DEMO_CASE_NUMBER,
    DEMO_CONTACT_ID,
    DEMO_CONTACT_LEVEL_EMAIL,
    DEMO_CONTACT_LEVEL_ID,
    DEMO_EMAIL,
)
from d365portal.identity import identity
from d365portal.notify.deliver import remember_language, save_preferences
from d365portal.notify.events import FOLLOWED
from d365portal.notify.runner import Notifier
from tests.notify.conftest import Agent, Inbox, notifier_app

pytestmark = pytest.mark.smtp


@pytest.fixture()
def notifier(tmp_path: Path, emulator: Any, inbox: Inbox) -> Notifier:
    """A notifier whose baseline is taken (nothing that happened before it is mailed)."""
    app = notifier_app(tmp_path, emulator.url, inbox.url)
    worker = Notifier(app, sleep=lambda seconds: None)
    worker.poll_once()
    assert inbox.messages == []
    return worker


def body_of(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def test_an_agents_comment_mails_the_contact_once_with_a_deep_link(
    notifier: Notifier, agent: Agent, inbox: Inbox, emulator: Any
) -> None:
    agent.comment("Ya revisamos el reporte.\nFalta reinstalar el agente.")
    notifier.poll_once()
    (mail,) = inbox.wait_for(1)
    assert inbox.recipients == [[DEMO_EMAIL]]
    assert mail["Subject"] == f"Nueva respuesta en su caso {DEMO_CASE_NUMBER}"
    text = body_of(mail)
    assert "Falta reinstalar el agente." in text
    assert f"http://portal.test/es-ES/support/case/{DEMO_CASE_ID}" in text
    html = str(mail.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert f'href="http://portal.test/es-ES/support/case/{DEMO_CASE_ID}"' in html and "Ver el caso" in html
    notifier.poll_once()
    notifier.poll_once()
    assert len(inbox.messages) == 1  # never twice


def test_mail_comes_in_the_language_of_the_contacts_last_page(
    notifier: Notifier, agent: Agent, inbox: Inbox
) -> None:
    remember_language(identity(notifier.app).store, str(DEMO_CONTACT_ID), "en-US")
    agent.comment("We found the cause.")
    notifier.poll_once()
    (mail,) = inbox.wait_for(1)
    assert mail["Subject"] == f"New reply on your case {DEMO_CASE_NUMBER}"
    assert f"http://portal.test/en-US/support/case/{DEMO_CASE_ID}" in body_of(mail)


def test_the_customers_own_comment_and_an_internal_note_mail_nobody(
    notifier: Notifier, agent: Agent, inbox: Inbox
) -> None:
    agent.comment("Lo escribí yo", direction=1)
    agent.post(
        "annotations", {"notetext": "interna", "objectid_incident@odata.bind": f"/incidents({DEMO_CASE_ID})"}
    )
    notifier.poll_once()
    assert inbox.wait_for(1, timeout=0.5) == []
    agent.post(
        "annotations",
        {"notetext": "*WEB*Guía nueva", "objectid_incident@odata.bind": f"/incidents({DEMO_CASE_ID})"},
    )
    notifier.poll_once()
    (mail,) = inbox.wait_for(1)
    assert mail["Subject"] == f"Nueva nota en su caso {DEMO_CASE_NUMBER}" and "Guía nueva" in body_of(mail)
    assert "*WEB*" not in body_of(mail)


def test_a_resolution_mails_once_with_its_text_and_waiting_for_details_too(
    notifier: Notifier, agent: Agent, inbox: Inbox
) -> None:
    agent.patch(f"incidents({DEMO_CASE_ID})", {"statuscode": 3})
    notifier.poll_once()
    (waiting,) = inbox.wait_for(1)
    assert waiting["Subject"] == f"Su caso {DEMO_CASE_NUMBER} espera sus detalles"
    agent.patch(f"incidents({DEMO_CASE_ID})", {"title": "Otro título"})  # not a status change
    notifier.poll_once()
    assert len(inbox.wait_for(2, timeout=0.5)) == 1
    agent.post(
        "CloseIncident",
        {
            "IncidentResolution": {
                "subject": "Agente reinstalado",
                "description": "Se reinstaló en la sede norte.",
                "incidentid@odata.bind": f"/incidents({DEMO_CASE_ID})",
            },
            "Status": 5,
        },
    )
    notifier.poll_once()
    notifier.poll_once()
    messages = inbox.wait_for(2)
    assert len(messages) == 2 and messages[1]["Subject"] == f"Su caso {DEMO_CASE_NUMBER} fue resuelto"
    assert "Se reinstaló en la sede norte." in body_of(messages[1])


def test_an_hour_bank_under_a_fifth_mails_its_users_once(
    notifier: Notifier, agent: Agent, inbox: Inbox, emulator: Any
) -> None:
    bank = emulator.store.get("entitlements", str(DEMO_ACTIVE_ENTITLEMENT_ID))
    total = bank["totalterms"]
    agent.patch(f"entitlements({DEMO_ACTIVE_ENTITLEMENT_ID})", {"remainingterms": total * 0.15})
    notifier.poll_once()
    messages = inbox.wait_for(1)
    users = [
        row
        for row in emulator.store.query("contacts")
        if row.get("adx_identity_username")
        and row.get("_parentcustomerid_value") == bank["_customerid_value"]
        and row.get("emailaddress1")
        and row["contactid"] != str(DEMO_CONTACT_LEVEL_ID)  # Contacto level: hour banks are not shown
    ]
    assert len(messages) == len(users) >= 2
    assert all(DEMO_CONTACT_LEVEL_EMAIL not in message["To"] for message in messages)
    assert messages[0]["Subject"] == "Quedan pocas horas en «Bolsa de horas 2026»"
    assert f"/es-ES/vigencia-soporte/{DEMO_ACTIVE_ENTITLEMENT_ID}" in body_of(messages[0])
    agent.patch(f"entitlements({DEMO_ACTIVE_ENTITLEMENT_ID})", {"remainingterms": total * 0.1})
    notifier.poll_once()
    assert len(inbox.wait_for(len(users) + 1, timeout=0.5)) == len(users)  # once per threshold


def test_donotemail_and_switched_off_preferences_mail_nobody(
    notifier: Notifier, agent: Agent, inbox: Inbox, emulator: Any
) -> None:
    save_preferences(identity(notifier.app).store, str(DEMO_CONTACT_ID), cases=False, hours=True)
    agent.comment("primero")
    notifier.poll_once()
    assert inbox.wait_for(1, timeout=0.5) == []
    save_preferences(identity(notifier.app).store, str(DEMO_CONTACT_ID), cases=True, hours=True)
    emulator.store.update("contacts", DEMO_CONTACT_ID, {"donotemail": True})
    agent.comment("segundo")
    notifier.poll_once()
    assert inbox.wait_for(1, timeout=0.5) == []


def test_an_expired_token_starts_a_fresh_baseline_without_old_mail(
    notifier: Notifier, agent: Agent, inbox: Inbox, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    agent.comment("mientras el token vencía")
    emulator.store.expire_change_tracking()
    with caplog.at_level(logging.WARNING, logger="d365portal.notify"):
        notifier.poll_once()
    assert inbox.wait_for(1, timeout=0.5) == []
    assert any("starting a fresh baseline" in r.getMessage() for r in caplog.records)
    agent.comment("después del nuevo comienzo")
    notifier.poll_once()
    (mail,) = inbox.wait_for(1)
    assert "después del nuevo comienzo" in body_of(mail)


def test_smtp_down_waits_and_loses_nothing(
    notifier: Notifier, agent: Agent, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    inbox.stop()
    agent.comment("uno")
    agent.comment("dos")
    with caplog.at_level(logging.WARNING, logger="d365portal.notify"):
        wait = notifier.poll_once()
        assert notifier.poll_once() >= wait >= 1
    assert any("for the mail server" in r.getMessage() for r in caplog.records)
    inbox.start()
    notifier.poll_once()
    bodies = [body_of(m) for m in inbox.wait_for(2)]
    assert len(bodies) == 2 and any("uno" in b for b in bodies) and any("dos" in b for b in bodies)
    notifier.poll_once()
    assert len(inbox.messages) == 2


def test_quiet_polls_cost_one_request_per_followed_table(notifier: Notifier, emulator: Any) -> None:
    identity(notifier.app).store.set("notify:sweep", "done", 3600)
    emulator.stats.reset()
    for _ in range(3):
        notifier.poll_once()
    assert emulator.stats.snapshot()["total"] == 3 * len(FOLLOWED)


def test_dataverse_down_is_waited_out(notifier: Notifier, agent: Agent, inbox: Inbox, emulator: Any) -> None:
    agent.comment("durante la caída")
    emulator.faults.set(unavailable_ratio=1.0)
    assert notifier.poll_once() >= 1
    emulator.faults.clear()
    notifier.poll_once()
    assert len(inbox.wait_for(1)) == 1


def test_a_contact_without_a_portal_account_gets_nothing(
    notifier: Notifier, agent: Agent, inbox: Inbox, emulator: Any
) -> None:
    emulator.store.update("contacts", DEMO_CONTACT_ID, {"adx_identity_username": None})
    agent.comment("para alguien sin cuenta del portal")
    notifier.poll_once()
    assert inbox.wait_for(1, timeout=0.5) == []


def test_an_hour_bank_ending_within_thirty_days_is_told_once(
    tmp_path: Path, agent: Agent, inbox: Inbox, emulator: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    def in_days(days: int) -> str:
        return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")

    # The demo's 2026 bank already ends within 30 days: at a baseline that is no news. Move it away first.
    emulator.store.update("entitlements", DEMO_ACTIVE_ENTITLEMENT_ID, {"enddate": in_days(200)})
    worker = Notifier(notifier_app(tmp_path, emulator.url, inbox.url), sleep=lambda seconds: None)
    worker.poll_once()
    agent.patch(f"entitlements({DEMO_ACTIVE_ENTITLEMENT_ID})", {"enddate": in_days(10)})
    worker.poll_once()
    messages = inbox.wait_for(1)
    assert messages and all(m["Subject"] == "«Bolsa de horas 2026» vence pronto" for m in messages)
    told = len(messages)
    agent.patch(f"entitlements({DEMO_ACTIVE_ENTITLEMENT_ID})", {"description": "otra edición"})
    worker.poll_once()
    assert len(inbox.wait_for(told + 1, timeout=0.5)) == told


def test_dataverse_throttling_is_waited_out_for_its_retry_after(
    notifier: Notifier, agent: Agent, inbox: Inbox, emulator: Any
) -> None:
    agent.comment("durante el límite")
    emulator.faults.set(throttle_ratio=1.0, throttle_retry_after=4)
    assert notifier.poll_once() >= 4  # Dataverse's Retry-After, not a guess
    emulator.faults.clear()
    notifier.poll_once()
    assert len(inbox.wait_for(1)) == 1


def test_a_colleague_who_follows_the_case_gets_its_notices_until_demoted(
    notifier: Notifier, agent: Agent, inbox: Inbox, emulator: Any
) -> None:
    """"Seguir este caso" (issue 15): the follower's mail comes with the contact's; a follower who is
    no longer above Contacto in Dynamics hears nothing more of a colleague's case."""
    from d365portal.emulator.seed import (
        DEMO_COMPANY_LEVEL_EMAIL,
        DEMO_COMPANY_LEVEL_ID,
        WEB_ROLE_COMPANY,
        WEB_ROLE_CONTACT,
        WEB_ROLE_IDS,
    )
    from d365portal.notify.deliver import follow

    follow(identity(notifier.app).store, str(DEMO_CASE_ID), str(DEMO_COMPANY_LEVEL_ID), True)
    agent.comment("Primera respuesta.")
    notifier.poll_once()
    inbox.wait_for(2)
    assert sorted(r[0] for r in inbox.recipients) == sorted([DEMO_EMAIL, DEMO_COMPANY_LEVEL_EMAIL])
    company_role = f"adx_webroles({WEB_ROLE_IDS[WEB_ROLE_COMPANY]})/adx_webrole_contact"
    roles = agent.base + f"{company_role}({DEMO_COMPANY_LEVEL_ID})/$ref"
    assert agent.http.delete(roles, timeout=10).status_code == 204
    agent.post(f"adx_webroles({WEB_ROLE_IDS[WEB_ROLE_CONTACT]})/adx_webrole_contact/$ref",
               {"@odata.id": agent.base + f"contacts({DEMO_COMPANY_LEVEL_ID})"})  # fmt: skip
    agent.comment("Segunda respuesta.")
    notifier.poll_once()
    messages = inbox.wait_for(4, timeout=1.0)
    assert len(messages) == 3 and inbox.recipients[-1] == [DEMO_EMAIL]
