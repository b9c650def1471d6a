"""Renewals: resident permits coming up to expiry, and starting a renewal application from one.

"Due for renewal" means active, ending within `permits.resident.renewal_window_days` of today, and
with no renewal application already logged (open or issued), so the list shrinks as advisors work
through it. A renewal is an ordinary application (type "renewal") prefilled from the permit: it
goes through the same evidence checks and the same `permit_issue` clock, and on issue the new
permit starts the day after the old one ends (casework.quote).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..service_rules import rules_in_force
from ..timefmt import format_date, utcnow
from . import casework
from .casework import CaseworkError, london_today
from .models import CHANNELS, Application, Permit

PER_PAGE = 25


def window(today: date) -> tuple[date, date]:
    """First and last expiry dates that are due for renewal today."""
    days = rules_in_force(today).permits.resident.renewal_window_days
    return today, today + timedelta(days=days)


def _renewal_logged():
    return exists().where(Application.renewal_of_id == Permit.id,
                          Application.status.notin_(("refused", "withdrawn")))


@dataclass(frozen=True)
class RenewalPage:
    items: list[Permit]
    first: date
    last: date
    next_after: str | None  # "YYYY-MM-DD:id" of the last row when there is another page
    is_first: bool


def due(today: date | None = None, *, zone_id: int | None = None, after: str | None = None,
        per_page: int = PER_PAGE) -> RenewalPage:
    """Permits due for renewal, soonest expiry first; keyset on (valid_to, id) via ix_permit_valid_to."""
    today = today or london_today()
    first, last = window(today)
    stmt = (select(Permit).where(Permit.status == "active", Permit.kind == "resident", Permit.valid_to >= first,
                                 Permit.valid_to <= last, ~_renewal_logged())
            .options(selectinload(Permit.customer), selectinload(Permit.zone)))
    if zone_id:
        stmt = stmt.where(Permit.zone_id == zone_id)
    cursor = _parse_cursor(after)
    if cursor:
        day, last_id = cursor
        stmt = stmt.where(or_(Permit.valid_to > day, and_(Permit.valid_to == day, Permit.id > last_id)))
    rows = list(db.session.scalars(stmt.order_by(Permit.valid_to, Permit.id).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    next_after = f"{rows[-1].valid_to.isoformat()}:{rows[-1].id}" if more and rows else None
    return RenewalPage(rows, first, last, next_after, cursor is None)


def _parse_cursor(text: str | None) -> tuple[date, int] | None:
    try:
        day, last_id = (text or "").split(":")
        return date.fromisoformat(day), int(last_id)
    except ValueError:
        return None


def renewal_of(permit: Permit) -> Application | None:
    """The renewal application already logged for a permit, if any (refused or withdrawn ones do not count)."""
    return db.session.scalar(select(Application).where(Application.renewal_of_id == permit.id,
                                                       Application.status.notin_(("refused", "withdrawn")))
                             .order_by(Application.id.desc()).limit(1))


def start_renewal(actor, permit: Permit, *, channel: str, now: datetime | None = None) -> Application:
    """Logs a renewal application prefilled from the permit (holder, zone, vehicle), received now."""
    now = now or utcnow()
    today = london_today(now)
    if channel not in CHANNELS:
        raise CaseworkError("Select how the customer asked to renew", "channel")
    if permit.kind != "resident":
        raise CaseworkError("Only resident permits are renewed: visitor permits come from the yearly allowance")
    if permit.status != "active":
        raise CaseworkError(f"Permit {permit.number} is {permit.status}: only an active permit can be renewed")
    first, last = window(today)
    if permit.valid_to < first:
        raise CaseworkError(f"Permit {permit.number} expired on {format_date(permit.valid_to)}: "
                            f"log a new application instead")
    if permit.valid_to > last:
        opens = permit.valid_to - (last - first)
        raise CaseworkError(f"Permit {permit.number} is not due for renewal until {format_date(opens)}")
    existing = renewal_of(permit)
    if existing is not None:
        raise CaseworkError(f"A renewal of permit {permit.number} was already logged: application {existing.reference}")
    source = permit.application
    return casework.log_application(
        actor, customer=permit.customer, kind=permit.kind, app_type="renewal", channel=channel, received_at=now,
        vrm=permit.vrm, vehicle_make=source.vehicle_make if source else "",
        vehicle_colour=source.vehicle_colour if source else "", renewal_of=permit, now=now)
