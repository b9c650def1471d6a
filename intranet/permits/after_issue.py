"""Changes to a permit after it was issued: change of vehicle, lost or stolen replacement, cancellation.

A permit is never edited in place. A civil enforcement officer's question is always "was this
vehicle covered on that day?", so the old permit keeps its VRM and dates and is *ended* (with the
time and the reason), and a new permit with a new number carries the change. Each action is one
transaction in the caller (the route commits), audited on both permits.

The old permit is claimed with a conditional UPDATE (`... WHERE status = 'active'`), so two
advisors acting on the same permit at once cannot both replace it: the second is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from .. import audit
from ..extensions import db
from ..money import format_pence
from ..service_rules import rules_in_force
from ..timefmt import LONDON, format_datetime, utcnow
from . import numbers, vrm as vrms
from .casework import CaseworkError, london_today
from .models import PERMIT_STATUSES, Permit, Refund

END_REASONS = {
    "vehicle_change": "Change of vehicle",
    "lost_stolen": "Lost or stolen: replaced",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
}
LOST_OR_STOLEN = {"lost": "Lost", "stolen": "Stolen"}


def get_permit(permit_id: int) -> Permit | None:
    """The permit with what its page shows loaded up front (holder, zone, issuer)."""
    return db.session.scalar(select(Permit).where(Permit.id == permit_id).options(
        selectinload(Permit.customer), selectinload(Permit.zone), selectinload(Permit.issued_by),
        selectinload(Permit.application)))


def ended_on(permit: Permit) -> date | None:
    """The London day the permit stopped covering (ended_at is stored in UTC)."""
    return permit.ended_at.astimezone(LONDON).date() if permit.ended_at else None


def covers(permit: Permit, on: date) -> bool:
    """Covered on a day: inside its validity and not yet ended. Ended permits stop covering from the
    (London) day they were ended, the day the new permit starts, so a vehicle is never covered twice."""
    ended = ended_on(permit)
    return permit.valid_from <= on <= permit.valid_to and (ended is None or on < ended)


@dataclass(frozen=True)
class PermitFamily:
    """The permits linked to one by replacement, for the permit page."""

    replaces: Permit | None
    replaced_by: list[Permit]
    refunds: list[Refund]


def family(permit: Permit) -> PermitFamily:
    replaces = db.session.get(Permit, permit.replaces_id) if permit.replaces_id else None
    replaced_by = list(db.session.scalars(select(Permit).where(Permit.replaces_id == permit.id).order_by(Permit.id)))
    refunds = list(db.session.scalars(select(Refund).where(Refund.permit_id == permit.id)
                                      .options(selectinload(Refund.requested_by), selectinload(Refund.decided_by))
                                      .order_by(Refund.id.desc())))
    return PermitFamily(replaces, replaced_by, refunds)


def status_text(permit: Permit) -> str:
    if permit.status == "active" and permit.valid_to < london_today():
        return "Expired"
    return PERMIT_STATUSES.get(permit.status, permit.status.capitalize())


def replacement_fee(now: datetime | None = None) -> int:
    """The fee for replacing a lost or stolen permit under today's rules."""
    return rules_in_force(now or utcnow()).permits.resident.replacement_fee_pence


def require_active(permit: Permit, action: str) -> None:
    if permit.status != "active":
        raise CaseworkError(f"Permit {permit.number} is {status_text(permit).lower()}, so it cannot be {action}")


def _end(actor, permit: Permit, *, status: str, reason: str, note: str, now: datetime, action: str) -> dict:
    """Ends an active permit exactly once; returns its audit view from before the change."""
    require_active(permit, action)
    before = permit.audit_view()
    claimed = db.session.execute(
        update(Permit).where(Permit.id == permit.id, Permit.status == "active")
        .values(status=status, end_reason=reason, end_note=note.strip(), ended_at=now)).rowcount
    if claimed != 1:
        db.session.rollback()
        fresh = db.session.get(Permit, permit.id)
        raise CaseworkError(f"Permit {fresh.number} was changed by someone else a moment ago "
                            f"({status_text(fresh).lower()} on {format_datetime(fresh.ended_at)}): nothing was saved")
    db.session.refresh(permit)
    return before


def _successor(actor, old: Permit, *, vrm: str, fee_pence: int, payment_reference: str, now: datetime) -> Permit:
    """A new permit that takes over the rest of the old one's validity (same zone, holder, end date)."""
    counter = "resident_permit" if old.kind == "resident" else "visitor_permit"
    new = Permit(number=numbers.formatted(counter)[0], kind=old.kind, is_renewal=old.is_renewal, zone_id=old.zone_id,
                 vrm=vrm, customer_id=old.customer_id, application_id=old.application_id,
                 valid_from=max(old.valid_from, london_today(now)), valid_to=old.valid_to, issued_by_id=actor.id,
                 issued_at=now, status="active", fee_pence=fee_pence, payment_reference=payment_reference.strip(),
                 replaces_id=old.id)
    db.session.add(new)
    db.session.flush()
    return new


def change_vehicle(actor, permit: Permit, new_vrm: str, *, note: str = "", now: datetime | None = None) -> Permit:
    """A new permit for the new vehicle (no fee: the customer already paid for the period); the old one
    ends now. Resident permits only: visitor permits are not tied to a vehicle."""
    now = now or utcnow()
    if permit.kind != "resident":
        raise CaseworkError("Visitor permits are not tied to a vehicle: there is nothing to change")
    require_active(permit, "changed")
    if not (new_vrm or "").strip():
        raise CaseworkError("Enter the new vehicle registration", "vrm")
    try:
        vrm = vrms.check(new_vrm, rules_in_force(now).permits.vrm_formats)
    except ValueError as exc:
        raise CaseworkError(str(exc), "vrm") from None
    if vrm == permit.vrm:
        raise CaseworkError(f"{vrm} is already the vehicle on this permit", "vrm")
    if permit.valid_to < london_today(now):
        raise CaseworkError(f"Permit {permit.number} has expired: start a renewal instead")
    before = _end(actor, permit, status="replaced", reason="vehicle_change", note=note, now=now, action="changed")
    new = _successor(actor, permit, vrm=vrm, fee_pence=0, payment_reference="", now=now)
    audit.record(actor, "permit_vehicle_changed", "permit", permit.id, before=before, after=permit.audit_view(),
                 summary=f"Ended: change of vehicle from {permit.vrm} to {vrm}; replaced by {new.number}")
    audit.record(actor, "permit_issued", "permit", new.id, after=new.audit_view(),
                 summary=f"Issued {new.number} for {vrm}, replacing {permit.number} (change of vehicle)")
    return new


def replace_lost_stolen(actor, permit: Permit, *, what: str, payment_reference: str = "", note: str = "",
                        now: datetime | None = None) -> Permit:
    """A replacement for a lost or stolen permit, for the replacement fee in the rules. The lost one
    ends at once so that, if it turns up on another car, it no longer covers it.

    Resident permits only: the rules set a replacement fee for resident permits, while a visitor
    permit is one of the household's yearly allowance and is replaced by issuing another."""
    now = now or utcnow()
    if permit.kind != "resident":
        raise CaseworkError("Visitor permits are replaced by issuing another from the household's allowance")
    if what not in LOST_OR_STOLEN:
        raise CaseworkError("Select whether the permit was lost or stolen", "what")
    require_active(permit, "replaced")
    fee = replacement_fee(now)
    if fee and not payment_reference.strip():
        raise CaseworkError(f"Enter the payment reference for the {format_pence(fee)} replacement fee",
                            "payment_reference")
    if permit.valid_to < london_today(now):
        raise CaseworkError(f"Permit {permit.number} has expired: start a renewal instead")
    words = LOST_OR_STOLEN[what].lower()
    before = _end(actor, permit, status="replaced", reason="lost_stolen",
                  note=f"{LOST_OR_STOLEN[what]}. {note.strip()}".strip(), now=now, action="replaced")
    new = _successor(actor, permit, vrm=permit.vrm, fee_pence=fee, payment_reference=payment_reference, now=now)
    audit.record(actor, "permit_lost_stolen", "permit", permit.id, before=before, after=permit.audit_view(),
                 summary=f"Ended: reported {words}; replaced by {new.number}")
    audit.record(actor, "permit_issued", "permit", new.id, after=new.audit_view(),
                 summary=f"Issued {new.number} replacing {words} permit {permit.number}"
                         f" (fee {format_pence(fee)})")
    return new


def cancel(actor, permit: Permit, *, reason: str, now: datetime | None = None) -> None:
    """Ends the permit now. A refund, if one is due, is a separate request a team leader decides."""
    now = now or utcnow()
    if not reason.strip():
        raise CaseworkError("Enter why the permit is cancelled", "reason")
    before = _end(actor, permit, status="cancelled", reason="cancelled", note=reason, now=now, action="cancelled")
    audit.record(actor, "permit_cancelled", "permit", permit.id, before=before, after=permit.audit_view(),
                 summary=f"Cancelled: {reason.strip()}")
