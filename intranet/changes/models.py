"""Tables of the change request process.

Everything a decision was based on is stored as it was at the time (notice days, short notice,
staffing hours and FTE), so a later change to the rules never rewrites the history of a request.
"""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import (Boolean, Date, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..timefmt import utcnow

CHANNELS: tuple[tuple[str, str], ...] = (
    ("phone", "Phone calls"), ("email", "Emails"), ("post", "Post"),
    ("counter", "Counter visits"), ("online", "Online"),
)


class ChangeRequest(db.Model):
    __tablename__ = "change_request"
    __table_args__ = (
        Index("ix_change_request_status", "status", "id"),
        Index("ix_change_request_required_by", "required_by", "id"),
        Index("ix_change_request_requestor", "requestor_id", "id"),
        Index("ix_change_request_directorate", "directorate", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(30), default="draft")
    title: Mapped[str] = mapped_column(String(200))
    requestor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requestor_name: Mapped[str] = mapped_column(String(120), default="")
    directorate: Mapped[str] = mapped_column(String(120), default="")
    request_type: Mapped[str] = mapped_column(String(40), default="")
    route: Mapped[str] = mapped_column(String(20), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    required_by: Mapped[date | None] = mapped_column(Date)
    # Short-notice (urgent) route: why, and when it is assessed again under the variation process.
    urgent_reason: Mapped[str] = mapped_column(String(40), default="")
    urgent_detail: Mapped[str] = mapped_column(Text, default="")
    later_assessment_due: Mapped[date | None] = mapped_column(Date)
    later_assessment: Mapped[str] = mapped_column(Text, default="")
    # Minor process change route: the two conditions of the SLA.
    minor_no_resources: Mapped[bool] = mapped_column(Boolean, default=False)
    minor_directorate_process: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the requestor must provide.
    volume_phone: Mapped[int | None] = mapped_column(Integer)
    volume_email: Mapped[int | None] = mapped_column(Integer)
    volume_post: Mapped[int | None] = mapped_column(Integer)
    volume_counter: Mapped[int | None] = mapped_column(Integer)
    volume_online: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[str] = mapped_column(String(200), default="")
    implementation_plan: Mapped[str] = mapped_column(Text, default="")
    script_design: Mapped[str] = mapped_column(Text, default="")
    briefings: Mapped[str] = mapped_column(Text, default="")
    training: Mapped[str] = mapped_column(Text, default="")
    # Set on submission, with the rules in force on the day received.
    received_on: Mapped[date | None] = mapped_column(Date)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_days: Mapped[int | None] = mapped_column(Integer)
    short_notice: Mapped[bool | None] = mapped_column(Boolean)
    # Assessment by the CSC.
    cost_pence: Mapped[int | None] = mapped_column(Integer)
    performance_levels: Mapped[str] = mapped_column(Text, default="")
    risk_assessment: Mapped[str] = mapped_column(Text, default="")
    funding: Mapped[str] = mapped_column(Text, default="")
    prioritisation: Mapped[str] = mapped_column(Text, default="")
    change_control: Mapped[str] = mapped_column(Text, default="")
    extra_contacts_per_week: Mapped[int | None] = mapped_column(Integer)
    handling_minutes: Mapped[float | None] = mapped_column(Float)
    extra_hours_per_week: Mapped[float | None] = mapped_column(Float)
    extra_fte: Mapped[float | None] = mapped_column(Float)
    varies_sla: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str] = mapped_column(String(20), default="")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Later statuses.
    go_live_on: Mapped[date | None] = mapped_column(Date)
    briefing_on: Mapped[date | None] = mapped_column(Date)
    implemented_on: Mapped[date | None] = mapped_column(Date)
    implementation_notes: Mapped[str] = mapped_column(Text, default="")
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    review_findings: Mapped[str] = mapped_column(Text, default="")
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requestor: Mapped[User] = relationship(foreign_keys=[requestor_id], lazy="joined")
    assessed_by: Mapped[User | None] = relationship(foreign_keys=[assessed_by_id])
    sign_offs: Mapped[list["ChangeSignOff"]] = relationship(
        back_populates="request", lazy="selectin", order_by="ChangeSignOff.id")
    attachments: Mapped[list["ChangeAttachment"]] = relationship(
        back_populates="request", lazy="selectin", order_by="ChangeAttachment.id")

    @property
    def reference(self) -> str:
        return f"CR-{self.id:04d}"

    def volume(self, channel: str) -> int | None:
        return getattr(self, f"volume_{channel}")

    @property
    def volumes(self) -> dict[str, int | None]:
        return {code: self.volume(code) for code, _ in CHANNELS}

    @property
    def total_volume(self) -> int:
        return sum(v or 0 for v in self.volumes.values())

    def audit_view(self) -> dict:
        """Every column but bookkeeping, so the timeline shows what changed field by field."""
        skip = {"id", "created_at", "updated_at"}
        return {c.key: getattr(self, c.key) for c in self.__table__.columns if c.key not in skip}


class ChangeSignOff(db.Model):
    """One party's sign-off: who, when and what they said. One row per party per request."""

    __tablename__ = "change_sign_off"
    __table_args__ = (UniqueConstraint("request_id", "party", name="uq_change_sign_off_request_party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("change_request.id"))
    party: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[ChangeRequest] = relationship(back_populates="sign_offs")
    user: Mapped[User] = relationship(lazy="joined")


class ChangeAttachment(db.Model):
    __tablename__ = "change_attachment"
    __table_args__ = (Index("ix_change_attachment_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("change_request.id"))
    stored_name: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ChangeRequest] = relationship(back_populates="attachments")


class SlaVariation(db.Model):
    """An agreed variation of the SLA and the YAML entry the administrator adds to the rules file.

    The rules file stays the single source of truth: this row records what was agreed and
    whether it is in force yet is read from the loaded rules, never stored here.
    """

    __tablename__ = "sla_variation"
    __table_args__ = (Index("ix_sla_variation_request", "change_request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    variation_key: Mapped[str] = mapped_column(String(80), unique=True)
    change_request_id: Mapped[int | None] = mapped_column(ForeignKey("change_request.id"))
    effective_from: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    agreed_by: Mapped[str] = mapped_column(String(300))
    changes_json: Mapped[str] = mapped_column(Text)
    yaml_text: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    change_request: Mapped[ChangeRequest | None] = relationship()
    recorded_by: Mapped[User] = relationship()

    @property
    def changes(self) -> dict:
        return json.loads(self.changes_json)

    def audit_view(self) -> dict:
        return {"variation_key": self.variation_key, "effective_from": self.effective_from,
                "reason": self.reason, "agreed_by": self.agreed_by, "changes": self.changes,
                "change_request_id": self.change_request_id}


class ReviewReminder(db.Model):
    """A 12-week reminder sent for one review on the calendar; unique so `remind` is idempotent."""

    __tablename__ = "review_reminder"
    __table_args__ = (UniqueConstraint("review_kind", "review_on", name="uq_review_reminder_kind_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_kind: Mapped[str] = mapped_column(String(30))
    review_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[str] = mapped_column(Text, default="")
    emailed: Mapped[bool] = mapped_column(Boolean, default=False)


class SystemChangeNotice(db.Model):
    """The Parking Team telling the CSC about a database or system change."""

    __tablename__ = "system_change_notice"
    __table_args__ = (Index("ix_system_change_notice_change_on", "change_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    what_changes: Mapped[str] = mapped_column(Text)
    change_on: Mapped[date] = mapped_column(Date)
    effect_on_csc: Mapped[str] = mapped_column(Text)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    published_by: Mapped[User] = relationship()  # not eager: the banner's query must stay one query

    def audit_view(self) -> dict:
        return {"title": self.title, "what_changes": self.what_changes, "change_on": self.change_on,
                "effect_on_csc": self.effect_on_csc}


class NoticeRead(db.Model):
    """A CSC user confirming they have read a notice. The (user, notice) index serves the banner."""

    __tablename__ = "system_change_notice_read"
    __table_args__ = (UniqueConstraint("user_id", "notice_id", name="uq_notice_read_user_notice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("system_change_notice.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
