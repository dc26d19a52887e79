"""`d365portal users …`: give contacts portal access, disable, enable or unlock them, list them.

Portal users are contacts with a portal username (DESIGN.md decision 7). An invitation sets the
username, enables sign-in and emails a link to choose a password: the password-reset mechanism with
the longer `invite_token_days` lifetime.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from flask import Flask, g

from d365portal.admin.common import portal_app, settings_or_exit
from d365portal.crm import crm
from d365portal.crm.models import Contact
from d365portal.dataverse.errors import DataverseError
from d365portal.identity import identity
from d365portal.identity.invitations import grant_access, send_invitation, username_problem

LANGUAGE = click.Choice(["es-ES", "en-US"])


@contextmanager
def command_app(lang: str | None = None) -> Iterator[Flask]:
    """The portal app inside a request context (templates, links), Dataverse failures in one line."""
    settings = settings_or_exit()
    app = portal_app(settings)
    with app.test_request_context(base_url=str(settings.public_base_url)):
        g.lang = lang or settings.default_language
        try:
            yield app
        except DataverseError as exc:
            raise click.ClickException(f"Dataverse: {exc} — run `d365portal check`") from None




def _user(app: Flask, username: str) -> Contact:
    contact = crm(app).contacts.find_by_username(username)
    if contact is None:
        raise click.ClickException(f"no portal user has the username {username!r}")
    return contact


def _has_parent_account(contact: Contact) -> bool:
    parent = contact.parent_account
    return parent is not None and parent.logical_name in (None, "account")


def find_invitee(app: Flask, email: str) -> Contact:
    """The one contact with this address and a parent account, or a clear error."""
    found = crm(app).contacts.find_by_email(email)
    if not found:
        raise click.ClickException(
            f"no contact has the email address {email} — create the contact in Dynamics 365 first"
        )
    if len(found) > 1:
        names = ", ".join(f"{c.full_name} ({c.id})" for c in found)
        raise click.ClickException(
            f"{len(found)} contacts have the email address {email}: {names} — keep one address per contact"
        )
    contact: Contact = found[0]
    if not _has_parent_account(contact):
        raise click.ClickException(
            f"the contact {contact.full_name} has no parent account — set its account (Company Name) in "
            "Dynamics 365: portal users see the cases of their account"
        )
    return contact


def choose_username(app: Flask, contact: Contact, email: str, wanted: str | None) -> str:
    """`--username`, else the part of the address before `@`; refused if another contact has it."""
    username = (wanted or email.split("@", 1)[0]).strip()
    problem = username_problem(contact, username)
    if problem == "format":
        raise click.ClickException(
            f"{username!r} cannot be a username: use letters, digits and . _ - (choose one with --username)"
        )
    if problem == "taken":
        holder = crm(app).contacts.find_by_username(username)
        raise click.ClickException(
            f"the username {username!r} already belongs to "
            f"{holder.full_name if holder else 'another contact'} — choose another with --username"
        )
    return username


@click.group()
def users_group() -> None:
    """Manage portal users (contacts with a portal username)."""


@users_group.command("invite")
@click.option("--email", required=True, help="The contact's email address (emailaddress1).")
@click.option("--username", help="Portal username (default: the part of the address before @).")
@click.option("--language", type=LANGUAGE, help="Email and link language (default: D365_DEFAULT_LANGUAGE).")
def invite(email: str, username: str | None, language: str | None) -> None:
    """Give a contact portal access and email it a link to choose a password."""
    from d365portal.mail import MailError

    with command_app(language) as app:
        contact = find_invitee(app, email.strip())
        username = choose_username(app, contact, email.strip(), username)
        invited = grant_access(contact, username)
        try:
            days = send_invitation(invited, g.lang)
        except MailError as exc:
            raise click.ClickException(
                f"{contact.full_name} can now sign in as {username!r}, but the invitation email was not sent "
                f"({exc}); fix mail (`d365portal check`) and run the invitation again"
            ) from None
        account = contact.parent_account.name if contact.parent_account else ""
        settings = app.config["SETTINGS"]
        ways = ["choose a password"] if settings.local_signin_enabled else []
        ways += [f"sign in with {p.name}" for p in settings.identity_providers]
        click.echo(
            f"Invited {contact.full_name} <{email.strip()}> ({account}) as {username!r}: the link to "
            f"{' or '.join(ways)} was emailed and expires in {days} days."
        )
        if contact.username and contact.username != username:
            click.echo(f"Note: the username was {contact.username!r} until now.")


def _set_flags(username: str, changes: dict[str, object], done: str, end_sessions: bool = False) -> None:
    with command_app() as app:
        contact = _user(app, username)
        crm(app).contacts.update_identity(contact.id, changes)
        if "lockout_end" in changes:  # unlocked: the portal's own count of guesses starts again
            identity(app).accounts.forget_guesses(contact)
        if end_sessions:
            identity(app).sessions.end_user_sessions(str(contact.id))
        click.echo(f"{contact.full_name} ({username}) {done}.")


@users_group.command("disable")
@click.option("--username", required=True)
def disable(username: str) -> None:
    """Stop a user from signing in (and end their open sessions)."""
    _set_flags(username, {"logon_enabled": False}, "can no longer sign in", end_sessions=True)


@users_group.command("enable")
@click.option("--username", required=True)
def enable(username: str) -> None:
    """Let a disabled user sign in again."""
    _set_flags(username, {"logon_enabled": True}, "can sign in again")


@users_group.command("unlock")
@click.option("--username", required=True)
def unlock(username: str) -> None:
    """End a lockout after too many failed sign-ins."""
    _set_flags(username, {"access_failed_count": 0, "lockout_end": None}, "is unlocked")


@users_group.command("reset-2fa")
@click.option("--username", required=True)
def reset_2fa(username: str) -> None:
    """Remove a user's second factor (lost phone): the authenticator app and recovery codes go, Power
    Pages' flag is cleared, remembered devices are forgotten. Their password stays."""
    from d365portal.identity.twofactor import reset_second_factor

    with command_app() as app:
        contact = _user(app, username)
        reset_second_factor(contact.id)
        click.echo(f"{contact.full_name} ({username}): two-step verification removed; they sign in with "
                   "their password and can set it up again.")  # fmt: skip


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def user_rows(contacts: list[Contact], now: datetime | None = None) -> list[tuple[str, ...]]:
    """Username, name, account, locked, sign-in enabled, last sign-in — one row per portal user."""
    now = now or datetime.now(UTC)
    rows: list[tuple[str, ...]] = []
    for c in sorted(contacts, key=lambda c: (c.username or "").lower()):
        locked = c.lockout_end is not None and c.lockout_end.astimezone(UTC) > now
        rows.append((
            c.username or "",
            c.full_name,
            c.parent_account.name or "" if c.parent_account else "",
            f"until {_when(c.lockout_end)}" if locked else "no",
            "yes" if c.logon_enabled else "no",
            _when(c.last_successful_login),
        ))  # fmt: skip
    return rows


@users_group.command("list")
def list_users() -> None:
    """List portal users: username, name, account, locked, sign-in enabled, last sign-in."""
    with command_app() as app:
        rows = user_rows(crm(app).contacts.list_portal_users())
    header = ("USERNAME", "NAME", "ACCOUNT", "LOCKED", "ENABLED", "LAST SIGN-IN")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    click.echo(f"{len(rows)} portal user(s).")
