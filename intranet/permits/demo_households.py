"""Demo zones, eligible streets and gazetteer addresses: six Oxford controlled parking zones.

Built through the same services as real data (create_zone, add_street, the gazetteer import,
set_address_excluded), so the demo obeys every rule and leaves the same audit trail. The street
names are real Oxford streets; UPRNs and postcodes are made up in the right shapes.
"""
from __future__ import annotations

import random

from sqlalchemy import select

from ..extensions import db
from . import gazetteer, households
from .models import Address, Zone

ACTOR = "demo-data"

# code, name, postcode district and sector, streets
DEMO_ZONES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("JR", "Jericho", "OX2 6", ("Walton Street", "Great Clarendon Street", "Cranham Street", "Jericho Street",
                                "Observatory Street", "Cardigan Street", "Canal Street", "Juxon Street")),
    ("SC", "Summertown Central", "OX2 7", ("Middle Way", "Lonsdale Road", "Grove Street", "Oakthorpe Road",
                                           "Portland Road", "Hobson Road", "Beech Croft Road", "Thorncliffe Road")),
    ("HE", "Headington", "OX3 7", ("Lime Walk", "Windmill Road", "Stile Road", "Holyoake Road", "Latimer Road",
                                   "Perrin Street", "Sandfield Road", "Old High Street")),
    ("CW", "Cowley", "OX4 1", ("Magdalen Road", "Bullingdon Road", "Hurst Street", "Leopold Street",
                               "Divinity Road", "Southfield Road", "James Street", "Howard Street")),
    ("IF", "Iffley Fields", "OX4 1", ("Fairacres Road", "Bedford Street", "Chester Street", "Warwick Street",
                                      "Stratford Street", "Argyle Street", "Parker Street", "Daubeny Road")),
    ("OS", "Osney", "OX2 0", ("East Street", "West Street", "North Street", "South Street", "Bridge Street",
                              "Swan Street", "Doyley Road", "Mill Street")),
)
ADDRESSES_PER_STREET = 5  # 8 streets x 5 = 40 gazetteer addresses a zone
# The letters postcode units use in their last two places (never C, I, K, M, O or V).
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
EXCLUSIONS = (
    ("JR", "Car-free development: no resident permits under the planning agreement"),
    ("HE", "Student accommodation: residents not eligible under the zone's order"),
)


def _unit(rng: random.Random, taken: set[str]) -> str:
    while True:
        unit = f"{rng.randint(1, 9)}{rng.choice(UNIT_LETTERS)}{rng.choice(UNIT_LETTERS)}"
        if unit not in taken:
            taken.add(unit)
            return unit


def load_household_demo(rng: random.Random) -> list[Zone]:
    """Adds the demo zones (with their streets, ~40 addresses each and two exclusions) and returns
    all six. Idempotent: zones already present are left as they are, so a second run adds nothing."""
    zones: list[Zone] = []
    records: list[dict] = []
    units_by_sector: dict[str, set[str]] = {}  # two zones may share a sector, never a postcode
    stored = set(db.session.scalars(select(Address.uprn)))
    next_uprn = 100120000000 + rng.randint(0, 99999) * 1000
    for code, name, sector, streets in DEMO_ZONES:
        zone = db.session.scalar(select(Zone).where(Zone.code == code))
        if zone is not None:
            zones.append(zone)
            continue
        zone = households.create_zone(ACTOR, code=code, name=name, active=True)
        zones.append(zone)
        units = units_by_sector.setdefault(sector, set())
        for street in streets:
            households.add_street(ACTOR, zone, street)
            postcode = f"{sector}{_unit(rng, units)}"
            numbers = sorted(rng.sample(range(1, 120), ADDRESSES_PER_STREET))
            for index, number in enumerate(numbers):
                while str(next_uprn) in stored:
                    next_uprn += 1
                stored.add(str(next_uprn))
                # Most rows carry the zone, as the council's extract does; a few leave it to the street.
                records.append({"uprn": str(next_uprn), "address_line1": f"{number} {street}", "address_line2": "",
                                "town": "Oxford", "postcode": postcode, "street": street,
                                "zone": "" if index == 0 and rng.random() < 0.3 else code})
                next_uprn += rng.randint(1, 7)
    if records:
        gazetteer.import_records(ACTOR, records, source="demo gazetteer")
        for code, reason in EXCLUSIONS:
            zone = next(z for z in zones if z.code == code)
            address = db.session.scalar(select(Address).where(Address.zone_id == zone.id)
                                        .order_by(Address.id.desc()).limit(1))
            if address is not None:
                households.set_address_excluded(ACTOR, address, excluded=True, reason=reason)
    db.session.flush()
    return zones
