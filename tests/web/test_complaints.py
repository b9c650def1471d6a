"""The complaint log (issue 6): logging, acknowledging, investigating, responding, extending,
escalating, closing and reopening, through the real web pages, services and SLA engine, with
letters read back from the PDF and emails received by a real SMTP server on loopback."""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from intranet.audit import AuditEntry
from intranet.complaints import services
from intranet.complaints.models import Complaint, ComplaintClock, ComplaintDocument, ComplaintEvent
from intranet.extensions import db
from intranet.mail import OutboxMessage
from intranet.timefmt import LONDON, utcnow
from tests.smtp import smtp_server  # noqa: F401
from tests.support import HX, hx_get, post_form, sign_in

XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>']


def london(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LONDON)


def _date(value: datetime) -> list[str]:
    local = value.astimezone(LONDON)
    return [str(local.day), str(local.month), str(local.year)]


def _time(value: datetime) -> str:
    local = value.astimezone(LONDON)
    return f"{local.hour:02d}:{local.minute:02d}"


def fragment(html: str) -> str:
    """The fragment without the <title> the htmx helper may put first (htmx updates the page title)."""
    html = html.lstrip()
    if html.startswith("<title>"):
        html = html[html.index("</title>") + len("</title>"):].lstrip()
    return html


def new_complaint(actor, **overrides) -> Complaint:
    """Through the service, as the form would; for tests about the later steps."""
    data = dict(source="internal", complainant_name="Pat Parking", channel="email",
                received_at=utcnow() - timedelta(hours=1), category="service_delay",
                summary="Permits for zone OX3 were late.", step="service_lead",
                organisation="Parking Service", contact_email="pat@example.org")
    data.update(overrides)
    complaint = services.log_complaint(overrides.pop("actor", actor), services.NewComplaint(**data))
    db.session.commit()
    return complaint


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def log_form(**overrides) -> dict:
    received = utcnow() - timedelta(minutes=30)
    data = {"source": "public", "complainant_name": "Zoë Brontë-Ó Súilleabháin", "organisation": "",
            "contact_email": "zoe@example.org", "contact_address": "1 High Street\nOxford OX1 1AA",
            "channel": "letter", "received_date": _date(received), "received_time": _time(received),
            "category": "communication", "step": "stage1", "summary": "Nobody answered my letter.",
            "handler": "", "application_ref": "", "permit_ref": "", "customer_ref": ""}
    data.update(overrides)
    return data


# ------------------------------------------------------------------------------------------------ logging
def test_log_a_public_complaint_through_the_form_starts_the_stage_1_clock(app, client, login):
    login("advisor")
    page = client.get("/complaints/new")
    assert page.status_code == 200
    assert "Log a complaint" in page.get_data(as_text=True)
    response = post_form(client, "/complaints/new", log_form())
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    complaint = db.session.scalar(select(Complaint))
    assert complaint.procedure == "public" and complaint.step == "stage1" and complaint.status == "open"
    clocks = {c.clock_name: c for c in complaint.clocks}
    assert set(clocks) == {"public_stage1_acknowledgement", "public_stage1_response"}
    assert clocks["public_stage1_acknowledgement"].deadline_at is not None
    assert clocks["public_stage1_response"].started_at is None  # waits for the acknowledgement
    assert complaint.next_deadline_at == clocks["public_stage1_acknowledgement"].deadline_at
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Complaint logged" in page and "Zoë Brontë-Ó Súilleabháin" in page
    assert "Starts when met: Stage 1 complaint acknowledged" in page
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "complaint_logged")) == 1


@pytest.mark.parametrize("overrides, field, message", [
    ({"complainant_name": ""}, "complainant_name", "Enter the complainant"),
    ({"category": ""}, "category", "Select a category"),
    ({"category": "nonsense"}, "category", "Not a valid choice"),
    ({"received_date": ["31", "2", "2017"]}, "received_date", "must be a real date"),
    ({"received_time": "25:00"}, "received_time", "Enter a real time"),
    ({"contact_email": "not-an-email"}, "contact_email", "correct format"),
    ({"step": "service_lead"}, "step", "public procedure"),
    ({"application_ref": "A-NOPE"}, "application_ref", "No application has the reference A-NOPE"),
    ({"permit_ref": "NOPE"}, "permit_ref", "No permit has the reference NOPE"),
])
def test_bad_input_names_the_field_keeps_what_was_typed_and_writes_nothing(app, client, login, overrides, field,
                                                                            message):
    login("team_leader")
    response = post_form(client, "/complaints/new", log_form(**overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: " in html
    assert message in html
    assert f'href="#{field}' in html
    assert "Zoë Brontë-Ó Súilleabháin" in html or overrides.get("complainant_name") == ""
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_received_date_cannot_be_in_the_future(app, client, login):
    login("team_leader")
    tomorrow = utcnow() + timedelta(days=1)
    response = post_form(client, "/complaints/new", log_form(received_date=_date(tomorrow)))
    assert "cannot be in the future" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_invalid_form_over_htmx_answers_200_with_the_fragment(app, client, login):
    login("team_leader")
    response = post_form(client, "/complaints/new", log_form(summary=""), htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert fragment(html).startswith('<div id="complaint-form">')
    assert "Enter a summary" in html


def test_parking_team_raise_internal_complaints_only_and_see_only_their_own(app, client, login, make_user):
    lead = make_user("service_lead")
    other = new_complaint(lead, complainant_name="Someone Else")
    pat = login("parking_team")
    assert "Member of the public" not in client.get("/complaints/new").get_data(as_text=True)
    refused = post_form(client, "/complaints/new", log_form())
    assert 'href="#source' in refused.get_data(as_text=True)
    ok = post_form(client, "/complaints/new", log_form(source="internal", step="service_lead",
                                                       organisation="Parking Service"))
    assert ok.status_code == 303
    mine = db.session.scalar(select(Complaint).where(Complaint.raised_by_id == pat.id))
    log = client.get("/complaints/").get_data(as_text=True)
    assert mine.reference in log and other.reference not in log
    assert client.get(f"/complaints/{other.id}").status_code == 404
    assert client.get(f"/complaints/{mine.id}").status_code == 200
    assert client.get(f"/complaints/{mine.id}/acknowledge").status_code == 403
    assert client.get("/complaints/report").status_code == 200


def test_advisor_logs_but_cannot_handle_or_read_the_report(app, client, login):
    login("advisor")
    assert client.get("/complaints/new").status_code == 200
    assert client.get("/complaints/report").status_code == 403
    assert client.get("/complaints/999999/close").status_code == 403


def test_admin_has_no_complaints_access(app, client, login):
    login("admin")
    assert client.get("/complaints/").status_code == 403


# ------------------------------------------------------------------------------------------------ the journey
def test_internal_complaint_acknowledged_by_letter_escalated_twice_and_closed(app, client, make_user, tmp_path):
    lead = make_user("service_lead", full_name="Sam Lead")
    manager = make_user("service_manager", full_name="Morgan Manager")
    director = make_user("director", full_name="Dee Director")
    complaint = new_complaint(lead, handler_id=lead.id)
    sign_in(client, lead.username)

    page = client.get(f"/complaints/{complaint.id}/acknowledge")
    assert page.status_code == 200 and "Acknowledge the complaint" in page.get_data(as_text=True)
    preview = client.get(f"/complaints/{complaint.id}/acknowledgement-preview.pdf")
    assert preview.mimetype == "application/pdf"
    sent = utcnow() - timedelta(minutes=5)
    response = post_form(client, f"/complaints/{complaint.id}/acknowledge",
                         {"method": "letter", "sent_date": _date(sent), "sent_time": _time(sent)})
    assert response.status_code == 303
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    ack = next(c for c in complaint.clocks if c.clock_name == "complaint_acknowledgement")
    assert ack.completed_at is not None
    letter = db.session.scalar(select(ComplaintDocument).where(ComplaintDocument.kind == "acknowledgement"))
    text = pdftotext(letter.content, tmp_path)
    assert complaint.reference in text and "Pat Parking" in text and "Meeting to agree a resolution" in text
    html = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "Met on time" in html and "Acknowledged by letter (on time)" in html
    download = client.get(f"/complaints/{complaint.id}/documents/{letter.id}")
    assert download.data == letter.content

    assert post_form(client, f"/complaints/{complaint.id}/note",
                     {"kind": "contact", "text": "Phoned Pat to arrange a meeting.", "occurred_date": _date(utcnow()),
                      "occurred_time": _time(utcnow() - timedelta(minutes=1))}).status_code == 303
    # Escalation needs a reason and a handler, named on the fields.
    refused = post_form(client, f"/complaints/{complaint.id}/escalate",
                        {"reason": "", "handler": "", "requested_date": _date(utcnow()),
                         "requested_time": _time(utcnow())})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "Enter why the complaint is escalated" in body and "Select the new handler" in body
    for handler in (manager, director):
        now = utcnow()
        response = post_form(client, f"/complaints/{complaint.id}/escalate",
                             {"reason": "Not satisfied with the remedy offered", "handler": str(handler.id),
                              "requested_date": _date(now), "requested_time": _time(now)})
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.step == "director" and complaint.handler_id == director.id
    assert [s.step for s in complaint.stages] == ["service_lead", "service_manager", "director"]
    resolution = next(c for c in complaint.clocks if c.clock_name == "complaint_resolution")
    assert resolution.stopped_at is not None  # left the rung without the meeting
    assert "Escalate" not in [a.label[:8] for a in services.next_actions(complaint, director)]

    refused = post_form(client, f"/complaints/{complaint.id}/close",
                        {"outcome": "", "closed_date": _date(utcnow()), "closed_time": _time(utcnow())})
    assert "Select the outcome" in refused.get_data(as_text=True)
    response = post_form(client, f"/complaints/{complaint.id}/close",
                         {"outcome": "partly_upheld", "agreement_text": "A refund of the late fee.",
                          "remedy": "£10 refund", "learning_action": "Check the print queue daily.",
                          "closed_date": _date(utcnow()), "closed_time": _time(utcnow()), "method": "letter"})
    assert response.status_code == 303
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.status == "closed" and complaint.outcome == "partly_upheld"
    assert complaint.next_deadline_at is None
    record = db.session.scalar(select(ComplaintDocument).where(ComplaintDocument.kind == "agreement"))
    assert "A refund of the late fee." in pdftotext(record.content, tmp_path)
    kinds = [e.kind for e in db.session.scalars(select(ComplaintEvent).order_by(ComplaintEvent.id))]
    for kind in ("received", "assigned", "acknowledged", "contact", "escalated", "agreement", "closed"):
        assert kind in kinds

    refused = post_form(client, f"/complaints/{complaint.id}/reopen", {"reason": ""})
    assert "Enter why the complaint is reopened" in refused.get_data(as_text=True)
    assert post_form(client, f"/complaints/{complaint.id}/reopen",
                     {"reason": "Refund never arrived"}).status_code == 303
    db.session.expire_all()
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.status == "open" and complaint.outcome == ""


def test_public_complaint_two_stages_with_an_extension_and_a_different_stage_2_handler(app, client, make_user, tmp_path,
                                                                                        smtp_server):
    lead = make_user("service_lead", full_name="Sam Lead", email="sam@example.org")
    manager = make_user("service_manager", full_name="Morgan Manager", email="morgan@example.org")
    received = london("2017-04-13 16:00")
    complaint = new_complaint(lead, source="public", step="stage1", received_at=received, handler_id=lead.id,
                              complainant_name="Ann Example", contact_email="ann@example.org", organisation="")
    now = london("2017-04-19 10:00")
    services.acknowledge(lead, complaint, method="email", sent_at=now, now=now)
    db.session.commit()
    response = next(c for c in complaint.clocks if c.clock_name == "public_stage1_response")
    assert response.deadline_at == london("2017-05-04 17:00")
    mail = [m for m in smtp_server.messages if "ann@example.org" in m.rcpt_tos]
    assert len(mail) == 1
    attachment = next(mail[0].message.iter_attachments())
    assert "Stage 1 response: we will reply by 4 May 2017" in pdftotext(attachment.get_content(), tmp_path)

    with pytest.raises(services.ComplaintError) as refused:
        services.extend(lead, complaint, clock_id=response.id, length=11, reason="More time", now=now)
    assert "from 1 to 10" in refused.value.errors["length"]
    with pytest.raises(services.ComplaintError) as refused:
        services.extend(lead, complaint, clock_id=response.id, length=10, reason="", now=now)
    assert "reason" in refused.value.errors
    services.extend(lead, complaint, clock_id=response.id, length=10, reason="Waiting for NSL's records", now=now)
    db.session.commit()
    assert response.deadline_at == london("2017-05-18 17:00")
    with pytest.raises(services.ComplaintError):  # one extension only
        services.extend(lead, complaint, clock_id=response.id, length=1, reason="Again", now=now)
    db.session.rollback()

    answered = london("2017-05-17 15:00")
    services.respond(lead, complaint, text="We have reissued the permit.", occurred_at=answered, method="letter",
                     now=answered)
    db.session.commit()
    assert response.completed_at == answered
    # Stage 2: the stage 1 handler cannot take it.
    asked = london("2017-05-22 09:00")
    with pytest.raises(services.ComplaintError) as refused:
        services.escalate(lead, complaint, reason="Still unhappy", handler_id=lead.id, requested_at=asked, now=asked)
    assert "handled an earlier stage" in refused.value.errors["handler"]
    db.session.rollback()
    services.escalate(lead, complaint, reason="Still unhappy", handler_id=manager.id, requested_at=asked, now=asked)
    db.session.commit()
    with pytest.raises(services.ComplaintError) as refused:
        services.assign(manager, complaint, handler_id=lead.id, now=asked)
    assert "handled an earlier stage" in refused.value.errors["handler"]
    db.session.rollback()
    assert any("morgan@example.org" in m.rcpt_tos and "assigned" in m.message["Subject"] for m in smtp_server.messages)
    ack2 = next(c for c in complaint.clocks if c.clock_name == "public_stage2_acknowledgement")
    assert ack2.deadline_at == london("2017-05-30 17:00")  # 29 May 2017 is the Spring bank holiday
    services.acknowledge(manager, complaint, method="letter", sent_at=london("2017-05-23 11:00"),
                         now=london("2017-05-23 11:00"))
    final_at = london("2017-06-15 12:00")
    document = services.respond(manager, complaint, text="Our final answer.", occurred_at=final_at, method="letter",
                                now=final_at)
    db.session.commit()
    text = pdftotext(document.content, tmp_path)
    assert "This is our final response" in text and "https://www.lgo.org.uk/" in text
    assert services.next_actions(complaint, manager)[0].label == "Log the agreement and close" or all(
        not a.label.startswith("Escalate") for a in services.next_actions(complaint, manager))


def test_acknowledging_after_the_deadline_shows_met_late(app, make_user, client):
    lead = make_user("service_lead")
    complaint = new_complaint(lead, received_at=london("2017-03-07 11:00"))
    ack = next(c for c in complaint.clocks if c.clock_name == "complaint_acknowledgement")
    assert ack.deadline_at == london("2017-03-09 17:00")
    services.acknowledge(lead, complaint, method="letter", sent_at=london("2017-03-10 09:00"))
    db.session.commit()
    sign_in(client, lead.username)
    html = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "Met late" in html and "Acknowledged by letter (late)" in html


def test_email_acknowledgement_needs_an_address(app, make_user):
    lead = make_user("service_lead")
    complaint = new_complaint(lead, contact_email="")
    with pytest.raises(services.ComplaintError) as refused:
        services.acknowledge(lead, complaint, method="email", sent_at=utcnow())
    assert "no email address" in refused.value.errors["method"]


def test_response_before_acknowledgement_is_refused(app, make_user):
    lead = make_user("service_lead")
    complaint = new_complaint(lead, source="public", step="stage1", organisation="")
    with pytest.raises(services.ComplaintError) as refused:
        services.respond(lead, complaint, text="Answer", occurred_at=utcnow())
    assert "Acknowledge the complaint first" in refused.value.errors["text"]


def test_local_resolution_closes_informally_without_clocks(app, make_user):
    leader = make_user("team_leader")
    complaint = new_complaint(leader, step="team_leader")
    assert complaint.clocks == [] and complaint.next_deadline_at is None
    services.close(leader, complaint, outcome="not_upheld", remedy="", agreement_text="Explained the process.",
                   learning_action="", closed_at=utcnow())
    db.session.commit()
    closed = db.session.scalar(select(ComplaintEvent).where(ComplaintEvent.kind == "closed"))
    assert "resolved locally, informally" in closed.title


# ------------------------------------------------------------------------------------------------ the log
def test_log_filters_sort_by_next_deadline_and_paginate_by_keyset(app, client, make_user):
    lead = make_user("service_lead")
    base = utcnow() - timedelta(days=40)
    made = [new_complaint(lead, received_at=base + timedelta(days=i), complainant_name=f"Person {i:02d}",
                          category="staff_conduct" if i % 2 else "service_delay") for i in range(30)]
    services.close(lead, made[0], outcome="upheld", remedy="", agreement_text="", learning_action="",
                   closed_at=utcnow())
    db.session.commit()
    sign_in(client, lead.username)
    first = client.get("/complaints/?sort=deadline").get_data(as_text=True)
    assert first.index("Person 01") < first.index("Person 02")  # soonest deadline first
    assert "Person 00" not in first  # closed, so at the end: on the next page
    assert "Next page" in first
    import re
    after = re.search(r'after=([^&"]+)', first).group(1)
    second = client.get(f"/complaints/?sort=deadline&after={after}").get_data(as_text=True)
    assert "Person 00" in second and "Person 01" not in second
    overdue = client.get("/complaints/?overdue=yes").get_data(as_text=True)
    assert "Person 01" in overdue and "Person 00" not in overdue
    staff = client.get("/complaints/?category=staff_conduct").get_data(as_text=True)
    assert "Person 03" in staff and "Person 02" not in staff
    closed = client.get("/complaints/?status=closed").get_data(as_text=True)
    assert "Person 00" in closed and "Person 03" not in closed
    searched = hx_get(client, "/complaints/?q=person+0")
    html = searched.get_data(as_text=True)
    assert fragment(html).startswith('<div id="complaint-results"') and "Person 05" in html and "Person 15" not in html
    assert "HX-Request" in searched.headers["Vary"]
    by_ref = client.get(f"/complaints/?q={made[7].reference}").get_data(as_text=True)
    assert "Person 07" in by_ref and "Person 08" not in by_ref
    bad = client.get("/complaints/?after=garbage&sort=nonsense")
    assert bad.status_code == 200


def test_handler_panel_shows_overdue_due_today_and_at_risk(app, client, make_user):
    lead = make_user("service_lead")
    new_complaint(lead, handler_id=lead.id, received_at=utcnow() - timedelta(days=20), complainant_name="Late Larry")
    sign_in(client, lead.username)
    html = client.get("/complaints/").get_data(as_text=True)
    assert "Your complaints that need you" in html and "Late Larry" in html and "overdue" in html


# ------------------------------------------------------------------------------------------------ cron
def test_notify_emails_each_at_risk_clock_once_and_is_safe_to_run_twice(app, runner, make_user, smtp_server):
    lead = make_user("service_lead", email="lead@example.org")
    new_complaint(lead, handler_id=lead.id, received_at=utcnow() - timedelta(days=20), complainant_name="Overdue Olive")
    new_complaint(lead, handler_id=lead.id, received_at=utcnow() - timedelta(minutes=5), complainant_name="Fresh Fred")
    before = len(smtp_server.messages)
    result = runner.invoke(args=["complaints", "notify"])
    assert result.exit_code == 0, result.output
    assert "1 handler email(s) queued" in result.output
    again = runner.invoke(args=["complaints", "notify"])
    assert "0 clock(s)" in again.output
    mails = [m for m in smtp_server.messages[before:] if "lead@example.org" in m.rcpt_tos]
    assert len(mails) == 1
    body = mails[0].message.get_body().get_content()
    assert "Overdue Olive" in body and "OVERDUE" in body and "Fresh Fred" not in body


def test_notify_rejects_a_bad_now(app, runner):
    result = runner.invoke(args=["complaints", "notify", "--now", "yesterday"])
    assert result.exit_code != 0 and "--now" in result.output


# ------------------------------------------------------------------------------------------------ safety
def test_script_and_markup_are_inert_on_every_page_pdf_and_csv(app, client, make_user, tmp_path):
    lead = make_user("service_lead")
    manager = make_user("service_manager")
    complaint = new_complaint(lead, complainant_name=XSS[0], organisation=XSS[1], summary=" ".join(XSS),
                              contact_address=XSS[1], handler_id=lead.id)
    services.acknowledge(lead, complaint, method="letter", sent_at=utcnow())
    services.add_note(lead, complaint, kind="note", text=XSS[1], occurred_at=utcnow())
    services.escalate(lead, complaint, reason=XSS[0], handler_id=manager.id, requested_at=utcnow())
    services.close(lead, complaint, outcome="upheld", remedy=XSS[0], agreement_text=XSS[1], learning_action=XSS[0],
                   closed_at=utcnow(), method="letter")
    db.session.commit()
    sign_in(client, lead.username)
    year = services_year()
    pages = [f"/complaints/{complaint.id}", "/complaints/", f"/complaints/?q=%3Cscript", f"/complaints/report?year={year}",
             f"/complaints/{complaint.id}/reopen"]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html, url
        assert '<img src=x onerror' not in html, url
    html = client.get(f"/complaints/{complaint.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    csv_text = client.get(f"/complaints/report.csv?year={year}").get_data(as_text=True)
    assert "<script>alert(1)</script>" in csv_text  # CSV is data: shown as text, never as HTML
    for doc in db.session.scalars(select(ComplaintDocument)):
        text = pdftotext(doc.content, tmp_path)
        assert "<script>alert(1)</script>" in text  # the letter prints it literally, it runs nothing
    pdf = client.get(f"/complaints/report.pdf?year={year}")
    assert "<script>alert(1)</script>" in pdftotext(pdf.data, tmp_path)


def services_year() -> int:
    from intranet.complaints import report
    from intranet.service_rules import rules_in_force

    return report.current_year(rules_in_force())


def test_csv_cells_that_start_like_formulas_are_made_text(app, make_user):
    from intranet.complaints import report

    lead = make_user("service_lead")
    complaint = new_complaint(lead)
    services.close(lead, complaint, outcome="upheld", remedy="", agreement_text="", learning_action="=HYPERLINK(1)",
                   closed_at=utcnow())
    db.session.commit()
    text = report.report_csv(report.annual_report(services_year()))
    assert "'=HYPERLINK(1)" in text


# ------------------------------------------------------------------------------------------------ pages and fragments
def test_each_view_answers_a_whole_page_and_an_htmx_fragment(app, client, make_user):
    lead = make_user("service_lead")
    manager = make_user("service_manager")
    complaint = new_complaint(lead, source="public", step="stage1", organisation="", handler_id=lead.id)
    services.acknowledge(lead, complaint, method="letter", sent_at=utcnow())
    db.session.commit()
    sign_in(client, lead.username)
    fragments = {
        "/complaints/": 'id="complaint-results"',
        "/complaints/new": 'id="complaint-form"',
        f"/complaints/{complaint.id}": 'id="complaint"',
        f"/complaints/{complaint.id}/note": 'id="action-form"',
        f"/complaints/{complaint.id}/respond": 'id="action-form"',
        f"/complaints/{complaint.id}/extend": 'id="action-form"',
        f"/complaints/{complaint.id}/escalate": 'id="action-form"',
        f"/complaints/{complaint.id}/assign": 'id="action-form"',
        f"/complaints/{complaint.id}/close": 'id="action-form"',
        f"/complaints/{complaint.id}/acknowledge": 'id="action-form"',
        "/complaints/report": 'id="complaints-report"',
    }
    for url, root in fragments.items():
        page = client.get(url)
        assert page.status_code == 200, url
        assert "<html" in page.get_data(as_text=True), url
        response = client.get(url, headers=HX)
        html = fragment(response.get_data(as_text=True))
        assert response.status_code == 200, url
        assert html.startswith("<div " + root) or html.startswith(f"<div {root}"), (url, html[:200])
        assert "<html" not in html, url
    services.close(lead, complaint, outcome="upheld", remedy="", agreement_text="", learning_action="",
                   closed_at=utcnow())
    db.session.commit()
    assert fragment(client.get(f"/complaints/{complaint.id}/reopen", headers=HX).get_data(as_text=True)) \
        .startswith('<div id="action-form"')
    del manager


def test_a_valid_htmx_post_redirects_with_hx_redirect(app, client, make_user):
    lead = make_user("service_lead")
    complaint = new_complaint(lead)
    sign_in(client, lead.username)
    response = post_form(client, f"/complaints/{complaint.id}/note",
                         {"kind": "note", "text": "Checked the print log.", "occurred_date": _date(utcnow()),
                          "occurred_time": _time(utcnow())}, htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"].startswith(f"/complaints/{complaint.id}")


def test_a_tampered_post_is_refused_with_a_named_error_not_a_crash(app, client, make_user):
    lead = make_user("service_lead")
    complaint = new_complaint(lead)
    sign_in(client, lead.username)
    for url, data in [(f"/complaints/{complaint.id}/extend", {"clock": "abc", "length": "x", "reason": ""}),
                      (f"/complaints/{complaint.id}/escalate", {"reason": "x", "handler": "99999",
                                                                 "requested_date": ["1", "1", "2017"],
                                                                 "requested_time": "9:00"}),
                      (f"/complaints/{complaint.id}/assign", {"handler": "not-a-number"}),
                      (f"/complaints/{complaint.id}/acknowledge", {"method": "pigeon"})]:
        response = post_form(client, url, data)
        assert response.status_code == 200, url
        assert "govuk-error-summary" in response.get_data(as_text=True), url
    assert client.get("/complaints/report?year=1066").status_code == 404


# ------------------------------------------------------------------------------------------------ demo
def test_demo_loads_25_complaints_in_varied_states_once(app, make_user):
    from intranet.complaints.demo import load_complaints_demo

    users = {r: make_user(r) for r in ("team_leader", "service_lead", "service_manager", "director", "advisor",
                                        "parking_team")}
    lines = load_complaints_demo(users.get)
    assert lines == ["Complaints: 25 over the last 12 months"]
    rows = db.session.scalars(select(Complaint)).all()
    assert len(rows) == 25
    assert {c.status for c in rows} == {"open", "closed"}
    assert {c.step for c in rows} >= {"team_leader", "service_lead", "director", "stage1", "stage2", "local_resolution"}
    assert any(c.next_deadline_at and c.next_deadline_at < utcnow() for c in rows)  # something overdue
    assert db.session.scalar(select(func.count()).select_from(ComplaintClock).where(ComplaintClock.extension > 0)) == 2
    assert load_complaints_demo(users.get) == ["Complaints already present; none added."]
