"""The records of the contacts area: enquiries, cash receipts and the day each receipt is banked in.

`contact_day` and `business_day` are the Europe/London day of the contact or payment, stored so
"today's contacts", the volumes by day/week/month and a day's cash-up are answered from an index
instead of converting every timestamp. Nothing here is ever deleted: a wrong cash receipt is
reversed by a negative receipt linked to it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..timefmt import utcnow

CHANNELS = {"phone": "Phone", "email": "Email", "post": "Post", "counter": "Counter"}
REPLY_STATES = {"none": "No reply needed", "open": "Reply due", "replied": "Replied"}


class Enquiry(db.Model):
    """One contact from a member of the public about the scheme, logged by the advisor who handled it."""

    __tablename__ = "enquiry"
    __table_args__ = (
        # Covering for the volumes query (sum of handling minutes too), so it never touches the table.
        Index("ix_enquiry_day", "contact_day", "channel", "category", "handling_minutes"),
        Index("ix_enquiry_reply_queue", "reply_state", "reply_due_at", "id"),
        Index("ix_enquiry_logged_by_day", "logged_by_id", "contact_day", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contacted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    contact_day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text, default="")
    handling_minutes: Mapped[int] = mapped_column(Integer)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # none / open / replied; the reply clock is the rules' working days for the channel.
    reply_state: Mapped[str] = mapped_column(String(10), default="none")
    reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reply_note: Mapped[str] = mapped_column(Text, default="")

    logged_by: Mapped[User] = relationship(foreign_keys=[logged_by_id])
    replied_by: Mapped[User | None] = relationship(foreign_keys=[replied_by_id])
    customer = relationship("Customer")
    application = relationship("Application")

    @property
    def reference(self) -> str:
        return f"E{self.id:07d}"

    @property
    def needs_reply(self) -> bool:
        return self.reply_state != "none"

    def audit_view(self) -> dict:
        return {"channel": self.channel, "category": self.category, "customer_id": self.customer_id,
                "application_id": self.application_id, "summary": self.summary, "outcome": self.outcome,
                "handling_minutes": self.handling_minutes, "reply_state": self.reply_state,
                "reply_due_at": self.reply_due_at, "replied_at": self.replied_at, "reply_note": self.reply_note}


class CashDay(db.Model):
    """A London day's cash: the running recorded total of its receipts, and once closed, its cash-up.

    The running `recorded_total_pence` and `receipt_count` are moved by a conditional UPDATE
    (`... WHERE closed_at IS NULL`) in the same transaction as each receipt, so a receipt can never
    land in a day that has been closed, on SQLite or PostgreSQL, and closing checks that the day
    still holds exactly the receipts the person closing it saw.
    """

    __tablename__ = "cash_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, unique=True)
    receipt_count: Mapped[int] = mapped_column(Integer, default=0)
    recorded_total_pence: Mapped[int] = mapped_column(Integer, default=0)
    counted_total_pence: Mapped[int | None] = mapped_column(Integer)
    difference_pence: Mapped[int | None] = mapped_column(Integer)
    difference_explanation: Mapped[str] = mapped_column(Text, default="")
    banked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    bag_number: Mapped[str] = mapped_column(String(40), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    banked_by: Mapped[User | None] = relationship(foreign_keys=[banked_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def audit_view(self) -> dict:
        return {"business_day": self.business_day, "receipt_count": self.receipt_count,
                "recorded_total_pence": self.recorded_total_pence, "counted_total_pence": self.counted_total_pence,
                "difference_pence": self.difference_pence, "difference_explanation": self.difference_explanation,
                "banked_by_id": self.banked_by_id, "bag_number": self.bag_number, "closed_at": self.closed_at}


class CashReceipt(db.Model):
    """A cash payment for an enforcement charge taken by exception, or the reversal of one.

    A reversal is a receipt of its own (its own number, on the day it is made) for minus the
    original amount, linked by `reverses_id`; the unique key allows one reversal per receipt.
    """

    __tablename__ = "cash_receipt"
    __table_args__ = (
        Index("ix_cash_receipt_day", "business_day", "id"),
        Index("ix_cash_receipt_status", "status", "id"),
        Index("ix_cash_receipt_pcn", "pcn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_number: Mapped[str] = mapped_column(String(12), unique=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    business_day: Mapped[date] = mapped_column(Date)
    pcn: Mapped[str] = mapped_column(String(20))
    amount_pence: Mapped[int] = mapped_column(Integer)
    payer_name: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    taken_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # awaiting_approval / approved
    status: Mapped[str] = mapped_column(String(20), default="awaiting_approval")
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("cash_receipt.id"), unique=True)
    is_reversed: Mapped[bool] = mapped_column(Boolean, default=False)

    taken_by: Mapped[User] = relationship(foreign_keys=[taken_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    reverses: Mapped["CashReceipt | None"] = relationship(remote_side=[id], foreign_keys=[reverses_id])

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None

    def audit_view(self) -> dict:
        return {"receipt_number": self.receipt_number, "pcn": self.pcn, "amount_pence": self.amount_pence,
                "payer_name": self.payer_name, "reason": self.reason, "status": self.status,
                "business_day": self.business_day, "reverses_id": self.reverses_id, "is_reversed": self.is_reversed}
