"""Accounts: the customer and its associated end customers (the "Asociado" lookup)."""

from __future__ import annotations

from uuid import UUID

from d365portal.crm import records as r
from d365portal.crm.models import Account, Page
from d365portal.crm.paging import cursor_from_next_link, skiptoken_from_cursor
from d365portal.dataverse import odata
from d365portal.dataverse.client import DataverseClient
from d365portal.dataverse.errors import NotFound
from d365portal.settings import FieldMap

# The lookup dialog's columns (manual: Nombre de cuenta, Correo electrónico, Número de centralita,
# Número de cuenta, Contacto principal, Dirección 1: ciudad).
SEARCH_COLUMNS = ("name", "accountnumber", "emailaddress1", "address1_city")


def account_columns(fieldmap: FieldMap) -> list[str]:
    """The account columns the portal reads."""
    return [
        "accountid", "name", "accountnumber", "emailaddress1", "telephone1", "address1_city",
        "_primarycontactid_value", r.lookup_column(fieldmap.associate_parent_column),
    ]  # fmt: skip


def account_from_row(row: r.Row, fieldmap: FieldMap) -> Account:
    """An `Account` from an account row with annotations."""
    return Account(
        etag=row.get("@odata.etag"),
        id=r.uuid(row, "accountid"),
        name=r.text(row, "name") or "",
        account_number=r.text(row, "accountnumber"),
        email=r.text(row, "emailaddress1"),
        telephone=r.text(row, "telephone1"),
        city=r.text(row, "address1_city"),
        primary_contact=r.lookup(row, "primarycontactid"),
        parent_account=r.lookup(row, fieldmap.associate_parent_column),
    )


class AccountRepository:
    """Reads accounts; every method is one Dataverse request."""

    def __init__(self, client: DataverseClient, fieldmap: FieldMap) -> None:
        self._client = client
        self._fieldmap = fieldmap

    def _is_associate_of(self, account_id: UUID) -> odata.Expr:
        return odata.eq(r.lookup_column(self._fieldmap.associate_parent_column), UUID(str(account_id)))

    def associates_of(
        self, account_id: UUID, *, search: str | None = None, page_size: int = 10, cursor: str | None = None
    ) -> Page[Account]:
        """The account's associated end customers, searched in name / account number / email / city."""
        parts = [self._is_associate_of(account_id)]
        if search and search.strip():
            text = search.strip()
            parts.append(odata.or_(*(odata.contains(column, text) for column in SEARCH_COLUMNS)))
        params: dict[str, str | int] = {
            "$select": odata.select(account_columns(self._fieldmap)),
            "$filter": odata.and_(*parts).text,
            "$orderby": odata.orderby([("name", "asc"), ("accountid", "asc")]),
        }
        skiptoken = skiptoken_from_cursor(cursor)
        if skiptoken:
            params["$skiptoken"] = skiptoken
        rows, next_link = self._client.get_page("accounts", params, page_size=page_size)
        return Page(
            items=tuple(account_from_row(row, self._fieldmap) for row in rows),
            next_cursor=cursor_from_next_link(next_link),
        )

    def get_associate(self, account_id: UUID, associate_id: UUID) -> Account:
        """One associate of the account; `NotFound` when it is not one of its associates."""
        where = odata.and_(odata.eq("accountid", UUID(str(associate_id))), self._is_associate_of(account_id))
        params = {"$select": odata.select(account_columns(self._fieldmap)), "$filter": where.text}
        rows = self._client.get("accounts", params).get("value", [])
        if not rows:
            raise NotFound(f"account {associate_id} is not an associate of {account_id}", status=404)
        return account_from_row(rows[0], self._fieldmap)
