"""`flask --app wsgi zone-report send`: the cron job that sends the daily permits-by-zone report.

Run it after close of service on every day (weekends too: it works out what is due):

    35 17 * * *  cd /srv/ppd && .venv/bin/flask --app wsgi zone-report send

Without --date it sends today's report if today is a working day and service has closed, else the
last working day's. A report goes once per day: a second run (or a second server) prints when and
to whom it went and sends nothing, exit 0, so cron can safely retry. --resend --reason TEXT sends it
again and records why. Exit 1: the day cannot be reported (not a working day, in the future, not
over yet); exit 2: a malformed option.
"""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..extensions import db
from ..mail import OutboxMessage
from . import services
from .sending import ALREADY_SENT, send_zone_report

zone_report_cli = AppGroup("zone-report", help="The daily permits-by-zone report to the Parking inbox and NSL.")


def _parse_date(_ctx, _param, value):
    if value is None:
        return None
    try:
        return services.parse_day(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@zone_report_cli.command("send")
@click.option("--date", "day", callback=_parse_date, metavar="YYYY-MM-DD",
              help="The working day to report (default: today after close of service, else the last working day).")
@click.option("--resend", is_flag=True, help="Send again although it was already sent (needs --reason).")
@click.option("--reason", default="", help="Why it is sent again; recorded in the send log.")
def send_command(day, resend: bool, reason: str):
    """Send the report for a working day, once."""
    if resend and not reason.strip():
        raise click.UsageError("--reason: say why the report is sent again (required with --resend)")
    if reason.strip() and not resend:
        raise click.UsageError("--reason: only used with --resend")
    day = day or services.default_report_date()
    try:
        outcome = send_zone_report("cron", day, resend=resend, reason=reason, via="cli")
    except services.ReportDateError as exc:
        db.session.rollback()
        click.echo(f"Not sent: {exc}", err=True)
        sys.exit(1)
    if outcome.status == ALREADY_SENT:
        db.session.rollback()
        click.echo(outcome.message() + ". Use --resend --reason TEXT to send it again.")
        return
    message_id = outcome.send.outbox_message_id
    db.session.commit()  # the mailer sends after this commit
    click.echo(outcome.message() + ".")
    status = db.session.scalar(db.select(OutboxMessage.status).where(OutboxMessage.id == message_id))
    db.session.rollback()
    if status != "sent":
        click.echo(f"The mail server has not accepted it yet (outbox message {message_id} is {status}); "
                   f"`flask --app wsgi outbox flush` will retry it.")


def register_cli(app) -> None:
    app.cli.add_command(zone_report_cli)
