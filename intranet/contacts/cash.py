"""Cash payments taken by exception: "an exceptions process for cash payments for enforcement related
payments".

The controls, each because cash is easy to lose and hard to trace:

- Every receipt gets the next number of a sequence shared by every app server (a counter row moved
  by UPDATE ... RETURNING in the receipt's own transaction), so a gap or a duplicate means something.
- A receipt is approved by someone with an approver role from the rules who did not take the cash.
- Each London day is cashed up: the recorded total of its receipts against the cash counted, who
  banked it and the bag number. A difference must be explained before the day can be closed, and a
  closed day is read-only: no receipt can be added to it, approved in it or reversed into it.
- Nothing is deleted. A mistake is put right by a reversal: a receipt of its own for minus the
  amount, with the reason, on the day it is made (a closed day stays as it was banked).

Every change is audited in the same transaction. No request objects: routes, demo and tests pass
the user and the time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit
from ..auth.models import User, UserRole
from ..extensions import db
from ..money import format_pence
from ..permits.numbers import take
from ..service_rules import rules_in_force
from ..timefmt import LONDON, format_date, utcnow
from .models import CashDay, CashReceipt

RECEIPT_SEQUENCE = "cash_receipt"
RECEIPT_PREFIX, RECEIPT_WIDTH = "CX", 6
ENTRY_ROLES = ("advisor", "team_leader", "service_lead", "service_manager")
# Who may reach the approval and cash-up pages; the rules' approver_roles decide who may act there.
APPROVER_PAGE_ROLES = ("team_leader", "service_lead", "service_manager")
STATUS_WORDS = {"awaiting_approval": "Awaiting approval", "approved": "Approved"}
STATUS_COLOURS = {"awaiting_approval": "yellow", "approved": "green"}


class CashError(ValueError):
    """A rule refused the action; `errors` maps each form field to the message to show on it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def london_day(when: datetime) -> date:
    return when.astimezone(LONDON).date()


def normalise_pcn(text: str | None) -> str:
    return re.sub(r"[\s-]+", "", text or "").upper()


def receipt_number(value: int) -> str:
    return f"{RECEIPT_PREFIX}{value:0{RECEIPT_WIDTH}d}"


# --------------------------------------------------------------------------------------------
# The day's running total
# --------------------------------------------------------------------------------------------
def _ensure_day(day: date) -> None:
    """Creates the day's row on its first receipt; a concurrent creator wins and we use its row."""
    if db.session.scalar(select(CashDay.id).where(CashDay.business_day == day)) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(CashDay).values(business_day=day, receipt_count=0, recorded_total_pence=0,
                                                      difference_explanation="", bag_number=""))
    except IntegrityError:
        pass


def _closed_message(day: date) -> str:
    return (f"The cash-up for {format_date(day)} is closed, so nothing more can be recorded in it: "
            f"record a reversal today instead")


def _add_to_day(day: date, amount_pence: int, field: str) -> None:
    """Adds a receipt to the day's running total, unless the day is closed (conditional UPDATE)."""
    _ensure_day(day)
    moved = db.session.execute(
        update(CashDay).where(CashDay.business_day == day, CashDay.closed_at.is_(None))
        .values(receipt_count=CashDay.receipt_count + 1,
                recorded_total_pence=CashDay.recorded_total_pence + amount_pence)).rowcount
    if moved != 1:
        raise CashError({field: _closed_message(day)})


def day_is_closed(day: date) -> bool:
    return db.session.scalar(select(CashDay.closed_at).where(CashDay.business_day == day)) is not None


# --------------------------------------------------------------------------------------------
# Taking a payment
# --------------------------------------------------------------------------------------------
@dataclass
class NewPayment:
    pcn: str
    amount_pence: int | None
    payer_name: str
    reason: str


def check_payment(data: NewPayment, rules) -> dict[str, str]:
    errors: dict[str, str] = {}
    pcn = normalise_pcn(data.pcn)
    if not pcn:
        errors["pcn"] = "Enter the penalty charge notice number"
    elif not re.fullmatch(rules.cash_exceptions.pcn_pattern, pcn):
        errors["pcn"] = (f"Penalty charge notice number {pcn[:20]} is not in the right format "
                         f"(the rules expect {rules.cash_exceptions.pcn_pattern}, for example OX12345678)")
    limit = rules.cash_exceptions.max_amount_pence
    if data.amount_pence is None:
        errors["amount"] = "Enter the amount taken in pounds and pence, like 35.00"
    elif data.amount_pence <= 0:
        errors["amount"] = "Amount taken must be more than £0.00"
    elif data.amount_pence > limit:
        errors["amount"] = f"Amount taken cannot be more than {format_pence(limit)} on one receipt"
    if not (data.payer_name or "").strip():
        errors["payer_name"] = "Enter the name of the person paying"
    elif len(data.payer_name.strip()) > 120:
        errors["payer_name"] = "Payer's name must be 120 characters or fewer"
    if not (data.reason or "").strip():
        errors["reason"] = "Enter why the payment was taken in cash by exception"
    return errors


def take_payment(actor, data: NewPayment, *, now: datetime | None = None) -> CashReceipt:
    """Records the cash, numbers the receipt and adds it to today's cash-up, all in the caller's transaction."""
    now = now or utcnow()
    rules = rules_in_force(now)
    errors = check_payment(data, rules)
    if errors:
        raise CashError(errors)
    day = london_day(now)
    _add_to_day(day, data.amount_pence, "amount")
    number = receipt_number(take(RECEIPT_SEQUENCE)[0])
    receipt = CashReceipt(receipt_number=number, taken_at=now, business_day=day, pcn=normalise_pcn(data.pcn),
                          amount_pence=data.amount_pence, payer_name=data.payer_name.strip(),
                          reason=data.reason.strip(), taken_by_id=actor.id, status="awaiting_approval")
    db.session.add(receipt)
    db.session.flush()
    audit.record(actor, "cash_taken", "cash_receipt", receipt.id, after=receipt.audit_view(),
                 summary=f"Receipt {number}: {format_pence(receipt.amount_pence)} cash for PCN {receipt.pcn}")
    return receipt


# --------------------------------------------------------------------------------------------
# Approval
# --------------------------------------------------------------------------------------------
def may_approve(actor, receipt: CashReceipt) -> str | None:
    """Why `actor` may not approve `receipt`, or None if they may."""
    rules = rules_in_force(receipt.taken_at)
    approvers = rules.cash_exceptions.approver_roles
    if not actor.has_role(*approvers):
        names = ", ".join(rules.roles.get(r, r) for r in approvers)
        return f"Only these roles can approve a cash receipt: {names}"
    if actor.id == receipt.taken_by_id:
        return "You took this payment, so someone else must approve it"
    if receipt.status != "awaiting_approval":
        return "This receipt has already been approved"
    if day_is_closed(receipt.business_day):
        return _closed_message(receipt.business_day)
    return None


def approve(actor, receipt: CashReceipt, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    problem = may_approve(actor, receipt)
    if problem:
        raise CashError({"approve": problem})
    before = receipt.audit_view()
    claimed = db.session.execute(
        update(CashReceipt).where(CashReceipt.id == receipt.id, CashReceipt.status == "awaiting_approval",
                                  CashReceipt.taken_by_id != actor.id)
        .values(status="approved", approved_by_id=actor.id, approved_at=now)).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CashError({"approve": "Someone else approved this receipt a moment ago: nothing was saved"})
    db.session.refresh(receipt)
    audit.record(actor, "cash_approved", "cash_receipt", receipt.id, before=before, after=receipt.audit_view(),
                 summary=f"Receipt {receipt.receipt_number} approved")


# --------------------------------------------------------------------------------------------
# Reversal
# --------------------------------------------------------------------------------------------
def may_reverse(receipt: CashReceipt) -> str | None:
    if receipt.is_reversal:
        return "This is itself a reversal: record a new payment if the money was in fact taken"
    if receipt.is_reversed:
        return "This receipt has already been reversed"
    return None


def reverse(actor, receipt: CashReceipt, *, reason: str, now: datetime | None = None) -> CashReceipt:
    """A negative receipt linked to the original, on today's cash-up; it needs approval like any receipt."""
    now = now or utcnow()
    problem = may_reverse(receipt)
    if problem:
        raise CashError({"reason": problem})
    if not (reason or "").strip():
        raise CashError({"reason": "Enter why the receipt is being reversed"})
    day = london_day(now)
    claimed = db.session.execute(
        update(CashReceipt).where(CashReceipt.id == receipt.id, CashReceipt.is_reversed.is_(False))
        .values(is_reversed=True)).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CashError({"reason": "Someone else reversed this receipt a moment ago: nothing was saved"})
    _add_to_day(day, -receipt.amount_pence, "reason")
    number = receipt_number(take(RECEIPT_SEQUENCE)[0])
    reversal = CashReceipt(receipt_number=number, taken_at=now, business_day=day, pcn=receipt.pcn,
                           amount_pence=-receipt.amount_pence, payer_name=receipt.payer_name, reason=reason.strip(),
                           taken_by_id=actor.id, status="awaiting_approval", reverses_id=receipt.id)
    db.session.add(reversal)
    db.session.flush()
    db.session.refresh(receipt)
    audit.record(actor, "cash_reversed", "cash_receipt", receipt.id, after={"reversed_by": number},
                 summary=f"Receipt {receipt.receipt_number} reversed by {number}: {reason.strip()}")
    audit.record(actor, "cash_reversal_recorded", "cash_receipt", reversal.id, after=reversal.audit_view(),
                 summary=f"Reversal {number} of receipt {receipt.receipt_number}: "
                         f"{format_pence(reversal.amount_pence)}: {reason.strip()}")
    return reversal


# --------------------------------------------------------------------------------------------
# Daily cash-up
# --------------------------------------------------------------------------------------------
@dataclass
class CashUp:
    day: date
    receipts: list[CashReceipt]
    recorded_total_pence: int
    cash_day: CashDay | None

    @property
    def closed(self) -> bool:
        return self.cash_day is not None and self.cash_day.is_closed

    @property
    def awaiting(self) -> list[CashReceipt]:
        return [r for r in self.receipts if r.status == "awaiting_approval"]

    @property
    def receipt_count(self) -> int:
        return len(self.receipts)


def cash_up_for(day: date) -> CashUp:
    """The day's receipts (oldest first) and totals; two queries whatever the number of receipts."""
    receipts = db.session.scalars(
        select(CashReceipt).where(CashReceipt.business_day == day)
        .options(joinedload(CashReceipt.taken_by), joinedload(CashReceipt.approved_by),
                 joinedload(CashReceipt.reverses))
        .order_by(CashReceipt.id)).all()
    cash_day = db.session.scalar(select(CashDay).where(CashDay.business_day == day)
                                 .options(joinedload(CashDay.banked_by), joinedload(CashDay.closed_by)))
    return CashUp(day, list(receipts), sum(r.amount_pence for r in receipts), cash_day)


def difference_words(difference_pence: int) -> str:
    if difference_pence == 0:
        return "No difference"
    return f"{format_pence(abs(difference_pence))} {'over' if difference_pence > 0 else 'short'}"


@dataclass
class Closing:
    counted_pence: int | None
    explanation: str
    banked_by_id: int | None
    bag_number: str
    expected_count: int | None
    expected_total_pence: int | None


def bankers() -> list[User]:
    """The people who may be named as having banked the cash: active staff who can take cash."""
    return list(db.session.scalars(
        select(User).join(UserRole).where(User.active.is_(True), UserRole.role.in_(ENTRY_ROLES))
        .distinct().order_by(User.full_name)).all())


def close_day(actor, day: date, data: Closing, *, now: datetime | None = None) -> CashDay:
    """Closes the day's cash-up: recorded v counted, banked by, bag number; read-only afterwards."""
    now = now or utcnow()
    rules = rules_in_force(day)
    errors: dict[str, str] = {}
    if not actor.has_role(*rules.cash_exceptions.approver_roles):
        raise CashError({"counted": "Only these roles can close a cash-up: "
                                    + ", ".join(rules.roles.get(r, r) for r in rules.cash_exceptions.approver_roles)})
    if day > london_day(now):
        raise CashError({"counted": f"{format_date(day)} has not happened yet, so its cash cannot be cashed up"})
    summary = cash_up_for(day)
    if summary.closed:
        raise CashError({"counted": f"The cash-up for {format_date(day)} is already closed"})
    if summary.awaiting:
        numbers = ", ".join(r.receipt_number for r in summary.awaiting)
        errors["counted"] = (f"Every receipt must be approved before the day is closed; awaiting approval: {numbers}")
    if data.counted_pence is None:
        errors["counted"] = errors.get("counted") or "Enter the cash counted, in pounds and pence, like 35.00"
    elif data.counted_pence < 0:
        errors["counted"] = errors.get("counted") or "Cash counted cannot be less than £0.00"
    difference = None if data.counted_pence is None else data.counted_pence - summary.recorded_total_pence
    if difference and not (data.explanation or "").strip():
        errors["explanation"] = (f"The cash counted is {difference_words(difference)} against the recorded total of "
                                 f"{format_pence(summary.recorded_total_pence)}: explain the difference before "
                                 f"closing the day")
    banker = db.session.get(User, data.banked_by_id) if data.banked_by_id else None
    if banker is None or banker not in bankers():
        errors["banked_by"] = "Select who banked the cash"
    if not (data.bag_number or "").strip():
        errors["bag_number"] = "Enter the bank bag number"
    elif len(data.bag_number.strip()) > 40:
        errors["bag_number"] = "Bank bag number must be 40 characters or fewer"
    if errors:
        raise CashError(errors)
    if (data.expected_count, data.expected_total_pence) != (summary.receipt_count, summary.recorded_total_pence):
        raise CashError({"counted": "The day's receipts changed while you were cashing up: check the list and "
                                    "totals again before closing"})
    _ensure_day(day)
    closed = db.session.execute(
        update(CashDay).where(CashDay.business_day == day, CashDay.closed_at.is_(None),
                              CashDay.receipt_count == summary.receipt_count,
                              CashDay.recorded_total_pence == summary.recorded_total_pence)
        .values(counted_total_pence=data.counted_pence, difference_pence=difference,
                difference_explanation=(data.explanation or "").strip(), banked_by_id=banker.id,
                bag_number=data.bag_number.strip(), closed_at=now, closed_by_id=actor.id)).rowcount
    if closed != 1:
        db.session.rollback()
        raise CashError({"counted": "The day's receipts changed or the day was closed a moment ago: nothing was "
                                    "saved; check the list and totals again"})
    cash_day = db.session.scalar(select(CashDay).where(CashDay.business_day == day))
    db.session.refresh(cash_day)
    audit.record(actor, "cash_up_closed", "cash_day", cash_day.id, after=cash_day.audit_view(),
                 summary=f"Cash-up for {format_date(day)} closed: recorded {format_pence(summary.recorded_total_pence)}, "
                         f"counted {format_pence(data.counted_pence)} ({difference_words(difference)}), "
                         f"bag {cash_day.bag_number}")
    return cash_day


# --------------------------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------------------------
def awaiting_approval(limit: int = 200) -> list[CashReceipt]:
    return list(db.session.scalars(
        select(CashReceipt).where(CashReceipt.status == "awaiting_approval")
        .options(joinedload(CashReceipt.taken_by)).order_by(CashReceipt.id).limit(limit)).all())


def open_days(before: date, limit: int = 20) -> tuple[list[tuple[date, int, int]], int]:
    """Days before `before` with receipts but no closed cash-up, oldest first: (day, receipts, recorded
    total) for the first `limit`, and how many there are in all (a backlog must not make the page long)."""
    where = (CashDay.closed_at.is_(None), CashDay.business_day < before, CashDay.receipt_count != 0)
    rows = db.session.execute(
        select(CashDay.business_day, CashDay.receipt_count, CashDay.recorded_total_pence)
        .where(*where).order_by(CashDay.business_day).limit(limit)).all()
    total = db.session.scalar(select(func.count()).select_from(CashDay).where(*where))
    return [(d, int(n), int(t)) for d, n, t in rows], int(total or 0)


def recent_receipts(before_id: int | None = None, per_page: int = 50):
    from ..pagination import keyset_page

    stmt = select(CashReceipt).options(joinedload(CashReceipt.taken_by), joinedload(CashReceipt.approved_by))
    return keyset_page(stmt, CashReceipt.id, before_id, per_page)


def receipt_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(CashReceipt)) or 0)
