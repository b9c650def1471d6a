"""Pages every signed-in user shares."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from ..auth.access import PUBLIC, allow
from ..auth.roles import ALL_ROLES
from ..extensions import db
from ..navigation import areas_for, register_area

bp = Blueprint("core", __name__)


@bp.get("/")
@allow(*ALL_ROLES)
def home():
    """Each role's home lists the areas that role may use, from the same declarations as access."""
    return render_template("core/home.html", areas=areas_for(current_user.roles))


@bp.get("/healthz")
@allow(PUBLIC)
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # the load balancer only needs to know the database is unreachable
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/accessibility")
@allow(PUBLIC)
def accessibility():
    return render_template("core/accessibility.html")
