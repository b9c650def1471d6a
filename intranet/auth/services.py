"""Sign-in and account rules, kept free of request objects so they are tested directly."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from .. import audit
from ..extensions import db
from ..timefmt import utcnow, format_time
from .models import User, UserRole
from .roles import ALL_ROLES

GENERIC_FAILURE = "Enter a correct username and password"


@dataclass(frozen=True)
class SignIn:
    user: User | None
    error: str | None = None


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def authenticate(username: str, password: str, *, max_failures: int, lock_minutes: int,
                 now: datetime | None = None) -> SignIn:
    """Checks a password and counts failures in the database, so a lock holds across app servers.

    Commits its own transaction: a failed attempt must be remembered even though nothing else changes.
    """
    now = now or utcnow()
    user = find_user(username)
    if user is None:
        audit.record(None, "login_failed", "user", username[:60], summary="Unknown username")
        db.session.commit()
        return SignIn(None, GENERIC_FAILURE)
    if user.locked_until and user.locked_until > now:
        audit.record(user, "login_refused_locked", "user", user.id, summary="Account locked")
        db.session.commit()
        return SignIn(None, f"This account is locked after too many failed attempts. "
                            f"Try again after {format_time(user.locked_until)}")
    if not user.active:
        audit.record(user, "login_refused_inactive", "user", user.id, summary="Account deactivated")
        db.session.commit()
        return SignIn(None, GENERIC_FAILURE)
    if not user.check_password(password):
        # One conditional UPDATE so two app servers counting at once cannot lose a failure.
        db.session.execute(update(User).where(User.id == user.id)
                           .values(failed_logins=User.failed_logins + 1))
        db.session.refresh(user)
        audit.record(user, "login_failed", "user", user.id,
                     summary=f"Wrong password ({user.failed_logins} of {max_failures})")
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            audit.record(user, "account_locked", "user", user.id,
                         after={"locked_until": user.locked_until},
                         summary=f"Locked for {lock_minutes} minutes after {max_failures} failed attempts")
            db.session.commit()
            return SignIn(None, f"This account is locked after too many failed attempts. "
                                f"Try again after {format_time(user.locked_until)}")
        db.session.commit()
        return SignIn(None, GENERIC_FAILURE)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(user, "login", "user", user.id, summary="Signed in")
    db.session.commit()
    return SignIn(user)


def create_user(actor, *, username: str, full_name: str, email: str, roles, password: str | None,
                is_demo: bool = False) -> User:
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown role: {', '.join(sorted(unknown))}")
    if find_user(username):
        raise ValueError(f"username {username!r} is already taken")
    user = User(username=username.strip(), full_name=full_name.strip(), email=email.strip(), is_demo=is_demo)
    user.roles = roles
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user_created", "user", user.id, after=user.audit_view(),
                 summary=f"Created user {user.username}")
    return user


def update_user(actor, user: User, *, full_name: str, email: str, roles) -> None:
    before = user.audit_view()
    user.full_name = full_name.strip()
    user.email = email.strip()
    user.roles = roles
    audit.record(actor, "user_updated", "user", user.id, before=before, after=user.audit_view(),
                 summary=f"Updated user {user.username}")


def set_active(actor, user: User, active: bool) -> None:
    before = user.audit_view()
    user.active = active
    audit.record(actor, "user_reactivated" if active else "user_deactivated", "user", user.id,
                 before=before, after=user.audit_view(),
                 summary=f"{'Reactivated' if active else 'Deactivated'} user {user.username}")


def filtered_users(query: str = "", role: str = "", status: str = ""):
    """The admin list's filter: name or username prefix/substring, role, active or not."""
    stmt = select(User).order_by(func.lower(User.username))
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(User.full_name).like(like)))
    if role:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    return stmt
