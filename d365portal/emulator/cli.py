"""PLACEHOLDER (issue 2 replaces this file): `d365portal emulator` and `d365portal demo`."""

from __future__ import annotations

import click


@click.command()
def emulator_command() -> None:
    """Run the local Dataverse emulator."""
    raise click.ClickException("not implemented yet")


@click.command()
def demo_command() -> None:
    """Run the emulator and the portal together."""
    raise click.ClickException("not implemented yet")
