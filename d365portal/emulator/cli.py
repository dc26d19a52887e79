"""`d365portal emulator` (the standalone Web API) and `d365portal demo` (emulator + portal together)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess  # noqa: S404 - demo mode starts its two servers as child processes
import sys
import time
from pathlib import Path

import click
import requests

DEMO_EMULATOR_PORT = 5001
DEMO_PORTAL = "127.0.0.1:5000"


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
def emulator_command(
    host: str, port: int, seed: str, db_path: Path, memory: bool, reset: bool, language: str,
    latency_ms: int, throttle_ratio: float, retry_after: int, unavailable_ratio: float,
    drop_response_ratio: float, require_token: str | None,
) -> None:  # fmt: skip
    """Run the local Dataverse emulator (Web API at /api/data/v9.2/)."""
    from werkzeug.serving import make_server

    from d365portal.emulator import create_emulator_app

    app = create_emulator_app(
        seed=seed, language=language, require_token=require_token,
        db_path=None if memory else db_path, latency_ms=latency_ms, reset=reset,
        throttle_ratio=throttle_ratio, throttle_retry_after=retry_after,
        unavailable_ratio=unavailable_ratio, drop_response_ratio=drop_response_ratio,
    )  # fmt: skip
    server = make_server(host, port, app, threaded=True)
    app.url = f"http://{host}:{server.server_port}"
    where = "memory" if memory else str(db_path)
    click.echo(f"Dataverse emulator on {app.url}/api/data/v9.2/ (seed {seed}, rows in {where})", err=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.store.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _wait_for(url: str, headers: dict[str, str], process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"{url} did not start (exit code {process.returncode})")
        try:
            if requests.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {seconds:.0f} s")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@click.command()
@click.option("--reset", is_flag=True, help="Seed the emulator's data again.")
@click.option("--port", default=5000, show_default=True, type=int, help="Portal port on 127.0.0.1.")
@click.option(
    "--emulator-port",
    default=DEMO_EMULATOR_PORT,
    show_default=True,
    type=int,
    help="Emulator port on 127.0.0.1.",
)
def demo_command(reset: bool, port: int, emulator_port: int) -> None:
    """Run the seeded emulator and the portal (gunicorn) together; Ctrl-C stops both."""
    from d365portal.emulator.seed import DEMO_PASSWORD, DEMO_USERNAME

    # Ctrl-C and SIGTERM both stop the two servers (even if started with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    token = os.environ.get("D365_EMULATOR_TOKEN") or secrets.token_urlsafe(24)
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    portal_url = f"http://127.0.0.1:{port}"
    emulator_args = [
        sys.executable, "-m", "d365portal.emulator", "--host", "127.0.0.1", "--port", str(emulator_port),
        "--seed", "demo", "--db", "var/emulator.sqlite", "--require-token", token,
    ]  # fmt: skip
    if reset:
        emulator_args.append("--reset")
    env = {
        **os.environ,
        "D365_DEMO": "1",
        "D365_DATAVERSE_URL": emulator_url,
        "D365_AUTH": "static",
        "D365_STATIC_TOKEN": token,
    }
    env.pop("D365_EMULATOR_TOKEN", None)
    # The child processes import this very checkout (also when started outside it).
    source_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
    # The production path: `d365portal serve` (gunicorn), sized for a laptop.
    env.update(D365_BIND=f"127.0.0.1:{port}", D365_WORKERS="2", D365_THREADS="4")
    portal_args = [sys.executable, "-m", "d365portal", "serve"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(subprocess.Popen(emulator_args, env=env))  # noqa: S603 - our own interpreter
        _wait_for(
            f"{emulator_url}/api/data/v9.2/WhoAmI", {"Authorization": f"Bearer {token}"}, processes[0], 60
        )
        processes.append(subprocess.Popen(portal_args, env=env))  # noqa: S603 - our own interpreter
        _wait_for(f"{portal_url}/healthz", {}, processes[1], 60)
        click.echo(
            f"\n  Portal:    {portal_url}/\n  Emulator:  {emulator_url}/api/data/v9.2/\n"
            f"  Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}\n"
            f"  Emulator bearer token: {token}\n"
            "  Data persists in var/emulator.sqlite (`d365portal demo --reset` seeds it again).\n"
            "  Ctrl-C stops both.\n"
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        raise click.ClickException("a demo server stopped unexpectedly")
    except KeyboardInterrupt:
        click.echo("\nStopping…")
    finally:
        _stop(processes)
