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
    # Which of the app's own counts feeds this row in the live staffing model (issue 9); None: no live data.
    measure: str | None = None

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
    # Yearly cost of one FTE at each grade, with on-costs (for cost per permit; issue 8).
    grade_costs_pence: Mapping[str, int] = field(default_factory=frozen_map)

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
class LetterSender:
    """Who the letters are from: printed on every letter, so it comes from the rules, not the code."""

    organisation: str = ""
    department: str = ""
    address: tuple[str, ...] = ()
    phone: str = ""
    email: str = ""
    web: str = ""


@dataclass(frozen=True)
class StockItem:
    """Stationery the post room keeps: `used_for` is the permit kind that uses one per permit printed."""

    code: str
    title: str
    used_for: str | None
    reorder_level: int


@dataclass(frozen=True)
class PrintingRules:
    sender: LetterSender = field(default_factory=LetterSender)
    batch_postage_class: str = "second_class"
    financial_year_start_month: int = 4
    stock: tuple[StockItem, ...] = ()


@dataclass(frozen=True)
class ChangeRules:
    notice_clock: str
    request_types: Mapping[str, str]
    routes: Mapping[str, str]
    requestor_information: tuple[str, ...]
    assessment: tuple[str, ...]
    approver_roles: tuple[str, ...]


DEFAULT_COMPLAINT_CATEGORIES = {
    "service_delay": "Delay in the service",
    "staff_conduct": "Staff conduct",
    "decision": "A decision we made",
    "communication": "Communication",
    "policy": "Policy or the scheme itself",
    "other": "Other",
}


@dataclass(frozen=True)
class ComplaintRules:
    """The complaint log's own settings (the SLA names the procedure, not these lists).

    Defaults so a site file written before the complaint log still validates.
    """

    categories: Mapping[str, str] = field(default_factory=lambda: frozen_map(DEFAULT_COMPLAINT_CATEGORIES))
    report_year_start_month: int = 4


DEFAULT_QUALITY_CRITERIA = {
    "greeting": "Greeting and identification",
    "accuracy": "Accurate information and advice",
    "process": "Followed the permit process",
    "courtesy": "Courtesy and empathy",
    "wrap_up": "Clear next steps and record kept",
}


@dataclass(frozen=True)
class QualityMonitoringRules:
    """What a team leader scores when evaluating a contact (issue 8). Defaults so older site files validate."""

    criteria: Mapping[str, str] = field(default_factory=lambda: frozen_map(DEFAULT_QUALITY_CRITERIA))
    score_out_of: int = 5


@dataclass(frozen=True)
class SatisfactionRules:
    """A survey answer given as a 1-5 score counts as satisfied from this score up."""

    satisfied_from_score: int = 4


@dataclass(frozen=True)
class ServiceReviewRules:
    """How many days before a service review meeting its attendees are reminded."""

    reminder_days_before: int = 10


# The app's own counts the live staffing model can feed a workload row from (issue 9).
STAFFING_MEASURES = ("resident_permits_issued", "visitor_permits_issued", "post_items", "answered_calls",
                     "emails", "refunds")
# Channels an enquiry arrives by; the reply clock is set per channel.
ENQUIRY_CHANNELS = ("phone", "email", "post", "counter")
DEFAULT_ENQUIRY_CATEGORIES = {
    "applying": "Applying for a permit",
    "renewing": "Renewing a permit",
    "visitor_permits": "Visitor permits",
    "eligibility": "Eligibility, zones and streets",
    "permit_progress": "Where is my permit?",
    "payments_refunds": "Payments and refunds",
    "enforcement": "Penalty charge notices and enforcement",
    "other": "Other",
}
DEFAULT_REPLY_CLOCKS = {"phone": 2, "email": 5, "post": 10, "counter": 2}


@dataclass(frozen=True)
class EnquiryRules:
    """The enquiries log (issue 9): categories, and the reply clock in working days per channel.

    Defaults so a site file written before the log still validates.
    """

    categories: Mapping[str, str] = field(default_factory=lambda: frozen_map(DEFAULT_ENQUIRY_CATEGORIES))
    reply_clocks: Mapping[str, int] = field(default_factory=lambda: frozen_map(DEFAULT_REPLY_CLOCKS))


@dataclass(frozen=True)
class CashExceptionRules:
    """Cash payments taken by exception for enforcement (issue 9): what a penalty charge notice number
    looks like, the most one receipt may be for, and who may approve one (never its taker)."""

    pcn_pattern: str = "^[A-Z]{2}[0-9]{8}$"
    max_amount_pence: int = 20000
    approver_roles: tuple[str, ...] = ("team_leader", "service_lead", "service_manager")


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
    printing: PrintingRules = field(default_factory=PrintingRules)
    applied_variations: tuple[str, ...] = ()
    complaints: ComplaintRules = field(default_factory=ComplaintRules)
    quality_monitoring: QualityMonitoringRules = field(default_factory=QualityMonitoringRules)
    satisfaction: SatisfactionRules = field(default_factory=SatisfactionRules)
    service_reviews: ServiceReviewRules = field(default_factory=ServiceReviewRules)
    enquiries: EnquiryRules = field(default_factory=EnquiryRules)
    cash_exceptions: CashExceptionRules = field(default_factory=CashExceptionRules)
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
