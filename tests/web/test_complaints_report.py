"""The annual complaints performance report against a hand-built year of complaints (2016-17),
every figure worked out by hand below; then the page, the CSV and the PDF show the same figures."""
from __future__ import annotations

import csv
import io
import subprocess
from datetime import datetime

import pytest

from intranet.complaints import report, services
from intranet.extensions import db
from intranet.timefmt import LONDON
from tests.support import HX, sign_in

NOW = datetime(2017, 3, 31, 12, 0, tzinfo=LONDON)


def london(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LONDON)


def _log(actor, received, *, public=False, step=None, category="service_delay", handler=None, name="X"):
    return services.log_complaint(actor, services.NewComplaint(
        source="public" if public else "internal", complainant_name=name, channel="letter",
        received_at=london(received), category=category, summary="Report test",
        step=step or ("stage1" if public else "service_lead"), handler_id=handler.id if handler else None),
        now=NOW)


@pytest.fixture
def year_of_complaints(app, make_user):
    lead, manager, director = make_user("service_lead"), make_user("service_manager"), make_user("director")
    # A: internal, acknowledged and met on time, upheld, with a learning action.
    a = _log(lead, "2016-06-01 10:00", handler=lead, name="A")
    services.acknowledge(lead, a, method="letter", sent_at=london("2016-06-02 10:00"), now=NOW)
    services.respond(lead, a, text="Met and agreed", occurred_at=london("2016-06-10 10:00"), now=NOW)
    services.close(lead, a, outcome="upheld", remedy="", agreement_text="Agreed", learning_action="Daily print check",
                   closed_at=london("2016-06-10 11:00"), now=NOW)
    # B: internal, acknowledged late (due Wed 6 July), escalated twice before the meeting, not upheld.
    b = _log(lead, "2016-07-04 10:00", handler=lead, category="staff_conduct", name="B")
    services.acknowledge(lead, b, method="letter", sent_at=london("2016-07-08 10:00"), now=NOW)
    services.escalate(lead, b, reason="Unhappy", handler_id=manager.id, requested_at=london("2016-07-20 10:00"), now=NOW)
    services.escalate(manager, b, reason="Still unhappy", handler_id=director.id,
                      requested_at=london("2016-08-01 10:00"), now=NOW)
    services.close(director, b, outcome="not_upheld", remedy="", agreement_text="", learning_action="",
                   closed_at=london("2016-08-10 10:00"), now=NOW)
    # C: public; stage 1 acknowledged on time, answered late (due 20 Sept); stage 2 acknowledged, never answered.
    c = _log(lead, "2016-09-05 10:00", public=True, handler=lead, category="communication", name="C")
    services.acknowledge(lead, c, method="letter", sent_at=london("2016-09-06 10:00"), now=NOW)
    services.respond(lead, c, text="Stage 1 answer", occurred_at=london("2016-09-30 10:00"), now=NOW)
    services.escalate(lead, c, reason="Stage 2 please", handler_id=manager.id,
                      requested_at=london("2016-10-03 10:00"), now=NOW)
    services.acknowledge(manager, c, method="letter", sent_at=london("2016-10-04 10:00"), now=NOW)
    # D: public, resolved locally.
    d = _log(lead, "2017-01-10 10:00", public=True, step="local_resolution", category="communication", name="D")
    services.close(lead, d, outcome="partly_upheld", remedy="", agreement_text="", learning_action="",
                   closed_at=london("2017-01-11 10:00"), now=NOW)
    # F: internal, received at the end of the year, clocks still running.
    _log(lead, "2017-03-30 10:00", handler=lead, name="F")
    # E: the next financial year: not counted.
    services.log_complaint(lead, services.NewComplaint(
        source="internal", complainant_name="E", channel="letter", received_at=london("2017-04-03 10:00"),
        category="policy", summary="Next year", step="service_lead"), now=london("2017-04-03 11:00"))
    db.session.commit()
    return lead


def test_figures_match_the_hand_count(year_of_complaints):
    r = report.annual_report(2016, now=NOW)
    assert (r.starts.isoformat(), r.ends.isoformat()) == ("2016-04-01", "2017-03-31")
    assert r.received == 5
    assert r.by_procedure == {"internal": 3, "public": 2}
    reached = {(p, s): n for p, s, _, n in r.by_stage}
    assert reached == {("internal", "team_leader"): 0, ("internal", "service_lead"): 3,
                       ("internal", "service_manager"): 1, ("internal", "director"): 1,
                       ("public", "local_resolution"): 1, ("public", "stage1"): 1, ("public", "stage2"): 1}
    clocks = {c.name: (c.due, c.on_time, c.late, c.pending, c.percent) for c in r.clocks}
    assert clocks == {
        "complaint_acknowledgement": (2, 1, 1, 1, 50.0),
        "complaint_resolution": (1, 1, 0, 2, 100.0),
        "public_stage1_acknowledgement": (1, 1, 0, 0, 100.0),
        "public_stage1_response": (1, 0, 1, 0, 0.0),
        "public_stage2_acknowledgement": (1, 1, 0, 0, 100.0),
        "public_stage2_response": (1, 0, 1, 0, 0.0),
    }
    assert r.outcomes == {"upheld": 1, "partly_upheld": 1, "not_upheld": 1}
    assert r.still_open == 2 and r.resolved_locally == 1
    assert [(p, n) for p, _, n in r.escalations] == [("internal", 1), ("internal", 1), ("public", 1)]
    assert r.escalation_total == 3
    assert r.categories == [("Communication (letters, calls, emails)", 2), ("Delay in the service", 2),
                            ("Staff conduct", 1)]
    assert [(ref[:4], action) for ref, _, action in r.learning] == [("CMP-", "Daily print check")]


def test_page_csv_and_pdf_show_the_figures(year_of_complaints, client, make_user, tmp_path):
    reader = make_user("service_manager")
    sign_in(client, reader.username)
    html = client.get("/complaints/report?year=2016").get_data(as_text=True)
    assert "Complaints performance, 2016-17" in html and "33.3%" in html and "Daily print check" in html
    fragment = client.get("/complaints/report?year=2016", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="complaints-report">')
    response = client.get("/complaints/report.csv?year=2016")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    # Judged today, F's clocks have run out too: 1 of 3 acknowledgements on time.
    assert ["clock_on_time", "complaint_acknowledgement", "Complaint acknowledged", "1/3", "33.3"] in rows
    assert ["clock_on_time", "public_stage1_acknowledgement", "Stage 1 complaint acknowledged", "1/1", "100.0"] in rows
    assert ["outcome", "partly_upheld", "Partly upheld", "1", ""] in rows
    assert ["received_by_procedure", "public", "Public (council procedure)", "2", ""] in rows
    pdf = client.get("/complaints/report.pdf?year=2016")
    assert pdf.mimetype == "application/pdf"
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Complaints performance, 2016-17" in text and "Daily print check" in text and "33.3%" in text
