"""Business continuity: declaring and ending emergencies, and asking which applied when."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from .. import audit
from ..extensions import db
from ..timefmt import utcnow
from .models import EmergencyDeclaration


def active_declaration(now: datetime | None = None) -> EmergencyDeclaration | None:
    now = now or utcnow()
    return db.session.scalar(
        select(EmergencyDeclaration)
        .where(EmergencyDeclaration.starts_at <= now,
               or_(EmergencyDeclaration.ends_at.is_(None), EmergencyDeclaration.ends_at > now))
        .order_by(EmergencyDeclaration.starts_at.desc()).limit(1))


def declarations_overlapping(start: datetime, end: datetime) -> list[EmergencyDeclaration]:
    """Declarations in force at any moment of [start, end): the KPI engine flags those periods."""
    return list(db.session.scalars(
        select(EmergencyDeclaration)
        .where(EmergencyDeclaration.starts_at < end,
               or_(EmergencyDeclaration.ends_at.is_(None), EmergencyDeclaration.ends_at > start))
        .order_by(EmergencyDeclaration.starts_at)))


def all_declarations(limit: int = 50) -> list[EmergencyDeclaration]:
    return list(db.session.scalars(select(EmergencyDeclaration)
                                   .order_by(EmergencyDeclaration.starts_at.desc()).limit(limit)))


def declare(actor, *, kind: str, starts_at: datetime, ends_at: datetime | None, reason: str) -> EmergencyDeclaration:
    if ends_at is not None and ends_at <= starts_at:
        raise ValueError("The end must be after the start")
    declaration = EmergencyDeclaration(kind=kind, starts_at=starts_at, ends_at=ends_at, reason=reason.strip(),
                                       declared_by_id=actor.id)
    db.session.add(declaration)
    db.session.flush()
    audit.record(actor, "emergency_declared", "emergency", declaration.id, after=declaration.audit_view(),
                 summary=f"Declared {kind.replace('_', ' ')}")
    return declaration


def end_declaration(actor, declaration: EmergencyDeclaration, note: str = "", now: datetime | None = None) -> None:
    now = now or utcnow()
    before = declaration.audit_view()
    declaration.ends_at = max(now, declaration.starts_at)
    declaration.ended_by_id = actor.id
    declaration.end_note = note.strip()
    audit.record(actor, "emergency_ended", "emergency", declaration.id, before=before,
                 after=declaration.audit_view(), summary="Ended the emergency declaration")
