"""The rules of the daily permits-by-zone report: which permits, the totals, the change from the
previous working day, when it is due, and how the send log and the KPI read.

What a day's report covers
--------------------------
The report for working day D covers every London calendar day after the previous working day up
to and including D. On an ordinary Tuesday that is just Tuesday; on the Tuesday after Easter it is
Good Friday to Tuesday. Nothing the desk does on a closed day (an online renewal on a Saturday, a
permit cancelled by a team leader on a bank holiday) is then left out of every report, and NSL
(the enforcement contractor) never misses a permit it must stop honouring. The "change from the
previous working day" compares D's figures with the previous working day's report, which covers
its own span in the same way.

Issued permits are counted by zone and by kind (resident / visitor) x type (new / renewal).
Replacement permits (a change of vehicle, a lost or stolen permit) are counted in their own
column: they are permits enforcement must honour but not new business. The day's permit changes
are the permits issued and the permits that stopped covering (Permit.ended_at in the span) for a
reason enforcement must act on: cancelled, refunded, changed to another vehicle, lost or stolen.

When it is due (rules.zone_report)
----------------------------------
Due at ``due_time`` on the ``due_working_days_after``-th working day after D (the seed: 10:00 on
the next working day). A report is on time when its FIRST send is at or before then.

KPI
---
``zone_report_days(month_start, month_end)`` gives, for each working day in the range, when the
report was first sent and whether that was on time (None while it is not yet sent and not yet
due). ``zone_report_kpi(year, month)`` gives (numerator, denominator) for the KPI
"daily_zone_report": the working days of the month (up to yesterday while the month is current)
whose report was sent by its deadline, over those working days.
"""
from __future__ import annotations

import calendar as pycalendar
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select

from ..extensions import db
from ..mail import OutboxMessage
from ..permits.models import Permit, Zone
from ..service_rules import rules_in_force
from ..sla import Rules, calendar_for
from ..timefmt import LONDON, format_date, format_time, utcnow
from .models import ZoneReportDay

# (kind, type) columns of the report, in the order they are shown.
COLUMNS: tuple[tuple[str, str], ...] = (("resident", "new"), ("resident", "renewal"),
                                        ("visitor", "new"), ("visitor", "renewal"))
COLUMN_LABELS = {("resident", "new"): "Resident new", ("resident", "renewal"): "Resident renewal",
                 ("visitor", "new"): "Visitor new", ("visitor", "renewal"): "Visitor renewal"}

# The end reasons enforcement must act on, and the CSV's word for each.
END_ACTIONS = {"cancelled": "cancelled", "refunded": "refunded", "vehicle_change": "replaced",
               "lost_stolen": "lost_stolen"}
ACTIONS = {
    "issued": "Issued (new or renewal): honour from the valid-from date",
    "replacement_issued": "Replacement issued (change of vehicle, lost or stolen): honour from the valid-from date",
    "cancelled": "Cancelled: stop honouring",
    "refunded": "Refunded: stop honouring",
    "replaced": "Changed to another vehicle: stop honouring for this vehicle",
    "lost_stolen": "Reported lost or stolen: stop honouring; seize if seen",
}
CSV_COLUMNS = ("permit_number", "vrm", "zone", "valid_from", "valid_to", "action")


class ReportDateError(ValueError):
    """A day the report cannot be produced or sent for; the message says why in plain words."""


# --- days and deadlines -------------------------------------------------------------------------

def london_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LONDON).date()


def calendar_on(day: date):
    return calendar_for(rules_in_force(day).calendar)


def previous_working_day(day: date) -> date:
    """The working day before ``day`` (from the calendar in force then: bank holidays, closures)."""
    return calendar_on(day).add_working_days(day, -1)


def default_report_date(now: datetime | None = None) -> date:
    """What cron means when it gives no --date: today if it is a working day and service has closed,
    otherwise the last working day before today. So a run at 17:30 sends today's report, a run at
    07:00 (or on a Saturday) sends the last working day's, and a run at 15:00 never sends a day that
    is not over."""
    now = now or utcnow()
    today = london_today(now)
    cal = calendar_on(today)
    if cal.is_working_day(today) and now >= cal.closes_at(today):
        return today
    return cal.add_working_days(today, -1)


def non_working_words(day: date) -> str:
    reason = calendar_on(day).non_working_reason(day)
    return reason.name if reason else "a weekend"


def check_reportable(day: date, now: datetime | None = None) -> None:
    """Refuses a day the report cannot honestly be sent for: not a working day, in the future, or
    today before close of service (its figures are not final)."""
    now = now or utcnow()
    cal = calendar_on(day)
    label = f"{day:%A} {format_date(day)}"
    if not cal.is_working_day(day):
        raise ReportDateError(f"{label} is not a working day ({non_working_words(day)}): "
                              f"its permits are in the next working day's report")
    today = london_today(now)
    if day > today:
        raise ReportDateError(f"{label} is in the future: a report is sent after the day's close of service")
    if day == today and now < cal.closes_at(day):
        raise ReportDateError(f"{label} is not over: the report can be sent after close of service at "
                              f"{format_time(cal.closes_at(day))}")


def due_at(day: date, rules: Rules | None = None) -> datetime:
    """When the report for ``day`` is due, by the rules in force on that day."""
    rules = rules or rules_in_force(day)
    cal = calendar_for(rules.calendar)
    due_day = cal.add_working_days(day, rules.zone_report.due_working_days_after)
    return cal.localize(datetime.combine(due_day, rules.zone_report.due_time))


def span(day: date) -> tuple[date, date]:
    """(first, last) London calendar days the report for working day ``day`` covers."""
    return previous_working_day(day) + timedelta(days=1), day


def _utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(0), tzinfo=LONDON)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=LONDON)
    return start, end


# --- the report ---------------------------------------------------------------------------------

@dataclass
class ZoneRow:
    zone_id: int
    code: str
    name: str
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    replacements: int = 0
    previous_total: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.replacements

    @property
    def change(self) -> int:
        return self.total - self.previous_total


@dataclass(frozen=True)
class PermitChange:
    permit_number: str
    vrm: str
    zone: str
    valid_from: date
    valid_to: date
    action: str
    at: datetime

    def csv_row(self) -> list[str]:
        return [_csv_safe(self.permit_number), _csv_safe(self.vrm), _csv_safe(self.zone),
                self.valid_from.isoformat(), self.valid_to.isoformat(), self.action]


@dataclass
class ZoneReport:
    day: date
    first_day: date
    previous_day: date
    title: str
    rows: list[ZoneRow]
    changes: list[PermitChange]

    @property
    def column_totals(self) -> dict[tuple[str, str], int]:
        return {c: sum(r.counts.get(c, 0) for r in self.rows) for c in COLUMNS}

    @property
    def replacements(self) -> int:
        return sum(r.replacements for r in self.rows)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)

    @property
    def previous_total(self) -> int:
        return sum(r.previous_total for r in self.rows)

    @property
    def change(self) -> int:
        return self.total - self.previous_total

    @property
    def ended(self) -> list[PermitChange]:
        return [c for c in self.changes if c.action in END_ACTIONS.values()]

    @property
    def covers_several_days(self) -> bool:
        return self.first_day != self.day

    @property
    def filename(self) -> str:
        return f"permits-by-zone-{self.day.isoformat()}.csv"


def _counts(first: date, last: date) -> dict[int, tuple[dict[tuple[str, str], int], int]]:
    """{zone_id: ({(kind, type): n}, replacements)} for permits issued in the span: one grouped query."""
    start, end = _utc_bounds(first, last)
    rows = db.session.execute(
        select(Permit.zone_id, Permit.kind, Permit.is_renewal, Permit.replaces_id.is_(None), func.count())
        .where(Permit.issued_at >= start, Permit.issued_at < end)
        .group_by(Permit.zone_id, Permit.kind, Permit.is_renewal, Permit.replaces_id.is_(None)))
    out: dict[int, tuple[dict, int]] = {}
    for zone_id, kind, is_renewal, original, n in rows:
        counts, replacements = out.get(zone_id, ({}, 0))
        if original:
            key = (kind, "renewal" if is_renewal else "new")
            counts[key] = counts.get(key, 0) + n
        else:
            replacements += n
        out[zone_id] = (counts, replacements)
    return out


def _changes(first: date, last: date) -> list[PermitChange]:
    """Permits issued, and permits that stopped covering for a reason enforcement acts on, in the span.
    Two indexed queries (issued_at; ended_at), not one OR that would read the whole table."""
    start, end = _utc_bounds(first, last)
    columns = (Permit.number, Permit.vrm, Zone.code, Permit.valid_from, Permit.valid_to)
    out = []
    for number, vrm, zone, valid_from, valid_to, issued_at, replaces_id in db.session.execute(
            select(*columns, Permit.issued_at, Permit.replaces_id).join(Zone, Zone.id == Permit.zone_id)
            .where(Permit.issued_at >= start, Permit.issued_at < end)):
        out.append(PermitChange(number, vrm or "", zone, valid_from, valid_to,
                                "replacement_issued" if replaces_id else "issued", issued_at))
    for number, vrm, zone, valid_from, valid_to, ended_at, end_reason in db.session.execute(
            select(*columns, Permit.ended_at, Permit.end_reason).join(Zone, Zone.id == Permit.zone_id)
            .where(Permit.ended_at >= start, Permit.ended_at < end, Permit.end_reason.in_(END_ACTIONS))):
        out.append(PermitChange(number, vrm or "", zone, valid_from, valid_to, END_ACTIONS[end_reason], ended_at))
    out.sort(key=lambda c: (c.zone, c.at, c.permit_number, c.action))
    return out


def build_report(day: date) -> ZoneReport:
    """The report for working day ``day`` (call check_reportable first where that matters).

    Five indexed queries whatever the volume: zones, this span's counts, the previous span's, issues, ends."""
    rules = rules_in_force(day)
    if not calendar_for(rules.calendar).is_working_day(day):
        raise ReportDateError(f"{day:%A} {format_date(day)} is not a working day ({non_working_words(day)}): "
                              f"its permits are in the next working day's report")
    first, last = span(day)
    previous_day = previous_working_day(day)
    prev_first, prev_last = span(previous_day)
    now_counts = _counts(first, last)
    before_counts = _counts(prev_first, prev_last)
    wanted = set(now_counts) | set(before_counts)
    zones = db.session.execute(select(Zone.id, Zone.code, Zone.name)
                               .where(or_(Zone.active.is_(True), Zone.id.in_(wanted or {0})))
                               .order_by(Zone.code)).all()
    rows = []
    for zone_id, code, name in zones:
        counts, replacements = now_counts.get(zone_id, ({}, 0))
        prev_counts, prev_replacements = before_counts.get(zone_id, ({}, 0))
        rows.append(ZoneRow(zone_id, code, name, dict(counts), replacements,
                            sum(prev_counts.values()) + prev_replacements))
    return ZoneReport(day=day, first_day=first, previous_day=previous_day, title=rules.zone_report.title,
                      rows=rows, changes=_changes(first, last))


def _csv_safe(value: str) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula: quote it as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_csv(report: ZoneReport) -> bytes:
    """The day's permit changes, one row each, in CSV_COLUMNS order (UTF-8, CRLF, header row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for change in report.changes:
        writer.writerow(change.csv_row())
    return buffer.getvalue().encode("utf-8")


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def email_text(report: ZoneReport, *, reason: str = "") -> str:
    """The plain-text body: the table by zone, the permits to stop honouring, what the CSV's actions mean."""
    lines = [f"{report.title}: {report.day:%A} {format_date(report.day)}", ""]
    if reason:
        lines += [f"This report is sent again: {reason}", ""]
    if report.covers_several_days:
        lines += [f"Covers {format_date(report.first_day)} to {format_date(report.day)} "
                  f"(the days since the previous working day's report).", ""]
    heads = ["Zone"] + [COLUMN_LABELS[c] for c in COLUMNS] + ["Replacements", "Total", "Previous working day", "Change"]
    lines.append(" | ".join(heads))
    for row in report.rows:
        lines.append(" | ".join([f"{row.code} {row.name}"] + [str(row.counts.get(c, 0)) for c in COLUMNS]
                                + [str(row.replacements), str(row.total), str(row.previous_total), _signed(row.change)]))
    totals = report.column_totals
    lines.append(" | ".join(["All zones"] + [str(totals[c]) for c in COLUMNS]
                            + [str(report.replacements), str(report.total), str(report.previous_total),
                               _signed(report.change)]))
    lines += ["", f"Previous working day: {report.previous_day:%A} {format_date(report.previous_day)}", ""]
    ended = report.ended
    lines.append(f"Permits to stop honouring: {len(ended)}")
    for change in ended:
        lines.append(f"  {change.permit_number}  {change.vrm or '(visitor)'}  zone {change.zone}  {change.action}")
    lines += ["", f"Attached: {report.filename}, every permit change ({len(report.changes)}), "
                  f"columns {', '.join(CSV_COLUMNS)}.", "Actions:"]
    lines += [f"  {code}: {words}" for code, words in ACTIONS.items()]
    return "\n".join(lines) + "\n"


# --- the send log and the KPI ------------------------------------------------------------------

@dataclass(frozen=True)
class DayResult:
    """One working day for the KPI: when its report first went, and whether by the deadline
    (None: not sent and not yet due)."""

    day: date
    sent_at: datetime | None
    on_time: bool | None


@dataclass(frozen=True)
class LogRow:
    day: date
    due: datetime
    status: str  # on_time / late / missing / not_due / today
    sent: ZoneReportDay | None
    delivery: str | None  # the outbox status of the latest email, None for log-only (demo) rows

    @property
    def missing(self) -> bool:
        return self.status == "missing"


def _working_days(first: date, last: date) -> list[date]:
    out, day = [], first
    while day <= last:
        if calendar_on(day).is_working_day(day):
            out.append(day)
        day += timedelta(days=1)
    return out


def _sent_by_day(first: date, last: date) -> dict[date, ZoneReportDay]:
    rows = db.session.scalars(select(ZoneReportDay).where(ZoneReportDay.report_date >= first,
                                                          ZoneReportDay.report_date <= last))
    return {row.report_date: row for row in rows}


def zone_report_days(month_start: date, month_end: date, now: datetime | None = None) -> list[DayResult]:
    """For the KPI engine: each working day in [month_start, month_end], when its report was first
    sent, and whether that was by the deadline in the rules of its day. One query."""
    now = now or utcnow()
    sent = _sent_by_day(month_start, month_end)
    out = []
    for day in _working_days(month_start, month_end):
        row = sent.get(day)
        due = due_at(day)
        if row is not None:
            out.append(DayResult(day, row.first_sent_at, row.first_sent_at <= due))
        else:
            out.append(DayResult(day, None, False if now > due else None))
    return out


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, pycalendar.monthrange(year, month)[1])


def zone_report_kpi(year: int, month: int, now: datetime | None = None) -> tuple[int, int]:
    """(numerator, denominator) of the KPI "daily_zone_report" for a month: the working days of the
    month, up to yesterday while the month is current (none for a future month), whose report was
    first sent by its deadline, over those working days. A day whose report has not gone yet counts
    against the month even if its deadline is later today: the KPI reads what the log says now."""
    now = now or utcnow()
    first, last = month_bounds(year, month)
    last = min(last, london_today(now) - timedelta(days=1))
    if last < first:
        return 0, 0
    days = zone_report_days(first, last, now)
    return sum(1 for d in days if d.on_time), len(days)


def send_log(year: int, month: int, now: datetime | None = None) -> list[LogRow]:
    """The send log page: every working day of the month up to today, newest first. Two queries."""
    now = now or utcnow()
    today = london_today(now)
    first, last = month_bounds(year, month)
    last = min(last, today)
    if last < first:
        return []
    sent = _sent_by_day(first, last)
    ids = [row.id for row in sent.values()]
    delivery: dict[int, str] = {}
    if ids:
        from .models import ZoneReportSend

        latest = (select(ZoneReportSend.day_id, func.max(ZoneReportSend.id).label("send_id"))
                  .where(ZoneReportSend.day_id.in_(ids)).group_by(ZoneReportSend.day_id).subquery())
        for day_id, status in db.session.execute(
                select(latest.c.day_id, OutboxMessage.status)
                .join(ZoneReportSend, ZoneReportSend.id == latest.c.send_id)
                .join(OutboxMessage, OutboxMessage.id == ZoneReportSend.outbox_message_id)):
            delivery[day_id] = status
    rows = []
    for day in reversed(_working_days(first, last)):
        due = due_at(day)
        row = sent.get(day)
        if row is not None:
            status = "on_time" if row.first_sent_at <= due else "late"
        elif day == today:
            status = "today"
        else:
            status = "missing"
        rows.append(LogRow(day, due, status, row, delivery.get(row.id) if row else None))
    return rows


# Reports exist for days the app and its working calendar can know about; anything else is a typo.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def check_year(year: int, what: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{what}: the year must be between {FIRST_YEAR} and {LAST_YEAR} (got {year})")


def parse_month(text: str | None, now: datetime | None = None) -> tuple[int, int]:
    """"2017-04" -> (2017, 4); empty -> the current month. ValueError names the problem."""
    if not text:
        today = london_today(now)
        return today.year, today.month
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4 or not 1 <= int(parts[1]) <= 12:
        raise ValueError(f"month: enter the month as YYYY-MM, for example 2017-04 (got {text[:20]!r})")
    check_year(int(parts[0]), "month")
    return int(parts[0]), int(parts[1])


def parse_day(text: str) -> date:
    """Strict YYYY-MM-DD; ValueError names the problem."""
    value = (text or "").strip()
    try:
        if len(value) != 10:
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date as YYYY-MM-DD, for example 2017-04-18 (got {value[:20]!r})") from None
    check_year(day.year, "date")
    return day
