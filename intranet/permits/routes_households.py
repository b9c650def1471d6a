"""Zones and addresses (admin, the gazetteer import, the zone lookup) and household records.

Thin: read the request, call households/gazetteer services, commit once, render or redirect.
Personal data (the household pages) is for CSC staff only; the Parking Team and the Deputy
Director see zones and figures elsewhere, never names and addresses.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import abort, current_app, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import htmx
from ..audit import AuditEntry, entries_for
from ..auth.access import allow
from ..auth.roles import ADMIN, CSC_STAFF, SERVICE_MANAGER, TEAM_LEADER
from ..extensions import db
from ..navigation import register_area
from . import gazetteer, households
from .casework import CaseworkError, london_today, visitor_allowance
from .forms_households import (CustomerForm, CustomerSearchForm, ExclusionForm, ImportForm, LookupForm, StreetForm,
                               ZoneForm)
from .models import KINDS, PERMIT_STATUSES, PREFERRED_CHANNELS, STATUSES, TYPES, Address, Customer, Zone
from .routes import bp

ZONE_VIEWERS = (ADMIN, SERVICE_MANAGER, TEAM_LEADER)
ZONE_EDITORS = (ADMIN, SERVICE_MANAGER)
HOUSEHOLD_STAFF = CSC_STAFF  # advisor, team leader, service lead, service manager: personal data

register_area("Households", "permits.customers", "Find a customer by name, postcode, reference, permit or vehicle; "
                                                 "add a household.")
register_area("Find a zone", "permits.zone_lookup", "Which controlled parking zone an address is in, or why it is in none.")
register_area("Zones", "permits.zones", "Controlled parking zones, their eligible streets and excluded addresses; "
                                        "import the address gazetteer.")


def _get_or_404(model, object_id: int):
    row = db.session.get(model, object_id)
    if row is None:
        abort(404)
    return row


def _field_error(form, error: CaseworkError, default: str) -> None:
    field = getattr(form, error.field or default, None) or getattr(form, default)
    field.errors = list(field.errors) + [str(error)]


# ---------------------------------------------------------------- zones

@bp.get("/zones")
@allow(*ZONE_VIEWERS)
def zones():
    return htmx.render("permits/households/zones.html", rows=households.zone_summaries(),
                       can_edit=current_user.has_role(*ZONE_EDITORS))


@bp.route("/zones/new", methods=["GET", "POST"])
@allow(*ZONE_EDITORS)
def new_zone():
    form = ZoneForm()
    if form.validate_on_submit():
        try:
            zone = households.create_zone(current_user, code=form.code.data, name=form.name.data,
                                          active=form.active.data)
        except CaseworkError as error:
            db.session.rollback()
            _field_error(form, error, "code")
        else:
            db.session.commit()
            return htmx.redirect_response(url_for("permits.zone", zone_id=zone.id, created=1))
    return htmx.render("permits/households/zone_form.html", "zone_form", form=form, zone=None)


@bp.route("/zones/<int:zone_id>/edit", methods=["GET", "POST"])
@allow(*ZONE_EDITORS)
def edit_zone(zone_id: int):
    zone = _get_or_404(Zone, zone_id)
    form = ZoneForm(obj=zone) if request.method == "GET" else ZoneForm()
    if form.validate_on_submit():
        try:
            households.update_zone(current_user, zone, code=form.code.data, name=form.name.data,
                                   active=form.active.data)
        except CaseworkError as error:
            db.session.rollback()
            _field_error(form, error, "code")
        else:
            db.session.commit()
            return htmx.redirect_response(url_for("permits.zone", zone_id=zone.id, saved=1))
    return htmx.render("permits/households/zone_form.html", "zone_form", form=form, zone=zone)


def _zone_page(zone: Zone, *, street_form: StreetForm | None = None, block: str | None = "addresses"):
    text = (request.args.get("q") or "").strip()[:80]
    page = households.zone_addresses(zone, text=text, after=request.args.get("after", type=int))
    return htmx.render("permits/households/zone.html", block, zone=zone, page=page, q=text,
                       excluded=households.excluded_addresses(zone), form=street_form or StreetForm(),
                       can_edit=current_user.has_role(*ZONE_EDITORS), timeline=entries_for("zone", zone.id),
                       created=request.args.get("created"), saved=request.args.get("saved"),
                       removed=request.args.get("removed"), added=request.args.get("added"))


@bp.get("/zones/<int:zone_id>")
@allow(*ZONE_VIEWERS)
def zone(zone_id: int):
    return _zone_page(_get_or_404(Zone, zone_id))


@bp.post("/zones/<int:zone_id>/streets")
@allow(*ZONE_EDITORS)
def add_zone_street(zone_id: int):
    zone = _get_or_404(Zone, zone_id)
    form = StreetForm()
    if form.validate_on_submit():
        try:
            row = households.add_street(current_user, zone, form.street.data)
        except CaseworkError as error:
            db.session.rollback()
            _field_error(form, error, "street")
        else:
            db.session.commit()
            return htmx.redirect_response(url_for("permits.zone", zone_id=zone.id, added=row.street) + "#streets")
    return _zone_page(zone, street_form=form, block="street_form")


@bp.post("/zones/<int:zone_id>/streets/<int:street_id>/remove")
@allow(*ZONE_EDITORS)
def remove_zone_street(zone_id: int, street_id: int):
    zone = _get_or_404(Zone, zone_id)
    name = households.remove_street(current_user, zone, street_id)
    if name is None:
        abort(404)
    db.session.commit()
    return htmx.redirect_response(url_for("permits.zone", zone_id=zone.id, removed=name) + "#streets")


@bp.get("/addresses/<int:address_id>")
@allow(*ZONE_VIEWERS)
def address(address_id: int):
    return _address_page(_get_or_404(Address, address_id), ExclusionForm())


def _address_page(address: Address, form: ExclusionForm):
    return htmx.render("permits/households/address.html", "exclusion_form", address=address, form=form,
                       zone=address.zone or households.street_zone(address.street),
                       answer=households.find_zone(uprn=address.uprn), can_edit=current_user.has_role(*ZONE_EDITORS),
                       timeline=entries_for("address", address.id), saved=request.args.get("saved"))


@bp.post("/addresses/<int:address_id>/exclusion")
@allow(*ZONE_EDITORS)
def address_exclusion(address_id: int):
    address = _get_or_404(Address, address_id)
    form = ExclusionForm()
    if form.validate_on_submit():
        try:
            households.set_address_excluded(current_user, address, excluded=form.action.data != "include",
                                            reason=form.reason.data or "")
        except CaseworkError as error:
            db.session.rollback()
            _field_error(form, error, "reason")
        else:
            db.session.commit()
            return htmx.redirect_response(url_for("permits.address", address_id=address.id, saved=1))
    return _address_page(address, form)


@bp.route("/addresses/import", methods=["GET", "POST"])
@allow(*ZONE_EDITORS)
def import_addresses():
    form = ImportForm()
    problems: list[gazetteer.LineProblem] = []
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read() if upload and upload.filename else b""
        if not upload or not upload.filename:
            form.file.errors = list(form.file.errors) + ["Select a CSV file"]
        elif not data:
            form.file.errors = list(form.file.errors) + ["The selected file is empty"]
        else:
            try:
                _, entry = gazetteer.import_addresses(current_user, data, replace=form.replace.data,
                                                      source=upload.filename)
            except gazetteer.GazetteerRejected as rejected:
                db.session.rollback()
                problems = rejected.problems
                form.file.errors = list(form.file.errors) + [str(rejected)]
            else:
                db.session.commit()
                return htmx.redirect_response(url_for("permits.import_addresses", done=entry.id))
    summary = None
    done = request.args.get("done", type=int)
    if done:
        entry = db.session.get(AuditEntry, done)
        if entry is not None and entry.action == "addresses_imported":
            summary = gazetteer.ImportSummary.from_dict(entry.after or {})
    return htmx.render("permits/households/import.html", form=form, problems=problems, summary=summary)


# ---------------------------------------------------------------- the zone lookup

@bp.get("/zones/lookup")
@allow(*CSC_STAFF)
def zone_lookup():
    form = LookupForm(request.args)
    form.validate()
    postcode, street = (form.postcode.data or "").strip(), (form.street.data or "").strip()
    uprn = (request.args.get("uprn") or "").strip()[:20]
    # A half-typed postcode ("OX2") is not asked about: the live search would refuse it as in no zone.
    postcode_valid = households.is_postcode(postcode)
    asked = postcode if postcode_valid else ""
    answer = None
    if asked or street or uprn:
        answer = households.find_zone(postcode=asked, street=street, uprn=uprn)
    at_postcode = households.addresses_at(asked) if asked else []
    return htmx.render("permits/households/lookup.html", "lookup_result", form=form, answer=answer,
                       postcode=households.normalise_postcode(postcode), street=street, uprn=uprn,
                       at_postcode=at_postcode, excluded_here=[a for a in at_postcode if a.excluded],
                       postcode_valid=postcode_valid)


# ---------------------------------------------------------------- households

@bp.get("/customers")
@allow(*HOUSEHOLD_STAFF)
def customers():
    form = CustomerSearchForm(request.args)
    form.validate()
    text = (form.q.data or "").strip() if not form.q.errors else ""
    result = households.search_households(text) if text else None
    return htmx.render("permits/households/customers.html", "results", form=form, q=text, result=result)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: an open redirect would let a phishing link borrow our address."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _with_customer(target: str, customer_id: int) -> str:
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "customer_id"]
    query.append(("customer_id", str(customer_id)))
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))


def _address_choices(form: CustomerForm) -> list[Address]:
    at_postcode = households.addresses_at(form.postcode.data or "")
    form.uprn.choices = [("", "Not in the list: type the address below")] + [
        (a.uprn, a.one_line + (" (excluded from the scheme)" if a.excluded else "")) for a in at_postcode]
    return at_postcode


def _check_household(form: CustomerForm):
    """The checks that need the database or several fields, run even when a field is already wrong
    so every problem is shown at once. Returns the zone answer, or None with errors on the fields."""
    uprn = form.uprn.data or ""
    problems = households.customer_problems(
        name=form.name.data or "", address_line1=form.address_line1.data or "", postcode=form.postcode.data or "",
        email=form.email.data or "", preferred_channel=form.preferred_channel.data or "", uprn=uprn)
    if form.preferred_channel.data == "phone" and not (form.phone.data or "").strip():
        problems["phone"] = "Enter a phone number: the preferred contact channel is phone"
    for name, message in problems.items():
        field = getattr(form, name)
        if message not in field.errors:
            field.errors = list(field.errors) + [message]
    if "address_line1" in problems or "postcode" in problems or form.postcode.errors:
        return None
    answer = households.zone_for_household(postcode=form.postcode.data or "",
                                           address_line1=form.address_line1.data or "",
                                           address_line2=form.address_line2.data or "", uprn=uprn)
    if answer.zone is None:
        field = form.uprn if uprn else form.postcode
        field.errors = list(field.errors) + [f"{answer.reason}: a permit can only be issued for an address in a zone"]
        return None
    return answer if not problems else None


def _save_household(form: CustomerForm, customer: Customer | None):
    """Creates or updates the household if every check passes; otherwise None, nothing written."""
    valid = form.validate_on_submit()
    answer = _check_household(form)
    if not valid or answer is None:
        return None
    uprn = form.uprn.data or ""
    address = households.household_address(uprn=uprn, address_line1=form.address_line1.data or "",
                                           address_line2=form.address_line2.data or "", town=form.town.data or "",
                                           postcode=form.postcode.data or "", zone_answer=answer)
    details = dict(name=form.name.data, zone=answer.zone, email=form.email.data or "", phone=form.phone.data or "",
                   preferred_channel=form.preferred_channel.data, **address)
    if customer is None:
        return households.create_customer(current_user, **details)
    households.update_customer(current_user, customer, **details)
    return customer


def _customer_form_page(form: CustomerForm, customer: Customer | None, at_postcode: list[Address], preview=None):
    return htmx.render("permits/households/customer_form.html", "customer_form", form=form, customer=customer,
                       at_postcode=at_postcode, preview=preview)


def _preview(form: CustomerForm):
    """What the zone lookup says about the address so far, shown after "Find addresses"."""
    if not (form.postcode.data or "").strip():
        return None
    return households.zone_for_household(postcode=form.postcode.data, address_line1=form.address_line1.data or "",
                                         address_line2=form.address_line2.data or "", uprn=form.uprn.data or "")


@bp.route("/customers/new", methods=["GET", "POST"])
@allow(*HOUSEHOLD_STAFF)
def new_customer():
    form = CustomerForm()
    if request.method == "GET":
        form.next.data = request.args.get("next")
        form.postcode.data = request.args.get("postcode", "")[:10]
    form.next.data = _safe_next(form.next.data) or ""
    at_postcode = _address_choices(form)
    if request.method == "POST" and form.find.data:
        form.uprn.data = form.uprn.data if any(a.uprn == form.uprn.data for a in at_postcode) else ""
        return _customer_form_page(form, None, at_postcode, _preview(form))
    if request.method == "POST":
        customer = _save_household(form, None)
        if customer is not None:
            db.session.commit()
            target = _safe_next(form.next.data)
            if target:
                return htmx.redirect_response(_with_customer(target, customer.id))
            return htmx.redirect_response(url_for("permits.customer", customer_id=customer.id, created=1))
        db.session.rollback()
    return _customer_form_page(form, None, at_postcode)


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@allow(*HOUSEHOLD_STAFF)
def edit_customer(customer_id: int):
    customer = _get_or_404(Customer, customer_id)
    form = CustomerForm(obj=customer) if request.method == "GET" else CustomerForm()
    if request.method == "GET" and customer.address is not None:
        form.uprn.data = customer.address.uprn
    at_postcode = _address_choices(form)
    if request.method == "POST" and form.find.data:
        form.uprn.data = form.uprn.data if any(a.uprn == form.uprn.data for a in at_postcode) else ""
        return _customer_form_page(form, customer, at_postcode, _preview(form))
    if request.method == "POST":
        if _save_household(form, customer) is not None:
            db.session.commit()
            return htmx.redirect_response(url_for("permits.customer", customer_id=customer.id, saved=1))
        db.session.rollback()
    return _customer_form_page(form, customer, at_postcode)


@bp.get("/customers/<int:customer_id>")
@allow(*HOUSEHOLD_STAFF)
def customer(customer_id: int):
    record = db.session.scalar(select(Customer).where(Customer.id == customer_id))
    if record is None:
        abort(404)
    return htmx.render("permits/households/customer.html", customer=record,
                       permits=households.household_permits(record.id),
                       applications=households.household_applications(record.id),
                       allowance=visitor_allowance(record.id, london_today()),
                       timeline=entries_for("customer", record.id),
                       endpoints=set(current_app.view_functions), kinds=KINDS, types=TYPES, statuses=STATUSES,
                       permit_statuses=PERMIT_STATUSES, channels=PREFERRED_CHANNELS,
                       created=request.args.get("created"), saved=request.args.get("saved"))
