"""Six-monthly service review meetings: date, attendees, the packs since the last meeting, minutes,
actions with owner and due date, and a reminder before each meeting.

The reminder is claimed with a conditional UPDATE (`reminder_sent_at IS NULL`) whose row count says
who sends it, so `flask reviews remind` is safe to run twice, or on two servers at once.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import select, update

from .. import audit
from ..extensions import db
from ..service_rules import rules_in_force
from ..timefmt import LONDON, format_date, utcnow
from .models import KpiPack, ReviewAction, ServiceReview

_ADDRESS = re.compile(r"^\s*(?:(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+@[^<>\s]+\.[^<>\s]+)>|(?P<bare>[^<>\s]+@[^<>\s]+\.[^<>\s]+))\s*$")


class ReviewError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def today_london() -> date:
    return utcnow().astimezone(LONDON).date()


def parse_attendees(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """One attendee a line, "Name <email>" or just an email; returns (attendees, problems by line)."""
    people, problems = [], []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        m = _ADDRESS.match(line)
        if not m:
            problems.append(f"Line {number} of the attendees ({line.strip()[:60]!r}) is not 'Name <email>' or an email")
            continue
        email = m.group("email") or m.group("bare")
        people.append(((m.group("name") or email).strip(), email))
    return people, problems


def plan_review(actor, *, held_on: date | None, title: str, attendees: str) -> ServiceReview:
    errors: dict[str, str] = {}
    if held_on is None:
        errors["held_on"] = "Enter the date of the meeting"
    if not (title or "").strip():
        errors["title"] = "Enter a title for the meeting"
    people, problems = parse_attendees(attendees)
    if problems:
        errors["attendees"] = problems[0] if len(problems) == 1 else "; ".join(problems)
    elif not people:
        errors["attendees"] = "Enter at least one attendee, one a line, as Name <email>"
    if errors:
        raise ReviewError(errors)
    review = ServiceReview(held_on=held_on, title=title.strip()[:200],
                           attendees="\n".join(f"{n} <{e}>" for n, e in people), created_by_id=actor.id)
    db.session.add(review)
    db.session.flush()
    audit.record(actor, "service_review_planned", "service_review", review.id, after=review.audit_view(),
                 summary=f"Service review planned for {format_date(held_on)}")
    return review


def record_minutes(actor, review: ServiceReview, minutes: str) -> None:
    before = review.audit_view()
    review.minutes = (minutes or "").strip()
    audit.record(actor, "service_review_minutes", "service_review", review.id, before=before,
                 after=review.audit_view(), summary="Minutes recorded")


def add_action(actor, review: ServiceReview, *, description: str, owner: str, due_on: date | None) -> ReviewAction:
    errors = {}
    if not (description or "").strip():
        errors["description"] = "Enter the action"
    if not (owner or "").strip():
        errors["owner"] = "Enter who owns the action"
    if due_on is None:
        errors["due_on"] = "Enter the date the action is due"
    if errors:
        raise ReviewError(errors)
    action = ReviewAction(review_id=review.id, description=description.strip(), owner=owner.strip()[:120],
                          due_on=due_on)
    db.session.add(action)
    db.session.flush()
    audit.record(actor, "review_action_added", "service_review", review.id, after=action.audit_view(),
                 summary=f"Action for {action.owner}, due {format_date(due_on)}")
    return action


def complete_action(actor, action: ReviewAction, on: date | None = None) -> bool:
    done = db.session.execute(update(ReviewAction).where(ReviewAction.id == action.id, ReviewAction.done_on.is_(None))
                              .values(done_on=on or today_london())).rowcount
    if done:
        audit.record(actor, "review_action_done", "service_review", action.review_id,
                     after={"action_id": action.id, "done_on": on or today_london()}, summary="Action done")
    return bool(done)


def all_reviews() -> list[ServiceReview]:
    return list(db.session.scalars(select(ServiceReview).order_by(ServiceReview.held_on.desc(), ServiceReview.id.desc())))


def next_review(today: date | None = None) -> ServiceReview | None:
    """The next meeting on or after today: its attendees are who a new pack goes to."""
    return db.session.scalar(select(ServiceReview).where(ServiceReview.held_on >= (today or today_london()))
                             .order_by(ServiceReview.held_on, ServiceReview.id).limit(1))


def previous_review(review: ServiceReview) -> ServiceReview | None:
    return db.session.scalar(select(ServiceReview).where(ServiceReview.held_on < review.held_on)
                             .order_by(ServiceReview.held_on.desc(), ServiceReview.id.desc()).limit(1))


def packs_for(review: ServiceReview) -> list[KpiPack]:
    """The packs produced since the last meeting, up to this one's day: what the meeting discusses."""
    prev = previous_review(review)
    end = datetime.combine(review.held_on + timedelta(days=1), datetime.min.time(), LONDON)
    stmt = select(KpiPack).where(KpiPack.produced_at.is_not(None), KpiPack.produced_at < end)
    if prev is not None:
        stmt = stmt.where(KpiPack.produced_at >= datetime.combine(prev.held_on + timedelta(days=1),
                                                                  datetime.min.time(), LONDON))
    return list(db.session.scalars(stmt.order_by(KpiPack.month)))


def send_reminders(today: date | None = None) -> list[tuple[ServiceReview, list[str]]]:
    """Reminds the attendees of each meeting within the rules' reminder period that has not been
    reminded yet. Idempotent: the conditional UPDATE lets only one run send each reminder."""
    from ..mail import queue_email

    today = today or today_london()
    days = rules_in_force(today).service_reviews.reminder_days_before
    due = db.session.scalars(select(ServiceReview).where(
        ServiceReview.held_on > today, ServiceReview.held_on <= today + timedelta(days=days),
        ServiceReview.reminder_sent_at.is_(None)).order_by(ServiceReview.held_on)).all()
    sent = []
    for review in due:
        claimed = db.session.execute(update(ServiceReview).where(
            ServiceReview.id == review.id, ServiceReview.reminder_sent_at.is_(None)).values(reminder_sent_at=utcnow())).rowcount
        if claimed != 1:
            continue
        people = review.attendee_list
        packs = packs_for(review)
        when = format_date(review.held_on)
        body = [f"{review.title} is on {when}.", ""]
        if packs:
            body.append("KPI packs for the meeting: " + ", ".join(f"{p.month:%B %Y}" for p in packs) + ".")
        else:
            body.append("No KPI pack has been produced since the last meeting yet.")
        open_actions = [a for a in review.actions if a.done_on is None]
        if open_actions:
            body += ["", "Open actions:"] + [f"- {a.description} ({a.owner}, due {format_date(a.due_on)})"
                                             for a in open_actions]
        queue_email([e for _, e in people], f"Reminder: {review.title}, {when}", "\n".join(body) + "\n",
                    related_type="service_review", related_id=str(review.id))
        audit.record(None, "service_review_reminded", "service_review", review.id,
                     after={"recipients": [e for _, e in people]}, summary=f"Reminder sent for {when}")
        sent.append((review, [e for _, e in people]))
    return sent
