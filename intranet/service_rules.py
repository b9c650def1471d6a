"""The SLA rules the running app uses: read once at start, then asked "what was in force on day D".

Site rules (`SLA_CONFIG`, else `instance/sla.yaml` if present) override `intranet/sla/default.yaml`.
An invalid file stops the app from starting, with every error named by its key path, so a bad
edit is caught at restart (or before, with `flask --app wsgi sla check`).
"""
from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

from flask import Flask, current_app

from .sla import Rules, RulesError, load_rules
from .timefmt import LONDON, utcnow


def site_rules_path(app: Flask) -> Path | None:
    configured = app.config.get("SLA_CONFIG")
    if configured:
        return Path(configured)
    candidate = Path(app.instance_path) / "sla.yaml"
    return candidate if candidate.exists() else None


def init_rules(app: Flask) -> None:
    try:
        app.extensions["sla_rules"] = load_rules(site_path=site_rules_path(app))
    except RulesError:
        # `flask sla check` must still run to show the administrator what is wrong;
        # anything else (the web app, other commands) refuses to start.
        if _running_sla_check():
            app.extensions["sla_rules"] = load_rules()
            return
        raise


def _running_sla_check() -> bool:
    args = sys.argv[1:]
    return "sla" in args and "check" in args[args.index("sla"):]


def base_rules() -> Rules:
    """The rules as loaded, before dated variations; for pages that list the variations."""
    return current_app.extensions["sla_rules"]


def rules_in_force(on: date | datetime | None = None) -> Rules:
    """The rules in force on a day (default today in London): history is judged by its own targets."""
    if on is None:
        on = utcnow().astimezone(LONDON).date()
    elif isinstance(on, datetime):
        on = on.astimezone(LONDON).date()
    return base_rules().in_force_on(on)
