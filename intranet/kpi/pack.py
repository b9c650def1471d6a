"""The monthly KPI pack: the KPI table and trends, volumes, quality of inputs, cost effectiveness,
complaints and change request summaries, and the SLA's commentary (issues impacting service
provision; proposals for service or process improvement), as a PDF.

Its clock is `kpi_pack` from the rules (close of service on the 10th working day of the next month).
The first production is what `kpi_pack_on_time` judges; distribution emails the PDF to the attendees
of the next service review and records when and to whom.
"""
from __future__ import annotations

import base64
from datetime import datetime

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..pdf import render_pdf
from ..timefmt import format_datetime, utcnow
from . import charts, measures
from .costs import month_costs
from .engine import Month
from .inputs import month_inputs
from .models import KpiPack
from .summaries import changes_summary, complaints_summary
from .volumes import month_volumes


class PackError(ValueError):
    """Why a pack cannot be produced or distributed, in words for the page and the CLI."""


def find_pack(month: Month) -> KpiPack | None:
    return db.session.scalar(select(KpiPack).where(KpiPack.month == month.first))


def pack_for(month: Month) -> KpiPack:
    """The month's pack row, created (in the caller's transaction) with its due time on first use."""
    pack = find_pack(month)
    if pack is None:
        pack = KpiPack(month=month.first, due_at=measures.pack_due(month))
        db.session.add(pack)
        db.session.flush()
    return pack


def packs(limit: int = 36) -> list[KpiPack]:
    return list(db.session.scalars(select(KpiPack).order_by(KpiPack.month.desc()).limit(limit)))


def pack_state(pack: KpiPack | None, due_at: datetime, now: datetime) -> tuple[str, str]:
    """(tag colour, words) for the pack's clock: due, overdue, produced on time, produced late."""
    if pack is None or pack.produced_at is None:
        return ("red", "Overdue") if now > due_at else ("blue", "Due")
    return ("green", "Produced on time") if pack.produced_at <= due_at else ("red", "Produced late")


def save_commentary(actor, month: Month, *, issues: str, proposals: str) -> KpiPack:
    pack = pack_for(month)
    before = pack.audit_view()
    pack.issues, pack.proposals = (issues or "").strip(), (proposals or "").strip()
    audit.record(actor, "kpi_pack_commentary", "kpi_pack", pack.id, before=before, after=pack.audit_view(),
                 summary=f"Commentary for the {month.label} KPI pack saved")
    return pack


def pack_context(month: Month, pack: KpiPack, now: datetime | None = None) -> dict:
    """Everything the PDF shows; charts as PNG data URIs (xhtml2pdf reads them without file access)."""
    now = now or utcnow()
    per_month = measures.trend_months(month, 12, now)
    kpis = per_month[-1][1]
    trends = measures.trends(month, per_month=per_month)
    chart_rows = []
    for result in kpis.results:
        series = charts.series_of(trends[result.name])
        png, _ = charts.chart_png(result.name, result.title, series, result.normal_target, result.direction)
        chart_rows.append({"result": result, "series": series,
                           "alt": charts.alt_text(result.title, series, result.normal_target, result.direction),
                           "src": "data:image/png;base64," + base64.b64encode(png).decode()})
    from ..staffing.live import staffing_table_for_pack  # the pack reports on the staffing model too

    return {"month": month, "pack": pack, "kpis": kpis, "charts": chart_rows, "volumes": month_volumes(month),
            "inputs": month_inputs(month), "costs": month_costs(month), "complaints": complaints_summary(month),
            "changes": changes_summary(month), "now": now,
            "staffing": staffing_table_for_pack(month.first.year, month.first.month)}


def produce(actor, month: Month, now: datetime | None = None) -> KpiPack:
    """Makes the PDF and stores it. The first production sets `produced_at` (what the KPI judges);
    producing again (after a correction) keeps it and records `regenerated_at`."""
    now = now or utcnow()
    if month.first > now.date():
        raise PackError(f"The {month.label} pack cannot be produced before the month starts")
    pack = pack_for(month)
    pdf = render_pdf("kpi/pack_pdf.html", **pack_context(month, pack, now))
    before = pack.audit_view()
    pack.pdf = pdf
    if pack.produced_at is None:
        pack.produced_at = now
        pack.produced_by = getattr(actor, "username", None) or str(actor)
    else:
        pack.regenerated_at = now
    on_time = "on time" if pack.produced_at <= pack.due_at else "late"
    audit.record(actor, "kpi_pack_produced", "kpi_pack", pack.id, before=before, after=pack.audit_view(),
                 summary=f"{month.label} KPI pack produced ({on_time}; due {format_datetime(pack.due_at)})")
    return pack


def distribute(actor, pack: KpiPack, now: datetime | None = None) -> list[str]:
    """Emails the PDF to the attendees of the next service review (sent after the caller commits)."""
    from ..mail import queue_email
    from .reviews import next_review, today_london

    now = now or utcnow()
    if pack.pdf is None:
        raise PackError("Produce the pack before distributing it")
    review = next_review(today_london())
    if review is None:
        raise PackError("There is no service review planned: plan the next meeting first, so the pack "
                        "can go to its attendees")
    people = review.attendee_list
    month = Month.of(pack.month)
    body = (f"The KPI pack for {month.label} is attached, for {review.title} on "
            f"{review.held_on.day} {review.held_on:%B %Y}.\n")
    queue_email([e for _, e in people], f"KPI pack: {month.label}", body,
                attachments=[(f"kpi-pack-{month.key}.pdf", "application/pdf", pack.pdf)],
                related_type="kpi_pack", related_id=str(pack.id))
    before = pack.audit_view()
    pack.distributed_at = now
    pack.distributed_to = ", ".join(f"{n} <{e}>" for n, e in people)
    pack.review_id = review.id
    audit.record(actor, "kpi_pack_distributed", "kpi_pack", pack.id, before=before, after=pack.audit_view(),
                 summary=f"{month.label} KPI pack sent to {len(people)} attendee{'s' if len(people) != 1 else ''}")
    return [e for _, e in people]
