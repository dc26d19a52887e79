"""`d365portal check` step 8: the option labels of every page language can be read from Dataverse's
metadata (RetrieveAvailableLanguages, then the table definitions the label catalogue reads)."""

from __future__ import annotations

from d365portal.admin.check_steps import Context, Step
from d365portal.crm.labels import CHOICES, LANGUAGE_CODES, LabelRepository
from d365portal.dataverse.errors import DataverseError

TITLE = "Option labels can be read in every language the portal shows"
_NAMES = {3082: "Spanish (3082)", 1033: "English (1033)"}


def step_labels(ctx: Context) -> Step:
    """Languages installed, and a label in each for every option the portal shows."""
    assert ctx.client is not None  # noqa: S101 - step 3 built it
    repository = LabelRepository(ctx.client)
    try:
        installed = set(repository.languages())
        labels = repository.load()
    except DataverseError as exc:
        return Step(8, "labels", TITLE, "fail", f"the table definitions could not be read: {exc}",
                    "give the application user's security role read access to table definitions "
                    "(it is part of every role: check that the role is assigned)")  # fmt: skip
    missing = [_NAMES[code] for code in LANGUAGE_CODES.values() if code not in installed]
    if missing:
        detail = f"language not installed in the environment: {', '.join(missing)}"
        return Step(8, "labels", TITLE, "fail", detail,
                    "enable the language in the Power Platform admin center (Settings > Languages); until "
                    "then its pages show the options in the application user's language")  # fmt: skip
    untranslated = sorted(
        f"{entity}.{attribute}={value}"
        for (entity, attribute, value), texts in labels.localized.items()
        if any(code not in texts for code in LANGUAGE_CODES.values())
    )
    if untranslated:
        shown = ", ".join(untranslated[:5]) + (" …" if len(untranslated) > 5 else "")
        return Step(8, "labels", TITLE, "fail", f"options without a label in every language: {shown}",
                    "translate them (Export / Import translations in the solution), or accept that those "
                    "show in the application user's language")  # fmt: skip
    count = len(labels.localized)
    tables = len(CHOICES)
    return Step(
        8, "labels", TITLE, "pass", f"{count} options of {tables} tables in {len(LANGUAGE_CODES)} languages"
    )


TRACKING_TITLE = "Change tracking is on for the tables the notifier follows"


ROLES_TITLE = "The web roles that give the portal's levels exist"


def step_web_roles(ctx: Context) -> Step:
    """10. The three web roles named in the settings exist and are active (else every contact gets the
    default level and no one can administer their company)."""
    from d365portal.crm import role_names
    from d365portal.crm.roles import ROLE_NAME, ROLE_SET
    from d365portal.dataverse import odata

    assert ctx.client is not None and ctx.settings is not None  # noqa: S101 - steps 1 and 3 built them
    names = role_names(ctx.settings)
    try:
        rows = ctx.client.get(ROLE_SET, {
            "$select": ROLE_NAME, "$filter": odata.eq("statecode", 0).text,
        }, annotations=False).get("value", [])  # fmt: skip
    except DataverseError as exc:
        return Step(10, "roles", ROLES_TITLE, "fail", f"adx_webroles: {exc}",
                    "install Power Pages' tables (a Power Pages site) and give the application user Read on "
                    "Web Role")  # fmt: skip
    present = {str(row.get(ROLE_NAME) or "").casefold() for row in rows}
    wanted = {"role_contact": names.contact, "role_company": names.company, "role_company_admin": names.admin}
    missing = [f"{value!r} ({key})" for key, value in wanted.items() if value.casefold() not in present]
    if missing:
        return Step(10, "roles", ROLES_TITLE, "fail", f"no active web role named {', '.join(missing)}",
                    "create the web roles in Power Pages (Set up > Web roles), or set the role_* settings to "
                    "the names your site uses")  # fmt: skip
    return Step(10, "roles", ROLES_TITLE, "pass",
                f"{names.contact}, {names.company}, {names.admin}; default level {names.default.key}")


def step_change_tracking(ctx: Context) -> Step:
    """9. `ChangeTrackingEnabled` on every table `d365portal notify` follows (the notifier reads their
    delta links; without it, Dataverse refuses `Prefer: odata.track-changes`)."""
    from d365portal.dataverse import odata
    from d365portal.notify.events import FOLLOWED

    assert ctx.client is not None  # noqa: S101 - step 3 built it
    off: list[str] = []
    for table in FOLLOWED:
        path = f"EntityDefinitions(LogicalName={odata.literal(table.logical_name)})"
        try:
            item = ctx.client.get(path, {"$select": "ChangeTrackingEnabled"}, annotations=False)
        except DataverseError as exc:
            return Step(9, "tracking", TRACKING_TITLE, "fail", f"{table.logical_name}: {exc}",
                        "give the application user read access to table definitions")  # fmt: skip
        if item.get("ChangeTrackingEnabled") is not True:
            off.append(table.logical_name)
    if off:
        return Step(9, "tracking", TRACKING_TITLE, "fail", f"change tracking is off for: {', '.join(off)}",
                    "switch on Track changes for each (Power Apps > Tables > the table > Properties > "
                    "Advanced options); once on it cannot be switched off")  # fmt: skip
    names = ", ".join(t.logical_name for t in FOLLOWED)
    return Step(9, "tracking", TRACKING_TITLE, "pass", f"on for {names}")
