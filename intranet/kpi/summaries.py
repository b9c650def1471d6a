"""Other areas' figures for the monthly pack: complaints and change requests.

Each is read through that area's services when it offers a summary, with a safe fallback that says
the summary is not available rather than breaking the pack (areas are installed at different times).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..extensions import db
from .engine import Month


@dataclass
class Summary:
    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    note: str = ""


def _table_exists(name: str) -> bool:
    from sqlalchemy import inspect

    return inspect(db.session.connection()).has_table(name)


def complaints_summary(month: Month) -> Summary:
    """Complaints received in the month by procedure and those still open; from the complaint log."""
    summary = Summary("Complaints")
    try:
        from ..complaints import services as complaint_services

        monthly = getattr(complaint_services, "monthly_summary", None)
        if monthly is not None:
            result = monthly(month.year, month.month)
            if isinstance(result, dict):
                summary.lines = [(str(k), str(v)) for k, v in result.items()]
            else:
                summary.lines = [(str(k), str(v)) for k, v in getattr(result, "lines", [])] or [("Summary", str(result))]
            return summary
        from ..complaints.models import Complaint
    except ImportError:
        summary.note = "Complaints summary not available"
        return summary
    if not _table_exists(Complaint.__tablename__):
        summary.note = "Complaints summary not available"
        return summary
    start, end = month.bounds
    received = dict(db.session.execute(
        select(Complaint.procedure, func.count()).where(Complaint.received_at >= start, Complaint.received_at < end)
        .group_by(Complaint.procedure)).all())
    closed = db.session.scalar(select(func.count()).select_from(Complaint)
                               .where(Complaint.closed_at >= start, Complaint.closed_at < end)) or 0
    still_open = db.session.scalar(select(func.count()).select_from(Complaint)
                                   .where(Complaint.received_at < end, Complaint.status == "open")) or 0
    summary.lines = [("Received in the month", str(sum(received.values())))]
    summary.lines += [(f"  of which {proc.replace('_', ' ')}", str(n)) for proc, n in sorted(received.items())]
    summary.lines += [("Closed in the month", str(closed)), ("Open at the end of the month", str(still_open))]
    return summary


def changes_summary(month: Month) -> Summary:
    """Change requests by status now, those received in the month, and the forward look (agreed and
    scheduled changes by required date)."""
    summary = Summary("Change requests")
    try:
        from ..changes.models import ChangeRequest
        from ..changes.services import STATUS_LABELS
    except ImportError:
        summary.note = "Change request summary not available"
        return summary
    by_status = dict(db.session.execute(select(ChangeRequest.status, func.count())
                                        .where(ChangeRequest.status != "draft").group_by(ChangeRequest.status)).all())
    received = db.session.scalar(select(func.count()).select_from(ChangeRequest).where(
        ChangeRequest.received_on >= month.first, ChangeRequest.received_on <= month.last)) or 0
    summary.lines = [("Received in the month", str(received))]
    summary.lines += [(STATUS_LABELS.get(status, status), str(n)) for status, n in
                      sorted(by_status.items(), key=lambda kv: list(STATUS_LABELS).index(kv[0])
                             if kv[0] in STATUS_LABELS else 99)]
    ahead = db.session.execute(
        select(ChangeRequest.id, ChangeRequest.title, ChangeRequest.required_by)
        .where(ChangeRequest.status.in_(("agreed", "scheduled")), ChangeRequest.required_by >= month.last)
        .order_by(ChangeRequest.required_by, ChangeRequest.id).limit(10)).all()
    summary.lines += [(f"Coming: CR-{cid:04d} {title}", f"required by {when.day} {when:%B %Y}" if when else "")
                      for cid, title, when in ahead]
    return summary
