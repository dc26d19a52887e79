"""The notifier's loop: hold the lease, poll each followed table's delta link, mail, record.

Exactly once, as far as SMTP allows: a mail's key (event and recipient) is written right after the
server accepted it, the event's own key once every recipient has theirs, and a table's delta token
only after every event of its batch. A notifier killed between a mail's acceptance and its key sends
that one mail again on restart; nothing else is sent twice or lost. A token Dataverse no longer
accepts (`ExpiredVersionStamp`) starts a fresh baseline: the changes in between are not mailed, and
the log says so. Dataverse or SMTP failing: the notifier waits (Retry-After, else doubling up to a
minute), says in its log what it waits for, and tries the same batch again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import DataverseError, InvalidQuery, Throttled
from d365portal.mail.senders import MailError
from d365portal.notify.deliver import Deliverer
from d365portal.notify.events import FOLLOWED, STATE_TTL, Detector, Event, Followed

log = logging.getLogger("d365portal.notify")
EXPIRED_VERSION_STAMP = "0x80044352"  # Dataverse: the delta token is too old
LEASE_KEY = "notify:lease"
SWEEP_KEY = "notify:sweep"


class Notifier:
    """One notifier process (several may run: only the lease holder works)."""

    def __init__(self, app: Flask, *, owner: str | None = None, sleep: Any = None) -> None:
        from d365portal.crm import crm
        from d365portal.identity import identity
        from d365portal.mail import mailer

        self.app = app
        self.settings = app.config["SETTINGS"]
        self.client: DataverseClient = crm(app).client
        self.store = identity(app).store
        self.mailer = mailer(app)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop_event = threading.Event()
        self.detector = Detector(
            self.store, self.settings.web_note_prefix, self.settings.notify_low_share,
            self.settings.notify_expiry_days,
        )  # fmt: skip
        self.deliverer = Deliverer(app, self.client, self.store)
        self._sleep = sleep or self.stop_event.wait
        self._backoff = 0.0
        self.mails_sent = 0

    # --- the loop -------------------------------------------------------------------------------
    def run(self) -> None:
        """Poll until stopped (SIGTERM / Ctrl-C set `stop_event`); the lease is given up on the way out."""
        log.info("notifier %s started: polling every %ss", self.owner, self.settings.notify_poll_seconds)
        waiting_for_lease = False
        try:
            while not self.stop_event.is_set():
                if not self.store.hold(LEASE_KEY, self.owner, self.settings.notify_lease_seconds):
                    if not waiting_for_lease:
                        log.info("another notifier holds the lease: waiting to take over")
                        waiting_for_lease = True
                    self._sleep(max(1.0, self.settings.notify_lease_seconds / 3))
                    continue
                if waiting_for_lease:
                    log.info("notifier %s took the lease", self.owner)
                    waiting_for_lease = False
                wait = self.poll_once()
                self._sleep(wait)
        finally:
            if self.store.get(LEASE_KEY) == self.owner:
                self.store.delete(LEASE_KEY)
            log.info("notifier %s stopped", self.owner)

    def poll_once(self) -> float:
        """One pass over every followed table; the seconds to wait before the next pass."""
        try:
            for table in FOLLOWED:
                if self.stop_event.is_set():
                    break
                self.follow(table)
            self.sweep()
        except MailError as exc:
            return self._wait("the mail server", exc, None)
        except DataverseError as exc:
            retry_after = exc.retry_after if isinstance(exc, Throttled) else None
            return self._wait("Dataverse", exc, retry_after)
        self._backoff = 0.0
        return float(self.settings.notify_poll_seconds)

    def _wait(self, what: str, exc: Exception, retry_after: float | None) -> float:
        self._backoff = min(60.0, max(1.0, self._backoff * 2 or 1.0))
        wait = retry_after if retry_after else self._backoff
        log.warning(
            "waiting %.0fs for %s: %s (nothing is lost: the same changes are tried again)", wait, what, exc
        )
        return wait

    # --- one table -------------------------------------------------------------------------------
    def _token_key(self, table: Followed) -> str:
        return f"notify:token:{table.entity_set}"

    def follow(self, table: Followed) -> None:
        """Mail this table's changes since its delta token, then move the token on."""
        link = self.store.get(self._token_key(table))
        if link is None:
            self.baseline(table)
            return
        try:
            rows, _deleted, next_link = self.client.changes(link)
        except InvalidQuery as exc:
            # Expired (ExpiredVersionStamp), or not this environment's (a reseeded emulator, a copied
            # store): either way the only way on is a fresh baseline.
            why = "expired" if exc.code == EXPIRED_VERSION_STAMP else "refused"
            log.warning(
                "Dataverse %s the delta token of %s (%s): starting a fresh baseline; "
                "changes since the last poll are not mailed", why, table.entity_set, exc.message,
            )  # fmt: skip
            self.store.delete(self._token_key(table))
            self.baseline(table)
            return
        for event in self.detector.events(table, rows):
            self.deliver(event)
        self.detector.remember(table, rows)
        self.store.set(self._token_key(table), next_link, STATE_TTL)

    def baseline(self, table: Followed) -> None:
        """Read the table once without mailing: its cases' states and banks' crossed thresholds are
        recorded as seen, and its first delta token kept."""
        rows, _deleted, link = self.client.changes(table.entity_set, {"$select": odata.select(table.select)})
        self.detector.remember(table, rows)
        today = datetime.now(UTC).date()
        if table.entity_set == "entitlements":
            told = {
                f"notify:told:{event.key}": "baseline"
                for row in rows
                for event in self.detector.bank_events(row, today)
            }
            self.store.set_many(told, STATE_TTL)
        self.store.set(self._token_key(table), link, STATE_TTL)
        log.info("baseline of %s: %d rows; following its changes from now on", table.entity_set, len(rows))

    def sweep(self) -> None:
        """Once a day: active hour banks ending within the notice period (time passes without a change)."""
        if self.store.get(SWEEP_KEY) is not None:
            return
        today = datetime.now(UTC).date()
        until = today + timedelta(days=self.settings.notify_expiry_days)
        bank = next(t for t in FOLLOWED if t.entity_set == "entitlements")
        where = odata.and_(odata.eq("statecode", 1), odata.le("enddate", until), odata.ge("enddate", today))
        body = self.client.get("entitlements", {"$select": odata.select(bank.select), "$filter": where.text})
        for row in body.get("value", []):
            for event in self.detector.bank_events(row, today):
                if event.kind == "bank_expiring":
                    self.deliver(event)
        self.store.set(SWEEP_KEY, today.isoformat(), 86400)

    # --- one event -------------------------------------------------------------------------------
    def deliver(self, event: Event) -> None:
        """Mail every recipient of `event` who has not had it; record each as accepted."""
        told = f"notify:told:{event.key}"
        if self.store.get(told) is not None:
            return
        for recipient, message in self.deliverer.messages(event):
            sent = f"notify:sent:{event.key}:{recipient.contact_id}"
            if self.store.get(sent) is not None:
                continue
            self.mailer.send(message)  # raises MailError: the event is tried again later
            self.store.set(sent, "1", STATE_TTL)
            self.mails_sent += 1
        self.store.set(told, "1", STATE_TTL)
