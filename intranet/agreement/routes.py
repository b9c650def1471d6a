"""The SLA page, the deadline calculator and business-continuity declarations."""
from __future__ import annotations

from flask import Blueprint, abort, g, request, url_for
from flask_login import current_user

from .. import htmx
from ..auth.access import allow
from ..auth.roles import ALL_ROLES, SERVICE_MANAGER
from ..extensions import db
from ..navigation import register_area
from ..service_rules import base_rules, rules_in_force
from ..sla import calendar_for, explain_deadline
from ..sla.clocks import parse_local_datetime
from ..timefmt import LONDON, utcnow
from . import services
from .forms import DeadlineForm, DeclarationForm, EndDeclarationForm
from .models import EmergencyDeclaration

bp = Blueprint("agreement", __name__, url_prefix="/sla")
register_area("Service level agreement", "agreement.sla_page",
              "The agreement's clocks, targets, escalation ladders and service calendar; work out a deadline.")
register_area("Business continuity", "agreement.continuity",
              "Declare an emergency or period of strategic support, and end it.", in_navigation=False)


def _deadline_form(rules) -> DeadlineForm:
    form = DeadlineForm(request.args)
    form.clock.choices = [(name, f"{clock.title} ({clock.describe})") for name, clock in rules.clocks.items()]
    return form


def _work_out(form: DeadlineForm, rules):
    """Same engine call as `flask sla due`, so the page and the CLI can never disagree."""
    if not request.args or not form.validate():
        return None
    try:
        received = parse_local_datetime(rules, form.received.data)
    except ValueError:
        form.received.errors = list(form.received.errors) + [
            "Enter the date and time as YYYY-MM-DDTHH:MM, for example 2017-03-10T18:00"]
        return None
    return explain_deadline(rules.in_force_on(received.date()), form.clock.data, received)


@bp.get("/")
@allow(*ALL_ROLES)
def sla_page():
    rules = rules_in_force()
    today = utcnow().astimezone(LONDON).date()
    form = _deadline_form(rules)
    explanation = _work_out(form, rules)
    try:
        from ..changes.services import recorded_variations

        recorded = recorded_variations()
    except ImportError:
        recorded = []
    return htmx.render(
        "agreement/sla.html", "deadline_result", rules=rules, base=base_rules(), form=form,
        explanation=explanation, today=today,
        non_working=calendar_for(rules.calendar).next_non_working_weekdays(today, 10),
        emergency=services.active_declaration(), recorded_variations=recorded,
        in_force_ids=set(rules.applied_variations))


@bp.route("/continuity", methods=["GET", "POST"])
@allow(SERVICE_MANAGER)
def continuity():
    rules = rules_in_force()
    form = DeclarationForm()
    form.kind.choices = list(rules.business_continuity.event_kinds.items())
    if form.validate_on_submit():
        now = utcnow()
        starts = ends = None
        try:
            starts = parse_local_datetime(rules, form.starts.data) if form.starts.data else now
        except ValueError:
            form.starts.errors = list(form.starts.errors) + ["Enter the start as YYYY-MM-DDTHH:MM, for example 2026-12-04T09:00"]
        try:
            ends = parse_local_datetime(rules, form.ends.data) if form.ends.data else None
        except ValueError:
            form.ends.errors = list(form.ends.errors) + ["Enter the end as YYYY-MM-DDTHH:MM, for example 2026-12-05T17:00"]
        if starts and ends and ends <= starts:
            form.ends.errors = list(form.ends.errors) + ["The end must be after the start"]
        if not (form.starts.errors or form.ends.errors):
            services.declare(current_user, kind=form.kind.data, starts_at=starts, ends_at=ends, reason=form.reason.data)
            db.session.commit()
            return htmx.redirect_response(url_for("agreement.continuity", declared=1))
    return htmx.render("agreement/continuity.html", "declare_form", form=form, end_form=EndDeclarationForm(),
                       rules=rules, declarations=services.all_declarations(), now=utcnow(),
                       active=services.active_declaration(), declared=request.args.get("declared"),
                       ended=request.args.get("ended"))


@bp.post("/continuity/<int:declaration_id>/end")
@allow(SERVICE_MANAGER)
def end_declaration(declaration_id: int):
    declaration = db.session.get(EmergencyDeclaration, declaration_id)
    if declaration is None:
        abort(404)
    form = EndDeclarationForm()
    if form.validate_on_submit() and declaration.is_active(utcnow()):
        services.end_declaration(current_user, declaration, form.note.data or "")
        db.session.commit()
    return htmx.redirect_response(url_for("agreement.continuity", ended=1))


@bp.app_context_processor
def emergency_banner():
    """Every page shows an active emergency: one small indexed query per page."""
    from flask import has_request_context
    from flask_login import current_user as user

    if not has_request_context() or request.endpoint in (None, "static") or not user.is_authenticated:
        return {}
    # Context processors run for every template rendered, form widgets included: ask once a request.
    if "active_emergency" not in g:
        g.active_emergency = services.active_declaration()
    return {"active_emergency": g.active_emergency}
