"""The month's volumes for the KPI tables and the pack: applications and permits by kind, calls,
emails and post, refunds. Grouped counts over indexed date columns, one query each."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..extensions import db
from .engine import Month
from .measures import call_totals


@dataclass
class Volumes:
    applications_by_kind: dict[str, int] = field(default_factory=dict)
    applications_by_channel: dict[str, int] = field(default_factory=dict)
    permits_by_kind: dict[str, int] = field(default_factory=dict)
    calls_offered: int = 0
    calls_answered: int = 0
    calls_offered_all_hours: int = 0
    refunds: int = 0
    enquiries: dict[str, int] | None = None  # filled once the enquiries log (issue 9) exists

    @property
    def emails(self) -> int:
        return self.applications_by_channel.get("email", 0)

    @property
    def post(self) -> int:
        return self.applications_by_channel.get("post", 0)


def enquiry_volumes(month: Month) -> dict[str, int] | None:
    """HOOK for issue 9 (contacts): enquiries by channel on the month's London days, from
    `intranet.contacts.enquiries.enquiry_count_by_channel(first, last)`; None while that area is absent."""
    try:
        from ..contacts.enquiries import enquiry_count_by_channel
    except ImportError:
        return None
    return dict(enquiry_count_by_channel(month.first, month.last))


def month_volumes(month: Month) -> Volumes:
    """Applications are counted by the month they were decided (the indexed decision date), permits by
    the month issued, refunds by the month requested, calls over all intervals and the counted ones."""
    from ..permits.models import Application, Permit, Refund

    start, end = month.bounds
    v = Volumes()
    for kind, channel, n in db.session.execute(
            select(Application.kind, Application.channel, func.count())
            .where(Application.decided_at >= start, Application.decided_at < end)
            .group_by(Application.kind, Application.channel)):
        v.applications_by_kind[kind] = v.applications_by_kind.get(kind, 0) + n
        v.applications_by_channel[channel] = v.applications_by_channel.get(channel, 0) + n
    v.permits_by_kind = {kind: n for kind, n in db.session.execute(
        select(Permit.kind, func.count()).where(Permit.issued_at >= start, Permit.issued_at < end)
        .group_by(Permit.kind))}
    counted = call_totals(month)
    v.calls_offered, v.calls_answered = counted.offered, counted.answered
    v.calls_offered_all_hours = call_totals(month, counted_only=False).offered
    v.refunds = db.session.scalar(select(func.count()).select_from(Refund)
                                  .where(Refund.requested_at >= start, Refund.requested_at < end)) or 0
    v.enquiries = enquiry_volumes(month)
    return v
