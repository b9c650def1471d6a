"""`flask --app wsgi reminders send`: once per permit and expiry, email or a letter for the next batch."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from intranet.extensions import db
from intranet.printing import batches
from intranet.printing.models import PendingLetter, PostageEntry, RenewalReminder
from tests import casework_factories as cf
from tests.permit_factories import issue_permit
from tests.smtp import smtp_server  # noqa: F401
from tests.web.test_printing_documents import pdf_text

DAY = date(2026, 3, 2)


def _expiring(advisor, customer, days: int, vrm: str):
    valid_to = DAY + timedelta(days=days)
    return issue_permit(advisor, customer, vrm=vrm, valid_from=valid_to - timedelta(days=364), valid_to=valid_to)


def test_reminders_send_once_by_preference_and_letters_go_in_the_next_batch(app, runner, make_user, smtp_server,
                                                                            tmp_path):
    advisor = make_user("advisor")
    zone = cf.zone()
    post = cf.customer(advisor, zone, name="Pat Post", postcode="OX1 1AA")
    mail = cf.customer(advisor, zone, name="Mo Mail", postcode="OX1 1AB", line1="4 Walton Street",
                       email="mo@example.org")
    later = cf.customer(advisor, zone, name="Lee Later", postcode="OX1 1AC", line1="5 Walton Street")
    p1 = _expiring(advisor, post, 10, "PA12TTT")
    p2 = _expiring(advisor, mail, 28, "MO12LLL")  # the last day of the 28-day window in the rules
    _expiring(advisor, later, 29, "LE12EEE")  # outside it
    batches.produce_batch(advisor, batches.BatchFilter(include_letters=False))  # the permits went out long ago
    db.session.commit()
    smtp_server.messages.clear()

    result = runner.invoke(args=["reminders", "send", "--date", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 emailed, 1 letters for the next print batch" in result.output
    again = runner.invoke(args=["reminders", "send", "--date", DAY.isoformat()])
    assert again.exit_code == 0 and "0 emailed, 0 letters" in again.output
    next_day = runner.invoke(args=["reminders", "send", "--date", (DAY + timedelta(days=1)).isoformat()])
    assert "1 emailed, 1 letters" not in next_day.output and "0 emailed, 1 letters" in next_day.output  # Lee, now in

    [received] = smtp_server.messages
    assert received.rcpt_tos == ["mo@example.org"]
    [attachment] = list(received.message.iter_attachments())
    text = " ".join(pdf_text(attachment.get_content(), tmp_path).split())
    assert p2.number in text and f"expires on {p2.valid_to.day} {p2.valid_to:%B %Y}" in text
    assert db.session.scalar(select(func.count(RenewalReminder.id))) == 3

    batch = batches.produce_batch(advisor, batches.BatchFilter())
    db.session.commit()
    assert batch.permit_count == 0 and batch.letter_count == 2 and batch.posted_envelopes == 2
    text = pdf_text(db.session.scalar(select(type(batch).pdf).where(type(batch).id == batch.id)), tmp_path)
    assert p1.number in text and "Pat Post" in text and "Lee Later" in text
    entry = db.session.scalar(select(PostageEntry).where(PostageEntry.print_batch_id == batch.id))
    assert entry.category == "reminder_letters" and entry.items == 2
    assert db.session.scalar(select(func.count(PendingLetter.id)).where(PendingLetter.print_batch_id.is_(None))) == 0


def test_a_bad_date_is_refused_and_names_the_option(runner):
    result = runner.invoke(args=["reminders", "send", "--date", "2026-02-30"])
    assert result.exit_code != 0
    assert "--date" in result.output and "expected a date YYYY-MM-DD, got '2026-02-30'" in result.output
