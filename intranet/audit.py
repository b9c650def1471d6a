"""Append-only audit trail: who did what, when, to which record, with the values before and after.

Every state change in the app calls `record` inside the same transaction as the change, so a
change without its audit entry (or the reverse) can never be committed.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from .dbtypes import UTCDateTime
from .extensions import db
from .timefmt import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_subject", "subject_type", "subject_id", "id"),
        Index("ix_audit_entry_actor", "actor_id", "id"),
        Index("ix_audit_entry_occurred_at", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(60))
    subject_id: Mapped[str] = mapped_column(String(60))
    summary: Mapped[str] = mapped_column(Text, default="")
    before_json: Mapped[str | None] = mapped_column(Text)
    after_json: Mapped[str | None] = mapped_column(Text)

    @property
    def before(self) -> dict | None:
        return json.loads(self.before_json) if self.before_json else None

    @property
    def after(self) -> dict | None:
        return json.loads(self.after_json) if self.after_json else None

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """Field-by-field differences, for the audit page and timelines."""
        before, after = self.before or {}, self.after or {}
        keys = sorted(set(before) | set(after))
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(mapper, connection, target):
    raise PermissionError("audit entries are append-only")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return value


def record(actor, action: str, subject_type: str, subject_id: Any, *,
           before: dict | None = None, after: dict | None = None, summary: str = "") -> AuditEntry:
    """Adds an entry to the current session; the caller's commit makes it permanent with the change.

    `actor` is a user (or None for the system, e.g. cron jobs and failed logins by unknown names).
    """
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None) or (actor if isinstance(actor, str) else "system"),
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        summary=summary,
        before_json=json.dumps(_jsonable(before), sort_keys=True) if before is not None else None,
        after_json=json.dumps(_jsonable(after), sort_keys=True) if after is not None else None,
    )
    db.session.add(entry)
    return entry


def entries_for(subject_type: str, subject_id: Any) -> list[AuditEntry]:
    """The timeline of one record, oldest first."""
    return list(db.session.scalars(
        db.select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == str(subject_id))
        .order_by(AuditEntry.id)
    ))
