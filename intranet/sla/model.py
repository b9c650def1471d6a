"""Typed, frozen view of the rules.

Frozen because one loaded ``Rules`` is shared by every request and every
batch job: nothing may change a target behind another caller's back. A
change to the rules is a *variation* (see ``Rules.in_force_on``), never a
mutation. Sequences are tuples and mappings are read-only so the calendar
rules can key caches.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK_UNITS = ("working_days", "calendar_days", "weeks", "working_day_of_next_month")
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "six_monthly", "annual")
DIRECTIONS = ("at_least", "at_most")
STATUSES = ("on_track", "at_risk", "breached", "met_on_time", "met_late")


def frozen_map(data: Mapping | None = None) -> Mapping:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Party:
    role: str
    name: str
    position: str
    organisation: str


@dataclass(frozen=True)
class Reviews:
    first_month_review: dt.date
    annual_review: dt.date
    frequency: str
    reviewers: tuple[str, ...]
    service_review_interval_months: int
    service_review_attendees: tuple[str, ...]


@dataclass(frozen=True)
class Agreement:
    title: str
    service: str
    provider: str
    customer: str
    purpose: str
    period_start: dt.date
    period_end: dt.date
    made_on: dt.date
    reviews: Reviews
    parties: tuple[Party, ...]
    sign_off_roles: tuple[str, ...]
    customers: tuple[str, ...]
    key_services: tuple[str, ...]
    service_user_duties: tuple[str, ...]


@dataclass(frozen=True)
class Closure:
    date: dt.date
    reason: str


@dataclass(frozen=True)
class CalendarRules:
    """Hashable on purpose: the working calendar built from it is cached."""

    timezone: str
    working_weekdays: tuple[int, ...]  # Monday = 0, as date.weekday()
    open: dt.time
    close: dt.time
    holiday_country: str
    holiday_subdivision: str | None
    closures: tuple[Closure, ...]

    @property
    def service_seconds(self) -> int:
        """Length of one working day, in seconds of working time."""
        return (self.close.hour * 60 + self.close.minute - self.open.hour * 60 - self.open.minute) * 60


@dataclass(frozen=True)
class Extension:
    max_length: int
    reason_required: bool


@dataclass(frozen=True)
class Clock:
    name: str
    title: str
    unit: str
    length: int
    starts: str
    starts_after: str | None
    pausable: bool
    extension: Extension | None

    @property
    def describe(self) -> str:
        """Plain words for the SLA page and CLI ("2 working days")."""
        n = self.length
        if self.unit == "working_days":
            return f"{n} working day{'s' if n != 1 else ''}"
        if self.unit == "calendar_days":
            return f"{n} day{'s' if n != 1 else ''}"
        if self.unit == "weeks":
            return f"{n} week{'s' if n != 1 else ''} ({n * 7} days)"
        return f"{_ordinal(n)} working day of the following month"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Kpi:
    name: str
    title: str
    category: str
    target: float
    direction: str
    frequency: str
    measured: str
    amber_limit: float
    clock: str | None = None
    benchmark_score: float | None = None


@dataclass(frozen=True)
class LadderStep:
    step: str
    title: str
    role: str | None
    clocks: tuple[str, ...]
    signpost: str | None


@dataclass(frozen=True)
class Escalation:
    internal: tuple[LadderStep, ...]
    public: tuple[LadderStep, ...]


@dataclass(frozen=True)
class BusinessContinuity:
    event_kinds: Mapping[str, str]
    clocks_keep_running: bool
    reduced_targets: Mapping[str, float]


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


@dataclass(frozen=True)
class ZoneReportRules:
    title: str
    recipients: tuple[Recipient, ...]
    due_working_days_after: int
    due_time: dt.time


@dataclass(frozen=True)
class ResidentPermitRules:
    price_pence: int
    validity_months: int
    max_per_household: int
    renewal_window_days: int
    replacement_fee_pence: int
    evidence_required: tuple[str, ...]


@dataclass(frozen=True)
class VisitorPermitRules:
    allowance_per_year: int
    free_per_year: int
    price_pence: int
    validity_months: int
    evidence_required: tuple[str, ...]
    allowance_year_start_month: int = 4


@dataclass(frozen=True)
class RefundRules:
    method: str
    admin_fee_pence: int


@dataclass(frozen=True)
class PermitRules:
    resident: ResidentPermitRules
    visitor: VisitorPermitRules
    refunds: RefundRules
    vrm_formats: Mapping[str, str]
    evidence_types: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True)
class Partner:
    code: str
    name: str
    arrangement: str
    contact: str


@dataclass(frozen=True)
class Telephony:
    answered_kpi: str
    abandoned_kpi: str


@dataclass(frozen=True)
class Workload:
    code: str
    title: str
    handling_minutes: float
    daily_volume: float | None = None
    annual_volume: int | None = None
    working_days: int | None = None
    observed_volume: int | None = None
    observed_working_days: int | None = None

    @property
    def per_day(self) -> float:
        """The seed states some volumes per year and some per day."""
        if self.daily_volume is not None:
            return float(self.daily_volume)
        return self.annual_volume / self.working_days  # type: ignore[operator]


@dataclass(frozen=True)
class FundedPost:
    grade: str
    fte: float


@dataclass(frozen=True)
class Staffing:
    working_days_per_year: int
    productive_hours_per_fte_week: float
    funded: tuple[FundedPost, ...]
    workloads: tuple[Workload, ...]

    @property
    def funded_fte(self) -> float:
        return sum(p.fte for p in self.funded)


@dataclass(frozen=True)
class Postage:
    prices_pence: Mapping[str, int]
    history_title: str
    history_months: Mapping[str, int]
    total_annual_pence: int
    including_reminder_letters_pence: int
    average_monthly_pence: int


@dataclass(frozen=True)
class Finance:
    stationery_cost_code: str
    stationery_ordered_through: str
    postage: Postage


@dataclass(frozen=True)
class ChangeRules:
    notice_clock: str
    request_types: Mapping[str, str]
    routes: Mapping[str, str]
    requestor_information: tuple[str, ...]
    assessment: tuple[str, ...]
    approver_roles: tuple[str, ...]


@dataclass(frozen=True)
class AtRisk:
    fraction_of_clock_left: float
    working_hours_left: float


@dataclass(frozen=True)
class Variation:
    id: str
    effective_from: dt.date
    reason: str
    agreed_by: str | None
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class Assumption:
    """A value the SLA does not state: shown on the SLA page to confirm."""

    path: str
    note: str
    value: Any


@dataclass(frozen=True, eq=False)
class Rules:
    agreement: Agreement
    roles: Mapping[str, str]
    calendar: CalendarRules
    clocks: Mapping[str, Clock]
    kpis: Mapping[str, Kpi]
    escalation: Escalation
    business_continuity: BusinessContinuity
    zone_report: ZoneReportRules
    permits: PermitRules
    partners: tuple[Partner, ...]
    telephony: Telephony
    staffing: Staffing
    finance: Finance
    changes: ChangeRules
    at_risk: AtRisk
    variations: tuple[Variation, ...]
    assumptions: tuple[Assumption, ...]
    applied_variations: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=frozen_map, repr=False)
    # (effective_from, Rules) for each distinct variation date, ascending;
    # filled by the loader, shared by every version of the same document.
    _versions: list = field(default_factory=list, repr=False)

    def in_force_on(self, day: dt.date | dt.datetime) -> "Rules":
        """The rules with every variation effective on or before ``day``.

        Past periods must be judged by the targets of their time, so callers
        ask for the date the item or period belongs to, not for today.
        """
        if isinstance(day, dt.datetime):
            day = day.date()
        if not self._versions:
            return self
        i = bisect.bisect_right([d for d, _ in self._versions], day)
        return self._versions[max(i, 1) - 1][1]

    def clock(self, name: str) -> Clock:
        try:
            return self.clocks[name]
        except KeyError:
            raise KeyError(f"unknown clock {name!r}; known: {', '.join(self.clocks)}") from None

    def kpi(self, name: str) -> Kpi:
        try:
            return self.kpis[name]
        except KeyError:
            raise KeyError(f"unknown KPI {name!r}; known: {', '.join(self.kpis)}") from None

    def summary(self) -> str:
        """One line for ``flask sla check``."""
        a = self.agreement
        return (
            f"SLA rules OK: {a.service} ({a.period_start.isoformat()} to {a.period_end.isoformat()}), "
            f"{len(self.clocks)} clocks, {len(self.kpis)} KPIs, "
            f"{len(self.variations)} variation{'s' if len(self.variations) != 1 else ''}, "
            f"{len(self.assumptions)} assumption{'s' if len(self.assumptions) != 1 else ''}"
        )
