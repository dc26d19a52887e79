"""The system under test: the emulator process and the portal under gunicorn, wired together."""

from __future__ import annotations

import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import idp, protection
from bench.processes import Child, free_port, python_argv


@dataclass
class StackOptions:
    """How to start the pair."""

    out_dir: Path
    latency_ms: int
    workers: int
    threads: int
    users: int
    accounts: int
    scale: bool = False
    identity_provider: idp.FakeIdentityProvider | None = None  # None: a static token
    redis_url: str | None = None  # None: the embedded session store (SQLite under var/)


class Stack:
    """An emulator subprocess and a gunicorn portal pointing at it; `stop()` ends both."""

    def __init__(self, name: str, options: StackOptions) -> None:
        self.name = name
        self.options = options
        self.emulator: Child | None = None
        self.portal: Child | None = None
        self.emulator_url = ""
        self.portal_url = ""

    def start(self) -> Stack:
        """Start the emulator, wait for it, then the portal, and wait for it."""
        opts = self.options
        log_dir = opts.out_dir / "logs"
        emulator_port, portal_port = free_port(), free_port()
        self.emulator_url = f"http://127.0.0.1:{emulator_port}"
        self.portal_url = f"http://127.0.0.1:{portal_port}"
        argv = python_argv(
            "-m",
            "bench.emulator_server",
            "--port",
            str(emulator_port),
            "--latency-ms",
            str(opts.latency_ms),
            "--token",
            idp.ACCESS_TOKEN,
            "--users",
            str(opts.users),
            "--accounts",
            str(opts.accounts),
        )
        if opts.scale:
            argv.append("--scale")
        self.emulator = Child(f"{self.name} emulator", argv, log_dir / f"{self.name}-emulator.log")
        self.emulator.wait_http(f"{self.emulator_url}/_emulator/stats", timeout=300)

        var_dir = opts.out_dir / f"{self.name}-portal-var"
        shutil.rmtree(var_dir, ignore_errors=True)
        env = {
            "D365_DATAVERSE_URL": self.emulator_url,
            "D365_DEMO": "1",
            "D365_SECRET_KEY": secrets.token_urlsafe(48),
            "D365_VAR_DIR": str(var_dir),
            "D365_PUBLIC_BASE_URL": self.portal_url,
            "D365_BIND": f"127.0.0.1:{portal_port}",
            "D365_WORKERS": str(opts.workers),
            "D365_THREADS": str(opts.threads),
            # Every simulated customer signs in from 127.0.0.1: the per-IP limit would stop the run.
            "D365_SIGNIN_RATE_PER_IP": "1000000",
            # Simulated customers click far faster than people do: the per-contact limit (tested on
            # its own) would measure itself instead of the portal.
            "D365_CONTACT_BURST": "1000000",
            # The service-protection run's emulator limits, so the portal sheds against them.
            "D365_DATAVERSE_REQUESTS_PER_WINDOW": str(protection.REQUESTS_PER_WINDOW),
        }
        if opts.redis_url:
            env["D365_REDIS_URL"] = opts.redis_url
        if opts.identity_provider is not None:
            env.update(
                D365_AUTH="client_secret",
                D365_TENANT_ID=idp.TENANT,
                D365_CLIENT_ID=idp.CLIENT_ID,
                D365_CLIENT_SECRET=idp.CLIENT_SECRET,
                D365_AUTHORITY_HOST=opts.identity_provider.url,
                REQUESTS_CA_BUNDLE=str(opts.identity_provider.cert_path),
            )
        else:
            env.update(D365_AUTH="static", D365_STATIC_TOKEN=idp.ACCESS_TOKEN)
        # The production path: `d365portal serve` (gunicorn, sized by D365_WORKERS/D365_THREADS).
        serve = Path(sys.executable).with_name("d365portal")
        argv = (
            [str(serve), "serve"]
            if serve.exists()
            else python_argv(
                "-m",
                "gunicorn",
                "--workers",
                str(opts.workers),
                "--threads",
                str(opts.threads),
                "--worker-class",
                "d365portal.admin.serve.PortalThreadWorker",
                "--bind",
                f"127.0.0.1:{portal_port}",
                "d365portal.wsgi:app",
            )
        )
        self.portal = Child(f"{self.name} portal", argv, log_dir / f"{self.name}-portal.log", env)
        self.portal.wait_http(f"{self.portal_url}/healthz", timeout=60)
        return self

    def stop(self) -> None:
        """Stop the portal, then the emulator."""
        for child in (self.portal, self.emulator):
            if child is not None:
                child.stop()


def start_redis(log_dir: Path) -> tuple[Child, str]:
    """A throwaway redis-server on a free loopback port, without persistence; (process, URL)."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("--redis needs redis-server (apt-get install redis-server, or `make system-deps`)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    child = Child("redis", argv, log_dir / "redis.log")
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            client.close()
            return child, f"redis://127.0.0.1:{port}/0"
        except redis.ConnectionError:
            time.sleep(0.05)
    child.stop()
    raise RuntimeError(f"redis-server did not answer:\n{child.tail()}")
