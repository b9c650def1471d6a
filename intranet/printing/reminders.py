"""Renewal reminders: `flask --app wsgi reminders send`, run daily from cron.

Each active resident permit whose expiry falls within `permits.resident.renewal_window_days` of
today, and for which no renewal has been logged, gets one reminder: an email with the letter as a
PDF, or a letter for the next print batch, by the customer's preference. The reminder row is
unique per permit and expiry date, so a second run (or a run on the next day) sends nothing
again; a permit renewed and expiring a year later gets a new reminder then. Two runs at once:
the unique key makes the slower one fail as a whole and send nothing, which the command reports.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..permits.models import Application, Permit
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from . import letters
from .models import RenewalReminder

BATCH = 200  # permits loaded (with their customers and zones) per query


@dataclass
class ReminderRun:
    day: date
    first: date
    last: date
    emailed: int = 0
    letters: int = 0

    def summary(self) -> str:
        return (f"Renewal reminders for permits expiring {self.first.isoformat()} to {self.last.isoformat()}: "
                f"{self.emailed} emailed, {self.letters} letters for the next print batch")


def due_stmt(day: date):
    days = rules_in_force(day).permits.resident.renewal_window_days
    renewal_logged = exists().where(Application.renewal_of_id == Permit.id,
                                    Application.status.notin_(("refused", "withdrawn")))
    reminded = exists().where(and_(RenewalReminder.permit_id == Permit.id, RenewalReminder.valid_to == Permit.valid_to))
    return (select(Permit).where(Permit.status == "active", Permit.kind == "resident", Permit.valid_to >= day,
                                 Permit.valid_to <= day + timedelta(days=days), ~renewal_logged, ~reminded),
            day + timedelta(days=days))


def send_reminders(actor="reminders", *, day: date | None = None, now: datetime | None = None) -> ReminderRun:
    """Adds the reminders (and their emails or pending letters) to the caller's transaction."""
    now = now or utcnow()
    day = day or now.astimezone(LONDON).date()
    stmt, last = due_stmt(day)
    run = ReminderRun(day=day, first=day, last=last)
    after_id = 0
    while True:
        chunk = list(db.session.scalars(stmt.where(Permit.id > after_id)
                                        .options(selectinload(Permit.customer), selectinload(Permit.zone))
                                        .order_by(Permit.id).limit(BATCH)))
        if not chunk:
            break
        for permit in chunk:
            delivery = letters.send_or_queue_renewal_reminder(actor, permit, dated=day)
            db.session.add(RenewalReminder(permit_id=permit.id, valid_to=permit.valid_to, channel=delivery.channel,
                                           created_at=now, outbox_message_id=delivery.outbox_message_id,
                                           pending_letter_id=delivery.pending_letter_id))
            if delivery.channel == "email":
                run.emailed += 1
            else:
                run.letters += 1
        db.session.flush()  # the reminders written make the next chunk's NOT EXISTS skip these
        after_id = chunk[-1].id
    return run
