"""Queue, intake, application page, evidence and issuing."""
from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import htmx
from ..audit import entries_for
from ..auth.access import allow
from ..auth.models import User
from ..auth.roles import ADVISOR, CSC_STAFF, SERVICE_LEAD, SERVICE_MANAGER, TEAM_LEADER
from ..dbtx import write_transaction
from ..extensions import db
from ..navigation import register_area
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from ..uploads import UploadError, discard, save_upload, send_upload
from . import casework, households, queue as work_queue
from .casework import CaseworkError
from .forms_casework import (AssignForm, CheckEvidenceForm, CloseForm, CustomerSearchForm, EvidenceForm,
                             IntakeForm, IssueForm, PauseForm, QueueFilterForm, RequestEvidenceForm)
from .models import Application, Customer, EvidenceItem, Permit, Zone
from .routes import bp
from .vrm import check as check_vrm

LEADERS = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER)
register_area("Application queue", "permits.queue",
              "Resident and visitor applications by deadline; take the next one, check evidence, issue permits.")


def _zone_choices():
    return [("", "Any zone")] + [(str(z.id), f"{z.code} – {z.name}")
                                  for z in db.session.scalars(select(Zone).order_by(Zone.code))]


def _staff_choices(blank: str):
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.full_name)).all()
    return [("", blank)] + [(str(u.id), u.full_name) for u in users if u.has_role(*CSC_STAFF)]


def _filters_from(args) -> tuple[work_queue.QueueFilters, QueueFilterForm]:
    form = QueueFilterForm(args)
    form.zone.choices = _zone_choices()
    form.validate()
    kind = args.get("kind") if args.get("kind") in ("resident", "visitor") else "resident"
    app_type = args.get("type") if args.get("type") in ("new", "renewal") else "new"
    zone = form.zone.data if form.zone.data and str(form.zone.data).isdigit() else None
    filters = work_queue.QueueFilters(
        kind=kind, app_type=app_type, status=form.status.data or "", zone_id=int(zone) if zone else None,
        channel=form.channel.data or "", assignee=form.assignee.data or "", sla=form.sla.data or "",
        q=(form.q.data or "").strip(), after=args.get("after", ""))
    return filters, form


@bp.get("/queue")
@allow(*CSC_STAFF)
def queue():
    if work_queue.deadlines_stale():
        db.session.rollback()
        with write_transaction():
            work_queue.ensure_deadlines_current()
            db.session.commit()
    filters, form = _filters_from(request.args)
    now = utcnow()
    page = work_queue.page(filters, current_user.id, now)
    clocks = {a.id: casework.clock_view(a, now) for a in page.items}
    is_leader = current_user.has_role(*LEADERS)
    return htmx.render("permits/queue.html", "queue_results", form=form, filters=filters, page=page, clocks=clocks,
                       counts=work_queue.tab_counts(), tabs=work_queue.TABS, is_leader=is_leader,
                       staff=_staff_choices("Choose someone") if is_leader else [],
                       message=request.args.get("message"))


@bp.post("/queue/take-next")
@allow(*CSC_STAFF)
def take_next():
    filters, _ = _filters_from(request.form)
    application = casework.take_next(current_user, work_queue.filtered(filters, current_user.id, utcnow()))
    db.session.commit()
    if application is None:
        return htmx.redirect_response(url_for("permits.queue", message="nothing", **filters.as_args()))
    return htmx.redirect_response(url_for("permits.application", application_id=application.id))


@bp.post("/queue/reassign")
@allow(*LEADERS)
def reassign():
    ids = [int(x) for x in request.form.getlist("application_id") if x.isdigit()]
    target = request.form.get("assignee", "")
    filters, _ = _filters_from(request.form)
    user = db.session.get(User, int(target)) if target.isdigit() else None
    if not ids or user is None or not user.active:
        return htmx.redirect_response(url_for("permits.queue", message="reassign-invalid", **filters.as_args()))
    for application in db.session.scalars(select(Application).where(Application.id.in_(ids),
                                                                     Application.is_open.is_(True))):
        casework.assign(current_user, application, user.id)
    db.session.commit()
    return htmx.redirect_response(url_for("permits.queue", message="reassigned", **filters.as_args()))


# ------------------------------------------------------------------ intake

def _received_at(date_field, time_field) -> datetime | None:
    if date_field.data is None or getattr(time_field, "parsed", None) is None:
        return None
    hour, minute = time_field.parsed
    return datetime(date_field.data.year, date_field.data.month, date_field.data.day, hour, minute, tzinfo=LONDON)


@bp.route("/applications/new", methods=["GET", "POST"])
@allow(*CSC_STAFF)
def new_application():
    customer_id = request.values.get("customer_id", type=int)
    customer = db.session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        search = CustomerSearchForm(request.args)
        results = households.search_customers(search.q.data or "") if search.q.data else []
        return htmx.render("permits/intake_find.html", "customer_results", search=search, results=results,
                           new_customer_url=_new_customer_url())
    form = IntakeForm()
    duplicates = []
    if request.method == "GET":
        now = utcnow().astimezone(LONDON)
        form.received_date.data = now.date()
        form.received_time.data = f"{now.hour % 12 or 12}:{now:%M}{'am' if now.hour < 12 else 'pm'}"
        form.kind.data = request.args.get("kind") or None
    elif form.validate_on_submit():
        received_at = _received_at(form.received_date, form.received_time)
        vrm = ""
        if form.kind.data == "resident":
            try:
                vrm = check_vrm(form.vrm.data, rules_in_force().permits.vrm_formats)
            except ValueError as exc:
                form.vrm.errors = [str(exc)]
        if not form.errors:
            duplicates = casework.open_duplicates(customer.id, form.kind.data, vrm)
            if duplicates and not form.confirm_duplicate.data:
                form.confirm_duplicate.errors = [
                    f"{customer.name} already has an open {form.kind.data} application "
                    f"({', '.join(d.reference for d in duplicates)}): check it is not a duplicate"]
            else:
                try:
                    application = casework.log_application(
                        current_user, customer=customer, kind=form.kind.data, app_type=form.app_type.data,
                        channel=form.channel.data, received_at=received_at, vrm=vrm,
                        vehicle_make=form.vehicle_make.data or "", vehicle_colour=form.vehicle_colour.data or "",
                        quantity=form.quantity.data or 1)
                except CaseworkError as exc:
                    db.session.rollback()
                    _field_for(form, exc.field, "received_date").errors = [str(exc)]
                else:
                    db.session.commit()
                    return htmx.redirect_response(url_for("permits.application", application_id=application.id,
                                                          logged=1))
    return htmx.render("permits/intake.html", "intake_form", form=form, customer=customer, duplicates=duplicates)


def _field_for(form, name: str | None, default: str):
    """The form field a service's refusal belongs to (services speak of received_at, forms of its date)."""
    name = {"received_at": "received_date"}.get(name or "", name)
    return getattr(form, name or default, None) or getattr(form, default)


def _new_customer_url():
    if "permits.new_customer" in current_app.view_functions:
        return url_for("permits.new_customer", next=url_for("permits.new_application"))
    return None


# ------------------------------------------------------------------ the application page

def _application_or_404(application_id: int) -> Application:
    application = db.session.scalar(
        select(Application).where(Application.id == application_id)
        .options(selectinload(Application.evidence).selectinload(EvidenceItem.checked_by),
                 selectinload(Application.pauses), selectinload(Application.requests)))
    if application is None:
        abort(404)
    return application


def _render_application(application: Application, *, status: int = 200, **forms):
    rules = rules_in_force(application.received_at).permits
    now = utcnow()
    evidence_form = forms.get("evidence_form") or EvidenceForm(formdata=None)
    evidence_form.evidence_type.choices = [(code, label) for code, label in rules.evidence_types.items()]
    if not forms.get("evidence_form"):
        local = now.astimezone(LONDON)
        evidence_form.received_date.data = local.date()
        evidence_form.received_time.data = f"{local.hour % 12 or 12}:{local:%M}{'am' if local.hour < 12 else 'pm'}"
    request_form = forms.get("request_form") or RequestEvidenceForm(formdata=None)
    outstanding = casework.evidence_outstanding(application)
    request_form.items.choices = [(code, rules.evidence_types.get(code, code)) for code in
                                  casework.required_evidence(application)]
    if not forms.get("request_form"):
        request_form.items.data = outstanding
    assign_form = forms.get("assign_form") or AssignForm(formdata=None)
    assign_form.assignee.choices = _staff_choices("Nobody")
    assign_form.assignee.data = str(application.assignee_id or "")
    quote = casework.quote(application, now) if application.status == "ready" else None
    return htmx.render(
        "permits/application.html", "casework", status=status, application=application, rules=rules,
        clock=casework.clock_view(application, now), outstanding=outstanding, quote=quote,
        evidence_form=evidence_form, check_forms=_check_forms(application, forms.get("check_forms", {})),
        request_form=request_form, pause_form=forms.get("pause_form") or PauseForm(formdata=None),
        issue_form=forms.get("issue_form") or IssueForm(formdata=None),
        close_form=forms.get("close_form") or CloseForm(formdata=None), assign_form=assign_form,
        open_pause=casework.open_pause(application), timeline=entries_for("application", application.id),
        is_leader=current_user.has_role(*LEADERS), issue_error=forms.get("issue_error"),
        permits=db.session.scalars(select(Permit).where(Permit.application_id == application.id)
                                   .order_by(Permit.number)).all(),
        message=request.args.get("message") or ("logged" if request.args.get("logged") else None),
        endpoints=set(current_app.view_functions))


def _check_forms(application: Application, given: dict) -> dict:
    return {item.id: given.get(item.id) or CheckEvidenceForm(prefix=f"check{item.id}", formdata=None)
            for item in application.evidence if item.status == "received"}


@bp.get("/applications/<int:application_id>")
@allow(*CSC_STAFF)
def application(application_id: int):
    return _render_application(_application_or_404(application_id))


def _done(application: Application, message: str):
    return htmx.redirect_response(url_for("permits.application", application_id=application.id, message=message))


@bp.post("/applications/<int:application_id>/evidence")
@allow(*CSC_STAFF)
def add_evidence(application_id: int):
    application = _application_or_404(application_id)
    form = EvidenceForm()
    form.evidence_type.choices = list(rules_in_force(application.received_at).permits.evidence_types.items())
    if form.validate_on_submit():
        stored = None
        try:
            upload = request.files.get("scan")
            if upload is not None and upload.filename:
                stored = save_upload(upload)
            casework.add_evidence(current_user, application, evidence_type=form.evidence_type.data,
                                  received_at=_received_at(form.received_date, form.received_time),
                                  description=form.description.data or "", stored=stored)
            db.session.commit()
            return _done(application, "evidence-added")
        except UploadError as exc:
            form.scan.errors = [str(exc)]
        except CaseworkError as exc:
            db.session.rollback()
            discard(stored)
            application = _application_or_404(application_id)
            _field_for(form, exc.field, "received_date").errors = [str(exc)]
    return _render_application(application, evidence_form=form)


@bp.post("/applications/<int:application_id>/evidence/<int:item_id>/check")
@allow(*CSC_STAFF)
def check_evidence(application_id: int, item_id: int):
    application = _application_or_404(application_id)
    item = next((e for e in application.evidence if e.id == item_id), None)
    if item is None:
        abort(404)
    form = CheckEvidenceForm(prefix=f"check{item.id}")
    if form.validate_on_submit():
        try:
            casework.check_evidence(current_user, item, accept=form.outcome.data == "accept",
                                    reason=form.reason.data or "", valid_until=form.valid_until.data)
            db.session.commit()
            return _done(application, "evidence-checked")
        except CaseworkError as exc:
            db.session.rollback()
            application = _application_or_404(application_id)
            _field_for(form, exc.field, "outcome").errors = [str(exc)]
    return _render_application(application, check_forms={item_id: form})


@bp.get("/applications/<int:application_id>/evidence/<int:item_id>/file")
@allow(*CSC_STAFF)
def evidence_file(application_id: int, item_id: int):
    item = db.session.get(EvidenceItem, item_id)
    if item is None or item.application_id != application_id or not item.stored_name:
        abort(404)
    return send_upload(item.stored_name, item.original_name, item.mime_type)


@bp.post("/applications/<int:application_id>/request-evidence")
@allow(*CSC_STAFF)
def request_evidence(application_id: int):
    application = _application_or_404(application_id)
    form = RequestEvidenceForm()
    form.items.choices = [(c, c) for c in casework.required_evidence(application)]
    if form.validate_on_submit():
        if form.method.data == "email" and not application.customer.email:
            form.method.errors = ["The customer has no email address: send a letter, or add their email first"]
        else:
            try:
                casework.request_evidence(current_user, application, method=form.method.data, items=form.items.data,
                                          note=form.note.data or "")
                db.session.commit()
                return _done(application, "evidence-requested")
            except CaseworkError as exc:
                db.session.rollback()
                application = _application_or_404(application_id)
                form.items.errors = [str(exc)]
    return _render_application(application, request_form=form)


@bp.post("/applications/<int:application_id>/pause")
@allow(*CSC_STAFF)
def pause(application_id: int):
    application = _application_or_404(application_id)
    form = PauseForm()
    if form.validate_on_submit():
        try:
            casework.start_pause(current_user, application, form.reason.data)
            db.session.commit()
            return _done(application, "paused")
        except CaseworkError as exc:
            db.session.rollback()
            application = _application_or_404(application_id)
            form.reason.errors = [str(exc)]
    return _render_application(application, pause_form=form)


@bp.post("/applications/<int:application_id>/resume")
@allow(*CSC_STAFF)
def resume(application_id: int):
    application = _application_or_404(application_id)
    try:
        casework.end_pause(current_user, application)
        db.session.commit()
    except CaseworkError:
        db.session.rollback()
    return _done(application, "resumed")


@bp.post("/applications/<int:application_id>/assign")
@allow(*CSC_STAFF)
def assign(application_id: int):
    application = _application_or_404(application_id)
    target = request.form.get("assignee", "")
    if request.form.get("to_me"):
        user_id = current_user.id
    elif current_user.has_role(*LEADERS):
        user = db.session.get(User, int(target)) if target.isdigit() else None
        user_id = user.id if user else None
    else:
        abort(403)
    if application.is_open:
        casework.assign(current_user, application, user_id)
        db.session.commit()
    return _done(application, "assigned")


@bp.post("/applications/<int:application_id>/issue")
@allow(*CSC_STAFF)
def issue(application_id: int):
    application = _application_or_404(application_id)
    form = IssueForm()
    issue_error = None
    if form.validate_on_submit():
        try:
            permits = casework.issue(current_user, application, payment_reference=form.payment_reference.data or "")
            db.session.commit()
            return _done(application, "issued")
        except CaseworkError as exc:
            db.session.rollback()
            application = _application_or_404(application_id)
            if exc.field:
                _field_for(form, exc.field, "payment_reference").errors = [str(exc)]
            else:
                issue_error = str(exc)
    return _render_application(application, issue_form=form, issue_error=issue_error)


@bp.post("/applications/<int:application_id>/close")
@allow(*CSC_STAFF)
def close(application_id: int):
    application = _application_or_404(application_id)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            casework.close_without_permit(current_user, application, outcome=form.outcome.data, reason=form.reason.data)
            db.session.commit()
            return _done(application, form.outcome.data)
        except CaseworkError as exc:
            db.session.rollback()
            application = _application_or_404(application_id)
            form.reason.errors = [str(exc)]
    return _render_application(application, close_form=form)
