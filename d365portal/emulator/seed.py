"""The demo tenant's facts: the user manual's example data, and the ids and names tests rely on.

Only constants live here. `demo_data.build_demo_rows()` builds every row from them (plus enough more
to exercise search, paging and scope), `bench_seed.add_bench_rows()` the benchmark's; both import
this module, never the other way round.
"""

from __future__ import annotations

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
SEED_NAMESPACE = UUID("6f1c2b1e-0d4a-4c1b-9a55-2f4b1d0c9e11")


def seed_id(name: str) -> UUID:
    return uuid5(SEED_NAMESPACE, name)


DEMO_SONIA_ID = seed_id("contact:sonia")
DEMO_SECOND_CONTACT_ID = seed_id("contact:agomez")
DEMO_ASSOCIATES = {
    DEMO_ASSOCIATE_ID: DEMO_ASSOCIATE_NAME,
    seed_id("account:clinica"): "Clínica San Rafael",
    seed_id("account:transvalle"): "Transportes del Valle",
}
DEMO_ACTIVE_ENTITLEMENT_ID = seed_id("entitlement:inovait-2026")
DEMO_EXPIRED_ENTITLEMENT_ID = seed_id("entitlement:inovait-2019")
DEMO_CASES_ENTITLEMENT_ID = seed_id("entitlement:inovait-cases-2025")
DEMO_ASSOCIATE_ENTITLEMENT_ID = seed_id("entitlement:asociado-2026")
OTHER_DRAFT_ENTITLEMENT_ID = seed_id("entitlement:andes-draft")
DEMO_CASE_CREATED = "2019-12-26T16:24:00Z"  # 26/12/2019 11:24 in Bogotá


# --- Rows every tenant has, whatever the seed (issue 13) -----------------------------------------
# The portal's application user (WhoAmI's UserId), named as an application user is in Dataverse.
APPLICATION_USER_ID = UUID("8e2d4c6b-1a3f-ea11-a812-000d3a1b2c3d")
APPLICATION_USER_NAME = "# d365portal"
ORGANIZATION_ID = UUID("1d3c5b7a-9e8f-4d2c-b1a0-0f9e8d7c6b5a")
# Dataverse's defaults: 5 MB (5,120 KB, in bytes; the limit applies to the base64 text of a file) and
# the default Blocked Attachments list of a new environment.
DEFAULT_MAX_UPLOAD_BYTES = 5_242_880
DEFAULT_BLOCKED_ATTACHMENTS = (
    "ade;adp;app;asa;ashx;asmx;asp;bas;bat;cdx;cer;chm;class;cmd;com;config;cpl;crt;csh;dll;exe;fxp;hlp;"
    "hta;htr;htw;ida;idc;idq;inf;ins;isp;its;jar;js;jse;ksh;lnk;mad;maf;mag;mam;maq;mar;mas;mat;mau;"
    "mav;maw;mda;mdb;mde;mdt;mdw;mdz;msc;msh;msh1;msh1xml;msh2;msh2xml;mshxml;msi;msp;mst;ops;pcd;pif;"
    "prf;prg;printer;pst;reg;rem;scf;scr;sct;shb;shs;shtm;shtml;soap;stm;tmp;url;vb;vbe;vbs;vsmacros;"
    "vss;vst;vsw;ws;wsc;wsf;wsh;svg"
)
# The support agents who own and answer cases (systemusers).
DEMO_AGENT_ID = UUID("c41d2e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")
DEMO_AGENT_NAME = "Andrés Castillo"
DEMO_AGENT_EMAIL = "acastillo@soporte.example"
DEMO_SECOND_AGENT_ID = UUID("d52e3f70-8b9c-4dae-9f10-2b3c4d5e6f70")
DEMO_SECOND_AGENT_NAME = "Paula Ríos"

# The manual's case with a conversation: an agent's comment, the customer's reply, a web note with a
# PDF and an internal note (no web prefix) that must never reach a page.
DEMO_AGENT_COMMENT_ID = seed_id("comment:agent-1")
DEMO_AGENT_COMMENT_TEXT = (
    "Hola Lorena, estamos revisando el reporte.\n¿Nos indica desde qué fecha faltan los equipos?"
)
DEMO_CUSTOMER_COMMENT_ID = seed_id("comment:customer-1")
DEMO_CUSTOMER_COMMENT_TEXT = "Faltan desde el 20 de diciembre; son los equipos de la sede norte."
DEMO_WEB_NOTE_ID = seed_id("note:web-1")
DEMO_WEB_NOTE_TEXT = "Guía para reinstalar el agente de Endpoint en los equipos afectados."
DEMO_WEB_NOTE_FILENAME = "guia-endpoint.pdf"
DEMO_INTERNAL_NOTE_ID = seed_id("note:internal-1")
DEMO_INTERNAL_NOTE_TEXT = "Nota interna: licencias vencidas en la sede norte, no comentar al cliente."
WEB_NOTE_PREFIX = "*WEB*"

BENCH_PASSWORD = DEMO_PASSWORD  # noqa: S105 - the bench users' documented password
BENCH_BIG_ACCOUNT_ID = seed_id("bench:account:000")

# Power Pages web roles (issue 15): the three the portal maps to levels, and Power Pages' own default
# role for every signed-in user, which maps to none.
WEB_ROLE_CONTACT = "Contacto"
WEB_ROLE_COMPANY = "Empresa"
WEB_ROLE_COMPANY_ADMIN = "Administrador de la empresa"
WEB_ROLE_AUTHENTICATED = "Authenticated Users"
WEB_ROLE_IDS = {
    WEB_ROLE_CONTACT: seed_id("webrole:contacto"),
    WEB_ROLE_COMPANY: seed_id("webrole:empresa"),
    WEB_ROLE_COMPANY_ADMIN: seed_id("webrole:admin-empresa"),
    WEB_ROLE_AUTHENTICATED: seed_id("webrole:authenticated"),
}
# INOVAIT's colleagues of lmelo (its company admin): one at Contacto level with cases of her own,
# one at Empresa level.
DEMO_CONTACT_LEVEL_ID = seed_id("contact:dparra")
DEMO_CONTACT_LEVEL_NAME = "Diana Parra Ruiz"
DEMO_CONTACT_LEVEL_EMAIL = "dparra@inovait.co"
DEMO_CONTACT_LEVEL_USERNAME = "dparra"
DEMO_CONTACT_LEVEL_CASE_ID = seed_id("case:dparra-1")
DEMO_CONTACT_LEVEL_CASE_NUMBER = "CAS-02410-DPARR1"
DEMO_CONTACT_LEVEL_CASE_TITLE = "Impresora de facturación sin conexión"
DEMO_COMPANY_LEVEL_ID = seed_id("contact:jrojas")
DEMO_COMPANY_LEVEL_NAME = "Julián Rojas Vega"
DEMO_COMPANY_LEVEL_EMAIL = "jrojas@inovait.co"
DEMO_COMPANY_LEVEL_USERNAME = "jrojas"

# The knowledge base (issue 16): the languages and the articles tests name.
KB_LOCALE_ES = seed_id("languagelocale:es-ES")
KB_LOCALE_EN = seed_id("languagelocale:en-US")
KB_VPN_ES_ID = seed_id("kb:vpn-es")
KB_VPN_ES_TITLE = "Cómo conectarse a la VPN corporativa"
KB_VPN_EN_ID = seed_id("kb:vpn-en")
KB_VPN_EN_TITLE = "Connect to the corporate VPN"
KB_INTERNAL_VPN_ID = seed_id("kb:vpn-internal-es")
KB_DRAFT_VPN_ID = seed_id("kb:vpn-draft-es")
KB_DANGEROUS_ID = seed_id("kb:dangerous-es")
