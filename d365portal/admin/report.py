"""`d365portal report deflection`: which knowledge articles kept customers from opening a case.

Reads Power Pages' `adx_casedeflection` rows of the last N days (an article opened from the
new-case form's suggestions, with the title being typed) and the cases opened on the portal in the
same days: for each article, how many times it was opened from the form and how many of those
customers opened a case with that title anyway (afterwards, same contact, same title).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from d365portal.admin.users import command_app
from d365portal.crm import crm


def _key(contact: object, title: object) -> tuple[str, str]:
    return str(contact or ""), str(title or "").strip().casefold()


def deflection_rows(
    deflections: list[dict[str, Any]], cases: list[dict[str, Any]]
) -> list[tuple[str, int, int]]:
    """(article, times opened from the form, cases opened anyway), most opened first."""
    opened_cases: dict[tuple[str, str], list[str]] = defaultdict(list)
    for case in cases:
        key = _key(case.get("_primarycontactid_value"), case.get("title"))
        opened_cases[key].append(str(case.get("createdon") or ""))
    figures: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in deflections:
        article = str(row.get("adx_name") or row.get("_adx_knowledgearticle_value") or "?")
        figures[article][0] += 1
        key = _key(row.get("_adx_contact_value"), row.get("adx_casetitle"))
        when = str(row.get("createdon") or "")
        if any(created >= when for created in opened_cases.get(key, [])):
            figures[article][1] += 1
    return sorted(((a, n, c) for a, (n, c) in figures.items()), key=lambda t: (-t[1], t[0]))


@click.group()
def report_group() -> None:
    """Reports from the portal's records in Dataverse."""


@report_group.command("deflection")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 365))
def deflection(days: int) -> None:
    """Articles opened from "Abrir un caso nuevo", and the cases opened anyway, over the last days."""
    since = datetime.now(UTC) - timedelta(days=days)
    with command_app() as app:
        knowledge = crm(app).knowledge
        rows = deflection_rows(knowledge.deflections_since(since), knowledge.web_cases_since(since))
    click.echo(f"Case deflection, last {days} days (since {since:%Y-%m-%d}):")
    if not rows:
        click.echo("  no article was opened from the new-case form.")
        return
    width = max(len("ARTICLE"), *(len(a) for a, _n, _c in rows))
    click.echo(f"  {'ARTICLE':<{width}}  OPENED  CASES ANYWAY  DEFLECTED")
    for article, opened, anyway in rows:
        click.echo(f"  {article:<{width}}  {opened:>6}  {anyway:>12}  {opened - anyway:>9}")
    total, anyway_total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    click.echo(f"  {'total':<{width}}  {total:>6}  {anyway_total:>12}  {total - anyway_total:>9}")
