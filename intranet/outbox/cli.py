"""`flask --app wsgi outbox ...`: the cron job that sends what is waiting, and a manual retry."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .. import mail
from ..extensions import db

outbox_cli = AppGroup("outbox", help="Send and retry queued emails.")


@outbox_cli.command("flush")
@click.option("--limit", type=click.IntRange(min=1), default=mail.FLUSH_LIMIT, show_default=True,
              help="Most emails to try in this run.")
def flush_command(limit: int):
    """Send the emails that are due (run from cron every few minutes; safe on several servers)."""
    result = mail.flush(limit=limit)
    click.echo(result.summary())


@outbox_cli.command("retry")
@click.argument("message_id", type=click.IntRange(min=1), metavar="ID")
def retry_command(message_id: int):
    """Make a failed or waiting email ID due now, and try it at once."""
    from . import services

    message = services.find(message_id)
    if message is None:
        raise click.ClickException(f"there is no email {message_id} in the outbox")
    try:
        services.retry("cli", message)
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()  # sent from here, straight after the commit
    db.session.refresh(message)
    if message.status == mail.SENT:
        click.echo(f"Email {message_id} sent")
    else:
        click.echo(f"Email {message_id} is due; not sent yet: {message.last_error}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(outbox_cli)
