"""What the outbox page and commands do with messages; the mailer itself is intranet/mail.py."""
from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import defer

from .. import audit, mail
from ..extensions import db
from ..mail import OutboxMessage

STATUS_LABELS = {mail.PENDING: "Waiting", mail.SENDING: "Sending", mail.SENT: "Sent", mail.FAILED: "Failed"}
STATUS_TAGS = {mail.PENDING: "govuk-tag--yellow", mail.SENDING: "govuk-tag--blue",
               mail.SENT: "govuk-tag--green", mail.FAILED: "govuk-tag--red"}


def messages(status: str = "") -> Select:
    """Newest first is applied by the pager; bodies stay in the database until a message is opened."""
    stmt = select(OutboxMessage).options(defer(OutboxMessage.body_text), defer(OutboxMessage.body_html))
    if status in STATUS_LABELS:
        stmt = stmt.where(OutboxMessage.status == status)
    return stmt


def find(message_id: int) -> OutboxMessage | None:
    return db.session.get(OutboxMessage, message_id)


def retry(actor, message: OutboxMessage) -> None:
    """Makes the message due now and audits it; it is tried as soon as the caller commits.

    Raises ValueError when the message is sent or being sent.
    """
    before = {"status": message.status, "next_attempt_at": message.next_attempt_at}
    mail.make_due(message)
    audit.record(actor, "outbox.retry", "outbox_message", message.id, before=before,
                 after={"status": message.status, "next_attempt_at": message.next_attempt_at},
                 summary=f"Asked for email {message.id} to be sent again now")
