"""Pages for issued permits: the permit page, changes after issue, refunds, renewals, partner
agreements and the enforcement lookup. Thin: read the form, call a service, commit or re-render.

Services refuse with CaseworkError naming the field; the message goes on that field (or on the
submit button when it is about the whole action), the form re-renders with status 200 keeping
what was typed, and nothing is saved (the transaction is rolled back).
"""
from __future__ import annotations

from flask import abort, current_app, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from .. import htmx
from ..audit import entries_for
from ..auth.access import allow
from ..auth.roles import CSC_STAFF, DIRECTOR, PARKING_TEAM, SERVICE_LEAD, SERVICE_MANAGER, TEAM_LEADER
from ..extensions import db
from ..navigation import register_area
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from . import after_issue, enforcement, partners, refunds, renewals
from .casework import CaseworkError, london_today
from .forms_issued import (CancelForm, ChangeVehicleForm, CollectionForm, EnforcementForm, PartnerAgreementForm,
                           RefundDecisionForm, RefundForm, RefundPaidForm, RenewalForm, ReplaceForm)
from .models import CHANNELS, KINDS, PartnerAgreement, Zone
from .routes import bp

PERMIT_READERS = (*CSC_STAFF, DIRECTOR)
PARTNER_MANAGERS = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER)
ENFORCEMENT_USERS = (*CSC_STAFF, DIRECTOR, PARKING_TEAM)

register_area("Renewals", "permits.renewals", "Resident permits coming up to expiry: start their renewal.")
register_area("Refunds", "permits.refunds", "Refunds waiting for a team leader's decision, and refunds to pay.")
register_area("Partner agreements", "permits.partners",
              "Pre-arranged agreements to collect permits (Thames Valley Police) and their collections.")
register_area("Enforcement lookup", "permits.enforcement", "Was a vehicle covered by a permit on a day, in a zone?")


def _add_error(form, exc: CaseworkError, fallback: str = "submit") -> None:
    name = exc.field if exc.field in form._fields else fallback
    field = form._fields[name]
    field.errors = list(field.errors or []) + [str(exc)]
    form._errors = None


def _url_if_exists(endpoint: str, **values) -> str | None:
    """A link to another engineer's page only once it exists (e.g. permits.customer)."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _permit_or_404(permit_id: int):
    permit = after_issue.get_permit(permit_id)
    if permit is None:
        abort(404)
    return permit


def _blocked(check) -> str | None:
    try:
        check()
    except CaseworkError as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------- the permit page

@bp.get("/permits/<int:permit_id>")
@allow(*PERMIT_READERS)
def permit(permit_id: int):
    permit = _permit_or_404(permit_id)
    family = after_issue.family(permit)
    is_staff = current_user.has_role(*CSC_STAFF)
    return htmx.render(
        "permits/issued/permit.html", permit=permit, family=family, timeline=entries_for("permit", permit.id),
        status_text=after_issue.status_text(permit), today=london_today(), is_staff=is_staff,
        customer_url=_url_if_exists("permits.customer", customer_id=permit.customer_id),
        application_url=(_url_if_exists("permits.application", application_id=permit.application_id)
                         if permit.application_id else None),
        refund_blocked=_blocked(lambda: refunds.check_refundable(permit)),
        renewal=renewals.renewal_of(permit) if permit.kind == "resident" else None,
        end_reasons=after_issue.END_REASONS, refund_statuses=refunds.STATUSES,
        refund_colours=refunds.STATUS_COLOURS, done=request.args.get("done"))


def _permit_action(permit_id: int, form, template: str, act, done: str, action_words: str, **extra):
    """The shared shape of change of vehicle, replacement and cancellation."""
    permit = _permit_or_404(permit_id)
    if form.validate_on_submit():
        try:
            result = act(permit, form)
            db.session.commit()
            target = result if result is not None else permit
            return htmx.redirect_response(url_for("permits.permit", permit_id=target.id, done=done))
        except CaseworkError as exc:
            db.session.rollback()
            permit = _permit_or_404(permit_id)
            _add_error(form, exc)
    blocked = _blocked(lambda: after_issue.require_active(permit, action_words))
    return htmx.render(template, "action_form", form=form, permit=permit, blocked=blocked, **extra)


@bp.route("/permits/<int:permit_id>/change-vehicle", methods=["GET", "POST"])
@allow(*CSC_STAFF)
def change_vehicle(permit_id: int):
    return _permit_action(
        permit_id, ChangeVehicleForm(), "permits/issued/change_vehicle.html",
        lambda p, f: after_issue.change_vehicle(current_user, p, f.vrm.data, note=f.note.data or ""),
        "vehicle_changed", "changed")


@bp.route("/permits/<int:permit_id>/replace", methods=["GET", "POST"])
@allow(*CSC_STAFF)
def replace_permit(permit_id: int):
    return _permit_action(
        permit_id, ReplaceForm(), "permits/issued/replace.html",
        lambda p, f: after_issue.replace_lost_stolen(current_user, p, what=f.what.data or "",
                                                     payment_reference=f.payment_reference.data or "",
                                                     note=f.note.data or ""),
        "replaced", "replaced", fee=after_issue.replacement_fee())


@bp.route("/permits/<int:permit_id>/cancel", methods=["GET", "POST"])
@allow(*CSC_STAFF)
def cancel_permit(permit_id: int):
    return _permit_action(
        permit_id, CancelForm(), "permits/issued/cancel.html",
        lambda p, f: after_issue.cancel(current_user, p, reason=f.reason.data or ""), "cancelled", "cancelled")


# ---------------------------------------------------------------- refunds

@bp.route("/permits/<int:permit_id>/refund", methods=["GET", "POST"])
@allow(*CSC_STAFF)
def request_refund(permit_id: int):
    """Two steps on one URL: the details, then the calculation to confirm; only the confirm saves."""
    permit = _permit_or_404(permit_id)
    form = RefundForm()
    if request.method == "GET":
        form.refund_from.data = refunds.default_refund_from(permit)
    calc = None
    if request.method == "POST" and not request.form.get("change") and form.validate_on_submit():
        values = dict(refund_from=form.refund_from.data, reason=form.reason.data or "", amount_pence=form.amount.data)
        try:
            if request.form.get("confirm"):
                refund = refunds.request_refund(current_user, permit, **values)
                db.session.commit()
                return htmx.redirect_response(url_for("permits.refund", refund_id=refund.id, done="requested"))
            calc = refunds.preview(permit, **values)
        except CaseworkError as exc:
            db.session.rollback()
            permit = _permit_or_404(permit_id)
            _add_error(form, exc)
    blocked = _blocked(lambda: refunds.check_refundable(permit))
    return htmx.render("permits/issued/refund_request.html", form=form, permit=permit, calc=calc, blocked=blocked,
                       rules=rules_in_force().permits.refunds)


def _refund_or_404(refund_id: int):
    refund = refunds.get_refund(refund_id)
    if refund is None:
        abort(404)
    return refund


def _refund_page(refund, *, decision_form=None, paid_form=None, block=None):
    return htmx.render(
        "permits/issued/refund.html", block, refund=refund, statuses=refunds.STATUSES,
        colours=refunds.STATUS_COLOURS, decision_form=decision_form or RefundDecisionForm(formdata=None),
        paid_form=paid_form or RefundPaidForm(formdata=None), may_decide=refunds.may_decide(current_user, refund),
        is_decider=current_user.has_role(*refunds.DECIDERS), is_staff=current_user.has_role(*CSC_STAFF),
        timeline=entries_for("refund", refund.id), form=decision_form or paid_form, done=request.args.get("done"))


@bp.get("/permits/refunds/<int:refund_id>")
@allow(*PERMIT_READERS)
def refund(refund_id: int):
    return _refund_page(_refund_or_404(refund_id))


@bp.post("/permits/refunds/<int:refund_id>/decision")
@allow(*refunds.DECIDERS)
def decide_refund(refund_id: int):
    refund = _refund_or_404(refund_id)
    form = RefundDecisionForm()
    if form.validate_on_submit():
        try:
            refunds.decide(current_user, refund, approve=form.decision.data == "approve", note=form.note.data or "")
            db.session.commit()
            return htmx.redirect_response(url_for("permits.refund", refund_id=refund.id, done=form.decision.data))
        except CaseworkError as exc:
            db.session.rollback()
            refund = _refund_or_404(refund_id)
            _add_error(form, exc)
    return _refund_page(refund, decision_form=form, block="decision_form")


@bp.post("/permits/refunds/<int:refund_id>/paid")
@allow(*CSC_STAFF)
def mark_refund_paid(refund_id: int):
    refund = _refund_or_404(refund_id)
    form = RefundPaidForm()
    if form.validate_on_submit():
        try:
            refunds.mark_paid(current_user, refund, payment_reference=form.payment_reference.data or "")
            db.session.commit()
            return htmx.redirect_response(url_for("permits.refund", refund_id=refund.id, done="paid"))
        except CaseworkError as exc:
            db.session.rollback()
            refund = _refund_or_404(refund_id)
            _add_error(form, exc)
    return _refund_page(refund, paid_form=form, block="paid_form")


REFUND_TABS = {"requested": "To decide", "approved": "To pay", "paid": "Paid", "refused": "Refused"}


def _refund_list(status: str, endpoint: str):
    page = refunds.queue(status, request.args.get("after", type=int))
    return htmx.render("permits/issued/refunds.html", "results", page=page, list_status=status, tabs=REFUND_TABS,
                       endpoint=endpoint, statuses=refunds.STATUSES)


@bp.get("/permits/refunds", endpoint="refunds")
@allow(*PERMIT_READERS)
def refunds_list():
    status = request.args.get("status", "requested")
    return _refund_list(status if status in REFUND_TABS else "requested", "permits.refunds")


@bp.get("/permits/refunds/to-pay")
@allow(*CSC_STAFF)
def process_refunds():
    """The "process refunds" queue: approved refunds waiting for the payment to be made and recorded."""
    return _refund_list("approved", "permits.process_refunds")


# ---------------------------------------------------------------- renewals

def _zone_choices(form_field, blank: str) -> None:
    form_field.choices = [("", blank)] + [(str(z.id), f"{z.code}: {z.name}") for z in enforcement.zones()]


@bp.get("/permits/renewals", endpoint="renewals")
@allow(*CSC_STAFF)
def renewals_due():
    zone_id = request.args.get("zone", type=int)
    page = renewals.due(zone_id=zone_id, after=request.args.get("after"))
    return htmx.render("permits/issued/renewals.html", "results", page=page, zones=enforcement.zones(),
                       zone_id=zone_id, channels=CHANNELS,
                       window_days=rules_in_force().permits.resident.renewal_window_days)


@bp.route("/permits/<int:permit_id>/renew", methods=["GET", "POST"])
@allow(*CSC_STAFF)
def start_renewal(permit_id: int):
    permit = _permit_or_404(permit_id)
    form = RenewalForm()
    if form.validate_on_submit():
        try:
            application = renewals.start_renewal(current_user, permit, channel=form.channel.data)
            db.session.commit()
            target = _url_if_exists("permits.application", application_id=application.id)
            return htmx.redirect_response(target or url_for("permits.permit", permit_id=permit.id,
                                                            done="renewal_started"))
        except CaseworkError as exc:
            db.session.rollback()
            permit = _permit_or_404(permit_id)
            _add_error(form, exc)
    return htmx.render("permits/issued/renew.html", "action_form", form=form, permit=permit,
                       existing=renewals.renewal_of(permit))


# ---------------------------------------------------------------- partner agreements

def _agreement_or_404(agreement_id: int) -> PartnerAgreement:
    agreement = db.session.get(PartnerAgreement, agreement_id)
    if agreement is None:
        abort(404)
    return agreement


@bp.get("/partners", endpoint="partners")
@allow(*CSC_STAFF)
def partners_list():
    rows = partners.agreements()
    named = [p for p in partners.named_partners() if all(a.organisation != p.name for a in rows)]
    return htmx.render("permits/issued/partners.html", agreements=[(a, partners.totals(a)) for a in rows],
                       named=named, can_manage=current_user.has_role(*PARTNER_MANAGERS), kinds=KINDS,
                       today=london_today())


def _terms(form: PartnerAgreementForm) -> partners.AgreementTerms:
    return partners.AgreementTerms(
        organisation=form.organisation.data or "", contact_name=form.contact_name.data or "",
        contact_email=form.contact_email.data or "", permit_kind=form.permit_kind.data or "",
        max_per_collection=form.max_per_collection.data, max_per_year=form.max_per_year.data,
        owner_name=form.owner_name.data or "", valid_from=form.valid_from.data, valid_to=form.valid_to.data,
        notes=form.notes.data or "")


def _save_agreement(form, agreement):
    if form.validate_on_submit():
        try:
            agreement = partners.save_agreement(current_user, agreement, _terms(form))
            db.session.commit()
            return htmx.redirect_response(url_for("permits.partner", agreement_id=agreement.id, done="saved"))
        except CaseworkError as exc:
            db.session.rollback()
            _add_error(form, exc)
    return None


@bp.route("/partners/new", methods=["GET", "POST"])
@allow(*PARTNER_MANAGERS)
def new_partner():
    form = PartnerAgreementForm()
    if request.method == "GET":
        named = next((p for p in partners.named_partners() if p.code == request.args.get("partner")), None)
        if named is not None:
            form.organisation.data, form.owner_name.data, form.notes.data = named.name, named.contact, named.arrangement
    response = _save_agreement(form, None)
    if response is not None:
        return response
    return htmx.render("permits/issued/partner_form.html", "agreement_form", form=form, agreement=None,
                       owners=[p.contact for p in partners.named_partners()])


@bp.route("/partners/<int:agreement_id>/edit", methods=["GET", "POST"])
@allow(*PARTNER_MANAGERS)
def edit_partner(agreement_id: int):
    agreement = _agreement_or_404(agreement_id)
    form = PartnerAgreementForm(obj=agreement) if request.method == "GET" else PartnerAgreementForm()
    response = _save_agreement(form, agreement)
    if response is not None:
        return response
    db.session.rollback()
    agreement = _agreement_or_404(agreement_id)
    return htmx.render("permits/issued/partner_form.html", "agreement_form", form=form, agreement=agreement,
                       owners=[p.contact for p in partners.named_partners()])


def _partner_page(agreement, form, block=None):
    return htmx.render(
        "permits/issued/partner.html", block, agreement=agreement, form=form, totals=partners.totals(agreement),
        page=partners.collections_page(agreement.id, request.args.get("before", type=int)), kinds=KINDS,
        can_manage=current_user.has_role(*PARTNER_MANAGERS), timeline=entries_for("partner_agreement", agreement.id),
        done=request.args.get("done"))


@bp.get("/partners/<int:agreement_id>")
@allow(*CSC_STAFF)
def partner(agreement_id: int):
    agreement = _agreement_or_404(agreement_id)
    form = CollectionForm(formdata=None)
    now = utcnow()
    form.collected_on.data = london_today(now)
    form.collected_time.data = now.astimezone(LONDON).time().replace(second=0, microsecond=0)
    return _partner_page(agreement, form)


@bp.post("/partners/<int:agreement_id>/collections")
@allow(*CSC_STAFF)
def record_collection(agreement_id: int):
    agreement = _agreement_or_404(agreement_id)
    form = CollectionForm()
    if form.validate_on_submit():
        try:
            partners.record_collection(current_user, agreement, collected_at=form.collected_at(),
                                       quantity=form.quantity.data, collected_by=form.collected_by.data or "",
                                       note=form.note.data or "")
            db.session.commit()
            return htmx.redirect_response(url_for("permits.partner", agreement_id=agreement.id, done="collected"))
        except CaseworkError as exc:
            db.session.rollback()
            agreement = _agreement_or_404(agreement_id)
            _add_error(form, exc)
    return _partner_page(agreement, form, block="collection_form")


# ---------------------------------------------------------------- enforcement lookup

@bp.get("/enforcement", endpoint="enforcement")
@allow(*ENFORCEMENT_USERS)
def enforcement_lookup():
    form = EnforcementForm(request.args)
    _zone_choices(form.zone, "Any zone")
    answer = None
    if request.args:
        form.validate()
        if not form.errors and (form.vrm.data or "").strip():
            on = form.on.data or london_today()
            zone = db.session.get(Zone, int(form.zone.data)) if (form.zone.data or "").isdigit() else None
            answer = enforcement.lookup(form.vrm.data, on, zone)
    if form.on.data is None and not form.on.errors:
        form.on.data = london_today()
    return htmx.render("permits/issued/enforcement.html", "result", form=form, answer=answer)
