"""Vigencia Soporte: the hour banks (entitlements) of the user's account and its associates.

The list is one Dataverse request, the detail one more (the entitlement with its charged cases).
Dates are date-only values shown as given; hours come from Dataverse, never computed from cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template

from d365portal.crm import crm
from d365portal.crm.models import AllocationType, Entitlement
from d365portal.web.access import rights_checked, user_scope
from d365portal.web.auth_context import login_required
from d365portal.web.budget import spends_dataverse

bp = Blueprint("hours", __name__, url_prefix="/<lang>/vigencia-soporte")

LOW_SHARE = Decimal("0.2")  # warn when fewer than 20 % of the hours remain
EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class Usage:
    """What the detail page shows about a bank's consumption."""

    total: Decimal
    used: Decimal
    remaining: Decimal
    low: bool  # fewer than 20 % left
    empty: bool  # nothing left (remaining can go negative)
    days_left: int | None  # days until the end date when it is within the warning window

    @property
    def meter_value(self) -> Decimal:
        """Used hours clamped to the bar's range."""
        return max(Decimal(0), min(self.used, self.total))

    @property
    def low_mark(self) -> Decimal:
        """Half the bank used: the bar's "low" region ends here."""
        return self.total / 2

    @property
    def high_mark(self) -> Decimal:
        """80 % used: past here the bar shows the warning colour."""
        return self.total * (1 - LOW_SHARE)


def portal_today() -> date:
    """Today in the portal's time zone (the end date is a calendar day there)."""
    return datetime.now(ZoneInfo(current_app.config["SETTINGS"].timezone)).date()


def usage_of(entitlement: Entitlement, today: date) -> Usage:
    """Totals, the low-balance flag and the days to expiry of one bank."""
    total = entitlement.total_terms or Decimal(0)
    remaining = entitlement.remaining_terms if entitlement.remaining_terms is not None else total
    used = entitlement.used_terms if entitlement.used_terms is not None else total - remaining
    days_left = None
    if entitlement.end_date is not None:
        delta = (entitlement.end_date - today).days
        if 0 <= delta <= EXPIRY_WARNING_DAYS:
            days_left = delta
    return Usage(
        total=total,
        used=used,
        remaining=remaining,
        low=total > 0 and remaining < total * LOW_SHARE,
        empty=remaining <= 0,
        days_left=days_left,
    )


@bp.get("/")
@login_required
@spends_dataverse("page")
@rights_checked
def index() -> str:
    """Every hour bank in scope, state ↑ (the repository's order); 404 for a level without them."""
    scope = user_scope()
    if not scope.hour_banks:
        abort(404)
    entitlements = crm().entitlements.list_for(scope)
    return render_template("hours/index.html", entitlements=entitlements)


@bp.get("/<uuid:entitlement_id>")
@login_required
@spends_dataverse("page")
@rights_checked
def detail(entitlement_id: UUID) -> str:
    """One hour bank with its usage and the cases charged to it; 404 outside the user's scope."""
    entitlement = crm().entitlements.get_for(user_scope(), entitlement_id)
    return render_template(
        "hours/detail.html",
        entitlement=entitlement,
        usage=usage_of(entitlement, portal_today()),
        in_hours=entitlement.allocation_type.value == AllocationType.NUMBER_OF_HOURS,
    )
