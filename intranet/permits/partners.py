"""Partner agreements: non-residential customers who collect permits by pre-arranged agreement.

The SLA names them ("Thames Valley Police ... who have a pre-arranged agreement with Helen Crozier
to collect visitors permits"); `partners:` in the rules lists them and their agreement owner. The
terms (how many per collection, how many a year, from when to when) are recorded per agreement,
and every collection is checked against them before it is saved: a collection outside the dates,
over the per-collection maximum or over the yearly maximum is refused with the numbers.

"A year" is an agreement year, counted from the agreement's valid-from date (1 April to 31 March
for an agreement starting 1 April), because the yearly maximum is a term of the agreement.

The agreement row is locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
already serialises writers) before the yearly total is read, so two advisors recording at the
same moment cannot together pass the yearly maximum.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import audit
from ..extensions import db
from ..service_rules import rules_in_force
from ..timefmt import LONDON, format_date, utcnow
from .casework import CaseworkError, add_months, london_today
from .models import KINDS, PartnerAgreement, PartnerCollection

PER_PAGE = 25


@dataclass(frozen=True)
class AgreementTerms:
    organisation: str
    contact_name: str
    contact_email: str
    permit_kind: str
    max_per_collection: int | None
    max_per_year: int | None
    owner_name: str
    valid_from: date | None
    valid_to: date | None
    notes: str = ""


def named_partners(on: date | None = None):
    """The partners the rules in force name (organisation, arrangement, agreement owner)."""
    return rules_in_force(on).partners


def _check_terms(terms: AgreementTerms) -> None:
    if not terms.organisation.strip():
        raise CaseworkError("Enter the organisation", "organisation")
    if not terms.contact_name.strip():
        raise CaseworkError("Enter the contact's name", "contact_name")
    if terms.permit_kind not in KINDS:
        raise CaseworkError("Select what kind of permits they collect", "permit_kind")
    if not terms.max_per_collection or terms.max_per_collection < 1:
        raise CaseworkError("Enter the most permits they may collect at one time, 1 or more", "max_per_collection")
    if not terms.max_per_year or terms.max_per_year < 1:
        raise CaseworkError("Enter the most permits they may collect in a year, 1 or more", "max_per_year")
    if terms.max_per_year < terms.max_per_collection:
        raise CaseworkError(f"The yearly maximum ({terms.max_per_year}) cannot be less than the maximum per "
                            f"collection ({terms.max_per_collection})", "max_per_year")
    if not terms.owner_name.strip():
        raise CaseworkError("Enter who owns the agreement at the council", "owner_name")
    if terms.valid_from is None:
        raise CaseworkError("Enter the date the agreement starts", "valid_from")
    if terms.valid_to is None:
        raise CaseworkError("Enter the date the agreement ends", "valid_to")
    if terms.valid_to < terms.valid_from:
        raise CaseworkError("The end date must be the same as or after the start date", "valid_to")


def save_agreement(actor, agreement: PartnerAgreement | None, terms: AgreementTerms) -> PartnerAgreement:
    """Creates or updates an agreement's terms; the audit entry keeps the terms before and after."""
    _check_terms(terms)
    before = agreement.audit_view() if agreement else None
    agreement = agreement or PartnerAgreement()
    agreement.organisation, agreement.contact_name = terms.organisation.strip(), terms.contact_name.strip()
    agreement.contact_email, agreement.permit_kind = terms.contact_email.strip(), terms.permit_kind
    agreement.max_per_collection, agreement.max_per_year = terms.max_per_collection, terms.max_per_year
    agreement.owner_name, agreement.notes = terms.owner_name.strip(), terms.notes.strip()
    agreement.valid_from, agreement.valid_to = terms.valid_from, terms.valid_to
    db.session.add(agreement)
    db.session.flush()
    audit.record(actor, "partner_agreement_updated" if before else "partner_agreement_created", "partner_agreement",
                 agreement.id, before=before, after=agreement.audit_view(),
                 summary=f"{'Changed the terms of' if before else 'Recorded'} the agreement with {agreement.organisation}")
    return agreement


def agreement_year(agreement: PartnerAgreement, on: date) -> tuple[date, date]:
    """The agreement year containing `on`: anniversaries of valid-from (clipped to the agreement)."""
    k = 0
    while add_months(agreement.valid_from, 12 * (k + 1)) <= on:
        k += 1
    start = add_months(agreement.valid_from, 12 * k)
    end = min(add_months(start, 12) - timedelta(days=1), agreement.valid_to)
    return start, end


def collected_between(agreement_id: int, start: date, end: date) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(PartnerCollection.quantity), 0)).where(
        PartnerCollection.agreement_id == agreement_id,
        PartnerCollection.collected_at >= datetime.combine(start, time(), LONDON),
        PartnerCollection.collected_at < datetime.combine(end + timedelta(days=1), time(), LONDON))) or 0


@dataclass(frozen=True)
class YearTotals:
    start: date
    end: date
    collected: int
    allowed: int

    @property
    def remaining(self) -> int:
        return max(self.allowed - self.collected, 0)


def totals(agreement: PartnerAgreement, on: date | None = None) -> YearTotals | None:
    """This agreement year's collections against the yearly maximum (None outside the agreement)."""
    on = on or london_today()
    on = min(max(on, agreement.valid_from), agreement.valid_to)
    start, end = agreement_year(agreement, on)
    return YearTotals(start, end, collected_between(agreement.id, start, end), agreement.max_per_year)


def record_collection(actor, agreement: PartnerAgreement, *, collected_at: datetime | None, quantity: int | None,
                      collected_by: str, note: str = "", now: datetime | None = None) -> PartnerCollection:
    """Records one collection, refusing one the agreement does not allow (and saying which term and the numbers)."""
    now = now or utcnow()
    if collected_at is None:
        raise CaseworkError("Enter the date and time of the collection", "collected_on")
    if collected_at > now + timedelta(minutes=5):
        raise CaseworkError("The collection cannot be in the future", "collected_on")
    if not quantity or quantity < 1:
        raise CaseworkError("Enter how many permits were collected, 1 or more", "quantity")
    if not collected_by.strip():
        raise CaseworkError("Enter the name of the person who collected them", "collected_by")
    db.session.scalar(select(PartnerAgreement.id).where(PartnerAgreement.id == agreement.id).with_for_update())
    day = collected_at.astimezone(LONDON).date()
    if not agreement.valid_from <= day <= agreement.valid_to:
        raise CaseworkError(f"The agreement with {agreement.organisation} runs from {format_date(agreement.valid_from)} "
                            f"to {format_date(agreement.valid_to)}: a collection on {format_date(day)} is outside it",
                            "collected_on")
    if quantity > agreement.max_per_collection:
        raise CaseworkError(f"The agreement allows at most {agreement.max_per_collection} permits per collection: "
                            f"{quantity} is too many", "quantity")
    start, end = agreement_year(agreement, day)
    already = collected_between(agreement.id, start, end)
    if already + quantity > agreement.max_per_year:
        left = max(agreement.max_per_year - already, 0)
        raise CaseworkError(f"The agreement allows {agreement.max_per_year} permits a year and {already} have been "
                            f"collected from {format_date(start)} to {format_date(end)}: {quantity} more would go "
                            f"over; at most {left} can be collected", "quantity")
    collection = PartnerCollection(agreement_id=agreement.id, collected_at=collected_at, quantity=quantity,
                                   collected_by_name=collected_by.strip(), recorded_by_id=actor.id, note=note.strip())
    db.session.add(collection)
    db.session.flush()
    audit.record(actor, "partner_collection_recorded", "partner_agreement", agreement.id,
                 after={"collection_id": collection.id, "collected_at": collected_at, "quantity": quantity,
                        "collected_by": collection.collected_by_name},
                 summary=f"{quantity} {KINDS[agreement.permit_kind].lower()} collected by {collection.collected_by_name}")
    return collection


def agreements() -> list[PartnerAgreement]:
    """Every agreement, current first; a handful at most, so no paging."""
    return list(db.session.scalars(select(PartnerAgreement).order_by(PartnerAgreement.valid_to.desc(),
                                                                     PartnerAgreement.organisation)))


def collections_page(agreement_id: int, before: int | None = None, per_page: int = PER_PAGE):
    """Collections newest first, keyset on id (the agreement_id index narrows it)."""
    from ..pagination import keyset_page

    stmt = (select(PartnerCollection).where(PartnerCollection.agreement_id == agreement_id)
            .options(selectinload(PartnerCollection.recorded_by)))
    return keyset_page(stmt, PartnerCollection.id, before, per_page=per_page)
