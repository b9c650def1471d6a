"""The annual complaints performance report, for one financial year.

The year's complaints are those *received* in it (a cohort, so each complaint counts once however
long it runs). For each clock, "due" counts the clocks that were met plus those that fell due
unmet (overdue now, or stopped by escalation or closure after their deadline); a clock that is
still running inside its time, or was stopped early because the complaint moved on, is neither
on time nor late and is shown as "not yet due or not needed". Percentages are of "due".
Every figure is worked out in SQL by GROUP BY, or over the clock rows in one query: no query
per complaint.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import func, select

from ..extensions import db
from ..service_rules import rules_in_force
from ..sla import Rules
from ..timefmt import LONDON, utcnow
from . import ladder
from .models import OUTCOMES, PROCEDURES, Complaint, ComplaintClock, ComplaintStage


@dataclass
class ClockLine:
    name: str
    title: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    pending: int = 0

    @property
    def percent(self) -> float | None:
        return 100.0 * self.on_time / self.due if self.due else None


@dataclass
class AnnualReport:
    year: int  # the year the financial year starts in
    starts: date
    ends: date  # last day
    received: int = 0
    by_procedure: dict[str, int] = field(default_factory=dict)
    by_stage: list[tuple[str, str, str, int]] = field(default_factory=list)  # procedure, step, title, reached
    clocks: list[ClockLine] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    still_open: int = 0
    resolved_locally: int = 0
    escalations: list[tuple[str, str, int]] = field(default_factory=list)  # procedure, title, count
    categories: list[tuple[str, int]] = field(default_factory=list)
    learning: list[tuple[str, str, str]] = field(default_factory=list)  # reference, category, action

    @property
    def title(self) -> str:
        return f"Complaints performance, {self.starts.year}-{str(self.ends.year)[-2:]}"

    @property
    def escalation_total(self) -> int:
        return sum(n for _, _, n in self.escalations)


def year_bounds(year: int, start_month: int) -> tuple[date, date]:
    starts = date(year, start_month, 1)
    following = date(year + 1, start_month, 1)
    return starts, date.fromordinal(following.toordinal() - 1)


def current_year(rules: Rules, today: date | None = None) -> int:
    today = today or utcnow().astimezone(LONDON).date()
    return today.year if today.month >= rules.complaints.report_year_start_month else today.year - 1


def annual_report(year: int, now: datetime | None = None) -> AnnualReport:
    now = now or utcnow()
    starts, ends = year_bounds(year, rules_in_force().complaints.report_year_start_month)
    rules = rules_in_force(ends)  # titles and ladders as they stood at the year's end
    lo = datetime.combine(starts, time(0), LONDON)
    hi = datetime.combine(date.fromordinal(ends.toordinal() + 1), time(0), LONDON)
    cohort = (Complaint.received_at >= lo) & (Complaint.received_at < hi)
    report = AnnualReport(year=year, starts=starts, ends=ends)

    for procedure, n in db.session.execute(select(Complaint.procedure, func.count()).where(cohort)
                                           .group_by(Complaint.procedure)):
        report.by_procedure[procedure] = n
    report.received = sum(report.by_procedure.values())

    reached = dict(((p, s), n) for p, s, n in db.session.execute(
        select(Complaint.procedure, ComplaintStage.step, func.count(func.distinct(Complaint.id)))
        .join(ComplaintStage, ComplaintStage.complaint_id == Complaint.id).where(cohort)
        .group_by(Complaint.procedure, ComplaintStage.step)))
    for procedure in PROCEDURES:
        for s in ladder.handled_rungs(rules, procedure):
            report.by_stage.append((procedure, s.step, s.title, reached.get((procedure, s.step), 0)))

    lines: dict[str, ClockLine] = {}
    order = [c for p in PROCEDURES for s in ladder.handled_rungs(rules, p) for c in s.clocks]
    for name in order:
        lines.setdefault(name, ClockLine(name, rules.clock(name).title))
    # Plain rows, not ORM objects: a year of a busy council is tens of thousands of clocks.
    for name, deadline, completed, stopped in db.session.execute(
            select(ComplaintClock.clock_name, ComplaintClock.deadline_at, ComplaintClock.completed_at,
                   ComplaintClock.stopped_at)
            .join(Complaint, Complaint.id == ComplaintClock.complaint_id).where(cohort)):
        line = lines.setdefault(name, ClockLine(name, name))
        if completed is not None:
            line.due += 1
            if completed <= deadline:
                line.on_time += 1
            else:
                line.late += 1
        elif deadline is not None and (stopped or now) > deadline:
            line.due += 1
            line.late += 1
        else:
            line.pending += 1
    report.clocks = list(lines.values())

    for outcome, n in db.session.execute(select(Complaint.outcome, func.count())
                                         .where(cohort, Complaint.status == "closed").group_by(Complaint.outcome)):
        report.outcomes[outcome] = n
    report.outcomes = {k: report.outcomes.get(k, 0) for k in OUTCOMES}
    report.still_open = db.session.scalar(select(func.count()).where(cohort, Complaint.status == "open")) or 0
    informal = {s.step for p in PROCEDURES for s in ladder.handled_rungs(rules, p) if not ladder.is_formal(s)}
    report.resolved_locally = db.session.scalar(select(func.count()).where(
        cohort, Complaint.status == "closed", Complaint.closed_step.in_(informal), Complaint.stage_number == 1)) or 0

    escalated = dict(((p, s), n) for p, s, n in db.session.execute(
        select(Complaint.procedure, ComplaintStage.step, func.count())
        .join(ComplaintStage, ComplaintStage.complaint_id == Complaint.id)
        .where(cohort, ComplaintStage.number > 1).group_by(Complaint.procedure, ComplaintStage.step)))
    for procedure in PROCEDURES:
        for s in ladder.handled_rungs(rules, procedure):
            if (procedure, s.step) in escalated:
                report.escalations.append((procedure, s.title, escalated[(procedure, s.step)]))

    counts = dict(db.session.execute(select(Complaint.category, func.count()).where(cohort)
                                     .group_by(Complaint.category)).all())
    labels = rules.complaints.categories
    report.categories = [(labels.get(k, k), n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    for cid, category, action in db.session.execute(
            select(Complaint.id, Complaint.category, Complaint.learning_action)
            .where(cohort, Complaint.learning_action != "").order_by(Complaint.received_at, Complaint.id)):
        report.learning.append((f"CMP-{cid:05d}", labels.get(category, category), action))
    return report


def _cell(value) -> str:
    """Spreadsheets run a cell that starts with = + - @ (or tab/CR) as a formula: make it text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: AnnualReport) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    row = lambda *cells: w.writerow([_cell(c) for c in cells])  # noqa: E731
    row("section", "item", "detail", "value", "percent")
    row("year", report.title, f"{report.starts.isoformat()} to {report.ends.isoformat()}", report.received, "")
    for procedure, n in sorted(report.by_procedure.items()):
        row("received_by_procedure", procedure, PROCEDURES.get(procedure, procedure), n, "")
    for procedure, step, title, n in report.by_stage:
        row("reached_stage", f"{procedure}.{step}", title, n, "")
    for line in report.clocks:
        pct = "" if line.percent is None else f"{line.percent:.1f}"
        row("clock_on_time", line.name, line.title, f"{line.on_time}/{line.due}", pct)
        row("clock_late", line.name, line.title, line.late, "")
        row("clock_not_yet_due", line.name, line.title, line.pending, "")
    for outcome, n in report.outcomes.items():
        row("outcome", outcome, OUTCOMES[outcome], n, "")
    row("outcome", "open", "Still open", report.still_open, "")
    row("outcome", "resolved_locally", "Closed at local resolution", report.resolved_locally, "")
    for procedure, title, n in report.escalations:
        row("escalated_to", procedure, title, n, "")
    for label, n in report.categories:
        row("category", label, "", n, "")
    for reference, category, action in report.learning:
        row("learning_action", reference, category, action, "")
    return out.getvalue()
