"""Pages of the contacts area: the enquiries log (quick entry, reply queue, volumes) and cash payments
taken by exception (receipts, approval, reversal, the daily cash-up). Thin: each view reads its form,
calls a service in enquiries.py or cash.py and renders."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from .. import audit, htmx
from ..auth.access import allow
from ..extensions import db
from ..navigation import register_area
from ..pdf import pdf_response, render_pdf
from ..service_rules import rules_in_force
from ..timefmt import utcnow
from . import cash, enquiries
from .forms import ApproveForm, CashPaymentForm, CashUpForm, EnquiryForm, ReplyForm, ReverseForm, VolumesForm
from .models import CashReceipt, Enquiry

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
register_area("Enquiries", "contacts.enquiries",
              "Log calls, emails, letters and counter visits as they happen; replies due and volumes.")
register_area("Enquiry replies", "contacts.reply_queue", "Enquiries waiting for a reply, soonest due first.",
              in_navigation=False)
register_area("Enquiry volumes", "contacts.volumes", "Contacts by channel and category, per day, week or month.",
              in_navigation=False)
register_area("Cash payments", "contacts.cash_payments",
              "Cash taken by exception for enforcement charges: receipts, approval and the daily cash-up.",
              in_navigation=False)

ENTRY = enquiries.ENTRY_ROLES
APPROVERS = cash.APPROVER_PAGE_ROLES


def _put_errors(form, errors: dict[str, str], fallback: str) -> None:
    """Puts a service's refusal on the field it names."""
    for key, message in errors.items():
        field = form._fields.get(key) or form._fields[fallback]
        field.errors = list(field.errors) + [message]


def _today() -> date:
    return enquiries.london_day(utcnow())


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


# ------------------------------------------------------------------------------------- enquiries
def _enquiry_form(rules, *, fresh: bool = False) -> EnquiryForm:
    """The quick-entry form; `fresh` ignores what was posted (the cleared form after a save)."""
    form = EnquiryForm(formdata=None) if fresh else EnquiryForm()
    form.category.choices = [("", "Select a category")] + list(rules.enquiries.categories.items())
    return form


@bp.route("/enquiries", methods=["GET", "POST"], endpoint="enquiries")
@allow(*ENTRY)
def enquiries_desk():
    """The quick-entry desk. With htmx a save answers with the cleared form and today's list, the first
    field focused, so the next call is logged without touching the mouse; without JS it is a 303."""
    rules = rules_in_force()
    form = _enquiry_form(rules)
    logged = None
    if request.method == "POST" and form.validate_on_submit():
        data = enquiries.NewEnquiry(channel=form.channel.data, category=form.category.data, summary=form.summary.data,
                                    handling_minutes=form.handling_minutes.data, reference=form.reference.data or "",
                                    outcome=form.outcome.data or "", needs_reply=bool(form.needs_reply.data))
        try:
            logged = enquiries.log_enquiry(current_user, data)
            db.session.commit()
        except enquiries.ContactError as exc:
            db.session.rollback()
            _put_errors(form, exc.errors, "summary")
        else:
            if not htmx.is_partial():
                return htmx.redirect_response(url_for("contacts.enquiries", logged=logged.id))
            form = _enquiry_form(rules, fresh=True)
    elif request.method == "GET" and request.args.get("logged", "").isdigit():
        logged = db.session.get(Enquiry, int(request.args["logged"]))
        if logged is not None and logged.logged_by_id != current_user.id:
            logged = None
    rows, count, minutes = enquiries.todays_contacts(current_user)
    return htmx.render("contacts/enquiries.html", "desk", form=form, rows=rows, count=count, minutes=minutes,
                       logged=logged, saved=logged is not None and request.method == "POST", rules=rules,
                       open_replies=enquiries.reply_queue(per_page=1).total)



@bp.get("/enquiries/<int:enquiry_id>")
@allow(*ENTRY)
def enquiry(enquiry_id: int):
    item = _enquiry_or_404(enquiry_id)
    return _show_enquiry(item, ReplyForm())


def _enquiry_or_404(enquiry_id: int) -> Enquiry:
    item = db.session.get(Enquiry, enquiry_id, options=[joinedload(Enquiry.logged_by), joinedload(Enquiry.customer),
                                                        joinedload(Enquiry.application)])
    if item is None:
        abort(404)
    return item


def _show_enquiry(item: Enquiry, form: ReplyForm, status: int = 200):
    rules = rules_in_force(item.contacted_at)
    return htmx.render("contacts/enquiry.html", "reply_form", item=item, form=form, rules=rules,
                       clock=enquiries.reply_clock(item, utcnow()), entries=audit.entries_for("enquiry", item.id),
                       status=status)


@bp.post("/enquiries/<int:enquiry_id>/reply")
@allow(*ENTRY)
def reply(enquiry_id: int):
    item = _enquiry_or_404(enquiry_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            enquiries.mark_replied(current_user, item, note=form.note.data)
            db.session.commit()
        except enquiries.ContactError as exc:
            db.session.rollback()
            item = _enquiry_or_404(enquiry_id)
            _put_errors(form, exc.errors, "note")
        else:
            return htmx.redirect_response(url_for("contacts.enquiry", enquiry_id=item.id, done="replied"))
    return _show_enquiry(item, form)


@bp.get("/enquiries/replies")
@allow(*ENTRY)
def reply_queue():
    page = enquiries.reply_queue(utcnow(), request.args.get("after"))
    return htmx.render("contacts/replies.html", "queue", page=page)


@bp.get("/enquiries/volumes")
@allow(*enquiries.VOLUME_READERS)
def volumes():
    """Volumes by channel and category; the period defaults to the last 8 weeks to today."""
    form = VolumesForm(request.args)
    form.validate()
    period = form.period.data if form.period.data in ("day", "week", "month") else "week"
    errors = {}
    today = _today()
    start_text, end_text = request.args.get("from", ""), request.args.get("to", "")
    start = _parse_day(start_text) if start_text else today - timedelta(weeks=8)
    end = _parse_day(end_text) if end_text else today
    if start is None:
        errors["from"] = "From must be a real date, like 2017-04-03"
    if end is None:
        errors["to"] = "To must be a real date, like 2017-04-30"
    if start and end and end < start:
        errors["to"] = "To must be on or after From"
    if start and end and (end - start).days > 366 * 3:
        errors["to"] = "Choose a period of three years or less"
    data = None if errors else enquiries.enquiry_volumes(start, end)
    return htmx.render("contacts/volumes.html", "volumes", form=form, period=period, data=data, errors=errors,
                       start_text=start_text or (start.isoformat() if start else ""),
                       end_text=end_text or (end.isoformat() if end else ""))


# ------------------------------------------------------------------------------------- cash
@bp.get("/cash")
@allow(*ENTRY)
def cash_payments():
    today = _today()
    before = request.args.get("before", type=int)
    open_days, open_total = cash.open_days(today)
    return htmx.render("contacts/cash.html", "receipts", today=today, cash_up=cash.cash_up_for(today),
                       awaiting=cash.awaiting_approval(), open_days=open_days, open_total=open_total,
                       page=cash.recent_receipts(before), status_words=cash.STATUS_WORDS,
                       status_colours=cash.STATUS_COLOURS)


@bp.route("/cash/new", methods=["GET", "POST"])
@allow(*ENTRY)
def take_cash():
    rules = rules_in_force()
    form = CashPaymentForm()
    if form.validate_on_submit():
        data = cash.NewPayment(pcn=form.pcn.data, amount_pence=form.amount.pence, payer_name=form.payer_name.data,
                               reason=form.reason.data)
        try:
            receipt = cash.take_payment(current_user, data)
            db.session.commit()
        except cash.CashError as exc:
            db.session.rollback()
            _put_errors(form, exc.errors, "reason")
        else:
            return htmx.redirect_response(url_for("contacts.cash_receipt", receipt_id=receipt.id, done="taken"))
    return htmx.render("contacts/take_cash.html", "cash_form", form=form, rules=rules)


def _receipt_or_404(receipt_id: int) -> CashReceipt:
    receipt = db.session.get(CashReceipt, receipt_id, options=[joinedload(CashReceipt.taken_by),
                                                               joinedload(CashReceipt.approved_by),
                                                               joinedload(CashReceipt.reverses)])
    if receipt is None:
        abort(404)
    return receipt


def _show_receipt(receipt: CashReceipt, *, approve_form=None, reverse_form=None, approve_error: str = ""):
    from sqlalchemy import select

    reversal = db.session.scalar(select(CashReceipt).where(CashReceipt.reverses_id == receipt.id))
    return htmx.render("contacts/receipt.html", None, receipt=receipt, reversal=reversal,
                       approve_form=approve_form or ApproveForm(), reverse_form=reverse_form or ReverseForm(),
                       form=reverse_form, approve_error=approve_error,
                       approve_problem=cash.may_approve(current_user, receipt),
                       reverse_problem=cash.may_reverse(receipt), day_closed=cash.day_is_closed(receipt.business_day),
                       entries=audit.entries_for("cash_receipt", receipt.id), status_words=cash.STATUS_WORDS,
                       status_colours=cash.STATUS_COLOURS)


@bp.get("/cash/<int:receipt_id>")
@allow(*ENTRY)
def cash_receipt(receipt_id: int):
    return _show_receipt(_receipt_or_404(receipt_id))


@bp.get("/cash/<int:receipt_id>/receipt.pdf")
@allow(*ENTRY)
def receipt_pdf(receipt_id: int):
    receipt = _receipt_or_404(receipt_id)
    pdf = render_pdf("contacts/receipt_pdf.html", receipt=receipt, rules=rules_in_force(receipt.taken_at))
    return pdf_response(pdf, f"cash-receipt-{receipt.receipt_number}.pdf")


@bp.post("/cash/<int:receipt_id>/approve")
@allow(*APPROVERS)
def approve_cash(receipt_id: int):
    receipt = _receipt_or_404(receipt_id)
    form = ApproveForm()
    error = ""
    if form.validate_on_submit():
        try:
            cash.approve(current_user, receipt)
            db.session.commit()
        except cash.CashError as exc:
            db.session.rollback()
            receipt = _receipt_or_404(receipt_id)
            error = "; ".join(exc.errors.values())
        else:
            return htmx.redirect_response(url_for("contacts.cash_receipt", receipt_id=receipt.id, done="approved"))
    else:
        error = "The form had expired: try again"
    return _show_receipt(receipt, approve_form=form, approve_error=error)


@bp.post("/cash/<int:receipt_id>/reverse")
@allow(*ENTRY)
def reverse_cash(receipt_id: int):
    receipt = _receipt_or_404(receipt_id)
    form = ReverseForm()
    if form.validate_on_submit():
        try:
            reversal = cash.reverse(current_user, receipt, reason=form.reason.data)
            db.session.commit()
        except cash.CashError as exc:
            db.session.rollback()
            receipt = _receipt_or_404(receipt_id)
            _put_errors(form, exc.errors, "reason")
        else:
            return htmx.redirect_response(url_for("contacts.cash_receipt", receipt_id=reversal.id, done="reversal"))
    return _show_receipt(receipt, reverse_form=form)


def _cash_up_form(formdata=None) -> CashUpForm:
    form = CashUpForm(formdata=formdata) if formdata is not None else CashUpForm()
    form.banked_by.choices = [("", "Select who banked the cash")] + [(str(u.id), u.full_name) for u in cash.bankers()]
    return form


@bp.get("/cash/cash-up")
@allow(*ENTRY)
def cash_up():
    day = _parse_day(request.args.get("day")) or _today()
    form = _cash_up_form()
    if not form.banked_by.data:
        form.banked_by.data = str(current_user.id)
    return _show_cash_up(day, form)


def _show_cash_up(day: date, form: CashUpForm):
    summary = cash.cash_up_for(day)
    form.expected_count.data = str(summary.receipt_count)
    form.expected_total.data = str(summary.recorded_total_pence)
    return htmx.render("contacts/cash_up.html", "cash_up_form", day=day, summary=summary, form=form,
                       may_close=current_user.has_role(*rules_in_force(day).cash_exceptions.approver_roles),
                       today=_today(), difference_words=cash.difference_words, status_words=cash.STATUS_WORDS,
                       status_colours=cash.STATUS_COLOURS, entries=(audit.entries_for("cash_day", summary.cash_day.id)
                                                                    if summary.cash_day else []))


@bp.post("/cash/cash-up")
@allow(*APPROVERS)
def close_cash_up():
    day = _parse_day(request.form.get("day"))
    if day is None:
        abort(404)
    form = _cash_up_form()
    if form.validate_on_submit():
        def whole(text):
            return int(text) if (text or "").lstrip("-").isdigit() else None

        data = cash.Closing(counted_pence=form.counted.pence, explanation=form.explanation.data or "",
                            banked_by_id=whole(form.banked_by.data), bag_number=form.bag_number.data,
                            expected_count=whole(form.expected_count.data),
                            expected_total_pence=whole(form.expected_total.data))
        try:
            cash.close_day(current_user, day, data)
            db.session.commit()
        except cash.CashError as exc:
            db.session.rollback()
            _put_errors(form, exc.errors, "counted")
        else:
            return htmx.redirect_response(url_for("contacts.cash_up", day=day.isoformat(), done="closed"))
    return _show_cash_up(day, form)
