"""The daily permits-by-zone report: the page, its CSV, the send log and "Send now" for a missing day."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, request, url_for
from flask_login import current_user

from .. import htmx
from ..auth.roles import CSC_STAFF, DIRECTOR, PARKING_TEAM, SERVICE_LEAD, SERVICE_MANAGER, TEAM_LEADER
from ..auth.access import allow
from ..extensions import db
from ..navigation import register_area
from ..service_rules import rules_in_force
from ..timefmt import utcnow
from . import services
from .forms import ReportDayForm, SendNowForm
from .sending import ALREADY_SENT, send_zone_report

VIEWERS = (*CSC_STAFF, PARKING_TEAM, DIRECTOR)
SENDERS = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER)

bp = Blueprint("reports", __name__, url_prefix="/reports")
register_area("Permits by zone", "reports.zone_report",
              "The daily report of permits issued by zone, and the permits enforcement must stop honouring, "
              "as sent to the Parking inbox and NSL.")
register_area("Zone report send log", "reports.send_log",
              "Whether each working day's permits-by-zone report went, when and to whom, and on time.",
              in_navigation=False)


def _day_or_404(text: str) -> date:
    try:
        return services.parse_day(text)
    except ValueError:
        abort(404)


@bp.get("/zone-report")
@bp.get("/zone-report/<day>")
@allow(*VIEWERS)
def zone_report(day: str | None = None):
    """One day's report: from the URL, from the day form, or (neither) the day cron would send now."""
    now = utcnow()
    form = ReportDayForm(request.args)
    if day is not None:
        chosen = _day_or_404(day)
    elif "report_day" in request.args:
        chosen = form.report_day.data if form.validate() else None
        if chosen is not None:
            try:
                services.check_year(chosen.year, "Report day")
            except ValueError as exc:
                form.report_day.errors = [str(exc)]
                chosen = None
    else:
        chosen = services.default_report_date(now)
    if chosen is not None and "report_day" not in request.args:
        form.report_day.data, form.report_day.raw_data = chosen, None
    report, provisional = None, False
    if chosen is not None:
        cal = services.calendar_on(chosen)
        if cal.is_working_day(chosen) and chosen <= services.london_today(now):
            report = services.build_report(chosen)
            provisional = now < cal.closes_at(chosen)
        else:
            try:
                services.check_reportable(chosen, now)
            except services.ReportDateError as exc:
                form.report_day.errors = [str(exc)]
    response = htmx.render("reports/zone_report.html", "report_body", form=form, report=report,
                           provisional=provisional, columns=services.COLUMNS, labels=services.COLUMN_LABELS,
                           actions=services.ACTIONS, csv_columns=services.CSV_COLUMNS,
                           due=services.due_at(chosen) if report else None,
                           recipients=rules_in_force(report.day if report else None).zone_report.recipients)
    if chosen is not None and htmx.is_partial():
        htmx.push_url(response, url_for("reports.zone_report", day=chosen.isoformat()))
    return response


@bp.get("/zone-report/<day>/csv")
@allow(*VIEWERS)
def zone_report_csv(day: str):
    chosen = _day_or_404(day)
    if not services.calendar_on(chosen).is_working_day(chosen):
        abort(404)
    report = services.build_report(chosen)
    return Response(services.report_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{report.filename}"'})


def _send_log_page(month_text: str | None, *, problem: str = ""):
    now = utcnow()
    try:
        year, month = services.parse_month(month_text, now)
    except ValueError as exc:
        problem = problem or str(exc)
        year, month = services.parse_month(None, now)
    first, _ = services.month_bounds(year, month)
    numerator, denominator = services.zone_report_kpi(year, month, now)
    today = services.london_today(now)
    following = date(year + (month == 12), 1 if month == 12 else month + 1, 1)
    sent = None
    if request.args.get("sent"):
        try:
            sent = services.parse_day(request.args["sent"])
        except ValueError:
            sent = None
    return htmx.render(
        "reports/send_log.html", None, rows=services.send_log(year, month, now), month_start=first,
        numerator=numerator, denominator=denominator, kpi=rules_in_force(first).kpi("daily_zone_report"),
        percent=(100 * numerator / denominator) if denominator else None,
        previous_month=date(year - (month == 1), 12 if month == 1 else month - 1, 1),
        next_month=following if following <= today else None,
        may_send=any(r in SENDERS for r in current_user.roles), send_form=SendNowForm(),
        sent=sent, problem=problem, recipients=rules_in_force(today).zone_report.recipients)


@bp.get("/zone-report/send-log")
@allow(*VIEWERS)
def send_log():
    return _send_log_page(request.args.get("month"))


@bp.post("/zone-report/send-log/<day>/send")
@allow(*SENDERS)
def send_now(day: str):
    """What `flask zone-report send --date DAY` does, for a day the log shows as missing."""
    chosen = _day_or_404(day)
    month = f"{chosen:%Y-%m}"
    form = SendNowForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        outcome = send_zone_report(current_user, chosen, via="web")
    except services.ReportDateError as exc:
        db.session.rollback()
        return _send_log_page(month, problem=str(exc))
    if outcome.status == ALREADY_SENT:
        db.session.rollback()
        return _send_log_page(month, problem=outcome.message())
    db.session.commit()
    return htmx.redirect_response(url_for("reports.send_log", month=month, sent=chosen.isoformat()))
