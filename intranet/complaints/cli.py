"""`flask --app wsgi complaints ...`: the cron job that tells handlers about clocks at risk."""
from __future__ import annotations

from datetime import timezone

import click
from flask import Flask
from flask.cli import AppGroup

from ..extensions import db

complaints_cli = AppGroup("complaints", help="The complaint log's scheduled jobs.")


@complaints_cli.command("notify")
@click.option("--now", "now_text", default=None, metavar="YYYY-MM-DDTHH:MM",
              help="Judge the clocks as at this London time (for testing a schedule); default: now.")
def notify_command(now_text: str | None):
    """Email each handler once about every clock of theirs that has turned at risk or overdue.

    Run it as often as you like (e.g. hourly from cron): a clock is only ever reported once.
    """
    from ..service_rules import rules_in_force
    from ..sla import parse_local_datetime
    from . import services

    now = None
    if now_text:
        try:
            now = parse_local_datetime(rules_in_force(), now_text).astimezone(timezone.utc)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--now") from None
    try:
        result = services.notify_at_risk(now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(result.summary())


def register_cli(app: Flask) -> None:
    app.cli.add_command(complaints_cli)
