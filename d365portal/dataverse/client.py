"""The Dataverse Web API client: every call the portal makes goes through `DataverseClient._request()`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.cookiejar import Cookie, DefaultCookiePolicy
from typing import IO, Any
from urllib.parse import urlsplit
from uuid import UUID

import requests
from requests.adapters import HTTPAdapter

from d365portal.dataverse import odata
from d365portal.dataverse.auth import TokenProvider
from d365portal.dataverse.context import budget, current_request_id, metrics
from d365portal.dataverse.errors import DataverseError, InvalidQuery, Throttled, Unavailable
from d365portal.dataverse.retry import run_with_retries
from d365portal.dataverse.wire import (  # noqa: F401 - re-exported for callers of the client module
    ANNOTATIONS,
    entity_id,
    error_from_response,
    json_body,
    prefer,
    prefer_header,
    redact_headers,
    retry_after_seconds,
    unavailable,
    url_path,
)

log = logging.getLogger("d365portal.dataverse")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


AFFINITY_COOKIES = frozenset({"ARRAffinity", "ARRAffinitySameSite"})


class NoAffinityCookie(DefaultCookiePolicy):
    """Refuses Dataverse's affinity cookies, so each request may reach another web server."""

    def set_ok(self, cookie: Cookie, request: Any) -> bool:
        """Every cookie but the affinity ones, as the default policy decides."""
        return cookie.name not in AFFINITY_COOKIES and super().set_ok(cookie, request)


@dataclass(frozen=True)
class _Stream:
    """A request body that is an open file of encoded JSON."""

    file: IO[bytes]


class DataverseClient:
    """The one HTTP client to Dataverse: pooled, timed out, retried within a budget, typed errors."""

    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 8.0,
        retry_budget: float = 10.0,
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
        affinity_cookie: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.token_provider = token_provider
        self.timeout = (connect_timeout, read_timeout)
        self.retry_budget = retry_budget
        self.sleep = sleep
        self.session = requests.Session()
        if not affinity_cookie:
            self.session.cookies.set_policy(NoAffinityCookie())
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._origin = urlsplit(self.base_url)[:2]

    # --- the choke point --------------------------------------------------------------------

    def _url(self, path_or_url: str, params: Mapping[str, str | int] | None) -> str:
        if path_or_url.startswith(("http://", "https://")):
            if urlsplit(path_or_url)[:2] != self._origin:  # never send the token to another host
                raise InvalidQuery("refusing a link to another host than the Dataverse environment")
            url = path_or_url
        else:
            url = self.base_url + path_or_url.lstrip("/")
        if params:
            url += ("&" if "?" in url else "?") + odata.encode_query(params)
        return url

    def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        data: IO[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_safe: bool | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one logical request (retried only when transient and safe); typed error if it fails."""
        method = method.upper()
        url = self._url(path_or_url, params)
        idempotent = method in IDEMPOTENT_METHODS if retry_safe is None else retry_safe
        base_headers = {
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            "x-ms-client-request-id": current_request_id(),
        }
        if json is not None or data is not None:
            base_headers["Content-Type"] = "application/json; charset=utf-8"
        base_headers.update(headers or {})
        attempts = {"n": 0}
        deadline = time.monotonic() + self.retry_budget

        def attempt() -> requests.Response:
            attempts["n"] += 1
            timeout = self.timeout
            if attempts["n"] > 1:  # a retry may only use what is left of the budget (connect and read)
                left = max(0.5, deadline - time.monotonic())
                timeout = (min(self.timeout[0], left), min(self.timeout[1], left))
            if data is not None:
                data.seek(0)  # a retry sends the whole body again
            body = json if data is None else _Stream(data)
            return self._send(
                method, url, base_headers, body, retry=attempts["n"] > 1, timeout=timeout, stream=stream
            )

        def may_retry(error: DataverseError) -> bool:
            # A non-idempotent call is retried only when Dataverse surely did not run it.
            return idempotent or isinstance(error, Throttled) or error.not_sent

        def on_retry(error: DataverseError, wait: float) -> None:
            log.warning("dataverse retry %s %s after %s; waiting %.2fs", method, url_path(url), error, wait)

        return run_with_retries(
            attempt, budget=self.retry_budget, may_retry=may_retry, sleep=self.sleep, on_retry=on_retry
        )

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        *,
        retry: bool,
        timeout: tuple[float, float],
        stream: bool = False,
    ) -> requests.Response:
        """One attempt; a 401 refreshes the token and tries once more."""
        response = self._send_raw(
            method, url, headers, body, force_refresh=False, retry=retry, timeout=timeout, stream=stream
        )
        if response.status_code == 401:
            log.info("dataverse 401 on %s %s: refreshing the token once", method, url_path(url))
            response.close()
            response = self._send_raw(
                method, url, headers, body, force_refresh=True, retry=True, timeout=timeout, stream=stream
            )
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    def _send_raw(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        *,
        force_refresh: bool,
        retry: bool,
        timeout: tuple[float, float],
        stream: bool = False,
    ) -> requests.Response:
        try:
            token = self.token_provider.get_token(force_refresh=force_refresh)
        except Unavailable as exc:
            exc.not_sent = True  # Dataverse never saw this attempt
            raise
        all_headers = {**headers, "Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        budget.spend()
        try:
            if isinstance(body, _Stream):  # pre-encoded JSON, streamed (a comment's files)
                body.file.seek(0)
                response = self.session.request(
                    method, url, headers=all_headers, data=body.file, timeout=timeout
                )
            else:
                response = self.session.request(
                    method, url, headers=all_headers, json=body, timeout=timeout, stream=stream
                )
        except requests.exceptions.ConnectTimeout as exc:
            self._record(started, retry)
            raise unavailable("Dataverse did not accept the connection in time", url, not_sent=True) from exc
        except requests.exceptions.Timeout as exc:
            self._record(started, retry)
            raise unavailable("Dataverse did not answer in time", url) from exc
        except requests.exceptions.ConnectionError as exc:
            self._record(started, retry)
            raise unavailable("could not reach Dataverse", url) from exc
        elapsed = self._record(started, retry)
        budget.observe(response.headers, response.status_code, retry_after_seconds(response.headers))
        log.debug(
            "dataverse %s %s -> %s in %.0f ms headers=%s",
            method,
            url_path(url),
            response.status_code,
            elapsed,
            redact_headers(all_headers),
        )
        return response

    @staticmethod
    def _record(started: float, retry: bool) -> float:
        elapsed = (time.perf_counter() - started) * 1000
        metrics.current().record(elapsed, retry=retry)
        return elapsed

    # --- helpers ------------------------------------------------------------------------------

    def get(
        self, path_or_url: str, params: Mapping[str, str | int] | None = None, *, annotations: bool = True
    ) -> dict[str, Any]:
        """GET a record, a collection or a function; the JSON body."""
        headers = prefer_header(prefer(annotations=annotations))
        if params and "$expand" in params:
            # "Queries which expand collection-valued navigation properties might return cached data":
            # Microsoft's Join tables page asks for If-None-Match: null (a reply seconds old matters).
            headers["If-None-Match"] = "null"
        response = self._request("GET", path_or_url, params=params, headers=headers)
        return json_body(response)

    def get_page(
        self,
        path_or_url: str,
        params: Mapping[str, str | int] | None = None,
        *,
        page_size: int,
        annotations: bool = True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a collection: its rows and the `@odata.nextLink` (None on the last page)."""
        headers = {"Prefer": prefer(annotations=annotations, page_size=page_size)}
        if params and "$expand" in params:
            headers["If-None-Match"] = "null"  # as in get(): expanded collections fresh, not cached
        body = json_body(self._request("GET", path_or_url, params=params, headers=headers))
        return list(body.get("value", [])), body.get("@odata.nextLink")

    def get_bytes(
        self, path_or_url: str, params: Mapping[str, str | int] | None = None, *, annotations: bool = True
    ) -> bytearray:
        """GET a JSON body as bytes, read a piece at a time into one buffer (a note with a large file:
        never the whole text twice, as `response.content` and a decoded `str` would hold it)."""
        headers = prefer_header(prefer(annotations=annotations))
        response = self._request("GET", path_or_url, params=params, headers=headers, stream=True)
        try:
            buffer = bytearray()
            for piece in response.iter_content(1 << 16):
                buffer.extend(piece)
            return buffer
        except requests.exceptions.RequestException as exc:
            raise unavailable("the answer was cut off", path_or_url) from exc
        finally:
            response.close()

    def changes(
        self, path_or_url: str, params: Mapping[str, str | int] | None = None, *, page_size: int = 5000
    ) -> tuple[list[dict[str, Any]], list[str], str]:
        """Change tracking (`Prefer: odata.track-changes`): every page of an initial read or of a delta
        link, as (rows created or changed, ids deleted, the next delta link). One request per page."""
        headers = {"Prefer": prefer(annotations=True, page_size=page_size, track_changes=True)}
        rows: list[dict[str, Any]] = []
        deleted: list[str] = []
        link: str | None = path_or_url
        while link:
            body = json_body(self._request("GET", link, params=params, headers=headers))
            params = None  # next links carry the query
            for entry in body.get("value", []):
                if str(entry.get("@odata.context", "")).endswith("/$deletedEntity"):
                    deleted.append(str(entry.get("id")))
                else:
                    rows.append(entry)
            if body.get("@odata.deltaLink"):
                return rows, deleted, str(body["@odata.deltaLink"])
            link = body.get("@odata.nextLink")
        raise InvalidQuery("Dataverse answered a change-tracking read without a delta link")

    def iterate(
        self,
        path_or_url: str,
        params: Mapping[str, str | int] | None = None,
        *,
        page_size: int = 500,
        annotations: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every row of a collection, one page request at a time, following `@odata.nextLink`."""
        rows, link = self.get_page(path_or_url, params, page_size=page_size, annotations=annotations)
        yield from rows
        while link:
            rows, link = self.get_page(link, page_size=page_size, annotations=annotations)
            yield from rows

    def create(self, entity_set: str, body: Mapping[str, Any]) -> UUID:
        """POST a new record (not retried unless surely unsent); its id from `OData-EntityId`."""
        response = self._request("POST", odata.entity_path(entity_set), json=dict(body))
        return entity_id(response)

    def create_from_stream(self, entity_set: str, body: IO[bytes]) -> UUID:
        """POST a record whose JSON is already encoded in `body` (a deep insert with files): streamed,
        never copied whole into memory; not retried unless surely unsent."""
        response = self._request("POST", odata.entity_path(entity_set), data=body)
        return entity_id(response)

    def upsert(
        self,
        entity_set: str,
        record_id: UUID,
        body: Mapping[str, Any],
        *,
        create_only: bool = False,
        etag: str | None = None,
        representation: bool = False,
        params: Mapping[str, str | int] | None = None,
    ) -> dict[str, Any] | None:
        """PATCH a record: `create_only` adds If-None-Match: * (412 → Conflict), `etag` adds If-Match."""
        headers: dict[str, str] = {}
        if create_only:
            headers["If-None-Match"] = "*"
        if etag is not None:
            headers["If-Match"] = etag
        if representation:
            headers["Prefer"] = prefer(representation=True)
        response = self._request(
            "PATCH", odata.entity_path(entity_set, record_id), json=dict(body), headers=headers, params=params
        )
        return json_body(response) if response.status_code in (200, 201) and response.content else None

    def update(
        self, entity_set: str, record_id: UUID, body: Mapping[str, Any], *, etag: str | None = None
    ) -> None:
        """PATCH an existing record (If-Match: its etag, or * so a missing one is NotFound, not created)."""
        self.upsert(entity_set, record_id, body, etag=etag or "*")

    def delete(self, entity_set: str, record_id: UUID, *, etag: str | None = None) -> None:
        """DELETE a record."""
        headers = {"If-Match": etag} if etag else None
        self._request("DELETE", odata.entity_path(entity_set, record_id), headers=headers)

    def associate(
        self, entity_set: str, record_id: UUID, navigation: str, other_set: str, other_id: UUID
    ) -> None:
        """Link two rows through an N:N relationship: `POST <set>(<id>)/<nav>/$ref` (Web API
        "Associate and disassociate table rows"). Safe to retry: an association
        that exists already is Dataverse's 0x80040237 (a `DataverseError`)."""
        path = f"{odata.entity_path(entity_set, record_id)}/{odata.identifier(navigation)}/$ref"
        other = self.base_url + odata.entity_path(other_set, other_id)
        self._request("POST", path, json={"@odata.id": other}, retry_safe=True)

    def disassociate(self, entity_set: str, record_id: UUID, navigation: str, other_id: UUID) -> None:
        """Remove an N:N link: `DELETE <set>(<id>)/<nav>(<other id>)/$ref` (safe to repeat)."""
        link = f"{odata.identifier(navigation)}({odata.guid(other_id)})"
        path = f"{odata.entity_path(entity_set, record_id)}/{link}/$ref"
        self._request("DELETE", path)

    def call_function(self, name: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """An unbound function (GET), e.g. WhoAmI."""
        return self.get(odata.identifier(name), params, annotations=False)

    def call_action(
        self, name: str, body: Mapping[str, Any], *, retry_safe: bool = False
    ) -> dict[str, Any] | None:
        """An unbound action (POST), e.g. CloseIncident; its JSON answer, None on 204."""
        response = self._request("POST", odata.identifier(name), json=dict(body), retry_safe=retry_safe)
        return json_body(response) if response.content else None

    def call_bound_action(
        self, entity_set: str, record_id: UUID, name: str, body: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """An action bound to one row: `POST <set>(<id>)/Microsoft.Dynamics.CRM.<name>`."""
        path = f"{odata.entity_path(entity_set, record_id)}/Microsoft.Dynamics.CRM.{odata.identifier(name)}"
        response = self._request("POST", path, json=dict(body), retry_safe=False)
        return json_body(response) if response.content else None

    def whoami(self) -> dict[str, Any]:
        """`WhoAmI`: the application user's ids (a cheap check that credentials and access work)."""
        return self.call_function("WhoAmI")

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()
