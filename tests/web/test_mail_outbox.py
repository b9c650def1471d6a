"""The mailer against a real SMTP server on loopback, the outbox page and the outbox commands."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from intranet import mail
from intranet.audit import AuditEntry
from intranet.extensions import db
from intranet.mail import OutboxMessage, queue_email
from intranet.pdf import html_to_pdf
from intranet.timefmt import utcnow
from tests.smtp import free_port, smtp_server  # noqa: F401
from tests.support import HX, post_form

NAME = "Zoë Brontë-Ó Súilleabháin"


def _queue(n: int = 1, **kwargs) -> list[OutboxMessage]:
    to = kwargs.pop("to", "resident@example.org")
    subject = kwargs.pop("subject", None)
    return [queue_email(to, subject or f"Your permit {i}", f"Dear {NAME},\nLine two.", **kwargs) for i in range(n)]


def _server_down(app) -> None:
    app.config["MAIL_PORT"] = free_port()  # nothing listens there: connection refused at once


def _make_all_due() -> None:
    """Time passes: every waiting message's next try is now."""
    db.session.execute(update(OutboxMessage).where(OutboxMessage.status == mail.PENDING)
                       .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def _cli(runner, *args: str):
    """Runs a command as cron would: the test's own transaction (a SQLite write lock) ended first."""
    db.session.rollback()
    return runner.invoke(args=list(args))


def _row(message_id: int) -> OutboxMessage:
    db.session.rollback()
    return db.session.get(OutboxMessage, message_id)


def test_queued_message_is_sent_after_commit_with_attachment(app, smtp_server):
    pdf = html_to_pdf(f"<html><body><p>{NAME} £12.50</p></body></html>")
    [message] = _queue(to=["Zoë Resident <resident@example.org>"], cc=["parking@example.org"],
                       subject="Your permit – RP-1", body_html="<p>Your permit</p>", reply_to="desk@example.org",
                       attachments=[("permit RP-1.pdf", "application/pdf", pdf)], related_type="permit",
                       related_id=7)
    db.session.flush()
    assert smtp_server.messages == []  # not before the commit
    row_id, message_id = message.id, message.message_id
    assert message_id.startswith("<") and message_id.endswith("@oxfordshire.gov.uk>")
    db.session.commit()

    [received] = smtp_server.messages
    assert sorted(received.rcpt_tos) == ["parking@example.org", "resident@example.org"]
    assert received.mail_from == app.config["MAIL_SENDER"]
    email = received.message
    assert email["Subject"] == "Your permit – RP-1"
    assert email["Message-ID"] == message_id
    assert email["Reply-To"] == "desk@example.org"
    assert "Zoë Resident" in email["To"]
    assert email.get_body(("plain",)).get_content().startswith(f"Dear {NAME}")
    assert "<p>Your permit</p>" in email.get_body(("html",)).get_content()
    [attachment] = list(email.iter_attachments())
    assert attachment.get_filename() == "permit RP-1.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf

    row = _row(row_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None and row.related_id == "7"


def test_rolled_back_transaction_sends_nothing(app, smtp_server):
    _queue(2)
    db.session.rollback()
    db.session.commit()  # a later, unrelated commit must not send what was rolled back
    assert smtp_server.messages == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_server_down_keeps_message_then_flush_sends_it_exactly_once(app, smtp_server, runner):
    _server_down(app)
    [message] = _queue()
    db.session.commit()
    row = _row(message.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "refused" in row.last_error.lower()
    assert timedelta(seconds=50) < row.next_attempt_at - row.last_attempt_at <= timedelta(minutes=1)

    app.config["MAIL_PORT"] = smtp_server.port
    not_due_yet = _cli(runner, "outbox", "flush")
    assert not_due_yet.exit_code == 0 and not_due_yet.output.strip() == "sent 0, failed 0, waiting 1"
    _make_all_due()
    first = _cli(runner, "outbox", "flush")
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "sent 1, failed 0, waiting 0"
    second = _cli(runner, "outbox", "flush")
    assert second.output.strip() == "sent 0, failed 0, waiting 0"
    assert smtp_server.by_message_id() == {row.message_id: 1}  # the Message-ID fixed at queue time
    row = _row(message.id)
    assert (row.status, row.attempts) == ("sent", 2)


def test_back_off_doubles_to_an_hour_then_gives_up(app, runner):
    _server_down(app)
    [message] = _queue()
    db.session.commit()
    waits = []
    for _ in range(mail.MAX_ATTEMPTS - 1):
        row = _row(message.id)
        waits.append(round((row.next_attempt_at - row.last_attempt_at).total_seconds() / 60))
        _make_all_due()
        result = _cli(runner, "outbox", "flush")
        assert result.exit_code == 0
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    row = _row(message.id)
    assert (row.status, row.attempts) == ("failed", mail.MAX_ATTEMPTS)
    _make_all_due()
    assert _cli(runner, "outbox", "flush").output.strip() == "sent 0, failed 0, waiting 0"


def test_permanent_refusal_fails_at_once(app, smtp_server):
    smtp_server.refuse.add("nobody@example.org")
    [message] = _queue(to="nobody@example.org")
    db.session.commit()
    row = _row(message.id)
    assert row.status == "failed" and "550" in row.last_error and "nobody@example.org" in row.last_error


def test_two_flushes_racing_send_each_message_once(app, smtp_server):
    _server_down(app)
    messages = _queue(40)
    db.session.commit()
    ids = [m.message_id for m in messages]
    _make_all_due()
    app.config["MAIL_PORT"] = smtp_server.port
    results, errors = [], []
    start = threading.Barrier(2)
    db.session.rollback()

    def run():
        try:
            with app.app_context():
                start.wait()
                results.append(mail.flush())
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r.sent for r in results) == 40
    assert smtp_server.by_message_id() == {i: 1 for i in ids}


def test_abandoned_claim_is_sent_again_but_a_live_one_is_left(app, smtp_server, runner):
    _server_down(app)
    abandoned, live = _queue(2)
    db.session.commit()
    app.config["MAIL_PORT"] = smtp_server.port
    now = utcnow()
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == abandoned.id)
                       .values(status="sending", claimed_until=now - timedelta(seconds=1), claim_token="x"))
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == live.id)
                       .values(status="sending", claimed_until=now + timedelta(minutes=5), claim_token="y"))
    db.session.commit()
    assert _cli(runner, "outbox", "flush").output.strip() == "sent 1, failed 0, waiting 1"
    assert [r.message_id for r in smtp_server.messages] == [_row(abandoned.id).message_id]


@pytest.mark.parametrize("to, subject, error", [
    ([], "Hello", "at least one recipient"),
    ("not an address", "Hello", "not an email address"),
    ("a@example.org\nBcc: x@example.org", "Hello", "line break"),
    ("a@example.org", "Hello\nBcc: x@example.org", "line break"),
    ("a@example.org", "  ", "subject"),
])
def test_messages_that_could_never_be_sent_are_refused_when_queued(app, to, subject, error):
    with pytest.raises(ValueError, match=error):
        queue_email(to, subject, "body")


def test_bad_attachment_type_is_refused(app):
    with pytest.raises(ValueError, match="content type"):
        queue_email("a@example.org", "Hello", "body", attachments=[("a.pdf", "pdf", b"x")])


def test_outbox_page_lists_filters_and_paginates(app, client, login):
    login("team_leader")
    _server_down(app)
    _queue(55, subject="Renewal reminder")
    db.session.commit()
    failed = _queue(subject="Refused letter")[0]
    db.session.commit()
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == failed.id)
                       .values(status="failed", last_error="SMTP 550: No such mailbox"))
    db.session.commit()

    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "<title>Outbox" in page
    assert page.count("Renewal reminder") + page.count("Refused letter") == 50
    assert "Refused letter" in page  # newest first
    assert "Older emails" in page
    assert "govuk-tag--red" in page and "SMTP 550: No such mailbox" in page

    fragment = client.get("/admin/outbox?status=failed", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="outbox-results"')
    assert "Refused letter" in fragment and "Renewal reminder" not in fragment
    assert "Older emails" not in fragment

    before = max(m.id for m in db.session.scalars(select(OutboxMessage))) - 49
    older = client.get(f"/admin/outbox?before={before}").get_data(as_text=True)
    assert older.count("Renewal reminder") == 6


def test_retry_now_sends_and_is_audited(app, client, login, smtp_server):
    user = login("service_manager")
    _server_down(app)
    [message] = _queue(subject="Evidence request")
    db.session.commit()
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(status="failed"))
    db.session.commit()
    detail = client.get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "Evidence request" in detail and "Retry now" in detail and "refused" in detail.lower()

    app.config["MAIL_PORT"] = smtp_server.port
    response = post_form(client, f"/admin/outbox/{message.id}/retry", token_from=f"/admin/outbox/{message.id}")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The email was sent." in page and "Retry now" not in page
    assert len(smtp_server.messages) == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "outbox.retry"))
    assert (entry.actor_id, entry.subject_id, entry.before["status"], entry.after["status"]) == \
        (user.id, str(message.id), "failed", "pending")

    again = post_form(client, f"/admin/outbox/{message.id}/retry", htmx=True)
    assert again.status_code == 200 and "only pending or failed messages can be retried" in again.get_data(as_text=True)
    assert len(smtp_server.messages) == 1


def test_outbox_page_is_for_managers_and_admins(app, client, login):
    login("advisor")
    assert client.get("/admin/outbox").status_code == 403


def test_retry_command(app, runner, smtp_server):
    _server_down(app)
    [message] = _queue()
    db.session.commit()
    db.session.execute(update(OutboxMessage).values(status="failed"))
    db.session.commit()
    app.config["MAIL_PORT"] = smtp_server.port
    result = _cli(runner, "outbox", "retry", str(message.id))
    assert result.exit_code == 0 and result.output.strip() == f"Email {message.id} sent"
    assert len(smtp_server.messages) == 1
    assert db.session.scalar(select(AuditEntry.actor_name).where(AuditEntry.action == "outbox.retry")) == "cli"

    sent_again = _cli(runner, "outbox", "retry", str(message.id))
    assert sent_again.exit_code == 1 and "is sent" in sent_again.output
    missing = _cli(runner, "outbox", "retry", "999999")
    assert missing.exit_code == 1 and "no email 999999" in missing.output
    assert _cli(runner, "outbox", "retry", "abc").exit_code == 2


def test_savepoint_rolled_back_sends_only_what_survived(app, smtp_server):
    [kept] = _queue(to="kept@example.org")
    try:
        with db.session.begin_nested():
            _queue(to="undone@example.org")
            with db.session.begin_nested():
                pass
            raise RuntimeError("the inner step failed")
    except RuntimeError:
        pass
    assert smtp_server.messages == []  # releasing a savepoint is not the commit
    db.session.commit()
    assert [r.rcpt_tos for r in smtp_server.messages] == [["kept@example.org"]]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
