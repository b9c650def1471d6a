"""Print batches through the web: preview, produce, the PDF in postcode order, printed marks, postage,
stock, customers who prefer email (real SMTP on loopback), atomicity when the PDF fails, reprints."""
from __future__ import annotations

import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func, select

from intranet.audit import AuditEntry
from intranet.extensions import db
from intranet.mail import OutboxMessage
from intranet.permits import casework
from intranet.permits.models import Permit
from intranet.printing import batches, letters, stationery
from intranet.printing.models import PendingLetter, PostageEntry, PrintBatch, Reprint, StockMovement
from intranet.printing.demo import load_printing_demo
from intranet.service_rules import rules_in_force
from tests import casework_factories as cf
from tests.permit_factories import issue_permit
from tests.smtp import smtp_server  # noqa: F401
from tests.support import hx_get, post_form
from tests.web.test_printing_documents import assert_fonts_embedded, page_count, pdf_text


@pytest.fixture
def people(app, make_user):
    """Three households in two zones, out of postcode order, one preferring email."""
    advisor = make_user("advisor", username="printer1")
    jr, hd = cf.zone("JR", "Jericho"), cf.zone("HD", "Headington", streets=("Old Road",))
    zoe = cf.customer(advisor, jr, name="Zoë Brontë", postcode="OX10 9ZZ", line1="1 Walton Street")
    ann = cf.customer(advisor, hd, name="Ann Ó Brien", postcode="OX1 2AB", line1="2 Old Road")
    eve = cf.customer(advisor, jr, name="Eve Email", postcode="OX2 6AA", line1="3 Walton Street", email="eve@example.org")
    permits = {
        "zoe": issue_permit(advisor, zoe, vrm="ZO12EEE"),
        "ann": issue_permit(advisor, ann, vrm="AN12NNN"),
        "ann_visitor": issue_permit(advisor, ann, kind="visitor", quantity=1),
        "eve": issue_permit(advisor, eve, vrm="EV12EEE"),
    }
    return {"advisor": advisor, "zones": {"JR": jr, "HD": hd}, "customers": {"zoe": zoe, "ann": ann, "eve": eve},
            "permits": permits}


def _printed(number: str):
    return db.session.scalar(select(Permit).where(Permit.number == number))


def test_preview_counts_update_by_htmx_and_filters(client, login, people):
    login("advisor")
    html = client.get("/printing/batches/new").get_data(as_text=True)
    assert "3 permits" not in html and "4 permits" in html  # all four unprinted, at first
    fragment = hx_get(client, f"/printing/batches/new?kind=resident&zone={people['zones']['JR'].id}&include_letters=y")
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and body.lstrip().startswith('<div id="batch-preview"')
    assert "<strong>2 permits</strong>" in body  # Zoë's and Eve's resident permits
    assert "1 envelope to post" in body and "1 customer to email" in body
    bad = hx_get(client, "/printing/batches/new?issued_from=31&issued_from=2&issued_from=2026")
    assert bad.status_code == 200 and "Issued from must be a real date" in bad.get_data(as_text=True)


def test_produce_batch_makes_one_pdf_in_postcode_order_and_marks_printed(client, login, people, smtp_server, tmp_path):
    load_printing_demo()  # opening stock
    before = {s.item.code: s.level for s in stationery.stock_levels()}
    login("advisor")
    response = post_form(client, "/printing/batches/new", {"kind": "", "zone": "", "include_letters": "y"},
                         token_from="/printing/batches/new")
    assert response.status_code == 303
    batch = db.session.scalar(select(PrintBatch))
    assert response.headers["Location"].endswith(f"/printing/batches/{batch.id}?done=produced")

    # Paper: Ann (OX1) then Zoë (OX10); Eve prefers email and is not in it.
    download = client.get(f"/printing/batches/{batch.id}/pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    pdf = download.get_data()
    assert pdf == db.session.scalar(select(PrintBatch.pdf))  # downloading again gives the very same file
    text = pdf_text(pdf, tmp_path)
    assert text.index("Ann Ó Brien") < text.index("Zoë Brontë")
    assert "Eve Email" not in text
    p = people["permits"]
    for key in ("zoe", "ann", "ann_visitor"):
        assert p[key].number in text
    assert "ZO12EEE" in text and "AN12NNN" in text
    assert page_count(pdf, tmp_path) == 2 + 3  # two covering letters, three permits
    assert batch.page_count == 5
    assert_fonts_embedded(pdf, tmp_path)

    for key in ("zoe", "ann", "ann_visitor", "eve"):
        permit = _printed(p[key].number)
        assert permit.printed_at is not None and permit.print_batch_id == batch.id
    assert (batch.permit_count, batch.posted_envelopes, batch.emailed_customers) == (4, 2, 1)

    # Eve's envelope went by email, with her PDF attached.
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["eve@example.org"]
    [attachment] = list(received.message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    emailed = pdf_text(attachment.get_content(), tmp_path)
    assert "Eve Email" in emailed and p["eve"].number in emailed and "Attached to this email" in emailed

    # Postage: two envelopes at the rules' second-class price; stock: two blanks and one visitor card.
    price = rules_in_force().finance.postage.prices_pence["second_class"]
    [entry] = db.session.scalars(select(PostageEntry).where(PostageEntry.print_batch_id == batch.id)).all()
    assert (entry.items, entry.amount_pence, entry.category) == (2, 2 * price, "permits_and_letters")
    assert batch.postage_pence == 2 * price
    after = {s.item.code: s.level for s in stationery.stock_levels()}
    assert before["permit_blanks"] - after["permit_blanks"] == 2
    assert before["visitor_cards"] - after["visitor_cards"] == 1

    page = client.get(f"/printing/batches/{batch.id}?done=produced").get_data(as_text=True)
    assert "Batch PB-" in page and "Eve Email" in page and "Email</strong>" in page
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "permit_printed")) == 4

    # Nothing is left to print, so a second batch is refused with the reason on the form.
    again = post_form(client, "/printing/batches/new", {"include_letters": "y"}, token_from="/printing/batches/new")
    assert again.status_code == 200 and "There is nothing to print with these filters" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PrintBatch.id))) == 1


def test_a_pdf_that_cannot_be_made_marks_nothing_printed(app, client, login, people, smtp_server):
    """A batch template that xhtml2pdf cannot lay out: the page says why, and nothing changed."""
    nested = "<div>" * 300 + "x" + "</div>" * 300
    app.jinja_loader = ChoiceLoader([DictLoader({"printing/batch.html": f"<html><body>{nested}</body></html>"}),
                                     app.jinja_loader])
    app.jinja_env.cache = {}
    login("advisor")
    response = post_form(client, "/printing/batches/new", {"include_letters": "y"}, token_from="/printing/batches/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The PDF could not be made, so nothing was marked printed" in body
    assert db.session.scalar(select(func.count(Permit.id)).where(Permit.printed_at.is_not(None))) == 0
    for model in (PrintBatch, PostageEntry, StockMovement, OutboxMessage):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
    assert smtp_server.messages == []


def test_letters_waiting_go_in_the_next_batch_with_the_customers_permits(app, people, tmp_path):
    advisor = people["advisor"]
    ann = people["customers"]["ann"]
    application = cf.application(advisor, ann, vrm="AN99NNN")
    request = casework.request_evidence(advisor, application, method="letter", items=["vehicle_registration"])
    db.session.commit()  # casework's evidence_requested signal queued the letter (no email address)
    batch = batches.produce_batch(advisor, batches.BatchFilter(zone_id=people["zones"]["HD"].id))
    db.session.commit()
    text = pdf_text(db.session.scalar(select(PrintBatch.pdf)), tmp_path)
    flat = " ".join(text.split())
    assert "Also enclosed: Your application " + application.reference in flat
    assert application.reference in text and "V5C" in text
    letter = db.session.scalar(select(PendingLetter))
    assert letter.print_batch_id == batch.id and batch.letter_count == 1 and batch.posted_envelopes == 1


def test_evidence_request_is_emailed_to_a_customer_who_prefers_email(app, people, smtp_server, tmp_path):
    advisor = people["advisor"]
    eve = people["customers"]["eve"]
    application = cf.application(advisor, eve, vrm="EV99EEE")
    request = casework.request_evidence(advisor, application, method="email", items=["proof_of_residency"])
    db.session.commit()  # casework's evidence_requested signal emailed the letter
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["eve@example.org"]
    assert application.reference in received.message["Subject"]
    [attachment] = list(received.message.iter_attachments())
    assert application.reference in pdf_text(attachment.get_content(), tmp_path)
    assert db.session.scalar(select(func.count(PendingLetter.id))) == 0


def test_reprint_a_permit_and_a_batch_with_a_reason_audited(client, login, people, tmp_path):
    load_printing_demo()
    user = login("team_leader")
    post_form(client, "/printing/batches/new", {"include_letters": "y"}, token_from="/printing/batches/new")
    batch = db.session.scalar(select(PrintBatch))
    permit = _printed(people["permits"]["zoe"].number)
    levels = {s.item.code: s.level for s in stationery.stock_levels()}

    url = f"/printing/permits/{permit.id}/reprint"
    refused = post_form(client, url, {"reason": ""}, token_from=url)
    assert refused.status_code == 200 and "Enter the reason for the reprint" in refused.get_data(as_text=True)
    assert "<title>Error: " in refused.get_data(as_text=True)
    done = post_form(client, url, {"reason": "Customer says it never arrived"}, token_from=url)
    assert done.status_code == 303
    reprint = db.session.scalar(select(Reprint))
    assert reprint.reason == "Customer says it never arrived" and reprint.created_by_id == user.id
    pdf = client.get(f"/printing/reprints/{reprint.id}/pdf").get_data()
    assert permit.number in pdf_text(pdf, tmp_path) and "Reprint of " + permit.number in pdf_text(pdf, tmp_path)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "permit_reprinted"))
    assert entry.subject_id == str(permit.id) and "never arrived" in entry.summary

    whole = post_form(client, f"/printing/batches/{batch.id}/reprint", {"reason": "Printer jammed"},
                      token_from=f"/printing/batches/{batch.id}")
    assert whole.status_code == 303
    assert db.session.scalar(select(func.count(Reprint.id))) == 2
    assert db.session.scalar(select(AuditEntry.summary).where(AuditEntry.action == "print_batch_reprinted")) \
        == f"Reprinted {batch.number}: Printer jammed"
    after = {s.item.code: s.level for s in stationery.stock_levels()}
    assert levels["permit_blanks"] - after["permit_blanks"] == 1 + 2  # one permit, then the batch's two on paper
    page = client.get(f"/printing/batches/{batch.id}").get_data(as_text=True)
    assert "Printer jammed" in page and "Customer says it never arrived" in page


def test_an_unprinted_or_cancelled_permit_cannot_be_reprinted(client, login, people):
    login("advisor")
    permit = people["permits"]["zoe"]
    url = f"/printing/permits/{permit.id}/reprint"
    response = post_form(client, url, {"reason": "Smudged ink"}, token_from=url)
    assert "has not been printed yet" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Reprint.id))) == 0


def test_claim_refuses_permits_printed_meanwhile(app, people):
    """Two batches over the same permits: the second finds them claimed and changes nothing."""
    advisor = people["advisor"]
    permits, _ = batches._load(batches.BatchFilter())
    batches.produce_batch(advisor, batches.BatchFilter())
    db.session.commit()
    with pytest.raises(batches.BatchError, match="printed by someone else"):
        with db.session.begin_nested():
            batches._claim(Permit, [p.id for p in permits], Permit.printed_at.is_(None), {"print_batch_id": 0})


def test_postcodes_sort_as_the_post_room_does():
    codes = ["OX10 9ZZ", "OX2 6AA", "OX1 2AB", "ox1 1aa", "RG9 1AA", "not a postcode"]
    assert sorted(codes, key=batches.postcode_key) == ["ox1 1aa", "OX1 2AB", "OX2 6AA", "OX10 9ZZ", "RG9 1AA",
                                                       "not a postcode"]


def test_parking_team_reads_the_postage_ledger_but_not_print_batches(client, login):
    login("parking_team")
    assert client.get("/printing").status_code == 403
    assert client.get("/printing/postage").status_code == 200


def test_unknown_batches_are_not_found(client, login):
    login("advisor")
    assert client.get("/printing/batches/999999").status_code == 404
    assert client.get("/printing/batches/999999/pdf").status_code == 404
