"""Server-side sessions on the shared store: the cookie holds only a random id.

- `rotate()` gives the session a new id (sign-in, password change): a copied old cookie is dead.
- `end()` deletes it (sign-out).
- Idle timeout = the record's TTL, refreshed at most once a minute; absolute timeout from `_created`.
- Each signed-in session is listed in a per-contact set, so a password change or reset ends the
  user's other sessions without any Dataverse call on ordinary page views.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from d365portal.identity.store import Store

_TOUCH_EVERY = 60  # seconds between idle-timeout refreshes of an unchanged session


def _session_key(sid: str) -> str:
    return f"session:{sid}"


def _user_key(contact_id: str) -> str:
    return f"user-sessions:{contact_id}"


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """A session whose data lives in the store under its id."""

    def __init__(
        self, initial: dict[str, Any] | None = None, sid: str | None = None, new: bool = True
    ) -> None:
        def on_update(session: ServerSession) -> None:
            session.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.new = new
        self.modified = False
        # (old id, its contact) pairs to delete when the response is saved.
        self.rotated_from: list[tuple[str, str | None]] = []
        self.ended = False

    def rotate(self) -> None:
        """Give this session a new id at the end of the request (the old id stops working)."""
        if self.sid and not self.new:
            self.rotated_from.append((self.sid, _contact_of(self)))
        self.sid = None
        self.modified = True

    def end(self) -> None:
        """Forget everything and delete the session at the end of the request."""
        self.rotate()
        self.clear()
        self.ended = True


class StoreSessionInterface(SessionInterface):
    """Flask sessions kept in the shared store (SQLite file or Redis)."""

    def __init__(self, store: Store, idle_seconds: int, absolute_seconds: int) -> None:
        self.store = store
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        """Load the session named by the cookie; a missing, expired or too old one starts empty."""
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid and len(sid) <= 64:
            raw = self.store.get(_session_key(sid))
            if raw is not None:
                data = json.loads(raw)
                if time.time() - data.get("_created", 0) <= self.absolute_seconds:
                    return ServerSession(data, sid=sid, new=False)
                self.store.delete(_session_key(sid))
        return ServerSession()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the session (new id when rotated), refresh its idle timeout, set or clear the cookie."""
        assert isinstance(session, ServerSession)  # noqa: S101 - open_session only makes these
        name = self.get_cookie_name(app)
        for old, contact_id in session.rotated_from:
            self._forget(old, contact_id)
        session.rotated_from.clear()
        if session.ended or (not session and not session.new and session.modified):
            if session.sid:
                self._forget(session.sid, _contact_of(session))
            response.delete_cookie(
                name, domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                secure=self.get_cookie_secure(app), httponly=True, samesite=self.get_cookie_samesite(app),
            )
            return
        if not session:
            return  # nothing worth a record (e.g. a static file fetched without a session)
        now = time.time()
        session.setdefault("_created", now)
        if session.sid is None:
            session.sid = secrets.token_urlsafe(32)
        elif not session.modified and now - session.get("_seen", 0) < _TOUCH_EVERY:
            return
        dict.__setitem__(session, "_seen", now)
        self.store.set(_session_key(session.sid), json.dumps(dict(session)), self.idle_seconds)
        contact_id = _contact_of(session)
        if contact_id:
            self.store.sadd(_user_key(contact_id), session.sid, self.absolute_seconds)
        response.set_cookie(
            name,
            session.sid,
            max_age=None,  # a browser-session cookie; the store enforces both timeouts
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            httponly=True,
            samesite=self.get_cookie_samesite(app),
        )
        response.vary.add("Cookie")

    def _forget(self, sid: str, contact_id: str | None) -> None:
        self.store.delete(_session_key(sid))
        if contact_id:
            self.store.srem(_user_key(contact_id), sid)

    def end_user_sessions(self, contact_id: str, keep: str | None = None) -> int:
        """Delete every session of a contact except `keep`; how many were ended."""
        key = _user_key(contact_id)
        ended = 0
        for sid in self.store.smembers(key):
            if sid != keep:
                self.store.delete(_session_key(sid))
                self.store.srem(key, sid)
                ended += 1
        return ended


    def update_user_sessions(self, contact_id: str, changes: dict[str, Any]) -> int:
        """Rewrite the principal of every session of a contact (a company admin changed their level):
        their next page view uses the new values without a Dataverse read. How many were changed."""
        key = _user_key(contact_id)
        changed = 0
        for sid in self.store.smembers(key):
            raw = self.store.get(_session_key(sid))
            if raw is None:
                self.store.srem(key, sid)
                continue
            data = json.loads(raw)
            principal = data.get("principal")
            if isinstance(principal, dict):
                principal.update(changes)
                self.store.set(_session_key(sid), json.dumps(data), self.idle_seconds)
                changed += 1
        return changed


def _contact_of(session: dict[str, Any]) -> str | None:
    principal = session.get("principal")
    if isinstance(principal, dict):
        return str(principal.get("contact_id") or "") or None
    return None
