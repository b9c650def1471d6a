"""Parking Permits Desk: the CSC's case-working application for residential parking permits."""
from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from .config import DEV_SECRET_KEY, PROJECT_ROOT, Config, config_from_env
from .extensions import csrf, db, login_manager, migrate

# GET endpoints that write (rare: e.g. recording that a notice was read on view).
WRITING_GET_ENDPOINTS: set[str] = set()


def create_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    """Builds the app; `config` is a Config class, or a dict of overrides on TestConfig for tests."""
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"),
                template_folder=str(PROJECT_ROOT / "templates"),
                static_folder=str(PROJECT_ROOT / "static"))
    _load_config(app, config)
    os.makedirs(app.instance_path, exist_ok=True)
    from .service_rules import init_rules

    init_rules(app)
    _register_templates(app)
    _register_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_errors(app)
    _register_cli(app)
    return app


def _load_config(app: Flask, config) -> None:
    from .config import TestConfig

    if isinstance(config, dict):
        app.config.from_object(TestConfig)
        app.config.update(config)
    else:
        app.config.from_object(config or config_from_env())
    if not app.config["TESTING"] and app.config.get("ENV_NAME") == "production":
        key = app.config.get("SECRET_KEY") or ""
        if not key or key == DEV_SECRET_KEY or len(key) < 16:
            raise RuntimeError("SECRET_KEY must be set to a long random value in production "
                               "(or set APP_ENV=development for a local demo)")
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)


def _register_templates(app: Flask) -> None:
    from . import timefmt
    from .money import format_pence

    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(PROJECT_ROOT / "templates")),
        PrefixLoader({
            "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
            "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
        }),
    ])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters.update(
        date=timefmt.format_date, time=timefmt.format_time, datetime=timefmt.format_datetime,
        money=format_pence, percent=timefmt.format_percent,
        dict_without=lambda args, *keys: {k: v for k, v in args.items() if k not in keys})

    # Areas link to each other's pages only where those pages exist in this build.
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions

    from govuk_frontend_wtf.main import WTFormsHelpers

    WTFormsHelpers(app)


def _register_extensions(app: Flask) -> None:
    from sqlalchemy import event

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine, event)

    # Models every area relies on must be imported before migrations or create_all look.
    from . import audit  # noqa: F401
    from .auth import models as auth_models

    @login_manager.user_loader
    def load_user(user_id: str):
        return db.session.get(auth_models.User, int(user_id))


def _configure_sqlite(engine, event) -> None:
    """Foreign keys on, WAL, a busy timeout, and BEGIN IMMEDIATE so writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # Reads (GET) take no write lock so pages render side by side; anything else takes the
        # write lock up front, because a deferred transaction that upgrades fails at once when busy.
        from flask import has_request_context

        from .dbtx import force_immediate

        reading = has_request_context() and request.method in ("GET", "HEAD") \
            and request.endpoint not in WRITING_GET_ENDPOINTS and not force_immediate.get()
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _register_blueprints(app: Flask) -> None:
    from .admin.routes import bp as admin_bp
    from .agreement.routes import bp as agreement_bp
    from .auth.routes import bp as auth_bp
    from .changes.routes import bp as changes_bp
    from .complaints.routes import bp as complaints_bp
    from .core.routes import bp as core_bp
    from .outbox.routes import bp as outbox_bp
    from .permits.routes import bp as permits_bp
    from .printing.routes import bp as printing_bp
    from .kpi.routes import bp as kpi_bp
    from .reports.routes import bp as reports_bp
    from .contacts.routes import bp as contacts_bp
    from .staffing.routes import bp as staffing_bp

    for bp in (core_bp, auth_bp, admin_bp, agreement_bp, outbox_bp, changes_bp, permits_bp, reports_bp, kpi_bp, printing_bp, complaints_bp, contacts_bp, staffing_bp):
        app.register_blueprint(bp)

    from .auth.access import PUBLIC, allow

    allow(PUBLIC)(app.view_functions["static"])


def _register_request_hooks(app: Flask) -> None:
    from . import security
    from .auth.access import is_public, may_use
    from .auth.sso import login_from_remote_user
    from .htmx import is_htmx
    from .navigation import areas_for, in_bar

    @app.before_request
    def check_access():
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is None or is_public(view):
            return None
        if not current_user.is_authenticated and app.config.get("TRUST_REMOTE_USER"):
            login_from_remote_user(request.environ.get("REMOTE_USER"))
        if not current_user.is_authenticated:
            login = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
            if is_htmx():
                response = app.response_class("", 200)
                response.headers["HX-Redirect"] = login
                return response
            return redirect(login)
        timed_out = security.enforce_idle_timeout(app)
        if timed_out is not None:
            return timed_out
        if not may_use(current_user.roles, view):
            abort(403)
        return None

    app.after_request(security.add_security_headers)

    @app.context_processor
    def shell_context():
        from .auth.roles import ROLE_LABELS

        from flask import has_request_context

        signed_in = has_request_context() and current_user.is_authenticated
        areas = areas_for(current_user.roles) if signed_in else []
        return {"nav_areas": [a for a in areas if in_bar(a)], "home_areas": areas,
                "council_name": app.config["COUNCIL_NAME"],
                "service_name": "Parking Permits Desk", "role_labels": ROLE_LABELS}


def _register_errors(app: Flask) -> None:
    from flask import render_template
    from flask_wtf.csrf import CSRFError

    def page(template: str, status: int):
        return render_template(template), status

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        referrer = request.referrer or ""
        back = referrer if referrer.startswith(request.host_url) else url_for("core.home")
        return render_template("errors/csrf.html", back_url=back), 400

    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, lambda e, s=status: page(f"errors/{s}.html", s))

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return page("errors/500.html", 500)


def _register_cli(app: Flask) -> None:
    from .cli import register

    register(app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
