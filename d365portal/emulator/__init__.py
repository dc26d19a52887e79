"""A local Dataverse Web API (WSGI) for demo mode, tests and benchmarks; never used in production paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from d365portal.emulator.app import EmulatorApp
from d365portal.emulator.metadata import DEMO_METADATA, SeedMetadata


def create_emulator_app(
    seed: str = "demo",
    language: str = "es-ES",
    require_token: str | None = None,
    db_path: str | Path | None = None,
    latency_ms: int = 0,
    reset: bool = False,
    metadata: SeedMetadata = DEMO_METADATA,
    throttle_ratio: float = 0.0,
    throttle_retry_after: int = 2,
    unavailable_ratio: float = 0.0,
    drop_response_ratio: float = 0.0,
    protection: dict[str, Any] | None = None,
) -> EmulatorApp:
    """The emulator as a WSGI app with `.store`, `.faults` and `.stats` (in memory unless `db_path`).

    The fault arguments are the start-up faults; `.faults.clear()` goes back to them. `protection`
    sets Dataverse's service-protection limits (`requests`, `seconds`, `concurrent`, `window`; off by
    default), enforced per bearer token.
    """
    return EmulatorApp(
        seed=seed,
        language=language,
        require_token=require_token,
        db_path=db_path,
        latency_ms=latency_ms,
        reset=reset,
        metadata=metadata,
        throttle_ratio=throttle_ratio,
        throttle_retry_after=throttle_retry_after,
        unavailable_ratio=unavailable_ratio,
        drop_response_ratio=drop_response_ratio,
        protection=protection,
    )


__all__ = ["EmulatorApp", "SeedMetadata", "create_emulator_app"]
