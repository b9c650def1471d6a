"""The complaint log's pages. Thin: each view reads its form, calls a service and renders; the
rules (who may, what the clocks say, what is refused) live in services.py, clocks.py and ladder.py."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, request, url_for
from flask_login import current_user

from .. import htmx
from ..extensions import db
from ..navigation import register_area
from ..pdf import pdf_response, render_pdf
from ..service_rules import rules_in_force
from ..timefmt import utcnow
from . import clocks as clockwork
from . import ladder, report, services
from .forms import (AcknowledgeForm, AssignForm, CloseForm, EscalateForm, ExtendForm, LogComplaintForm, LogFilterForm,
                    NoteForm, ReopenForm, RespondForm, fill_now, when)
from .models import CHANNELS, OUTCOMES, PROCEDURES, SOURCES, ComplaintDocument, EVENT_KINDS
from .services import HANDLERS, LOGGERS, REPORT_READERS, VIEWERS, ComplaintError
from ..auth.access import allow

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
register_area("Complaints", "complaints.log",
              "Log complaints, acknowledge them on time, escalate up the ladder and close with the agreement.")
register_area("Complaints report", "complaints.report_page",
              "The annual complaints performance report: clocks met on time, outcomes, escalations, learning.",
              in_navigation=False)


@bp.app_context_processor
def _labels():
    return {"complaint_sources": SOURCES, "complaint_channels": CHANNELS, "complaint_outcomes": OUTCOMES,
            "complaint_procedures": PROCEDURES, "complaint_event_kinds": EVENT_KINDS}


def _visible_or_404(complaint_id: int):
    complaint = services.get_visible(current_user, complaint_id)
    if complaint is None:
        abort(404)
    return complaint


def _errors_to(form, errors: dict[str, str], fallback: str) -> None:
    """Puts a service's refusal on the field it names (services speak of received_at, forms of dates)."""
    for key, message in errors.items():
        field = form._fields.get(key) or form._fields.get(fallback)
        field.errors = list(field.errors) + [message]


def _handler_choices(form_field, complaint=None, rules=None, step=None, procedure=None, blank="Select a handler"):
    users = services.handler_choices(rules, step, procedure)
    form_field.choices = [("", blank)] + [(str(u.id), f"{u.full_name} ({', '.join(u.role_labels)})") for u in users]


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------- the log
@bp.get("/")
@allow(*VIEWERS)
def log():
    rules = rules_in_force()
    form = LogFilterForm(request.args)
    form.step.choices = [("", "Any stage")] + [(s.step, s.title) for p in PROCEDURES
                                               for s in ladder.handled_rungs(rules, p)]
    form.category.choices = [("", "Any category")] + list(rules.complaints.categories.items())
    if services.is_handler(current_user):
        form.handler.choices = form.handler.choices[:3] + [
            (str(u.id), u.full_name) for u in services.handler_choices()]
    form.validate()
    values = {k: ((getattr(form, k).data or "") if not getattr(form, k).errors else "")
              for k in ("q", "procedure", "step", "handler", "status", "category", "overdue", "sort")}
    filters = services.LogFilters(**values)
    now = utcnow()
    page = services.log_page(services.log_stmt(current_user, filters, now), filters.sort or "deadline",
                             request.args.get("after"), now)
    # The panel sits outside the results block: an htmx search or filter does not need it.
    panel = services.handler_panel(current_user, now) \
        if services.is_handler(current_user) and not htmx.is_partial() else None
    return htmx.render("complaints/log.html", "results", form=form, page=page, panel=panel, rules=rules,
                       is_handler=services.is_handler(current_user))


@bp.route("/new", methods=["GET", "POST"])
@allow(*LOGGERS)
def new():
    rules = rules_in_force()
    form = LogComplaintForm()
    form.source.choices = list(services.sources_for(current_user).items())
    form.category.choices = [("", "Select a category")] + list(rules.complaints.categories.items())
    procedures = {services.PROCEDURE_OF_SOURCE[s] for s in services.sources_for(current_user)}
    form.step.choices = [(s.step, f"{PROCEDURES[p]}: {s.title}") for p in PROCEDURES if p in procedures
                         for s in ladder.starting_rungs(rules, p)]
    _handler_choices(form.handler, blank="Not yet")
    if request.method == "GET":
        fill_now(form.received_date, form.received_time)
    elif form.validate_on_submit():
        data = services.NewComplaint(
            source=form.source.data, complainant_name=form.complainant_name.data, channel=form.channel.data,
            received_at=when(form.received_date, form.received_time), category=form.category.data,
            summary=form.summary.data, step=form.step.data, organisation=form.organisation.data or "",
            contact_email=form.contact_email.data or "", contact_address=form.contact_address.data or "",
            handler_id=_int(form.handler.data), application_ref=form.application_ref.data or "",
            permit_ref=form.permit_ref.data or "", customer_ref=form.customer_ref.data or "")
        try:
            complaint = services.log_complaint(current_user, data)
            db.session.commit()
        except ComplaintError as exc:
            db.session.rollback()
            _errors_to(form, exc.errors, "summary")
        else:
            return htmx.redirect_response(url_for("complaints.show", complaint_id=complaint.id, done="logged"))
    return htmx.render("complaints/new.html", "complaint_form", form=form, rules=rules)


# ------------------------------------------------------------------------------------- a complaint
def _page_context(complaint, **extra) -> dict:
    rules = services.rules_for(complaint)
    now = utcnow()
    step = ladder.rung(rules, complaint.procedure, complaint.step)
    return dict(complaint=complaint, rules=rules, step=step, now=now,
                clocks=[clockwork.view(rules, c, now) for c in complaint.clocks],
                stage_titles={s.step: s.title for s in ladder.ladder(rules, complaint.procedure)},
                rungs=ladder.handled_rungs(rules, complaint.procedure),
                signpost=ladder.signpost_after(rules, complaint.procedure, complaint.step),
                events=services.timeline(complaint), documents=services.documents(complaint),
                actions=services.next_actions(complaint, current_user), is_handler=services.is_handler(current_user),
                category=rules.complaints.categories.get(complaint.category, complaint.category),
                done=request.args.get("done"), **extra)


@bp.get("/<int:complaint_id>")
@allow(*VIEWERS)
def show(complaint_id: int):
    complaint = _visible_or_404(complaint_id)
    return htmx.render("complaints/complaint.html", "complaint", **_page_context(complaint))


@bp.get("/<int:complaint_id>/documents/<int:document_id>")
@allow(*VIEWERS)
def document(complaint_id: int, document_id: int):
    complaint = _visible_or_404(complaint_id)
    doc = db.session.get(ComplaintDocument, document_id)
    if doc is None or doc.complaint_id != complaint.id:
        abort(404)
    return pdf_response(doc.content, doc.filename)


@bp.get("/<int:complaint_id>/acknowledgement-preview.pdf")
@allow(*HANDLERS)
def acknowledgement_preview(complaint_id: int):
    """The letter as it would go today, to read before sending; nothing is recorded."""
    complaint = _visible_or_404(complaint_id)
    rules = services.rules_for(complaint)
    step = ladder.rung(rules, complaint.procedure, complaint.step)
    pdf = render_pdf("complaints/letter_acknowledgement.html", complaint=complaint, rules=rules, step=step,
                     stage=complaint.current_stage, signed_by=current_user, sent_on=utcnow(), response_clocks=[],
                     category=rules.complaints.categories.get(complaint.category, complaint.category))
    return pdf_response(pdf, f"{complaint.reference}-acknowledgement-preview.pdf")


def _action(complaint_id: int, form, template: str, prepare, perform, done: str, fallback: str):
    """The shape every action page shares: GET shows the form, a valid POST calls the service in
    one transaction and redirects (303), a refusal re-renders with 200 keeping what was typed."""
    complaint = _visible_or_404(complaint_id)
    prepare(complaint, form)
    if request.method == "POST" and form.validate_on_submit():
        try:
            perform(complaint, form)
            db.session.commit()
        except ComplaintError as exc:
            db.session.rollback()
            complaint = _visible_or_404(complaint_id)
            prepare(complaint, form, again=True)
            _errors_to(form, exc.errors, fallback)
        else:
            return htmx.redirect_response(url_for("complaints.show", complaint_id=complaint.id, done=done))
    return htmx.render(template, "action_form", form=form, **_page_context(complaint))


@bp.route("/<int:complaint_id>/acknowledge", methods=["GET", "POST"])
@allow(*HANDLERS)
def acknowledge(complaint_id: int):
    def prepare(complaint, form, again=False):
        if request.method == "GET":
            fill_now(form.sent_date, form.sent_time)
            form.method.data = "email" if complaint.contact_email else "letter"

    def perform(complaint, form):
        services.acknowledge(current_user, complaint, method=form.method.data,
                             sent_at=when(form.sent_date, form.sent_time))

    return _action(complaint_id, AcknowledgeForm(), "complaints/acknowledge.html", prepare, perform,
                   "acknowledged", "method")


@bp.route("/<int:complaint_id>/note", methods=["GET", "POST"])
@allow(*HANDLERS)
def note(complaint_id: int):
    def prepare(complaint, form, again=False):
        if request.method == "GET":
            fill_now(form.occurred_date, form.occurred_time)

    def perform(complaint, form):
        services.add_note(current_user, complaint, kind=form.kind.data, text=form.text.data,
                          occurred_at=when(form.occurred_date, form.occurred_time))

    return _action(complaint_id, NoteForm(), "complaints/note.html", prepare, perform, "noted", "text")


@bp.route("/<int:complaint_id>/respond", methods=["GET", "POST"])
@allow(*HANDLERS)
def respond(complaint_id: int):
    def prepare(complaint, form, again=False):
        if request.method == "GET":
            fill_now(form.occurred_date, form.occurred_time)

    def perform(complaint, form):
        services.respond(current_user, complaint, text=form.text.data,
                         occurred_at=when(form.occurred_date, form.occurred_time), method=form.method.data or "")

    return _action(complaint_id, RespondForm(), "complaints/respond.html", prepare, perform, "responded", "text")


@bp.route("/<int:complaint_id>/extend", methods=["GET", "POST"])
@allow(*HANDLERS)
def extend(complaint_id: int):
    def prepare(complaint, form, again=False):
        rules = services.rules_for(complaint)
        form.clock.choices = [(c.id, f"{rules.clock(c.clock_name).title} (up to {rules.clock(c.clock_name).extension.max_length} "
                                     f"{rules.clock(c.clock_name).unit.replace('_', ' ')})")
                              for c in services.extendable(complaint)]
        if request.method == "GET" and len(form.clock.choices) == 1:
            form.clock.data = form.clock.choices[0][0]

    def perform(complaint, form):
        services.extend(current_user, complaint, clock_id=form.clock.data, length=form.length.data,
                        reason=form.reason.data)

    form = ExtendForm()
    return _action(complaint_id, form, "complaints/extend.html", prepare, perform, "extended", "clock")


@bp.route("/<int:complaint_id>/escalate", methods=["GET", "POST"])
@allow(*HANDLERS)
def escalate(complaint_id: int):
    def prepare(complaint, form, again=False):
        rules = services.rules_for(complaint)
        target = ladder.next_rung(rules, complaint.procedure, complaint.step)
        _handler_choices(form.handler, rules=rules, step=target.step if target else None, procedure=complaint.procedure)
        if request.method == "GET":
            fill_now(form.requested_date, form.requested_time)

    def perform(complaint, form):
        services.escalate(current_user, complaint, reason=form.reason.data, handler_id=_int(form.handler.data),
                          requested_at=when(form.requested_date, form.requested_time))

    return _action(complaint_id, EscalateForm(), "complaints/escalate.html", prepare, perform, "escalated", "reason")


@bp.route("/<int:complaint_id>/assign", methods=["GET", "POST"])
@allow(*HANDLERS)
def assign(complaint_id: int):
    def prepare(complaint, form, again=False):
        rules = services.rules_for(complaint)
        _handler_choices(form.handler, rules=rules, step=complaint.step, procedure=complaint.procedure)
        if request.method == "GET" and complaint.handler_id:
            form.handler.data = str(complaint.handler_id)

    def perform(complaint, form):
        services.assign(current_user, complaint, handler_id=_int(form.handler.data))

    return _action(complaint_id, AssignForm(), "complaints/assign.html", prepare, perform, "assigned", "handler")


@bp.route("/<int:complaint_id>/close", methods=["GET", "POST"])
@allow(*HANDLERS)
def close(complaint_id: int):
    def prepare(complaint, form, again=False):
        if request.method == "GET":
            fill_now(form.closed_date, form.closed_time)

    def perform(complaint, form):
        services.close(current_user, complaint, outcome=form.outcome.data, remedy=form.remedy.data,
                       agreement_text=form.agreement_text.data, learning_action=form.learning_action.data,
                       closed_at=when(form.closed_date, form.closed_time), method=form.method.data or "")

    return _action(complaint_id, CloseForm(), "complaints/close.html", prepare, perform, "closed", "outcome")


@bp.route("/<int:complaint_id>/reopen", methods=["GET", "POST"])
@allow(*HANDLERS)
def reopen(complaint_id: int):
    def perform(complaint, form):
        services.reopen(current_user, complaint, reason=form.reason.data)

    return _action(complaint_id, ReopenForm(), "complaints/reopen.html", lambda c, f, again=False: None, perform,
                   "reopened", "reason")


# ------------------------------------------------------------------------------------- the report
def _report_year() -> int:
    rules = rules_in_force()
    year = request.args.get("year", type=int)
    if year is None:
        return report.current_year(rules)
    this_year = date.today().year
    if not 2000 <= year <= this_year + 1:
        abort(404)
    return year


@bp.get("/report")
@allow(*REPORT_READERS)
def report_page():
    year = _report_year()
    data = report.annual_report(year)
    years = list(range(report.current_year(rules_in_force()), 2015, -1))
    return htmx.render("complaints/report.html", "report", report=data, years=years,
                       procedures=PROCEDURES, outcomes=OUTCOMES)


@bp.get("/report.csv")
@allow(*REPORT_READERS)
def report_csv():
    data = report.annual_report(_report_year())
    response = Response(report.report_csv(data), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="complaints-{data.year}-{data.year + 1}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/report.pdf")
@allow(*REPORT_READERS)
def report_pdf():
    data = report.annual_report(_report_year())
    pdf = render_pdf("complaints/report_pdf.html", report=data, procedures=PROCEDURES, outcomes=OUTCOMES)
    return pdf_response(pdf, f"complaints-{data.year}-{data.year + 1}.pdf")
