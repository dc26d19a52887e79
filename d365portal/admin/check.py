"""`d365portal check`: walk the connection to Dataverse step by step, print each step as it goes and
a verdict; exit 0 only when every step passes. `--json` prints the same as one JSON document.

Later steps that need an earlier one (a token before WhoAmI) are skipped when it failed. Everything
printed goes through the log redaction, with the configured secrets masked verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import click

from d365portal.admin.check_metadata import step_change_tracking, step_labels, step_web_roles
from d365portal.admin.check_providers import step_providers
from d365portal.admin.check_steps import (
    Context,
    Step,
    step_certificate,
    step_mail,
    step_settings,
    step_token,
    step_whoami,
)
from d365portal.admin.check_tables import step_access, step_tables
from d365portal.admin.common import quiet_logs
from d365portal.logs import configure_logging, redact, secret_values

# (number, name, title, the step, the step it needs)
STEPS: list[tuple[int, str, str, Callable[[Context], Step], int]] = [
    (1, "settings", "Settings are valid", step_settings, 0),
    (2, "token", "A token is issued for Dataverse", step_token, 1),
    (3, "whoami", "Dataverse answers WhoAmI", step_whoami, 2),
    (4, "tables", "The tables and columns the portal uses exist", step_tables, 3),
    (5, "access", "The application user can read the tables and create a case", step_access, 3),
    (6, "mail", "Mail can be sent", step_mail, 1),
    (7, "certificate", "The certificate is not about to expire", step_certificate, 1),
    (8, "labels", "Option labels can be read in every language the portal shows", step_labels, 3),
    (9, "tracking", "Change tracking is on for the tables the notifier follows", step_change_tracking, 3),
    (10, "roles", "The web roles that give the portal's levels exist", step_web_roles, 3),
    (11, "providers", "Sign-in providers answer and accept the portal's credentials", step_providers, 1),
]
MARKS = {"pass": "✓", "fail": "✗", "skip": "–"}


def run_steps(ctx: Context | None = None) -> Iterator[Step]:
    """Each step's outcome in order; a step whose prerequisite did not pass is skipped."""
    ctx = ctx or Context()
    passed: set[int] = {0}
    for number, name, title, step, needs in STEPS:
        if needs not in passed:
            yield Step(number, name, title, "skip", f"skipped: step {needs} did not pass")
            continue
        try:
            outcome = step(ctx)
        except Exception as exc:  # a step must report, never crash the whole check
            outcome = Step(number, name, title, "fail", f"unexpected {type(exc).__name__}: {exc}")
        if outcome.status == "pass":
            passed.add(number)
        yield outcome


def _clean(step: Step, secrets: list[str]) -> Step:
    step.detail = redact(step.detail, secrets)
    step.fix = redact(step.fix, secrets)
    return step


def verdict(steps: list[Step]) -> tuple[bool, str]:
    """All passed?, and the sentence that says so."""
    failed = [s for s in steps if s.status == "fail"]
    if not failed:
        return True, f"All {len(steps)} checks passed: the portal can work with this configuration."
    names = ", ".join(str(s.number) for s in failed)
    return False, f"{len(failed)} of {len(steps)} checks failed (step {names}): fix them and check again."


def _print(step: Step) -> None:
    line = f"{MARKS[step.status]} {step.number}. {step.title}"
    click.echo(f"{line}: {step.detail}" if step.detail else line)
    if step.status == "fail" and step.fix:
        click.echo(f"     Fix: {step.fix}")


def run_check(*, as_json: bool = False) -> int:
    """Run every step, print as it goes (or JSON at the end); the exit status (0 = all passed)."""
    ctx = Context()
    steps: list[Step] = []
    for step in run_steps(ctx):
        if step.number == 1 and ctx.settings is not None:
            configure_logging(ctx.settings)
            quiet_logs(ctx.settings)  # the report on stdout; warnings, if any, on stderr
        secrets = secret_values(ctx.settings) if ctx.settings else []
        steps.append(_clean(step, secrets))
        if not as_json:
            _print(step)
    if ctx.client is not None:
        ctx.client.close()
    ok, sentence = verdict(steps)
    if as_json:
        document = {
            "ok": ok,
            "verdict": sentence,
            "steps": [
                {"step": s.number, "name": s.name, "title": s.title, "status": s.status,
                 "detail": s.detail, "fix": s.fix or None, **({"data": s.data} if s.data else {})}
                for s in steps
            ],
        }  # fmt: skip
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        click.echo(f"Verdict: {sentence}")
    return 0 if ok else 1
