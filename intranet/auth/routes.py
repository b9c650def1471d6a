"""Sign in and out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..extensions import db
from .access import PUBLIC, allow
from .forms import LoginForm
from .roles import ALL_ROLES
from .services import authenticate

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after sign-in would be a phishing aid."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("core.home")


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login():
    form = LoginForm()
    login_error = None
    if form.validate_on_submit():
        result = authenticate(form.username.data, form.password.data,
                              max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                              lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"])
        if result.user:
            session.clear()
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")), code=303)
        login_error = result.error
        form.password.errors = [login_error]
    elif current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("core.home"))
    return render_template("auth/login.html", form=form, login_error=login_error,
                           expired=request.args.get("expired") == "1")


@bp.post("/logout")
@allow(*ALL_ROLES)
def logout():
    audit.record(current_user, "logout", "user", current_user.id, summary="Signed out")
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), code=303)
