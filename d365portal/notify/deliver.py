"""Who hears of an event, and the mail they get (each event: one Dataverse request at most).

A case event reads the case with its contact (and its resolution), and — only when colleagues follow
the case — those followers in a second request, each of whom must still be above Contacto in the
case's company; an hour-bank event reads the bank's account's contacts with their web roles (a
Contacto-level user hears of hour banks only where the tenant shows them hour banks). A recipient must
have a portal account (a username and sign-in enabled),
an address, `donotemail` off and the kind switched on in their preferences ("Notificaciones"); mail is
in the language of their last portal page (kept in the shared store), else the portal's default.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any
from uuid import UUID

from flask import Flask, g, url_for

from d365portal.crm import records as r
from d365portal.crm import role_names
from d365portal.crm.models import Level
from d365portal.crm.roles import role_names_of, roles_expand
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.notify.events import Event

CONTACT_COLUMNS = ("contactid", "fullname", "emailaddress1", "donotemail", "adx_identity_username",
                   "adx_identity_logonenabled")  # fmt: skip
TEXT_LIMIT = 1200  # characters of a comment quoted in a mail
PREFERENCES_TTL = 10 * 365 * 86400
CASE_KINDS = frozenset({"comment", "note", "waiting", "resolved", "cancelled"})
MAX_FOLLOWERS = 50  # followers of one case mailed (keeps the one request's filter short)


@dataclass(frozen=True)
class Recipient:
    """Someone a mail may go to."""

    contact_id: str
    name: str
    email: str


def preferences(store: Any, contact_id: str) -> dict[str, bool]:
    """The contact's switches: case updates and hour-bank alerts (both on unless turned off)."""
    raw = store.get(f"prefs:notify:{contact_id}")
    values = json.loads(raw) if raw else {}
    return {"cases": bool(values.get("cases", True)), "hours": bool(values.get("hours", True))}


def save_preferences(store: Any, contact_id: str, *, cases: bool, hours: bool) -> None:
    """Keep the switches in the shared store (not business data: never written to Dataverse)."""
    store.set(f"prefs:notify:{contact_id}", json.dumps({"cases": cases, "hours": hours}), PREFERENCES_TTL)


def follow(store: Any, case_id: str, contact_id: str, on: bool) -> None:
    """Follow a colleague's case (or stop): followers get its notices too (issue 15). Kept in the
    shared store, like the preferences: not business data."""
    key = f"follow:case:{case_id}"
    if on:
        store.sadd(key, contact_id, PREFERENCES_TTL)
    else:
        store.srem(key, contact_id)


def followers(store: Any, case_id: str) -> set[str]:
    """The contacts who follow a case."""
    return set(store.smembers(f"follow:case:{case_id}"))


def remember_language(store: Any, contact_id: str, lang: str) -> None:
    """The language of the contact's last portal page: their mails come in it."""
    store.set(f"lang:{contact_id}", lang, PREFERENCES_TTL)


def _recipient(row: dict[str, Any] | None, store: Any, kind: str) -> Recipient | None:
    if not row or not row.get("adx_identity_username") or row.get("adx_identity_logonenabled") is False:
        return None  # no portal account
    email = str(row.get("emailaddress1") or "").strip()
    if not email or row.get("donotemail"):
        return None
    contact_id = str(row["contactid"])
    if not preferences(store, contact_id)["cases" if kind in CASE_KINDS else "hours"]:
        return None
    return Recipient(contact_id, str(row.get("fullname") or ""), email)


class Deliverer:
    """Reads what a mail needs and renders it, in an app context of the portal."""

    def __init__(self, app: Flask, client: DataverseClient, store: Any) -> None:
        self.app = app
        self.client = client
        self.store = store
        self.settings = app.config["SETTINGS"]

    def messages(self, event: Event) -> list[tuple[Recipient, EmailMessage]]:
        """Each recipient of `event` with their mail (empty when nobody may hear of it)."""
        if event.kind in CASE_KINDS:
            return self._case_messages(event)
        return self._bank_messages(event)

    # --- cases ------------------------------------------------------------------------------
    def _case_messages(self, event: Event) -> list[tuple[Recipient, EmailMessage]]:
        parent = r.lookup_column(self.settings.fieldmap.associate_parent_column)
        params = {
            "$select": "incidentid,ticketnumber,title,statecode,statuscode",
            "$expand": ",".join((
                odata.expand("primarycontactid", select_=CONTACT_COLUMNS),
                odata.expand("customerid_account", select_=("accountid", parent)),
                odata.expand("Incident_IncidentResolutions", select_=("subject", "description", "createdon"),
                             filter_=odata.eq("statecode", 1)),
            )),
        }  # fmt: skip
        case = self.client.get(odata.entity_path("incidents", UUID(str(event.case_id))), params)
        contact = _recipient(case.get("primarycontactid"), self.store, event.kind)
        recipients = [contact] if contact is not None else []
        account = case.get("customerid_account") or {}
        companies = {str(account.get("accountid") or ""), str(account.get(parent) or "")} - {""}
        for follower in self._followers(str(event.case_id), companies, event.kind):
            if all(follower.contact_id != who.contact_id for who in recipients):
                recipients.append(follower)
        if not recipients:
            return []
        text = event.text
        if event.kind == "resolved":
            resolved = sorted(
                case.get("Incident_IncidentResolutions") or [], key=lambda x: str(x.get("createdon"))
            )
            if resolved:
                last = resolved[-1]
                text = " — ".join(t for t in (r.text(last, "subject"), r.text(last, "description")) if t)
        number = r.text(case, "ticketnumber") or str(event.case_id)
        out: list[tuple[Recipient, EmailMessage]] = []
        for who in recipients:
            with self._context(who) as lang:
                link = self._link("support.case", lang, case_id=UUID(str(event.case_id)))
                message = self._render(
                    "case_update", who, f"mail.notify_{event.kind}_subject", number=number,
                    kind=event.kind, title=r.text(case, "title") or "", text=_trim(text), link=link,
                )  # fmt: skip
            out.append((who, message))
        return out

    def _followers(self, case_id: str, companies: set[str], kind: str) -> list[Recipient]:
        """The case's followers who may still see it: above Contacto, in its company (one request, made
        only when somebody follows the case)."""
        ids = sorted(followers(self.store, case_id))[:MAX_FOLLOWERS]
        if not ids:
            return []
        where = odata.or_(*(odata.eq("contactid", UUID(i)) for i in ids))
        rows = self.client.get("contacts", {
            "$select": odata.select((*CONTACT_COLUMNS, "_parentcustomerid_value")),
            "$filter": where.text, "$expand": roles_expand(),
        }).get("value", [])  # fmt: skip
        names = role_names(self.settings)
        found = []
        for row in rows:
            if str(row.get("_parentcustomerid_value") or "") not in companies:
                continue  # moved to another account
            if names.level_for(role_names_of(row)) < Level.COMPANY:
                continue  # demoted: a colleague's case is no longer theirs to see
            who = _recipient(row, self.store, kind)
            if who is not None:
                found.append(who)
        return found

    # --- hour banks ---------------------------------------------------------------------------
    def _bank_messages(self, event: Event) -> list[tuple[Recipient, EmailMessage]]:
        """The bank's figures come with the change; its account's portal users are one request."""
        if not event.account_id:
            return []
        bank_id, bank = UUID(str(event.bank_id)), event.row
        where = odata.and_(
            odata.eq("_parentcustomerid_value", UUID(str(event.account_id))),
            odata.ne("adx_identity_username", None),
        )
        contacts = self.client.get(
            "contacts",
            {"$select": odata.select(CONTACT_COLUMNS), "$filter": where.text, "$expand": roles_expand()},
        )
        names = role_names(self.settings)
        out: list[tuple[Recipient, EmailMessage]] = []
        total, remaining = r.decimal(bank, "totalterms") or Decimal(0), r.decimal(bank, "remainingterms")
        used = total - (remaining or Decimal(0))
        for row in contacts.get("value", []):
            shown_banks = self.settings.contact_level_hour_banks
            if names.level_for(role_names_of(row)) < Level.COMPANY and not shown_banks:
                continue  # a Contacto-level user who is not shown hour banks
            who = _recipient(row, self.store, event.kind)
            if who is None:
                continue
            with self._context(who) as lang:
                from d365portal.i18n import format_date_only, format_number

                link = self._link("hours.detail", lang, entitlement_id=bank_id)
                message = self._render(
                    "hour_bank", who, f"mail.notify_{event.kind}_subject",
                    kind=event.kind, bank=r.text(bank, "name") or "", used=format_number(used),
                    total=format_number(total), remaining=format_number(remaining or 0),
                    end=format_date_only(r.date_only(bank, "enddate")), link=link,
                )  # fmt: skip
            out.append((who, message))
        return out

    # --- rendering ------------------------------------------------------------------------------
    @contextmanager
    def _context(self, who: Recipient) -> Iterator[str]:
        """A request context in the recipient's language (templates, `url_for`); yields the language."""
        lang = self.store.get(f"lang:{who.contact_id}") or self.settings.default_language
        with self.app.test_request_context(base_url=str(self.settings.public_base_url)):
            g.lang = lang
            yield lang

    def _link(self, endpoint: str, lang: str, **values: Any) -> str:
        return url_for(endpoint, lang=lang, _external=True, **values)

    def _render(self, template: str, who: Recipient, subject_key: str, **context: Any) -> EmailMessage:
        from d365portal.i18n import gettext
        from d365portal.mail.messages import display_name, render_message

        subject_values = {k: v for k, v in context.items() if k in ("number", "bank")}
        return render_message(
            template, to=formataddr((display_name(who.name), who.email)),
            subject=gettext(subject_key, **subject_values), full_name=who.name, **context,
        )  # fmt: skip


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1].rstrip() + "…"
