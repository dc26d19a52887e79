"""PLACEHOLDER (issue 3 replaces this file): token providers."""

from __future__ import annotations

from typing import Protocol

from d365portal.settings import Settings


class TokenProvider(Protocol):
    """Gives a bearer token for Dataverse."""

    def get_token(self, *, force_refresh: bool = False) -> str:
        """A valid access token."""
        ...


class StaticTokenProvider:
    """A fixed token (the emulator)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *, force_refresh: bool = False) -> str:
        """The configured token."""
        return self._token


def build_token_provider(settings: Settings) -> TokenProvider:
    """The provider `settings.auth` names."""
    return StaticTokenProvider(settings.static_token.get_secret_value())
