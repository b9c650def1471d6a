"""Fixtures shared by every test: a fresh database per test (SQLite file or PostgreSQL), clients
signed in as each role, and helpers for CSRF tokens and htmx requests.

The database comes from a template built once per run with the real migrations and then copied
for each test, which is much faster than migrating every time and still tests the migrations.
Set TEST_DATABASE_URL to a PostgreSQL server's admin URL to run the same tests on PostgreSQL.
"""
from __future__ import annotations

import contextvars
import itertools
import os
import shutil
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from intranet import create_app
from intranet.auth.roles import ALL_ROLES
from intranet.extensions import db

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")
from tests.support import PASSWORD, sign_in

def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Builds the migrated template once; yields a function that makes a fresh copy's URL."""
    if PG_ADMIN_URL:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        template = f"ppd_tmpl_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{template}"'))
        _migrate(make_url(PG_ADMIN_URL).set(database=template).render_as_string(hide_password=False))
        url = make_url(PG_ADMIN_URL).set(database=template).render_as_string(hide_password=False)
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            tables = [row[0] for row in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        truncate = text(f"TRUNCATE {', '.join(chr(34) + t + chr(34) for t in tables)} RESTART IDENTITY CASCADE")

        def fresh() -> str:
            """One migrated database, emptied before each test: far quicker than a new database each time."""
            with engine.connect() as conn:
                conn.execute(truncate)
            return url

        def drop(url: str) -> None:
            pass

        yield fresh, drop
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
        admin.dispose()
    else:
        folder = tmp_path_factory.mktemp("dbtemplate")
        template = folder / "template.sqlite"
        _migrate(f"sqlite:///{template}")

        def fresh() -> str:
            target = folder / f"{uuid.uuid4().hex}.sqlite"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"

        def drop(url: str) -> None:
            path = Path(make_url(url).database)
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)

        yield fresh, drop


@pytest.fixture
def database_url(database_template):
    fresh, drop = database_template
    url = fresh()
    yield url
    drop(url)


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production, not inside the test's.

    Without this a request would reuse the test's context, sharing `g` and the database session
    with the test. The test's own transaction is ended first so it holds no SQLite lock and sees
    the request's changes afterwards.
    """

    def open(self, *args, **kwargs):
        if db.session.is_active:
            db.session.rollback()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_DIR": str(tmp_path / "uploads")})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_password_hash_cache: dict[str, str] = {}


@pytest.fixture
def make_user(app):
    """Factory: make_user("advisor", "team_leader", username=...) -> User (password PASSWORD)."""
    from intranet.auth.models import User

    counter = itertools.count(1)

    def factory(*roles: str, username: str | None = None, full_name: str | None = None,
                active: bool = True, email: str = "") -> User:
        name = username or f"{'-'.join(roles) or 'user'}{next(counter)}".replace("_", "-")
        user = User(username=name, full_name=full_name or name.title(), email=email or f"{name}@example.org",
                    active=active)
        user.roles = roles
        if PASSWORD not in _password_hash_cache:
            user.set_password(PASSWORD)
            _password_hash_cache[PASSWORD] = user.password_hash
        user.password_hash = _password_hash_cache[PASSWORD]
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login(client, make_user):
    """login("team_leader") signs the test client in as a new user with those roles; returns the user."""

    def do(*roles: str, **kwargs):
        user = make_user(*roles, **kwargs)
        response = sign_in(client, user.username)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return user

    return do


@pytest.fixture(params=ALL_ROLES)
def any_role(request):
    return request.param


