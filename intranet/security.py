"""Headers and session rules every response and request passes through."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, redirect, request, session, url_for
from flask_login import current_user, logout_user

from .htmx import is_htmx

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
])


def add_security_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def enforce_idle_timeout(app: Flask):
    """Ends a signed-in session after the idle limit; the timestamp lives in the signed cookie,
    so every app server judges it the same way without shared memory."""
    if request.endpoint in (None, "static", "core.healthz"):
        return None
    if not current_user.is_authenticated:
        return None
    limit = app.config["SESSION_IDLE_MINUTES"] * 60
    now = datetime.now(timezone.utc).timestamp()
    last_seen = session.get("last_seen")
    if last_seen is not None and now - float(last_seen) > limit:
        logout_user()
        session.clear()
        login = url_for("auth.login", expired=1)
        if is_htmx():
            response = app.response_class("", 200)
            response.headers["HX-Redirect"] = login
            return response
        return redirect(login)
    session["last_seen"] = now
    session.permanent = True
    return None
