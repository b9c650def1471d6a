"""Demo data for `make run`: one user per role, then whatever each area adds."""
from __future__ import annotations

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


def load_demo_data(password: str) -> list[str]:
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
        lines.append("Demo users (username = role, password from DEMO_PASSWORD):")
        lines += [f"  {role:<16} {ROLE_LABELS[role]}" for role in ALL_ROLES]
    else:
        lines.append("Demo users already present; nothing added.")
    db.session.commit()
    return lines
