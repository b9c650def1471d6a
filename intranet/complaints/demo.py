"""Demo complaints for `make run`: about 25 over the last 12 months, in every state the log shows
(local resolution, formal internal complaints acknowledged on time and late, escalated to the CSC
Service Manager and the Deputy Director, public complaints through both stages with an extension,
open ones on track, at risk and overdue), so each page and the annual report have something to
show. Everything goes through the real services, so the clocks are the engine's.
Called from intranet/demo.py as `load_complaints_demo(user_for_role)`."""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..timefmt import LONDON, utcnow
from . import services
from .models import Complaint

NAMES = ["Amira Khan", "Ben Okafor", "Chloé Dubois", "Dafydd Jones", "Eilidh Mackay", "Femi Adeyemi", "Grace Li",
         "Hamza Ali", "Isla Brown", "Jakub Nowak", "Keira O'Neill", "Liam Murphy", "Maya Patel", "Niamh Kelly",
         "Oliver Smith", "Priya Sharma", "Rhys Evans", "Siobhán Ní Bhriain", "Tomasz Wiśniewski", "Uma Das",
         "Victor Hugo", "Wen Zhao", "Xavier Cruz", "Yasmin Ahmed", "Zoë Brontë"]
SUMMARIES = {
    "service_delay": "Permit not received two weeks after sending all the documents.",
    "staff_conduct": "The advisor on the phone was dismissive and ended the call.",
    "decision": "Refund refused although the car was sold in the first month.",
    "communication": "Letters about the renewal went to the old address.",
    "permit_production": "Visitor permits printed with the wrong zone code.",
    "policy": "The visitor allowance is too small for a carer who visits daily.",
    "other": "Parking bay markings outside the house are worn away.",
}


def _at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A London time `day_offset` days ago, moved off weekends so receipts look like office post."""
    day = (utcnow().astimezone(LONDON) - timedelta(days=day_offset)).date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def _before_now(when: datetime, floor: datetime) -> datetime:
    return max(min(when, utcnow() - timedelta(minutes=5)), floor)


def _clock(complaint: Complaint, index: int):
    stage = complaint.current_stage
    return [c for c in complaint.clocks if c.stage_id == stage.id][index]


# (days ago, procedure, start step, story)
PLAN: list[tuple[int, str, str, str]] = [
    (350, "internal", "team_leader", "local_closed"),
    (330, "internal", "service_lead", "on_time_closed"),
    (310, "public", "stage1", "stage1_closed"),
    (290, "internal", "service_lead", "late_ack_closed"),
    (270, "public", "local_resolution", "local_closed"),
    (250, "internal", "service_lead", "escalated_twice_closed"),
    (230, "public", "stage1", "stage2_closed"),
    (210, "internal", "service_lead", "on_time_closed"),
    (190, "public", "stage1", "extended_closed"),
    (170, "internal", "team_leader", "local_closed"),
    (150, "public", "stage1", "stage1_closed"),
    (130, "internal", "service_lead", "escalated_once_closed"),
    (110, "public", "stage1", "stage2_closed"),
    (95, "internal", "service_lead", "on_time_closed"),
    (80, "public", "local_resolution", "local_closed"),
    (60, "internal", "service_lead", "reopened"),
    (45, "public", "stage1", "stage2_open"),
    (35, "internal", "service_lead", "escalated_once_open"),
    (25, "public", "stage1", "acknowledged_open"),
    (14, "internal", "service_lead", "overdue_open"),
    (8, "public", "stage1", "extended_open"),
    (4, "internal", "team_leader", "new_open"),
    (3, "public", "stage1", "overdue_ack_open"),
    (1, "internal", "service_lead", "new_open"),
    (0, "public", "stage1", "new_open"),
]


def load_complaints_demo(user_for_role: Callable[[str], object | None]) -> list[str]:
    """Idempotent: adds nothing once any complaint exists."""
    if db.session.scalar(select(Complaint.id).limit(1)) is not None:
        return ["Complaints already present; none added."]
    leader, lead, manager, director, advisor, pat = (
        user_for_role(r) for r in ("team_leader", "service_lead", "service_manager", "director", "advisor",
                                   "parking_team"))
    if not (leader and lead and manager and director and advisor and pat):
        return ["Complaints: demo users missing; none added."]
    rng = random.Random(6)
    categories = list(SUMMARIES)
    for i, (days, procedure, step, story) in enumerate(PLAN):
        received = _at(days, rng.choice([9, 10, 11, 14, 15, 16]), rng.choice([0, 15, 30, 45]))
        if days == 0:
            received = utcnow() - timedelta(minutes=30)
        category = categories[i % len(categories)]
        internal = procedure == "internal"
        raiser = pat if internal and i % 3 == 0 else advisor
        handler = leader if step in ("team_leader", "local_resolution") else lead
        complaint = services.log_complaint(raiser, services.NewComplaint(
            source=("partner" if i % 4 == 1 else "internal") if internal else "public", complainant_name=NAMES[i],
            organisation=("Parking Service" if i % 4 != 1 else "Thames Valley Police") if internal else "",
            contact_email=f"complainant{i + 1}@example.org", contact_address="" if internal else f"{i + 3} Demo Road\nOxford OX4 1AA",
            channel="email" if internal else rng.choice(["letter", "email", "phone", "online"]),
            received_at=received, category=category, summary=SUMMARIES[category], step=step,
            handler_id=None if story == "new_open" and i % 2 else handler.id))
        db.session.flush()
        _play(complaint, story, received, leader, lead, manager, director)
    db.session.commit()
    return [f"Complaints: {len(PLAN)} over the last 12 months"]


def _ack(complaint, handler, late: bool = False):
    clock = _clock(complaint, 0)
    when = clock.deadline_at + timedelta(days=1) if late else clock.deadline_at - timedelta(hours=5)
    services.acknowledge(handler, complaint, method="letter", sent_at=_before_now(when, clock.started_at))


def _respond(complaint, handler, text: str, late: bool = False):
    clock = _clock(complaint, 1)
    when = clock.deadline_at + timedelta(days=2) if late else clock.deadline_at - timedelta(days=1)
    services.respond(handler, complaint, text=text, occurred_at=_before_now(when, clock.started_at))


def _latest(complaint) -> datetime:
    """The last thing that happened on the current stage: later steps come after it."""
    return max([complaint.current_stage.started_at] + [c.completed_at for c in complaint.clocks if c.completed_at])


def _close(complaint, handler, outcome: str, agreement: str = "", learning: str = "", after: timedelta = timedelta(days=2)):
    start = _latest(complaint)
    services.close(handler, complaint, outcome=outcome, remedy="Apology and the permit reissued" if outcome != "not_upheld" else "",
                   agreement_text=agreement, learning_action=learning,
                   closed_at=_before_now(start + after, start))


def _escalate(complaint, actor, handler, after: timedelta, reason: str):
    start = _latest(complaint)
    services.escalate(actor, complaint, reason=reason, handler_id=handler.id,
                      requested_at=_before_now(start + after, start))


def _play(c, story, received, leader, lead, manager, director):
    if story == "local_closed":
        services.add_note(leader, c, kind="contact", text="Phoned the complainant and explained.",
                          occurred_at=_before_now(received + timedelta(hours=2), received))
        _close(c, leader, "partly_upheld", "Explained the process and apologised.", after=timedelta(days=1))
    elif story in ("on_time_closed", "late_ack_closed"):
        _ack(c, lead, late=story == "late_ack_closed")
        services.add_note(lead, c, kind="note", text="Checked the case history and the print log.",
                          occurred_at=_before_now(c.current_stage.started_at + timedelta(days=4), c.received_at))
        _respond(c, lead, "Met the complainant; agreed a fix to the daily print check.")
        _close(c, lead, "upheld", "Print batches to be checked daily by the team leader.",
                "Daily print batch check added to the team leader's routine", after=timedelta(days=15))
    elif story in ("escalated_twice_closed", "escalated_once_closed", "escalated_once_open"):
        _ack(c, lead)
        _escalate(c, lead, manager, timedelta(days=6), "The complainant did not accept the remedy offered.")
        if story == "escalated_twice_closed":
            _escalate(c, manager, director, timedelta(days=7), "Still not satisfied; asked for the Deputy Director.")
            _close(c, director, "not_upheld", "The original decision stands; explained in a meeting.", after=timedelta(days=5))
        elif story == "escalated_once_closed":
            _close(c, manager, "partly_upheld", "Fee refunded; process unchanged.",
                   "Refund letters to explain the pro rata rule", after=timedelta(days=8))
    elif story in ("stage1_closed", "stage2_closed", "stage2_open", "acknowledged_open"):
        _ack(c, lead)
        if story == "acknowledged_open":
            return
        _respond(c, lead, "We have looked into your complaint and reissued the permit.", late=story == "stage2_closed")
        if story == "stage1_closed":
            _close(c, lead, "upheld", learning="Check addresses against the gazetteer before posting")
            return
        _escalate(c, lead, manager, timedelta(days=3),
                  "The complainant asked for stage 2.")
        _ack(c, manager)
        if story == "stage2_closed":
            _respond(c, manager, "Final response: the stage 1 decision was right.")
            _close(c, manager, "not_upheld", after=timedelta(days=20))
    elif story in ("extended_closed", "extended_open"):
        _ack(c, lead)
        clock = _clock(c, 1)
        services.extend(lead, c, clock_id=clock.id, length=5, reason="Waiting for records from the enforcement contractor")
        if story == "extended_closed":
            _respond(c, lead, "Answered after the extension.")
            _close(c, lead, "partly_upheld", after=timedelta(days=25))
    elif story == "reopened":
        _ack(c, lead)
        _respond(c, lead, "Agreed a refund at the meeting.")
        _close(c, lead, "upheld", "Refund of £12.50 agreed.", after=timedelta(days=10))
        services.reopen(lead, c, reason="The refund did not arrive.")
    elif story == "overdue_open":
        services.add_note(lead, c, kind="note", text="Waiting to hear from the Parking Team.",
                          occurred_at=_before_now(received + timedelta(days=1), received))
    # new_open and overdue_ack_open: nothing done yet; their clocks run.
