"""Refunds of permit fees: requested by CSC staff, decided by a team leader who did not request it,
then paid from the "process refunds" queue.

The amount follows the rules in force (`permits.refunds.method`): by default the share of the fee
for the whole months not yet begun on the day the refund runs from, less the admin fee. The
calculation is written out line by line and shown to the advisor before anything is saved, then
stored with the refund exactly as shown, so a customer who asks "how did you get £15?" gets the
same answer months later, even after the rules change.

Why the permit ends when the refund is *approved* (not when it is requested or paid): until a team
leader agrees, the customer keeps the permit they paid for (a refused request must leave them
covered); once it is approved the money is owed back, so the permit must stop covering at once:
the payment itself can wait days in the queue, and a permit must not stay usable while its fee
is being returned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from .. import audit
from ..auth.roles import SERVICE_LEAD, SERVICE_MANAGER, TEAM_LEADER
from ..extensions import db
from ..money import format_pence
from ..service_rules import rules_in_force
from ..timefmt import format_date, format_datetime, utcnow
from .after_issue import status_text
from . import signals
from .casework import CaseworkError, add_months, london_today
from .models import Permit, Refund

DECIDERS = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER)
REFUNDABLE_STATUSES = ("active", "cancelled")
STATUSES = {"requested": "Waiting for a decision", "approved": "Approved: to pay", "refused": "Refused",
            "paid": "Paid"}
STATUS_COLOURS = {"requested": "yellow", "approved": "blue", "refused": "red", "paid": "green"}
OPEN_STATUSES = ("requested", "approved", "paid")  # a permit can have only one of these
PER_PAGE = 25


@dataclass(frozen=True)
class RefundCalculation:
    method: str
    paid_pence: int
    gross_pence: int  # before the admin fee
    admin_fee_pence: int
    due_pence: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def whole_months(valid_from: date, valid_to: date) -> int:
    """How many whole months a validity spans (1 April to 31 March is 12), counted from its first day."""
    months = 0
    while add_months(valid_from, months + 1) <= valid_to + timedelta(days=1):
        months += 1
    return months


def unused_whole_months(valid_from: date, total: int, refund_from: date) -> int:
    """Months of the validity that start on or after `refund_from`: a month already begun is used."""
    return sum(1 for k in range(total) if add_months(valid_from, k) >= refund_from)


def paid_for_period(permit: Permit) -> tuple[Permit, list[Permit]]:
    """The permit whose fee paid for this period: the first of a chain of replacements.

    A change of vehicle issues a new permit with no fee for the rest of the period the customer
    already paid for, so the refund is worked out on the first permit's fee and dates. Fees for
    replacing a lost or stolen permit pay for the replacement, not for time, and are not refunded.
    """
    chain = [permit]
    while chain[-1].replaces_id and len(chain) < 50:
        chain.append(db.session.get(Permit, chain[-1].replaces_id))
    return chain[-1], chain


def calculate(permit: Permit, refund_from: date, rules, *, amount_pence: int | None = None) -> RefundCalculation:
    """The refund due if the customer gives the permit up from `refund_from`, line by line."""
    original, chain = paid_for_period(permit)
    paid = original.fee_pence
    valid_from, valid_to = original.valid_from, permit.valid_to
    method, admin_fee = rules.refunds.method, rules.refunds.admin_fee_pence
    lines = [f"Paid {format_pence(paid)}" + (f" for permit {original.number}" if original is not permit else "")]
    if method == "pro_rata_whole_months":
        total = whole_months(valid_from, valid_to)
        unused = unused_whole_months(valid_from, total, refund_from)
        lines.append(f"Valid {format_date(valid_from)} to {format_date(valid_to)} ({total} months)")
        lines.append(f"Unused whole months from {format_date(refund_from)}: {unused}"
                     + (" (the permit had not started)" if refund_from <= valid_from else ""))
        gross = paid * unused // total if total else 0
        lines.append(f"Refund {unused}/{total} × {format_pence(paid)} = {format_pence(gross)}")
    elif method == "pro_rata_days":
        total = (valid_to - valid_from).days + 1
        unused = max(min((valid_to - max(refund_from, valid_from)).days + 1, total), 0)
        lines.append(f"Valid {format_date(valid_from)} to {format_date(valid_to)} ({total} days)")
        lines.append(f"Unused days from {format_date(refund_from)}: {unused}"
                     + (" (the permit had not started)" if refund_from <= valid_from else ""))
        gross = paid * unused // total if total else 0
        lines.append(f"Refund {unused}/{total} × {format_pence(paid)} = {format_pence(gross)}")
    else:
        gross = 0
        lines.append("The rules in force give no refund for unused time")
    due = max(gross - admin_fee, 0)
    lines.append(f"Admin fee {format_pence(admin_fee)}")
    lines.append(f"Refund due {format_pence(due)}")
    if amount_pence is not None and amount_pence != due:
        lines.append(f"Amount agreed by the advisor {format_pence(amount_pence)} (calculated {format_pence(due)})")
        due = amount_pence
    return RefundCalculation(method, paid, gross, admin_fee, due, tuple(lines))


def default_refund_from(permit: Permit, now: datetime | None = None) -> date:
    """Today, or the day a cancelled permit stopped covering (the customer has not used it since)."""
    from .after_issue import ended_on

    if permit.status == "cancelled" and permit.ended_at is not None:
        return ended_on(permit)
    return london_today(now)


def open_refund(permit: Permit) -> Refund | None:
    return db.session.scalar(select(Refund).where(Refund.permit_id == permit.id, Refund.status.in_(OPEN_STATUSES))
                             .order_by(Refund.id.desc()).limit(1))


def check_refundable(permit: Permit) -> None:
    """Refuses a refund on a permit that cannot have one, with the reason in words."""
    if permit.status not in REFUNDABLE_STATUSES:
        raise CaseworkError(f"Permit {permit.number} is {status_text(permit).lower()}: only an active or cancelled "
                            f"permit can be refunded")
    original, _ = paid_for_period(permit)
    if not original.fee_pence:
        raise CaseworkError(f"Permit {permit.number} was issued without a fee: there is nothing to refund")
    existing = open_refund(permit)
    if existing is not None:
        raise CaseworkError(f"A refund of {format_pence(existing.amount_pence)} was already requested on "
                            f"{format_date(existing.requested_at)} ({STATUSES[existing.status].lower()})")


def preview(permit: Permit, *, refund_from: date | None, reason: str, amount_pence: int | None = None,
            now: datetime | None = None) -> RefundCalculation:
    """Checks a request and works out the refund without saving: the confirm step shows this."""
    now = now or utcnow()
    check_refundable(permit)
    if refund_from is None:
        raise CaseworkError("Enter the date the refund runs from", "refund_from")
    if refund_from > london_today(now):
        raise CaseworkError("The date the refund runs from cannot be in the future", "refund_from")
    original, _ = paid_for_period(permit)
    first_day = min(london_today(original.issued_at), original.valid_from)
    if refund_from < first_day:
        raise CaseworkError(f"The date the refund runs from cannot be before the permit was issued on "
                            f"{format_date(first_day)}", "refund_from")
    if not reason.strip():
        raise CaseworkError("Enter why the customer wants a refund", "reason")
    if amount_pence is not None:
        if amount_pence > original.fee_pence:
            raise CaseworkError(f"The refund cannot be more than the {format_pence(original.fee_pence)} paid",
                                "amount")
        if amount_pence <= 0:
            raise CaseworkError("The amount to refund must be more than £0.00", "amount")
    calc = calculate(permit, refund_from, rules_in_force(now).permits, amount_pence=amount_pence)
    if calc.due_pence > calc.paid_pence:
        raise CaseworkError(f"The refund cannot be more than the {format_pence(calc.paid_pence)} paid", "amount")
    if calc.due_pence <= 0:
        raise CaseworkError(f"No refund is due from {format_date(refund_from)} under the rules in force: "
                            f"enter an amount if one has been agreed", "refund_from")
    return calc


def request_refund(actor, permit: Permit, *, refund_from: date | None, reason: str, amount_pence: int | None = None,
                   now: datetime | None = None) -> Refund:
    """Saves the request with the calculation as shown; the permit stays valid until a decision.

    The permit row is locked first (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises
    writers) so two advisors pressing the button together cannot both open a refund on it."""
    now = now or utcnow()
    db.session.scalar(select(Permit.id).where(Permit.id == permit.id).with_for_update())
    calc = preview(permit, refund_from=refund_from, reason=reason, amount_pence=amount_pence, now=now)
    refund = Refund(permit_id=permit.id, requested_by_id=actor.id, requested_at=now, reason=reason.strip(),
                    paid_pence=calc.paid_pence, amount_pence=calc.due_pence, calculation=calc.text, status="requested")
    db.session.add(refund)
    db.session.flush()
    audit.record(actor, "refund_requested", "refund", refund.id, after=refund.audit_view(),
                 summary=f"Refund of {format_pence(refund.amount_pence)} requested for permit {permit.number}")
    audit.record(actor, "refund_requested", "permit", permit.id, after=refund.audit_view(),
                 summary=f"Refund of {format_pence(refund.amount_pence)} requested: {reason.strip()}")
    return refund


def get_refund(refund_id: int) -> Refund | None:
    return db.session.scalar(select(Refund).where(Refund.id == refund_id).options(
        selectinload(Refund.permit).selectinload(Permit.customer), selectinload(Refund.requested_by),
        selectinload(Refund.decided_by), selectinload(Refund.processed_by)))


def may_decide(actor, refund: Refund) -> str | None:
    """Why this user may not decide this refund, or None if they may."""
    if not actor.has_role(*DECIDERS):
        return "Only a team leader, the service lead or the service manager can approve or refuse a refund"
    if actor.id == refund.requested_by_id:
        return ("You requested this refund, so someone else must approve or refuse it: another team leader, "
                "the service lead or the service manager")
    return None


def decide(actor, refund: Refund, *, approve: bool, note: str = "", now: datetime | None = None) -> None:
    """Approves (ending the permit) or refuses a requested refund, exactly once."""
    now = now or utcnow()
    problem = may_decide(actor, refund)
    if problem:
        raise CaseworkError(problem)
    if refund.status != "requested":
        raise CaseworkError(_already_decided(refund))
    if not approve and not note.strip():
        raise CaseworkError("Enter why the refund is refused", "note")
    permit = refund.permit
    if approve and permit.status not in REFUNDABLE_STATUSES:
        raise CaseworkError(f"Permit {permit.number} has been {status_text(permit).lower()} since the refund was "
                            f"requested: refuse this request and ask for a new one if a refund is still due")
    before = refund.audit_view()
    claimed = db.session.execute(
        update(Refund).where(Refund.id == refund.id, Refund.status == "requested")
        .values(status="approved" if approve else "refused", decided_by_id=actor.id, decided_at=now,
                decision_note=note.strip())).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CaseworkError(_already_decided(db.session.get(Refund, refund.id)))
    db.session.refresh(refund)
    word = "Approved" if approve else "Refused"
    audit.record(actor, f"refund_{'approved' if approve else 'refused'}", "refund", refund.id, before=before,
                 after=refund.audit_view(), summary=f"{word}{': ' + note.strip() if note.strip() else ''}")
    if approve:
        _end_permit(actor, permit, refund, now)
        signals.refund_approved.send(actor, refund=refund)
    else:
        audit.record(actor, "refund_refused", "permit", permit.id, after=refund.audit_view(),
                     summary=f"Refund of {format_pence(refund.amount_pence)} refused: {note.strip()}")


def _end_permit(actor, permit: Permit, refund: Refund, now: datetime) -> None:
    before = permit.audit_view()
    values = {"status": "refunded", "end_reason": "refunded"}
    if permit.ended_at is None:  # a cancelled permit keeps the time it stopped covering
        values["ended_at"] = now
    claimed = db.session.execute(update(Permit).where(Permit.id == permit.id,
                                                      Permit.status.in_(REFUNDABLE_STATUSES)).values(**values)).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CaseworkError(f"Permit {permit.number} was changed by someone else a moment ago: nothing was saved")
    db.session.refresh(permit)
    audit.record(actor, "permit_refunded", "permit", permit.id, before=before, after=permit.audit_view(),
                 summary=f"Ended: refund of {format_pence(refund.amount_pence)} approved")


def _already_decided(refund: Refund) -> str:
    who = refund.decided_by.full_name if refund.decided_by else "someone else"
    return (f"This refund was already {refund.status} by {who} on {format_datetime(refund.decided_at)}"
            if refund.decided_at else f"This refund is {STATUSES[refund.status].lower()}")


def mark_paid(actor, refund: Refund, *, payment_reference: str, now: datetime | None = None) -> None:
    """Records that the council's payment system has paid the refund back."""
    now = now or utcnow()
    if not payment_reference.strip():
        raise CaseworkError("Enter the payment reference of the refund", "payment_reference")
    if refund.status != "approved":
        raise CaseworkError(f"Only an approved refund can be marked as paid; this one is "
                            f"{STATUSES[refund.status].lower()}")
    before = refund.audit_view()
    claimed = db.session.execute(
        update(Refund).where(Refund.id == refund.id, Refund.status == "approved")
        .values(status="paid", processed_by_id=actor.id, processed_at=now,
                payment_reference=payment_reference.strip())).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CaseworkError("Someone else marked this refund as paid a moment ago: nothing was saved")
    db.session.refresh(refund)
    audit.record(actor, "refund_paid", "refund", refund.id, before=before, after=refund.audit_view(),
                 summary=f"Paid {format_pence(refund.amount_pence)}, payment reference {refund.payment_reference}")
    audit.record(actor, "refund_paid", "permit", refund.permit_id, after=refund.audit_view(),
                 summary=f"Refund of {format_pence(refund.amount_pence)} paid ({refund.payment_reference})")


@dataclass(frozen=True)
class RefundPage:
    items: list[Refund]
    next_after: int | None
    is_first: bool


def queue(status: str, after: int | None = None, per_page: int = PER_PAGE) -> RefundPage:
    """Refunds in one status, oldest first (first come, first served), by keyset on (status, id)."""
    stmt = (select(Refund).where(Refund.status == status)
            .options(selectinload(Refund.permit).selectinload(Permit.customer), selectinload(Refund.requested_by),
                     selectinload(Refund.decided_by)))
    if after is not None:
        stmt = stmt.where(Refund.id > after)
    rows = list(db.session.scalars(stmt.order_by(Refund.id).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return RefundPage(rows, rows[-1].id if more and rows else None, after is None)
