"""`flask --app wsgi sla ...`: check a rules file, work out a deadline, list the calendar."""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from ..service_rules import site_rules_path
from ..sla import RulesError, calendar_for, deadline_for, load_rules
from ..sla.clocks import parse_local_datetime

sla_cli = AppGroup("sla", help="The SLA rules: check, deadlines, calendar.")


def _rules_or_exit(path: Path | None = None):
    try:
        return load_rules(site_path=path)
    except RulesError as exc:
        for error in exc.errors:
            click.echo(error, err=True)
        sys.exit(1)


@sla_cli.command("check")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def check(path: Path | None):
    """Validate PATH (default: the site rules file) merged over the default rules."""
    target = path or site_rules_path(current_app)
    if target is not None and not target.exists():
        click.echo(f"{target}: no such file", err=True)
        sys.exit(1)
    rules = _rules_or_exit(target)
    source = str(target) if target else "default rules only"
    click.echo(f"{rules.summary()} [{source}]")


@sla_cli.command("due")
@click.argument("clock")
@click.argument("received_at")
@click.option("--pause", "pauses", multiple=True, metavar="FROM/TO",
              help="A pause while waiting for the customer, YYYY-MM-DDTHH:MM/YYYY-MM-DDTHH:MM; repeatable.")
def due(clock: str, received_at: str, pauses: tuple[str, ...]):
    """Print when CLOCK, started at RECEIVED_AT (YYYY-MM-DDTHH:MM, UK time), is due."""
    rules = current_app.extensions["sla_rules"]
    try:
        received = parse_local_datetime(rules, received_at)
        rules = rules.in_force_on(received.date())
        rules.clock(clock)
        spans = []
        for text in pauses:
            if "/" not in text:
                raise ValueError(f"--pause: expected FROM/TO, got {text!r}")
            start, end = text.split("/", 1)
            spans.append((parse_local_datetime(rules, start), parse_local_datetime(rules, end)))
        deadline = deadline_for(rules, clock, received, pauses=spans)
    except KeyError as exc:
        click.echo(f"error: {exc.args[0]}", err=True)
        sys.exit(2)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(deadline.strftime("%Y-%m-%dT%H:%M"))


@sla_cli.command("calendar")
@click.argument("year", type=click.IntRange(1990, 2100))
def calendar(year: int):
    """List the non-working weekdays of YEAR with their names and sources."""
    rules = current_app.extensions["sla_rules"].in_force_on(date(year, 1, 1))
    for day in calendar_for(rules.calendar).non_working_weekdays(year):
        click.echo(f"{day.date.isoformat()}  {day.date:%a}  {day.name}  ({day.source})")
