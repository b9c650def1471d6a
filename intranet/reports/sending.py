"""Sending the daily report: once per day, however many cron jobs and app servers try at once.

The first send claims the day with ``INSERT INTO zone_report_day ... ON CONFLICT (report_date) DO
NOTHING``: the database's unique constraint decides the race, on SQLite and PostgreSQL alike, and
the loser inserts no row and learns the report already went (when, to whom). The claim, the send
log row, the audit entry and the outbox email are one transaction: if anything fails nothing is
recorded and nothing is sent; once it commits the mailer sends, and `flask outbox flush` retries
if the mail server was away. A resend must say why; it is logged beside the first send and never
changes when the day counts as sent for the KPI.

The functions here do not commit: the CLI and the web route commit, so the caller decides the
transaction (the demo loader uses ``record_demo_send`` for log rows without email).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.utils import formataddr

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import audit
from ..extensions import db
from ..mail import queue_email
from ..service_rules import rules_in_force
from ..timefmt import format_date, format_datetime, utcnow
from . import services
from .models import FIRST, RESEND, ZoneReportDay, ZoneReportSend

SENT, ALREADY_SENT, RESENT = "sent", "already_sent", "resent"


@dataclass
class SendOutcome:
    status: str  # sent / already_sent / resent
    day: ZoneReportDay
    send: ZoneReportSend | None
    report: services.ZoneReport | None

    def message(self) -> str:
        """One line for the CLI and the page."""
        d = self.day
        label = f"{d.report_date:%A} {format_date(d.report_date)}"
        if self.status == ALREADY_SENT:
            return (f"The report for {label} was already sent on {format_datetime(d.first_sent_at)} "
                    f"to {d.recipients}; nothing was sent")
        verb = "Sent again" if self.status == RESENT else "Sent"
        return (f"{verb}: the report for {label} to {self.send.recipients} "
                f"({self.send.permits_issued} permits issued, {self.send.permit_changes} permit changes)")


def _recipients(day: date) -> list[str]:
    return [formataddr((r.name, r.email)) for r in rules_in_force(day).zone_report.recipients]


def _insert(dialect: str):
    return pg_insert if dialect == "postgresql" else sqlite_insert


def _claim(day: date, at: datetime, actor_name: str, recipients: str) -> bool:
    """True if this caller made the day's first send (inserted the row)."""
    stmt = (_insert(db.session.get_bind().dialect.name)(ZoneReportDay.__table__)
            .values(report_date=day, first_sent_at=at, first_sent_by=actor_name, recipients=recipients,
                    send_count=1, last_sent_at=at)
            .on_conflict_do_nothing(index_elements=["report_date"])
            .returning(ZoneReportDay.__table__.c.id))
    # RETURNING gives a row only when this statement inserted one (rowcount is -1 on psycopg here).
    return db.session.execute(stmt).first() is not None


def _actor_name(actor) -> str:
    return getattr(actor, "username", None) or (actor if isinstance(actor, str) else "system")


def send_zone_report(actor, day: date, *, resend: bool = False, reason: str = "", via: str = "cli",
                     now: datetime | None = None) -> SendOutcome:
    """Sends the report for ``day`` unless it already went; with ``resend`` sends it again, recording why.

    Raises ReportDateError for a day that cannot be reported (not a working day, future, not over)
    and ValueError for a resend without a reason. Does not commit."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if resend and not reason:
        raise ValueError("reason: say why the report is sent again")
    services.check_reportable(day, now)
    recipients = _recipients(day)
    recipients_text = ", ".join(recipients)
    name = _actor_name(actor)

    # The claim is the only judge of "first": no look-before-insert, which two servers could both pass.
    claimed = _claim(day, now, name, recipients_text)
    existing = db.session.scalar(select(ZoneReportDay).where(ZoneReportDay.report_date == day)
                                 .execution_options(populate_existing=True))
    if not claimed and not resend:
        return SendOutcome(ALREADY_SENT, existing, None, None)
    if not claimed:
        # Count the resend with a conditional UPDATE so two resends at once both count.
        db.session.execute(update(ZoneReportDay).where(ZoneReportDay.id == existing.id)
                           .values(send_count=ZoneReportDay.send_count + 1, last_sent_at=now)
                           .execution_options(synchronize_session=False))
        db.session.refresh(existing)

    report = services.build_report(day)
    title = report.title
    subject = f"{title}: {day:%A} {format_date(day)}" + (" (sent again)" if not claimed else "")
    message = queue_email(recipients, subject, services.email_text(report, reason=reason if not claimed else ""),
                          attachments=[(report.filename, "text/csv", services.report_csv(report))],
                          related_type="zone_report_day", related_id=str(existing.id))
    db.session.flush()
    send = ZoneReportSend(day_id=existing.id, kind=FIRST if claimed else RESEND, sent_at=now,
                          actor_id=getattr(actor, "id", None), actor_name=name, via=via,
                          reason=reason, recipients=recipients_text, permits_issued=report.total,
                          permit_changes=len(report.changes), outbox_message_id=message.id)
    db.session.add(send)
    db.session.flush()
    audit.record(actor, "zone_report_sent" if claimed else "zone_report_resent", "zone_report_day", existing.id,
                 after={"report_date": day, "recipients": recipients, "reason": reason, "send_id": send.id},
                 summary=(f"Sent the {title.lower()} report for {format_date(day)}" if claimed else
                          f"Sent the {title.lower()} report for {format_date(day)} again: {reason}"))
    return SendOutcome(SENT if claimed else RESENT, existing, send, report)


def record_demo_send(day: date, sent_at: datetime) -> bool:
    """A send log row with no email, for demo data; False if the day already has one."""
    recipients = ", ".join(_recipients(day))
    if not _claim(day, sent_at, "demo-data", recipients):
        return False
    row = db.session.scalar(select(ZoneReportDay).where(ZoneReportDay.report_date == day))
    db.session.add(ZoneReportSend(day_id=row.id, kind=FIRST, sent_at=sent_at, actor_id=None, actor_name="demo-data",
                                  via="demo", reason="", recipients=recipients))
    return True
