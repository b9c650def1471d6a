"""The rules of the complaint log: logging, acknowledging, investigating, responding, extending,
escalating, assigning, closing and reopening a complaint, who sees what, and the log's pages.

Every action is one transaction: the change, its timeline event, its audit entry, any letter kept
and any email queued are added to the caller's session together, so a refusal (ComplaintError,
naming the field) leaves nothing half-written. No request objects here: routes and cron call in.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import selectinload

from .. import audit
from ..auth.models import User, UserRole
from ..auth.roles import ADVISOR, DIRECTOR, PARKING_TEAM, SERVICE_LEAD, SERVICE_MANAGER, TEAM_LEADER
from ..extensions import db
from ..mail import queue_email
from ..pdf import render_pdf
from ..service_rules import rules_in_force
from ..sla import Rules, clock_status
from ..timefmt import LONDON, format_datetime, utcnow
from . import clocks as clockwork
from . import ladder
from .models import (CHANNELS, OUTCOMES, PROCEDURE_OF_SOURCE, SOURCES, Complaint, ComplaintClock,
                     ComplaintDocument, ComplaintEvent, ComplaintStage)

# Who may do what. Handling is open to every manager on the ladder: the rung says who is
# *expected* (shown on the page), but cover for a colleague on leave must not be refused.
HANDLERS: tuple[str, ...] = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER, DIRECTOR)
LOGGERS: tuple[str, ...] = (ADVISOR, TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER, DIRECTOR, PARKING_TEAM)
VIEWERS = LOGGERS
REPORT_READERS: tuple[str, ...] = (SERVICE_LEAD, SERVICE_MANAGER, DIRECTOR, PARKING_TEAM)
PER_PAGE = 25
_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


class ComplaintError(ValueError):
    """A refusal, keyed by the form field it belongs to."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def rules_for(complaint: Complaint) -> Rules:
    """A complaint is judged by the rules in force on the day it was received."""
    return rules_in_force(complaint.received_at)


def search_key(text: str) -> str:
    """Casefolded, accents and punctuation dropped: "Zoë O'Brien" is found by "zoe ob"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z ]+", "", re.sub(r"\s+", " ", plain.casefold())).strip()[:200]


# ---------------------------------------------------------------------------------- who sees what
def is_handler(user) -> bool:
    return user.has_role(*HANDLERS)


def visible(stmt, user):
    """Handlers see the whole log; anyone else (advisors, the Parking Team) the ones they raised."""
    if is_handler(user):
        return stmt
    return stmt.where(Complaint.raised_by_id == user.id)


def get_visible(user, complaint_id: int) -> Complaint | None:
    return db.session.scalar(visible(select(Complaint).where(Complaint.id == complaint_id), user))


def sources_for(user) -> dict[str, str]:
    """The Parking Team raises internal complaints only (they are the SLA's principal customer)."""
    if user.has_role(*(r for r in LOGGERS if r != PARKING_TEAM)):
        return dict(SOURCES)
    return {k: v for k, v in SOURCES.items() if PROCEDURE_OF_SOURCE[k] == "internal"}


def handler_choices(rules: Rules | None = None, step: str | None = None, procedure: str | None = None) -> list[User]:
    """Active users who may handle a complaint; those whose role the rung expects come first."""
    users = db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(HANDLERS), User.active.is_(True)).distinct().order_by(User.full_name)).all()
    expected = None
    if rules is not None and step and procedure:
        expected = ladder.rung(rules, procedure, step).role
    return sorted(users, key=lambda u: (0 if expected and expected in u.roles else 1, u.full_name))


def _handler(handler_id: int | None, field_name: str = "handler") -> User | None:
    if not handler_id:
        return None
    user = db.session.get(User, handler_id)
    if user is None or not user.active or not user.has_role(*HANDLERS):
        raise ComplaintError({field_name: "Select a handler from the list"})
    return user


# ---------------------------------------------------------------------------------- small helpers
def _event(complaint: Complaint, actor, kind: str, occurred_at: datetime, title: str, text: str = "",
           document: ComplaintDocument | None = None) -> ComplaintEvent:
    event = ComplaintEvent(complaint_id=complaint.id, kind=kind, occurred_at=occurred_at, recorded_at=utcnow(),
                           actor_id=getattr(actor, "id", None), actor_name=getattr(actor, "full_name", "") or str(actor),
                           title=title, text=text, document=document)
    db.session.add(event)
    return event


def _when(value: datetime | None, now: datetime, field_name: str, label: str, not_before: datetime | None = None,
          not_before_label: str = "") -> datetime:
    if value is None:
        raise ComplaintError({field_name: f"Enter {label}"})
    if value.tzinfo is None:
        value = value.replace(tzinfo=LONDON)
    if value > now:
        raise ComplaintError({field_name: f"{label[0].upper()}{label[1:]} cannot be in the future"})
    if not_before is not None and value < not_before:
        raise ComplaintError({field_name: f"{label[0].upper()}{label[1:]} cannot be before {not_before_label} "
                                          f"({format_datetime(not_before)})"})
    return value


def _require_open(complaint: Complaint, field_name: str = "complaint") -> None:
    if not complaint.is_open:
        raise ComplaintError({field_name: f"{complaint.reference} is closed: reopen it first"})


def _text(value: str | None, field_name: str, label: str, *, required: bool = True, limit: int = 10000) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ComplaintError({field_name: f"Enter {label}"})
    if len(text) > limit:
        raise ComplaintError({field_name: f"{label[0].upper()}{label[1:]} must be {limit} characters or fewer"})
    return text


def _running(complaint: Complaint, names) -> list[ComplaintClock]:
    stage = complaint.current_stage
    return [c for c in complaint.clocks if stage is not None and c.stage_id == stage.id
            and c.clock_name in names and c.completed_at is None and c.stopped_at is None]


def _notify_handler(complaint: Complaint, handler: User | None, actor, why: str) -> None:
    """Email a newly assigned handler (not when they assigned themselves)."""
    if handler is None or not handler.email or getattr(actor, "id", None) == handler.id:
        return
    body = current_app.jinja_env.get_template("complaints/email_assigned.txt").render(
        complaint=complaint, handler=handler, why=why, rung=_rung_title(complaint),
        procedure=complaint.procedure, next_deadline=complaint.next_deadline_at)
    queue_email(handler.email, f"Complaint {complaint.reference} assigned to you", body,
                related_type="complaint", related_id=complaint.id)


def _rung_title(complaint: Complaint) -> str:
    return ladder.rung(rules_for(complaint), complaint.procedure, complaint.step).title


def _letter(complaint: Complaint, actor, kind: str, method: str, template: str, title: str,
            email_subject: str, email_template: str, **context) -> ComplaintDocument:
    """Makes the letter, keeps it, and for `email` queues it to the complainant with the PDF attached."""
    if method == "email" and not complaint.contact_email:
        raise ComplaintError({"method": "The complainant has no email address on the complaint: send a letter"})
    rules = rules_for(complaint)
    context.update(complaint=complaint, rules=rules, signed_by=actor, sent_on=context.get("sent_on") or utcnow(),
                   category=rules.complaints.categories.get(complaint.category, complaint.category),
                   complaint_outcome=OUTCOMES.get(complaint.outcome, ""))
    pdf = render_pdf(template, **context)
    document = ComplaintDocument(complaint_id=complaint.id, kind=kind, method=method,
                                 filename=f"{complaint.reference}-{kind}.pdf", content=pdf,
                                 created_at=utcnow(), created_by_id=getattr(actor, "id", None))
    db.session.add(document)
    if method == "email":
        body = current_app.jinja_env.get_template(email_template).render(**context)
        queue_email(complaint.contact_email, email_subject, body,
                    attachments=[(document.filename, "application/pdf", pdf)],
                    related_type="complaint", related_id=complaint.id)
    return document


# ---------------------------------------------------------------------------------- logging
@dataclass
class NewComplaint:
    source: str
    complainant_name: str
    channel: str
    received_at: datetime | None
    category: str
    summary: str
    step: str = ""
    organisation: str = ""
    contact_email: str = ""
    contact_address: str = ""
    handler_id: int | None = None
    application_ref: str = ""
    permit_ref: str = ""
    customer_ref: str = ""


def _links(data: NewComplaint) -> dict:
    """Resolves the typed references to records; a reference that matches nothing is refused."""
    from ..permits.models import Application, Customer, Permit

    out, shown = {}, []
    for field_name, model, column, label in (
            ("application_ref", Application, Application.reference, "application"),
            ("permit_ref", Permit, Permit.number, "permit"),
            ("customer_ref", Customer, Customer.reference, "customer")):
        ref = (getattr(data, field_name) or "").strip().upper()
        if not ref:
            continue
        found = db.session.scalar(select(model.id).where(column == ref))
        if found is None:
            raise ComplaintError({field_name: f"No {label} has the reference {ref}"})
        out[field_name.replace("_ref", "_id")] = found
        shown.append(f"{label.capitalize()} {ref}")
    out["linked_references"] = "; ".join(shown)
    return out


def log_complaint(actor, data: NewComplaint, now: datetime | None = None) -> Complaint:
    now = now or utcnow()
    errors: dict[str, str] = {}
    if data.source not in sources_for(actor):
        errors["source"] = "Select who the complaint is from"
    if data.channel not in CHANNELS:
        errors["channel"] = "Select how the complaint arrived"
    procedure = PROCEDURE_OF_SOURCE.get(data.source, "internal")
    try:
        received_at = _when(data.received_at, now, "received_date", "the date and time received")
    except ComplaintError as exc:
        errors.update(exc.errors)
        received_at = None
    rules = rules_in_force(received_at or now)
    if data.category not in rules.complaints.categories:
        errors["category"] = "Select a category"
    starts = {s.step: s for s in ladder.starting_rungs(rules, procedure)}
    step = data.step or next(iter(starts), "")
    if step not in starts:
        errors["step"] = (f"Select where the complaint starts in the {procedure} procedure: "
                          f"{' or '.join(s.title for s in starts.values())}")
    for key, label, limit in (("complainant_name", "the complainant's name", 200), ("summary", "a summary", 10000)):
        try:
            _text(getattr(data, key), key, label, limit=limit)
        except ComplaintError as exc:
            errors.update(exc.errors)
    email = (data.contact_email or "").strip()
    if email and (len(email) > 200 or not _EMAIL_RE.match(email)):
        errors["contact_email"] = "Enter an email address in the correct format, like name@example.com"
    if len((data.organisation or "").strip()) > 200:
        errors["organisation"] = "Organisation must be 200 characters or fewer"
    try:
        handler = _handler(data.handler_id)
    except ComplaintError as exc:
        errors.update(exc.errors)
        handler = None
    try:
        links = _links(data)
    except ComplaintError as exc:
        errors.update(exc.errors)
        links = {}
    if errors:
        raise ComplaintError(errors)

    complaint = Complaint(
        procedure=procedure, source=data.source, complainant_name=data.complainant_name.strip(),
        complainant_key=search_key(data.complainant_name), organisation=(data.organisation or "").strip(),
        organisation_key=search_key(data.organisation or ""), contact_email=email,
        contact_address=(data.contact_address or "").strip()[:2000], channel=data.channel, received_at=received_at,
        category=data.category, summary=data.summary.strip(), status="open", step=step, stage_number=1,
        handler_id=handler.id if handler else None, raised_by_id=actor.id, created_at=now, **links)
    db.session.add(complaint)
    db.session.flush()
    stage = ComplaintStage(number=1, step=step, started_at=received_at, handler_id=complaint.handler_id, reason="")
    complaint.stages.append(stage)
    clockwork.start_stage_clocks(rules, complaint, stage, starts[step].clocks)
    clockwork.refresh_next_deadline(complaint)
    db.session.flush()
    _event(complaint, actor, "received", received_at, f"Received by {CHANNELS[data.channel].lower()}: {starts[step].title}",
           complaint.summary)
    if handler:
        _event(complaint, actor, "assigned", now, f"Assigned to {handler.full_name}")
    audit.record(actor, "complaint_logged", "complaint", complaint.id, after=complaint.audit_view(),
                 summary=f"Logged complaint {complaint.reference}")
    _notify_handler(complaint, handler, actor, "A new complaint has been logged")
    return complaint


# ---------------------------------------------------------------------------------- actions
def acknowledge(actor, complaint: Complaint, *, method: str, sent_at: datetime | None,
                now: datetime | None = None) -> ComplaintDocument:
    """Sends the acknowledgement (letter or email from the template) and meets the rung's
    acknowledgement clock at the moment it went, which starts the response clock."""
    now = now or utcnow()
    _require_open(complaint, "method")
    rules = rules_for(complaint)
    step = ladder.rung(rules, complaint.procedure, complaint.step)
    ack = ladder.acknowledgement_clock(step)
    running = _running(complaint, [ack]) if ack else []
    if not running:
        raise ComplaintError({"method": "There is no acknowledgement due at this stage"})
    if method not in ("letter", "email"):
        raise ComplaintError({"method": "Select how the acknowledgement is sent"})
    stage = complaint.current_stage
    sent_at = _when(sent_at, now, "sent_date", "when the acknowledgement went", stage.started_at,
                    "the start of this stage")
    clockwork.complete(rules, complaint, running[0], sent_at)
    responses = [c for c in complaint.clocks if c.stage_id == stage.id and c.clock_name in ladder.response_clocks(step)]
    document = _letter(complaint, actor, "acknowledgement", method, "complaints/letter_acknowledgement.html",
                       "Acknowledgement", f"Your complaint {complaint.reference}: acknowledgement",
                       "complaints/email_acknowledgement.txt", step=step, sent_on=sent_at, stage=stage,
                       response_clocks=[(rules.clock(c.clock_name), c.deadline_at) for c in responses])
    clockwork.refresh_next_deadline(complaint)
    db.session.flush()
    status = clock_status(rules, running[0].deadline_at, now, completed_at=sent_at)
    _event(complaint, actor, "acknowledged", sent_at,
           f"Acknowledged by {method} ({'on time' if status == 'met_on_time' else 'late'})", document=document)
    audit.record(actor, "complaint_acknowledged", "complaint", complaint.id,
                 after={"clock": ack, "sent_at": sent_at, "method": method, "status": status},
                 summary=f"Acknowledged {complaint.reference} by {method}")
    return document


def add_note(actor, complaint: Complaint, *, kind: str, text: str, occurred_at: datetime | None,
             now: datetime | None = None) -> ComplaintEvent:
    """Investigation notes and contacts with the complainant; allowed on a closed complaint too."""
    now = now or utcnow()
    if kind not in ("note", "contact"):
        raise ComplaintError({"kind": "Select a note or a contact with the complainant"})
    body = _text(text, "text", "the note")
    occurred_at = _when(occurred_at, now, "occurred_date", "when it happened", complaint.received_at, "receipt")
    title = "Note" if kind == "note" else "Contact with the complainant"
    event = _event(complaint, actor, kind, occurred_at, title, body)
    audit.record(actor, f"complaint_{kind}", "complaint", complaint.id, after={"kind": kind, "text": body},
                 summary=f"{title} on {complaint.reference}")
    return event


def respond(actor, complaint: Complaint, *, text: str, occurred_at: datetime | None, method: str = "",
            now: datetime | None = None) -> ComplaintDocument | None:
    """The rung's response: the public stage's written response, or the internal meeting to agree a
    resolution. Meets the rung's response clocks; a final response signposts what the rules name."""
    now = now or utcnow()
    _require_open(complaint, "text")
    rules = rules_for(complaint)
    step = ladder.rung(rules, complaint.procedure, complaint.step)
    names = ladder.response_clocks(step)
    running = [c for c in _running(complaint, names) if c.started_at is not None]
    if not names:
        raise ComplaintError({"text": "This stage has no response clock: add a note, escalate or close"})
    if not running:
        waiting = _running(complaint, names)
        raise ComplaintError({"text": "Acknowledge the complaint first: the response clock starts then"
                              if waiting else "The response at this stage has already been recorded"})
    body = _text(text, "text", "what was said or agreed")
    stage = complaint.current_stage
    occurred_at = _when(occurred_at, now, "occurred_date", "when it happened",
                        max(c.started_at for c in running), "the start of the response clock")
    if method not in ("", "letter", "email"):
        raise ComplaintError({"method": "Select how the response is sent"})
    for clock in running:
        clockwork.complete(rules, complaint, clock, occurred_at)
    signpost = ladder.signpost_after(rules, complaint.procedure, complaint.step)
    document = None
    if method:
        document = _letter(complaint, actor, "response", method, "complaints/letter_response.html", "Response",
                           f"Your complaint {complaint.reference}: our response", "complaints/email_response.txt",
                           step=step, stage=stage, response_text=body, signpost=signpost, sent_on=occurred_at)
    clockwork.refresh_next_deadline(complaint)
    db.session.flush()
    met = {c.clock_name: clock_status(rules, c.deadline_at, now, completed_at=occurred_at) for c in running}
    kind = "meeting" if complaint.procedure == "internal" else "response"
    on_time = all(s == "met_on_time" for s in met.values())
    _event(complaint, actor, kind, occurred_at,
           f"{', '.join(rules.clock(n).title for n in met)} ({'on time' if on_time else 'late'})", body,
           document=document)
    audit.record(actor, f"complaint_{kind}", "complaint", complaint.id,
                 after={"clocks": met, "occurred_at": occurred_at, "text": body, "method": method},
                 summary=f"{kind.capitalize()} recorded on {complaint.reference}")
    return document


def extendable(complaint: Complaint) -> list[ComplaintClock]:
    """Running clocks of this rung the rules allow one extension of, not yet extended."""
    if not complaint.is_open or complaint.current_stage is None:
        return []
    rules = rules_for(complaint)
    return [c for c in complaint.clocks if c.stage_id == complaint.current_stage.id and c.running
            and rules.clock(c.clock_name).extension is not None and not c.extension]


def extend(actor, complaint: Complaint, *, clock_id: int | None, length: int | None, reason: str,
           now: datetime | None = None) -> ComplaintClock:
    """One extension per clock, of at most the rules' maximum, with a reason when the rules ask."""
    now = now or utcnow()
    _require_open(complaint, "clock")
    rules = rules_for(complaint)
    candidates = {c.id: c for c in extendable(complaint)}
    clock = candidates.get(clock_id or 0)
    if clock is None:
        raise ComplaintError({"clock": "Select a running clock that can still be extended"
                              if candidates else "No clock at this stage can be extended (once only, once started)"})
    spec = rules.clock(clock.clock_name).extension
    if length is None or not 1 <= length <= spec.max_length:
        raise ComplaintError({"length": f"Extension must be a whole number from 1 to {spec.max_length}"})
    why = _text(reason, "reason", "the reason for the extension", required=spec.reason_required, limit=2000)
    before = clock.deadline_at
    clock.extension = length
    clock.extension_reason = why
    clock.deadline_at = clockwork.compute_deadline(rules, clock)
    clock.at_risk_notified_at = None  # a new deadline can turn at risk again
    clockwork.refresh_next_deadline(complaint)
    title = rules.clock(clock.clock_name).title
    _event(complaint, actor, "extension", now,
           f"{title} extended by {length} ({rules.clock(clock.clock_name).unit.replace('_', ' ')}): "
           f"now due {format_datetime(clock.deadline_at)}", why)
    audit.record(actor, "complaint_extension", "complaint", complaint.id,
                 before={"clock": clock.clock_name, "deadline_at": before},
                 after={"clock": clock.clock_name, "deadline_at": clock.deadline_at, "extension": length, "reason": why},
                 summary=f"Extended {title} on {complaint.reference}")
    return clock


def _previous_handlers(complaint: Complaint) -> set[int]:
    """Handlers of the earlier formal rungs: a later stage must be looked at by someone else."""
    rules = rules_for(complaint)
    out = set()
    for stage in complaint.stages[:-1]:
        if stage.handler_id and ladder.is_formal(ladder.rung(rules, complaint.procedure, stage.step)):
            out.add(stage.handler_id)
    return out


def escalate(actor, complaint: Complaint, *, reason: str, handler_id: int | None, requested_at: datetime | None,
             now: datetime | None = None) -> ComplaintStage:
    """Up one rung: the reason, the new handler (never the one who dealt with the earlier rung)
    and the new rung's clocks, counting from when the complainant asked."""
    now = now or utcnow()
    _require_open(complaint, "reason")
    rules = rules_for(complaint)
    target = ladder.next_rung(rules, complaint.procedure, complaint.step)
    if target is None:
        raise ComplaintError({"reason": "This is the last stage of the procedure: close the complaint with the "
                                        "final response"})
    errors = {}
    why = ""
    try:
        why = _text(reason, "reason", "why the complaint is escalated", limit=2000)
    except ComplaintError as exc:
        errors.update(exc.errors)
    current = complaint.current_stage
    try:
        requested_at = _when(requested_at, now, "requested_date", "when the complainant asked to escalate",
                             current.started_at, "the start of the current stage")
    except ComplaintError as exc:
        errors.update(exc.errors)
    handler = None
    try:
        handler = _handler(handler_id)
    except ComplaintError as exc:
        errors.update(exc.errors)
    forbidden = _previous_handlers(complaint)
    if current.handler_id and ladder.is_formal(ladder.rung(rules, complaint.procedure, current.step)):
        forbidden.add(current.handler_id)
    if handler is None:
        errors.setdefault("handler", "Select the new handler")
    elif handler.id in forbidden:
        errors["handler"] = f"{handler.full_name} handled an earlier stage: select a different handler"
    if errors:
        raise ComplaintError(errors)
    before = {"step": complaint.step, "handler_id": complaint.handler_id}
    clockwork.stop_running(complaint, requested_at)
    current.ended_at = requested_at
    stage = ComplaintStage(number=current.number + 1, step=target.step, started_at=requested_at,
                           handler_id=handler.id, reason=why)
    with db.session.no_autoflush:
        complaint.stages.append(stage)
    complaint.step = target.step
    complaint.stage_number = stage.number
    complaint.handler_id = handler.id
    complaint.handler = handler
    db.session.flush()
    clockwork.start_stage_clocks(rules, complaint, stage, target.clocks)
    clockwork.refresh_next_deadline(complaint)
    db.session.flush()
    _event(complaint, actor, "escalated", requested_at, f"Escalated: {target.title}; handler {handler.full_name}", why)
    audit.record(actor, "complaint_escalated", "complaint", complaint.id, before=before,
                 after={"step": target.step, "handler_id": handler.id, "reason": why},
                 summary=f"Escalated {complaint.reference} to {target.step}")
    _notify_handler(complaint, handler, actor, f"The complaint has been escalated: {target.title}")
    return stage


def assign(actor, complaint: Complaint, *, handler_id: int | None, now: datetime | None = None) -> None:
    now = now or utcnow()
    _require_open(complaint, "handler")
    handler = _handler(handler_id)
    if handler is None:
        raise ComplaintError({"handler": "Select the handler"})
    if handler.id in _previous_handlers(complaint):
        raise ComplaintError({"handler": f"{handler.full_name} handled an earlier stage: select a different handler"})
    if handler.id == complaint.handler_id:
        return
    before = {"handler_id": complaint.handler_id}
    complaint.handler_id = handler.id
    complaint.handler = handler
    complaint.current_stage.handler_id = handler.id
    for clock in complaint.clocks:
        if clock.running:
            clock.at_risk_notified_at = None  # the new handler has not been told
    _event(complaint, actor, "assigned", now, f"Assigned to {handler.full_name}")
    audit.record(actor, "complaint_assigned", "complaint", complaint.id, before=before,
                 after={"handler_id": handler.id}, summary=f"Assigned {complaint.reference} to {handler.username}")
    _notify_handler(complaint, handler, actor, "The complaint has been assigned to you")


def close(actor, complaint: Complaint, *, outcome: str, remedy: str, agreement_text: str, learning_action: str,
          closed_at: datetime | None, method: str = "", now: datetime | None = None) -> ComplaintDocument | None:
    """Logs the agreement and closes. Clocks of the rung still running are met at closure (the
    closing record is the reply); clocks that never started are stopped. A record of the agreement
    goes to the complainant where needed (`method` letter or email)."""
    now = now or utcnow()
    _require_open(complaint, "outcome")
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = "Select the outcome: upheld, partly upheld or not upheld"
    values = {}
    given = {"remedy": remedy, "agreement_text": agreement_text, "learning_action": learning_action}
    for key, label in (("remedy", "the remedy"), ("agreement_text", "the agreement"),
                       ("learning_action", "the learning action")):
        try:
            values[key] = _text(given[key], key, label, required=False)
        except ComplaintError as exc:
            errors.update(exc.errors)
    if method not in ("", "letter", "email"):
        errors["method"] = "Select how the record of the agreement is sent"
    elif method and not values.get("agreement_text"):
        errors["agreement_text"] = "Enter the agreement to send a record of it"
    try:
        closed_at = _when(closed_at, now, "closed_date", "when it was closed", complaint.current_stage.started_at,
                          "the start of the current stage")
    except ComplaintError as exc:
        errors.update(exc.errors)
    if errors:
        raise ComplaintError(errors)
    rules = rules_for(complaint)
    before = complaint.audit_view()
    for clock in list(complaint.clocks):
        if clock.running:
            clockwork.complete(rules, complaint, clock, closed_at)
    clockwork.stop_running(complaint, closed_at)
    complaint.status = "closed"
    complaint.outcome = outcome
    complaint.remedy, complaint.agreement_text, complaint.learning_action = (
        values["remedy"], values["agreement_text"], values["learning_action"])
    complaint.closed_at = closed_at
    complaint.closed_step = complaint.step
    complaint.current_stage.ended_at = closed_at
    clockwork.refresh_next_deadline(complaint)
    document = None
    if method:
        document = _letter(complaint, actor, "agreement", method, "complaints/letter_agreement.html",
                           "Record of the agreement", f"Your complaint {complaint.reference}: record of the agreement",
                           "complaints/email_agreement.txt", sent_on=closed_at,
                           signpost=ladder.signpost_after(rules, complaint.procedure, complaint.step),
                           step=ladder.rung(rules, complaint.procedure, complaint.step))
    db.session.flush()
    if complaint.agreement_text:
        _event(complaint, actor, "agreement", closed_at, "Agreement logged", complaint.agreement_text, document=document)
    step = ladder.rung(rules, complaint.procedure, complaint.step)
    informal = "" if ladder.is_formal(step) else " (resolved locally, informally)"
    _event(complaint, actor, "closed", closed_at, f"Closed: {OUTCOMES[outcome]}{informal}",
           "\n".join(x for x in (f"Remedy: {complaint.remedy}" if complaint.remedy else "",
                                 f"Learning action: {complaint.learning_action}" if complaint.learning_action else "") if x),
           document=None if complaint.agreement_text else document)
    audit.record(actor, "complaint_closed", "complaint", complaint.id, before=before, after=complaint.audit_view(),
                 summary=f"Closed {complaint.reference}: {OUTCOMES[outcome]}")
    return document


def reopen(actor, complaint: Complaint, *, reason: str, now: datetime | None = None) -> None:
    """Back to open on the same rung; the earlier outcome stays in the timeline and the audit trail."""
    now = now or utcnow()
    if complaint.is_open:
        raise ComplaintError({"reason": f"{complaint.reference} is already open"})
    why = _text(reason, "reason", "why the complaint is reopened", limit=2000)
    before = complaint.audit_view()
    complaint.status = "open"
    complaint.outcome = ""
    complaint.closed_at = None
    complaint.closed_step = ""
    complaint.current_stage.ended_at = None
    clockwork.refresh_next_deadline(complaint)
    _event(complaint, actor, "reopened", now, "Reopened", why)
    audit.record(actor, "complaint_reopened", "complaint", complaint.id, before=before, after=complaint.audit_view(),
                 summary=f"Reopened {complaint.reference}")


# ---------------------------------------------------------------------------------- the page
@dataclass
class NextAction:
    label: str
    endpoint: str
    primary: bool = False


def next_actions(complaint: Complaint, user) -> list[NextAction]:
    if not is_handler(user):
        return []
    if not complaint.is_open:
        return [NextAction("Reopen the complaint", "complaints.reopen", True)]
    rules = rules_for(complaint)
    step = ladder.rung(rules, complaint.procedure, complaint.step)
    out = []
    if complaint.handler_id is None:
        out.append(NextAction("Assign a handler", "complaints.assign", True))
    ack = ladder.acknowledgement_clock(step)
    if ack and _running(complaint, [ack]):
        out.append(NextAction("Acknowledge the complaint", "complaints.acknowledge", not out))
    names = ladder.response_clocks(step)
    if names and [c for c in _running(complaint, names) if c.started_at is not None]:
        out.append(NextAction(f"Record: {rules.clock(names[0]).title.lower()}", "complaints.respond", not out))
    out.append(NextAction("Add a note or contact", "complaints.note"))
    if extendable(complaint):
        out.append(NextAction("Extend a clock", "complaints.extend"))
    target = ladder.next_rung(rules, complaint.procedure, complaint.step)
    if target is not None:
        out.append(NextAction(f"Escalate: {target.title}", "complaints.escalate"))
    out.append(NextAction("Log the agreement and close", "complaints.close"))
    if complaint.handler_id is not None:
        out.append(NextAction("Change the handler", "complaints.assign"))
    return out


def timeline(complaint: Complaint) -> list[ComplaintEvent]:
    return list(db.session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
                                   .order_by(ComplaintEvent.occurred_at, ComplaintEvent.id)))


def documents(complaint: Complaint) -> list[ComplaintDocument]:
    return list(db.session.scalars(select(ComplaintDocument).where(ComplaintDocument.complaint_id == complaint.id)
                                   .order_by(ComplaintDocument.id)))


# ---------------------------------------------------------------------------------- the log
@dataclass
class LogFilters:
    q: str = ""
    procedure: str = ""
    step: str = ""
    handler: str = ""  # a user id, "me" or "none"
    status: str = ""
    category: str = ""
    overdue: str = ""
    sort: str = "deadline"  # or "newest"


@dataclass
class LogPage:
    items: list[Complaint]
    next_cursor: str | None
    is_first: bool
    statuses: dict[int, str] = field(default_factory=dict)


def log_stmt(user, f: LogFilters, now: datetime | None = None):
    now = now or utcnow()
    stmt = visible(select(Complaint), user)
    q = (f.q or "").strip()
    if q:
        ref = re.fullmatch(r"(?:cmp-?)?0*(\d{1,9})", q.strip().lower())
        key = search_key(q)
        conditions = []
        if ref:
            conditions.append(Complaint.id == int(ref.group(1)))
        if key:
            from ..pagination import prefix_range

            conditions += [prefix_range(Complaint.complainant_key, key), prefix_range(Complaint.organisation_key, key)]
        stmt = stmt.where(or_(*conditions)) if conditions else stmt.where(Complaint.id.is_(None))
    if f.procedure:
        stmt = stmt.where(Complaint.procedure == f.procedure)
    if f.step:
        stmt = stmt.where(Complaint.step == f.step)
    if f.handler == "me":
        stmt = stmt.where(Complaint.handler_id == user.id)
    elif f.handler == "none":
        stmt = stmt.where(Complaint.handler_id.is_(None))
    elif f.handler.isdigit():
        stmt = stmt.where(Complaint.handler_id == int(f.handler))
    if f.status:
        stmt = stmt.where(Complaint.status == f.status)
    if f.category:
        stmt = stmt.where(Complaint.category == f.category)
    if f.overdue:
        stmt = stmt.where(Complaint.status == "open", Complaint.next_deadline_at < now)
    return stmt


def log_page(stmt, sort: str, cursor: str | None, now: datetime | None = None, per_page: int = PER_PAGE) -> LogPage:
    """Keyset pages. By next deadline: complaints with a running clock, soonest first, on the
    (next_deadline_at, id) index; then those without one (closed, or waiting), newest first.
    The cursor says which of the two runs it is in, so no page ever needs OFFSET."""
    now = now or utcnow()
    rows: list[Complaint] = []
    phase, after_deadline, after_id = "d", None, None
    if cursor:
        try:
            phase, _, rest = cursor.partition("~")
            if phase == "d":
                stamp, _, id_text = rest.partition("~")
                after_deadline, after_id = datetime.fromisoformat(stamp), int(id_text)
            elif phase == "n":
                after_id = int(rest)
            else:
                raise ValueError(cursor)
        except ValueError:
            phase, after_deadline, after_id, cursor = "d", None, None, None
    if sort == "newest":
        s = stmt
        if cursor and after_id is not None:
            s = s.where(Complaint.id < after_id)
        rows = db.session.scalars(s.order_by(Complaint.id.desc()).limit(per_page + 1)).all()
        more = len(rows) > per_page
        rows = rows[:per_page]
        next_cursor = f"n~{rows[-1].id}" if more else None
    else:
        if phase == "d":
            s = stmt.where(Complaint.next_deadline_at.is_not(None))
            if after_deadline is not None:
                s = s.where(or_(Complaint.next_deadline_at > after_deadline,
                                and_(Complaint.next_deadline_at == after_deadline, Complaint.id > after_id)))
            rows = list(db.session.scalars(s.order_by(Complaint.next_deadline_at, Complaint.id).limit(per_page + 1)))
            after_id = None
        if len(rows) <= per_page:
            s = stmt.where(Complaint.next_deadline_at.is_(None))
            if phase == "n" and after_id is not None:
                s = s.where(Complaint.id < after_id)
            rows += list(db.session.scalars(s.order_by(Complaint.id.desc()).limit(per_page + 1 - len(rows))))
        more = len(rows) > per_page
        rows = rows[:per_page]
        next_cursor = None
        if more:
            last = rows[-1]
            next_cursor = (f"d~{last.next_deadline_at.isoformat()}~{last.id}" if last.next_deadline_at is not None
                           else f"n~{last.id}")
    rules = rules_in_force()
    statuses = {c.id: clock_status(rules, c.next_deadline_at, now) for c in rows if c.next_deadline_at is not None}
    return LogPage(rows, next_cursor, not cursor, statuses)


@dataclass
class HandlerPanel:
    due_today: list[tuple[Complaint, str]]
    at_risk: list[tuple[Complaint, str]]
    breached: list[tuple[Complaint, str]]
    breached_count: int = 0
    due_today_count: int = 0
    at_risk_count: int = 0

    @property
    def empty(self) -> bool:
        return not (self.due_today or self.at_risk or self.breached)


def handler_panel(user, now: datetime | None = None, shown: int = 10, candidates: int = 50) -> HandlerPanel:
    """The handler's own open complaints that are overdue, due today or at risk.

    Overdue and due today are ranges of the indexed next deadline, so SQL answers them (the
    counts are exact, the lists the first `shown`). At risk needs the engine (working time left,
    or a fraction of the clock): it looks at the `candidates` deadlines due next after today,
    which is where at-risk clocks are, so the panel costs the same for a caseload of ten or ten
    thousand.
    """
    from sqlalchemy import func as sqlfunc

    from ..sla import time_left_text

    now = now or utcnow()
    local = now.astimezone(LONDON)
    end_of_today = datetime(local.year, local.month, local.day, tzinfo=LONDON) + timedelta(days=1)
    mine = (Complaint.handler_id == user.id, Complaint.status == "open")

    def rows(*conditions, limit):
        return db.session.scalars(select(Complaint).options(selectinload(Complaint.clocks)).where(*mine, *conditions)
                                  .order_by(Complaint.next_deadline_at, Complaint.id).limit(limit)).all()

    def described(complaint):
        clock = min((c for c in complaint.clocks if c.running), key=lambda c: c.deadline_at)
        rules = rules_for(complaint)
        return clock, rules, f"{rules.clock(clock.clock_name).title}: {time_left_text(rules, clock.deadline_at, now)}"

    panel = HandlerPanel([], [], [])
    overdue = Complaint.next_deadline_at < now
    today = (Complaint.next_deadline_at >= now) & (Complaint.next_deadline_at < end_of_today)
    panel.breached = [(c, described(c)[2]) for c in rows(overdue, limit=shown)]
    panel.due_today = [(c, described(c)[2]) for c in rows(today, limit=shown)]
    panel.breached_count = db.session.scalar(select(sqlfunc.count()).select_from(Complaint).where(*mine, overdue))
    panel.due_today_count = db.session.scalar(select(sqlfunc.count()).select_from(Complaint).where(*mine, today))
    for complaint in rows(Complaint.next_deadline_at >= end_of_today, limit=candidates):
        clock, rules, text = described(complaint)
        if clock_status(rules, clock.deadline_at, now, started_at=clock.started_at) == "at_risk":
            panel.at_risk.append((complaint, text))
    panel.at_risk_count = len(panel.at_risk)
    return panel


# ---------------------------------------------------------------------------------- cron
@dataclass
class NotifyResult:
    emailed: int = 0
    clocks: int = 0
    unassigned: int = 0
    no_email: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.clocks} clock(s) newly at risk or breached; {self.emailed} handler email(s) queued"
        if self.unassigned:
            text += f"; {self.unassigned} on unassigned complaints (not marked, will be told once assigned)"
        if self.no_email:
            text += f"; no email address for: {', '.join(sorted(set(self.no_email)))}"
        return text


def notify_at_risk(now: datetime | None = None) -> NotifyResult:
    """Emails each handler once per clock that has turned at risk or breached. Safe to run twice,
    or on two servers at once: a clock is claimed with a conditional UPDATE (notified_at IS NULL)
    and only the run whose update counted a row tells the handler."""
    now = now or utcnow()
    result = NotifyResult()
    rows = db.session.execute(
        select(ComplaintClock, Complaint).join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(ComplaintClock.completed_at.is_(None), ComplaintClock.stopped_at.is_(None),
               ComplaintClock.deadline_at.is_not(None), ComplaintClock.at_risk_notified_at.is_(None),
               Complaint.status == "open")
        .order_by(ComplaintClock.deadline_at)).all()
    by_handler: dict[int, list[tuple[Complaint, ComplaintClock, str]]] = {}
    for clock, complaint in rows:
        rules = rules_for(complaint)
        status = clock_status(rules, clock.deadline_at, now, started_at=clock.started_at)
        if status not in ("at_risk", "breached"):
            continue
        if complaint.handler_id is None:
            result.unassigned += 1
            continue
        claimed = db.session.execute(
            update(ComplaintClock).where(ComplaintClock.id == clock.id, ComplaintClock.at_risk_notified_at.is_(None))
            .values(at_risk_notified_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed == 1:
            by_handler.setdefault(complaint.handler_id, []).append((complaint, clock, status))
            result.clocks += 1
    for handler_id, items in by_handler.items():
        handler = db.session.get(User, handler_id)
        if not handler.email:
            result.no_email.append(handler.username)
            continue
        lines = []
        for complaint, clock, status in items:
            rules = rules_for(complaint)
            lines.append((complaint, rules.clock(clock.clock_name).title, status, clock.deadline_at))
        body = current_app.jinja_env.get_template("complaints/email_at_risk.txt").render(handler=handler, lines=lines)
        queue_email(handler.email, f"Complaints at risk: {len(items)} clock(s) need you", body,
                    related_type="complaint", related_id=items[0][0].id)
        result.emailed += 1
    if result.clocks:
        audit.record(None, "complaints_notified", "complaint", "notify",
                     after={"clocks": result.clocks, "emails": result.emailed}, summary=result.summary())
    return result
