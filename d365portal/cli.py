"""`d365portal` command line: the emulator, demo mode, serving, checks and portal users."""

from __future__ import annotations

import click

from d365portal.admin.cli import check_command, notify_command, serve_command, users_group
from d365portal.admin.demo import demo_command
from d365portal.admin.report import report_group
from d365portal.emulator.cli import emulator_command


@click.group()
@click.version_option(package_name="d365portal")
def main() -> None:
    """Customer support portal in front of Dynamics 365 Customer Service."""


main.add_command(emulator_command, "emulator")
main.add_command(demo_command, "demo")
main.add_command(serve_command, "serve")
main.add_command(check_command, "check")
main.add_command(users_group, "users")
main.add_command(notify_command, "notify")
main.add_command(report_group, "report")
