"""The SLA engine: the rules of the Service Level Agreement, in pure Python.

No Flask and nothing else of ``intranet`` is imported here, so the engine
runs the same in a request, the CLI, a KPI batch and the bench.

Public API
----------
Rules (``intranet.sla.rules``)::

    load_rules(default_path=None, site_path=None) -> Rules     # raises RulesError
    rules_from_mapping(doc: dict) -> Rules                      # already-parsed YAML
    RulesError(errors: list[str])    # .errors: every problem, "key.path: message"
    Rules.summary() -> str                                       # one line for `sla check`
    Rules.in_force_on(date) -> Rules                             # variations applied
    Rules.clock(name) -> Clock; Rules.kpi(name) -> Kpi           # KeyError if unknown
    Rules.assumptions -> tuple[Assumption(path, note, value)]   # for the SLA page
    Rules.agreement / roles / calendar / clocks / kpis / escalation /
          business_continuity / zone_report / permits / partners / telephony /
          staffing / finance / changes / at_risk / variations   # frozen dataclasses

Calendar (``intranet.sla.calendar``)::

    calendar_for(rules.calendar) -> WorkingCalendar              # cached, shared
    WorkingCalendar.is_working_day(date) -> bool
    WorkingCalendar.non_working_weekdays(year) -> list[NonWorkingDay(date, name, source)]
    WorkingCalendar.next_non_working_weekdays(start, count=10) -> list[NonWorkingDay]
    WorkingCalendar.index(date) -> int; date_at(index) -> date
    WorkingCalendar.add_working_days(date, n) -> date
    WorkingCalendar.opens_at(date) / closes_at(date) -> aware datetime
    WorkingCalendar.is_open(dt) -> bool; next_opening(dt) -> aware datetime
    WorkingCalendar.localize(naive) -> aware local datetime
    WorkingCalendar.working_minutes_between(a, b) -> float

Clocks (``intranet.sla.clocks``); all datetimes aware, results Europe/London::

    deadline_for(rules, clock, received_at, pauses=(), now=None, extension=0) -> datetime
    explain_deadline(rules, clock, received_at, pauses=(), now=None, extension=0)
        -> Explanation(clock, received_at, counting_from, deadline, lines)
    clock_status(rules, deadline, now, completed_at=None, started_at=None)
        -> "on_track" | "at_risk" | "breached" | "met_on_time" | "met_late"
    time_left_text(rules, deadline, now) -> "1 working day 3 hours left" | "2 hours overdue"
    working_minutes_between(rules, start, end) -> float
    format_date(date) / format_time(dt) / format_datetime(dt) -> str
    parse_local_datetime(rules, "2017-03-10T18:00") -> aware datetime   # ValueError if malformed

Targets (``intranet.sla.targets``)::

    effective_target(rules, kpi_name, emergency_active) -> float
    rag(rules, kpi_name, value, emergency_active=False) -> "green" | "amber" | "red"

Batch (``intranet.sla.batch``)::

    BatchClock(rules, clock, first_date, last_date)
        .deadlines(epochs) / .deadlines_paused(epochs, pauses) / .statuses(epochs, deadlines, now, completed=None)

Rules are the base document; pass ``rules.in_force_on(d)`` wherever an item
or period must be judged by the rules of its own time.
"""

from .calendar import NonWorkingDay, WorkingCalendar, calendar_for
from .clocks import (
    Explanation, clock_status, deadline_for, explain_deadline, format_date, format_datetime,
    format_time, parse_local_datetime, time_left_text, working_minutes_between,
)
from .model import STATUSES, Assumption, Clock, Kpi, Rules, Variation
from .rules import DEFAULT_PATH, RulesError, load_rules, rules_from_mapping
from .targets import effective_target, rag

__all__ = [
    "DEFAULT_PATH", "STATUSES", "Assumption", "Clock", "Explanation", "Kpi", "NonWorkingDay",
    "Rules", "RulesError", "Variation", "WorkingCalendar", "calendar_for", "clock_status",
    "deadline_for", "effective_target", "explain_deadline", "format_date", "format_datetime",
    "format_time", "load_rules", "parse_local_datetime", "rag", "rules_from_mapping", "time_left_text",
    "working_minutes_between",
]
