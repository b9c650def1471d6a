"""The service's areas as the navigation and home pages list them.

Roles are not repeated here: an area is shown to a user exactly when its endpoint's own
`allow(...)` declaration admits them, so navigation can never drift from access control.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .auth.access import may_use


@dataclass(frozen=True)
class Area:
    label: str
    endpoint: str
    description: str
    in_navigation: bool = True  # secondary areas are listed on the home page only, to keep the bar short


AREAS: list[Area] = []


def register_area(label: str, endpoint: str, description: str, *, in_navigation: bool = True) -> None:
    if all(a.endpoint != endpoint for a in AREAS):
        AREAS.append(Area(label, endpoint, description, in_navigation))


# The navigation bar, in the order people reach for them: daily casework first, reference and
# administration last. Every other area is listed on the home page only, to keep the bar short.
ORDER = ("permits.queue", "permits.customers", "contacts.enquiries", "printing.index", "complaints.log",
         "reports.zone_report", "kpi.tables", "staffing.model", "changes.register", "permits.enforcement",
         "agreement.sla_page", "admin.users", "permits.zones")


def _rank(area: Area) -> int:
    return ORDER.index(area.endpoint) if area.endpoint in ORDER else len(ORDER)


def in_bar(area: Area) -> bool:
    return area.in_navigation and area.endpoint in ORDER


def areas_for(roles) -> list[Area]:
    views = current_app.view_functions
    visible = [a for a in AREAS if a.endpoint in views and may_use(roles, views[a.endpoint])]
    return sorted(visible, key=_rank)  # stable: unranked areas keep their registration order
