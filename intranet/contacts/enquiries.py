"""The enquiries log: "Enquiries from members of the public regarding the residential parking scheme".

An advisor logs each contact in a few keystrokes; a contact that needs a reply gets a reply clock
from the rules (`enquiries.reply_clocks`, working days per channel), counted by the SLA engine's
calendar exactly as every other working-day clock is: day 0 is the day of contact (or the next
opening if the contact came outside service hours), due at close of service on the Nth working
day after it. The volumes by channel and category feed the staffing model and the KPI pack.

No request objects here: routes, the demo and tests all pass the user and the time in.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..permits.models import Application, Customer
from ..permits.numbers import FORMATS
from ..service_rules import rules_in_force
from ..sla import Rules, calendar_for, clock_status, time_left_text
from ..timefmt import LONDON, format_date, utcnow
from .models import CHANNELS, Enquiry

# A sanity bound on typed handling time, not a target: no single contact takes half a day, and a
# slip of the keyboard (600 for 6) would otherwise distort the logged handling times.
MAX_HANDLING_MINUTES = 240
ENTRY_ROLES = ("advisor", "team_leader", "service_lead", "service_manager")
VOLUME_READERS = (*ENTRY_ROLES, "director", "parking_team")
STATUS_WORDS = {"on_track": "On track", "at_risk": "At risk", "breached": "Breached",
                "met_on_time": "Replied on time", "met_late": "Replied late"}
STATUS_COLOURS = {"on_track": "green", "at_risk": "orange", "breached": "red", "met_on_time": "green",
                  "met_late": "red"}


class ContactError(ValueError):
    """A rule refused the action; `errors` maps each form field to the message to show on it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def london_day(when: datetime) -> date:
    return when.astimezone(LONDON).date()


# --------------------------------------------------------------------------------------------
# Linking a contact to a customer or an application by its reference
# --------------------------------------------------------------------------------------------
def _reference_pattern(name: str) -> re.Pattern:
    prefix, width = FORMATS[name]
    return re.compile(rf"^{re.escape(prefix)}\d{{{width}}}$")


def reference_example(name: str) -> str:
    prefix, width = FORMATS[name]
    return f"{prefix}{123:0{width}d}"


def resolve_reference(text: str) -> tuple[Customer | None, Application | None]:
    """"C000123" -> that customer; "A0001234" -> that application (and its customer).

    Raises ContactError on the `reference` field naming the reference that is not known, because an
    advisor mid-call needs to know at once whether they mistyped it.
    """
    ref = re.sub(r"\s+", "", text or "").upper()
    if not ref:
        return None, None
    if _reference_pattern("customer").match(ref):
        customer = db.session.scalar(select(Customer).where(Customer.reference == ref))
        if customer is None:
            raise ContactError({"reference": f"There is no customer with reference {ref}"})
        return customer, None
    if _reference_pattern("application").match(ref):
        application = db.session.scalar(select(Application).where(Application.reference == ref))
        if application is None:
            raise ContactError({"reference": f"There is no application with reference {ref}"})
        return application.customer, application
    raise ContactError({"reference": f"Enter a customer reference like {reference_example('customer')} or an "
                                     f"application reference like {reference_example('application')} "
                                     f"(got {ref[:20]})"})


# --------------------------------------------------------------------------------------------
# The reply clock
# --------------------------------------------------------------------------------------------
def reply_working_days(rules: Rules, channel: str) -> int:
    return rules.enquiries.reply_clocks[channel]


def reply_start(rules: Rules, contacted_at: datetime) -> datetime:
    """When the reply clock starts: at the contact if the service was open, else at the next opening."""
    return calendar_for(rules.calendar).counting_start(contacted_at)


def reply_due(rules: Rules, channel: str, contacted_at: datetime) -> datetime:
    """Close of service on the Nth working day after day 0 (N from the rules for the channel)."""
    cal = calendar_for(rules.calendar)
    day0 = cal.counting_start(contacted_at).date()
    return cal.closes_at(cal.add_working_days(day0, reply_working_days(rules, channel)))


@dataclass(frozen=True)
class ReplyClock:
    status: str
    words: str
    colour: str
    time_left: str


def reply_clock(enquiry: Enquiry, now: datetime) -> ReplyClock | None:
    """The status of an enquiry's reply, judged by the rules in force on the day of contact."""
    if enquiry.reply_state == "none" or enquiry.reply_due_at is None:
        return None
    rules = rules_in_force(enquiry.contacted_at)
    status = clock_status(rules, enquiry.reply_due_at, now, completed_at=enquiry.replied_at,
                          started_at=reply_start(rules, enquiry.contacted_at))
    left = time_left_text(rules, enquiry.reply_due_at, now) if enquiry.replied_at is None else ""
    return ReplyClock(status, STATUS_WORDS[status], STATUS_COLOURS[status], left)


# --------------------------------------------------------------------------------------------
# Logging and replying
# --------------------------------------------------------------------------------------------
@dataclass
class NewEnquiry:
    channel: str
    category: str
    summary: str
    handling_minutes: int | None
    reference: str = ""
    outcome: str = ""
    needs_reply: bool = False


def check(data: NewEnquiry, rules: Rules) -> dict[str, str]:
    """Every problem with a contact, by field; the form shows them all at once."""
    errors: dict[str, str] = {}
    if data.channel not in CHANNELS:
        errors["channel"] = "Select how the customer contacted us"
    if data.category not in rules.enquiries.categories:
        errors["category"] = "Select what the enquiry was about"
    if not (data.summary or "").strip():
        errors["summary"] = "Enter a summary of the enquiry"
    elif len(data.summary) > 2000:
        errors["summary"] = "Summary must be 2000 characters or fewer"
    if len(data.outcome or "") > 2000:
        errors["outcome"] = "Outcome must be 2000 characters or fewer"
    minutes = data.handling_minutes
    if minutes is None:
        errors["handling_minutes"] = "Enter the handling time in whole minutes, like 3"
    elif not 1 <= minutes <= MAX_HANDLING_MINUTES:
        errors["handling_minutes"] = f"Handling time must be between 1 and {MAX_HANDLING_MINUTES} minutes"
    return errors


def log_enquiry(actor, data: NewEnquiry, *, now: datetime | None = None) -> Enquiry:
    """Adds the contact (and its audit entry) to the session; the caller commits."""
    now = now or utcnow()
    rules = rules_in_force(now)
    errors = check(data, rules)
    customer = application = None
    try:
        customer, application = resolve_reference(data.reference)
    except ContactError as exc:
        errors.update(exc.errors)
    if errors:
        raise ContactError(errors)
    enquiry = Enquiry(contacted_at=now, contact_day=london_day(now), channel=data.channel, category=data.category,
                      customer_id=customer.id if customer else None,
                      application_id=application.id if application else None,
                      summary=data.summary.strip(), outcome=(data.outcome or "").strip(),
                      handling_minutes=data.handling_minutes, logged_by_id=actor.id,
                      reply_state="open" if data.needs_reply else "none",
                      reply_due_at=reply_due(rules, data.channel, now) if data.needs_reply else None)
    db.session.add(enquiry)
    db.session.flush()
    due = f"; reply due {format_date(enquiry.reply_due_at)}" if data.needs_reply else ""
    audit.record(actor, "enquiry_logged", "enquiry", enquiry.id, after=enquiry.audit_view(),
                 summary=f"{CHANNELS[data.channel]} enquiry logged: {rules.enquiries.categories[data.category]}{due}")
    return enquiry


def mark_replied(actor, enquiry: Enquiry, *, note: str, now: datetime | None = None) -> None:
    """Records the reply once: a conditional UPDATE, so two people pressing the button cannot both reply."""
    now = now or utcnow()
    if enquiry.reply_state == "none":
        raise ContactError({"note": "This enquiry did not need a reply"})
    if enquiry.reply_state == "replied":
        raise ContactError({"note": f"A reply was already recorded on {format_date(enquiry.replied_at)}"})
    if not (note or "").strip():
        raise ContactError({"note": "Enter how the customer was answered"})
    before = enquiry.audit_view()
    claimed = db.session.execute(
        update(Enquiry).where(Enquiry.id == enquiry.id, Enquiry.reply_state == "open")
        .values(reply_state="replied", replied_at=now, replied_by_id=actor.id, reply_note=note.strip())).rowcount
    if claimed != 1:
        db.session.rollback()
        raise ContactError({"note": "Someone else recorded the reply a moment ago: nothing was saved"})
    db.session.refresh(enquiry)
    late = "" if now <= enquiry.reply_due_at else " (late)"
    audit.record(actor, "enquiry_replied", "enquiry", enquiry.id, before=before, after=enquiry.audit_view(),
                 summary=f"Reply recorded{late}: {note.strip()}")


# --------------------------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------------------------
def todays_contacts(user, now: datetime | None = None, limit: int = 100) -> tuple[list[Enquiry], int, int]:
    """The user's own contacts today (newest first), how many, and their handling minutes in all.

    Read from ix_enquiry_logged_by_day; the customer and application references come in the same query.
    """
    day = london_day(now or utcnow())
    where = (Enquiry.logged_by_id == user.id, Enquiry.contact_day == day)
    rows = db.session.scalars(select(Enquiry).where(*where)
                              .options(joinedload(Enquiry.customer), joinedload(Enquiry.application))
                              .order_by(Enquiry.id.desc()).limit(limit)).all()
    count, minutes = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Enquiry.handling_minutes), 0)).where(*where)).one()
    return list(rows), int(count), int(minutes)


@dataclass
class QueueRow:
    enquiry: Enquiry
    clock: ReplyClock


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    is_first: bool
    total: int


def _cursor(enquiry: Enquiry) -> str:
    return f"{int(enquiry.reply_due_at.timestamp())}-{enquiry.id}"


def _parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    match = re.fullmatch(r"(\d{1,12})-(\d{1,12})", text or "")
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)), tz=LONDON), int(match.group(2))


def reply_queue(now: datetime | None = None, after: str | None = None, per_page: int = 50) -> QueuePage:
    """Open replies, soonest due first; keyset pages on (reply_due_at, id) via ix_enquiry_reply_queue."""
    now = now or utcnow()
    stmt = select(Enquiry).where(Enquiry.reply_state == "open")
    cursor = _parse_cursor(after)
    if cursor:
        due, last_id = cursor
        stmt = stmt.where(or_(Enquiry.reply_due_at > due, (Enquiry.reply_due_at == due) & (Enquiry.id > last_id)))
    rows = db.session.scalars(stmt.options(joinedload(Enquiry.logged_by), joinedload(Enquiry.customer),
                                           joinedload(Enquiry.application))
                              .order_by(Enquiry.reply_due_at, Enquiry.id).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    total = db.session.scalar(select(func.count()).where(Enquiry.reply_state == "open"))
    return QueuePage([QueueRow(e, reply_clock(e, now)) for e in rows],
                     _cursor(rows[-1]) if more and rows else None, cursor is None, int(total or 0))


# --------------------------------------------------------------------------------------------
# Volumes
# --------------------------------------------------------------------------------------------
def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def enquiry_volumes(start_date: date, end_date: date) -> dict:
    """Contacts logged from start_date to end_date inclusive (London days), by channel and category.

    One grouped query over ix_enquiry_day. Returns::

        {"start": date, "end": date, "total": int, "handling_minutes": int,
         "channels": {code: label}, "categories": {code: label},      # labels for every code counted
         "by_channel": {channel: count}, "by_category": {category: count},
         "minutes_by_channel": {channel: minutes},
         "by_channel_and_category": {(channel, category): count},
         "days":   [{"day": date, "total": n, "by_channel": {...}, "by_category": {...}}, ...],   # every day
         "weeks":  [{"week_start": Monday, "total": n, "by_channel": {...}, "by_category": {...}}, ...],
         "months": [{"month": "YYYY-MM", "total": n, "by_channel": {...}, "by_category": {...}}, ...]}

    Every channel appears in `by_channel` (0 if none), so the KPI pack's columns never move.
    """
    if end_date < start_date:
        raise ValueError(f"end date {end_date} is before start date {start_date}")
    rows = db.session.execute(
        select(Enquiry.contact_day, Enquiry.channel, Enquiry.category, func.count(),
               func.coalesce(func.sum(Enquiry.handling_minutes), 0))
        .where(Enquiry.contact_day >= start_date, Enquiry.contact_day <= end_date)
        .group_by(Enquiry.contact_day, Enquiry.channel, Enquiry.category)).all()
    rules = rules_in_force(end_date)
    categories = dict(rules.enquiries.categories)
    for _, _, category, _, _ in rows:
        categories.setdefault(category, category.replace("_", " ").capitalize())

    def bucket() -> dict:
        return {"total": 0, "by_channel": {c: 0 for c in CHANNELS}, "by_category": defaultdict(int)}

    days: dict[date, dict] = {}
    day = start_date
    while day <= end_date:
        days[day] = {"day": day, **bucket()}
        day += timedelta(days=1)
    weeks: dict[date, dict] = {}
    months: dict[str, dict] = {}
    for d in days:
        weeks.setdefault(week_start(d), {"week_start": week_start(d), **bucket()})
        months.setdefault(f"{d:%Y-%m}", {"month": f"{d:%Y-%m}", **bucket()})
    totals = {"total": 0, "handling_minutes": 0, "by_channel": {c: 0 for c in CHANNELS},
              "by_category": {c: 0 for c in categories}, "minutes_by_channel": {c: 0 for c in CHANNELS},
              "by_channel_and_category": defaultdict(int)}
    for contact_day, channel, category, count, minutes in rows:
        count, minutes = int(count), int(minutes)
        for b in (days[contact_day], weeks[week_start(contact_day)], months[f"{contact_day:%Y-%m}"]):
            b["total"] += count
            b["by_channel"][channel] = b["by_channel"].get(channel, 0) + count
            b["by_category"][category] += count
        totals["total"] += count
        totals["handling_minutes"] += minutes
        totals["by_channel"][channel] = totals["by_channel"].get(channel, 0) + count
        totals["minutes_by_channel"][channel] = totals["minutes_by_channel"].get(channel, 0) + minutes
        totals["by_category"][category] += count
        totals["by_channel_and_category"][(channel, category)] += count
    for b in (*days.values(), *weeks.values(), *months.values()):
        b["by_category"] = dict(b["by_category"])
    totals["by_channel_and_category"] = dict(totals["by_channel_and_category"])
    return {"start": start_date, "end": end_date, "channels": dict(CHANNELS), "categories": categories,
            **totals, "days": list(days.values()), "weeks": list(weeks.values()), "months": list(months.values())}


def enquiry_count_by_channel(start_date: date, end_date: date) -> dict[str, int]:
    """Contacts on London days start_date..end_date by channel, for the live staffing model (one grouped query)."""
    rows = db.session.execute(select(Enquiry.channel, func.count())
                              .where(Enquiry.contact_day >= start_date, Enquiry.contact_day <= end_date)
                              .group_by(Enquiry.channel)).all()
    out = {c: 0 for c in CHANNELS}
    out.update({channel: int(n) for channel, n in rows})
    return out
