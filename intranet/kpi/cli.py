"""`flask --app wsgi calls import FILE [--replace]`, `kpi show --month YYYY-MM [--format table|csv]`,
`kpi produce-pack --month YYYY-MM`, `reviews remind`. Errors go to stderr with exit status 1."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from ..extensions import db

calls_cli = AppGroup("calls", help="Telephony statistics: import the telephone system's interval CSV.")
kpi_cli = AppGroup("kpi", help="The SLA's KPIs: show a month, produce the monthly pack.")
reviews_cli = AppGroup("reviews", help="Six-monthly service review meetings: reminders.")


def _fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


@calls_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite intervals already stored.")
def import_command(file: Path, replace: bool):
    """Import FILE (CSV: interval_start, offered, answered, abandoned [, interval_minutes, queue, ...])."""
    from .telephony import TelephonyImportError, import_calls

    try:
        content = file.read_bytes()
    except OSError as exc:
        _fail([f"{file}: cannot read ({exc.strerror or exc})"])
    try:
        report = import_calls("cli", content, filename=file.name, replace=replace)
    except TelephonyImportError as exc:
        db.session.rollback()
        problems = exc.report.problems
        _fail([f"{file.name}: rejected, nothing imported ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
              + [f"  {p}" for p in problems])
    db.session.commit()
    for line in report.summary_lines():
        click.echo(line)


@kpi_cli.command("show")
@click.option("--month", "month_text", required=True, help="The month, as YYYY-MM.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
def show_command(month_text: str, fmt: str):
    """One row per KPI in the rules for the month."""
    from .engine import CSV_COLUMNS, Month
    from .measures import month_kpis

    try:
        month = Month.parse(month_text)
    except ValueError as exc:
        _fail([f"--month: {exc}"])
    result = month_kpis(month)
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in result.results:
            writer.writerow(r.csv_row())
        return
    header = ("KPI", "Period", "Value", "Measured", "Target", "Status")
    rows = [(r.name, r.period, f"{r.value_text}%" if r.value is not None else "-", f"{r.numerator}/{r.denominator}",
             f"{'>=' if r.direction == 'at_least' else '<='} {r.target:g}%", r.status) for r in result.results]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
    if result.emergency:
        click.echo("An emergency declaration applied in this month: reduced targets are shown.")


@kpi_cli.command("produce-pack")
@click.option("--month", "month_text", required=True, help="The month reported on, as YYYY-MM.")
def produce_pack_command(month_text: str):
    """Produce (or make again) the month's KPI pack PDF."""
    from .engine import Month
    from .pack import PackError, produce

    try:
        month = Month.parse(month_text)
    except ValueError as exc:
        _fail([f"--month: {exc}"])
    try:
        pack = produce("cli", month)
    except PackError as exc:
        db.session.rollback()
        _fail([str(exc)])
    db.session.commit()
    click.echo(f"{month.label} KPI pack produced ({'on time' if pack.on_time else 'late'}); {len(pack.pdf)} bytes")


@reviews_cli.command("remind")
def remind_command():
    """Email the attendees of each service review coming up within the reminder period (once each)."""
    from .reviews import send_reminders

    sent = send_reminders()
    db.session.commit()
    if not sent:
        click.echo("No reminders due.")
    for review, people in sent:
        click.echo(f"Reminded {len(people)} attendee{'s' if len(people) != 1 else ''} of {review.title} "
                   f"on {review.held_on.isoformat()}")


def register_cli(app) -> None:
    app.cli.add_command(calls_cli)
    app.cli.add_command(kpi_cli)
    app.cli.add_command(reviews_cli)
