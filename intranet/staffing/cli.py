"""`flask --app wsgi staffing table [--month YYYY-MM]`: the staffing table in a terminal, to check the
rules after an edit (the SLA's figures) or a month's live figures, without opening the site."""
from __future__ import annotations

import re

import click
from flask import Flask
from flask.cli import AppGroup

staffing_cli = AppGroup("staffing", help="The SLA's staffing model.")


def _print(table, heading: str) -> None:
    click.echo(heading)
    click.echo(f"{'Type':<20} {'Per day':>8} {'Handling':>9} {'Daily':>9} {'Weekly':>9} {'FTE':>4}")
    for row in table.rows:
        click.echo(f"{row.title:<20} {row.per_day_text:>8} {row.handling_text:>9} {row.daily_text:>9} "
                   f"{row.weekly_text:>9} {row.fte_text:>4}")
    click.echo(f"{'Sum':<20} {'':>8} {'':>9} {table.daily_text:>9} {table.weekly_text:>9} {table.fte_text:>4}")
    for code in table.excluded:
        click.echo(f"  {code}: no data")
    click.echo(f"{table.verdict}.")


@staffing_cli.command("table")
@click.option("--month", default="", help="Also the live table for this month, YYYY-MM (e.g. 2017-03).")
def table_command(month: str):
    """Print the SLA's staffing table (and, with --month, that month's from the app's own volumes)."""
    from ..service_rules import rules_in_force
    from .live import staffing_table_for_pack
    from .model import sla_table

    match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", month.strip())
    if month and not match:
        raise click.BadParameter(f"expected YYYY-MM, for example 2017-03 (got {month[:20]!r})", param_hint="--month")
    rules = rules_in_force()
    _print(sla_table(rules.staffing, len(rules.calendar.working_weekdays)), "The SLA's staffing breakdown")
    if not month:
        return
    pack = staffing_table_for_pack(int(match.group(1)), int(match.group(2)))
    click.echo("")
    _print(pack["live"], f"Live, {pack['month']} ({pack['working_days']} working days)")


def register_cli(app: Flask) -> None:
    app.cli.add_command(staffing_cli)
