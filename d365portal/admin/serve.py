"""`d365portal serve`: the portal under gunicorn, sized and bound by the settings."""

from __future__ import annotations

from typing import Any

import click
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from d365portal.settings import Settings

# What `worker_class` names: gunicorn imports it by this dotted path in each worker.
WORKER_CLASS = "d365portal.admin.serve.PortalThreadWorker"


class PortalThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker, safe against a second quick-stop signal.

    gthread's SIGQUIT/SIGINT handler shuts its thread pool down, which takes the pool's lock. A second
    signal arriving inside that handler (a double Ctrl-C reaches every process of the group, and the
    master adds its own SIGQUIT) ran the handler again in the same thread and waited on the lock the
    first call held: the worker hung until the master's graceful timeout ran out, and the port stayed
    taken. The first quick-stop signal does the work; later ones only let it finish.
    """

    _quitting = False

    def handle_quit(self, sig: int, frame: Any) -> None:
        """Stop now, once; a repeated signal while stopping is ignored."""
        if self._quitting:
            return
        self._quitting = True
        super().handle_quit(sig, frame)


class PortalLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's own messages go through the portal's logging (same format, redaction, stdout)."""

    def setup(self, cfg: Any) -> None:
        """Let gunicorn configure its loggers, then hand its records to the root handler."""
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's settings from ours: threads per worker (gthread), bind, timeout, logs to stdout."""
    return {
        "bind": [settings.bind],
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": WORKER_CLASS,
        "timeout": settings.worker_timeout,
        "graceful_timeout": settings.worker_timeout,
        "accesslog": None,  # d365portal.logs writes one line per request, with Dataverse timings
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "worker_tmp_dir": "/dev/shm",  # noqa: S108 - gunicorn's heartbeat files; avoids disk stalls
        "proc_name": "d365portal",
        "logger_class": PortalLogger,
        # gunicorn ≥ 24 opens a control socket under $HOME; the portal does not use it, and the
        # container's non-root user has no writable home.
        "control_socket_disable": True,
    }


class PortalServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running `create_app(settings)` in each worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        """Apply `gunicorn_options()`."""
        import os

        for key, value in gunicorn_options(self.settings).items():
            if key == "worker_tmp_dir" and not os.path.isdir(str(value)):
                continue
            if key in self.cfg.settings:  # an option an older gunicorn lacks is skipped
                self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app in the worker (a wrong setting: one line, and gunicorn stops)."""
        from d365portal.wsgi import load_app

        return load_app(self.settings)


def preflight(settings: Settings) -> None:
    """Refuse to start on what would fail in every worker, with one line naming the setting."""
    if settings.secret_key is None and not settings.demo:
        raise click.ClickException(
            "setting secret_key (D365_SECRET_KEY): required outside demo mode — a long random string, "
            "the same on every instance"
        )


def serve(settings: Settings) -> None:
    """Run gunicorn in the foreground until it is stopped (SIGTERM/SIGINT)."""
    from d365portal.logs import configure_logging

    preflight(settings)
    configure_logging(settings)  # the master's messages in the same format as the workers'
    PortalServer(settings).run()
