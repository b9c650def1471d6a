"""The staffing model fed with the app's own volumes, the forward look of agreed changes, and the
table the KPI pack takes.

Each workload row of the rules names the count that feeds it live (`staffing.workloads.*.measure`):

- resident_permits_issued / visitor_permits_issued: Permit rows by issued_at and kind;
- post_items: applications received by post, letters requesting evidence, and enquiries by post;
- answered_calls: the telephony statistics of the KPI area (see `answered_calls_between`);
- emails: applications received by email and enquiries by email;
- refunds: refunds requested.

Per day = the period's count over the working days in the period (by the calendar of the rules), so
a live row compares directly with the SLA's per-day figure. Each count is one aggregate query.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..permits.models import Application, EvidenceRequest, Permit, Refund
from ..sla import Rules, calendar_for
from ..timefmt import LONDON
from .model import Activity, ChangeLoad, Table, build_table, number_text, sla_activities

# A contact by a channel is the work of the row with this measure (a phone contact is an answered call).
CHANNEL_MEASURES = {"phone": "answered_calls", "email": "emails", "post": "post_items"}
MEASURE_WORDS = {
    "resident_permits_issued": "resident permits issued",
    "visitor_permits_issued": "visitor permits issued",
    "post_items": "post items",
    "answered_calls": "answered calls",
    "emails": "emails",
    "refunds": "refunds requested",
}
NO_DATA = "no data"


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[midnight London at the start, midnight London after the end): whatever the clocks did."""
    return (datetime.combine(start, time(0), LONDON), datetime.combine(end + timedelta(days=1), time(0), LONDON))


def working_days_in(rules: Rules, start: date, end: date) -> int:
    return calendar_for(rules.calendar).working_days_between(start, end + timedelta(days=1))


# --------------------------------------------------------------------------------------------
# The hook to the telephony statistics
# --------------------------------------------------------------------------------------------
def answered_calls_between(start: date, end: date) -> int | None:
    """HOOK: answered calls on London days start..end, from the KPI area's telephony statistics.

    Uses `intranet.kpi.measures.answered_calls_between(start, end)` if the KPI area provides one;
    otherwise, for a period of whole calendar months, sums its `call_totals(month)`. Returns None
    (shown as "no data") when neither can answer, or when no calls were offered at all (no
    statistics imported for the period), because 0 answered calls would read as a fact.
    """
    try:
        from ..kpi import measures
    except ImportError:
        return None
    direct = getattr(measures, "answered_calls_between", None)
    if callable(direct):
        return direct(start, end)
    call_totals = getattr(measures, "call_totals", None)
    if not callable(call_totals) or start.day != 1 or (end + timedelta(days=1)).day != 1:
        return None
    from ..kpi.engine import Month

    month, last = Month(start.year, start.month), Month(end.year, end.month)
    offered = answered = 0
    while (month.year, month.month) <= (last.year, last.month):
        totals = call_totals(month)
        offered += totals.offered
        answered += totals.answered
        month = month.shift(1)
    return answered if offered else None


# --------------------------------------------------------------------------------------------
# Live volumes
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveVolumes:
    start: date
    end: date
    working_days: int
    counts: dict[str, int | None]            # measure -> count in the period (None: no data)
    parts: dict[str, list[tuple[str, int]]]  # measure -> what it is made of, for the page
    enquiries: dict[str, int]                # enquiries logged by channel (counter ones included)


def live_volumes(rules: Rules, start: date, end: date) -> LiveVolumes:
    from ..contacts.enquiries import enquiry_count_by_channel

    lo, hi = bounds(start, end)

    def count(stmt) -> int:
        return int(db.session.scalar(stmt) or 0)

    permits = dict(db.session.execute(select(Permit.kind, func.count()).where(
        Permit.issued_at >= lo, Permit.issued_at < hi).group_by(Permit.kind)).all())
    channels = dict(db.session.execute(select(Application.channel, func.count()).where(
        Application.received_at >= lo, Application.received_at < hi).group_by(Application.channel)).all())
    letters = count(select(func.count()).select_from(EvidenceRequest).where(
        EvidenceRequest.method == "letter", EvidenceRequest.requested_at >= lo, EvidenceRequest.requested_at < hi))
    refunds = count(select(func.count()).select_from(Refund).where(Refund.requested_at >= lo, Refund.requested_at < hi))
    enquiries = enquiry_count_by_channel(start, end)
    calls = answered_calls_between(start, end)
    parts = {
        "resident_permits_issued": [("resident permits issued", int(permits.get("resident", 0)))],
        "visitor_permits_issued": [("visitor permits issued", int(permits.get("visitor", 0)))],
        "post_items": [("applications by post", int(channels.get("post", 0))),
                       ("letters requesting evidence", letters), ("enquiries by post", enquiries.get("post", 0))],
        "emails": [("applications by email", int(channels.get("email", 0))),
                   ("enquiries by email", enquiries.get("email", 0))],
        "refunds": [("refunds requested", refunds)],
        "answered_calls": [] if calls is None else [("answered calls (telephony statistics)", calls)],
    }
    counts: dict[str, int | None] = {m: sum(n for _, n in p) for m, p in parts.items()}
    counts["answered_calls"] = calls
    return LiveVolumes(start, end, working_days_in(rules, start, end), counts, parts, enquiries)


def live_activities(rules: Rules, volumes: LiveVolumes) -> tuple[list[Activity], dict[str, str], list[str]]:
    """The rules' rows with live per-day volumes; notes say what each is made of; rows without data excluded."""
    activities, notes, excluded = [], {}, []
    for a in sla_activities(rules.staffing):
        n = volumes.counts.get(a.measure) if a.measure else None
        if n is None or volumes.working_days == 0:
            excluded.append(a.code)
            activities.append(a)
            continue
        activities.append(replace(a, daily_volume=n / volumes.working_days, annual_volume=None, working_days=None,
                                  observed_volume=n, observed_working_days=volumes.working_days))
        made_of = " + ".join(f"{k:,} {label}" for label, k in volumes.parts.get(a.measure, []))
        notes[a.code] = f"{made_of} over {volumes.working_days} working days" if made_of else ""
    return activities, notes, excluded


@dataclass(frozen=True)
class LiveModel:
    volumes: LiveVolumes
    table: Table
    sla: Table

    def sla_row(self, code: str):
        return next((r for r in self.sla.rows if r.code == code), None)

    @property
    def no_data(self) -> list[Activity]:
        return [a for a in sla_activities_from(self.sla) if a.code in self.table.excluded]


def sla_activities_from(table: Table) -> list[Activity]:
    return [r.activity for r in table.rows]


def live_model(rules: Rules, start: date, end: date) -> LiveModel:
    from .model import sla_table

    days_per_week = len(rules.calendar.working_weekdays)
    volumes = live_volumes(rules, start, end)
    activities, notes, excluded = live_activities(rules, volumes)
    table = build_table(activities, productive_hours=rules.staffing.productive_hours_per_fte_week,
                        days_per_week=days_per_week, funded_fte=rules.staffing.funded_fte, notes=notes,
                        excluded=excluded)
    return LiveModel(volumes, table, sla_table(rules.staffing, days_per_week))


# --------------------------------------------------------------------------------------------
# Forward look
# --------------------------------------------------------------------------------------------
_DURATION_RE = re.compile(r"(\d{1,4})\s*(day|week|wk|month)s?\b", re.IGNORECASE)


def duration_end(starts: date, duration: str) -> date | None:
    """"8 weeks" -> the day before 8 weeks on; "Permanent" or anything unreadable -> None (runs on)."""
    match = _DURATION_RE.search(duration or "")
    if not match:
        return None
    n, unit = int(match.group(1)), match.group(2).lower()
    if unit == "day":
        return starts + timedelta(days=max(n, 1) - 1)
    if unit in ("week", "wk"):
        return starts + timedelta(weeks=n) - timedelta(days=1)
    index = starts.year * 12 + starts.month - 1 + n
    year, month = divmod(index, 12)
    import calendar as pycalendar

    day = min(starts.day, pycalendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day) - timedelta(days=1)


MAX_LOOK_AHEAD_WEEKS = 52  # a page length, not a rule: a year of weeks is as far as anyone plans staff


def notice_weeks(rules: Rules) -> int:
    """The notice the SLA requires of a change, in weeks: a change not yet asked for cannot start sooner."""
    clock = rules.clock(rules.changes.notice_clock)
    days = {"weeks": clock.length * 7, "calendar_days": clock.length}.get(clock.unit, math.ceil(clock.length * 7 / 5))
    return max(1, math.ceil(days / 7))


def look_ahead_weeks(rules: Rules, loads: list[ChangeLoad], first_monday: date) -> int:
    """At least the notice period; further if an agreed change starts or runs later (to its end, or for a
    notice period after it starts when it has no end), up to a year."""
    weeks = notice_weeks(rules)
    for load in loads:
        last = load.ends or load.starts + timedelta(weeks=notice_weeks(rules))
        weeks = max(weeks, (last - first_monday).days // 7 + 1)
    return min(weeks, MAX_LOOK_AHEAD_WEEKS)


def change_loads(user, rules: Rules, activities: list[Activity], today: date) -> list[ChangeLoad]:
    """Agreed and scheduled change requests the user may see, as weekly work from when each starts.

    Handling time per contact: the CSC's own assessment of the change if made, else the handling
    time of the row for the channel in the (what-if) model; contacts on a channel with neither are
    counted but not timed, and the page says so.
    """
    from ..changes.services import forward_look

    minutes_for = {a.measure: a.handling_minutes for a in activities if a.measure}
    loads = []
    for cr in forward_look(user, today).rows:
        starts = cr.go_live_on or cr.required_by or today
        contacts = minutes = 0.0
        unpriced = 0
        for channel, volume in cr.volumes.items():
            if not volume:
                continue
            contacts += volume
            handling = cr.handling_minutes or minutes_for.get(CHANNEL_MEASURES.get(channel))
            if handling:
                minutes += volume * handling
            else:
                unpriced += volume
        loads.append(ChangeLoad(cr.reference, cr.title, starts, duration_end(starts, cr.duration), int(contacts),
                                minutes, unpriced))
    return loads


# --------------------------------------------------------------------------------------------
# For the KPI pack
# --------------------------------------------------------------------------------------------
def staffing_table_for_pack(year: int, month: int) -> dict:
    """The staffing table for a KPI pack month, judged by the rules in force on the month's first day.

    Returns {"month": "YYYY-MM", "start": date, "end": date, "working_days": int,
    "sla": Table (the SLA's own table), "live": Table (the month's own volumes; rows without data in
    `live.excluded`), "volumes": LiveVolumes, "rows": [dict of display strings per row, SLA beside live],
    "totals": dict of display strings}. Tables carry display helpers (daily_text, weekly_text,
    fte_text, verdict) so the pack prints figures exactly as the staffing page does.
    """
    import calendar as pycalendar

    from ..service_rules import rules_in_force

    start = date(year, month, 1)
    end = date(year, month, pycalendar.monthrange(year, month)[1])
    rules = rules_in_force(start)
    model = live_model(rules, start, end)
    live_rows = {r.code: r for r in model.table.rows}
    rows = []
    for sla_row in model.sla.rows:
        live = live_rows.get(sla_row.code)
        rows.append({
            "activity": sla_row.title, "sla_per_day": sla_row.per_day_text, "handling": sla_row.handling_text,
            "sla_daily": sla_row.daily_text, "sla_weekly": sla_row.weekly_text, "sla_fte": sla_row.fte_text,
            "live_count": "" if live is None else number_text(live.activity.observed_volume, 0),
            "live_per_day": NO_DATA if live is None else number_text(live.per_day, 1),
            "live_weekly": NO_DATA if live is None else live.weekly_text,
            "live_fte": NO_DATA if live is None else live.fte_text,
        })
    return {"month": f"{year:04d}-{month:02d}", "start": start, "end": end,
            "working_days": model.volumes.working_days, "sla": model.sla, "live": model.table,
            "volumes": model.volumes, "rows": rows,
            "totals": {"sla_daily": model.sla.daily_text, "sla_weekly": model.sla.weekly_text,
                       "sla_fte": model.sla.fte_text, "live_weekly": model.table.weekly_text,
                       "live_fte": model.table.fte_text, "funded_fte": model.sla.funded_text,
                       "live_verdict": model.table.verdict}}
