"""`d365portal demo`: the seeded emulator and the portal (gunicorn) together; Ctrl-C stops both.

The portal runs through `d365portal serve`, the production path, against the emulator over HTTP.
Stopping is `Children.stop()`'s job: any number of Ctrl-C or SIGTERM leaves no process behind.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path

import click
import requests

from d365portal.admin.children import Child, Children

DEMO_EMULATOR_PORT = 5001
DEMO_PORTAL_PORT = 5000


def _wait_for(url: str, headers: dict[str, str], child: Child, seconds: float) -> None:
    """Poll `url` until it answers 200; fail when the child exits or the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not child.alive():
            raise click.ClickException(f"{child.name} did not start (exit code {child.process.returncode})")
        try:
            if requests.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {seconds:.0f} s")


def demo_environment(token: str, emulator_url: str, portal_url: str, port: int) -> dict[str, str]:
    """The portal's settings in demo mode: the emulator, its token, the port links in mail point to."""
    env = {
        **os.environ,
        "D365_DEMO": "1",
        "D365_DATAVERSE_URL": emulator_url,
        "D365_AUTH": "static",
        "D365_STATIC_TOKEN": token,
        # Reset and invitation links in mail lead to this portal, whatever --port says.
        "D365_PUBLIC_BASE_URL": portal_url,
        # The production path: `d365portal serve` (gunicorn), sized for a laptop.
        "D365_BIND": f"127.0.0.1:{port}",
        "D365_WORKERS": "2",
        "D365_THREADS": "4",
    }
    env.pop("D365_EMULATOR_TOKEN", None)
    # The child processes import the same d365portal as this process (also a checkout's).
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


@click.command()
@click.option("--reset", is_flag=True, help="Seed the emulator's data again.")
@click.option(
    "--port", default=DEMO_PORTAL_PORT, show_default=True, type=int, help="Portal port on 127.0.0.1."
)
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

    token = os.environ.get("D365_EMULATOR_TOKEN") or secrets.token_urlsafe(24)
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    portal_url = f"http://127.0.0.1:{port}"
    emulator_args = [
        sys.executable, "-m", "d365portal.emulator", "--host", "127.0.0.1", "--port", str(emulator_port),
        "--seed", "demo", "--db", "var/emulator.sqlite", "--require-token", token,
    ]  # fmt: skip
    if reset:
        emulator_args.append("--reset")
    env = demo_environment(token, emulator_url, portal_url, port)
    children = Children()
    children.install_signal_handlers()
    try:
        emulator = children.start("the emulator", emulator_args, env, hurry_signal=signal.SIGKILL)
        _wait_for(f"{emulator_url}/api/data/v9.2/WhoAmI", {"Authorization": f"Bearer {token}"}, emulator, 60)
        portal = children.start("the portal", [sys.executable, "-m", "d365portal", "serve"], env)
        _wait_for(f"{portal_url}/healthz", {}, portal, 60)
        # Mail when an agent answers or a case changes, into var/outbox/ (demo mode).
        children.start("the notifier", [sys.executable, "-m", "d365portal", "notify"], env)
        click.echo(
            f"\n  Portal:    {portal_url}/\n  Emulator:  {emulator_url}/api/data/v9.2/\n"
            f"  Sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}\n"
            f"  Emulator bearer token: {token}\n"
            "  Data persists in var/emulator.sqlite (`d365portal demo --reset` seeds it again).\n"
            "  The notifier writes its mails to var/outbox/.\n"
            "  Ctrl-C stops everything.\n"
        )
        while all(child.alive() for child in children.children):
            time.sleep(0.5)
        raise click.ClickException("a demo server stopped unexpectedly")
    except KeyboardInterrupt:
        click.echo("\nStopping…", err=True)
    finally:
        children.stop()
