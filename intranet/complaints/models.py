"""Tables of the complaint log.

A complaint climbs a ladder one rung at a time (`ComplaintStage`); each rung has the clocks the
rules gave it when it was entered (`ComplaintClock`), with the deadline worked out then and kept,
so a later change of the rules never rewrites whether a past complaint was answered on time.
`next_deadline_at` on the complaint is the earliest running deadline, kept up to date by the
services, because the log sorts and filters on it and must not work it out row by row.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..timefmt import utcnow

PROCEDURES: dict[str, str] = {"internal": "Internal (SLA procedure)", "public": "Public (council procedure)"}
# Who complained decides the procedure: the SLA sends customers, end users and partners one way
# and members of the public the other.
SOURCES: dict[str, str] = {
    "internal": "Internal customer or end user",
    "partner": "Partner organisation",
    "public": "Member of the public",
}
PROCEDURE_OF_SOURCE = {"internal": "internal", "partner": "internal", "public": "public"}
CHANNELS: dict[str, str] = {
    "letter": "Letter", "email": "Email", "phone": "Phone", "in_person": "In person", "online": "Online form",
}
STATUSES: dict[str, str] = {"open": "Open", "closed": "Closed"}
OUTCOMES: dict[str, str] = {"upheld": "Upheld", "partly_upheld": "Partly upheld", "not_upheld": "Not upheld"}
EVENT_KINDS: dict[str, str] = {
    "received": "Received", "assigned": "Handler assigned", "acknowledged": "Acknowledged", "note": "Note",
    "contact": "Contact with the complainant", "response": "Response", "meeting": "Meeting",
    "escalated": "Escalated", "extension": "Extension", "agreement": "Agreement", "closed": "Closed",
    "reopened": "Reopened", "letter": "Letter produced", "email": "Email sent",
}
SEND_METHODS: dict[str, str] = {"letter": "Letter (PDF to print and post)", "email": "Email to the complainant"}


class Complaint(db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        Index("ix_complaint_next_deadline", "next_deadline_at", "id"),
        Index("ix_complaint_status_deadline", "status", "next_deadline_at", "id"),
        Index("ix_complaint_handler", "handler_id", "status", "next_deadline_at", "id"),
        Index("ix_complaint_raised_by", "raised_by_id", "id"),
        Index("ix_complaint_received", "received_at", "id"),
        Index("ix_complaint_name_key", "complainant_key", "id"),
        Index("ix_complaint_org_key", "organisation_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    complainant_name: Mapped[str] = mapped_column(String(200))
    complainant_key: Mapped[str] = mapped_column(String(200), default="")  # casefolded, for prefix search
    organisation: Mapped[str] = mapped_column(String(200), default="")
    organisation_key: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_address: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    category: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("permit.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    linked_references: Mapped[str] = mapped_column(String(200), default="")  # as typed, for the page

    status: Mapped[str] = mapped_column(String(10), default="open")
    step: Mapped[str] = mapped_column(String(40))  # the rung of the ladder it is on now
    stage_number: Mapped[int] = mapped_column(Integer, default=1)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    next_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    outcome: Mapped[str] = mapped_column(String(20), default="")
    remedy: Mapped[str] = mapped_column(Text, default="")
    agreement_text: Mapped[str] = mapped_column(Text, default="")
    learning_action: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_step: Mapped[str] = mapped_column(String(40), default="")

    raised_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id], lazy="joined")
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    stages: Mapped[list["ComplaintStage"]] = relationship(
        back_populates="complaint", order_by="ComplaintStage.number", cascade="all, delete-orphan")
    clocks: Mapped[list["ComplaintClock"]] = relationship(
        back_populates="complaint", order_by="ComplaintClock.id", cascade="all, delete-orphan")

    @property
    def reference(self) -> str:
        return f"CMP-{self.id:05d}"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def current_stage(self) -> "ComplaintStage | None":
        return self.stages[-1] if self.stages else None

    def audit_view(self) -> dict:
        skip = {"id", "created_at", "complainant_key", "organisation_key"}
        return {c.key: getattr(self, c.key) for c in self.__table__.columns if c.key not in skip}


class ComplaintStage(db.Model):
    """One rung climbed: who handled it, when it began (the clocks count from then) and why."""

    __tablename__ = "complaint_stage"
    __table_args__ = (Index("ix_complaint_stage_complaint", "complaint_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    complaint: Mapped[Complaint] = relationship(back_populates="stages")
    handler: Mapped[User | None] = relationship(lazy="joined")


class ComplaintClock(db.Model):
    """One clock of one rung. `started_at` is what the engine is given as the receipt: the rung's
    start, or for a clock that `starts_after` another, the moment that one was met."""

    __tablename__ = "complaint_clock"
    __table_args__ = (
        Index("ix_complaint_clock_complaint", "complaint_id", "id"),
        Index("ix_complaint_clock_running", "completed_at", "stopped_at", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("complaint_stage.id", ondelete="CASCADE"))
    clock_name: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # left the rung unmet (escalated/closed)
    at_risk_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    complaint: Mapped[Complaint] = relationship(back_populates="clocks")
    stage: Mapped[ComplaintStage] = relationship()

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.completed_at is None and self.stopped_at is None


class ComplaintEvent(db.Model):
    """The complaint's own timeline, in the handler's words (the audit trail keeps the field changes)."""

    __tablename__ = "complaint_event"
    __table_args__ = (Index("ix_complaint_event_complaint", "complaint_id", "occurred_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_document.id"))

    document: Mapped["ComplaintDocument | None"] = relationship()


class ComplaintDocument(db.Model):
    """A letter as it was sent (acknowledgement, response, record of the agreement), kept so the
    complaint shows exactly what the complainant received."""

    __tablename__ = "complaint_document"
    __table_args__ = (Index("ix_complaint_document_complaint", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    method: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
