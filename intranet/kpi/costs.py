"""Cost effectiveness (the SLA names it and sets no target): cost per permit issued in a month.

Staffing is the funded posts at their grades' yearly costs (from the rules) spread evenly over the
months; postage and stationery come from the printing area's ledger when it is installed (a hook:
until then they are shown as "not recorded" rather than as zero, which would flatter the figure).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..service_rules import rules_in_force
from .engine import Month


@dataclass(frozen=True)
class CostBreakdown:
    staffing_pence: int
    postage_pence: int | None
    stationery_pence: int | None
    permits_issued: int
    missing_grades: tuple[str, ...] = ()

    @property
    def total_pence(self) -> int:
        return self.staffing_pence + (self.postage_pence or 0) + (self.stationery_pence or 0)

    @property
    def per_permit_pence(self) -> int | None:
        return None if not self.permits_issued else round(self.total_pence / self.permits_issued)


def staffing_cost(month: Month) -> tuple[int, tuple[str, ...]]:
    """A month's share of the funded posts' yearly cost; grades without a cost in the rules are named."""
    staffing = rules_in_force(month.first).staffing
    total, missing = 0.0, []
    for post in staffing.funded:
        cost = staffing.grade_costs_pence.get(post.grade)
        if cost is None:
            missing.append(post.grade)
            continue
        total += post.fte * cost / 12
    return round(total), tuple(missing)


def _table_exists(name: str) -> bool:
    """The printing area's models may be on disk before its migration is: ask the database, so a
    missing table shows as "not recorded" instead of failing (or rolling back) the caller's transaction."""
    from sqlalchemy import inspect

    return inspect(db.session.connection()).has_table(name)


def postage_cost(month: Month) -> int | None:
    """HOOK: the printing area's postage ledger (monthly entries); None while it is not installed."""
    try:
        from ..printing.models import PostageEntry
    except ImportError:
        return None
    if not _table_exists(PostageEntry.__tablename__):
        return None
    return int(db.session.scalar(select(func.coalesce(func.sum(PostageEntry.amount_pence), 0))
                                 .where(PostageEntry.month == month.first)) or 0)


def stationery_cost(month: Month) -> int | None:
    """HOOK: stationery orders placed in the month (charged to the SLA's cost code); None until installed."""
    try:
        from ..printing.models import StationeryOrder
    except ImportError:
        return None
    if not _table_exists(StationeryOrder.__tablename__):
        return None
    return int(db.session.scalar(
        select(func.coalesce(func.sum(StationeryOrder.cost_pence), 0))
        .where(StationeryOrder.ordered_on >= month.first, StationeryOrder.ordered_on <= month.last,
               StationeryOrder.status != "cancelled")) or 0)


def month_costs(month: Month) -> CostBreakdown:
    from ..permits.models import Permit

    start, end = month.bounds
    issued = db.session.scalar(select(func.count()).select_from(Permit)
                               .where(Permit.issued_at >= start, Permit.issued_at < end)) or 0
    staffing, missing = staffing_cost(month)
    return CostBreakdown(staffing, postage_cost(month), stationery_cost(month), int(issued), missing)
