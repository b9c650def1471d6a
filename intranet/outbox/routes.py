"""The outbox page: what the service has emailed, what is waiting and why, and a way to retry."""
from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_login import current_user

from .. import htmx
from ..auth.access import allow
from ..auth.roles import ADMIN, SERVICE_MANAGER, TEAM_LEADER
from ..extensions import db
from ..mail import OutboxMessage
from ..navigation import register_area
from ..pagination import keyset_page
from . import services
from .forms import OutboxFilterForm

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")
register_area("Outbox", "outbox.index", "Emails waiting, sent and failed.")

READERS = (ADMIN, SERVICE_MANAGER, TEAM_LEADER)


@bp.get("")
@allow(*READERS)
def index():
    form = OutboxFilterForm(request.args)
    form.validate()
    page = keyset_page(services.messages(form.status.data or ""), OutboxMessage.id,
                       request.args.get("before", type=int), per_page=50)
    return htmx.render("outbox/index.html", "results", form=form, page=page,
                       labels=services.STATUS_LABELS, tags=services.STATUS_TAGS)


def _message_or_404(message_id: int) -> OutboxMessage:
    message = services.find(message_id)
    if message is None:
        abort(404)
    return message


@bp.get("/<int:message_id>")
@allow(*READERS)
def message(message_id: int):
    return htmx.render("outbox/message.html", None, message=_message_or_404(message_id),
                       labels=services.STATUS_LABELS, tags=services.STATUS_TAGS,
                       retried=request.args.get("retried"), error=None)


@bp.post("/<int:message_id>/retry")
@allow(*READERS)
def retry(message_id: int):
    message = _message_or_404(message_id)
    try:
        services.retry(current_user, message)
    except ValueError as exc:
        db.session.rollback()
        return htmx.render("outbox/message.html", None, message=message, labels=services.STATUS_LABELS,
                           tags=services.STATUS_TAGS, retried=None, error=str(exc))
    db.session.commit()  # the mailer tries it as soon as this commits
    return htmx.redirect_response(url_for("outbox.message", message_id=message_id, retried=1))
