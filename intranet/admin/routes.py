"""Administrators manage accounts; managers read the audit trail."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import htmx
from ..audit import AuditEntry
from ..auth.access import allow
from ..auth.models import User
from ..auth.roles import ADMIN, SERVICE_MANAGER
from ..auth import services as accounts
from ..extensions import db
from ..navigation import register_area
from ..pagination import keyset_page
from ..timefmt import LONDON
from .forms import AuditFilterForm, EditUserForm, UserFilterForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
register_area("Users", "admin.users", "Create accounts, set roles and deactivate leavers.")
register_area("Audit trail", "admin.audit", "Every change: who, when, what, before and after.", in_navigation=False)


@bp.get("/users")
@allow(ADMIN)
def users():
    form = UserFilterForm(request.args)
    form.validate()
    stmt = accounts.filtered_users(form.q.data or "", form.role.data or "", form.status.data or "")
    rows = db.session.scalars(stmt.limit(500)).all()
    return htmx.render("admin/users.html", "results", form=form, users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@allow(ADMIN)
def new_user():
    form = UserForm()
    if form.validate_on_submit():
        if accounts.find_user(form.username.data):
            form.username.errors.append("That username is already taken")
        else:
            user = accounts.create_user(current_user, username=form.username.data, full_name=form.full_name.data,
                                        email=form.email.data or "", roles=form.roles.data,
                                        password=form.password.data)
            db.session.commit()
            return htmx.redirect_response(url_for("admin.user", user_id=user.id, created=1))
    return htmx.render("admin/user_form.html", "user_form", form=form, user=None)


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allow(ADMIN)
def user(user_id: int):
    user = _user_or_404(user_id)
    form = EditUserForm(obj=user) if request.method == "GET" else EditUserForm()
    if request.method == "GET":
        form.roles.data = user.roles
    if form.validate_on_submit():
        accounts.update_user(current_user, user, full_name=form.full_name.data, email=form.email.data or "",
                             roles=form.roles.data)
        db.session.commit()
        return htmx.redirect_response(url_for("admin.user", user_id=user.id, saved=1))
    from ..audit import entries_for

    return htmx.render("admin/user_form.html", "user_form", form=form, user=user,
                       timeline=entries_for("user", user.id),
                       saved=request.args.get("saved"), created=request.args.get("created"))


@bp.post("/users/<int:user_id>/active")
@allow(ADMIN)
def set_active(user_id: int):
    user = _user_or_404(user_id)
    make_active = request.form.get("active") == "1"
    if user.id == current_user.id and not make_active:
        abort(400)
    if user.active != make_active:
        accounts.set_active(current_user, user, make_active)
        db.session.commit()
    return htmx.redirect_response(url_for("admin.user", user_id=user.id, saved=1))


def _day(text: str | None, field, label: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        field.errors = list(field.errors) + [f"{label} must be a real date, like 2026-04-01"]
        return None


@bp.get("/audit")
@allow(SERVICE_MANAGER, ADMIN)
def audit():
    form = AuditFilterForm(request.args)
    form.validate()
    stmt = select(AuditEntry)
    if form.actor.data:
        stmt = stmt.where(func.lower(AuditEntry.actor_name) == form.actor.data.strip().lower())
    if form.subject_type.data:
        stmt = stmt.where(AuditEntry.subject_type == form.subject_type.data.strip().lower())
    start = _day(form.date_from.data, form.date_from, "From date")
    end = _day(form.date_to.data, form.date_to, "To date")
    if start:
        stmt = stmt.where(AuditEntry.occurred_at >= datetime.combine(start, time(), LONDON))
    if end:
        stmt = stmt.where(AuditEntry.occurred_at < datetime.combine(end + timedelta(days=1), time(), LONDON))
    page = keyset_page(stmt, AuditEntry.id, request.args.get("before", type=int), per_page=50)
    return htmx.render("admin/audit.html", "results", form=form, page=page)
