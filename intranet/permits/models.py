"""The records of permit casework.

Denormalised columns on Application (zone, postcode, name_key, is_open, deadline_at) exist so
the queue's filters, sorts and searches are answered from indexes alone: a page of the queue
costs the same at a million applications as at a thousand.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User
from ..dbtypes import UTCDateTime
from ..extensions import db
from ..timefmt import utcnow

KINDS = {"resident": "Resident permit", "visitor": "Visitor permits"}
TYPES = {"new": "New", "renewal": "Renewal"}
CHANNELS = {"post": "Post", "email": "Email", "phone": "Phone", "counter": "Counter", "online": "Online"}
PREFERRED_CHANNELS = {"email": "Email", "post": "Post", "phone": "Phone"}
STATUSES = {
    "received": "Received: evidence to check",
    "awaiting_evidence": "Waiting for the customer",
    "ready": "Ready to issue",
    "issued": "Issued",
    "refused": "Refused",
    "withdrawn": "Withdrawn",
}
OPEN_STATUSES = ("received", "awaiting_evidence", "ready")
PERMIT_STATUSES = {"active": "Active", "cancelled": "Cancelled", "refunded": "Refunded", "replaced": "Replaced",
                   "expired": "Expired"}


class Counter(db.Model):
    """Sequences for permit, application and customer numbers, shared by every app server."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Setting(db.Model):
    """Small named values the app remembers, e.g. the fingerprint of the rules deadlines were computed with."""

    __tablename__ = "app_setting"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class Zone(db.Model):
    __tablename__ = "zone"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    streets: Mapped[list["ZoneStreet"]] = relationship(back_populates="zone", order_by="ZoneStreet.street",
                                                       cascade="all, delete-orphan")

    def audit_view(self) -> dict:
        return {"code": self.code, "name": self.name, "active": self.active}


class ZoneStreet(db.Model):
    """A street whose addresses are eligible for the zone, unless an address is excluded."""

    __tablename__ = "zone_street"
    __table_args__ = (UniqueConstraint("street_key", name="uq_zone_street_street_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"), index=True)
    street: Mapped[str] = mapped_column(String(120))
    street_key: Mapped[str] = mapped_column(String(120))

    zone: Mapped[Zone] = relationship(back_populates="streets")


class Address(db.Model):
    """An address from the council's gazetteer (keyed by UPRN)."""

    __tablename__ = "address"

    id: Mapped[int] = mapped_column(primary_key=True)
    uprn: Mapped[str] = mapped_column(String(20), unique=True)
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(80), default="")
    postcode: Mapped[str] = mapped_column(String(10), index=True)
    street: Mapped[str] = mapped_column(String(120), default="")
    street_key: Mapped[str] = mapped_column(String(120), default="", index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"), index=True)
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    exclusion_reason: Mapped[str] = mapped_column(String(200), default="")

    zone: Mapped[Zone | None] = relationship()

    @property
    def one_line(self) -> str:
        return ", ".join(p for p in (self.line1, self.line2, self.town, self.postcode) if p)


class Customer(db.Model):
    """A household: the permit holder and where they live."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120), index=True)
    surname_key: Mapped[str] = mapped_column(String(60), default="", index=True)
    address_id: Mapped[int | None] = mapped_column(ForeignKey("address.id"), index=True)
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(80), default="")
    postcode: Mapped[str] = mapped_column(String(10), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"), index=True)
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    preferred_channel: Mapped[str] = mapped_column(String(10), default="post")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    zone: Mapped[Zone] = relationship()
    address: Mapped[Address | None] = relationship()

    @property
    def address_lines(self) -> list[str]:
        return [p for p in (self.address_line1, self.address_line2, self.town, self.postcode) if p]

    def audit_view(self) -> dict:
        return {"name": self.name, "address": ", ".join(self.address_lines), "zone_id": self.zone_id,
                "email": self.email, "phone": self.phone, "preferred_channel": self.preferred_channel}


class Application(db.Model):
    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_queue", "is_open", "kind", "app_type", "deadline_at", "id"),
        Index("ix_application_open_deadline", "is_open", "deadline_at", "id"),
        Index("ix_application_open_zone_status", "is_open", "zone_id", "status", "deadline_at", "id"),
        Index("ix_application_assignee", "assignee_id", "is_open", "deadline_at", "id"),
        Index("ix_application_vrm", "vrm"),
        Index("ix_application_postcode", "postcode"),
        Index("ix_application_name_key", "name_key"),
        Index("ix_application_surname_key", "surname_key"),
        Index("ix_application_household", "customer_id", "kind", "is_open"),
        Index("ix_application_decided", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"))
    kind: Mapped[str] = mapped_column(String(10))
    app_type: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="received")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    documents_complete_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Indexed so the queue sorts and filters by clock without computing it per row. Before the
    # documents are complete this is provisional (counted from receipt) so old post rises to the top.
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    vrm: Mapped[str] = mapped_column(String(10), default="")
    vehicle_make: Mapped[str] = mapped_column(String(40), default="")
    vehicle_colour: Mapped[str] = mapped_column(String(30), default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    renewal_of_id: Mapped[int | None] = mapped_column(ForeignKey("permit.id", use_alter=True))
    postcode: Mapped[str] = mapped_column(String(10), default="")
    name_key: Mapped[str] = mapped_column(String(120), default="")
    surname_key: Mapped[str] = mapped_column(String(60), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_on_time: Mapped[bool | None] = mapped_column(Boolean)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    fee_pence: Mapped[int] = mapped_column(Integer, default=0)
    payment_reference: Mapped[str] = mapped_column(String(60), default="")

    customer: Mapped[Customer] = relationship()
    zone: Mapped[Zone] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    evidence: Mapped[list["EvidenceItem"]] = relationship(back_populates="application", order_by="EvidenceItem.id")
    pauses: Mapped[list["ClockPause"]] = relationship(order_by="ClockPause.started_at")
    requests: Mapped[list["EvidenceRequest"]] = relationship(order_by="EvidenceRequest.requested_at")

    @property
    def clock_started(self) -> bool:
        return self.documents_complete_at is not None

    def audit_view(self) -> dict:
        return {"status": self.status, "kind": self.kind, "type": self.app_type, "channel": self.channel,
                "vrm": self.vrm, "assignee_id": self.assignee_id, "received_at": self.received_at,
                "documents_complete_at": self.documents_complete_at, "deadline_at": self.deadline_at,
                "quantity": self.quantity}


class EvidenceItem(db.Model):
    __tablename__ = "evidence_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    evidence_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="received")  # received / accepted / rejected
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    valid_until: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200), default="")
    stored_name: Mapped[str] = mapped_column(String(80), default="")
    original_name: Mapped[str] = mapped_column(String(200), default="")
    mime_type: Mapped[str] = mapped_column(String(40), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)

    application: Mapped[Application] = relationship(back_populates="evidence")
    checked_by: Mapped[User | None] = relationship()

    def audit_view(self) -> dict:
        return {"type": self.evidence_type, "status": self.status, "received_at": self.received_at,
                "valid_until": self.valid_until, "rejection_reason": self.rejection_reason,
                "file": self.original_name}


class EvidenceRequest(db.Model):
    __tablename__ = "evidence_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    method: Mapped[str] = mapped_column(String(10))  # letter / email
    items: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")

    requested_by: Mapped[User] = relationship()


class ClockPause(db.Model):
    """Waiting on the customer after the clock started (a payment, a clarification)."""

    __tablename__ = "clock_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))


class Permit(db.Model):
    __tablename__ = "permit"
    __table_args__ = (
        Index("ix_permit_vrm_validity", "vrm", "valid_from", "valid_to"),
        Index("ix_permit_customer", "customer_id", "kind", "status"),
        Index("ix_permit_issued_at", "issued_at"),
        Index("ix_permit_application", "application_id"),
        Index("ix_permit_valid_to", "status", "valid_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    is_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"))
    vrm: Mapped[str] = mapped_column(String(10), default="")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="active")
    fee_pence: Mapped[int] = mapped_column(Integer, default=0)
    payment_reference: Mapped[str] = mapped_column(String(60), default="")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("permit.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str] = mapped_column(String(40), default="")  # cancelled, vehicle_change, lost_stolen, refunded
    end_note: Mapped[str] = mapped_column(Text, default="")
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    print_batch_id: Mapped[int | None] = mapped_column(Integer, index=True)

    zone: Mapped[Zone] = relationship()
    customer: Mapped[Customer] = relationship()
    issued_by: Mapped[User | None] = relationship()
    application: Mapped[Application | None] = relationship(foreign_keys=[application_id])

    def covers(self, on: date) -> bool:
        """Enforcement's question; the day a permit ended is a London day, not a UTC one."""
        from ..timefmt import LONDON

        return self.valid_from <= on <= self.valid_to and (
            self.ended_at is None or self.ended_at.astimezone(LONDON).date() > on)

    def audit_view(self) -> dict:
        return {"number": self.number, "kind": self.kind, "vrm": self.vrm, "zone_id": self.zone_id,
                "valid_from": self.valid_from, "valid_to": self.valid_to, "status": self.status,
                "fee_pence": self.fee_pence, "end_reason": self.end_reason}


class Refund(db.Model):
    __tablename__ = "refund"
    __table_args__ = (Index("ix_refund_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permit.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    paid_pence: Mapped[int] = mapped_column(Integer)
    amount_pence: Mapped[int] = mapped_column(Integer)
    calculation: Mapped[str] = mapped_column(Text)  # the lines shown before saving, one per line
    status: Mapped[str] = mapped_column(String(12), default="requested")  # requested/approved/refused/paid
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    processed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_reference: Mapped[str] = mapped_column(String(60), default="")

    permit: Mapped[Permit] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    processed_by: Mapped[User | None] = relationship(foreign_keys=[processed_by_id])

    def audit_view(self) -> dict:
        return {"permit_id": self.permit_id, "amount_pence": self.amount_pence, "status": self.status,
                "decision_note": self.decision_note, "payment_reference": self.payment_reference}


class PartnerAgreement(db.Model):
    """A non-residential customer's pre-arranged agreement, e.g. Thames Valley Police collecting visitor permits."""

    __tablename__ = "partner_agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(120))
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    permit_kind: Mapped[str] = mapped_column(String(10), default="visitor")
    max_per_collection: Mapped[int] = mapped_column(Integer)
    max_per_year: Mapped[int] = mapped_column(Integer)
    owner_name: Mapped[str] = mapped_column(String(120))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    collections: Mapped[list["PartnerCollection"]] = relationship(order_by="PartnerCollection.collected_at.desc()")

    def audit_view(self) -> dict:
        return {"organisation": self.organisation, "contact_name": self.contact_name, "permit_kind": self.permit_kind,
                "max_per_collection": self.max_per_collection, "max_per_year": self.max_per_year,
                "owner_name": self.owner_name, "valid_from": self.valid_from, "valid_to": self.valid_to}


class PartnerCollection(db.Model):
    __tablename__ = "partner_collection"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("partner_agreement.id"), index=True)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quantity: Mapped[int] = mapped_column(Integer)
    collected_by_name: Mapped[str] = mapped_column(String(120))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    recorded_by: Mapped[User] = relationship()
