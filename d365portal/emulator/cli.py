"""`d365portal emulator`: the standalone Dataverse Web API emulator."""

from __future__ import annotations

import signal
from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5001, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--seed",
    type=click.Choice(["demo", "empty"]),
    default="demo",
    show_default=True,
    help="Data loaded into a new (or --reset) store: the manual's demo tenant, or nothing.",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("var/emulator.sqlite"),
    show_default=True,
    help="SQLite file the rows persist in.",
)
@click.option("--memory", is_flag=True, help="Keep rows in memory only (nothing persists).")
@click.option("--reset", is_flag=True, help="Drop the stored rows and seed again.")
@click.option(
    "--language",
    type=click.Choice(["es-ES", "en-US"]),
    default="es-ES",
    show_default=True,
    help="Language of formatted values (option labels, dates, numbers).",
)
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Added latency per request.")
@click.option(
    "--throttle-ratio", type=click.FloatRange(0, 1), default=0.0, help="Share of requests answered 429."
)
@click.option(
    "--retry-after",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Retry-After seconds on a 429.",
)
@click.option("--unavailable-ratio", type=click.FloatRange(0, 1), default=0.0, help="Share answered 503.")
@click.option(
    "--drop-response-ratio",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of writes committed whose response is then dropped.",
)
@click.option(
    "--require-token",
    envvar="D365_EMULATOR_TOKEN",
    default=None,
    help="Accept only this bearer token (also D365_EMULATOR_TOKEN; default: any non-empty token).",
)
@click.option("--limit-requests", type=click.IntRange(min=1), help="Service protection: requests per window.")
@click.option("--limit-seconds", type=click.FloatRange(min=0.001), help="… execution seconds per window.")
@click.option("--limit-concurrent", type=click.IntRange(min=1), help="… concurrent requests.")
@click.option("--limit-window", type=click.FloatRange(min=1), default=300.0, show_default=True,
              help="The sliding window of those limits, in seconds.")  # fmt: skip
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Serve HTTPS with this certificate (PEM); needs --tls-key. Microsoft's SDK talks only HTTPS.",
)
@click.option(
    "--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Its key (PEM)."
)
def emulator_command(
    host: str, port: int, seed: str, db_path: Path, memory: bool, reset: bool, language: str,
    latency_ms: int, throttle_ratio: float, retry_after: int, unavailable_ratio: float,
    drop_response_ratio: float, require_token: str | None, limit_requests: int | None,
    limit_seconds: float | None, limit_concurrent: int | None, limit_window: float,
    tls_cert: Path | None, tls_key: Path | None,
) -> None:  # fmt: skip
    """Run the local Dataverse emulator (Web API at /api/data/v9.2/)."""
    from d365portal.emulator import create_emulator_app
    from d365portal.serving import loopback_server

    app = create_emulator_app(
        seed=seed, language=language, require_token=require_token,
        db_path=None if memory else db_path, latency_ms=latency_ms, reset=reset,
        throttle_ratio=throttle_ratio, throttle_retry_after=retry_after,
        unavailable_ratio=unavailable_ratio, drop_response_ratio=drop_response_ratio,
        protection={"requests": limit_requests, "seconds": limit_seconds, "concurrent": limit_concurrent,
                    "window": limit_window},
    )  # fmt: skip
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    tls = (str(tls_cert), str(tls_key)) if tls_cert and tls_key else None
    server = loopback_server(host, port, app, tls)
    app.url = f"{'https' if tls else 'http'}://{host}:{server.server_port}"
    where = "memory" if memory else str(db_path)
    click.echo(f"Dataverse emulator on {app.url}/api/data/v9.2/ (seed {seed}, rows in {where})", err=True)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.store.close()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the server like Ctrl-C, once: a repeated signal must not break the clean close."""
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, signal.SIG_IGN)
    raise KeyboardInterrupt


