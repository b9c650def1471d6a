"""`flask --app wsgi addresses import FILE [--replace]`: load the council's address gazetteer.

The same all-or-nothing import as the web page, for extracts too big to upload (or for cron):
any bad line rejects the whole file, every problem is printed with its line number, and the
exit status is 1 so a scheduled job shows up as failed rather than half-done.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from ..extensions import db
from . import gazetteer

addresses_cli = AppGroup("addresses", help="The address gazetteer: import a CSV extract.")


@addresses_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="Update addresses already stored (matched by UPRN) instead of refusing them.")
def import_command(file: Path, replace: bool):
    """Import FILE (columns uprn, address_line1, address_line2, town, postcode, street, zone)."""
    try:
        summary, _ = gazetteer.import_addresses("cli", file.read_bytes(), replace=replace, source=file.name)
    except gazetteer.GazetteerRejected as rejected:
        db.session.rollback()
        for problem in rejected.problems:
            click.echo(f"{file.name}: {problem}", err=True)
        click.echo(f"{rejected}", err=True)
        sys.exit(1)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    for line in summary.lines():
        click.echo(line)


def register_cli(app: Flask) -> None:
    app.cli.add_command(addresses_cli)
