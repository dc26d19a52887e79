"""Who is signed in: the `Principal` kept in the session, and the guard for signed-in pages.

The principal holds what is stable for the session (contact, account, names), so a page view
spends its one Dataverse request on the page's own data (DESIGN.md decision 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from uuid import UUID

from flask import g, redirect, request, session, url_for

from d365portal.crm.models import Level, Scope

SESSION_KEY = "principal"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """The signed-in portal user."""

    contact_id: UUID
    account_id: UUID
    account_name: str
    full_name: str
    username: str
    email: str | None = None
    level: int = int(Level.COMPANY)  # sessions from before roles: what every user saw then
    rights_checked_at: float = 0.0  # when Dataverse last confirmed the level (time.time())
    provider: str | None = None  # the identity provider signed in with (None: Usuario + Contraseña)

    @property
    def rights(self) -> Level:
        """The user's level in their company."""
        return Level(self.level)

    def scope(self, *, mine: bool = False, contact_hour_banks: bool = False) -> Scope:
        """What this user may see: the account and its associates' cases at Empresa level and above,
        their own cases at Contacto level or with `mine` ("Mis casos")."""
        return Scope(self.contact_id, self.account_id, self.rights, mine, contact_hour_banks)

    def to_session(self) -> dict[str, str | None]:
        """A JSON-safe dict for the session store."""
        data = asdict(self)
        data["contact_id"] = str(self.contact_id)
        data["account_id"] = str(self.account_id)
        return data

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> Principal:
        """Rebuild from `to_session()` output."""
        return cls(**{**data, "contact_id": UUID(data["contact_id"]), "account_id": UUID(data["account_id"])})


def current_principal() -> Principal | None:
    """The signed-in user of this request, or None."""
    if "principal" not in g:
        data = session.get(SESSION_KEY)
        g.principal = Principal.from_session(data) if data else None
    return cast(Principal | None, g.principal)


def signed_in() -> Principal:
    """The signed-in user, for views behind `login_required` (a view without it is a bug)."""
    user = current_principal()
    if user is None:
        raise LookupError("no signed-in user: the view lacks @login_required")
    return user


def login_required(view: F) -> F:
    """Send anonymous visitors to the sign-in page, coming back here afterwards."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_principal() is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapped)
