"""Zones, addresses and households: which zone an address is in, and the customer records."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from .. import audit
from ..extensions import db
from ..pagination import prefix_range
from . import numbers
from .models import Address, Customer, Permit, Zone, ZoneStreet

POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


def normalise_postcode(text: str | None) -> str:
    """"ox11aa" -> "OX1 1AA"; anything that is not a UK postcode comes back stripped and upper-cased."""
    compact = re.sub(r"\s+", "", (text or "")).upper()
    match = POSTCODE_RE.match(compact)
    return f"{match.group(1)} {match.group(2)}" if match else compact


def is_postcode(text: str) -> bool:
    return bool(POSTCODE_RE.match(re.sub(r"\s+", "", text or "").upper()))


def street_key(street: str | None) -> str:
    """Street names compared without case, punctuation or doubled spaces ("St. Mary's Rd" stays distinct from "Road")."""
    return re.sub(r"[^A-Z0-9 ]+", "", re.sub(r"\s+", " ", (street or "").upper())).strip()


def name_key(name: str | None) -> str:
    return re.sub(r"\s+", " ", (name or "").strip().lower())


def surname_key(name: str | None) -> str:
    """The last word of the name: staff search "Smith", not "John Smith"."""
    key = name_key(name)
    return key.rsplit(" ", 1)[-1] if key else ""


@dataclass(frozen=True)
class ZoneAnswer:
    zone: Zone | None
    address: Address | None
    reason: str = ""  # why there is no zone, in words for the form


def find_zone(*, postcode: str = "", street: str = "", uprn: str = "") -> ZoneAnswer:
    """The zone for an address: a gazetteer address (by UPRN, or the only one at a postcode) decides
    first, including its exclusion; otherwise the street's zone. No zone is refused with a reason."""
    address = None
    if uprn:
        address = db.session.scalar(select(Address).where(Address.uprn == uprn.strip()))
        if address is None:
            return ZoneAnswer(None, None, f"There is no address with UPRN {uprn.strip()} in the gazetteer")
    postcode = normalise_postcode(postcode)
    skey = street_key(street)
    if address is None and postcode and skey:
        candidates = db.session.scalars(select(Address).where(Address.postcode == postcode,
                                                              Address.street_key == skey).limit(2)).all()
        address = candidates[0] if len(candidates) == 1 else None
    if address is not None:
        if address.excluded:
            return ZoneAnswer(None, address, f"{address.one_line} is excluded from the permit scheme"
                                             f"{': ' + address.exclusion_reason if address.exclusion_reason else ''}")
        zone = address.zone or _street_zone(address.street_key)
        if zone is None or not zone.active:
            return ZoneAnswer(None, address, f"{address.one_line} is not in any controlled parking zone")
        return ZoneAnswer(zone, address)
    zone = _street_zone(skey) if skey else None
    if zone is not None and zone.active:
        return ZoneAnswer(zone, None)
    if skey:
        return ZoneAnswer(None, None, f"{street.strip()} is not in any controlled parking zone")
    if postcode:
        zones = db.session.scalars(select(Zone).join(Address, Address.zone_id == Zone.id)
                                   .where(Address.postcode == postcode, Address.excluded.is_(False),
                                          Zone.active.is_(True)).distinct()).all()
        if len(zones) == 1:
            return ZoneAnswer(zones[0], None)
        if len(zones) > 1:
            return ZoneAnswer(None, None, f"{postcode} covers more than one zone: enter the street")
        return ZoneAnswer(None, None, f"{postcode} is not in any controlled parking zone")
    return ZoneAnswer(None, None, "Enter the postcode or the street")


def _street_zone(skey: str) -> Zone | None:
    if not skey:
        return None
    return db.session.scalar(select(Zone).join(ZoneStreet).where(ZoneStreet.street_key == skey))


def create_customer(actor, *, name: str, address_line1: str, address_line2: str = "", town: str = "",
                    postcode: str, zone: Zone, address: Address | None = None, email: str = "", phone: str = "",
                    preferred_channel: str = "post") -> Customer:
    customer = Customer(reference=numbers.next_reference("customer"), name=name.strip(), name_key=name_key(name),
                        surname_key=surname_key(name),
                        address_line1=address_line1.strip(), address_line2=address_line2.strip(), town=town.strip(),
                        postcode=normalise_postcode(postcode), zone_id=zone.id, address_id=address.id if address else None,
                        email=email.strip(), phone=phone.strip(), preferred_channel=preferred_channel)
    db.session.add(customer)
    db.session.flush()
    audit.record(actor, "customer_created", "customer", customer.id, after=customer.audit_view(),
                 summary=f"Created household record {customer.reference} for {customer.name}")
    return customer


def search_customers(text: str, limit: int = 50) -> list[Customer]:
    """By reference, postcode, permit number or VRM exactly, or name by prefix."""
    text = (text or "").strip()
    if not text:
        return []
    upper = re.sub(r"\s+", "", text).upper()
    conditions = [Customer.reference == upper, prefix_range(Customer.name_key, name_key(text)),
                  prefix_range(Customer.surname_key, name_key(text))]
    if is_postcode(text):
        conditions.append(Customer.postcode == normalise_postcode(text))
    by_permit = select(Permit.customer_id).where(or_(Permit.number == upper, Permit.vrm == upper))
    conditions.append(Customer.id.in_(by_permit))
    return list(db.session.scalars(select(Customer).where(or_(*conditions)).order_by(Customer.name_key).limit(limit)))


# ---------------------------------------------------------------- zones admin
#
# Everything below changes records in the caller's transaction with an audit entry and raises
# CaseworkError (with the form field it belongs to) when a rule of the scheme refuses the change;
# the route commits, so a refused change leaves nothing behind.

ZONE_CODE_RE = re.compile(r"^[A-Z0-9]{1,12}$")


def _refuse(message: str, field: str | None = None):
    from .casework import CaseworkError

    raise CaseworkError(message, field)


@dataclass(frozen=True)
class ZoneSummary:
    zone: Zone
    streets: int
    addresses: int
    excluded: int
    active_permits: int


def zone_summaries() -> list[ZoneSummary]:
    """Every zone with its counts, from four grouped queries whatever the number of zones."""
    zones = db.session.scalars(select(Zone).order_by(Zone.code)).all()

    def counts(stmt) -> dict[int, int]:
        return dict(db.session.execute(stmt).all())

    streets = counts(select(ZoneStreet.zone_id, func.count(ZoneStreet.id)).group_by(ZoneStreet.zone_id))
    addresses = counts(select(Address.zone_id, func.count(Address.id)).where(Address.zone_id.is_not(None))
                       .group_by(Address.zone_id))
    excluded = counts(select(Address.zone_id, func.count(Address.id))
                      .where(Address.zone_id.is_not(None), Address.excluded.is_(True)).group_by(Address.zone_id))
    # Addresses the gazetteer leaves without a zone belong to the zone of their street.
    by_street = select(ZoneStreet.zone_id, func.count(Address.id)).join(
        Address, Address.street_key == ZoneStreet.street_key).where(Address.zone_id.is_(None))
    addresses_by_street = counts(by_street.group_by(ZoneStreet.zone_id))
    excluded_by_street = counts(by_street.where(Address.excluded.is_(True)).group_by(ZoneStreet.zone_id))
    permits = counts(select(Permit.zone_id, func.count(Permit.id)).where(Permit.status == "active")
                     .group_by(Permit.zone_id))
    return [ZoneSummary(z, streets.get(z.id, 0), addresses.get(z.id, 0) + addresses_by_street.get(z.id, 0),
                        excluded.get(z.id, 0) + excluded_by_street.get(z.id, 0), permits.get(z.id, 0))
            for z in zones]


def _in_zone(zone: Zone):
    """Addresses the gazetteer puts in the zone, and those it leaves to their street when the street is the zone's."""
    return or_(Address.zone_id == zone.id,
               and_(Address.zone_id.is_(None),
                    Address.street_key.in_(select(ZoneStreet.street_key).where(ZoneStreet.zone_id == zone.id))))


def street_zone(street: str) -> Zone | None:
    """The zone whose eligible streets include this one, if any."""
    return _street_zone(street_key(street))


def normalise_zone_code(code: str | None) -> str:
    return re.sub(r"\s+", "", code or "").upper()


def _check_zone_code(code: str, zone_id: int | None = None) -> str:
    code = normalise_zone_code(code)
    if not code:
        _refuse("Enter the zone code", "code")
    if not ZONE_CODE_RE.match(code):
        _refuse("Zone code must be letters and numbers only, up to 12, like JR", "code")
    other = db.session.scalar(select(Zone).where(Zone.code == code))
    if other is not None and other.id != zone_id:
        _refuse(f"Zone code {code} is already used by {other.name}", "code")
    return code


def create_zone(actor, *, code: str, name: str, active: bool = True) -> Zone:
    code = _check_zone_code(code)
    if not (name or "").strip():
        _refuse("Enter the zone name", "name")
    zone = Zone(code=code, name=name.strip(), active=active)
    db.session.add(zone)
    db.session.flush()
    audit.record(actor, "zone_created", "zone", zone.id, after=zone.audit_view(),
                 summary=f"Created zone {zone.code} {zone.name}")
    return zone


def update_zone(actor, zone: Zone, *, code: str, name: str, active: bool) -> None:
    """The code may change (e.g. a zone is renamed on the signs); permits keep pointing at the zone row."""
    code = _check_zone_code(code, zone.id)
    if not (name or "").strip():
        _refuse("Enter the zone name", "name")
    before = zone.audit_view()
    zone.code, zone.name, zone.active = code, name.strip(), active
    if before != zone.audit_view():
        audit.record(actor, "zone_updated", "zone", zone.id, before=before, after=zone.audit_view(),
                     summary=f"Changed zone {zone.code}")


def add_street(actor, zone: Zone, street: str) -> ZoneStreet:
    """A street belongs to at most one zone: the refusal names the zone that already has it."""
    street = re.sub(r"\s+", " ", street or "").strip()
    key = street_key(street)
    if not key:
        _refuse("Enter the street name", "street")
    if len(street) > 120:
        _refuse("Street name must be 120 characters or fewer", "street")
    existing = db.session.scalar(select(ZoneStreet).where(ZoneStreet.street_key == key))
    if existing is not None:
        if existing.zone_id == zone.id:
            _refuse(f"{existing.street} is already an eligible street of this zone", "street")
        _refuse(f"{existing.street} is already in zone {existing.zone.code} {existing.zone.name}", "street")
    row = ZoneStreet(zone_id=zone.id, street=street, street_key=key)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "zone_street_added", "zone", zone.id, after={"street": street},
                 summary=f"Added {street} to zone {zone.code}")
    return row


def remove_street(actor, zone: Zone, street_id: int) -> str | None:
    """Removes an eligible street; existing permits stay valid until they end (the zone is on them)."""
    row = db.session.get(ZoneStreet, street_id)
    if row is None or row.zone_id != zone.id:
        return None
    name = row.street
    zone.streets.remove(row)  # delete-orphan: the row goes with it
    audit.record(actor, "zone_street_removed", "zone", zone.id, before={"street": name},
                 summary=f"Removed {name} from zone {zone.code}")
    return name


def set_address_excluded(actor, address: Address, *, excluded: bool, reason: str = "") -> None:
    """Excluding needs a reason: the advisor reads it out to the customer who is refused a permit."""
    reason = re.sub(r"\s+", " ", reason or "").strip()
    if excluded and not reason:
        _refuse("Enter why the address is excluded from the scheme", "reason")
    if len(reason) > 200:
        _refuse("Reason must be 200 characters or fewer", "reason")
    if excluded == address.excluded and (not excluded or reason == address.exclusion_reason):
        return
    before = {"excluded": address.excluded, "exclusion_reason": address.exclusion_reason}
    address.excluded = excluded
    address.exclusion_reason = reason if excluded else ""
    audit.record(actor, "address_excluded" if excluded else "address_included", "address", address.id,
                 before=before, after={"excluded": address.excluded, "exclusion_reason": address.exclusion_reason},
                 summary=(f"Excluded {address.one_line}: {reason}" if excluded
                          else f"Included {address.one_line} in the scheme again"))


@dataclass(frozen=True)
class AddressPage:
    items: list[Address]
    next_after: int | None
    is_first: bool


def zone_addresses(zone: Zone, *, text: str = "", after: int | None = None, per_page: int = 50) -> AddressPage:
    """A page of a zone's gazetteer addresses (keyset on id, so page 200 costs what page 1 costs),
    optionally narrowed to a postcode or a street."""
    stmt = select(Address).where(_in_zone(zone))
    text = (text or "").strip()
    if text:
        if is_postcode(text):
            stmt = stmt.where(Address.postcode == normalise_postcode(text))
        else:
            stmt = stmt.where(Address.street_key.startswith(street_key(text)))
    if after:
        stmt = stmt.where(Address.id > after)
    rows = db.session.scalars(stmt.order_by(Address.id).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    return AddressPage(rows, rows[-1].id if more and rows else None, not after)


def excluded_addresses(zone: Zone) -> list[Address]:
    return list(db.session.scalars(select(Address).where(_in_zone(zone), Address.excluded.is_(True))
                                   .order_by(Address.postcode, Address.line1)))


def addresses_at(postcode: str, limit: int = 200) -> list[Address]:
    """The gazetteer addresses at a postcode, for "pick the address" lists."""
    postcode = normalise_postcode(postcode)
    if not is_postcode(postcode):
        return []
    return list(db.session.scalars(select(Address).where(Address.postcode == postcode)
                                   .options(selectinload(Address.zone))
                                   .order_by(Address.street_key, Address.line1, Address.id).limit(limit)))


# ---------------------------------------------------------------- households

HOUSE_NUMBER_RE = re.compile(r"^\s*(?:(?:flat|apartment|apt|unit|room)\s+[\w-]+\s*,?\s*)?"
                             r"\d+[A-Za-z]?(?:\s*[-/]\s*\d+[A-Za-z]?)?\s*,?\s+", re.IGNORECASE)


def street_from_line(line: str) -> str:
    """ "12 Walton Street" -> "Walton Street"; "Flat 2, 14a Kingston Road" -> "Kingston Road";
    a line without a house number ("Flat 3", "The Old Rectory") gives ""."""
    line = (line or "").strip()
    match = HOUSE_NUMBER_RE.match(line)
    return line[match.end():].strip(" ,") if match else ""


def _street_known(key: str) -> bool:
    if not key:
        return False
    return (db.session.scalar(select(ZoneStreet.id).where(ZoneStreet.street_key == key).limit(1)) is not None
            or db.session.scalar(select(Address.id).where(Address.street_key == key).limit(1)) is not None)


def zone_for_household(*, postcode: str, address_line1: str = "", address_line2: str = "",
                       uprn: str = "") -> ZoneAnswer:
    """The zone for an address as typed on a customer form.

    A chosen gazetteer address (UPRN) decides. Otherwise the gazetteer address at the postcode
    whose first line matches decides (so an excluded address is refused even though its street
    is in a zone); otherwise the street read from the address lines, when the street is one we
    know; otherwise the postcode alone. A street we know that is in no zone is refused, even if
    the postcode also covers zoned streets: eligibility follows the street, not the postcode.
    """
    if uprn:
        return find_zone(uprn=uprn)
    postcode = normalise_postcode(postcode)
    if not postcode:
        return ZoneAnswer(None, None, "Enter the postcode")
    if not is_postcode(postcode):
        return ZoneAnswer(None, None, "Enter a real postcode, like OX2 6DE")
    wanted = street_key(address_line1)
    if wanted:
        matches = [a for a in addresses_at(postcode) if street_key(a.line1) == wanted
                   and (not address_line2.strip() or not a.line2 or street_key(a.line2) == street_key(address_line2))]
        if len(matches) == 1:
            return find_zone(uprn=matches[0].uprn)
    street_refusal = None
    for line in (address_line1, address_line2):
        street = street_from_line(line)
        key = street_key(street)
        if not street or not _street_known(key):
            continue
        zone = _zone_of_street(key, postcode)
        if zone is not None:
            return ZoneAnswer(zone, None)
        street_refusal = street_refusal or ZoneAnswer(None, None, f"{street} is not in any controlled parking zone")
    if street_refusal is not None:
        return street_refusal
    return find_zone(postcode=postcode)


def _zone_of_street(key: str, postcode: str) -> Zone | None:
    """The zone of an eligible street, else the one zone the gazetteer gives that street's addresses at
    the postcode. Not find_zone(postcode, street): that takes the only gazetteer address on the street
    to be the customer's, so "9 East Street" would be answered (and refused) as "3 East Street"."""
    zone = _street_zone(key)
    if zone is not None:
        return zone if zone.active else None
    zones = db.session.scalars(select(Zone).join(Address, Address.zone_id == Zone.id)
                               .where(Address.street_key == key, Address.postcode == postcode,
                                      Zone.active.is_(True)).distinct()).all()
    return zones[0] if len(zones) == 1 else None


def customer_problems(*, name: str, address_line1: str, postcode: str, email: str, preferred_channel: str,
                      uprn: str = "") -> dict[str, str]:
    """Field-by-field problems the form library cannot see (they depend on other fields)."""
    problems: dict[str, str] = {}
    if preferred_channel == "email" and not (email or "").strip():
        problems["email"] = "Enter an email address: the preferred contact channel is email"
    if not uprn:
        if not (address_line1 or "").strip():
            problems["address_line1"] = "Enter address line 1, or choose the address from the gazetteer"
        if not (postcode or "").strip():
            problems["postcode"] = "Enter the postcode"
        elif not is_postcode(postcode):
            problems["postcode"] = "Enter a real postcode, like OX2 6DE"
    return problems


def household_address(*, uprn: str, address_line1: str, address_line2: str, town: str, postcode: str,
                      zone_answer: ZoneAnswer) -> dict:
    """The address to store: a chosen gazetteer address is copied exactly, so letters go where the
    council's address file says; otherwise what was typed."""
    address = zone_answer.address if uprn else None
    if address is not None:
        return {"address_line1": address.line1, "address_line2": address.line2, "town": address.town,
                "postcode": address.postcode, "address": address}
    return {"address_line1": address_line1, "address_line2": address_line2, "town": town,
            "postcode": postcode, "address": zone_answer.address}


def update_customer(actor, customer: Customer, *, name: str, address_line1: str, address_line2: str = "",
                    town: str = "", postcode: str, zone: Zone, address: Address | None = None, email: str = "",
                    phone: str = "", preferred_channel: str = "post") -> bool:
    """Saves the details; the caller has already found the zone (and refused an address in none).
    Returns whether anything changed."""
    before = customer.audit_view()
    customer.name, customer.name_key = name.strip(), name_key(name)
    customer.address_line1, customer.address_line2 = address_line1.strip(), address_line2.strip()
    customer.town, customer.postcode = town.strip(), normalise_postcode(postcode)
    customer.zone_id, customer.address_id = zone.id, address.id if address else None
    customer.email, customer.phone = email.strip(), phone.strip()
    customer.preferred_channel = preferred_channel
    after = customer.audit_view()
    if before == after:
        return False
    moved = before["zone_id"] != after["zone_id"]
    audit.record(actor, "customer_updated", "customer", customer.id, before=before, after=after,
                 summary=f"Updated the household record{' (moved to zone ' + zone.code + ')' if moved else ''}")
    return True


@dataclass(frozen=True)
class SearchResult:
    customers: list[Customer]
    zones: dict[int, Zone]


def search_households(text: str, limit: int = 50) -> SearchResult:
    """search_customers plus the zones of the rows in one more query, so a list never queries per row."""
    customers = search_customers(text, limit)
    zone_ids = {c.zone_id for c in customers}
    zones = {z.id: z for z in db.session.scalars(select(Zone).where(Zone.id.in_(zone_ids)))} if zone_ids else {}
    return SearchResult(customers, zones)


def household_permits(customer_id: int) -> list[Permit]:
    """Active permits first (what the customer is calling about), then the rest, newest first."""
    from sqlalchemy import case

    return list(db.session.scalars(
        select(Permit).where(Permit.customer_id == customer_id).options(selectinload(Permit.zone))
        .order_by(case((Permit.status == "active", 0), else_=1), Permit.valid_to.desc(), Permit.id.desc())))


def household_applications(customer_id: int, limit: int = 100):
    from .models import Application

    return list(db.session.scalars(
        select(Application).where(Application.customer_id == customer_id)
        .order_by(Application.is_open.desc(), Application.received_at.desc(), Application.id.desc()).limit(limit)))
