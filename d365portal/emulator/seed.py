"""Demo data from the user manual (shared/seed), plus enough more to exercise search, paging and scope.

The constants below are the contract tests rely on; the emulator helper fills in the rest
(`demo_rows()` builds every row; issue 2).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

Row = dict[str, Any]

# The manual's customer and its associated end customer.
DEMO_ACCOUNT_ID = UUID("5b1e6a2c-1f3d-ea11-a812-000d3a1b2c3d")
DEMO_ACCOUNT_NAME = "INOVAIT SAS"
DEMO_ASSOCIATE_ID = UUID("7d2f8b3e-2a4e-ea11-a812-000d3a1b2c3d")
DEMO_ASSOCIATE_NAME = "Nombre ASociado"

# The demo portal user (manual: Lorena Melo Hernandez).
DEMO_CONTACT_ID = UUID("a655cdb9-b66b-f011-b4cb-000d3a88c16c")
DEMO_CONTACT_NAME = "Lorena Melo Hernandez"
DEMO_EMAIL = "lmelo@inovait.co"
DEMO_USERNAME = "lmelo"
DEMO_PASSWORD = "Soporte-Demo-2026"  # noqa: S105 - the documented demo credential

# The manual's open case and hour bank.
DEMO_CASE_ID = UUID("0c7a1f4e-8d2b-ea11-a813-000d3a1b2c3d")
DEMO_CASE_NUMBER = "CAS-01202-B2K8P0"
DEMO_CASE_TITLE = "Arreglo al reporte Equipos sin Endpoint"
DEMO_ENTITLEMENT_ID = UUID("3e9c4d5f-6a7b-ea11-a812-000d3a1b2c3d")

# A second customer with its own user, cases and entitlements: what the demo user must never see.
OTHER_ACCOUNT_ID = UUID("9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d")
OTHER_ACCOUNT_NAME = "Andes Logística S.A.S."
OTHER_ASSOCIATE_ID = UUID("8b7c6d5e-4f3a-4b2c-8d1e-0f1a2b3c4d5e")
OTHER_CONTACT_ID = UUID("1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b")
OTHER_CONTACT_NAME = "Carlos Ramírez Torres"
OTHER_EMAIL = "cramirez@andeslogistica.co"
OTHER_USERNAME = "cramirez"
OTHER_PASSWORD = "Soporte-Demo-2026"  # noqa: S105
OTHER_CASE_ID = UUID("2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d")
OTHER_ENTITLEMENT_ID = UUID("4c5d6e7f-8a9b-4c0d-8e1f-2a3b4c5d6e7f")

# The tenant's custom labels (es-ES) the manual shows.
LABEL_PRIORITY_NORMAL_ES = "Moderado"  # prioritycode 2
LABEL_STATUS_IN_PROGRESS_ES = "En Revisión"  # statuscode 1
LABEL_ENTITLEMENT_WAITING_ES = "En espera"  # entitlement statecode 4 / statuscode 1200
LABEL_ALLOCATION_HOURS_ES = "Número de horas"  # allocationtypecode 1

# --- Everything else the demo shows (built by `demo_rows()`; issue 2) ---------------------------
# Ids derived from fixed names, so the demo data is the same on every machine and every reset.
_NS = UUID("6f1c2b1e-0d4a-4c1b-9a55-2f4b1d0c9e11")


def _id(name: str) -> UUID:
    return uuid5(_NS, name)


DEMO_SONIA_ID = _id("contact:sonia")
DEMO_SECOND_CONTACT_ID = _id("contact:agomez")
DEMO_ASSOCIATES = {
    DEMO_ASSOCIATE_ID: DEMO_ASSOCIATE_NAME,
    _id("account:clinica"): "Clínica San Rafael",
    _id("account:transvalle"): "Transportes del Valle",
}
DEMO_ACTIVE_ENTITLEMENT_ID = _id("entitlement:inovait-2026")
DEMO_EXPIRED_ENTITLEMENT_ID = _id("entitlement:inovait-2019")
DEMO_CASES_ENTITLEMENT_ID = _id("entitlement:inovait-cases-2025")
DEMO_ASSOCIATE_ENTITLEMENT_ID = _id("entitlement:asociado-2026")
OTHER_DRAFT_ENTITLEMENT_ID = _id("entitlement:andes-draft")
DEMO_CASE_CREATED = "2019-12-26T16:24:00Z"  # 26/12/2019 11:24 in Bogotá

_TOPICS = [
    "Error al generar el reporte de inventario",
    "Equipos sin antivirus actualizado",
    "Solicitud de acceso a la consola de administración",
    "Lentitud en la VPN corporativa",
    "Configuración de políticas de Endpoint",
    "Alerta de seguridad en servidor de correo",
    "Actualización de licencias",
    "Falla en la sincronización de usuarios",
    "Consulta sobre el informe mensual",
    "Instalación del agente en equipos nuevos",
    "Restablecer contraseña de administrador",
    "Integración con el directorio activo",
]


@lru_cache(maxsize=4)
def password_hash(password: str) -> str:
    """argon2id of a demo password in argon2-cffi's PHC encoding, computed once per process."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def _contact(contact_id: UUID, first: str, last: str, email: str, parent: UUID, **extra: Any) -> Row:
    return {
        "contactid": contact_id,
        "firstname": first,
        "lastname": last,
        "emailaddress1": email,
        "parentcustomerid_account@odata.bind": f"/accounts({parent})",
        **extra,
    }


def _portal_user(username: str, password: str) -> Row:
    return {
        "adx_identity_username": username,
        "adx_identity_passwordhash": password_hash(password),
        "adx_identity_securitystamp": str(uuid5(_NS, "stamp:" + username)),
        "adx_identity_logonenabled": True,
        "adx_identity_lockoutenabled": True,
        "adx_identity_accessfailedcount": 0,
        "adx_identity_emailaddress1confirmed": True,
    }


def _accounts() -> list[Row]:
    rows: list[Row] = [
        {
            "accountid": DEMO_ACCOUNT_ID,
            "name": DEMO_ACCOUNT_NAME,
            "accountnumber": "INO-001",
            "emailaddress1": "soporte@inovait.co",
            "telephone1": "+57 1 7456000",
            "address1_city": "Bogotá",
        },
        {
            "accountid": OTHER_ACCOUNT_ID,
            "name": OTHER_ACCOUNT_NAME,
            "accountnumber": "AND-001",
            "emailaddress1": "ti@andeslogistica.co",
            "telephone1": "+57 4 4440000",
            "address1_city": "Medellín",
        },
        {
            "accountid": OTHER_ASSOCIATE_ID,
            "name": "Distribuidora Cóndor",
            "accountnumber": "77002",
            "telephone1": "+57 4 3330000",
            "address1_city": "Envigado",
            "parentaccountid@odata.bind": f"/accounts({OTHER_ACCOUNT_ID})",
        },
    ]
    numbers = {DEMO_ASSOCIATE_ID: ("86001", "+57161", "Bogotá")}
    for index, (account_id, name) in enumerate(DEMO_ASSOCIATES.items()):
        number, phone, city = numbers.get(account_id, (f"8600{index + 1}", f"+5716{index}0", "Cali"))
        rows.append(
            {
                "accountid": account_id,
                "name": name,
                "accountnumber": number,
                "telephone1": phone,
                "address1_city": city,
                "parentaccountid@odata.bind": f"/accounts({DEMO_ACCOUNT_ID})",
            }
        )
    return rows


def _contacts() -> list[Row]:
    return [
        _contact(
            DEMO_CONTACT_ID,
            "Lorena",
            "Melo Hernandez",
            DEMO_EMAIL,
            DEMO_ACCOUNT_ID,
            telephone1="+57 300 1234567",
            **_portal_user(DEMO_USERNAME, DEMO_PASSWORD),
        ),
        _contact(DEMO_SONIA_ID, "Sonia", "", "sonia@nombreasociado.co", DEMO_ASSOCIATE_ID),
        _contact(DEMO_SECOND_CONTACT_ID, "Andrés", "Gómez", "agomez@inovait.co", DEMO_ACCOUNT_ID),
        _contact(
            OTHER_CONTACT_ID,
            "Carlos",
            "Ramírez Torres",
            OTHER_EMAIL,
            OTHER_ACCOUNT_ID,
            **_portal_user(OTHER_USERNAME, OTHER_PASSWORD),
        ),
    ]


def _entitlement(entitlement_id: UUID, name: str, customer: UUID, start: str, end: str, **extra: Any) -> Row:
    return {
        "entitlementid": entitlement_id,
        "name": name,
        "customerid_account@odata.bind": f"/accounts({customer})",
        "startdate": f"{start}T00:00:00Z",
        "enddate": f"{end}T00:00:00Z",
        "allocationtypecode": 1,
        "decreaseremainingon": 0,
        "restrictcasecreation": False,
        "isdefault": False,
        "createdon": f"{start}T14:00:00Z",
        **extra,
    }


def _case(
    case_id: UUID, number: str, title: str, customer: UUID, contact: UUID, created: str, **extra: Any
) -> Row:
    return {
        "incidentid": case_id,
        "ticketnumber": number,
        "title": title,
        "description": extra.pop("description", f"{title}. Detalle enviado desde el portal."),
        "customerid_account@odata.bind": f"/accounts({customer})",
        "primarycontactid@odata.bind": f"/contacts({contact})",
        "prioritycode": 2,
        "caseorigincode": 3,
        "casetypecode": 2,
        "createdon": created,
        "modifiedon": created,
        **extra,
    }


def _generated_cases() -> list[Row]:
    """56 more cases of INOVAIT and its associates, spread over 2019-2026, in every state."""
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    associates = list(DEMO_ASSOCIATES)
    start = datetime(2019, 7, 1, 13, 0, tzinfo=UTC)
    rows: list[Row] = []
    for i in range(56):
        created = start + timedelta(days=i * 48 + rng.randint(0, 20), minutes=rng.randint(0, 500))
        pick = i % 5
        customer = DEMO_ACCOUNT_ID if pick < 3 else associates[(i // 5) % len(associates)]
        contact = DEMO_CONTACT_ID if customer == DEMO_ACCOUNT_ID else DEMO_SONIA_ID
        if customer == DEMO_ASSOCIATE_ID:
            contact = DEMO_SONIA_ID
        elif customer != DEMO_ACCOUNT_ID:
            contact = DEMO_SECOND_CONTACT_ID
        roll = rng.random() if created.year < 2026 else rng.random() * 0.7
        if roll < 0.3:
            state, status = 0, rng.choice([1, 2, 3, 4])
        elif roll < 0.85:
            state, status = 1, rng.choice([5, 5, 1000])
        else:
            state, status = 2, 6
        extra: Row = {
            "prioritycode": rng.choice([1, 2, 2, 3]),
            "caseorigincode": rng.choice([1, 2, 3, 3]),
            "casetypecode": rng.choice([1, 2, 3]),
            "statecode": state,
            "statuscode": status,
        }
        if customer == DEMO_ACCOUNT_ID and i % 3 == 0:
            extra["ino_Asociado@odata.bind"] = f"/accounts({associates[i % len(associates)]})"
        entitlement = None
        if created.year == 2026 and customer == DEMO_ACCOUNT_ID:
            entitlement = DEMO_ACTIVE_ENTITLEMENT_ID
        elif created.year >= 2025 and customer == DEMO_ASSOCIATE_ID:
            entitlement = DEMO_ASSOCIATE_ENTITLEMENT_ID
        elif created.year == 2019 and customer == DEMO_ACCOUNT_ID:
            entitlement = DEMO_EXPIRED_ENTITLEMENT_ID
        elif created.year == 2025 and customer == DEMO_ACCOUNT_ID:
            entitlement = DEMO_CASES_ENTITLEMENT_ID
        if entitlement is not None:
            extra["entitlementid@odata.bind"] = f"/entitlements({entitlement})"
            if state == 1:
                billed = rng.choice([30, 60, 90, 120, 180])
                extra["billedserviceunits"] = 150 if entitlement == DEMO_ASSOCIATE_ENTITLEMENT_ID else billed
        number = f"CAS-{1210 + i * 17:05d}-" + "".join(rng.choice(alphabet) for _ in range(6))
        stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        title = _TOPICS[i % len(_TOPICS)]
        rows.append(_case(_id(f"case:{i}"), number, title, customer, contact, stamp, **extra))
    return rows


def _other_cases() -> list[Row]:
    rows = [
        _case(
            OTHER_CASE_ID,
            "CAS-03001-ANDES1",
            "Falla en el rastreo de flota",
            OTHER_ACCOUNT_ID,
            OTHER_CONTACT_ID,
            "2026-03-10T15:00:00Z",
            **{"entitlementid@odata.bind": f"/entitlements({OTHER_ENTITLEMENT_ID})"},
        )
    ]
    titles = [
        "Error en facturación electrónica",
        "Usuarios bloqueados",
        "Impresoras de bodega",
        "Backup fallido",
    ]
    for i, title in enumerate(titles):
        customer = OTHER_ACCOUNT_ID if i % 2 == 0 else OTHER_ASSOCIATE_ID
        rows.append(
            _case(
                _id(f"case:other:{i}"),
                f"CAS-0301{i}-ANDES{i}",
                title,
                customer,
                OTHER_CONTACT_ID,
                f"2026-0{i + 4}-12T16:30:00Z",
                statecode=1 if i == 3 else 0,
                statuscode=5 if i == 3 else 1,
            )
        )
    return rows


def _entitlements(cases: list[Row]) -> list[Row]:
    """Every hour bank, with remaining terms consistent with the resolved cases linked to it."""
    rows = [
        _entitlement(
            DEMO_ENTITLEMENT_ID,
            "Bolsa de horas 2020",
            DEMO_ACCOUNT_ID,
            "2020-02-01",
            "2021-02-01",
            totalterms=25,
            statecode=4,
            statuscode=1200,
        ),
        _entitlement(
            DEMO_ACTIVE_ENTITLEMENT_ID,
            "Bolsa de horas 2026",
            DEMO_ACCOUNT_ID,
            "2026-01-01",
            "2026-12-31",
            totalterms=40,
            statecode=1,
            statuscode=1,
            isdefault=True,
        ),
        _entitlement(
            DEMO_EXPIRED_ENTITLEMENT_ID,
            "Bolsa de horas 2019",
            DEMO_ACCOUNT_ID,
            "2019-01-01",
            "2019-12-31",
            totalterms=20,
            statecode=3,
            statuscode=3,
        ),
        _entitlement(
            DEMO_CASES_ENTITLEMENT_ID,
            "Casos incluidos 2025",
            DEMO_ACCOUNT_ID,
            "2025-01-01",
            "2025-12-31",
            totalterms=12,
            allocationtypecode=0,
            statecode=3,
            statuscode=3,
        ),
        _entitlement(
            DEMO_ASSOCIATE_ENTITLEMENT_ID,
            "Soporte Nombre ASociado 2025-2026",
            DEMO_ASSOCIATE_ID,
            "2025-01-01",
            "2026-12-31",
            totalterms=3,
            statecode=1,
            statuscode=1,
            isdefault=True,
        ),
        _entitlement(
            OTHER_ENTITLEMENT_ID,
            "Bolsa de horas Andes 2026",
            OTHER_ACCOUNT_ID,
            "2026-01-01",
            "2026-12-31",
            totalterms=30,
            statecode=1,
            statuscode=1,
            isdefault=True,
        ),
        _entitlement(
            OTHER_DRAFT_ENTITLEMENT_ID,
            "Bolsa de horas Andes 2027",
            OTHER_ACCOUNT_ID,
            "2027-01-01",
            "2027-12-31",
            totalterms=30,
            statecode=0,
            statuscode=0,
        ),
    ]
    for row in rows:
        bind = f"/entitlements({row['entitlementid']})"
        linked = [c for c in cases if c.get("entitlementid@odata.bind") == bind and c.get("statecode") == 1]
        if row["allocationtypecode"] == 1:
            used = Decimal(sum(int(c.get("billedserviceunits") or 0) for c in linked)) / 60
        else:
            used = Decimal(len(linked))
        row["remainingterms"] = Decimal(row["totalterms"]) - used
    return rows


def demo_rows() -> dict[str, list[Row]]:
    """Every row of the demo tenant, by entity set (the manual's data plus enough to page and scope)."""
    manual_case = _case(
        DEMO_CASE_ID,
        DEMO_CASE_NUMBER,
        DEMO_CASE_TITLE,
        DEMO_ACCOUNT_ID,
        DEMO_CONTACT_ID,
        DEMO_CASE_CREATED,
        description="Los equipos sin Endpoint no aparecen en el reporte semanal.",
        statecode=0,
        statuscode=1,
        prioritycode=2,
    )
    cases = [manual_case, *_generated_cases(), *_other_cases()]
    accounts = _accounts()
    accounts[0]["primarycontactid@odata.bind"] = f"/contacts({DEMO_CONTACT_ID})"
    for account in accounts:
        if account["accountid"] == DEMO_ASSOCIATE_ID:
            account["primarycontactid@odata.bind"] = f"/contacts({DEMO_SONIA_ID})"
        if account["accountid"] == OTHER_ACCOUNT_ID:
            account["primarycontactid@odata.bind"] = f"/contacts({OTHER_CONTACT_ID})"
    return {
        "contacts": _contacts(),
        "accounts": accounts,
        "entitlements": _entitlements(cases),
        "incidents": cases,
    }


BENCH_PASSWORD = DEMO_PASSWORD  # noqa: S105 - the bench users' documented password
BENCH_BIG_ACCOUNT_ID = _id("bench:account:000")
_BENCH_CASE_BASE = _id("bench:cases").int & ~((1 << 32) - 1)  # bench case ids: this + n


def seed_bench(
    store: Any, accounts: int = 10, users: int = 100, big_account_cases: int = 50_000
) -> dict[str, Any]:
    """Add bench data fast: accounts, users bench001… (one password hash), one account with many cases."""
    account_ids = [BENCH_BIG_ACCOUNT_ID] + [_id(f"bench:account:{i:03d}") for i in range(1, accounts)]
    store.bulk_insert(
        "accounts", [{"accountid": a, "name": f"Bench Account {i:03d}"} for i, a in enumerate(account_ids)]
    )
    usernames = [f"bench{i:03d}" for i in range(1, users + 1)]
    store.bulk_insert(
        "contacts",
        [
            _contact(
                _id(f"bench:user:{name}"),
                "Bench",
                f"User {name[5:]}",
                f"{name}@bench.test",
                account_ids[i % len(account_ids)],
                **_portal_user(name, BENCH_PASSWORD),
            )
            for i, name in enumerate(usernames)
        ],
    )
    big_contact = _id(f"bench:user:{usernames[0]}") if users else DEMO_CONTACT_ID
    start = datetime(2020, 1, 1, tzinfo=UTC)
    store.bulk_insert(
        "incidents",
        (
            {
                "incidentid": UUID(int=_BENCH_CASE_BASE + i),
                "title": _TOPICS[i % len(_TOPICS)],
                "customerid_account@odata.bind": f"/accounts({BENCH_BIG_ACCOUNT_ID})",
                "primarycontactid@odata.bind": f"/contacts({big_contact})",
                "prioritycode": 1 + i % 3,
                "caseorigincode": 3,
                "statecode": 0,
                "statuscode": 1,
                "createdon": (start + timedelta(minutes=37 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            for i in range(big_account_cases)
        ),
    )
    return {
        "accounts": account_ids,
        "usernames": usernames,
        "password": BENCH_PASSWORD,
        "big_account_id": BENCH_BIG_ACCOUNT_ID,
    }
