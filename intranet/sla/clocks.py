"""Deadlines, pauses and status of the SLA's clocks.

The counting convention is the one public bodies use for statutory
deadlines (DESIGN.md section 3), because that is how the council and an
ombudsman would check us:

* the day of receipt is day 0; an item received outside service hours or on
  a closed day counts as received at the next opening;
* "within N working days" is due at close of service on the Nth working
  day after day 0;
* calendar-day clocks (and weeks' notice, as 7-day weeks) are due at close of
  service on day N, or on the next working day when day N is not one;
* the KPI pack is due at close of service on the Nth working day of the
  month after the period (the month's first working day being the 1st);
* a pause (waiting for the customer) stops the clock in *working time*: the
  deadline moves later by the service-hours time inside the pause, so a
  pause over a weekend costs nothing and a pause can never bring a deadline
  earlier.

Every length comes from the rules; nothing here knows "2" or "17:00".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Sequence

from .calendar import WorkingCalendar, calendar_for
from .model import Clock, Rules

__all__ = [
    "Explanation", "deadline_for", "explain_deadline", "clock_status", "time_left_text",
    "working_minutes_between", "format_date", "format_time", "format_datetime", "parse_local_datetime",
]

Pause = tuple[dt.datetime, "dt.datetime | None"]


@dataclass(frozen=True)
class Explanation:
    """A deadline with the steps that produced it, for the web form and CLI."""

    clock: Clock
    received_at: dt.datetime
    counting_from: dt.datetime
    deadline: dt.datetime
    lines: tuple[str, ...]


# --------------------------------------------------------------------------
# Formatting (DESIGN.md: "13 April 2017", "3:00pm", Europe/London)
# --------------------------------------------------------------------------
def format_date(day: dt.date, weekday: bool = True) -> str:
    text = f"{day.day} {day:%B %Y}"
    return f"{day:%A} {text}" if weekday else text


def format_time(when: dt.datetime | dt.time) -> str:
    hour = when.hour % 12 or 12
    return f"{hour}:{when.minute:02d}{'am' if when.hour < 12 else 'pm'}"


def format_datetime(when: dt.datetime) -> str:
    return f"{format_date(when.date())} {format_time(when)}"


def parse_local_datetime(rules: Rules, text: str) -> dt.datetime:
    """``YYYY-MM-DDTHH:MM`` (local, as the CLI and the web form take it), or
    with a UTC offset; ValueError with a one-line message otherwise."""
    value = text.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"expected a date and time YYYY-MM-DDTHH:MM, got {text!r}") from None
    if len(value) < 16:
        raise ValueError(f"expected a date and time YYYY-MM-DDTHH:MM, got {text!r}")
    return calendar_for(rules.calendar).localize(parsed)


# --------------------------------------------------------------------------
# Deadlines
# --------------------------------------------------------------------------
def deadline_for(rules: Rules, clock_name: str, received_at: dt.datetime,
                 pauses: Iterable[Pause] = (), now: dt.datetime | None = None,
                 extension: int = 0) -> dt.datetime:
    """When ``clock_name`` started at ``received_at`` is due (Europe/London).

    ``received_at`` must be aware. For a clock with ``starts_after`` (a
    stage response), pass the time that earlier step was done. A pause whose
    end is ``None`` is still running and counts up to ``now``. ``extension``
    adds that many units (a stage response's extension, with a reason).
    Pass ``rules.in_force_on(date)`` to judge an item by the rules of its time.
    """
    return _compute(rules, clock_name, received_at, pauses, now, extension, None)[1]


def explain_deadline(rules: Rules, clock_name: str, received_at: dt.datetime,
                     pauses: Iterable[Pause] = (), now: dt.datetime | None = None,
                     extension: int = 0) -> Explanation:
    """The deadline and each step of counting it, in plain English."""
    lines: list[str] = []
    start, due = _compute(rules, clock_name, received_at, pauses, now, extension, lines)
    cal = calendar_for(rules.calendar)
    return Explanation(rules.clock(clock_name), cal.local(received_at), start, due, tuple(lines))


def _compute(rules: Rules, clock_name: str, received_at: dt.datetime, pauses: Iterable[Pause],
             now: dt.datetime | None, extension: int, out: list[str] | None) -> tuple[dt.datetime, dt.datetime]:
    clock = rules.clock(clock_name)
    cal = calendar_for(rules.calendar)
    received = cal.local(received_at)
    pauses = list(pauses)
    if pauses and not clock.pausable:
        raise ValueError(f"the {clock.name} clock cannot be paused")
    if extension:
        if clock.extension is None:
            raise ValueError(f"the {clock.name} clock cannot be extended")
        if not 0 < extension <= clock.extension.max_length:
            raise ValueError(f"an extension of the {clock.name} clock must be 1-{clock.extension.max_length}, got {extension}")
    length = clock.length + extension
    start = cal.counting_start(received)
    day0 = start.date()

    if out is not None:
        out.append(f"Clock: {clock.title}, {_describe_length(clock, extension)} from {clock.starts[0].lower() + clock.starts[1:]}")
        out.append(_received_line(cal, received, start, clock))

    if clock.unit == "working_days":
        due_day = cal.add_working_days(day0, length)
        if out is not None:
            _list_working_days(cal, day0, due_day, out)
    elif clock.unit in ("calendar_days", "weeks"):
        days = length * 7 if clock.unit == "weeks" else length
        nominal = day0 + dt.timedelta(days=days)
        due_day = cal.next_working_day(nominal)
        if out is not None:
            out.append(f"Day {days}: {format_date(nominal)}")
            if due_day != nominal:
                out.append(f"{format_date(nominal)} is {_closed_because(cal, nominal)}: "
                           f"due on the next working day, {format_date(due_day)}")
    else:  # working_day_of_next_month: the period is the month received in
        first = (received.date().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        due_day = cal.date_at(cal.index(first) + length - 1)
        if out is not None:
            out.append(f"Period: {received:%B %Y}; working days of {first:%B %Y} counted from the 1st")
            _list_working_days(cal, first - dt.timedelta(days=1), due_day, out)
    due = cal.closes_at(due_day)

    if pauses:
        due = _apply_pauses(cal, start, due, pauses, now, out)
    if out is not None:
        out.append(f"Due: {format_datetime(due)}")
    return start, due


def _apply_pauses(cal: WorkingCalendar, start: dt.datetime, due: dt.datetime,
                  pauses: Sequence[Pause], now: dt.datetime | None, out: list[str] | None) -> dt.datetime:
    """Move the deadline by the working time paused before it fell due.

    Worked in working-time positions: a pause that begins after the
    (already extended) deadline changes nothing; overlapping pauses count once.
    """
    s = cal.position(start)
    spans = []
    for a, b in pauses:
        if b is None:
            if now is None:
                raise ValueError("a pause without an end needs `now`")
            b = max(now, a)
        if cal.local(b) < cal.local(a):
            raise ValueError(f"a pause ends before it starts: {a.isoformat()} to {b.isoformat()}")
        pa, pb = max(cal.position(a), s), cal.position(b)
        if pb > pa:
            spans.append((pa, pb, a, b))
    spans.sort()
    p = cal.position(due)
    moved = 0
    merged: list[tuple[int, int]] = []
    for pa, pb, a, b in spans:
        if merged and pa <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], pb))
        else:
            merged.append((pa, pb))
        if out is not None:
            out.append(f"Paused {format_datetime(cal.local(a))} to {format_datetime(cal.local(b))}: "
                       f"{_duration(cal, pb - pa)} of working time")
    for pa, pb in merged:
        if pa >= p:
            break
        p += pb - pa
        moved += pb - pa
    if out is not None and merged:
        out.append(f"Deadline moved by {_duration(cal, moved)} of working time paused before it fell due")
    return cal.instant_at(p)


def _describe_length(clock: Clock, extension: int) -> str:
    text = clock.describe
    if extension:
        text += f" plus an extension of {extension}"
    return text


def _closed_because(cal: WorkingCalendar, day: dt.date) -> str:
    reason = cal.non_working_reason(day)
    if reason is not None:
        return f"a {reason.source} ({reason.name})"
    return "not a working day"


def _received_line(cal: WorkingCalendar, received: dt.datetime, start: dt.datetime, clock: Clock) -> str:
    head = f"Received {format_datetime(received)}"
    if clock.unit == "working_day_of_next_month":
        return f"{head}: reporting period {received:%B %Y}"
    if start == received:
        return f"{head}: within service hours (day 0)"
    if not cal.is_working_day(received.date()):
        why = _closed_because(cal, received.date())
    elif received.time() < cal.open_time:
        why = "before service hours"
    else:
        why = "outside service hours"
    return f"{head}: {why}, counts from {format_datetime(start)} (day 0)"


def _list_working_days(cal: WorkingCalendar, day0: dt.date, due_day: dt.date, out: list[str]) -> None:
    n = 0
    d = day0 + dt.timedelta(days=1)
    while d <= due_day:
        if cal.is_working_day(d):
            n += 1
            out.append(f"Working day {n}: {format_date(d)}")
        else:
            reason = cal.non_working_reason(d)
            if reason is not None:
                out.append(f"Not counted: {format_date(d)} ({reason.name}, {reason.source})")
        d += dt.timedelta(days=1)


# --------------------------------------------------------------------------
# Status and time left
# --------------------------------------------------------------------------
def clock_status(rules: Rules, deadline: dt.datetime, now: dt.datetime,
                 completed_at: dt.datetime | None = None, started_at: dt.datetime | None = None) -> str:
    """One of on_track, at_risk, breached, met_on_time, met_late.

    At risk (thresholds in ``rules.at_risk``, an assumption): open, not yet
    due, and at most ``working_hours_left`` of working time left, or (when
    ``started_at`` is given) at most ``fraction_of_clock_left`` of the
    clock's working time left. Both are in working time because a Friday
    evening item is not at risk just because a weekend is ticking away.
    """
    if completed_at is not None:
        return "met_on_time" if completed_at <= deadline else "met_late"
    if now > deadline:
        return "breached"
    cal = calendar_for(rules.calendar)
    left = cal.working_seconds_between(now, deadline)
    if left <= rules.at_risk.working_hours_left * 3600:
        return "at_risk"
    if started_at is not None:
        total = cal.working_seconds_between(started_at, deadline)
        if total > 0 and left <= rules.at_risk.fraction_of_clock_left * total:
            return "at_risk"
    return "on_track"


def working_minutes_between(rules: Rules, start: dt.datetime, end: dt.datetime) -> float:
    """Service-hours minutes on working days from start to end (negative if end is earlier)."""
    return calendar_for(rules.calendar).working_minutes_between(start, end)


def time_left_text(rules: Rules, deadline: dt.datetime, now: dt.datetime) -> str:
    """"1 working day 3 hours left" or "2 hours overdue", in working time."""
    cal = calendar_for(rules.calendar)
    seconds = cal.working_seconds_between(now, deadline)
    if now > deadline:
        return f"{_duration(cal, -seconds)} overdue" if seconds < -59 else "overdue"
    if seconds < 60:
        return "due now"
    return f"{_duration(cal, seconds)} left"


def _duration(cal: WorkingCalendar, seconds: int) -> str:
    days, rest = divmod(max(seconds, 0), cal.day_seconds)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} working day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes and not days:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts) or "no time"
