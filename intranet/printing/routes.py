"""Printing pages: print batches and reprints, the postage ledger, stationery orders and stock.

Thin: read the form, call a service, commit (303) or re-render with the error on its field (200,
keeping what was typed, nothing saved).
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import htmx
from ..auth.access import allow
from ..auth.roles import CSC_STAFF, DIRECTOR, PARKING_TEAM, SERVICE_LEAD, SERVICE_MANAGER, TEAM_LEADER
from ..extensions import db
from ..navigation import register_area
from ..pagination import keyset_page
from ..pdf import PdfError, pdf_response
from ..permits.models import Permit, Zone
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from . import batches, documents, postage, stationery
from .forms import ActionForm, BatchForm, PostageEntryForm, ReprintForm, StationeryOrderForm, StockCountForm
from .models import ORDER_STATUSES, POSTAGE_CATEGORIES, PrintBatch, Reprint, StationeryOrder

bp = Blueprint("printing", __name__, url_prefix="/printing")
from .letters import connect_signals  # noqa: E402

connect_signals()

PRINTERS = CSC_STAFF
LEDGER_READERS = (*CSC_STAFF, PARKING_TEAM, DIRECTOR)
BUDGET_HOLDERS = (TEAM_LEADER, SERVICE_LEAD, SERVICE_MANAGER)

register_area("Printing", "printing.index", "Print batches of permits and letters, reprints and the post room's PDFs.")
register_area("Postage", "printing.postage", "The postage ledger by month, with the SLA's annual figures.",
              in_navigation=False)
register_area("Stationery", "printing.stationery", "Stationery orders (charged to the cost code in the SLA) and "
              "stock of permit blanks and visitor cards.", in_navigation=False)


def _field_error(form, exc, fallback: str = "submit") -> None:
    name = getattr(exc, "field", None)
    name = name if name in form._fields else fallback
    field = form._fields[name]
    field.errors = list(field.errors or []) + [str(exc)]
    form._errors = None


# ---------------------------------------------------------------- batches

@bp.get("")
@allow(*PRINTERS)
def index():
    page = keyset_page(batches.batches_stmt(), PrintBatch.id, request.args.get("before", type=int), per_page=25)
    waiting = batches.preview(batches.BatchFilter())
    return htmx.render("printing/index.html", None, page=page, waiting=waiting,
                       stock=stationery.stock_levels(), done=request.args.get("done"))


def _zone_choices(form: BatchForm) -> None:
    zones = db.session.scalars(select(Zone).where(Zone.active.is_(True)).order_by(Zone.code))
    form.zone.choices = [("", "All zones")] + [(str(z.id), f"{z.code} – {z.name}") for z in zones]


def _filter(form: BatchForm) -> batches.BatchFilter:
    zone = form.zone.data
    return batches.BatchFilter(kind=form.kind.data or "", zone_id=int(zone) if zone and zone.isdigit() else None,
                               issued_from=form.issued_from.data, issued_to=form.issued_to.data,
                               include_letters=bool(form.include_letters.data))


@bp.route("/batches/new", methods=["GET", "POST"])
@allow(*PRINTERS)
def new_batch():
    """GET: the filters and what they would print (the preview block is swapped by htmx as they change);
    POST: produce the batch."""
    if request.method == "POST":
        form = BatchForm()
    else:
        form = BatchForm(request.args if request.args else None, meta={"csrf": False})
        if not request.args:
            form.include_letters.data = True
    _zone_choices(form)
    preview = None
    valid = form.validate() if request.method == "GET" and request.args else (
        form.validate_on_submit() if request.method == "POST" else True)
    if valid:
        try:
            if request.method == "POST":
                batch = batches.produce_batch(current_user, _filter(form))
                db.session.commit()
                return htmx.redirect_response(url_for("printing.batch", batch_id=batch.id, done="produced"))
            preview = batches.preview(_filter(form))
        except batches.BatchError as exc:
            db.session.rollback()
            _field_error(form, exc, "kind")
        except PdfError as exc:
            db.session.rollback()
            _field_error(form, PdfFailed(f"The PDF could not be made, so nothing was marked printed: {exc}"))
    if preview is None and not form.errors:
        preview = batches.preview(_filter(form))
    return htmx.render("printing/new_batch.html", "preview", form=form, preview=preview,
                       labels=POSTAGE_CATEGORIES)


class PdfFailed(ValueError):
    field = "submit"


def _batch_or_404(batch_id: int) -> PrintBatch:
    batch = batches.get_batch(batch_id)
    if batch is None:
        abort(404)
    return batch


def _batch_page(batch: PrintBatch, form: ReprintForm | None = None):
    return htmx.render("printing/batch_page.html", None, batch=batch, envelopes=batches.envelopes_of(batch),
                       permits=batches.permits_of(batch), reprints=batches.reprints_of(batch),
                       form=form or ReprintForm(formdata=None), done=request.args.get("done"))


@bp.get("/batches/<int:batch_id>")
@allow(*PRINTERS)
def batch(batch_id: int):
    return _batch_page(_batch_or_404(batch_id))


@bp.get("/batches/<int:batch_id>/pdf")
@allow(*PRINTERS)
def batch_pdf(batch_id: int):
    batch = _batch_or_404(batch_id)
    pdf = batches.batch_pdf(batch)
    if not pdf:
        abort(404)  # every customer in it was emailed: there is no paper PDF
    return pdf_response(pdf, f"{batch.number}.pdf")


@bp.post("/batches/<int:batch_id>/reprint")
@allow(*PRINTERS)
def reprint_batch(batch_id: int):
    batch = _batch_or_404(batch_id)
    form = ReprintForm()
    if form.validate_on_submit():
        try:
            reprint = batches.reprint_batch(current_user, batch, form.reason.data)
            db.session.commit()
            return htmx.redirect_response(url_for("printing.reprint", reprint_id=reprint.id))
        except batches.BatchError as exc:
            db.session.rollback()
            batch = _batch_or_404(batch_id)
            _field_error(form, exc, "reason")
    return _batch_page(batch, form)


def _permit_or_404(permit_id: int) -> Permit:
    permit = db.session.get(Permit, permit_id)
    if permit is None:
        abort(404)
    return permit


@bp.route("/permits/<int:permit_id>/reprint", methods=["GET", "POST"])
@allow(*PRINTERS)
def reprint_permit(permit_id: int):
    permit = _permit_or_404(permit_id)
    form = ReprintForm()
    if form.validate_on_submit():
        try:
            reprint = batches.reprint_permit(current_user, permit, form.reason.data)
            db.session.commit()
            return htmx.redirect_response(url_for("printing.reprint", reprint_id=reprint.id))
        except (batches.BatchError, PdfError) as exc:
            db.session.rollback()
            permit = _permit_or_404(permit_id)
            _field_error(form, exc, "reason")
    return htmx.render("printing/reprint_permit.html", None, form=form, permit=permit)


@bp.get("/permits/<int:permit_id>/permit.pdf")
@allow(*PRINTERS)
def permit_pdf(permit_id: int):
    """The permit alone, to check before printing; marks nothing printed."""
    permit = _permit_or_404(permit_id)
    kind = "resident_permit" if permit.kind == "resident" else "visitor_permit"
    pdf = documents.render_single(kind, rules_in_force(), permit=documents.permit_doc(permit))
    return pdf_response(pdf, f"permit-{permit.number}.pdf")


def _reprint_or_404(reprint_id: int) -> Reprint:
    reprint = db.session.get(Reprint, reprint_id)
    if reprint is None:
        abort(404)
    return reprint


@bp.get("/reprints/<int:reprint_id>")
@allow(*PRINTERS)
def reprint(reprint_id: int):
    return htmx.render("printing/reprint.html", None, reprint=_reprint_or_404(reprint_id))


@bp.get("/reprints/<int:reprint_id>/pdf")
@allow(*PRINTERS)
def reprint_pdf(reprint_id: int):
    reprint = _reprint_or_404(reprint_id)
    pdf = batches.reprint_pdf(reprint)
    if not pdf:
        abort(404)
    name = f"reprint-{reprint.batch.number}.pdf" if reprint.batch_id else f"reprint-{reprint.permit.number}.pdf"
    return pdf_response(pdf, name)


# ---------------------------------------------------------------- postage ledger

def _year_arg() -> int:
    year = request.args.get("year", type=int)
    current = postage.financial_year_of(utcnow().astimezone(LONDON).date())
    return year if year and 2000 <= year <= current + 1 else current


def _entry_form(year: int, form: PostageEntryForm | None = None) -> PostageEntryForm:
    form = form or PostageEntryForm(formdata=None)
    form.period.choices = [("", "Choose a month"), ("year", f"Whole year {postage.year_label(year)}")] + [
        (m.strftime("%Y-%m"), m.strftime("%B %Y")) for m in postage.months_of(year)]
    return form


def _ledger_page(year: int, form: PostageEntryForm | None = None, status: int = 200):
    book = postage.ledger(year)
    may_add = current_user.has_role(*BUDGET_HOLDERS)
    return htmx.render("printing/postage.html", None, status=status, book=book, year=year,
                       form=_entry_form(year, form), may_add=may_add, categories=POSTAGE_CATEGORIES,
                       year_label=postage.year_label, done=request.args.get("done"))


@bp.get("/postage", endpoint="postage")
@allow(*LEDGER_READERS)
def postage_ledger():
    return _ledger_page(_year_arg())


@bp.get("/postage.csv")
@allow(*LEDGER_READERS)
def postage_csv():
    year = _year_arg()
    body = postage.ledger_csv(postage.ledger(year))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="postage-{postage.year_label(year)}.csv"'
    return response


@bp.post("/postage/entries")
@allow(*BUDGET_HOLDERS)
def add_postage():
    year = _year_arg()
    form = _entry_form(year, PostageEntryForm())
    if form.validate_on_submit():
        period = form.period.data
        try:
            month = None if period == "year" else date.fromisoformat(period + "-01")
        except ValueError:
            month = None
            _field_error(form, postage.PostageError("Choose a month from the list", "period"))
        if not form.errors:
            try:
                postage.add_entry(current_user, financial_year=year, month=month, category=form.category.data,
                                  amount_pence=form.amount.data, items=form.items.data, note=form.note.data or "")
                db.session.commit()
                return htmx.redirect_response(url_for("printing.postage", year=year, done="added"))
            except postage.PostageError as exc:
                db.session.rollback()
                _field_error(form, exc)
    return _ledger_page(year, form)


# ---------------------------------------------------------------- stationery

def _order_form(form: StationeryOrderForm | None = None) -> StationeryOrderForm:
    form = form or StationeryOrderForm(formdata=None)
    form.stock_code.choices = [("", "Not a stock item")] + [(i.code, i.title) for i in stationery.stock_items()]
    return form


def _count_form(form: StockCountForm | None = None) -> StockCountForm:
    form = form or StockCountForm(formdata=None, prefix="count")
    form.stock_code.choices = [("", "Choose a stock item")] + [(i.code, i.title) for i in stationery.stock_items()]
    return form


def _stationery_page(*, order_form=None, count_form=None, action_error=None):
    year = _year_arg()
    orders = stationery.orders_for_year(year)
    return htmx.render("printing/stationery.html", None, year=year, year_label=postage.year_label, orders=orders,
                       spend=stationery.monthly_spend(orders, year), stock=stationery.stock_levels(),
                       order_form=_order_form(order_form), count_form=_count_form(count_form),
                       action_form=ActionForm(formdata=None), statuses=ORDER_STATUSES,
                       finance=rules_in_force().finance, may_approve=current_user.has_role(*BUDGET_HOLDERS),
                       form=order_form or count_form, action_error=action_error, done=request.args.get("done"))


@bp.get("/stationery", endpoint="stationery")
@allow(*PRINTERS)
def stationery_page():
    return _stationery_page()


@bp.post("/stationery/orders")
@allow(*PRINTERS)
def log_order():
    form = _order_form(StationeryOrderForm())
    if form.validate_on_submit():
        try:
            stationery.log_order(current_user, item=form.item.data or "", stock_code=form.stock_code.data or "",
                                 quantity=form.quantity.data, cost_pence=form.cost.data,
                                 ordered_on=form.ordered_on.data, note=form.note.data or "")
            db.session.commit()
            return htmx.redirect_response(url_for("printing.stationery", done="ordered"))
        except stationery.StationeryError as exc:
            db.session.rollback()
            _field_error(form, exc)
    return _stationery_page(order_form=form)


def _order_action(order_id: int, act, done: str):
    order = db.session.get(StationeryOrder, order_id)
    if order is None:
        abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            act(current_user, order)
            db.session.commit()
            return htmx.redirect_response(url_for("printing.stationery", done=done))
        except stationery.StationeryError as exc:
            db.session.rollback()
            return _stationery_page(action_error=f"Order {order_id}: {exc}")
    return _stationery_page(action_error="The form had expired: try again")


@bp.post("/stationery/orders/<int:order_id>/approve")
@allow(*BUDGET_HOLDERS)
def approve_order(order_id: int):
    return _order_action(order_id, stationery.approve_order, "approved")


@bp.post("/stationery/orders/<int:order_id>/receive")
@allow(*PRINTERS)
def receive_order(order_id: int):
    return _order_action(order_id, stationery.receive_order, "received")


@bp.post("/stationery/stock")
@allow(*BUDGET_HOLDERS)
def count_stock():
    form = _count_form(StockCountForm(prefix="count"))
    if form.validate_on_submit():
        try:
            stationery.count_stock(current_user, form.stock_code.data, form.counted.data, form.note.data or "")
            db.session.commit()
            return htmx.redirect_response(url_for("printing.stationery", done="counted"))
        except stationery.StationeryError as exc:
            db.session.rollback()
            _field_error(form, exc)
    return _stationery_page(count_form=form)


__all__ = ["bp"]
