"""The life of an application: intake, evidence, the permit_issue clock, and issuing.

The SLA's cycle-time KPI counts "permits issued within 2 working days of receiving the application
and correct supporting documents", so the clock starts at `documents_complete_at` (when the last
required item was *received*, not when it was checked) and pauses only while waiting on the
customer after that. Every function here takes the actor and changes one application in the
caller's transaction, with an audit entry; the route commits.
"""
from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

from .. import audit
from ..extensions import db
from ..service_rules import rules_in_force
from ..sla import clock_status, deadline_for
from ..timefmt import LONDON, format_datetime, utcnow
from . import numbers, signals
from .models import (OPEN_STATUSES, Application, ClockPause, Customer, EvidenceItem, EvidenceRequest, Permit)

CLOCK = "permit_issue"


class CaseworkError(ValueError):
    """A rule of the service refused the action; the message is fit to show on the form."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class AlreadyIssued(CaseworkError):
    pass


def london_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LONDON).date()


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


# ---------------------------------------------------------------- intake

def open_duplicates(customer_id: int, kind: str, vrm: str) -> list[Application]:
    """Likely duplicates: an open application of the same household and kind (and vehicle, for residents)."""
    stmt = select(Application).where(Application.customer_id == customer_id, Application.kind == kind,
                                     Application.is_open.is_(True))
    if kind == "resident" and vrm:
        stmt = stmt.where(Application.vrm == vrm)
    return list(db.session.scalars(stmt.order_by(Application.id)))


def log_application(actor, *, customer: Customer, kind: str, app_type: str, channel: str,
                    received_at: datetime, vrm: str = "", vehicle_make: str = "", vehicle_colour: str = "",
                    quantity: int = 1, renewal_of: Permit | None = None, now: datetime | None = None) -> Application:
    now = now or utcnow()
    if received_at > now + timedelta(minutes=1):
        raise CaseworkError("The date received cannot be in the future", "received_at")
    if kind == "resident" and not vrm:
        raise CaseworkError("Enter the vehicle registration", "vrm")
    application = Application(
        reference=numbers.next_reference("application"), customer_id=customer.id, zone_id=customer.zone_id,
        kind=kind, app_type=app_type, channel=channel, status="received", is_open=True, received_at=received_at,
        vrm=vrm if kind == "resident" else "", vehicle_make=vehicle_make.strip(), vehicle_colour=vehicle_colour.strip(),
        quantity=quantity if kind == "visitor" else 1, renewal_of_id=renewal_of.id if renewal_of else None,
        postcode=customer.postcode, name_key=customer.name_key, surname_key=customer.surname_key, created_by_id=getattr(actor, "id", None),
        created_at=now)
    db.session.add(application)
    db.session.flush()
    refresh_clock(application, now=now)
    audit.record(actor, "application_logged", "application", application.id, after=application.audit_view(),
                 summary=f"Logged {app_type} {kind} application {application.reference} received by {channel}")
    return application


# ---------------------------------------------------------------- evidence and the clock

def required_evidence(application: Application) -> tuple[str, ...]:
    rules = rules_in_force(application.received_at).permits
    return (rules.resident if application.kind == "resident" else rules.visitor).evidence_required


def evidence_outstanding(application: Application) -> list[str]:
    accepted = {e.evidence_type for e in application.evidence if e.status == "accepted"}
    return [code for code in required_evidence(application) if code not in accepted]


def add_evidence(actor, application: Application, *, evidence_type: str, received_at: datetime,
                 description: str = "", stored=None, now: datetime | None = None) -> EvidenceItem:
    now = now or utcnow()
    _require_open(application)
    if received_at > now + timedelta(minutes=1):
        raise CaseworkError("The date received cannot be in the future", "received_at")
    if received_at < application.received_at - timedelta(days=90):
        raise CaseworkError("Evidence cannot have been received long before the application", "received_at")
    item = EvidenceItem(application_id=application.id, evidence_type=evidence_type, status="received",
                        received_at=received_at, description=description.strip())
    if stored is not None:
        item.stored_name, item.original_name = stored.stored_name, stored.original_name
        item.mime_type, item.size_bytes = stored.mime_type, stored.size
    application.evidence.append(item)  # keeps the loaded collection current for refresh_clock
    db.session.flush()
    audit.record(actor, "evidence_received", "application", application.id, after=item.audit_view(),
                 summary=f"Evidence received: {evidence_type.replace('_', ' ')}")
    return item


def check_evidence(actor, item: EvidenceItem, *, accept: bool, reason: str = "", valid_until: date | None = None,
                   now: datetime | None = None) -> None:
    now = now or utcnow()
    application = item.application
    _require_open(application)
    if not accept and not reason.strip():
        raise CaseworkError("Enter why the evidence is rejected", "reason")
    if valid_until is not None and valid_until < london_today(now):
        raise CaseworkError("The evidence has already expired: check the valid-until date", "valid_until")
    before = item.audit_view()
    item.status = "accepted" if accept else "rejected"
    item.rejection_reason = "" if accept else reason.strip()
    item.valid_until = valid_until
    item.checked_by_id, item.checked_at = actor.id, now
    audit.record(actor, "evidence_accepted" if accept else "evidence_rejected", "application", application.id,
                 before=before, after=item.audit_view(),
                 summary=f"{'Accepted' if accept else 'Rejected'} {item.evidence_type.replace('_', ' ')}"
                         f"{'' if accept else ': ' + reason.strip()}")
    refresh_clock(application, now=now)


def request_evidence(actor, application: Application, *, method: str, items: list[str], note: str = "",
                     now: datetime | None = None) -> EvidenceRequest:
    now = now or utcnow()
    _require_open(application)
    if not items:
        raise CaseworkError("Select the evidence to ask for", "items")
    request = EvidenceRequest(application_id=application.id, requested_at=now, requested_by_id=actor.id,
                              method=method, items=",".join(items), note=note.strip())
    application.requests.append(request)
    before = application.audit_view()
    if application.status in ("received", "ready"):
        application.status = "awaiting_evidence"
    application.waiting_since = application.waiting_since or now
    db.session.flush()
    refresh_clock(application, now=now)
    audit.record(actor, "evidence_requested", "application", application.id, before=before,
                 after=application.audit_view(),
                 summary=f"Asked the customer by {method} for: {', '.join(i.replace('_', ' ') for i in items)}")
    signals.evidence_requested.send(actor, application=application, request=request)
    return request


def refresh_clock(application: Application, now: datetime | None = None) -> None:
    """Sets documents_complete_at, status and the stored deadline from the evidence and pauses.

    Complete when every required type has an accepted item; the clock then counts from the receipt
    of the last of those items. Incomplete applications keep a provisional deadline from receipt.
    """
    now = now or utcnow()
    accepted: dict[str, datetime] = {}
    for item in application.evidence:
        if item.status == "accepted":
            accepted[item.evidence_type] = min(accepted.get(item.evidence_type, item.received_at), item.received_at)
    required = required_evidence(application)
    complete = all(code in accepted for code in required)
    if complete:
        times = [accepted[code] for code in required] + [application.received_at]
        application.documents_complete_at = max(times)
        if application.status in ("received", "awaiting_evidence"):
            application.status = "ready"
            application.waiting_since = None
    else:
        application.documents_complete_at = None
        if application.status == "ready":
            application.status = "awaiting_evidence" if application.waiting_since else "received"
    application.deadline_at = compute_deadline(application, now=now)


def compute_deadline(application: Application, now: datetime | None = None) -> datetime:
    """The permit_issue deadline under the rules in force when the clock started."""
    start = application.documents_complete_at or application.received_at
    rules = rules_in_force(start)
    pauses = [(p.started_at, p.ended_at) for p in application.pauses] if application.documents_complete_at else []
    pauses = [(s, e) for s, e in pauses if e is None or e > start]
    return deadline_for(rules, CLOCK, start, pauses=pauses, now=now or utcnow())


def open_pause(application: Application) -> ClockPause | None:
    return next((p for p in application.pauses if p.ended_at is None), None)


def start_pause(actor, application: Application, reason: str, now: datetime | None = None) -> ClockPause:
    now = now or utcnow()
    _require_open(application)
    if application.documents_complete_at is None:
        raise CaseworkError("The clock has not started yet: ask for the missing evidence instead")
    if open_pause(application):
        raise CaseworkError("The clock is already paused")
    if not reason.strip():
        raise CaseworkError("Enter what you are waiting for", "reason")
    pause = ClockPause(application_id=application.id, started_at=now, reason=reason.strip(), started_by_id=actor.id)
    application.pauses.append(pause)
    application.waiting_since = now
    refresh_clock(application, now=now)
    audit.record(actor, "clock_paused", "application", application.id, after={"reason": pause.reason},
                 summary=f"Clock paused: waiting for the customer ({pause.reason})")
    return pause


def end_pause(actor, application: Application, now: datetime | None = None) -> None:
    now = now or utcnow()
    pause = open_pause(application)
    if pause is None:
        raise CaseworkError("The clock is not paused")
    before = application.audit_view()
    pause.ended_at = now
    application.waiting_since = None
    refresh_clock(application, now=now)
    audit.record(actor, "clock_resumed", "application", application.id, before=before, after=application.audit_view(),
                 summary="Clock restarted: the customer replied")


def clock_view(application: Application, now: datetime | None = None) -> dict:
    """What the application page and queue rows show about the clock."""
    from ..sla import time_left_text

    now = now or utcnow()
    rules = rules_in_force(application.documents_complete_at or application.received_at)
    if application.status == "issued":
        return {"status": "met_on_time" if application.issued_on_time else "met_late", "text": "Issued"}
    if not application.is_open:
        return {"status": "closed", "text": application.status.capitalize()}
    if application.documents_complete_at is None:
        waited = ""
        if application.waiting_since:
            days = (now - application.waiting_since).days
            waited = f"waiting for the customer {days} day{'s' if days != 1 else ''}"
        return {"status": "not_started", "text": waited or "Clock not started: evidence to check",
                "provisional": application.deadline_at}
    status = clock_status(rules, application.deadline_at, now)
    if open_pause(application):
        return {"status": "paused", "text": "Paused: waiting for the customer"}
    return {"status": status, "text": time_left_text(rules, application.deadline_at, now)}


# ---------------------------------------------------------------- assignment

def assign(actor, application: Application, user_id: int | None) -> None:
    before = application.audit_view()
    application.assignee_id = user_id
    audit.record(actor, "application_assigned", "application", application.id, before=before,
                 after=application.audit_view(), summary="Assigned" if user_id else "Unassigned")


def take_next(actor, base_stmt) -> Application | None:
    """Gives the actor the unassigned open item with the earliest deadline (within the current filters).

    Claimed with a conditional UPDATE, so two advisors pressing "take next" together get different items.
    """
    for _ in range(5):
        candidate = db.session.scalar(base_stmt.where(Application.assignee_id.is_(None))
                                      .order_by(Application.deadline_at, Application.id).limit(1))
        if candidate is None:
            return None
        claimed = db.session.execute(update(Application).where(Application.id == candidate.id,
                                                               Application.assignee_id.is_(None))
                                     .values(assignee_id=actor.id)).rowcount
        if claimed == 1:
            db.session.refresh(candidate)
            audit.record(actor, "application_taken", "application", candidate.id,
                         after={"assignee_id": actor.id}, summary="Taken from the queue")
            return candidate
    return None


# ---------------------------------------------------------------- issuing

@dataclass(frozen=True)
class Allowance:
    year_start: date
    year_end: date
    allowance: int
    used: int
    free_per_year: int
    price_pence: int

    @property
    def remaining(self) -> int:
        return max(self.allowance - self.used, 0)

    def fee_for(self, quantity: int) -> int:
        free_left = max(self.free_per_year - self.used, 0)
        return max(quantity - free_left, 0) * self.price_pence


def allowance_year(on: date, start_month: int) -> tuple[date, date]:
    start = date(on.year if on.month >= start_month else on.year - 1, start_month, 1)
    return start, add_months(start, 12) - timedelta(days=1)


def visitor_allowance(customer_id: int, on: date) -> Allowance:
    rules = rules_in_force(on).permits.visitor
    start, end = allowance_year(on, rules.allowance_year_start_month)
    used = db.session.scalar(select(func.count(Permit.id)).where(
        Permit.customer_id == customer_id, Permit.kind == "visitor",
        Permit.issued_at >= datetime.combine(start, datetime.min.time(), LONDON),
        Permit.issued_at < datetime.combine(end + timedelta(days=1), datetime.min.time(), LONDON),
        Permit.end_reason != "refunded")) or 0
    return Allowance(start, end, rules.allowance_per_year, used, rules.free_per_year, rules.price_pence)


def active_resident_permits(customer_id: int, on: date) -> list[Permit]:
    return list(db.session.scalars(select(Permit).where(
        Permit.customer_id == customer_id, Permit.kind == "resident", Permit.status == "active",
        Permit.valid_to >= on)))


def quote(application: Application, now: datetime | None = None) -> dict:
    """What issuing would do, shown before the advisor confirms: fee, validity, allowance."""
    now = now or utcnow()
    today = london_today(now)
    rules = rules_in_force(today).permits
    valid_from = today
    if application.renewal_of_id:
        old = db.session.get(Permit, application.renewal_of_id)
        if old and old.valid_to >= today:
            valid_from = old.valid_to + timedelta(days=1)
    if application.kind == "resident":
        months = rules.resident.validity_months
        active = [p for p in active_resident_permits(application.customer_id, today)
                  if p.id != application.renewal_of_id]
        problem = None
        if len(active) >= rules.resident.max_per_household:
            problem = (f"The household already has {len(active)} active resident permits; "
                       f"the limit is {rules.resident.max_per_household}")
        return {"fee_pence": rules.resident.price_pence, "valid_from": valid_from,
                "valid_to": add_months(valid_from, months) - timedelta(days=1), "problem": problem,
                "active_resident": active}
    allowance = visitor_allowance(application.customer_id, today)
    problem = None
    if application.quantity > allowance.remaining:
        problem = (f"{application.quantity} visitor permits would exceed the household's allowance: "
                   f"{allowance.remaining} of {allowance.allowance} left this year")
    return {"fee_pence": allowance.fee_for(application.quantity), "valid_from": valid_from,
            "valid_to": add_months(valid_from, rules.visitor.validity_months) - timedelta(days=1),
            "problem": problem, "allowance": allowance}


def issue(actor, application: Application, *, payment_reference: str = "", now: datetime | None = None) -> list[Permit]:
    """Issues the permit(s) for a ready application, exactly once however many advisors press the button."""
    now = now or utcnow()
    if application.status != "ready":
        _refuse_not_ready(application)
    terms = quote(application, now)
    if terms["problem"]:
        raise CaseworkError(terms["problem"])
    if terms["fee_pence"] and not payment_reference.strip():
        raise CaseworkError(f"Enter the payment reference for the {terms['fee_pence'] / 100:.2f} pound fee",
                            "payment_reference")
    on_time = clock_status(rules_in_force(application.documents_complete_at), application.deadline_at, now,
                           completed_at=now) == "met_on_time"
    claimed = db.session.execute(
        update(Application).where(Application.id == application.id, Application.status == "ready")
        .values(status="issued", is_open=False, decided_at=now, decided_by_id=actor.id, issued_on_time=on_time,
                fee_pence=terms["fee_pence"], payment_reference=payment_reference.strip())
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        _refuse_not_ready(db.session.get(Application, application.id))
    db.session.refresh(application)
    counter = "resident_permit" if application.kind == "resident" else "visitor_permit"
    numbers_taken = numbers.formatted(counter, application.quantity)
    fee_each = terms["fee_pence"] // application.quantity if application.quantity else 0
    permits = []
    for index, number in enumerate(numbers_taken):
        fee = fee_each + (terms["fee_pence"] - fee_each * application.quantity if index == 0 else 0)
        permit = Permit(number=number, kind=application.kind, is_renewal=application.app_type == "renewal",
                        zone_id=application.zone_id, vrm=application.vrm, customer_id=application.customer_id,
                        application_id=application.id, valid_from=terms["valid_from"], valid_to=terms["valid_to"],
                        issued_by_id=actor.id, issued_at=now, status="active", fee_pence=fee,
                        payment_reference=payment_reference.strip())
        db.session.add(permit)
        permits.append(permit)
    db.session.flush()
    for permit in permits:
        audit.record(actor, "permit_issued", "permit", permit.id, after=permit.audit_view(),
                     summary=f"Issued {permit.kind} permit {permit.number}")
    audit.record(actor, "application_issued", "application", application.id, after=application.audit_view(),
                 summary=f"Issued {', '.join(p.number for p in permits)}"
                         f" ({'on time' if on_time else 'late'} against the {CLOCK.replace('_', ' ')} clock)")
    return permits


def _refuse_not_ready(application: Application):
    if application.status == "issued":
        who = application.decided_by.full_name if application.decided_by else "another user"
        raise AlreadyIssued(f"Already issued by {who} on {format_datetime(application.decided_at)}")
    if application.status in OPEN_STATUSES:
        raise CaseworkError("The evidence is not complete: the application is not ready to issue")
    raise CaseworkError(f"The application is {application.status} and cannot be issued")


def close_without_permit(actor, application: Application, *, outcome: str, reason: str,
                         now: datetime | None = None) -> None:
    """Refuse or withdraw; both need a reason because the customer will ask why."""
    now = now or utcnow()
    _require_open(application)
    if outcome not in ("refused", "withdrawn"):
        raise CaseworkError("Choose refuse or withdraw")
    if not reason.strip():
        raise CaseworkError("Enter the reason", "reason")
    before = application.audit_view()
    application.status, application.is_open = outcome, False
    application.decided_at, application.decided_by_id = now, actor.id
    application.decision_reason = reason.strip()
    audit.record(actor, f"application_{outcome}", "application", application.id, before=before,
                 after=application.audit_view(), summary=f"{outcome.capitalize()}: {reason.strip()}")


def _require_open(application: Application) -> None:
    if not application.is_open:
        raise CaseworkError(f"The application is {application.status}: nothing more can be changed")
