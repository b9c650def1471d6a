"""The advisors' queue: open applications sorted by deadline, filtered and searched from indexes.

Pagination is keyset on (deadline_at, id) so page 50 costs what page 1 costs. SLA status filters
are ranges of the stored deadline: breached = due before now; at risk = due within the at-risk
window (working hours from the rules); on track = later than that.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from ..auth.models import User
from ..extensions import db
from ..pagination import prefix_range
from ..service_rules import base_rules, rules_in_force
from ..sla import calendar_for
from ..timefmt import utcnow
from .households import is_postcode, name_key, normalise_postcode
from .models import Application, Setting

TABS = (("resident", "new"), ("resident", "renewal"), ("visitor", "new"), ("visitor", "renewal"))
SLA_FILTERS = {"on_track": "On track", "at_risk": "At risk", "breached": "Breached"}
PER_PAGE = 25


@dataclass
class QueueFilters:
    kind: str = "resident"
    app_type: str = "new"
    status: str = ""
    zone_id: int | None = None
    channel: str = ""
    assignee: str = ""  # "", "me", "none", or a user id
    sla: str = ""
    q: str = ""
    after: str = ""  # keyset cursor "deadline_epoch:id"

    def as_args(self, **changes) -> dict:
        values = {"kind": self.kind, "type": self.app_type, "status": self.status,
                  "zone": self.zone_id or "", "channel": self.channel, "assignee": self.assignee,
                  "sla": self.sla, "q": self.q}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None)}


def at_risk_until(now: datetime) -> datetime:
    """The instant before which an open deadline counts as at risk (working hours from the rules)."""
    rules = rules_in_force(now)
    cal = calendar_for(rules.calendar)
    return cal.instant_at(cal.position(now) + int(rules.at_risk.working_hours_left * 3600))


def filtered(filters: QueueFilters, actor_id: int, now: datetime, *, with_tab: bool = True):
    stmt = select(Application).where(Application.is_open.is_(True))
    if with_tab:
        stmt = stmt.where(Application.kind == filters.kind, Application.app_type == filters.app_type)
    if filters.status:
        stmt = stmt.where(Application.status == filters.status)
    if filters.zone_id:
        stmt = stmt.where(Application.zone_id == filters.zone_id)
    if filters.channel:
        stmt = stmt.where(Application.channel == filters.channel)
    if filters.assignee == "me":
        stmt = stmt.where(Application.assignee_id == actor_id)
    elif filters.assignee == "none":
        stmt = stmt.where(Application.assignee_id.is_(None))
    elif filters.assignee.isdigit():
        stmt = stmt.where(Application.assignee_id == int(filters.assignee))
    if filters.sla:
        stmt = stmt.where(Application.documents_complete_at.is_not(None))
        risk = at_risk_until(now)
        if filters.sla == "breached":
            stmt = stmt.where(Application.deadline_at < now)
        elif filters.sla == "at_risk":
            stmt = stmt.where(Application.deadline_at >= now, Application.deadline_at < risk)
        elif filters.sla == "on_track":
            stmt = stmt.where(Application.deadline_at >= risk)
    if filters.q:
        stmt = stmt.where(search_condition(filters.q))
    return stmt


def search_condition(text: str):
    """Reference, VRM and postcode exactly or by prefix; names by prefix (all indexed columns)."""
    text = text.strip()
    compact = re.sub(r"\s+", "", text).upper()
    conditions = [prefix_range(Application.reference, compact), prefix_range(Application.vrm, compact)]
    if is_postcode(text):
        conditions.append(Application.postcode == normalise_postcode(text))
    elif re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9]?[A-Z]{0,2}", text.upper()):
        conditions.append(prefix_range(Application.postcode, text.upper().strip()))
    conditions.append(prefix_range(Application.name_key, name_key(text)))
    conditions.append(prefix_range(Application.surname_key, name_key(text)))
    return or_(*conditions)


@dataclass
class QueuePage:
    items: list[Application]
    next_cursor: str | None
    is_first: bool
    counts: dict = field(default_factory=dict)


def _cursor(application: Application) -> str:
    return f"{int(application.deadline_at.timestamp())}:{application.id}"


def page(filters: QueueFilters, actor_id: int, now: datetime | None = None) -> QueuePage:
    now = now or utcnow()
    stmt = filtered(filters, actor_id, now)
    if filters.after and re.fullmatch(r"\d+:\d+", filters.after):
        epoch, last_id = (int(x) for x in filters.after.split(":"))
        from datetime import timezone

        when = datetime.fromtimestamp(epoch, timezone.utc)
        stmt = stmt.where(or_(Application.deadline_at > when,
                              and_(Application.deadline_at == when, Application.id > last_id)))
    rows = db.session.scalars(stmt.order_by(Application.deadline_at, Application.id).limit(PER_PAGE + 1)
                              .options(selectinload(Application.customer), selectinload(Application.zone),
                                       selectinload(Application.assignee).lazyload(User.role_rows),
                                       selectinload(Application.pauses))).all()
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    return QueuePage(rows, _cursor(rows[-1]) if more and rows else None, not filters.after)


def tab_counts() -> dict[tuple[str, str], int]:
    """Open items per tab: one grouped query over the queue index."""
    rows = db.session.execute(select(Application.kind, Application.app_type, func.count())
                              .where(Application.is_open.is_(True))
                              .group_by(Application.kind, Application.app_type)).all()
    counts = {tab: 0 for tab in TABS}
    counts.update({(kind, app_type): n for kind, app_type, n in rows})
    return counts


# ------------------------------------------------ keeping stored deadlines in step with the rules

def rules_fingerprint() -> str:
    raw = base_rules().raw
    relevant = {k: raw.get(k) for k in ("calendar", "clocks", "variations")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def deadlines_stale() -> bool:
    """One primary-key lookup: were the open items' deadlines computed under other rules?"""
    setting = db.session.get(Setting, "deadline_rules")
    return setting is None or setting.value != rules_fingerprint()


def ensure_deadlines_current(now: datetime | None = None) -> int:
    """Recomputes open items' deadlines when the calendar or clock rules changed since last time;
    returns how many items were recomputed (0 when nothing changed)."""
    fingerprint = rules_fingerprint()
    setting = db.session.get(Setting, "deadline_rules")
    if setting is not None and setting.value == fingerprint:
        return 0
    from .casework import compute_deadline

    count = 0
    with db.session.no_autoflush:
        for application in db.session.scalars(select(Application).where(Application.is_open.is_(True))
                                              .options(selectinload(Application.pauses))):
            application.deadline_at = compute_deadline(application, now=now)
            count += 1
    if setting is None:
        db.session.add(Setting(name="deadline_rules", value=fingerprint))
    else:
        setting.value = fingerprint
    return count
