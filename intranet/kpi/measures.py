"""Reads the counts behind each KPI for a period (a handful of indexed aggregate queries) and hands
them to the pure judgement in `engine`. Also the drill-downs: the items behind each figure.

Each KPI is judged by the rules in force on the first day of its month; a month that any emergency
declaration touches is judged against the reduced targets and flagged.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, case, func, select

from ..extensions import db
from ..service_rules import rules_in_force
from ..sla import Rules, deadline_for
from ..timefmt import LONDON, format_datetime, utcnow
from .engine import Count, KpiResult, Month, MonthKpis, financial_year_start, judge, quality_count
from .models import CallInterval, KpiPack, QualityEvaluation, SatisfactionResponse


def _fy_start(rules: Rules, month: Month) -> Month:
    return financial_year_start(month, rules.printing.financial_year_start_month)


def emergencies_between(start: datetime, end: datetime) -> list:
    """Declarations touching [start, end); none if business continuity is not installed."""
    try:
        from ..agreement.services import declarations_overlapping
    except ImportError:
        return []
    return declarations_overlapping(start, end)


# --- counts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallTotals:
    offered: int
    answered: int
    abandoned: int


def call_totals(month: Month, counted_only: bool = True) -> CallTotals:
    """Sums of the month's intervals; read from the covering index alone."""
    start, end = month.bounds
    stmt = select(func.coalesce(func.sum(CallInterval.offered), 0), func.coalesce(func.sum(CallInterval.answered), 0),
                  func.coalesce(func.sum(CallInterval.abandoned), 0)).where(
        CallInterval.interval_start >= start, CallInterval.interval_start < end)
    if counted_only:
        stmt = stmt.where(CallInterval.counted.is_(True))
    offered, answered, abandoned = db.session.execute(stmt).one()
    return CallTotals(int(offered), int(answered), int(abandoned))


def permit_counts(month: Month) -> tuple[int, int]:
    """(issued on time, issued) in the month, from the on-time result stored when each was issued."""
    from ..permits.models import Application

    start, end = month.bounds
    issued, on_time = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((Application.issued_on_time.is_(True), 1), else_=0)), 0))
        .where(Application.decided_at >= start, Application.decided_at < end, Application.status == "issued")).one()
    return int(on_time), int(issued)


def zone_report_counts(month: Month, now: datetime) -> tuple[int, int] | None:
    """The send log's (on time, working days). Months before the first report ever sent are no data:
    the log starts with the first report, and a month before the app was used is not a 0% month."""
    try:
        from ..reports.models import ZoneReportDay
        from ..reports.services import zone_report_kpi
    except ImportError:
        return None
    first = db.session.scalar(select(func.min(ZoneReportDay.report_date)))
    if first is None or first > month.last:
        return 0, 0
    if first > month.first:  # the month the log started: count from its first day
        from ..reports.services import london_today, zone_report_days

        last = min(month.last, london_today(now) - timedelta(days=1))
        counted = zone_report_days(first, last, now) if last >= first else []
        return sum(1 for d in counted if d.on_time), len(counted)
    return zone_report_kpi(month.year, month.month, now)


def quality_averages(month: Month) -> dict[int, float]:
    """Each staff member evaluated in the month -> their average overall score."""
    rows = db.session.execute(
        select(QualityEvaluation.staff_id, func.avg(QualityEvaluation.overall_score))
        .where(QualityEvaluation.evaluated_on >= month.first, QualityEvaluation.evaluated_on <= month.last)
        .group_by(QualityEvaluation.staff_id))
    return {staff_id: float(avg) for staff_id, avg in rows}


def satisfaction_counts(first: Month, last: Month) -> tuple[int, int]:
    satisfied, total = db.session.execute(
        select(func.coalesce(func.sum(func.cast(SatisfactionResponse.satisfied, Integer)), 0), func.count())
        .where(SatisfactionResponse.responded_on >= first.first,
               SatisfactionResponse.responded_on <= last.last)).one()
    return int(satisfied), int(total)


def pack_due(month: Month) -> datetime:
    """The kpi_pack clock for a month: close of service on the Nth working day of the next month."""
    rules = rules_in_force(month.first)
    return deadline_for(rules, "kpi_pack", datetime(month.year, month.month, 1, 12, 0, tzinfo=LONDON))


def pack_count(month: Month, now: datetime) -> tuple[int, int, str]:
    """1 of 1 when the month's pack was first produced by its due time, 0 of 1 when late or overdue,
    no data while not yet due, or for months before the first pack ever produced (the record starts there)."""
    pack = db.session.scalar(select(KpiPack).where(KpiPack.month == month.first))
    if pack is None or pack.produced_at is None:
        first = db.session.scalar(select(func.min(KpiPack.month)).where(KpiPack.produced_at.is_not(None)))
        if first is None or first > month.first:
            return 0, 0, "Before the first KPI pack was produced"
    due = pack.due_at if pack is not None else pack_due(month)
    if pack is not None and pack.produced_at is not None:
        return (1 if pack.produced_at <= due else 0), 1, ""
    if now > due:
        return 0, 1, "Not produced by its due date"
    return 0, 0, f"Not due until {format_datetime(due)}"


# --- the month's KPIs ---------------------------------------------------------------------------

def month_kpis(month: Month, now: datetime | None = None, names: set[str] | None = None) -> MonthKpis:
    """Every KPI in the rules for a month (annual ones over the financial year to date); `names`
    limits it to some KPIs (a chart needs one KPI's twelve months, not all seven)."""
    now = now or utcnow()
    rules = rules_in_force(month.first)
    start, end = month.bounds
    emergencies = emergencies_between(start, end)
    out = MonthKpis(month=month, emergency=bool(emergencies), emergencies=emergencies)
    calls = None
    for name, kpi in rules.kpis.items():
        if names is not None and name not in names:
            continue
        period_start, emergency = month, bool(emergencies)
        if kpi.measured == "annual":
            period_start = _fy_start(rules, month)
            emergency = bool(emergencies_between(period_start.bounds[0], end)) if period_start != month else emergency
        count: Count | None = None
        if name in (rules.telephony.answered_kpi, rules.telephony.abandoned_kpi):
            calls = calls or call_totals(month)
            part = calls.answered if name == rules.telephony.answered_kpi else calls.abandoned
            count = Count(part, calls.offered, month, month)
        elif name == "permits_issued_on_time":
            count = Count(*permit_counts(month), month, month)
        elif name == "daily_zone_report":
            counted = zone_report_counts(month, now)
            count = Count(*counted, month, month) if counted is not None else Count(
                0, 0, month, month, "The zone report send log is not available")
        elif name == "quality_monitoring":
            count = Count(*quality_count(quality_averages(month), kpi.benchmark_score or 0), month, month)
        elif name == "customer_satisfaction":
            count = Count(*satisfaction_counts(period_start, month), period_start, month)
        elif name == "kpi_pack_on_time":
            num, den, note = pack_count(month, now)
            count = Count(num, den, month, month, note)
        else:
            count = Count(0, 0, period_start, month, "No measure for this KPI yet")
        out.results.append(judge(rules, name, count, emergency))
    return out


def trend_months(end: Month, months: int = 12, now: datetime | None = None,
                 names: set[str] | None = None) -> list[tuple[Month, MonthKpis]]:
    """The months up to and including `end`, each measured once (the last is `end` itself)."""
    now = now or utcnow()
    return [(end.shift(-i), month_kpis(end.shift(-i), now, names)) for i in range(months - 1, -1, -1)]


def trends(end: Month, months: int = 12, now: datetime | None = None, names: set[str] | None = None,
           per_month: list[tuple[Month, MonthKpis]] | None = None) -> dict[str, list[tuple[Month, KpiResult | None]]]:
    """Every KPI's trend at once: each month is measured once, not once per KPI."""
    per_month = per_month or trend_months(end, months, now, names)
    wanted = [r.name for r in per_month[-1][1].results]
    return {name: [(m, mk.get(name)) for m, mk in per_month] for name in wanted}


# --- drill-downs: the items behind a figure -----------------------------------------------------

def late_permits(month: Month, limit: int = 500):
    from ..permits.models import Application

    start, end = month.bounds
    return db.session.execute(
        select(Application.id, Application.reference, Application.kind, Application.documents_complete_at,
               Application.deadline_at, Application.decided_at)
        .where(Application.decided_at >= start, Application.decided_at < end, Application.status == "issued",
               Application.issued_on_time.is_not(True))
        .order_by(Application.decided_at).limit(limit)).all()


def zone_report_misses(month: Month, now: datetime | None = None) -> list | None:
    """Working days of the month (to yesterday) whose report went late or not at all."""
    now = now or utcnow()
    try:
        from ..reports.services import london_today, zone_report_days
    except ImportError:
        return None
    last = min(month.last, london_today(now) - timedelta(days=1))
    if last < month.first:
        return []
    return [d for d in zone_report_days(month.first, last, now) if d.on_time is not True]


def intervals(month: Month, counted: bool | None = None, limit: int = 3000) -> list[CallInterval]:
    start, end = month.bounds
    stmt = select(CallInterval).where(CallInterval.interval_start >= start, CallInterval.interval_start < end)
    if counted is not None:
        stmt = stmt.where(CallInterval.counted.is_(counted))
    return list(db.session.scalars(stmt.order_by(CallInterval.interval_start, CallInterval.queue).limit(limit)))


def evaluations(month: Month) -> list[QualityEvaluation]:
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(QualityEvaluation).options(joinedload(QualityEvaluation.staff), joinedload(QualityEvaluation.evaluator))
        .where(QualityEvaluation.evaluated_on >= month.first, QualityEvaluation.evaluated_on <= month.last)
        .order_by(QualityEvaluation.evaluated_on, QualityEvaluation.id)))


def satisfaction_by_month(first: Month, last: Month) -> list[tuple[str, int, int]]:
    """(YYYY-MM, satisfied, responses) per month of the period: one grouped query."""
    month_expr = func.strftime("%Y-%m", SatisfactionResponse.responded_on) \
        if db.engine.dialect.name == "sqlite" else func.to_char(SatisfactionResponse.responded_on, "YYYY-MM")
    rows = db.session.execute(
        select(month_expr, func.coalesce(func.sum(func.cast(SatisfactionResponse.satisfied, Integer)), 0), func.count())
        .where(SatisfactionResponse.responded_on >= first.first, SatisfactionResponse.responded_on <= last.last)
        .group_by(month_expr).order_by(month_expr))
    return [(key, int(s), int(n)) for key, s, n in rows]
