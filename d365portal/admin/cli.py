"""PLACEHOLDER (issue 6 replaces this file): serve, check and users commands."""

from __future__ import annotations

import click


@click.command()
def serve_command() -> None:
    """Run the portal under gunicorn."""
    raise click.ClickException("not implemented yet")


@click.command()
def check_command() -> None:
    """Check the connection to Dataverse step by step."""
    raise click.ClickException("not implemented yet")


@click.group()
def users_group() -> None:
    """Manage portal users."""
