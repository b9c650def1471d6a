"""Change requests, SLA variations, the review calendar and system change notices. Thin: each view
reads the form, calls a service and renders; the rules live in services.py."""
from __future__ import annotations

import click
from flask import Blueprint, abort, g, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .. import htmx
from ..audit import entries_for
from ..auth.access import allow
from ..auth.roles import CSC_STAFF, PARKING_TEAM
from ..extensions import db
from ..money import format_pence
from ..navigation import register_area
from ..service_rules import rules_in_force
from ..uploads import UploadError, discard, save_upload, send_upload
from . import services
from .forms import (AssessmentForm, ChangeRequestForm, NoticeForm, RegisterFilterForm, SignOffForm, StatusForm,
                    VariationForm)
from .models import CHANNELS, ChangeAttachment, SlaVariation, SystemChangeNotice
from .services import ASSESSORS, SUBMITTERS, VIEWERS

bp = Blueprint("changes", __name__, url_prefix="/changes", cli_group="changes")
register_area("Change requests", "changes.register",
              "Ask the CSC for a change with 12 weeks' notice; assess, sign off and follow changes; the forward look.")
register_area("System change notices", "changes.notices",
              "The Parking Team's notices of database and system changes, and who has read them.")


@bp.app_template_global()
def change_status_tag(status: str) -> dict:
    return {"text": services.STATUS_LABELS.get(status, status),
            "colour": services.STATUS_COLOURS.get(status, "grey")}


@bp.app_template_filter("pence")
def _pence(value):
    return format_pence(value)


def _visible_or_404(request_id: int):
    cr = services.get_visible(current_user, request_id)
    if cr is None:
        abort(404)
    return cr


def _add_errors(form, errors: dict[str, str], fallback: str) -> None:
    for key, message in errors.items():
        field = getattr(form, key, None) if key in form._fields else None
        field = field or getattr(form, fallback)
        field.errors = list(field.errors) + [message]
    form._errors = None


def _request_choices(form: ChangeRequestForm, rules) -> None:
    form.request_type.choices = list(rules.changes.request_types.items())
    form.route.choices = list(rules.changes.routes.items())


def _rules_for(cr):
    return rules_in_force(cr.received_on)


# --- register and forward look ---------------------------------------------------------------
@bp.get("/")
@allow(*VIEWERS)
def register():
    rules = rules_in_force()
    form = RegisterFilterForm(request.args)
    form.route.choices = [("", "Any route")] + list(rules.changes.routes.items())
    form.type.choices = [("", "Any type")] + list(rules.changes.request_types.items())
    form.directorate.choices = [("", "Any directorate")] + [(d, d) for d in services.directorates(current_user)]
    form.validate()
    values = {k: (getattr(form, k).data or "") if not getattr(form, k).errors else ""
              for k in ("q", "status", "route", "type", "directorate", "short_notice", "sort")}
    stmt = services.register_stmt(current_user, q=values["q"], status=values["status"], route=values["route"],
                                  request_type=values["type"], directorate=values["directorate"],
                                  short_notice=values["short_notice"])
    page = services.register_page(stmt, values["sort"] or "newest", request.args.get("after"))
    return htmx.render("changes/register.html", "results", form=form, page=page, rules=rules,
                       can_submit=current_user.has_role(*SUBMITTERS))


@bp.get("/forward-look")
@allow(*VIEWERS)
def forward_look():
    return htmx.render("changes/forward_look.html", "results", look=services.forward_look(current_user),
                       channels=CHANNELS)


# --- a request ---------------------------------------------------------------------------------
def _save_request(form: ChangeRequestForm, cr):
    """Stores the upload first (content-checked), then the database change; either failing undoes both."""
    stored = None
    upload = form.attachment.data
    if upload is not None and getattr(upload, "filename", ""):
        try:
            stored = save_upload(upload)
        except UploadError as exc:
            _add_errors(form, {"attachment": str(exc)}, "attachment")
            return None
    try:
        cr = services.save_request(current_user, cr, form.data_for_service(), submit=bool(form.submit.data),
                                   attachment=stored)
        db.session.commit()
    except services.ChangeError as exc:
        db.session.rollback()
        discard(stored)
        _add_errors(form, exc.errors, "title")
        return None
    except Exception:
        db.session.rollback()
        discard(stored)
        raise
    return htmx.redirect_response(url_for("changes.show", request_id=cr.id,
                                          done="submitted" if form.submit.data else "saved"))


@bp.route("/new", methods=["GET", "POST"])
@allow(*SUBMITTERS)
def new():
    rules = rules_in_force()
    form = ChangeRequestForm()
    _request_choices(form, rules)
    if request.method == "GET":
        form.requestor_name.data = current_user.full_name
    if form.validate_on_submit():
        response = _save_request(form, None)
        if response is not None:
            return response
    return htmx.render("changes/form.html", "request_form", form=form, cr=None, rules=rules,
                       notice_days=services.required_notice_days(rules))


def _may_edit(cr) -> bool:
    return current_user.id == cr.requestor_id or current_user.has_role(*ASSESSORS)


@bp.route("/<int:request_id>/edit", methods=["GET", "POST"])
@allow(*SUBMITTERS)
def edit(request_id: int):
    cr = _visible_or_404(request_id)
    if not _may_edit(cr):
        abort(403)
    rules = rules_in_force()
    form = ChangeRequestForm(obj=cr) if request.method == "GET" else ChangeRequestForm()
    _request_choices(form, rules)
    if cr.status != "draft":
        return htmx.redirect_response(url_for("changes.show", request_id=cr.id))
    if form.validate_on_submit():
        response = _save_request(form, cr)
        if response is not None:
            return response
    return htmx.render("changes/form.html", "request_form", form=form, cr=cr, rules=rules,
                       notice_days=services.required_notice_days(rules))


def _show_context(cr, **extra) -> dict:
    rules = _rules_for(cr)
    today = services.today_london()
    notice = services.notice_for(cr.received_on or today, cr.required_by, rules) if cr.required_by else None
    signed = {s.party: s for s in cr.sign_offs}
    return dict(
        cr=cr, rules=rules, notice=notice, checklist=services.checklist(cr, rules), channels=CHANNELS,
        parties=[(p, label, signed.get(p)) for p, label in services.required_parties(cr, rules)],
        to_sign=services.parties_to_sign(current_user, cr) if cr.status == "awaiting_sign_off" else [],
        next_statuses=services.next_statuses(current_user, cr), can_assess=current_user.has_role(*ASSESSORS),
        may_edit=_may_edit(cr) and current_user.has_role(*SUBMITTERS), variation=services.variation_for(cr),
        can_vary=current_user.has_role(*ASSESSORS) and services.can_vary(cr),
        timeline=entries_for("change_request", cr.id), urgent_reasons=services.URGENT_REASONS,
        status_fields={s: services.status_fields(cr, s) for s in services.STATUS_FIELDS},
        done=request.args.get("done"), **extra)


@bp.get("/<int:request_id>")
@allow(*VIEWERS)
def show(request_id: int):
    cr = _visible_or_404(request_id)
    return htmx.render("changes/request.html", "request", **_show_context(cr))


@bp.post("/<int:request_id>/submit")
@allow(*SUBMITTERS)
def submit(request_id: int):
    cr = _visible_or_404(request_id)
    if not _may_edit(cr):
        abort(403)
    from flask_wtf import FlaskForm

    form = FlaskForm()
    if form.validate_on_submit():
        try:
            services.submit_draft(current_user, cr)
            db.session.commit()
            return htmx.redirect_response(url_for("changes.show", request_id=cr.id, done="submitted"))
        except services.ChangeError as exc:
            db.session.rollback()
            cr = _visible_or_404(request_id)
            form.form_errors = list(exc.errors.values())
            missing = [(message, url_for("changes.edit", request_id=cr.id) + f"#{key}") for key, message in exc.errors.items()]
            return htmx.render("changes/request.html", "request", form=form, submit_errors=missing, **_show_context(cr))
    abort(400)


@bp.get("/<int:request_id>/attachments/<int:attachment_id>")
@allow(*VIEWERS)
def attachment(request_id: int, attachment_id: int):
    cr = _visible_or_404(request_id)
    row = db.session.get(ChangeAttachment, attachment_id)
    if row is None or row.request_id != cr.id:
        abort(404)
    return send_upload(row.stored_name, row.original_name, row.mime_type)


@bp.route("/<int:request_id>/assess", methods=["GET", "POST"])
@allow(*ASSESSORS)
def assess(request_id: int):
    cr = _visible_or_404(request_id)
    rules = _rules_for(cr)
    form = AssessmentForm()
    if request.method == "GET":
        form.extra_contacts_per_week.data = cr.total_volume
    if form.validate_on_submit():
        try:
            services.assess(current_user, cr, form.data_for_service())
            db.session.commit()
            return htmx.redirect_response(url_for("changes.show", request_id=cr.id, done="assessed"))
        except services.ChangeError as exc:
            db.session.rollback()
            cr = _visible_or_404(request_id)
            _add_errors(form, exc.errors, "decision")
    return htmx.render("changes/assess.html", "assess_form", form=form, cr=cr, rules=rules, channels=CHANNELS)


@bp.route("/<int:request_id>/sign-off", methods=["GET", "POST"])
@allow(*SUBMITTERS)
def sign_off(request_id: int):
    cr = _visible_or_404(request_id)
    rules = _rules_for(cr)
    form = SignOffForm()
    options = services.parties_to_sign(current_user, cr) if cr.status == "awaiting_sign_off" else []
    form.party.choices = options
    if request.method == "GET" and len(options) == 1:
        form.party.data = options[0][0]
    if form.validate_on_submit():
        try:
            services.sign_off(current_user, cr, form.party.data, form.comment.data or "")
            db.session.commit()
            return htmx.redirect_response(url_for("changes.show", request_id=cr.id, done="signed"))
        except PermissionError:
            db.session.rollback()
            abort(403)
        except services.ChangeError as exc:
            db.session.rollback()
            cr = _visible_or_404(request_id)
            _add_errors(form, exc.errors, "party")
    signed = {s.party: s for s in cr.sign_offs}
    return htmx.render("changes/sign_off.html", "sign_off_form", form=form, cr=cr, options=options,
                       parties=[(p, label, signed.get(p)) for p, label in services.required_parties(cr, rules)])


@bp.route("/<int:request_id>/status", methods=["GET", "POST"])
@allow(*SUBMITTERS)
def status(request_id: int):
    cr = _visible_or_404(request_id)
    form = StatusForm()
    options = services.next_statuses(current_user, cr)
    form.status.choices = [(s, services.STATUS_LABELS[s]) for s in options]
    if form.validate_on_submit():
        data = {f: getattr(form, f).data for f in ("go_live_on", "briefing_on", "implemented_on", "implementation_notes",
                                                  "reviewed_on", "review_findings", "later_assessment", "withdrawn_reason")}
        try:
            services.change_status(current_user, cr, form.status.data, data)
            db.session.commit()
            return htmx.redirect_response(url_for("changes.show", request_id=cr.id, done="status"))
        except PermissionError:
            db.session.rollback()
            abort(403)
        except services.ChangeError as exc:
            db.session.rollback()
            cr = _visible_or_404(request_id)
            _add_errors(form, exc.errors, "status")
    return htmx.render("changes/status.html", "status_form", form=form, cr=cr, options=options,
                       status_fields={s: services.status_fields(cr, s) for s in options})


# --- SLA variations ------------------------------------------------------------------------------
def _record_variation(form: VariationForm, cr):
    try:
        row = services.record_variation(current_user, cr, key=form.key.data or "", effective_from=form.effective_from.data,
                                        reason=form.reason.data, agreed_by=form.agreed_by.data,
                                        changes_text=form.changes.data)
        db.session.commit()
    except services.ChangeError as exc:
        db.session.rollback()
        _add_errors(form, exc.errors, "changes")
        return None
    return htmx.redirect_response(url_for("changes.variation_detail", variation_id=row.id, recorded=1))


@bp.route("/<int:request_id>/variation", methods=["GET", "POST"])
@allow(*ASSESSORS)
def variation(request_id: int):
    cr = _visible_or_404(request_id)
    form = VariationForm()
    if request.method == "GET":
        form.agreed_by.data = services.default_agreed_by(cr)
        form.reason.data = f"{cr.reference}: {cr.title}"
        form.effective_from.data = cr.go_live_on or cr.required_by
    if form.validate_on_submit():
        response = _record_variation(form, _visible_or_404(request_id))
        if response is not None:
            return response
    return htmx.render("changes/variation_form.html", "variation_form", form=form, cr=cr,
                       can_vary=services.can_vary(cr), existing=services.variation_for(cr))


@bp.route("/variations/new", methods=["GET", "POST"])
@allow(*ASSESSORS)
def variation_new():
    """A variation without a change request: the renewal of the SLA at the end of its period."""
    form = VariationForm()
    if form.validate_on_submit():
        response = _record_variation(form, None)
        if response is not None:
            return response
    return htmx.render("changes/variation_form.html", "variation_form", form=form, cr=None, can_vary=True,
                       existing=None)


@bp.get("/variations")
@allow(*VIEWERS)
def variations():
    return htmx.render("changes/variations.html", "results", rows=services.recorded_variations(),
                       can_record=current_user.has_role(*ASSESSORS))


@bp.get("/variations/<int:variation_id>")
@allow(*VIEWERS)
def variation_detail(variation_id: int):
    row = db.session.get(SlaVariation, variation_id)
    if row is None:
        abort(404)
    state = next((v for v in services.recorded_variations() if v.pk == row.id), None)
    cr = services.get_visible(current_user, row.change_request_id) if row.change_request_id else None
    return htmx.render("changes/variation.html", "variation", row=row, state=state, cr=cr,
                       recorded=request.args.get("recorded"), timeline=entries_for("sla_variation", row.id))


# --- review calendar ---------------------------------------------------------------------------
@bp.get("/reviews")
@allow(*VIEWERS)
def reviews():
    today = services.today_london()
    rules = rules_in_force(today)
    return htmx.render("changes/reviews.html", "results", events=services.review_calendar(rules, today),
                       sent=services.reminders_sent(), today=today, rules=rules)


@bp.cli.command("remind")
@click.option("--today", "today_text", default=None, metavar="YYYY-MM-DD",
              help="Act as if today were this date (to catch up after an outage); default today in London.")
def remind_command(today_text: str | None):
    """Send the 12-week reminders of SLA reviews that have fallen due (run daily from cron)."""
    from datetime import date

    try:
        today = date.fromisoformat(today_text) if today_text else None
    except ValueError:
        raise click.BadParameter("expected a date like 2017-03-03", param_hint="--today") from None
    done = services.send_due_reminders(today)
    db.session.commit()
    if not done:
        click.echo("No review reminders due.")
    for event, recipients, emailed in done:
        how = "emailed" if emailed else "recorded (no mailer)"
        click.echo(f"Reminder {how}: {event.label} on {event.on.isoformat()} to {', '.join(recipients) or 'nobody'}")


# --- system change notices ---------------------------------------------------------------------
@bp.get("/notices")
@allow(*VIEWERS)
def notices():
    return htmx.render("changes/notices.html", "results", rows=services.notices_with_counts(),
                       can_publish=current_user.has_role(PARKING_TEAM), is_manager=services.is_manager(current_user))


@bp.route("/notices/new", methods=["GET", "POST"])
@allow(PARKING_TEAM)
def notice_new():
    form = NoticeForm()
    if form.validate_on_submit():
        notice = services.publish_notice(current_user, title=form.title.data, what_changes=form.what_changes.data,
                                         change_on=form.change_on.data, effect_on_csc=form.effect_on_csc.data)
        db.session.commit()
        return htmx.redirect_response(url_for("changes.notice", notice_id=notice.id, published=1))
    return htmx.render("changes/notice_form.html", "notice_form", form=form)


@bp.get("/notices/<int:notice_id>")
@allow(*VIEWERS)
def notice(notice_id: int):
    row = db.session.get(SystemChangeNotice, notice_id)
    if row is None:
        abort(404)
    read, unread = services.readers(row) if services.is_manager(current_user) else ([], [])
    return htmx.render("changes/notice.html", "notice", notice=row, read=read, unread=unread,
                       is_manager=services.is_manager(current_user), published=request.args.get("published"),
                       must_read=services.must_read(current_user),
                       has_read=row not in services.unread_notices(current_user, limit=1000))


def _safe_next(value: str | None) -> str | None:
    return value if value and value.startswith("/") and not value.startswith("//") and "\\" not in value else None


@bp.post("/notices/<int:notice_id>/read")
@allow(*CSC_STAFF)
def notice_read(notice_id: int):
    row = db.session.get(SystemChangeNotice, notice_id)
    if row is None:
        abort(404)
    services.confirm_read(current_user, row)
    db.session.commit()
    g.pop("unread_change_notices", None)
    if htmx.is_partial():
        response = htmx.render("changes/_notice_banner.html")
        return response
    return htmx.redirect_response(_safe_next(request.form.get("next")) or url_for("changes.notice", notice_id=row.id))


@bp.app_context_processor
def change_notice_banner():
    """Gives base.html's banner the current CSC user's unread notices: asked only when the banner
    renders (a callable), once per request, with one query on the (user, notice) index."""

    def unread():
        if "unread_change_notices" not in g:
            try:
                g.unread_change_notices = services.unread_notices(current_user)
            except SQLAlchemyError:  # the banner must never take a page down (e.g. the error page itself)
                g.unread_change_notices = []
        return g.unread_change_notices

    return {"unread_change_notices": unread}
