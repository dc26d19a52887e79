"""The steps of `d365portal check` that need no knowledge of the tables: settings, token, WhoAmI,
mail, certificate. Each returns a `Step` saying what passed or failed and, when it failed, the fix."""

from __future__ import annotations

import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import (
    AuthenticationFailed,
    DataverseError,
    PermissionDenied,
    explain_aadsts,
)
from d365portal.settings import Settings, SettingsError, load_settings

Status = Literal["pass", "fail", "skip"]
CERTIFICATE_WARNING_DAYS = 30
SMTP_TIMEOUT = 10.0


@dataclass
class Step:
    """One step's outcome: plain words for what was found and, on failure, what to do."""

    number: int
    name: str
    title: str
    status: Status
    detail: str = ""
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What the steps hand on to each other."""

    settings: Settings | None = None
    client: DataverseClient | None = None
    user_id: str | None = None


def step_settings(ctx: Context) -> Step:
    """1. The settings load and hold what the chosen sign-in method needs."""
    title = "Settings are valid"
    try:
        settings = load_settings()
    except SettingsError as exc:
        fix = "correct that setting in portal.toml or the environment"
        return Step(1, "settings", title, "fail", str(exc), fix)
    missing = _missing_for_auth(settings)
    if settings.secret_key is None and not settings.demo:
        missing.append("secret_key (D365_SECRET_KEY)")
    if missing:
        return Step(1, "settings", title, "fail", f"missing: {', '.join(missing)}",
                    f"set {', '.join(missing)} (auth method: {settings.auth})")
    ctx.settings = settings
    return Step(1, "settings", title, "pass", f"Dataverse {settings.dataverse_url} (auth: {settings.auth})")


def _missing_for_auth(settings: Settings) -> list[str]:
    needed: dict[str, list[str]] = {
        "client_secret": ["tenant_id", "client_id", "client_secret"],
        "certificate": ["tenant_id", "client_id", "certificate_path"],
        "managed_identity": [],
        "static": [],
    }
    names = needed[settings.auth]
    return [f"{name} (D365_{name.upper()})" for name in names if getattr(settings, name) is None]


def step_token(ctx: Context) -> Step:
    """2. The identity provider issues a token (AADSTS refusals explained)."""
    from d365portal.dataverse import build_client

    title = "A token is issued for Dataverse"
    assert ctx.settings is not None  # noqa: S101 - step 1 passed
    try:
        client = build_client(ctx.settings)
        client.token_provider.get_token()
    except SettingsError as exc:
        return Step(2, "token", title, "fail", str(exc), f"set it for D365_AUTH={ctx.settings.auth}")
    except DataverseError as exc:
        code = getattr(exc, "aadsts", None) or _aadsts_in(str(exc))
        detail = f"{code}: {exc}" if code and code not in str(exc) else str(exc)
        fix = explain_aadsts(code) if code else _token_fix(ctx.settings)
        return Step(2, "token", title, "fail", detail, fix)
    except Exception as exc:  # MSAL may fail before answering (bad authority, network): say so plainly
        return Step(2, "token", title, "fail", f"{type(exc).__name__}: {exc}", _token_fix(ctx.settings))
    ctx.client = client
    return Step(2, "token", title, "pass", f"token from {_token_source(ctx.settings)}")


def _aadsts_in(text: str) -> str | None:
    found = re.search(r"AADSTS\d+", text)
    return found.group(0) if found else None


def _token_source(settings: Settings) -> str:
    if settings.auth == "static":
        return "D365_STATIC_TOKEN (emulator)"
    if settings.auth == "managed_identity":
        return "the managed identity"
    return f"{str(settings.authority_host).rstrip('/')}/{settings.tenant_id}"


def _token_fix(settings: Settings) -> str:
    return (
        f"check D365_AUTHORITY_HOST ({settings.authority_host}), D365_TENANT_ID and that this host can "
        "reach the identity provider over HTTPS"
    )


def step_whoami(ctx: Context) -> Step:
    """3. `WhoAmI` answers: the environment knows the application user."""
    title = "Dataverse answers WhoAmI"
    assert ctx.client is not None and ctx.settings is not None  # noqa: S101 - step 2 passed
    try:
        who = ctx.client.whoami()
    except PermissionDenied as exc:
        return Step(3, "whoami", title, "fail", str(exc), explain_aadsts(exc.code or "0x80072560"))
    except AuthenticationFailed as exc:
        return Step(3, "whoami", title, "fail", str(exc),
                    "Dataverse refused the token: D365_DATAVERSE_URL must be the environment the app "
                    "registration was added to (the token's audience is that URL)")
    except DataverseError as exc:
        return Step(3, "whoami", title, "fail", str(exc),
                    f"check D365_DATAVERSE_URL ({ctx.settings.dataverse_url}) and that this host reaches it")
    ctx.user_id = str(who.get("UserId") or "") or None
    return Step(3, "whoami", title, "pass", f"application user {ctx.user_id}", data={"whoami": who})


def step_mail(ctx: Context) -> Step:
    """6. The SMTP server answers (connect, EHLO, STARTTLS, login, NOOP), or the outbox is writable."""
    title = "Mail can be sent"
    assert ctx.settings is not None  # noqa: S101 - step 1 passed
    if ctx.settings.smtp_url is None:
        outbox = ctx.settings.mail_outbox
        try:
            outbox.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=outbox, prefix=".check-", delete=True):
                pass
        except OSError as exc:
            return Step(6, "mail", title, "fail", f"the outbox {outbox} is not writable ({exc.strerror})",
                        "make the directory writable by the portal's user, or set D365_SMTP_URL")
        return Step(6, "mail", title, "pass",
                    f"mail goes to the outbox {outbox} (writable; set D365_SMTP_URL to send by SMTP)")
    return _smtp_answers(ctx.settings.smtp_url.get_secret_value())


def _smtp_answers(url: str) -> Step:
    title = "Mail can be sent"
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        return Step(6, "mail", title, "fail", "D365_SMTP_URL is not an smtp:// or smtps:// URL",
                    "use smtp://user:password@host:587?starttls=1 or smtps://user:password@host:465")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    context = ssl.create_default_context()
    if query.get("verify", ["1"])[0].lower() in ("0", "false", "no"):
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    where = f"{parts.hostname}:{port}"
    stage = "connect"
    try:
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(parts.hostname, port, timeout=SMTP_TIMEOUT, context=context)
            if parts.scheme == "smtps"
            else smtplib.SMTP(parts.hostname, port, timeout=SMTP_TIMEOUT)
        )
        with smtp:
            stage = "EHLO"
            smtp.ehlo()
            if starttls:
                stage = "STARTTLS"
                smtp.starttls(context=context)
                smtp.ehlo()
            if parts.username:
                stage = "login"
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            stage = "NOOP"
            code, _ = smtp.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, b"NOOP refused")
    except (smtplib.SMTPException, OSError) as exc:
        reason = type(exc).__name__
        if isinstance(exc, smtplib.SMTPResponseException):
            reason += f" {exc.smtp_code}"
        return Step(6, "mail", title, "fail", f"SMTP {where} failed at {stage}: {reason}",
                    "check the host, port, TLS mode and credentials in D365_SMTP_URL")
    mode = "SSL" if parts.scheme == "smtps" else ("STARTTLS" if starttls else "plain")
    login = " and accepted the login" if parts.username else ""
    return Step(6, "mail", title, "pass", f"SMTP {where} ({mode}) answered{login}")


def step_certificate(ctx: Context, now: datetime | None = None) -> Step:
    """7. The certificate, when one is used, is not within 30 days of expiry."""
    title = "The certificate is not about to expire"
    settings = ctx.settings
    assert settings is not None  # noqa: S101 - step 1 passed
    if settings.auth != "certificate" or settings.certificate_path is None:
        return Step(7, "certificate", title, "pass", f"no certificate in use (auth: {settings.auth})")
    from d365portal.dataverse.auth import load_certificate_credential

    try:  # read exactly as the token provider reads it
        _, expires = load_certificate_credential(settings)
    except SettingsError as exc:
        return Step(7, "certificate", title, "fail", str(exc),
                    "check D365_CERTIFICATE_PATH (PEM with key and certificate, or .pfx/.p12) and "
                    "D365_CERTIFICATE_PASSWORD")
    if expires is None:
        return Step(7, "certificate", title, "skip",
                    f"{settings.certificate_path} holds the key but no certificate: check its expiry in the "
                    "app registration")
    days = (expires - (now or datetime.now(UTC))).days
    detail = f"expires on {expires:%Y-%m-%d} ({days} days left)"
    if days < CERTIFICATE_WARNING_DAYS:
        return Step(7, "certificate", title, "fail", detail,
                    "create a new certificate, upload its public part to the app registration, then update "
                    "D365_CERTIFICATE_PATH and D365_CERTIFICATE_THUMBPRINT")
    return Step(7, "certificate", title, "pass", detail, data={"expires": expires.isoformat()})
