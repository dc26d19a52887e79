"""Portal users on the contact: passwords, policy, lockout, reset tokens, sessions, rate limits.

`init_app()` puts an `Identity` in `app.extensions["identity"]` and installs the server-side session
interface on the shared store. `issue_reset_link()` is what `d365portal users invite` calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Flask, current_app, g

from d365portal.crm import crm
from d365portal.identity.accounts import Accounts
from d365portal.identity.external import Providers
from d365portal.identity.ratelimit import Limit, RateLimiter
from d365portal.identity.sessions import StoreSessionInterface
from d365portal.identity.store import Store, build_store
from d365portal.identity.tokens import ResetTokens, reset_link
from d365portal.identity.twofactor import EmailCodes, RememberedDevices, Sealer, derive_key

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.crm.models import Contact


@dataclass(frozen=True)
class Identity:
    """The identity services of one portal process."""

    store: Store
    sessions: StoreSessionInterface
    limiter: RateLimiter
    tokens: ResetTokens
    accounts: Accounts
    providers: Providers  # sign-in with Entra ID / External ID
    sealer: Sealer  # the second factor sealed on the contact
    email_codes: EmailCodes
    devices: RememberedDevices


def init_app(app: Flask) -> None:
    """Install the session store and the identity services."""
    settings = app.config["SETTINGS"]
    store = build_store(settings.var_dir, settings.redis_url)
    sessions = StoreSessionInterface(
        store,
        idle_seconds=settings.session_idle_minutes * 60,
        absolute_seconds=settings.session_absolute_hours * 3600,
    )
    app.session_interface = sessions
    app.config.update(
        SESSION_COOKIE_NAME="d365_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.demo,
    )
    limiter = RateLimiter(
        store,
        {
            "signin": Limit(settings.signin_rate_per_ip, 5 * 60),
            "forgot": Limit(settings.forgot_rate_per_ip, 15 * 60),
            "reset": Limit(settings.reset_rate_per_ip, 15 * 60),
            "twofactor": Limit(settings.two_factor_rate_per_ip, 5 * 60),
            "twofactor_mail": Limit(settings.two_factor_mail_per_user, 10 * 60),  # per contact
        },
    )
    tokens = ResetTokens(app.config["SECRET_KEY"], store)
    accounts = Accounts(
        crm(app).contacts,
        tokens,
        max_failures=settings.lockout_max_failures,
        lockout=timedelta(minutes=settings.lockout_minutes),
        min_length=settings.password_min_length,
        background_failures=True,
        guesses=store,
        answer_seconds=settings.account_answer_floor_ms / 1000,
    )
    secret_key = str(app.config["SECRET_KEY"])
    key = settings.two_factor_key.get_secret_value().encode() if settings.two_factor_key else None
    app.extensions["identity"] = Identity(
        store, sessions, limiter, tokens, accounts,
        providers=Providers(settings),
        sealer=Sealer(key or derive_key(secret_key)),
        email_codes=EmailCodes(store, secret_key),
        devices=RememberedDevices(secret_key),
    )  # fmt: skip


def identity(app: Flask | None = None) -> Identity:
    """The identity services of `app` (default: the current app)."""
    return (app or current_app).extensions["identity"]  # type: ignore[no-any-return]


def issue_reset_link(contact: Contact, *, lifetime: timedelta, lang: str | None = None) -> str:
    """A set-password link for `contact` on the public base URL, valid for `lifetime` (needs an app
    context). Invitations use `timedelta(days=settings.invite_token_days)`; the link dies once used,
    when it expires, or when the contact's password or security stamp changes."""
    settings = current_app.config["SETTINGS"]
    language = lang or g.get("lang") or settings.default_language
    token = identity().tokens.issue(contact, lifetime)
    return reset_link(str(settings.public_base_url), language, contact.id, token)
