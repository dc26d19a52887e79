"""The demo tenant's rows: the manual's records, a second customer, and enough more to page and scope."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_ACCOUNT_NAME,
    DEMO_ACTIVE_ENTITLEMENT_ID,
    DEMO_ASSOCIATE_ENTITLEMENT_ID,
    DEMO_ASSOCIATE_ID,
    DEMO_ASSOCIATES,
    DEMO_CASE_CREATED,
    DEMO_CASE_ID,
    DEMO_CASE_NUMBER,
    DEMO_CASE_TITLE,
    DEMO_CASES_ENTITLEMENT_ID,
    DEMO_COMPANY_LEVEL_EMAIL,
    DEMO_COMPANY_LEVEL_ID,
    DEMO_COMPANY_LEVEL_USERNAME,
    DEMO_CONTACT_ID,
    DEMO_CONTACT_LEVEL_CASE_ID,
    DEMO_CONTACT_LEVEL_CASE_NUMBER,
    DEMO_CONTACT_LEVEL_CASE_TITLE,
    DEMO_CONTACT_LEVEL_EMAIL,
    DEMO_CONTACT_LEVEL_ID,
    DEMO_CONTACT_LEVEL_USERNAME,
    DEMO_EMAIL,
    DEMO_ENTITLEMENT_ID,
    DEMO_EXPIRED_ENTITLEMENT_ID,
    DEMO_PASSWORD,
    DEMO_SECOND_CONTACT_ID,
    DEMO_SONIA_ID,
    DEMO_USERNAME,
    OTHER_ACCOUNT_ID,
    OTHER_ACCOUNT_NAME,
    OTHER_ASSOCIATE_ID,
    OTHER_CASE_ID,
    OTHER_CONTACT_ID,
    OTHER_DRAFT_ENTITLEMENT_ID,
    OTHER_EMAIL,
    OTHER_ENTITLEMENT_ID,
    OTHER_PASSWORD,
    OTHER_USERNAME,
    SEED_NAMESPACE,
    WEB_ROLE_AUTHENTICATED,
    WEB_ROLE_COMPANY,
    WEB_ROLE_COMPANY_ADMIN,
    WEB_ROLE_CONTACT,
    WEB_ROLE_IDS,
    Row,
    seed_id,
)

TOPICS = [
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
def cached_password_hash(password: str) -> str:
    """argon2id of a demo password, as the portal itself stores it (PHC encoding, the portal's
    cost parameters, so a sign-in does not rehash it), computed once per process."""
    from d365portal.identity.passwords import hash_password

    return hash_password(password)


def contact_row(contact_id: UUID, first: str, last: str, email: str, parent: UUID, **extra: Any) -> Row:
    return {
        "contactid": contact_id,
        "firstname": first,
        "lastname": last,
        "emailaddress1": email,
        "parentcustomerid_account@odata.bind": f"/accounts({parent})",
        **extra,
    }


def portal_user(username: str, password: str) -> Row:
    return {
        "adx_identity_username": username,
        "adx_identity_passwordhash": cached_password_hash(password),
        "adx_identity_securitystamp": str(uuid5(SEED_NAMESPACE, "stamp:" + username)),
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
        contact_row(
            DEMO_CONTACT_ID,
            "Lorena",
            "Melo Hernandez",
            DEMO_EMAIL,
            DEMO_ACCOUNT_ID,
            telephone1="+57 300 1234567",
            **portal_user(DEMO_USERNAME, DEMO_PASSWORD),
        ),
        contact_row(DEMO_SONIA_ID, "Sonia", "", "sonia@nombreasociado.co", DEMO_ASSOCIATE_ID),
        contact_row(DEMO_SECOND_CONTACT_ID, "Andrés", "Gómez", "agomez@inovait.co", DEMO_ACCOUNT_ID),
        contact_row(
            DEMO_CONTACT_LEVEL_ID,
            "Diana",
            "Parra Ruiz",
            DEMO_CONTACT_LEVEL_EMAIL,
            DEMO_ACCOUNT_ID,
            **portal_user(DEMO_CONTACT_LEVEL_USERNAME, DEMO_PASSWORD),
        ),
        contact_row(
            DEMO_COMPANY_LEVEL_ID,
            "Julián",
            "Rojas Vega",
            DEMO_COMPANY_LEVEL_EMAIL,
            DEMO_ACCOUNT_ID,
            **portal_user(DEMO_COMPANY_LEVEL_USERNAME, DEMO_PASSWORD),
        ),
        contact_row(
            OTHER_CONTACT_ID,
            "Carlos",
            "Ramírez Torres",
            OTHER_EMAIL,
            OTHER_ACCOUNT_ID,
            **portal_user(OTHER_USERNAME, OTHER_PASSWORD),
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
        title = TOPICS[i % len(TOPICS)]
        rows.append(_case(seed_id(f"case:{i}"), number, title, customer, contact, stamp, **extra))
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
                seed_id(f"case:other:{i}"),
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


def build_demo_rows() -> dict[str, list[Row]]:
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
    from d365portal.emulator.knowledge_data import deflection_rows

    recent = deflection_rows(datetime.now(UTC))
    cases = [manual_case, *_colleague_cases(), *_generated_cases(), *_other_cases(), *recent["incidents"]]
    accounts = _accounts()
    accounts[0]["primarycontactid@odata.bind"] = f"/contacts({DEMO_CONTACT_ID})"
    for account in accounts:
        if account["accountid"] == DEMO_ASSOCIATE_ID:
            account["primarycontactid@odata.bind"] = f"/contacts({DEMO_SONIA_ID})"
        if account["accountid"] == OTHER_ACCOUNT_ID:
            account["primarycontactid@odata.bind"] = f"/contacts({OTHER_CONTACT_ID})"
    from d365portal.emulator.conversation_data import conversation_rows
    from d365portal.emulator.knowledge_data import knowledge_rows

    return {
        "contacts": _contacts(),
        "accounts": accounts,
        "entitlements": _entitlements(cases),
        "incidents": cases,
        "adx_webrole_contactset": web_role_links(),
        **conversation_rows(),
        **knowledge_rows(),
        "adx_casedeflections": recent["adx_casedeflections"],
    }


def _colleague_cases() -> list[Row]:
    """Diana Parra's own cases (she is at Contacto level: these are all she sees)."""
    return [
        _case(
            DEMO_CONTACT_LEVEL_CASE_ID, DEMO_CONTACT_LEVEL_CASE_NUMBER, DEMO_CONTACT_LEVEL_CASE_TITLE,
            DEMO_ACCOUNT_ID, DEMO_CONTACT_LEVEL_ID, "2026-10-05T14:10:00Z", statecode=0, statuscode=1,
        ),
        _case(
            seed_id("case:dparra-2"), "CAS-02388-DPARR2", "Cambio de contraseña del correo corporativo",
            DEMO_ACCOUNT_ID, DEMO_CONTACT_LEVEL_ID, "2026-08-19T15:30:00Z", statecode=1, statuscode=5,
        ),
    ]  # fmt: skip


def web_role_links() -> list[Row]:
    """Who holds which web role: lmelo administers INOVAIT, Diana is at Contacto, Julián at Empresa,
    Carlos administers Andes; every portal user also has Power Pages' Authenticated Users role."""
    holders = [
        (DEMO_CONTACT_ID, WEB_ROLE_COMPANY_ADMIN), (DEMO_CONTACT_LEVEL_ID, WEB_ROLE_CONTACT),
        (DEMO_COMPANY_LEVEL_ID, WEB_ROLE_COMPANY), (OTHER_CONTACT_ID, WEB_ROLE_COMPANY_ADMIN),
    ]  # fmt: skip
    holders += [(contact, WEB_ROLE_AUTHENTICATED) for contact, _ in list(holders)]
    return [
        {
            "adx_webrole_contactid": uuid5(SEED_NAMESPACE, f"webrole-link:{contact}:{role}"),
            "adx_webroleid": str(WEB_ROLE_IDS[role]),
            "contactid": str(contact),
        }
        for contact, role in holders
    ]
