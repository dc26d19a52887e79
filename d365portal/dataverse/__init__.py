"""The one HTTP client to Dataverse: tokens, the `_request()` choke point, OData building, paging."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from d365portal.dataverse.client import DataverseClient
    from d365portal.settings import Settings


def build_client(settings: Settings) -> DataverseClient:
    """The client for these settings, with the token provider `settings.auth` names."""
    from d365portal.dataverse.auth import build_token_provider
    from d365portal.dataverse.client import DataverseClient

    return DataverseClient(
        settings.web_api_url,
        build_token_provider(settings),
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        retry_budget=settings.retry_budget_seconds,
        pool_size=max(settings.http_pool_size, settings.threads),
        affinity_cookie=settings.dataverse_affinity_cookie,
    )
