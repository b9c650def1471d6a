"""Who may use each endpoint, declared once beside the view and enforced before every request.

Fail closed: an endpoint with no declaration is refused to everyone, so a forgotten decorator
shows up as a 403 in the access-matrix test rather than as an open door.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

PUBLIC = "public"
_ATTR = "allowed_roles"


def allow(*roles: str) -> Callable:
    """Declares the roles that may call a view; `allow(PUBLIC)` opens it to anonymous users."""
    if not roles:
        raise ValueError("allow() needs at least one role")

    def mark(view: Callable) -> Callable:
        setattr(view, _ATTR, frozenset(roles))
        return view

    return mark


def declared_roles(view: Callable | None) -> frozenset[str] | None:
    return getattr(view, _ATTR, None) if view is not None else None


def is_public(view: Callable | None) -> bool:
    return PUBLIC in (declared_roles(view) or ())


def may_use(user_roles: Iterable[str], view: Callable | None) -> bool:
    allowed = declared_roles(view)
    if not allowed:
        return False
    return PUBLIC in allowed or bool(allowed & set(user_roles))
