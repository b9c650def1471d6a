"""Builders for casework tests, going through the real services (no rows faked behind their back)."""
from __future__ import annotations

from datetime import datetime, timedelta

from intranet.extensions import db
from intranet.permits import casework, households
from intranet.permits.models import Zone, ZoneStreet
from intranet.timefmt import LONDON, utcnow


def zone(code: str = "JR", name: str = "Jericho", streets=("Walton Street", "Cranham Street")) -> Zone:
    z = Zone(code=code, name=name, active=True)
    db.session.add(z)
    db.session.flush()
    for street in streets:
        db.session.add(ZoneStreet(zone_id=z.id, street=street, street_key=households.street_key(street)))
    db.session.commit()
    return z


def customer(actor, z: Zone, name: str = "Ada Lovelace", email: str = "", postcode: str = "OX2 6AA",
             line1: str = "12 Walton Street"):
    c = households.create_customer(actor, name=name, address_line1=line1, town="Oxford", postcode=postcode,
                                   zone=z, email=email, preferred_channel="email" if email else "post")
    db.session.commit()
    return c


def application(actor, c, *, kind="resident", app_type="new", channel="post", received_at=None, vrm="AB12CDE",
                quantity=1):
    a = casework.log_application(actor, customer=c, kind=kind, app_type=app_type, channel=channel,
                                 received_at=received_at or utcnow() - timedelta(hours=1),
                                 vrm=vrm if kind == "resident" else "", quantity=quantity)
    db.session.commit()
    return a


def complete_evidence(actor, a, received_at=None):
    """Adds and accepts every required item, as an advisor would."""
    for code in casework.required_evidence(a):
        item = casework.add_evidence(actor, a, evidence_type=code, received_at=received_at or a.received_at)
        casework.check_evidence(actor, item, accept=True)
    db.session.commit()
    return a


def ready_application(actor, c, **kwargs):
    return complete_evidence(actor, application(actor, c, **kwargs))


def london(y, mo, d, h=12, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)
