from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..timefmt import utcnow


class EmergencyDeclaration(db.Model):
    """A declared emergency or period of strategic support. Clocks keep running; the KPIs of the
    periods it touches are judged against the reduced targets in the rules, and flagged."""

    __tablename__ = "emergency_declaration"
    __table_args__ = (Index("ix_emergency_declaration_period", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    declared_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    end_note: Mapped[str] = mapped_column(Text, default="")

    declared_by: Mapped[User] = relationship(foreign_keys=[declared_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])

    def is_active(self, now: datetime) -> bool:
        return self.starts_at <= now and (self.ends_at is None or self.ends_at > now)

    def audit_view(self) -> dict:
        return {"kind": self.kind, "starts_at": self.starts_at, "ends_at": self.ends_at, "reason": self.reason}
