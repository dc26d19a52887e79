"""Bench data added to the emulator's demo seed through its store API.

- `users` portal users ("bench01"…), spread over `accounts` customer accounts (each with two associated
  end customers, ~20 cases and two hour banks: one active, one expired).
- For the scale check: an account with 50 cases and one with 50,000 cases, each with one portal user.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from d365portal.emulator.seed import WEB_ROLE_COMPANY_ADMIN, WEB_ROLE_IDS

BENCH_PASSWORD = "Bench-Load-Password-2026"  # noqa: S105 - seeded into a throwaway emulator only
SMALL_USER = "scale-small"
LARGE_USER = "scale-large"
SMALL_CASES = 50
LARGE_CASES = 50_000

_NS = uuid5(NAMESPACE_URL, "https://d365portal.invalid/bench")
_TITLES = (
    "Impresora no imprime en red",
    "Correo rebota mensajes externos",
    "VPN se desconecta cada hora",
    "Reporte mensual sin datos",
    "Licencia de antivirus vencida",
    "Servidor de archivos lento",
    "Equipo nuevo sin agente de Endpoint",
    "Usuario bloqueado en el directorio",
)
Row = dict[str, Any]


def _id(name: str) -> UUID:
    return uuid5(_NS, name)


def bench_username(index: int) -> str:
    """The username of bench user number `index` (0-based)."""
    return f"bench{index + 1:02d}"


def _password_hash() -> str:
    """The portal's own hash of the bench password (no rehash on sign-in), argon2id otherwise."""
    try:
        from d365portal.identity.passwords import hash_password
    except ImportError:  # the identity module has not landed yet
        from argon2 import PasswordHasher

        return PasswordHasher().hash(BENCH_PASSWORD)
    return hash_password(BENCH_PASSWORD)


def _account(account_id: UUID, name: str, number: str, parent: UUID | None = None) -> Row:
    row: Row = {
        "accountid": account_id,
        "name": name,
        "accountnumber": number,
        "emailaddress1": f"ti@{number.lower()}.example",
        "telephone1": f"+57 1 {number[-4:]}",
        "address1_city": "Bogotá",
    }
    if parent is not None:
        row["parentaccountid@odata.bind"] = f"/accounts({parent})"
    return row


def _contact(contact_id: UUID, username: str, account: UUID, password_hash: str) -> Row:
    return {
        "contactid": contact_id,
        "firstname": "Usuario",
        "lastname": username.capitalize(),
        "emailaddress1": f"{username}@bench.example",
        "parentcustomerid_account@odata.bind": f"/accounts({account})",
        "adx_identity_username": username,
        "adx_identity_passwordhash": password_hash,
        "adx_identity_securitystamp": str(_id("stamp:" + username)),
        "adx_identity_logonenabled": True,
        "adx_identity_lockoutenabled": True,
        "adx_identity_accessfailedcount": 0,
        "adx_identity_emailaddress1confirmed": True,
    }


def _entitlement(key: str, customer: UUID, start: datetime, end: datetime, state: int, status: int) -> Row:
    return {
        "entitlementid": _id(key),
        "name": f"Bolsa de horas {key}",
        "customerid_account@odata.bind": f"/accounts({customer})",
        "startdate": start.strftime("%Y-%m-%dT00:00:00Z"),
        "enddate": end.strftime("%Y-%m-%dT00:00:00Z"),
        "allocationtypecode": 1,
        "decreaseremainingon": 0,
        "restrictcasecreation": False,
        "isdefault": state == 1,
        "totalterms": 40,
        "remainingterms": 25,
        "statecode": state,
        "statuscode": status,
    }


def _cases(
    prefix: str, code: str, count: int, customer: UUID, contact: UUID, entitlement: UUID | None
) -> Iterator[Row]:
    """`count` cases of one account; ticket numbers CAS-nnnnn-<code><3 digits> (code: 3 characters)."""
    rng = random.Random(prefix)  # noqa: S311 - reproducible data, not secrets
    start = datetime(2024, 1, 1, 13, 0, tzinfo=UTC)
    for n in range(count):
        created = (start + timedelta(minutes=37 * n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        row: Row = {
            "incidentid": _id(f"case:{prefix}:{n}"),
            "ticketnumber": f"CAS-{(n % 90000) + 10000:05d}-{code}{n // 90000:03d}",
            "title": f"{rng.choice(_TITLES)} #{n + 1}",
            "description": "Caso sembrado por el benchmark.",
            "customerid_account@odata.bind": f"/accounts({customer})",
            "primarycontactid@odata.bind": f"/contacts({contact})",
            "prioritycode": rng.choice((1, 2, 3)),
            "caseorigincode": 3,
            "casetypecode": 2,
            "createdon": created,
            "modifiedon": created,
        }
        if entitlement is not None:
            row["entitlementid@odata.bind"] = f"/entitlements({entitlement})"
        yield row


def seed_bench_users(store: Any, users: int, accounts: int, cases_per_account: int = 20) -> list[str]:
    """Add `users` portal users over `accounts` accounts (with cases and hour banks); their usernames."""
    password_hash = _password_hash()
    now = datetime.now(UTC)
    rows: dict[str, list[Row]] = {
        "accounts": [], "contacts": [], "entitlements": [], "incidents": [], "adx_webrole_contactset": [],
    }  # fmt: skip
    usernames: list[str] = []
    contacts_of: dict[int, UUID] = {}
    for a in range(accounts):
        account = _id(f"account:{a}")
        rows["accounts"].append(_account(account, f"Cliente Bench {a + 1:02d} S.A.S.", f"BEN{a + 1:04d}"))
        for s in range(2):
            rows["accounts"].append(
                _account(
                    _id(f"associate:{a}:{s}"),
                    f"Asociado Bench {a + 1:02d}-{s + 1}",
                    f"ASO{a + 1:02d}{s + 1:02d}",
                    parent=account,
                )
            )
    for u in range(users):
        a = u % accounts
        contact = _id(f"contact:{u}")
        contacts_of.setdefault(a, contact)
        username = bench_username(u)
        usernames.append(username)
        rows["contacts"].append(_contact(contact, username, _id(f"account:{a}"), password_hash))
        # Every bench user administers their account (a Power Pages web role): the journey walks
        # "Usuarios de la empresa" too.
        rows["adx_webrole_contactset"].append({
            "adx_webrole_contactid": _id(f"admin:{u}"), "contactid": str(contact),
            "adx_webroleid": str(WEB_ROLE_IDS[WEB_ROLE_COMPANY_ADMIN]),
        })  # fmt: skip
    for a in range(accounts):
        account = _id(f"account:{a}")
        active = _entitlement(
            f"bench-{a}-active", account, now - timedelta(days=90), now + timedelta(days=275), 1, 1
        )
        rows["entitlements"].append(active)
        rows["entitlements"].append(
            _entitlement(
                f"bench-{a}-expired", account, now - timedelta(days=800), now - timedelta(days=435), 3, 3
            )
        )
        rows["incidents"].extend(
            _cases(
                f"bench{a}",
                f"B{a:02d}",
                cases_per_account,
                account,
                contacts_of.get(a, _id(f"contact:{a}")),
                active["entitlementid"],
            )
        )
    for entity_set, batch in rows.items():
        store.bulk_insert(entity_set, batch)
    # The conversation phase posts a 5 MB file: its base64 text (7 MB) needs a tenant limit above
    # Dataverse's default 5 MB, set as an admin would (System Settings > Email > attachment size).
    for organization in store.query("organizations"):
        store.update("organizations", organization["organizationid"], {"maxuploadfilesize": 16 * 2**20})
    return usernames


def seed_scale_accounts(store: Any) -> dict[str, int]:
    """Two accounts with one user each: 50 cases and 50,000 cases; {username: number of cases}."""
    password_hash = _password_hash()
    now = datetime.now(UTC)
    sizes = {SMALL_USER: SMALL_CASES, LARGE_USER: LARGE_CASES}
    for username, count in sizes.items():
        account, contact = _id(f"account:{username}"), _id(f"contact:{username}")
        store.bulk_insert("accounts", [_account(account, f"Cuenta {count} casos", f"SCL{count:05d}")])
        store.bulk_insert("contacts", [_contact(contact, username, account, password_hash)])
        entitlement = _entitlement(
            f"{username}-active", account, now - timedelta(days=30), now + timedelta(days=300), 1, 1
        )
        store.bulk_insert("entitlements", [entitlement])
        store.bulk_insert(
            "incidents",
            _cases(username, username[6:9].upper(), count, account, contact, entitlement["entitlementid"]),
        )
    return sizes
