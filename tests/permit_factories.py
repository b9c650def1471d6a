"""Test data made through the real services, so a test's permit has the history a real one has.

Use inside an app context (the `app` fixture, or `with live_app.app_context():` in browser tests).
Each helper commits, so the data is visible to requests made afterwards. Nothing here bypasses a
rule: a permit comes from a logged application whose evidence was received and accepted.
"""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from intranet.extensions import db
from intranet.permits import casework, households
from intranet.permits.models import Permit, Zone
from intranet.service_rules import rules_in_force
from intranet.timefmt import LONDON, utcnow

_counter = itertools.count(1)


def make_zone(code: str | None = None, name: str | None = None) -> Zone:
    """A controlled parking zone (added directly: zones are set up by admins, not by casework)."""
    n = next(_counter)
    code = code or f"Z{n}"
    existing = db.session.scalar(db.select(Zone).where(Zone.code == code))
    if existing is not None:
        return existing
    zone = Zone(code=code, name=name or f"Test zone {n}", active=True)
    db.session.add(zone)
    db.session.commit()
    return zone


def make_customer(actor, zone: Zone | None = None, *, name: str | None = None, postcode: str = "OX1 2AB"):
    zone = zone or make_zone()
    customer = households.create_customer(actor, name=name or f"Customer {next(_counter)}",
                                          address_line1=f"{next(_counter)} High Street", town="Oxford",
                                          postcode=postcode, zone=zone)
    db.session.commit()
    return customer


def make_application(actor, customer, *, kind: str = "resident", vrm: str = "AB12CDE", quantity: int = 1,
                     app_type: str = "new", channel: str = "post", received_at: datetime | None = None,
                     renewal_of: Permit | None = None, complete: bool = True, now: datetime | None = None):
    """A logged application; with complete=True every required item of evidence is received and accepted."""
    now = now or utcnow()
    received_at = received_at or now - timedelta(hours=1)
    application = casework.log_application(actor, customer=customer, kind=kind, app_type=app_type, channel=channel,
                                           received_at=received_at, vrm=vrm if kind == "resident" else "",
                                           quantity=quantity, renewal_of=renewal_of, now=now)
    if complete:
        for code in casework.required_evidence(application):
            item = casework.add_evidence(actor, application, evidence_type=code, received_at=received_at, now=now)
            casework.check_evidence(actor, item, accept=True, now=now)
    db.session.commit()
    return application


def issue_permit(actor, customer=None, *, kind: str = "resident", vrm: str = "AB12CDE", quantity: int = 1,
                 payment_reference: str = "PAY-1", now: datetime | None = None, zone: Zone | None = None,
                 valid_from: date | None = None, valid_to: date | None = None) -> Permit:
    """A permit issued by casework.issue. `valid_from`/`valid_to` then set the dates a test needs
    (e.g. a permit that started last spring), as a data fix would: issuing always starts today."""
    customer = customer or make_customer(actor, zone)
    application = make_application(actor, customer, kind=kind, vrm=vrm, quantity=quantity, now=now)
    permits = casework.issue(actor, application, payment_reference=payment_reference, now=now)
    permit = permits[0]
    if valid_from is not None:
        months = rules_in_force(valid_from).permits.resident.validity_months
        permit.valid_from = valid_from
        permit.valid_to = valid_to or casework.add_months(valid_from, months) - timedelta(days=1)
    db.session.commit()
    return permit


def london_noon(day: date) -> datetime:
    """Midday in London on a day: a 'now' that is unambiguous whatever the clocks do."""
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=LONDON)


def fragment_root(html: str) -> str:
    """An htmx fragment without the <title> a failed submit carries (htmx moves it into the page)."""
    import re

    return re.sub(r"^\s*<title>.*?</title>\s*", "", html, flags=re.S).lstrip()
