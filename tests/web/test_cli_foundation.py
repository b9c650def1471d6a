"""The foundation's commands: users create, demo-data and backup."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select

from intranet.auth.models import User
from intranet.extensions import db


def test_users_create_with_password_from_stdin(runner):
    result = runner.invoke(args=["users", "create", "jsmith", "--role", "advisor", "--role", "team_leader",
                                 "--name", "Jo Smith", "--password-stdin"], input="a-long-secret-pass\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "jsmith"))
    assert user.roles == ["advisor", "team_leader"] and user.check_password("a-long-secret-pass")
    assert "a-long-secret-pass" not in result.output


@pytest.mark.parametrize("args, stdin, message", [
    (["users", "create", "x", "--role", "pilot", "--password-stdin"], "a-long-secret-pass\n", "pilot"),
    (["users", "create", "x", "--password-stdin"], "a-long-secret-pass\n", "--role"),
    (["users", "create", "x", "--role", "advisor", "--password-stdin"], "short\n", "at least 12 characters"),
])
def test_users_create_refuses_bad_arguments(runner, args, stdin, message):
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(select(User).where(User.username == "x")) is None


def test_users_create_refuses_a_taken_username(runner, make_user):
    make_user("advisor", username="taken")
    result = runner.invoke(args=["users", "create", "TAKEN", "--role", "advisor", "--password-stdin"],
                           input="a-long-secret-pass\n")
    assert result.exit_code != 0 and "already taken" in result.output


def test_demo_data_refuses_a_database_with_real_users(runner, make_user):
    make_user("admin", username="real.person")
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code != 0 and "non-demo users" in result.output


def test_backup_makes_a_consistent_copy(app, runner, make_user, tmp_path):
    make_user("advisor", username="kept.in.backup")
    target = tmp_path / "copy.sqlite"
    result = runner.invoke(args=["backup", str(target)])
    if db.engine.dialect.name != "sqlite":
        # On PostgreSQL the command says what to use instead, and fails so a cron job notices.
        assert result.exit_code != 0 and "pg_dump" in result.output and not target.exists()
        return
    assert result.exit_code == 0 and "integrity check ok" in result.output
    with sqlite3.connect(target) as conn:
        names = {row[0] for row in conn.execute("SELECT username FROM user_account")}
    assert "kept.in.backup" in names
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "already exists" in again.output
