"""The send log of the daily permits-by-zone report.

Two tables, because two questions are asked of them:

* ``zone_report_day`` has one row per report day, created by the FIRST send. Its unique
  ``report_date`` is the claim that makes "sent once per day" hold on several app servers at
  once: the first send is an ``INSERT ... ON CONFLICT DO NOTHING`` and whoever inserts no row
  knows the report already went. ``first_sent_at`` is what the KPI "daily report sent 100%" is
  judged on (a resend never makes a late day on time).
* ``zone_report_send`` has one row per email actually queued: the first send and every resend,
  with who, to whom, why (resends must say why) and the outbox message that carried it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..dbtypes import UTCDateTime
from ..extensions import db
from ..mail import OutboxMessage
from ..permits.models import Permit

FIRST, RESEND = "first", "resend"


class ZoneReportDay(db.Model):
    __tablename__ = "zone_report_day"
    __table_args__ = (UniqueConstraint("report_date", name="uq_zone_report_day_report_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_date: Mapped[date] = mapped_column(Date)
    first_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_sent_by: Mapped[str] = mapped_column(String(120))
    recipients: Mapped[str] = mapped_column(Text)  # "Parking inbox <parking@...>, NSL <...>" as first sent
    send_count: Mapped[int] = mapped_column(Integer, default=1)
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)

    sends: Mapped[list["ZoneReportSend"]] = relationship(back_populates="day", order_by="ZoneReportSend.id")


class ZoneReportSend(db.Model):
    __tablename__ = "zone_report_send"
    __table_args__ = (Index("ix_zone_report_send_day", "day_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("zone_report_day.id"))
    kind: Mapped[str] = mapped_column(String(10))  # first / resend
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str] = mapped_column(String(120))
    via: Mapped[str] = mapped_column(String(10))  # cli / web / demo
    reason: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[str] = mapped_column(Text)
    permits_issued: Mapped[int] = mapped_column(Integer, default=0)
    permit_changes: Mapped[int] = mapped_column(Integer, default=0)
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id"))

    day: Mapped[ZoneReportDay] = relationship(back_populates="sends")
    outbox_message: Mapped[OutboxMessage | None] = relationship()


# The report asks "which permits stopped covering on day D" every day; without an index on
# permit.ended_at that reads the whole permit table (about 250 ms at a million permits, measured
# by bench/zone_report.py). Declared here, beside the only query that needs it, and created by
# this area's migration; it belongs to the permit table, so it can move to permits/models.py.
ix_permit_ended_at = Index("ix_permit_ended_at", Permit.ended_at)
