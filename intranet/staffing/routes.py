"""Pages of the staffing model: the SLA's table with a what-if and a forward look, the live model for a
period, and their CSV exports. Thin: the figures come from model.py (pure) and live.py (counts)."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Blueprint, Response, request, url_for
from flask_login import current_user

from .. import htmx
from ..auth.access import allow
from ..navigation import register_area
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from . import live as live_model_service
from .forms import PeriodForm, check_period, parse_what_if
from .model import Table, build_table, forward_weeks, number_text, sla_table

bp = Blueprint("staffing", __name__, url_prefix="/staffing")
VIEWERS = ("team_leader", "service_lead", "service_manager", "director", "parking_team")
register_area("Staffing", "staffing.model",
              "The SLA's staffing model: volumes, handling times, hours and FTE against the funded posts; what-if "
              "and the forward look of agreed changes.")
register_area("Live staffing model", "staffing.live",
              "The staffing model fed with this service's own volumes for a period, beside the SLA's figures.",
              in_navigation=False)


def _today() -> date:
    return utcnow().astimezone(LONDON).date()


def _what_if_context(rules):
    what_if = parse_what_if(request.args, rules)
    days_per_week = len(rules.calendar.working_weekdays)
    sla = sla_table(rules.staffing, days_per_week)
    table = weeks = loads = None
    if not what_if.errors:
        table = build_table(what_if.activities, productive_hours=what_if.productive_hours_value,
                            days_per_week=days_per_week, funded_fte=rules.staffing.funded_fte)
        today = _today()
        monday = today - timedelta(days=today.weekday())
        loads = live_model_service.change_loads(current_user, rules, what_if.activities, today)
        weeks = forward_weeks(table, loads, monday, live_model_service.look_ahead_weeks(rules, loads, monday))
    return dict(rules=rules, what_if=what_if, sla=sla, table=table, weeks=weeks, loads=loads or [],
                form=what_if, days_per_week=days_per_week)


@bp.get("/")
@allow(*VIEWERS)
def model():
    """The SLA's table exactly as printed, then the what-if (htmx swaps #what-if and pushes the URL)."""
    ctx = _what_if_context(rules_in_force())
    return htmx.render("staffing/model.html", "what_if", **ctx)


def _safe(value) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _table_csv(table: Table, heading: list[str], extra=None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(heading)
    for row in table.rows:
        cells = [row.title, row.total_text, row.days_shown or "", number_text(row.per_day, 4), row.per_day_text,
                 row.handling_text, row.daily_text, row.weekly_text, row.fte_text]
        if extra:
            cells += extra(row)
        writer.writerow([_safe(c) for c in cells + [row.note]])
    writer.writerow(["Sum", "", "", "", "", "", table.daily_text, table.weekly_text, table.fte_text])
    writer.writerow(["Funded FTE", "", "", "", "", "", "", "", table.funded_text])
    return out.getvalue()


HEADING = ["Type", "Total issued", "Working days", "Per day (exact)", "Avg. per day", "Handling time",
           "Daily", "Weekly", "FTE"]


@bp.get("/staffing.csv")
@allow(*VIEWERS)
def model_csv():
    """The staffing table as CSV: the SLA's own, or the what-if given in the query string."""
    ctx = _what_if_context(rules_in_force())
    if ctx["table"] is None:
        return Response("; ".join(ctx["what_if"].errors.values()) + "\r\n", status=400, mimetype="text/plain")
    body = _table_csv(ctx["table"], HEADING + ["Note"])
    name = "staffing-what-if.csv" if ctx["what_if"].changed else "staffing-sla.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _period(form: PeriodForm) -> tuple[date | None, date | None, dict[str, str]]:
    """The chosen period; by default the last whole month."""
    form.validate()
    errors = {name: field.errors[0] for name, field in form._fields.items() if field.errors}
    first_of_month = _today().replace(day=1)
    start = form.start.data or (first_of_month - timedelta(days=1)).replace(day=1)
    end = form.end.data or (first_of_month - timedelta(days=1) if not form.start.data else _today())
    if not errors:
        errors = check_period(start, end)
        for name, message in errors.items():  # on the field too, so the page title says "Error: "
            form._fields[name].errors = [message]
    return start, end, errors


@bp.get("/live")
@allow(*VIEWERS)
def live():
    """The model fed with the app's own volumes for a period, beside the SLA's per-day figures and FTE."""
    rules = rules_in_force()
    form = PeriodForm(request.args)
    start, end, errors = _period(form)
    result = None if errors else live_model_service.live_model(rules, start, end)
    if not request.args and start and end:
        form.start.data, form.end.data = start, end
    return htmx.render("staffing/live.html", "live_results", form=form, errors=errors, result=result, start=start,
                       end=end, rules=rules)


@bp.get("/live.csv")
@allow(*VIEWERS)
def live_csv():
    rules = rules_in_force()
    start, end, errors = _period(PeriodForm(request.args))
    if errors:
        return Response("; ".join(f"{k}: {v}" for k, v in errors.items()) + "\r\n", status=400, mimetype="text/plain")
    result = live_model_service.live_model(rules, start, end)
    sla_rows = {r.code: r for r in result.sla.rows}

    def extra(row):
        sla_row = sla_rows.get(row.code)
        return [sla_row.per_day_text if sla_row else "", sla_row.fte_text if sla_row else ""]

    body = _table_csv(result.table, ["Type", "Count in period", "Working days", "Per day (exact)", "Avg. per day",
                                     "Handling time", "Daily", "Weekly", "FTE", "SLA avg. per day", "SLA FTE", "Note"],
                      extra)
    for a in result.no_data:
        body += f"{_safe(a.title)},no data\r\n"
    name = f"staffing-live-{start.isoformat()}-to-{end.isoformat()}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.app_template_global()
def staffing_live_csv_url(start: date, end: date) -> str:
    return url_for("staffing.live_csv", start=[start.day, start.month, start.year], end=[end.day, end.month, end.year])
