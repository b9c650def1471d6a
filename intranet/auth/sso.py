"""Single sign-on from the council's proxy (Windows authentication).

Only the WSGI environ's REMOTE_USER is read: a browser can send a `Remote-User` header, but that
arrives as HTTP_REMOTE_USER and is never looked at.
"""
from __future__ import annotations

from flask_login import login_user

from .. import audit
from ..extensions import db
from .services import find_user


def login_from_remote_user(remote_user: str | None) -> bool:
    if not remote_user:
        return False
    # DOMAIN\\name and name@domain both map to the bare account name.
    name = remote_user.split("\\")[-1].split("@")[0].strip()
    user = find_user(name) if name else None
    if user is None or not user.active:
        audit.record(None, "sso_refused", "user", name[:60] or "-", summary="No active account for REMOTE_USER")
        db.session.commit()
        return False
    login_user(user)
    audit.record(user, "login", "user", user.id, summary="Signed in by single sign-on")
    db.session.commit()
    return True
