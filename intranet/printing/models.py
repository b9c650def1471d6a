"""The records of printing and posting: print batches and their envelopes, letters waiting for the
next batch, reprints, renewal reminders, the postage ledger, stationery orders and stock.

A batch keeps the PDF it produced (`PrintBatch.pdf`), so "download it again" returns exactly the
sheets the post room printed, even after permits in it have since been cancelled or reprinted.
Stock is a ledger of movements (never a counter that is overwritten), so a level can always be
explained line by line.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from ..auth.models import User
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..permits.models import Application, Customer, EvidenceRequest, Permit, Refund, Zone
from ..timefmt import utcnow

# Postage ledger categories, in the SLA's words ("Including reminder letters").
POSTAGE_CATEGORIES = {"permits_and_letters": "Permits and letters", "reminder_letters": "Reminder letters"}
LETTER_KINDS = {"evidence_request": "Evidence request", "renewal_reminder": "Renewal reminder",
                "refund": "Refund letter"}
ORDER_STATUSES = {"awaiting_approval": "Awaiting approval", "approved": "Approved, on order",
                  "received": "Received"}


class PrintBatch(db.Model):
    __tablename__ = "print_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # The filters it was chosen with, to show on the batch page.
    kind: Mapped[str] = mapped_column(String(10), default="")
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"))
    issued_from: Mapped[date | None] = mapped_column(Date)
    issued_to: Mapped[date | None] = mapped_column(Date)
    included_letters: Mapped[bool] = mapped_column(default=True)
    permit_count: Mapped[int] = mapped_column(Integer, default=0)
    letter_count: Mapped[int] = mapped_column(Integer, default=0)
    posted_envelopes: Mapped[int] = mapped_column(Integer, default=0)
    emailed_customers: Mapped[int] = mapped_column(Integer, default=0)
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    posted_resident: Mapped[int] = mapped_column(Integer, default=0)  # permits on paper, for stock on a reprint
    posted_visitor: Mapped[int] = mapped_column(Integer, default=0)
    postage_class: Mapped[str] = mapped_column(String(40), default="")
    postage_pence: Mapped[int] = mapped_column(Integer, default=0)
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    pdf_size: Mapped[int] = mapped_column(Integer, default=0)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # loaded only for a download

    created_by: Mapped[User] = relationship()
    zone: Mapped[Zone | None] = relationship()
    envelopes: Mapped[list["PrintEnvelope"]] = relationship(back_populates="batch", order_by="PrintEnvelope.position")

    @property
    def number(self) -> str:
        return f"PB-{self.id:05d}"

    def audit_view(self) -> dict:
        return {"number": self.number, "permits": self.permit_count, "letters": self.letter_count,
                "posted_envelopes": self.posted_envelopes, "emailed_customers": self.emailed_customers,
                "pages": self.page_count, "postage_class": self.postage_class, "postage_pence": self.postage_pence,
                "pdf_sha256": self.pdf_sha256}


class PrintEnvelope(db.Model):
    """One customer's share of a batch: posted in one envelope, or emailed as one PDF."""

    __tablename__ = "print_envelope"
    __table_args__ = (Index("ix_print_envelope_batch", "batch_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("print_batch.id"))
    position: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # post / email
    postcode: Mapped[str] = mapped_column(String(10), default="")
    permit_numbers: Mapped[str] = mapped_column(Text, default="")  # comma-separated, as printed
    letter_count: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str] = mapped_column(String(30), default="permits_and_letters")
    outbox_message_id: Mapped[int | None] = mapped_column(Integer)

    batch: Mapped[PrintBatch] = relationship(back_populates="envelopes")
    customer: Mapped[Customer] = relationship()


class PendingLetter(db.Model):
    """A letter for a customer who prefers post, waiting for the next print batch."""

    __tablename__ = "pending_letter"
    __table_args__ = (Index("ix_pending_letter_waiting", "print_batch_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    evidence_request_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_request.id"))
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("permit.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(120), default="system")
    print_batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batch.id"))
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship()
    application: Mapped[Application | None] = relationship()
    evidence_request: Mapped[EvidenceRequest | None] = relationship()
    permit: Mapped[Permit | None] = relationship()
    refund: Mapped[Refund | None] = relationship()


class Reprint(db.Model):
    """A permit or a whole batch printed again, and why; the permit reprint keeps its PDF."""

    __tablename__ = "print_reprint"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batch.id"), index=True)
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("permit.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    created_by: Mapped[User] = relationship()
    batch: Mapped[PrintBatch | None] = relationship()
    permit: Mapped[Permit | None] = relationship()

    def audit_view(self) -> dict:
        return {"batch_id": self.batch_id, "permit_id": self.permit_id, "reason": self.reason}


class RenewalReminder(db.Model):
    """One reminder per permit and expiry date: the unique key makes `reminders send` safe to run twice."""

    __tablename__ = "renewal_reminder"
    __table_args__ = (UniqueConstraint("permit_id", "valid_to", name="uq_renewal_reminder_permit_expiry"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"))
    valid_to: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(10))  # email / post
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outbox_message_id: Mapped[int | None] = mapped_column(Integer)
    pending_letter_id: Mapped[int | None] = mapped_column(ForeignKey("pending_letter.id"))


class PostageEntry(db.Model):
    """A line of the postage ledger: a month's (or, with no month, a whole year's) postage in a category."""

    __tablename__ = "postage_entry"
    __table_args__ = (Index("ix_postage_entry_year", "financial_year", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    financial_year: Mapped[int] = mapped_column(Integer)  # the year it starts in: 2015 for 2015-16
    month: Mapped[date | None] = mapped_column(Date)  # first of the month; None for an annual entry
    category: Mapped[str] = mapped_column(String(30))
    items: Mapped[int] = mapped_column(Integer, default=0)
    postage_class: Mapped[str] = mapped_column(String(40), default="")
    amount_pence: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))  # batch / manual
    print_batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batch.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(120), default="system")

    def audit_view(self) -> dict:
        return {"financial_year": self.financial_year, "month": self.month, "category": self.category,
                "items": self.items, "postage_class": self.postage_class, "amount_pence": self.amount_pence,
                "source": self.source, "note": self.note}


class StationeryOrder(db.Model):
    __tablename__ = "stationery_order"
    __table_args__ = (Index("ix_stationery_order_ordered_on", "ordered_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item: Mapped[str] = mapped_column(String(120))
    stock_code: Mapped[str] = mapped_column(String(40), default="")  # a stock item of the rules, if it is one
    quantity: Mapped[int] = mapped_column(Integer)
    cost_pence: Mapped[int] = mapped_column(Integer)
    ordered_on: Mapped[date] = mapped_column(Date)
    cost_code: Mapped[str] = mapped_column(String(20))  # copied from the rules when ordered
    ordered_through: Mapped[str] = mapped_column(String(120))
    ordered_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="awaiting_approval")
    note: Mapped[str] = mapped_column(Text, default="")

    ordered_by: Mapped[User] = relationship(foreign_keys=[ordered_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    def audit_view(self) -> dict:
        return {"item": self.item, "stock_code": self.stock_code, "quantity": self.quantity,
                "cost_pence": self.cost_pence, "ordered_on": self.ordered_on, "cost_code": self.cost_code,
                "ordered_through": self.ordered_through, "status": self.status,
                "approved_by_id": self.approved_by_id}


class StockMovement(db.Model):
    __tablename__ = "stock_movement"
    __table_args__ = (Index("ix_stock_movement_item", "stock_code", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_code: Mapped[str] = mapped_column(String(40))
    change: Mapped[int] = mapped_column(Integer)  # + received or counted up, - used or counted down
    reason: Mapped[str] = mapped_column(String(20))  # batch / reprint / order / count
    print_batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batch.id"))
    reprint_id: Mapped[int | None] = mapped_column(ForeignKey("print_reprint.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("stationery_order.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_name: Mapped[str] = mapped_column(String(120), default="system")
