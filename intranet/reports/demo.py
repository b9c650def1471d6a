"""Demo send log for the daily permits-by-zone report, so the send log page and the KPI look lived in.

Log rows only: sixty emails to the Parking inbox and NSL would be sent (or sit in the outbox) for
nothing, so ``load_zone_report_demo`` writes the rows a real send writes, without the email.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from ..extensions import db
from ..timefmt import utcnow
from . import services
from .sending import record_demo_send

DEMO_WORKING_DAYS = 60
LATE = (12, 37)  # how many working days back the two late sends are
MISSING = (25,)  # and the one day nobody sent


def load_zone_report_demo(now: datetime | None = None) -> list[str]:
    """Marks the last ~60 working days before today as sent: most at 5:40pm on the day (on time),
    two at 11:20am on the next working day (after the 10:00 deadline, so late), one not at all
    (missing). Idempotent: days already in the log are left alone. Commits."""
    now = now or utcnow()
    day = services.london_today(now)
    days = []
    while len(days) < DEMO_WORKING_DAYS:
        day = services.previous_working_day(day)
        days.append(day)
    added = 0
    for back, day in enumerate(days, start=1):
        if back in MISSING:
            continue
        due = services.due_at(day)
        cal_close = services.calendar_on(day).closes_at(day)
        if back in LATE:
            sent_at = due + timedelta(hours=1, minutes=20)
        else:
            sent_at = cal_close + timedelta(minutes=40)
        if sent_at > now:
            continue
        added += record_demo_send(day, sent_at)
    db.session.commit()
    return [f"Permits-by-zone report: send log for {added} working days "
            f"({len(LATE)} late, {len(MISSING)} missing)"] if added else []
