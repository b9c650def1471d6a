"""The rules of the change request process, from the SLA's "Varying the SLA between Annual
Reviews" and "What we need from service users". No request objects here: routes pass in the
user, the data and (where it matters) the day, so the CLI, demo data and tests use the same rules.

Every length comes from the rules (`changes.notice_clock`, `staffing.productive_hours_per_fte_week`,
`agreement.reviews`, ...); nothing here knows "12 weeks" or "84 days".
"""
from __future__ import annotations

import calendar as _calendar
import copy
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import yaml
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import joinedload

from .. import audit
from ..auth.models import User, UserRole
from ..auth.roles import CSC_STAFF, DIRECTOR, MANAGERS, PARKING_TEAM, SERVICE_LEAD, SERVICE_MANAGER
from ..extensions import db
from ..service_rules import base_rules, rules_in_force
from ..sla import Rules, RulesError, deadline_for, rules_from_mapping
from ..timefmt import LONDON, utcnow
from .models import (CHANNELS, ChangeAttachment, ChangeRequest, ChangeSignOff, NoticeRead,
                     ReviewReminder, SlaVariation, SystemChangeNotice)

SUBMITTERS = (PARKING_TEAM, SERVICE_LEAD, SERVICE_MANAGER)
ASSESSORS = (SERVICE_LEAD, SERVICE_MANAGER)
# Who sees every request; the Parking Team sees its own team's (see `visible`).
SEE_ALL = (*CSC_STAFF, DIRECTOR)
VIEWERS = (*SEE_ALL, PARKING_TEAM)

STATUS_LABELS = {
    "draft": "Draft",
    "submitted": "Awaiting assessment",
    "awaiting_sign_off": "Awaiting sign-off",
    "agreed": "Agreed",
    "rejected": "Rejected",
    "scheduled": "Scheduled",
    "implemented": "Implemented",
    "reviewed": "Reviewed after implementation",
    "withdrawn": "Withdrawn",
}
STATUS_COLOURS = {
    "draft": "grey", "submitted": "blue", "awaiting_sign_off": "yellow", "agreed": "green",
    "rejected": "red", "scheduled": "turquoise", "implemented": "purple", "reviewed": "green",
    "withdrawn": "grey",
}
# The SLA's own words for why a change may be dealt with in a shorter time.
URGENT_REASONS = {
    "key_risk": "A key identified risk",
    "performance_issue": "A performance issue",
    "unforeseen_change": "An unforeseen change",
    "minor_change": "A minor change",
}
AGREED = ("agreed", "scheduled", "implemented", "reviewed")
BEFORE_IMPLEMENTATION = ("draft", "submitted", "awaiting_sign_off", "agreed", "scheduled")
# Status -> the statuses it may move to from the status page (agreement comes from sign-off).
TRANSITIONS = {
    "draft": ("withdrawn",), "submitted": ("withdrawn",), "awaiting_sign_off": ("withdrawn",),
    "agreed": ("scheduled", "withdrawn"), "scheduled": ("implemented", "withdrawn"),
    "implemented": ("reviewed",),
}
STATUS_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # status: ((field, label, message when missing), ...)
    "scheduled": (("go_live_on", "Implementation date", "Enter the implementation date"),
                  ("briefing_on", "Date of staff briefings and training", "Enter the date of the staff briefings and training")),
    "implemented": (("implemented_on", "Date implemented", "Enter the date it was implemented"),
                    ("implementation_notes", "What was implemented", "Enter what was implemented")),
    "reviewed": (("reviewed_on", "Date of the post-implementation review", "Enter the date of the review"),
                 ("review_findings", "Findings of the review", "Enter the findings of the review")),
    "withdrawn": (("withdrawn_reason", "Why it is withdrawn", "Enter why the request is withdrawn"),),
}
LATER_ASSESSMENT = ("later_assessment", "Later assessment under the variation process",
                    "Enter the outcome of the later assessment under the variation process")

# The requestor's duties, keyed as in `changes.requestor_information` of the rules.
REQUESTOR_ITEMS: dict[str, tuple[str, str, str]] = {
    # key: (form field, label, message when missing)
    "expected_contact_volumes": ("volume_phone", "Expected contact volumes per week, by channel",
                                 "Enter the expected contact volumes per week for at least one channel"),
    "duration": ("duration", "Duration", "Enter how long the change will last"),
    "implementation_plan": ("implementation_plan", "Implementation plan", "Enter the implementation plan"),
    "script_design": ("script_design", "Script design", "Enter the script design"),
    "briefings": ("briefings", "Briefings", "Enter the briefings staff will need"),
    "training": ("training", "Training", "Enter the training staff will need"),
}
BASE_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("title", "Title", "Enter a title"),
    ("requestor_name", "Requestor", "Enter the requestor's name"),
    ("directorate", "Directorate", "Enter the directorate"),
    ("request_type", "Type of change", "Select the type of change"),
    ("route", "Route", "Select the route"),
    ("description", "Description", "Enter a description of the change"),
    ("required_by", "Required-by date", "Enter the date the change is required by"),
)
EDITABLE = ("title", "requestor_name", "directorate", "request_type", "route", "description", "required_by",
            "urgent_reason", "urgent_detail", "minor_no_resources", "minor_directorate_process",
            *(f"volume_{c}" for c, _ in CHANNELS), "duration", "implementation_plan", "script_design",
            "briefings", "training")

TEXT_FIELDS = {c.key for c in ChangeRequest.__table__.columns
               if c.type.python_type is str and not c.nullable}


class ChangeError(Exception):
    """A rule refused the action; `errors` maps a form field to a message fit for the page."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def today_london() -> date:
    return utcnow().astimezone(LONDON).date()


# --------------------------------------------------------------------------------------------
# Who sees what
# --------------------------------------------------------------------------------------------
def sees_all(user) -> bool:
    return user.has_role(*SEE_ALL)


def visible(stmt, user):
    """CSC staff and the Director see every request. A Parking Team user follows their own and
    their team's: requests raised by anyone holding the Parking Team role (users carry no
    directorate, and the Parking Team is the one principal customer of this SLA)."""
    if sees_all(user):
        return stmt
    team = exists().where(UserRole.user_id == ChangeRequest.requestor_id, UserRole.role == PARKING_TEAM)
    return stmt.where(or_(ChangeRequest.requestor_id == user.id, team))


def get_visible(user, request_id: int) -> ChangeRequest | None:
    return db.session.scalar(visible(select(ChangeRequest).where(ChangeRequest.id == request_id), user))


# --------------------------------------------------------------------------------------------
# Notice
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Notice:
    received_on: date
    required_by: date
    days: int
    required_days: int
    clock_text: str

    @property
    def meets(self) -> bool:
        return self.days >= self.required_days

    @property
    def earliest_required_by(self) -> date:
        return self.received_on + timedelta(days=self.required_days)


def notice_clock(rules: Rules):
    return rules.clock(rules.changes.notice_clock)


def required_notice_days(rules: Rules) -> int:
    """The notice the SLA asks for, in calendar days ("weeks' notice is counted in calendar days")."""
    clock = notice_clock(rules)
    if clock.unit == "weeks":
        return clock.length * 7
    if clock.unit == "calendar_days":
        return clock.length
    raise ValueError(f"the notice clock {clock.name!r} must count weeks or calendar days, not {clock.unit}")


def notice_for(received_on: date, required_by: date, rules: Rules) -> Notice:
    """notice days = required-by date minus the date received; meets when >= the notice clock."""
    return Notice(received_on, required_by, (required_by - received_on).days, required_notice_days(rules),
                  notice_clock(rules).describe)


def later_assessment_due(received_on: date, rules: Rules) -> date:
    """When a short-notice change is assessed again: when full notice would have run out, by the
    notice clock (close of service, moved to a working day)."""
    from datetime import datetime, time

    received = datetime.combine(received_on, time(12, 0), LONDON)
    return deadline_for(rules, rules.changes.notice_clock, received).date()


# --------------------------------------------------------------------------------------------
# What a request must have before it is submitted
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    field: str
    label: str
    message: str
    done: bool


def _filled(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None and value is not False


def checklist(cr, rules: Rules) -> list[Item]:
    """Each item the request needs, from the rules' `requestor_information` and the route chosen."""
    items = [Item(f, label, msg, _filled(getattr(cr, f, None))) for f, label, msg in BASE_ITEMS]
    for key in rules.changes.requestor_information:
        if key == "expected_contact_volumes":
            done = any(getattr(cr, f"volume_{c}", None) is not None for c, _ in CHANNELS)
            f, label, msg = REQUESTOR_ITEMS[key]
            items.append(Item(f, label, msg, done))
        elif key in REQUESTOR_ITEMS:
            f, label, msg = REQUESTOR_ITEMS[key]
            items.append(Item(f, label, msg, _filled(getattr(cr, f, None))))
        else:  # a site added a duty we have no field for: it cannot be checked, so say so
            items.append(Item(key, key.replace("_", " ").capitalize(), f"Provide the {key.replace('_', ' ')}", False))
    route = getattr(cr, "route", "")
    if route == "urgent":
        items.append(Item("urgent_reason", "Why it is needed in a shorter time", "Select why the change is needed in a shorter time",
                          getattr(cr, "urgent_reason", "") in URGENT_REASONS))
        items.append(Item("urgent_detail", "Details of the urgency", "Explain why the CSC should deal with it in a shorter time",
                          _filled(getattr(cr, "urgent_detail", ""))))
    if route == "minor":
        items.append(Item("minor_no_resources", "Confirmation it does not affect resources or funding",
                          "Confirm the change does not affect resources or funding", bool(getattr(cr, "minor_no_resources", False))))
        items.append(Item("minor_directorate_process", "Confirmation it has been through the Directorate change process",
                          "Confirm the change has been through the Directorate change process",
                          bool(getattr(cr, "minor_directorate_process", False))))
    return items


def route_problems(cr, rules: Rules, received_on: date) -> dict[str, str]:
    """The route's own rules, once the required items are there."""
    problems: dict[str, str] = {}
    required_by, route = getattr(cr, "required_by", None), getattr(cr, "route", "")
    if getattr(cr, "request_type", "") and cr.request_type not in rules.changes.request_types:
        problems["request_type"] = "Select the type of change"
    if route and route not in rules.changes.routes:
        problems["route"] = "Select the route"
    if required_by is None or "route" in problems:
        return problems
    if required_by <= received_on:
        problems["required_by"] = "The required-by date must be in the future"
        return problems
    notice = notice_for(received_on, required_by, rules)
    days, need = notice.days, notice.required_days
    earliest = f"{notice.earliest_required_by.day} {notice.earliest_required_by:%B %Y}"
    if route == "standard" and not notice.meets:
        problems["route"] = (f"A standard request needs {need} days' notice and this one has {days}: "
                             f"choose the urgent route and say why, or make the required-by date {earliest} or later")
    elif route == "urgent" and notice.meets:
        problems["route"] = (f"This request has {days} days' notice, at least the {need} days the SLA asks for: "
                             "choose the standard route")
    elif route == "minor":
        if getattr(cr, "request_type", "") != "minor_process_change":
            problems["route"] = "The minor route is only for a minor process change: choose the standard or urgent route"
        elif not notice.meets:
            problems["route"] = (f"A minor process change needs {need} days' notice and this one has {days}: "
                                 f"choose the urgent route with the reason '{URGENT_REASONS['minor_change'].lower()}', "
                                 f"or make the required-by date {earliest} or later")
    return problems


def submission_problems(cr, rules: Rules, received_on: date) -> dict[str, str]:
    problems = {i.field: i.message for i in checklist(cr, rules) if not i.done}
    for key, message in route_problems(cr, rules, received_on).items():
        problems.setdefault(key, message)
    return problems


# --------------------------------------------------------------------------------------------
# Drafts and submission
# --------------------------------------------------------------------------------------------
def _clean(key: str, value: Any) -> Any:
    """Strips text; a missing text value is stored as "" (text columns are NOT NULL)."""
    if isinstance(value, str):
        return value.strip()
    if value is None and key in TEXT_FIELDS:
        return ""
    return value


def _apply(cr: ChangeRequest, data: dict) -> None:
    for key in EDITABLE:
        if key in data:
            setattr(cr, key, _clean(key, data[key]))
    if cr.route != "urgent":
        cr.urgent_reason, cr.urgent_detail = "", ""
    if cr.route != "minor":
        cr.minor_no_resources = cr.minor_directorate_process = False


def save_request(actor, cr: ChangeRequest | None, data: dict, *, submit: bool, attachment=None,
                 today: date | None = None) -> ChangeRequest:
    """Creates or updates a draft and, with `submit`, submits it; raises ChangeError naming every
    missing item or broken route rule, before anything is added to the session."""
    today = today or today_london()
    creating = cr is None
    if creating:
        cr = ChangeRequest(requestor_id=actor.id, status="draft")
    elif cr.status != "draft":
        raise ChangeError({"title": "Only a draft can be changed"})
    before = None if creating else cr.audit_view()
    probe = _Probe(cr, data)
    if not _filled(probe.title):
        raise ChangeError({"title": "Enter a title"})
    if submit:
        problems = submission_problems(probe, rules_in_force(today), today)
        if problems:
            raise ChangeError(problems)
    _apply(cr, data)
    if creating:
        db.session.add(cr)
    cr.updated_at = utcnow()
    db.session.flush()
    if attachment is not None:
        add_attachment(actor, cr, attachment)
    audit.record(actor, "change_request_created" if creating else "change_request_updated", "change_request", cr.id,
                 before=before, after=cr.audit_view(),
                 summary=f"{'Draft created' if creating else 'Draft saved'}: {cr.reference}")
    if submit:
        _submit(actor, cr, today)
    return cr


class _Probe:
    """The request as it would be with `data` applied, without touching the real object."""

    def __init__(self, cr: ChangeRequest, data: dict):
        self._cr, self._data = cr, data

    def __getattr__(self, name):
        if name in self._data:
            value = self._data[name]
            return value.strip() if isinstance(value, str) else value
        return getattr(self._cr, name)


def submit_draft(actor, cr: ChangeRequest, today: date | None = None) -> None:
    today = today or today_london()
    if cr.status != "draft":
        raise ChangeError({"status": "This request has already been submitted"})
    problems = submission_problems(cr, rules_in_force(today), today)
    if problems:
        raise ChangeError(problems)
    _submit(actor, cr, today)


def _submit(actor, cr: ChangeRequest, today: date) -> None:
    rules = rules_in_force(today)
    before = cr.audit_view()
    _claim(cr, ("draft",), "submitted")
    notice = notice_for(today, cr.required_by, rules)
    cr.received_on, cr.submitted_at = today, utcnow()
    cr.notice_days, cr.short_notice = notice.days, not notice.meets
    cr.later_assessment_due = later_assessment_due(today, rules) if cr.route == "urgent" else None
    # A minor process change skips the assessment: it goes straight to mutual agreement.
    cr.status = "awaiting_sign_off" if cr.route == "minor" else "submitted"
    audit.record(actor, "change_request_submitted", "change_request", cr.id, before=before, after=cr.audit_view(),
                 summary=f"Submitted with {notice.days} days' notice"
                         f"{' (short notice)' if cr.short_notice else ''} on the {cr.route} route")


def _claim(cr: ChangeRequest, from_statuses: tuple[str, ...], to: str) -> None:
    """Moves the status only if nobody else has moved it since we read it (works on both databases)."""
    result = db.session.execute(
        update(ChangeRequest).where(ChangeRequest.id == cr.id, ChangeRequest.status.in_(from_statuses))
        .values(status=to, updated_at=utcnow()).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ChangeError({"status": "Someone else has changed this request since you opened it: reload the page"})
    cr.status = to


def add_attachment(actor, cr: ChangeRequest, stored) -> ChangeAttachment:
    row = ChangeAttachment(request_id=cr.id, stored_name=stored.stored_name, original_name=stored.original_name,
                           mime_type=stored.mime_type, size=stored.size, uploaded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "change_attachment_added", "change_request", cr.id,
                 after={"attachment": stored.original_name}, summary=f"Attachment added: {stored.original_name}")
    return row


# --------------------------------------------------------------------------------------------
# Assessment
# --------------------------------------------------------------------------------------------
def staffing_impact(contacts_per_week: int, handling_minutes: float, rules: Rules) -> tuple[float, float]:
    """Extra contacts a week x handling time -> hours a week, and FTE at the rules' productive hours."""
    hours = contacts_per_week * handling_minutes / 60
    return round(hours, 2), round(hours / rules.staffing.productive_hours_per_fte_week, 2)


def assess(actor, cr: ChangeRequest, data: dict) -> None:
    if cr.status != "submitted":
        raise ChangeError({"decision": "Only a request awaiting assessment can be assessed"})
    rules = rules_in_force(cr.received_on)
    agree = data["decision"] == "agree"
    errors: dict[str, str] = {}
    if agree:
        for key in rules.changes.assessment:
            if key == "costing":
                if data.get("cost_pence") is None:
                    errors["cost"] = "Enter the cost, or 0 if there is none"
            elif key in ("performance_levels", "risk_assessment", "funding", "prioritisation", "change_control"):
                if not _filled(data.get(key)):
                    errors[key] = f"Enter the {ASSESSMENT_LABELS[key].lower()}"
        for key, message in (("extra_contacts_per_week", "Enter the extra contacts a week, or 0"),
                             ("handling_minutes", "Enter the handling time in minutes")):
            if data.get(key) is None:
                errors[key] = message
    elif not _filled(data.get("rejection_reason")):
        errors["rejection_reason"] = "Enter why the request is rejected"
    if errors:
        raise ChangeError(errors)
    before = cr.audit_view()
    _claim(cr, ("submitted",), "awaiting_sign_off" if agree else "rejected")
    for key in ("cost_pence", "performance_levels", "risk_assessment", "funding", "prioritisation", "change_control",
                "extra_contacts_per_week", "handling_minutes", "rejection_reason"):
        if key in data:
            setattr(cr, key, _clean(key, data[key]))
    cr.varies_sla = bool(data.get("varies_sla")) and agree
    if cr.extra_contacts_per_week is not None and cr.handling_minutes is not None:
        cr.extra_hours_per_week, cr.extra_fte = staffing_impact(cr.extra_contacts_per_week, cr.handling_minutes, rules)
    cr.decision = "agree" if agree else "reject"
    if agree:
        cr.rejection_reason = ""
    cr.assessed_by_id, cr.assessed_at = actor.id, utcnow()
    audit.record(actor, "change_request_assessed", "change_request", cr.id, before=before, after=cr.audit_view(),
                 summary="Assessed: agreed, for sign-off" if agree else "Assessed: rejected")


ASSESSMENT_LABELS = {
    "costing": "Costing", "performance_levels": "Performance levels affected", "risk_assessment": "Risk assessment",
    "funding": "Funding", "prioritisation": "Prioritisation against other work", "change_control": "Change control",
}


# --------------------------------------------------------------------------------------------
# Sign-off
# --------------------------------------------------------------------------------------------
def required_parties(cr: ChangeRequest, rules: Rules) -> list[tuple[str, str]]:
    """Standard and urgent: each approver role of the rules and the requestor. Minor: the CSC
    (Service Manager or Service Lead) and the requestor record their mutual agreement."""
    if cr.route == "minor":
        names = " or ".join(rules.roles.get(r, r) for r in rules.changes.approver_roles)
        return [("csc", names), ("requestor", "Requestor")]
    return [(r, rules.roles.get(r, r)) for r in rules.changes.approver_roles] + [("requestor", "Requestor")]


def may_sign_as(user, cr: ChangeRequest, party: str, rules: Rules) -> bool:
    if party == "requestor":
        return user.id == cr.requestor_id
    if party == "csc":
        return user.has_role(*rules.changes.approver_roles)
    return party in rules.changes.approver_roles and user.has_role(party)


def parties_to_sign(user, cr: ChangeRequest) -> list[tuple[str, str]]:
    rules = rules_in_force(cr.received_on)
    signed = {s.party for s in cr.sign_offs}
    return [(p, label) for p, label in required_parties(cr, rules)
            if p not in signed and may_sign_as(user, cr, p, rules)]


def sign_off(actor, cr: ChangeRequest, party: str, comment: str) -> None:
    """Raises PermissionError when the user may not sign for that party (e.g. the Parking Team as the CSC)."""
    rules = rules_in_force(cr.received_on)
    parties = dict(required_parties(cr, rules))
    if party not in parties:
        raise ChangeError({"party": "Select who you are signing for"})
    if not may_sign_as(actor, cr, party, rules):
        raise PermissionError(f"{actor.username} may not sign off as {party}")
    if cr.status != "awaiting_sign_off":
        raise ChangeError({"party": "This request is not awaiting sign-off"})
    if any(s.party == party for s in cr.sign_offs):
        raise ChangeError({"party": f"{parties[party]} has already signed off"})
    row = ChangeSignOff(request_id=cr.id, party=party, user_id=actor.id, comment=(comment or "").strip())
    db.session.add(row)
    db.session.flush()
    db.session.refresh(cr, ["sign_offs"])
    audit.record(actor, "change_request_signed_off", "change_request", cr.id,
                 after={"party": party, "comment": row.comment},
                 summary=f"Signed off as {parties[party]}")
    if {s.party for s in cr.sign_offs} >= set(parties):
        before = cr.audit_view()
        _claim(cr, ("awaiting_sign_off",), "agreed")
        audit.record(actor, "change_request_agreed", "change_request", cr.id, before=before, after=cr.audit_view(),
                     summary="Agreed: every party has signed off")


# --------------------------------------------------------------------------------------------
# Later statuses
# --------------------------------------------------------------------------------------------
def status_fields(cr: ChangeRequest, status: str) -> tuple[tuple[str, str, str], ...]:
    fields = STATUS_FIELDS.get(status, ())
    if status == "reviewed" and cr.route == "urgent":
        fields = (*fields, LATER_ASSESSMENT)
    return fields


def next_statuses(user, cr: ChangeRequest) -> list[str]:
    """What this user may move the request to: the CSC moves it on; the requestor may withdraw."""
    options = []
    for status in TRANSITIONS.get(cr.status, ()):
        if user.has_role(*ASSESSORS) or (status == "withdrawn" and user.id == cr.requestor_id):
            options.append(status)
    return options


def change_status(actor, cr: ChangeRequest, status: str, data: dict) -> None:
    if status not in TRANSITIONS.get(cr.status, ()):
        raise ChangeError({"status": "Select a status this request can move to"})
    if status not in next_statuses(actor, cr):
        raise PermissionError(f"{actor.username} may not move {cr.reference} to {status}")
    errors = {f: message for f, _, message in status_fields(cr, status) if not _filled(data.get(f))}
    if status == "implemented" and data.get("implemented_on") and data["implemented_on"] > today_london():
        errors.setdefault("implemented_on", "The date implemented must be today or in the past")
    if errors:
        raise ChangeError(errors)
    before = cr.audit_view()
    _claim(cr, (cr.status,), status)
    for f, _, _ in status_fields(cr, status):
        setattr(cr, f, _clean(f, data[f]))
    audit.record(actor, f"change_request_{status}", "change_request", cr.id, before=before, after=cr.audit_view(),
                 summary=f"Status: {STATUS_LABELS[status]}")


# --------------------------------------------------------------------------------------------
# Register and forward look
# --------------------------------------------------------------------------------------------
SORTS = {"newest": "Newest first", "required_by": "Required-by date, soonest first"}
PER_PAGE = 25


@dataclass
class RegisterPage:
    items: list[ChangeRequest]
    next_cursor: str | None
    is_first: bool


def register_stmt(user, *, q: str = "", status: str = "", route: str = "", request_type: str = "",
                  directorate: str = "", short_notice: str = ""):
    stmt = visible(select(ChangeRequest), user)
    q = (q or "").strip()
    if q:
        ref = re.fullmatch(r"(?i)(?:cr-?)?0*(\d{1,9})", q)
        like = f"%{q.lower()}%"
        text_match = or_(func.lower(ChangeRequest.title).like(like), func.lower(ChangeRequest.requestor_name).like(like),
                         func.lower(ChangeRequest.directorate).like(like))
        stmt = stmt.where(or_(ChangeRequest.id == int(ref.group(1)), text_match) if ref else text_match)
    if status:
        stmt = stmt.where(ChangeRequest.status == status)
    if route:
        stmt = stmt.where(ChangeRequest.route == route)
    if request_type:
        stmt = stmt.where(ChangeRequest.request_type == request_type)
    if directorate:
        stmt = stmt.where(ChangeRequest.directorate == directorate)
    if short_notice == "yes":
        stmt = stmt.where(ChangeRequest.short_notice.is_(True))
    elif short_notice == "no":
        stmt = stmt.where(ChangeRequest.short_notice.is_(False))
    return stmt


def register_page(stmt, sort: str, cursor: str | None, per_page: int = PER_PAGE) -> RegisterPage:
    """Keyset pages on (required_by, id) or id, both indexed; a bad cursor starts again at the top."""
    if sort == "required_by":
        stmt = stmt.where(ChangeRequest.required_by.is_not(None))
        if cursor:
            try:
                day_text, id_text = cursor.split("~")
                day, after_id = date.fromisoformat(day_text), int(id_text)
                stmt = stmt.where(or_(ChangeRequest.required_by > day,
                                      and_(ChangeRequest.required_by == day, ChangeRequest.id > after_id)))
            except ValueError:
                cursor = None
        stmt = stmt.order_by(ChangeRequest.required_by, ChangeRequest.id)
    else:
        if cursor:
            try:
                stmt = stmt.where(ChangeRequest.id < int(cursor))
            except ValueError:
                cursor = None
        stmt = stmt.order_by(ChangeRequest.id.desc())
    rows = db.session.scalars(stmt.limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = f"{last.required_by.isoformat()}~{last.id}" if sort == "required_by" else str(last.id)
    return RegisterPage(rows, next_cursor, not cursor)


def directorates(user) -> list[str]:
    stmt = visible(select(ChangeRequest.directorate).where(ChangeRequest.directorate != "").distinct(), user)
    return sorted(db.session.scalars(stmt).all())


@dataclass
class ForwardLook:
    rows: list[ChangeRequest]
    totals: dict[str, int]
    total: int
    hours: float
    fte: float


def forward_look(user, today: date | None = None) -> ForwardLook:
    """Agreed and scheduled changes by required date, with the contacts they will bring each week."""
    today = today or today_london()
    stmt = visible(select(ChangeRequest).where(ChangeRequest.status.in_(("agreed", "scheduled"))), user)
    rows = db.session.scalars(stmt.order_by(ChangeRequest.required_by, ChangeRequest.id)).all()
    totals = {c: sum(r.volume(c) or 0 for r in rows) for c, _ in CHANNELS}
    return ForwardLook(rows, totals, sum(totals.values()), round(sum(r.extra_hours_per_week or 0 for r in rows), 2),
                       round(sum(r.extra_fte or 0 for r in rows), 2))


# --------------------------------------------------------------------------------------------
# SLA variations
# --------------------------------------------------------------------------------------------
_PATH_RE = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z0-9_-]+)+$")


def parse_changes(text: str) -> tuple[dict[str, Any], list[str]]:
    """One change a line, "dotted.key.path: value"; values read as YAML (numbers, dates, lists)."""
    changes: dict[str, Any] = {}
    problems: list[str] = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        path, sep, raw = line.partition(":")
        path, raw = path.strip(), raw.strip()
        if not sep or not raw:
            problems.append(f"Line {number}: write each change as key.path: value, like kpis.answered_calls.target: 90")
            continue
        if not _PATH_RE.match(path):
            problems.append(f"Line {number}: {path!r} is not a dotted key path like kpis.answered_calls.target")
            continue
        if path in changes:
            problems.append(f"Line {number}: {path} is changed twice")
            continue
        try:
            changes[path] = yaml.safe_load(raw)
        except yaml.YAMLError:
            problems.append(f"Line {number}: the value for {path} is not valid (quote text that contains a colon)")
    if not changes and not problems:
        problems.append("Enter at least one change, like kpis.answered_calls.target: 90")
    return changes, problems


def variation_entry(key: str, effective_from: date, reason: str, agreed_by: str, changes: dict) -> dict:
    entry = {"id": key, "effective_from": effective_from, "reason": reason}
    if agreed_by:
        entry["agreed_by"] = agreed_by
    entry["changes"] = dict(changes)
    return entry


def variation_yaml(entry: dict) -> str:
    """The text the administrator adds under `variations:` of the site rules file."""
    return yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def check_variation(entry: dict) -> list[str]:
    """Validates the variation with the engine itself, on the loaded rules plus this entry, so a
    bad key path or value is named now rather than when the administrator restarts the app."""
    raw = base_rules().raw
    doc = copy.deepcopy({k: raw[k] for k in raw})
    existing = list(doc.get("variations") or [])
    index = len(existing)
    doc["variations"] = existing + [_plain(entry)]
    try:
        rules_from_mapping(doc)
    except RulesError as exc:
        out = []
        for message in exc.errors:
            for prefix in (f"variations[{index}].changes.", f"variations[{index}]."):
                if message.startswith(prefix):
                    message = message[len(prefix):]
                    break
            else:
                message = re.sub(rf"^variations\[{index}\] \([^)]*\): ", "", message)
            out.append(message)
        return out
    return []


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def key_taken(key: str) -> bool:
    in_rules = any(v.id == key for v in base_rules().variations)
    return in_rules or db.session.scalar(select(SlaVariation.id).where(SlaVariation.variation_key == key)) is not None


def suggested_key(cr: ChangeRequest | None, effective_from: date | None) -> str:
    stem = cr.reference.lower() if cr else f"variation-{(effective_from or today_london()).isoformat()}"
    key, n = stem, 2
    while key_taken(key):
        key, n = f"{stem}-{n}", n + 1
    return key


def default_agreed_by(cr: ChangeRequest) -> str:
    return "; ".join(f"{s.user.full_name} ({'requestor' if s.party == 'requestor' else s.party.replace('_', ' ')})"
                     for s in cr.sign_offs)


def can_vary(cr: ChangeRequest) -> bool:
    """Only an agreed change on the variation process varies the SLA; a minor change skips it."""
    return cr.status in AGREED and cr.route in ("standard", "urgent") and not variation_for(cr)


def variation_for(cr: ChangeRequest) -> SlaVariation | None:
    return db.session.scalar(select(SlaVariation).where(SlaVariation.change_request_id == cr.id))


def record_variation(actor, cr: ChangeRequest | None, *, key: str, effective_from: date, reason: str,
                     agreed_by: str, changes_text: str) -> SlaVariation:
    """Checks everything first (format, unique id, the engine); raises ChangeError naming the field."""
    errors: dict[str, str] = {}
    changes, problems = parse_changes(changes_text)
    if problems:
        errors["changes"] = problems[0]
    key = (key or "").strip() or suggested_key(cr, effective_from)
    if key_taken(key):
        errors["key"] = f"The variation ID {key} is already used: choose another"
    if cr is not None and not can_vary(cr):
        errors["changes"] = "This request cannot record a variation: it must be agreed, on the standard or urgent route, with none recorded yet"
    if errors:
        raise ChangeError(errors)
    entry = variation_entry(key, effective_from, reason.strip(), agreed_by.strip(), changes)
    engine_errors = check_variation(entry)
    if engine_errors:
        raise ChangeError({"changes": "The rules would not load: " + "; ".join(engine_errors)})
    row = SlaVariation(variation_key=key, change_request_id=cr.id if cr else None, effective_from=effective_from,
                       reason=entry["reason"], agreed_by=entry.get("agreed_by", ""),
                       changes_json=json.dumps(changes, default=str, sort_keys=True), yaml_text=variation_yaml(entry),
                       recorded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "sla_variation_recorded", "sla_variation", row.id, after=row.audit_view(),
                 summary=f"SLA variation {key} recorded")
    if cr is not None:
        audit.record(actor, "sla_variation_recorded", "change_request", cr.id, after={"variation": key},
                     summary=f"SLA variation {key} recorded, effective {effective_from.isoformat()}")
    return row


@dataclass
class VariationRow:
    """One recorded variation for the SLA page: `in_force` compares with the rules in force today."""

    pk: int
    id: str
    summary: str
    agreed_by: str
    effective_from: date
    changes: dict
    in_force: bool
    applied: bool
    change_request_id: int | None
    yaml_text: str = field(repr=False, default="")

    @property
    def state(self) -> str:
        if self.in_force:
            return "In force"
        if self.applied:
            return "In the rules file: not yet in force"
        return "Agreed: to apply to the rules file"


def recorded_variations() -> list[VariationRow]:
    in_force = set(rules_in_force().applied_variations)
    in_file = {v.id for v in base_rules().variations}
    rows = db.session.scalars(select(SlaVariation).order_by(SlaVariation.effective_from.desc(), SlaVariation.id.desc()))
    return [VariationRow(pk=r.id, id=r.variation_key, summary=r.reason, agreed_by=r.agreed_by,
                         effective_from=r.effective_from, changes=r.changes, in_force=r.variation_key in in_force,
                         applied=r.variation_key in in_file, change_request_id=r.change_request_id,
                         yaml_text=r.yaml_text) for r in rows]


# --------------------------------------------------------------------------------------------
# Review calendar and reminders
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewEvent:
    kind: str
    label: str
    on: date
    remind_on: date
    attendees: tuple[str, ...]


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def review_calendar(rules: Rules, today: date | None = None) -> list[ReviewEvent]:
    """The first-month review, the annual reviews and the six-monthly service reviews from the start
    of the agreement to a year past the later of its end and today; each reminded the notice
    period before (the same 12 weeks a change needs, so changes for the review can be raised)."""
    today = today or today_london()
    a = rules.agreement
    r = a.reviews
    lead = timedelta(days=required_notice_days(rules))
    horizon = _add_months(max(a.period_end, today), 12)
    events = [ReviewEvent("first_month", "Review after the first month of operation", r.first_month_review,
                          r.first_month_review - lead, r.reviewers)]
    step = 12 if r.frequency == "annual" else 6
    n, day = 0, r.annual_review
    while day <= horizon:
        events.append(ReviewEvent("annual", "Annual review of the SLA", day, day - lead, r.reviewers))
        n += 1
        day = _add_months(r.annual_review, step * n)
    k = 1
    day = _add_months(a.period_start, r.service_review_interval_months)
    while day <= horizon:
        events.append(ReviewEvent("service_review", "Six-monthly service review", day, day - lead,
                                  r.service_review_attendees))
        k += 1
        day = _add_months(a.period_start, r.service_review_interval_months * k)
    return sorted(events, key=lambda e: (e.on, e.kind))


def reminders_sent() -> dict[tuple[str, date], ReviewReminder]:
    return {(r.review_kind, r.review_on): r for r in db.session.scalars(select(ReviewReminder))}


def send_due_reminders(today: date | None = None) -> list[tuple[ReviewEvent, list[str], bool]]:
    """Records (and emails, when the mailer exists) each reminder that has fallen due and not been sent."""
    today = today or today_london()
    rules = rules_in_force(today)
    sent = reminders_sent()
    out = []
    for event in review_calendar(rules, today):
        if not (event.remind_on <= today < event.on) or (event.kind, event.on) in sent:
            continue
        roles = set(event.attendees)
        users = db.session.scalars(
            select(User).where(User.active.is_(True), User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))))
            .order_by(User.username)).all()
        row = ReviewReminder(review_kind=event.kind, review_on=event.on, emailed=False,
                             recipients=", ".join(u.username for u in users))
        db.session.add(row)
        db.session.flush()
        emailed = row.emailed = _email(users, event, row.id)
        audit.record(None, "review_reminder_sent", "review_reminder", row.id,
                     after={"review": event.kind, "on": event.on, "recipients": row.recipients, "emailed": emailed},
                     summary=f"Reminder: {event.label} on {event.on.isoformat()}")
        out.append((event, [u.username for u in users], emailed))
    return out


def _email(users, event: ReviewEvent, reminder_id: int) -> bool:
    """Queues one email a manager through intranet.mail when it exists (sent after the caller
    commits); without the mailer the reminder row is the record. A bad address skips that person."""
    try:
        from ..mail import queue_email
    except ImportError:
        return False
    when = f"{event.on.day} {event.on:%B %Y}"
    body = (f"{event.label} is on {when}.\n\nAny change to the SLA to discuss at the review needs "
            f"a change request with the notice the SLA asks for: raise it now.\n")
    queued = False
    for user in users:
        if not user.email:
            continue
        try:
            queue_email(user.email, f"Reminder: {event.label}, {when}", body,
                        related_type="review_reminder", related_id=str(reminder_id))
            queued = True
        except ValueError:
            continue
    return queued


# --------------------------------------------------------------------------------------------
# System change notices
# --------------------------------------------------------------------------------------------
def must_read(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*CSC_STAFF)


def unread_notices(user, limit: int = 5) -> list[SystemChangeNotice]:
    """One query on the (user, notice) unique index: the notices this CSC user has not confirmed."""
    if not must_read(user):
        return []
    read = exists().where(NoticeRead.notice_id == SystemChangeNotice.id, NoticeRead.user_id == user.id)
    return list(db.session.scalars(
        select(SystemChangeNotice).where(~read)
        .order_by(SystemChangeNotice.change_on, SystemChangeNotice.id).limit(limit)))


def publish_notice(actor, *, title: str, what_changes: str, change_on: date, effect_on_csc: str) -> SystemChangeNotice:
    notice = SystemChangeNotice(title=title.strip(), what_changes=what_changes.strip(), change_on=change_on,
                                effect_on_csc=effect_on_csc.strip(), published_by_id=actor.id)
    db.session.add(notice)
    db.session.flush()
    audit.record(actor, "system_change_notice_published", "system_change_notice", notice.id,
                 after=notice.audit_view(), summary=f"System change notice published: {notice.title}")
    return notice


def confirm_read(actor, notice: SystemChangeNotice) -> bool:
    """Idempotent: a second confirmation changes nothing and writes no audit entry."""
    if db.session.scalar(select(NoticeRead.id).where(NoticeRead.notice_id == notice.id,
                                                    NoticeRead.user_id == actor.id)) is not None:
        return False
    db.session.add(NoticeRead(notice_id=notice.id, user_id=actor.id))
    audit.record(actor, "system_change_notice_read", "system_change_notice", notice.id,
                 summary=f"{actor.username} confirmed reading the notice")
    return True


def csc_staff_stmt():
    return (select(User).where(User.active.is_(True),
                               User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(CSC_STAFF))))
            .order_by(User.full_name))


def readers(notice: SystemChangeNotice) -> tuple[list[tuple[User, Any]], list[User]]:
    """(who has read it and when, who has not) among active CSC staff."""
    reads = {r.user_id: r.read_at for r in db.session.scalars(select(NoticeRead).where(NoticeRead.notice_id == notice.id))}
    staff = db.session.scalars(csc_staff_stmt()).all()
    return [(u, reads[u.id]) for u in staff if u.id in reads], [u for u in staff if u.id not in reads]


def notices_with_counts() -> list[tuple[SystemChangeNotice, int, int]]:
    """Each notice with how many active CSC staff have and have not confirmed it."""
    staff_ids = select(UserRole.user_id).where(UserRole.role.in_(CSC_STAFF))
    active_staff = select(User.id).where(User.active.is_(True), User.id.in_(staff_ids))
    total = db.session.scalar(select(func.count()).select_from(active_staff.subquery())) or 0
    counts = dict(db.session.execute(
        select(NoticeRead.notice_id, func.count()).where(NoticeRead.user_id.in_(active_staff))
        .group_by(NoticeRead.notice_id)).all())
    notices = db.session.scalars(select(SystemChangeNotice).options(joinedload(SystemChangeNotice.published_by)).order_by(SystemChangeNotice.change_on.desc(),
                                                                     SystemChangeNotice.id.desc()).limit(200)).all()
    return [(n, counts.get(n.id, 0), total - counts.get(n.id, 0)) for n in notices]


def is_manager(user) -> bool:
    return user.has_role(*MANAGERS)
