"""`flask --app wsgi reminders send`: the daily renewal-reminder run (cron); safe to run twice."""
from __future__ import annotations

from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..pdf import PdfError

reminders_cli = AppGroup("reminders", help="Renewal reminders to permit holders.")


def _day(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}") from None


@reminders_cli.command("send")
@click.option("--date", "day", callback=_day, metavar="YYYY-MM-DD",
              help="Act as if today were this date (default: today in London).")
def send_command(day):
    """Send a renewal reminder (email or a letter for the next print batch) to each holder whose
    resident permit expires within the renewal window in the rules. Run daily; a second run sends nothing."""
    from .reminders import send_reminders

    try:
        run = send_reminders("reminders", day=day)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise click.ClickException("another reminders run wrote the same reminders at the same time; "
                                   "nothing was sent by this run (run it again to pick up any left)") from None
    except PdfError as exc:
        db.session.rollback()
        raise click.ClickException(f"a reminder letter could not be made, so none were sent: {exc}") from None
    click.echo(run.summary())


def register_cli(app: Flask) -> None:
    app.cli.add_command(reminders_cli)
