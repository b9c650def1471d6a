"""Tables of the KPI area: telephony intervals, quality evaluations, satisfaction responses, KPI packs,
service review meetings.

Call statistics are kept one row per interval (not a daily rollup) because the telephone system's
export IS per interval, `--replace` must swap exact intervals, and the drill-down lists the intervals
behind a figure. A month is at most 31 x 48 rows per queue, so its sums read a bounded slice of the
covering index `ix_call_interval_counted` (interval_start, counted, offered, answered, abandoned)
without touching the table: the cost of a month does not grow with the years stored.
"""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import (Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..timefmt import utcnow


class TelephonyImport(db.Model):
    """One accepted telephony file: what it held and what it did (rejected files store nothing)."""

    __tablename__ = "telephony_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(120))
    rows: Mapped[int] = mapped_column(Integer)
    counted_rows: Mapped[int] = mapped_column(Integer)
    replaced_rows: Mapped[int] = mapped_column(Integer, default=0)
    ignored_columns: Mapped[str] = mapped_column(Text, default="")
    first_interval: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_interval: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallInterval(db.Model):
    """One interval of the telephone system's statistics. `counted` is decided at import from the rules
    in force on its day: intervals outside service hours or on non-working days are kept but not counted."""

    __tablename__ = "call_interval"
    __table_args__ = (
        UniqueConstraint("interval_start", "queue", name="uq_call_interval_start_queue"),
        Index("ix_call_interval_counted", "interval_start", "counted", "offered", "answered", "abandoned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=30)
    queue: Mapped[str] = mapped_column(String(60), default="")
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    answered_within_threshold: Mapped[int | None] = mapped_column(Integer)
    average_wait_seconds: Mapped[int | None] = mapped_column(Integer)
    counted: Mapped[bool] = mapped_column(Boolean)
    import_id: Mapped[int] = mapped_column(ForeignKey("telephony_import.id"), index=True)


class QualityEvaluation(db.Model):
    """A team leader's evaluation of one contact handled by a staff member."""

    __tablename__ = "quality_evaluation"
    __table_args__ = (
        Index("ix_quality_evaluation_on", "evaluated_on", "staff_id"),
        Index("ix_quality_evaluation_staff", "staff_id", "evaluated_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    evaluated_on: Mapped[date] = mapped_column(Date)
    contact_reference: Mapped[str] = mapped_column(String(60))
    scores_json: Mapped[str] = mapped_column(Text)  # {criterion: score} against the rules of its day
    score_out_of: Mapped[int] = mapped_column(Integer)
    overall_score: Mapped[float] = mapped_column(Float)  # a percentage
    comments: Mapped[str] = mapped_column(Text, default="")
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[User] = relationship(foreign_keys=[staff_id])
    evaluator: Mapped[User] = relationship(foreign_keys=[evaluator_id])

    @property
    def scores(self) -> dict[str, int]:
        return json.loads(self.scores_json)

    def audit_view(self) -> dict:
        return {"staff_id": self.staff_id, "evaluated_on": self.evaluated_on,
                "contact_reference": self.contact_reference, "scores": self.scores,
                "overall_score": self.overall_score, "comments": self.comments}


class SatisfactionResponse(db.Model):
    """One customer satisfaction survey answer: satisfied yes/no, or a 1-5 score judged by the rules."""

    __tablename__ = "satisfaction_response"
    __table_args__ = (Index("ix_satisfaction_response_on", "responded_on", "satisfied"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    responded_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(10))
    score: Mapped[int | None] = mapped_column(Integer)
    satisfied: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(10), default="form")  # form / import / demo
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceReview(db.Model):
    """A six-monthly service review meeting with the Head of Service for Parking or the monitoring officer."""

    __tablename__ = "service_review"
    __table_args__ = (Index("ix_service_review_held_on", "held_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[str] = mapped_column(Text)  # one "Name <email>" a line
    minutes: Mapped[str] = mapped_column(Text, default="")
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actions: Mapped[list["ReviewAction"]] = relationship(back_populates="review", order_by="ReviewAction.id",
                                                         lazy="selectin")

    @property
    def attendee_list(self) -> list[tuple[str, str]]:
        from .reviews import parse_attendees

        return parse_attendees(self.attendees)[0]

    def audit_view(self) -> dict:
        return {"held_on": self.held_on, "title": self.title, "attendees": self.attendees,
                "minutes": self.minutes}


class ReviewAction(db.Model):
    __tablename__ = "review_action"
    __table_args__ = (Index("ix_review_action_review", "review_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("service_review.id"))
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)

    review: Mapped[ServiceReview] = relationship(back_populates="actions")

    def audit_view(self) -> dict:
        return {"description": self.description, "owner": self.owner, "due_on": self.due_on,
                "done_on": self.done_on}


class KpiPack(db.Model):
    """The monthly KPI pack for one month: commentary, the PDF, when it was due, produced and distributed.

    `produced_at` is the FIRST production: the KPI `kpi_pack_on_time` is judged on it, so making the PDF
    again later (after a correction) never turns a late pack into an on-time one.
    """

    __tablename__ = "kpi_pack"
    __table_args__ = (UniqueConstraint("month", name="uq_kpi_pack_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # the first of the month reported on
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issues: Mapped[str] = mapped_column(Text, default="")  # issues impacting service provision
    proposals: Mapped[str] = mapped_column(Text, default="")  # proposals for service or process improvement
    produced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    produced_by: Mapped[str] = mapped_column(String(120), default="")
    regenerated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    distributed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    distributed_to: Mapped[str] = mapped_column(Text, default="")
    review_id: Mapped[int | None] = mapped_column(ForeignKey("service_review.id"))

    review: Mapped[ServiceReview | None] = relationship()

    @property
    def on_time(self) -> bool | None:
        return None if self.produced_at is None else self.produced_at <= self.due_at

    def audit_view(self) -> dict:
        return {"month": self.month, "due_at": self.due_at, "produced_at": self.produced_at,
                "distributed_at": self.distributed_at, "distributed_to": self.distributed_to,
                "issues": self.issues, "proposals": self.proposals}
