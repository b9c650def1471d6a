"""The one mailer: every email is an outbox row written in the same transaction as its cause.

Why an outbox rather than sending from the view: an email about a change that was rolled back
must never go, and one about a change that was committed must never be lost. So `queue_email`
only adds a row to the caller's session. When that session commits, the messages it queued are
sent straight away on a fresh connection; if the mail server is down they wait, and
`flask --app wsgi outbox flush` (cron) retries them with back-off.

Delivery is at least once: the Message-ID is fixed when the message is queued, and a message is
sent again only if the server's acceptance was not recorded (e.g. the process died between the
server saying 250 and the row being marked sent). Several app servers may flush at once: a row
is claimed by a conditional UPDATE whose row count says who won (SELECT ... FOR UPDATE does
nothing on SQLite), and an abandoned claim expires after a few minutes.
"""
from __future__ import annotations

import json
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Iterable, Sequence

from flask import current_app, has_app_context
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, and_, event, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .dbtypes import UTCDateTime
from .extensions import db
from .timefmt import utcnow

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATUSES = (PENDING, SENDING, SENT, FAILED)
MAX_ATTEMPTS = 10  # then 'failed': nobody is retrying it, but a person can
MAX_BACKOFF_MINUTES = 60
CLAIM = timedelta(minutes=5)  # long enough for one SMTP conversation with attachments
FLUSH_LIMIT = 1000  # one cron run stops here; the next carries on
_SESSION_KEY = "outbox_queued_message_ids"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_status_id", "status", "id"),
        Index("ix_outbox_message_related", "related_type", "related_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str] = mapped_column(String(320))
    to_json: Mapped[str] = mapped_column(Text)
    cc_json: Mapped[str] = mapped_column(Text, default="[]")
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    related_type: Mapped[str | None] = mapped_column(String(60))
    related_id: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="OutboxAttachment.id")

    @property
    def to(self) -> list[str]:
        return json.loads(self.to_json)

    @property
    def cc(self) -> list[str]:
        return json.loads(self.cc_json or "[]")

    @property
    def can_retry(self) -> bool:
        return self.status in (PENDING, FAILED)


class OutboxAttachment(db.Model):
    __tablename__ = "outbox_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")


# --- queueing ---------------------------------------------------------------------------------

def _addresses(value: str | Iterable[str], what: str) -> list[str]:
    """Checks addresses now, in the caller's transaction, rather than failing forever later."""
    items = [value] if isinstance(value, str) else list(value or ())
    out = []
    for item in items:
        text = (item or "").strip()
        if not text:
            continue
        if "\r" in text or "\n" in text:
            raise ValueError(f"{what}: an address may not contain a line break")
        parsed = getaddresses([text])
        if len(parsed) != 1 or "@" not in parsed[0][1] or " " in parsed[0][1]:
            raise ValueError(f"{what}: {text!r} is not an email address")
        out.append(text)
    return out


def _message_id_domain(sender: str) -> str:
    configured = current_app.config.get("MAIL_MESSAGE_ID_DOMAIN")
    if configured:
        return configured
    address = getaddresses([sender])[0][1]
    return address.rpartition("@")[2] or "localhost"


def queue_email(to: Sequence[str] | str, subject: str, body_text: str, *, body_html: str | None = None,
                attachments: Sequence[tuple[str, str, bytes]] = (), cc: Sequence[str] | str = (),
                related_type: str | None = None, related_id: str | None = None,
                reply_to: str | None = None) -> OutboxMessage:
    """Adds a message to the caller's session; it is sent after the caller commits, never before.

    `attachments` are (filename, content type, bytes), e.g. ("permit.pdf", "application/pdf", pdf).
    Raises ValueError for a message that could never be sent (no recipient, bad address, a line
    break in the subject, a malformed content type).
    """
    recipients = _addresses(to, "to")
    if not recipients:
        raise ValueError("to: at least one recipient is needed")
    copies = _addresses(cc, "cc")
    reply = _addresses(reply_to, "reply_to")[0] if reply_to else None
    subject = (subject or "").strip()
    if not subject:
        raise ValueError("subject: a subject is needed")
    if "\r" in subject or "\n" in subject:
        raise ValueError("subject: may not contain a line break")
    sender = current_app.config["MAIL_SENDER"]
    message = OutboxMessage(
        message_id=make_msgid(domain=_message_id_domain(sender)),
        sender=sender, to_json=json.dumps(recipients), cc_json=json.dumps(copies), reply_to=reply,
        subject=subject, body_text=body_text or "", body_html=body_html,
        related_type=related_type, related_id=str(related_id) if related_id is not None else None,
        status=PENDING, attempts=0, created_at=utcnow(), next_attempt_at=utcnow(),
    )
    for filename, content_type, content in attachments:
        maintype, _, subtype = (content_type or "").partition("/")
        if not maintype or not subtype or "\n" in content_type:
            raise ValueError(f"attachments: {content_type!r} is not a content type like application/pdf")
        if not filename or "\n" in filename or "\r" in filename:
            raise ValueError(f"attachments: {filename!r} is not a file name")
        message.attachments.append(OutboxAttachment(filename=filename, content_type=content_type,
                                                    size=len(content), content=bytes(content)))
    db.session.add(message)
    _remember(db.session(), message.message_id)
    return message


def make_due(message: OutboxMessage) -> None:
    """Makes a pending or failed message due now, in the caller's session; tried after commit."""
    if not message.can_retry:
        raise ValueError(f"message {message.id} is {message.status}; only pending or failed messages can be retried")
    message.status = PENDING
    message.next_attempt_at = utcnow()
    message.claimed_until = None
    message.claim_token = None
    _remember(db.session(), message.message_id)


def _remember(session: Session, message_id: str) -> None:
    session.info.setdefault(_SESSION_KEY, []).append(message_id)


@event.listens_for(db.session, "after_commit")
def _send_after_commit(session: Session) -> None:
    """Sends what this transaction queued; never lets a mail problem reach the committed caller."""
    if session.in_nested_transaction():
        return  # a savepoint was released: the outer transaction can still roll back
    queued = session.info.pop(_SESSION_KEY, None)
    if not queued or not has_app_context():
        return
    try:
        deliver_queued(queued)
    except Exception:  # the commit has happened; the cron flush will try again
        log.exception("sending %d queued email(s) after commit failed; left for outbox flush", len(queued))


@event.listens_for(db.session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    # A savepoint rolled back leaves the rest of the transaction standing; what it queued is
    # gone from the database, and sending looks rows up, so it cannot be sent by mistake.
    if not session.in_nested_transaction():
        session.info.pop(_SESSION_KEY, None)


# --- sending ----------------------------------------------------------------------------------

@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    waiting: int = 0

    def summary(self) -> str:
        return f"sent {self.sent}, failed {self.failed}, waiting {self.waiting}"


def _due_condition(now: datetime):
    return or_(and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
               and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_until < now))


def _claim(engine, row_id: int) -> str | None:
    """Takes the row for this process, or returns None if another one has it (or it is not due)."""
    token = uuid.uuid4().hex
    now = utcnow()
    with Session(engine) as s, s.begin():
        result = s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, _due_condition(now))
            .values(status=SENDING, claimed_until=now + CLAIM, claim_token=token)
            .execution_options(synchronize_session=False))
        return token if result.rowcount == 1 else None


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES))


def _record(engine, row_id: int, token: str, error: str | None, *, permanent: bool = False) -> str:
    """Writes the outcome of one attempt, if our claim still stands; returns the new status."""
    now = utcnow()
    with Session(engine) as s, s.begin():
        attempts = s.scalar(select(OutboxMessage.attempts).where(OutboxMessage.id == row_id)) or 0
        attempts += 1
        if error is None:
            values = dict(status=SENT, sent_at=now)
        else:
            gave_up = permanent or attempts >= MAX_ATTEMPTS
            values = dict(status=FAILED if gave_up else PENDING, last_error=error[:2000],
                          next_attempt_at=now + _backoff(attempts))
        written = s.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == row_id, OutboxMessage.claim_token == token)
                            .values(attempts=attempts, last_attempt_at=now, claimed_until=None, claim_token=None,
                                    **values)
                            .execution_options(synchronize_session=False)).rowcount
        if written != 1:  # our claim ran out and another server took the message over
            log.warning("email %s: claim expired before the outcome (%s) was recorded", row_id, values["status"])
        return values["status"]


def build_email(message: OutboxMessage) -> EmailMessage:
    """The MIME message as it goes on the wire; the same bytes-to-be on every attempt."""
    email = EmailMessage()
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    email["From"] = message.sender
    email["To"] = ", ".join(message.to)
    if message.cc:
        email["Cc"] = ", ".join(message.cc)
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email["Subject"] = message.subject
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return email


class _Connection:
    """One SMTP conversation per run, opened on first use; settings from app.config."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def send(self, email: EmailMessage, sender: str, recipients: list[str]) -> dict:
        if self.smtp is None:
            self.smtp = self._open()
        return self.smtp.send_message(email, from_addr=sender, to_addrs=recipients)

    def _open(self) -> smtplib.SMTP:
        c = self.config
        host, port, timeout = c["MAIL_SERVER"], int(c["MAIL_PORT"]), float(c.get("MAIL_TIMEOUT", 10))
        context = ssl.create_default_context()
        if c.get("MAIL_USE_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if c.get("MAIL_USE_TLS"):
                smtp.starttls(context=context)
        if c.get("MAIL_USERNAME"):
            smtp.login(c["MAIL_USERNAME"], c.get("MAIL_PASSWORD") or "")
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def reset(self) -> None:
        """After a refusal about one message, so the next starts a clean transaction."""
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.broken()

    def broken(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None


def _describe(exc: BaseException) -> str:
    """An error for the outbox page: what the server or network said, never the credentials."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "all recipients refused: " + "; ".join(
            f"{addr} ({code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg})"
            for addr, (code, msg) in exc.recipients.items())
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _attempt(engine, connection: _Connection, row_id: int, token: str) -> tuple[str, bool]:
    """Sends one claimed message; returns (new status, whether the server is unreachable)."""
    with Session(engine) as s:
        message = s.get(OutboxMessage, row_id)
        email = build_email(message)
        sender, recipients = message.sender, message.to + message.cc
        s.rollback()  # end the read transaction (and any SQLite lock) before talking to the network
    try:
        refused = connection.send(email, sender, recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        permanent = all(500 <= code < 600 for code, _ in exc.recipients.values())
        connection.reset()
        return _record(engine, row_id, token, _describe(exc), permanent=permanent), False
    except (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError) as exc:
        connection.broken()  # our settings or the server, not this message
        return _record(engine, row_id, token, _describe(exc)), True
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused: about this message
        connection.reset()
        permanent = 500 <= exc.smtp_code < 600
        return _record(engine, row_id, token, _describe(exc), permanent=permanent), False
    except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, timed out, dropped
        connection.broken()
        return _record(engine, row_id, token, _describe(exc)), True
    if refused:
        log.warning("email %s: some recipients refused: %s", row_id, ", ".join(refused))
    return _record(engine, row_id, token, None), False


def _deliver(ids: list[int], result: FlushResult) -> bool:
    """Claims and sends each message in turn; returns True if it stopped because the server is down."""
    engine = db.engine
    connection = _Connection(current_app.config)
    try:
        for row_id in ids:
            token = _claim(engine, row_id)
            if token is None:
                continue  # another server has it, or it is no longer due
            try:
                status, server_down = _attempt(engine, connection, row_id, token)
            except Exception as exc:  # a bug building one message must not stop the rest
                log.exception("email %s could not be sent", row_id)
                status, server_down = _record(engine, row_id, token, _describe(exc)), False
            if status == SENT:
                result.sent += 1
            else:
                result.failed += 1
                log.warning("email %s not sent, now %s", row_id, status)
            if server_down:
                return True  # the rest wait for the next run rather than each timing out
        return False
    finally:
        connection.close()


def deliver_queued(message_ids: Iterable[str]) -> FlushResult:
    """Sends the given messages (by Message-ID) if they are due; used right after a commit."""
    result = FlushResult()
    wanted = list(dict.fromkeys(message_ids))
    if wanted:
        with Session(db.engine) as s:
            ids = list(s.scalars(select(OutboxMessage.id).where(OutboxMessage.message_id.in_(wanted))
                                 .order_by(OutboxMessage.id)))
            s.rollback()
        _deliver(ids, result)
    return result


def flush(limit: int = FLUSH_LIMIT) -> FlushResult:
    """Sends every due message, oldest first; safe to run on several servers at once.

    Each message is tried at most once per run, so a run always ends.
    """
    result = FlushResult()
    tried: set[int] = set()
    while len(tried) < limit:
        with Session(db.engine) as s:
            due = s.scalars(select(OutboxMessage.id).where(_due_condition(utcnow()), OutboxMessage.id.not_in(tried))
                            .order_by(OutboxMessage.id).limit(min(200, limit - len(tried)))).all()
            s.rollback()
        if not due:
            break
        tried.update(due)
        if _deliver(list(due), result):
            break
    with Session(db.engine) as s:
        result.waiting = s.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status.in_((PENDING, SENDING)))) or 0
        s.rollback()
    return result
