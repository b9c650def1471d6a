"""KPI tables, drill-downs and charts; telephony import; quality monitoring; satisfaction; the monthly
pack; service reviews. Thin: parse the request, call the services, commit once, render or redirect."""
from __future__ import annotations

from flask import Blueprint, Response, abort, request, url_for
from flask_login import current_user

from .. import htmx
from ..auth.access import allow
from ..auth.roles import ADVISOR, DIRECTOR, PARKING_TEAM, SERVICE_LEAD, SERVICE_MANAGER, TEAM_LEADER
from ..extensions import db
from ..navigation import register_area
from ..pdf import PdfError, pdf_response
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from . import charts, measures, models  # noqa: F401  (models: tables known to migrations)
from .costs import month_costs
from .engine import Month
from .forms import (ActionForm, ButtonForm, CallsImportForm, CommentaryForm, MinutesForm, MonthForm, ReviewForm,
                    SatisfactionForm, UploadForm, quality_form_class)
from .inputs import month_inputs
from .volumes import month_volumes

bp = Blueprint("kpi", __name__, url_prefix="/kpi")

VIEWERS = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER, DIRECTOR, PARKING_TEAM)
RECORDERS = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER)
PACK_MAKERS = (SERVICE_LEAD, SERVICE_MANAGER)
EVALUATED = (ADVISOR, TEAM_LEADER)

register_area("KPIs", "kpi.tables", "The SLA's KPIs month by month, with trends, volumes and the items behind each figure.")
register_area("KPI packs", "kpi.packs", "The monthly KPI pack: commentary, the PDF on its 10-working-day clock, "
              "distribution to the service review.", in_navigation=False)
register_area("Service reviews", "kpi.reviews", "Six-monthly service review meetings: attendees, packs, minutes "
              "and actions.", in_navigation=False)
register_area("Import call statistics", "kpi.calls_import", "Upload the telephone system's interval statistics.",
              in_navigation=False)
register_area("Quality monitoring", "kpi.quality", "Record evaluations of staff against the quality criteria.",
              in_navigation=False)
register_area("My quality monitoring", "kpi.my_quality", "Your own quality evaluations.", in_navigation=False)
register_area("Customer satisfaction", "kpi.satisfaction", "Record or import survey responses.", in_navigation=False)


@bp.app_context_processor
def kpi_helpers():
    """`may(endpoint)`: whether the signed-in user may open a page, from its own access declaration,
    so the KPI sub-navigation never offers a page that would answer 403."""
    from flask import current_app

    from ..auth.access import may_use

    def may(endpoint: str) -> bool:
        view = current_app.view_functions.get(endpoint)
        return bool(getattr(current_user, "is_authenticated", False)) and may_use(current_user.roles, view)

    return {"may": may}


def _today():
    return utcnow().astimezone(LONDON).date()


def _month_or_404(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        abort(404)


def _default_month() -> Month:
    """Last month: the most recent complete one, which is what a KPI is read for."""
    return Month.of(_today()).shift(-1)


def _month_choices(selected: Month) -> list[tuple[str, str]]:
    this = Month.of(_today())
    months = [this.shift(-i) for i in range(0, 25)]
    if selected not in months:
        months.append(selected)
    return [(m.key, m.label) for m in sorted(months, key=lambda m: m.key, reverse=True)]


# ------------------------------------------------------------------------------ KPI tables

@bp.get("/")
@allow(*VIEWERS)
def tables():
    form = MonthForm(request.args)
    text = request.args.get("month")
    month = _default_month()
    if text:
        try:
            month = Month.parse(text)
        except ValueError:
            form.month.errors = ["Choose a month from the list"]
    form.month.choices = _month_choices(month)
    form.month.data = month.key
    per_month = measures.trend_months(month, 12, utcnow())
    kpis = per_month[-1][1]  # the trend's last month is the month shown
    trends = measures.trends(month, per_month=per_month)
    chart_rows = []
    for r in kpis.results:
        series = charts.series_of(trends[r.name])
        chart_rows.append({"result": r, "series": series,
                           "alt": charts.alt_text(r.title, series, r.normal_target, r.direction)})
    response = htmx.render("kpi/tables.html", "kpi_month", form=form, month=month, kpis=kpis, charts=chart_rows,
                           volumes=month_volumes(month), inputs=month_inputs(month), costs=month_costs(month),
                           previous=month.shift(-1), next=month.shift(1) if month.shift(1).first <= _today() else None,
                           pack=None)
    if htmx.is_partial():
        htmx.push_url(response, url_for("kpi.tables", month=month.key))
    return response


@bp.get("/charts/<name>/<month_text>.png")
@allow(*VIEWERS)
def chart(name: str, month_text: str):
    month = _month_or_404(month_text)
    rules = rules_in_force(month.first)
    if name not in rules.kpis:
        abort(404)
    kpi = rules.kpi(name)
    series = charts.series_of(measures.trends(month, 12, names={name})[name])
    png, key = charts.chart_png(name, kpi.title, series, kpi.target, kpi.direction)
    if request.if_none_match and key in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{key}"'})
    response = Response(png, mimetype="image/png")
    response.set_etag(key)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/figures/<name>/<month_text>")
@allow(*VIEWERS)
def figure(name: str, month_text: str):
    """The items behind a figure: late permits, days without a report, the intervals counted..."""
    month = _month_or_404(month_text)
    rules = rules_in_force(month.first)
    if name not in rules.kpis:
        abort(404)
    now = utcnow()
    result = measures.month_kpis(month, now).get(name)
    ctx = {"month": month, "result": result, "name": name, "rules": rules}
    if name in (rules.telephony.answered_kpi, rules.telephony.abandoned_kpi):
        ctx["intervals"] = measures.intervals(month)
    elif name == "permits_issued_on_time":
        ctx["late"] = measures.late_permits(month)
    elif name == "daily_zone_report":
        ctx["misses"] = measures.zone_report_misses(month, now)
    elif name == "quality_monitoring":
        ctx["evaluations"] = measures.evaluations(month)
        ctx["benchmark"] = rules.kpi(name).benchmark_score
    elif name == "customer_satisfaction":
        ctx["by_month"] = measures.satisfaction_by_month(Month.parse(result.period.split("/")[0]), month)
    elif name == "kpi_pack_on_time":
        from .pack import find_pack

        ctx["pack"] = find_pack(month)
        ctx["due"] = measures.pack_due(month)
    return htmx.render("kpi/figure.html", **ctx)


# ------------------------------------------------------------------------------ telephony

def _uploaded_csv(form) -> bytes | None:
    """The uploaded file's bytes, or None with the reason on the form's file field."""
    upload = form.file.data
    data = upload.read() if upload and upload.filename else b""
    if not upload or not upload.filename:
        form.file.errors = list(form.file.errors) + ["Select a CSV file"]
        return None
    if not data:
        form.file.errors = list(form.file.errors) + ["The selected file is empty"]
        return None
    return data


@bp.route("/calls/import", methods=["GET", "POST"])
@allow(*RECORDERS)
def calls_import():
    from .models import TelephonyImport
    from .telephony import TelephonyImportError, import_calls

    form = CallsImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload, data = form.file.data, _uploaded_csv(form)
        if data is not None:
            try:
                report = import_calls(current_user, data, filename=upload.filename, replace=form.replace.data)
            except TelephonyImportError as exc:
                db.session.rollback()
                problems = exc.report.problems
                form.file.errors = list(form.file.errors) + [
                    f"The file has {len(problems)} problem{'s' if len(problems) != 1 else ''}: nothing was imported"]
            else:
                db.session.commit()
                return htmx.redirect_response(url_for("kpi.calls_import", imported=report.import_id))
    done = db.session.get(TelephonyImport, request.args.get("imported", type=int) or 0)
    recent = db.session.scalars(db.select(TelephonyImport).order_by(TelephonyImport.id.desc()).limit(10)).all()
    return htmx.render("kpi/calls_import.html", form=form, problems=problems, done=done, recent=recent)


# ------------------------------------------------------------------------------ quality monitoring

def _quality_form():
    rules = rules_in_force()
    q = rules.quality_monitoring
    form = quality_form_class(q.criteria, q.score_out_of)()
    from .quality import staff_members

    form.staff_id.choices = [(0, "Choose a staff member")] + [(u.id, u.full_name) for u in staff_members()]
    return form, q


@bp.get("/quality")
@allow(*RECORDERS, DIRECTOR, PARKING_TEAM)
def quality():
    text = request.args.get("month")
    month = Month.of(_today())
    if text:
        try:
            month = Month.parse(text)
        except ValueError:
            abort(404)
    rules = rules_in_force(month.first)
    return htmx.render("kpi/quality.html", month=month, evaluations=measures.evaluations(month),
                       benchmark=rules.kpi("quality_monitoring").benchmark_score if "quality_monitoring" in rules.kpis else None,
                       criteria=rules.quality_monitoring.criteria, recorded=request.args.get("recorded"),
                       previous=month.shift(-1), next=month.shift(1) if month.shift(1).first <= _today() else None)


@bp.route("/quality/new", methods=["GET", "POST"])
@allow(*RECORDERS)
def quality_new():
    from .quality import QualityError, record_evaluation

    form, q = _quality_form()
    if form.validate_on_submit():
        overall = None
        raw = (form.overall_score.data or "").strip().rstrip("%")
        if raw:
            try:
                overall = float(raw)
            except ValueError:
                form.overall_score.errors = ["Enter the overall score as a number from 0 to 100, like 85"]
        if not form.overall_score.errors:
            try:
                evaluation = record_evaluation(
                    current_user, staff_id=form.staff_id.data or None, evaluated_on=form.evaluated_on.data,
                    contact_reference=form.contact_reference.data,
                    scores={code: getattr(form, f"score_{code}").data for code in q.criteria},
                    overall_score=overall, comments=form.comments.data)
            except QualityError as exc:
                db.session.rollback()
                for key, message in exc.errors.items():
                    getattr(form, key).errors = list(getattr(form, key).errors) + [message]
            else:
                db.session.commit()
                return htmx.redirect_response(url_for("kpi.quality", month=Month.of(evaluation.evaluated_on).key,
                                                      recorded=1))
    return htmx.render("kpi/quality_form.html", "quality_form", form=form, criteria=q.criteria)


@bp.get("/quality/mine")
@allow(*EVALUATED)
def my_quality():
    from .quality import evaluations_of

    rules = rules_in_force()
    return htmx.render("kpi/my_quality.html", evaluations=evaluations_of(current_user.id),
                       criteria=rules.quality_monitoring.criteria,
                       benchmark=rules.kpi("quality_monitoring").benchmark_score if "quality_monitoring" in rules.kpis else None)


# ------------------------------------------------------------------------------ satisfaction

@bp.route("/satisfaction", methods=["GET", "POST"])
@allow(*RECORDERS)
def satisfaction():
    from .models import SatisfactionResponse
    from .satisfaction import CHANNELS, SatisfactionError, record_response

    form = SatisfactionForm()
    form.channel.choices = [("", "Choose a channel")] + list(CHANNELS.items())
    if form.validate_on_submit():
        answer = form.answer.data
        score = int(form.score.data) if form.score.data else None
        if answer == "score" and score is None:
            form.score.errors = ["Select the score the customer gave"]
        else:
            try:
                record_response(current_user, responded_on=form.responded_on.data, channel=form.channel.data,
                                satisfied={"yes": True, "no": False}.get(answer),
                                score=score if answer == "score" else None, comment=form.comment.data)
            except SatisfactionError as exc:
                db.session.rollback()
                for key, message in exc.errors.items():
                    field = getattr(form, {"satisfied": "answer"}.get(key, key))
                    field.errors = list(field.errors) + [message]
            else:
                db.session.commit()
                return htmx.redirect_response(url_for("kpi.satisfaction", recorded=1))
    recent = db.session.scalars(db.select(SatisfactionResponse).order_by(
        SatisfactionResponse.responded_on.desc(), SatisfactionResponse.id.desc()).limit(20)).all()
    return htmx.render("kpi/satisfaction.html", "satisfaction_form", form=form, recent=recent,
                       channels=CHANNELS, recorded=request.args.get("recorded"),
                       imported=request.args.get("imported", type=int),
                       threshold=rules_in_force().satisfaction.satisfied_from_score)


@bp.route("/satisfaction/import", methods=["GET", "POST"])
@allow(*RECORDERS)
def satisfaction_import():
    from .satisfaction import SatisfactionError, import_responses

    form = UploadForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload, data = form.file.data, _uploaded_csv(form)
        if data is not None:
            try:
                count = import_responses(current_user, data, upload.filename)
            except SatisfactionError as exc:
                db.session.rollback()
                problems = list(exc.errors) if isinstance(exc.errors, list) else list(exc.errors.values())
                form.file.errors = list(form.file.errors) + [
                    f"The file has {len(problems)} problem{'s' if len(problems) != 1 else ''}: nothing was imported"]
            else:
                db.session.commit()
                return htmx.redirect_response(url_for("kpi.satisfaction", imported=count))
    return htmx.render("kpi/satisfaction_import.html", form=form, problems=problems)


# ------------------------------------------------------------------------------ packs

@bp.get("/packs")
@allow(*VIEWERS)
def packs():
    from .pack import find_pack, pack_state

    now = utcnow()
    this = Month.of(_today())
    rows = []
    for i in range(1, 13):
        m = this.shift(-i)
        pack = find_pack(m)
        due = pack.due_at if pack else measures.pack_due(m)
        rows.append({"month": m, "pack": pack, "due": due, "state": pack_state(pack, due, now)})
    return htmx.render("kpi/packs.html", rows=rows)


def _pack_page(month: Month, form: CommentaryForm | None = None):
    from ..audit import entries_for
    from .pack import find_pack, pack_state
    from .reviews import next_review

    existing = find_pack(month)
    due = existing.due_at if existing else measures.pack_due(month)
    return htmx.render("kpi/pack.html", "commentary_form", month=month, pack=existing,
                       form=form or CommentaryForm(obj=existing), due=due,
                       state=pack_state(existing, due, utcnow()), button=ButtonForm(),
                       may_edit=current_user.has_role(*PACK_MAKERS), review=next_review(_today()),
                       saved=request.args.get("saved"), produced=request.args.get("produced"),
                       distributed=request.args.get("distributed"), error=request.args.get("error"),
                       entries=entries_for("kpi_pack", existing.id) if existing else [])


def _reportable_month_or_404(text: str) -> Month:
    month = _month_or_404(text)
    if month.first > _today():
        abort(404)
    return month


@bp.get("/packs/<month_text>")
@allow(*VIEWERS)
def pack(month_text: str):
    return _pack_page(_reportable_month_or_404(month_text))


@bp.post("/packs/<month_text>/commentary")
@allow(*PACK_MAKERS)
def pack_commentary(month_text: str):
    from .pack import save_commentary

    month = _reportable_month_or_404(month_text)
    form = CommentaryForm()
    if form.validate_on_submit():
        save_commentary(current_user, month, issues=form.issues.data, proposals=form.proposals.data)
        db.session.commit()
        return htmx.redirect_response(url_for("kpi.pack", month_text=month.key, saved=1))
    return _pack_page(month, form)


@bp.post("/packs/<month_text>/produce")
@allow(*PACK_MAKERS)
def pack_produce(month_text: str):
    from .pack import PackError, produce

    month = _reportable_month_or_404(month_text)
    if not ButtonForm().validate_on_submit():
        abort(400)
    return _pack_action(month, lambda: produce(current_user, month), (PackError, PdfError), "produced")


def _pack_action(month, action, refusals: tuple, done: str):
    """One transaction per pack action; a refusal comes back to the pack page in words, nothing saved."""
    try:
        action()
    except refusals as exc:
        db.session.rollback()
        return htmx.redirect_response(url_for("kpi.pack", month_text=month.key, error=str(exc)[:300]))
    db.session.commit()
    return htmx.redirect_response(url_for("kpi.pack", month_text=month.key, **{done: 1}))


@bp.get("/packs/<month_text>/pdf")
@allow(*VIEWERS)
def pack_pdf(month_text: str):
    from .pack import find_pack

    month = _month_or_404(month_text)
    existing = find_pack(month)
    if existing is None or existing.pdf is None:
        abort(404)
    return pdf_response(existing.pdf, f"kpi-pack-{month.key}.pdf")


@bp.post("/packs/<month_text>/distribute")
@allow(*PACK_MAKERS)
def pack_distribute(month_text: str):
    from .pack import PackError, distribute, find_pack

    month = _month_or_404(month_text)
    existing = find_pack(month)
    if existing is None:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    return _pack_action(month, lambda: distribute(current_user, existing), (PackError, ValueError), "distributed")


# ------------------------------------------------------------------------------ service reviews

@bp.get("/reviews")
@allow(*VIEWERS)
def reviews():
    from .reviews import all_reviews

    return htmx.render("kpi/reviews.html", reviews=all_reviews(), today=_today(),
                       may_edit=current_user.has_role(*PACK_MAKERS))


@bp.route("/reviews/new", methods=["GET", "POST"])
@allow(*PACK_MAKERS)
def review_new():
    from .reviews import ReviewError, plan_review

    form = ReviewForm()
    if form.validate_on_submit():
        try:
            review = plan_review(current_user, held_on=form.held_on.data, title=form.title.data,
                                 attendees=form.attendees.data)
        except ReviewError as exc:
            db.session.rollback()
            for key, message in exc.errors.items():
                getattr(form, key).errors = list(getattr(form, key).errors) + [message]
        else:
            db.session.commit()
            return htmx.redirect_response(url_for("kpi.review", review_id=review.id))
    return htmx.render("kpi/review_form.html", "review_form", form=form)


def _review_or_404(review_id: int):
    from .models import ServiceReview

    review = db.session.get(ServiceReview, review_id)
    if review is None:
        abort(404)
    return review


@bp.get("/reviews/<int:review_id>")
@allow(*VIEWERS)
def review(review_id: int):
    from .reviews import packs_for

    r = _review_or_404(review_id)
    return htmx.render("kpi/review.html", review=r, packs=packs_for(r), minutes_form=MinutesForm(obj=r),
                       action_form=ActionForm(), done_form=ButtonForm(), may_edit=current_user.has_role(*PACK_MAKERS),
                       today=_today())


@bp.post("/reviews/<int:review_id>/minutes")
@allow(*PACK_MAKERS)
def review_minutes(review_id: int):
    from .reviews import record_minutes

    r = _review_or_404(review_id)
    form = MinutesForm()
    if form.validate_on_submit():
        record_minutes(current_user, r, form.minutes.data)
        db.session.commit()
        return htmx.redirect_response(url_for("kpi.review", review_id=r.id) + "#minutes")
    from .reviews import packs_for

    return htmx.render("kpi/review.html", review=r, packs=packs_for(r), minutes_form=form, form=form,
                       action_form=ActionForm(),
                       done_form=ButtonForm(), may_edit=True, today=_today())


@bp.post("/reviews/<int:review_id>/actions")
@allow(*PACK_MAKERS)
def review_action(review_id: int):
    from .reviews import ReviewError, add_action, packs_for

    r = _review_or_404(review_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            add_action(current_user, r, description=form.description.data, owner=form.owner.data,
                       due_on=form.due_on.data)
        except ReviewError as exc:
            db.session.rollback()
            for key, message in exc.errors.items():
                getattr(form, key).errors = list(getattr(form, key).errors) + [message]
        else:
            db.session.commit()
            return htmx.redirect_response(url_for("kpi.review", review_id=r.id) + "#actions")
    return htmx.render("kpi/review.html", "action_form", review=r, packs=packs_for(r), minutes_form=MinutesForm(obj=r),
                       action_form=form, form=form, done_form=ButtonForm(), may_edit=True, today=_today())


@bp.post("/reviews/<int:review_id>/actions/<int:action_id>/done")
@allow(*PACK_MAKERS)
def review_action_done(review_id: int, action_id: int):
    from .models import ReviewAction
    from .reviews import complete_action

    action = db.session.get(ReviewAction, action_id)
    if action is None or action.review_id != review_id:
        abort(404)
    if ButtonForm().validate_on_submit():
        complete_action(current_user, action)
        db.session.commit()
    return htmx.redirect_response(url_for("kpi.review", review_id=review_id) + "#actions")
