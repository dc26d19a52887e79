"""PLACEHOLDER (issue 3 replaces this file): the Dataverse Web API client."""

from __future__ import annotations

from d365portal.dataverse.auth import TokenProvider


class DataverseClient:
    """The one HTTP client to Dataverse."""

    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 8.0,
        retry_budget: float = 10.0,
        pool_size: int = 16,
    ) -> None:
        self.base_url = base_url
        self.token_provider = token_provider
