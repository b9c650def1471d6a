"""Command-line tools (cron jobs and administration): `flask --app wsgi ...`."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .auth.roles import ALL_ROLES
from .extensions import db

users_cli = AppGroup("users", help="Manage staff accounts.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ALL_ROLES),
              help="A role; repeat for several.")
@click.option("--name", "full_name", default="", help="Full name (defaults to the username).")
@click.option("--email", default="", help="Email address.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(username, roles, full_name, email, password_stdin):
    """Create USERNAME with one or more --role; the password is prompted for, or read from stdin."""
    from .auth import services

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.UsageError("password: must be at least 12 characters")
    try:
        user = services.create_user("cli", username=username, full_name=full_name or username, email=email,
                                    roles=list(roles), password=password)
    except ValueError as exc:
        db.session.rollback()
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(f"Created {user.username} with roles: {', '.join(user.roles)}")


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already has users (used by make run).")
def demo_data_command(if_empty: bool):
    """Create one demo user per role (and each area's demo records); refuses a real database."""
    from .auth.models import User
    from .demo import load_demo_data, DemoRefused

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("Database already has users; demo data not loaded.")
        return
    try:
        summary = load_demo_data(current_app.config["DEMO_PASSWORD"])
    except DemoRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    for line in summary:
        click.echo(line)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path):
    """Copy the SQLite database to PATH while the app runs (SQLite's online backup API)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database:
        raise click.ClickException("backup works on the SQLite database only; for PostgreSQL use pg_dump "
                                   "(see the README)")
    if path.exists():
        raise click.ClickException(f"{path} already exists; choose a new file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(url.database)
    target = sqlite3.connect(str(path))
    try:
        with target:
            source.backup(target)
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        raise click.ClickException(f"backup written but integrity check said: {check}")
    click.echo(f"Backed up {url.database} to {path} (integrity check ok)")


def register(app: Flask) -> None:
    """Every area's commands; imported here so `flask --app wsgi --help` lists them all."""
    from importlib import import_module

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(backup_command)
    from .agreement.cli import sla_cli

    app.cli.add_command(sla_cli)
    for module in ("outbox.cli", "permits.cli_households", "kpi.cli", "complaints.cli", "printing.cli",
                   "reports.cli", "staffing.cli"):
        import_module(f"{__package__}.{module}").register_cli(app)
