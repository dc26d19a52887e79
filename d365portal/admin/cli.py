"""`d365portal serve`, `d365portal check` and `d365portal users …` (issue 6).

Each command loads the settings itself, so a wrong value prints one line naming it (click's
`Error: …`) instead of a traceback.
"""

from __future__ import annotations

import click

from d365portal.admin.common import settings_or_exit
from d365portal.admin.users import users_group


@click.command()
@click.option("--bind", help="Address to listen on (default: the bind setting, D365_BIND).")
@click.option("--workers", type=int, help="Worker processes (default: D365_WORKERS).")
@click.option("--threads", type=int, help="Threads per worker (default: D365_THREADS).")
def serve_command(bind: str | None, workers: int | None, threads: int | None) -> None:
    """Run the portal under gunicorn (the production server)."""
    from d365portal.admin.serve import serve

    overrides = {k: v for k, v in {"bind": bind, "workers": workers, "threads": threads}.items() if v}
    serve(settings_or_exit(**overrides))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for monitoring).")
def check_command(as_json: bool) -> None:
    """Check the connection to Dataverse step by step; exit 0 only when every step passes."""
    from d365portal.admin.check import run_check

    raise SystemExit(run_check(as_json=as_json))


@click.command()
def notify_command() -> None:
    """Mail customers when an agent answers, a case is resolved or an hour bank runs low (runs until
    Ctrl-C or SIGTERM; several may run: one works at a time, through a lease in the shared store)."""
    import signal

    from d365portal.app import create_app
    from d365portal.notify.runner import Notifier

    app = create_app(settings_or_exit())
    notifier = Notifier(app)

    def stop(signum: int, _frame: object) -> None:
        notifier.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    notifier.run()


__all__ = ["check_command", "notify_command", "serve_command", "users_group"]
