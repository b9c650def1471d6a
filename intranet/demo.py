"""Demo data for `make run`: one user per role, then each area's demo records.

Each step is idempotent (it looks before it adds), and the whole refuses to touch a database that
holds real (non-demo) users.
"""
from __future__ import annotations

import random

from sqlalchemy import select

from .auth.models import User
from .auth.roles import ALL_ROLES, ROLE_LABELS
from .extensions import db


class DemoRefused(Exception):
    pass


DEMO_NAMES = {
    "advisor": "Alex Advisor", "team_leader": "Tara Leader", "service_lead": "Sam Lead",
    "service_manager": "Morgan Manager", "parking_team": "Pat Parking", "director": "Dee Director",
    "admin": "Ada Admin",
}
# Extra advisors so the queue, quality monitoring and assignments look like a team of three FTE.
EXTRA_ADVISORS = {"advisor2": "Bea Bennett", "advisor3": "Cal Carter"}


def load_demo_data(password: str, *, history: bool = True, seed: int = 2016) -> list[str]:
    """Idempotent: a second run adds nothing. Never touches a database holding real users."""
    from .auth import services

    users = db.session.scalars(select(User)).all()
    if any(not u.is_demo for u in users):
        raise DemoRefused("refusing to load demo data: this database holds non-demo users")
    lines = []
    if not users:
        for role in ALL_ROLES:
            services.create_user("demo-data", username=role, full_name=DEMO_NAMES[role],
                                 email=f"{role}@example.org", roles=[role], password=password, is_demo=True)
        for username, name in EXTRA_ADVISORS.items():
            services.create_user("demo-data", username=username, full_name=name, email=f"{username}@example.org",
                                 roles=["advisor"], password=password, is_demo=True)
        lines.append("Demo users (username = role, password from DEMO_PASSWORD):")
        lines += [f"  {role:<16} {ROLE_LABELS[role]}" for role in ALL_ROLES]
    else:
        lines.append("Demo users already present.")
    db.session.flush()
    lines += _area_demos(random.Random(seed), history=history)
    db.session.commit()
    return lines


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def _area_demos(rng: random.Random, *, history: bool) -> list[str]:
    from .permits.demo_casework import generate_history
    from .permits.demo_households import load_household_demo
    from .permits.demo_issued import load_partner_demo
    from .permits.models import Application

    lines = []
    zones = load_household_demo(rng)
    lines.append(f"Zones: {', '.join(z.code for z in zones)}")
    lines += load_partner_demo(_user("admin")) or []
    if history and db.session.scalar(select(Application.id).limit(1)) is None:
        staff = [u.id for u in db.session.scalars(select(User).where(User.username.in_(
            ["advisor", "advisor2", "advisor3", "team_leader"])))]
        counts = generate_history(rng, zones, staff)
        lines.append(f"Casework: {counts['applications']} applications from {counts['households']} households "
                     f"over {counts['working_days']} working days")
    from .changes.demo import load_demo as load_changes_demo
    from .complaints.demo import load_complaints_demo
    from .contacts.demo import load_contacts_demo
    from .kpi.demo import load_kpi_demo
    from .printing.demo import load_printing_demo
    from .reports.demo import load_zone_report_demo

    lines += load_changes_demo(_user) or []
    lines += _as_lines(load_contacts_demo(rng, _user), "Enquiries and cash")
    lines += _as_lines(load_complaints_demo(_user), "Complaints")
    lines += _as_lines(load_printing_demo(), "Printing")
    lines += _as_lines(load_zone_report_demo(), "Daily zone report")
    lines += _as_lines(load_kpi_demo(rng), "KPIs")
    return lines


def _as_lines(result, label: str) -> list[str]:
    """Area demo loaders report lines, a count or nothing; the summary shows each the same way."""
    if isinstance(result, (list, tuple)):
        return [str(x) for x in result]
    if result is None:
        return []
    return [f"{label}: {result}"]
