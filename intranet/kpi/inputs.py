"""Quality of the inputs the CSC receives (the SLA asks for it): what the service users send us.

- Applications complete first time: issued in the month without any request for more evidence.
- Change requests with every required item and the full notice: received in the month.
- System changes notified in advance: changes taking effect in the month, published before the day.

Shown monthly beside the KPIs, without targets (the SLA sets none).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select

from ..extensions import db
from ..service_rules import rules_in_force
from ..timefmt import LONDON
from .engine import Month, percentage


@dataclass(frozen=True)
class InputMeasure:
    name: str
    title: str
    numerator: int
    denominator: int
    note: str = ""

    @property
    def value(self) -> float | None:
        return percentage(self.numerator, self.denominator)


def applications_complete_first_time(month: Month) -> InputMeasure:
    from ..permits.models import Application, EvidenceRequest

    start, end = month.bounds
    asked = exists().where(EvidenceRequest.application_id == Application.id)
    issued, first_time = db.session.execute(
        select(func.count(), func.coalesce(func.sum(func.cast(~asked, db.Integer)), 0))
        .where(Application.decided_at >= start, Application.decided_at < end, Application.status == "issued")).one()
    return InputMeasure("applications_complete", "Applications received complete with the correct documents "
                        "first time", int(first_time), int(issued))


def change_requests_complete(month: Month) -> InputMeasure:
    """Received in the month with every item the rules ask of a requestor, and not short notice."""
    try:
        from ..changes.models import ChangeRequest
        from ..changes.services import checklist
    except ImportError:
        return InputMeasure("change_requests", "Change requests with every required item and the full notice",
                            0, 0, "Change requests not available")
    rules = rules_in_force(month.first)
    notice = rules.clock(rules.changes.notice_clock).describe
    rows = db.session.scalars(select(ChangeRequest).where(
        ChangeRequest.received_on >= month.first, ChangeRequest.received_on <= month.last)).all()
    # checklist() reads attributes only, so this loop makes no query per request.
    good = sum(1 for cr in rows if cr.short_notice is False and all(item.done for item in checklist(cr, rules)))
    return InputMeasure("change_requests", f"Change requests with every required item and {notice}' notice",
                        good, len(rows))


def system_changes_in_advance(month: Month) -> InputMeasure:
    title = "System and database changes notified to the CSC in advance"
    try:
        from ..changes.models import SystemChangeNotice
    except ImportError:
        return InputMeasure("system_changes", title, 0, 0, "System change notices not available")
    rows = db.session.execute(select(SystemChangeNotice.change_on, SystemChangeNotice.published_at).where(
        SystemChangeNotice.change_on >= month.first, SystemChangeNotice.change_on <= month.last)).all()
    ahead = sum(1 for change_on, published in rows if published.astimezone(LONDON).date() < change_on)
    return InputMeasure("system_changes", title, ahead, len(rows))


def month_inputs(month: Month) -> list[InputMeasure]:
    return [applications_complete_first_time(month), change_requests_complete(month), system_changes_in_advance(month)]
