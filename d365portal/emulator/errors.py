"""Every error the emulator answers, with Dataverse's own HTTP status, code and message wording."""

from __future__ import annotations

import json
from typing import Any


class EmulatorError(Exception):
    """An error response: `{"error": {"code", "message"}}` with Dataverse's status and code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> bytes:
        """The JSON body Dataverse sends."""
        payload: dict[str, Any] = {"error": {"code": self.code, "message": self.message}}
        return json.dumps(payload).encode()


def _type(logical_name: str) -> str:
    return f"Microsoft.Dynamics.CRM.{logical_name}"


def unknown_property(name: str, logical_name: str) -> EmulatorError:
    """400 0x80060888: a $select/$filter/$orderby/$expand names a property the type lacks."""
    return EmulatorError(
        400, "0x80060888", f"Could not find a property named '{name}' on type '{_type(logical_name)}'."
    )


def query_syntax(message: str) -> EmulatorError:
    """400 0x80060888: the query string does not parse (Dataverse reports OData parser errors so)."""
    return EmulatorError(400, "0x80060888", message)


def skip_not_supported() -> EmulatorError:
    """400 0x80060888: Dataverse has no $skip (paging is by $skiptoken only)."""
    return EmulatorError(400, "0x80060888", "The query parameter $skip is not supported")


def unknown_segment(segment: str) -> EmulatorError:
    """404 0x8006088a: an unknown entity set, function or path segment."""
    return EmulatorError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")


def record_not_found(logical_name: str, record_id: str) -> EmulatorError:
    """404 0x80040217: no row with that id."""
    return EmulatorError(404, "0x80040217", f"{logical_name} With Id = {record_id} Does Not Exist")


def duplicate_record() -> EmulatorError:
    """412 0x80040237: create of a row that already exists (If-None-Match: * on an existing row)."""
    return EmulatorError(412, "0x80040237", "A record with matching key values already exists.")


def version_mismatch() -> EmulatorError:
    """412 0x80060882: If-Match carries an ETag older than the row's."""
    return EmulatorError(
        412,
        "0x80060882",
        "The version of the existing record doesn't match the RowVersion property provided.",
    )


def payload_error(entity_set: str, detail: str) -> EmulatorError:
    """400 0x80048d19: the request body does not deserialize (bad JSON, wrong type, unknown property)."""
    return EmulatorError(
        400,
        "0x80048d19",
        f"Error identified in Payload provided by the user for Entity :'{entity_set}', For more "
        "information on this error please follow this help link "
        "https://go.microsoft.com/fwlink/?linkid=2195293  ----> "
        f"InnerException : Microsoft.OData.ODataException: {detail}",
    )


def option_out_of_range(column: str, logical_name: str, value: Any, accepted: list[int]) -> EmulatorError:
    """400 0x8004431A: a choice value outside the option set."""
    values = ",".join(str(v) for v in accepted)
    return EmulatorError(
        400,
        "0x8004431A",
        f"A validation error occurred. The value {value} of '{column}' on record of type "
        f"'{logical_name}' is outside the valid range. Accepted Values: {values}",
    )


def too_long(column: str, logical_name: str, max_length: int) -> EmulatorError:
    """400 0x80044331: a string longer than the column's maximum length."""
    return EmulatorError(
        400,
        "0x80044331",
        f"A validation error occurred. The length of the '{column}' attribute of the '{logical_name}' "
        f"entity exceeded the maximum allowed length of '{max_length}'.",
    )


def invalid_argument(message: str) -> EmulatorError:
    """400 0x80040203: a business rule of the platform refused the request."""
    return EmulatorError(400, "0x80040203", message)


def missing_customer() -> EmulatorError:
    """400 0x80040203: a case without customer."""
    return invalid_argument("You should specify a parent contact or account.")


def required_missing(column: str, logical_name: str) -> EmulatorError:
    """400 0x80040203: a required column left empty."""
    return invalid_argument(f"Attribute '{column}' cannot be NULL for entity '{logical_name}'.")


def not_implemented(what: str) -> EmulatorError:
    """501: something Dataverse supports but this emulator does not (never silently approximated)."""
    return EmulatorError(501, "0x80060000", f"The Dataverse emulator does not support {what}.")


def method_not_allowed(method: str, segment: str) -> EmulatorError:
    """405: the HTTP method is not allowed on this resource."""
    return EmulatorError(
        405, "0x80060888", f"The request method '{method}' is not allowed on the resource '{segment}'."
    )


def throttled(retry_after: int) -> EmulatorError:
    """429 0x80072322: service protection, number of requests."""
    return EmulatorError(
        429,
        "0x80072322",
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
        {"Retry-After": str(retry_after)},
    )


def unavailable() -> EmulatorError:
    """503: the service is temporarily unavailable."""
    return EmulatorError(503, "0x80040216", "The service is temporarily unavailable. Please try again later.")


def unauthorized() -> EmulatorError:
    """401 with WWW-Authenticate: no bearer token, or not the one required."""
    return EmulatorError(
        401,
        "",
        "",
        {
            "WWW-Authenticate": "Bearer authorization_uri=https://login.microsoftonline.com/"
            "00000000-0000-0000-0000-000000000000/oauth2/authorize, "
            "resource_id=https://emulator.crm.dynamics.com/"
        },
    )
