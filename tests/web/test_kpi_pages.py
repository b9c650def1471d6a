"""The KPI pages: tables with the month chooser (page and htmx fragment), drill-downs, charts, quality
monitoring, satisfaction (one by one and CSV, all or nothing), the pack (commentary, PDF read back with
pdftotext, on-time status, distribution by real SMTP) and service reviews (reminders sent once)."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from intranet.extensions import db
from intranet.kpi.engine import Month
from intranet.kpi.models import KpiPack, SatisfactionResponse, ServiceReview
from intranet.kpi.telephony import import_calls
from intranet.timefmt import LONDON, utcnow
from tests.smtp import smtp_server  # noqa: F401
from tests.support import HX, csrf_token, hx_get, post_form

CALLS = "interval_start,offered,answered,abandoned\n2017-03-07T09:00,20,19,1\n2017-03-07T17:30,5,0,5\n"


def _last_month() -> Month:
    return Month.of(utcnow().astimezone(LONDON).date()).shift(-1)


def test_tables_page_shows_each_kpi_with_words_and_links(app, client, login):
    import_calls("test", CALLS)
    db.session.commit()
    login("parking_team")
    html = client.get("/kpi/?month=2017-03").get_data(as_text=True)
    assert "KPIs for March 2017" in html
    assert re.search(r'govuk-tag--green">Met<', html) and re.search(r'govuk-tag--grey">No data<', html)
    assert 'href="/kpi/figures/answered_calls/2017-03"' in html and "95%" in html
    assert 'src="/kpi/charts/answered_calls/2017-03.png"' in html and 'alt="Trend of Answered calls' in html
    assert "govuk-visually-hidden" in html and "Answered calls: monthly values" in html
    assert "Calls offered at any time" in html and "Cost per permit issued" in html


def test_month_chooser_swaps_a_fragment_and_pushes_a_bookmarkable_url(app, client, login):
    login("service_manager")
    response = hx_get(client, "/kpi/?month=2017-02")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="kpi-month">')
    assert "<html" not in html and response.headers["HX-Push-Url"] == "/kpi/?month=2017-02"
    assert "HX-Request" in response.headers["Vary"]
    full = client.get("/kpi/?month=2017-02").get_data(as_text=True)
    assert "<html" in full and '<option value="2017-02" selected' in full
    bad = client.get("/kpi/?month=nonsense")
    assert bad.status_code == 200 and "Choose a month from the list" in bad.get_data(as_text=True)


def test_drill_down_lists_the_intervals_counted(app, client, login):
    import_calls("test", CALLS)
    db.session.commit()
    login("director")
    html = client.get("/kpi/figures/answered_calls/2017-03").get_data(as_text=True)
    assert "1 counted, 1 outside service hours" in html and "No: outside service hours" in html
    assert client.get("/kpi/figures/nothing/2017-03").status_code == 404
    assert client.get("/kpi/figures/answered_calls/2017-3").status_code == 404


def test_chart_is_a_png_cached_by_content(app, client, login):
    import_calls("test", CALLS)
    db.session.commit()
    login("team_leader")
    response = client.get("/kpi/charts/answered_calls/2017-03.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    etag = response.headers["ETag"]
    assert client.get("/kpi/charts/answered_calls/2017-03.png", headers={"If-None-Match": etag}).status_code == 304
    import_calls("test", "interval_start,offered,answered,abandoned\n2017-03-08T09:00,20,10,10\n")
    db.session.commit()
    assert client.get("/kpi/charts/answered_calls/2017-03.png").headers["ETag"] != etag  # new data, new picture


def test_quality_evaluation_form_and_the_staff_members_own_view(app, client, login, make_user):
    advisor = make_user("advisor", full_name="Bea Bennett")
    other = make_user("advisor", full_name="Cal Carter")
    login("team_leader")
    token = csrf_token(client, "/kpi/quality/new")
    criteria = list(app.extensions["sla_rules"].quality_monitoring.criteria)
    data = {"csrf_token": token, "staff_id": str(advisor.id), "evaluated_on": ["3", "3", "2017"],
            "contact_reference": "CALL-1", "overall_score": "", "comments": "Clear and kind"}
    response = client.post("/kpi/quality/new", data=data, headers=HX)  # no scores yet
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Enter a score for greeting and identification" in html
    assert 'value="CALL-1"' in html  # what was typed is kept
    data.update({f"score_{c}": "4" for c in criteria})
    response = client.post("/kpi/quality/new", data=data)
    assert response.status_code == 303 and "/kpi/quality?month=2017-03" in response.headers["Location"]
    data.update({"staff_id": str(other.id), "contact_reference": "CALL-2"})
    assert client.post("/kpi/quality/new", data=data).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    from tests.support import sign_in

    sign_in(client, advisor.username)
    mine = client.get("/kpi/quality/mine").get_data(as_text=True)
    assert "CALL-1" in mine and "80%" in mine and "CALL-2" not in mine
    assert client.get("/kpi/quality/new").status_code == 403


def test_satisfaction_one_by_one_and_csv_all_or_nothing(app, client, login):
    login("team_leader")
    token = csrf_token(client, "/kpi/satisfaction")
    response = client.post("/kpi/satisfaction", data={"csrf_token": token, "responded_on": ["2", "3", "2017"],
                                                      "channel": "phone", "answer": "score", "score": ""})
    assert response.status_code == 200 and "Select the score the customer gave" in response.get_data(as_text=True)
    response = client.post("/kpi/satisfaction", data={"csrf_token": token, "responded_on": ["2", "3", "2017"],
                                                      "channel": "phone", "answer": "score", "score": "4"})
    assert response.status_code == 303
    bad = b"responded_on,channel,satisfied,score,comment\n2017-03-01,phone,yes,,\n2017-03-40,email,,6,\n2017-03-02,fax,no,,\n"
    response = post_form(client, "/kpi/satisfaction/import", {"file": (io.BytesIO(bad), "s.csv")},
                         token_from="/kpi/satisfaction/import")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Line 3: responded_on &#39;2017-03-40&#39; is not a date" in html
    assert "Line 4: Select the channel" in html
    assert db.session.scalar(select(func.count()).select_from(SatisfactionResponse)) == 1
    good = b"responded_on,channel,satisfied,score,comment\n2017-03-01,phone,yes,,\n2017-03-02,email,,2,slow\n"
    response = post_form(client, "/kpi/satisfaction/import", {"file": (io.BytesIO(good), "s.csv")},
                         token_from="/kpi/satisfaction/import")
    assert response.status_code == 303 and "imported=2" in response.headers["Location"]
    rows = db.session.scalars(select(SatisfactionResponse).order_by(SatisfactionResponse.id)).all()
    assert [r.satisfied for r in rows] == [True, True, False]  # 4 meets the rules' threshold, 2 does not


def _pdf_text(pdf: bytes, tmp_path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_pack_commentary_produce_and_distribute_to_the_next_review(app, client, login, make_user, smtp_server,
                                                                    tmp_path):
    month = _last_month()
    lead = login("service_lead")
    import_calls("test", f"interval_start,offered,answered,abandoned\n{month.first.isoformat()}T09:00,10,10,0\n")
    db.session.commit()
    token = csrf_token(client, f"/kpi/packs/{month.key}")
    response = client.post(f"/kpi/packs/{month.key}/commentary", headers=HX, data={
        "csrf_token": token, "issues": "Two advisors off sick in week 2", "proposals": "Online renewals"})
    assert response.status_code == 200 and response.headers["HX-Redirect"].endswith("saved=1")
    response = client.post(f"/kpi/packs/{month.key}/distribute", data={"csrf_token": token})
    assert "Produce the pack before distributing it" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post(f"/kpi/packs/{month.key}/produce", data={"csrf_token": token})
    assert response.status_code == 303
    page = client.get(f"/kpi/packs/{month.key}").get_data(as_text=True)
    assert "Produced on time" in page
    pack = db.session.scalar(select(KpiPack))
    text = _pdf_text(pack.pdf, tmp_path)
    assert f"KPI pack: {month.label}" in text and "Answered calls" in text and "Two advisors off sick" in text
    assert "Online renewals" in text and "Trends over 12 months" in text and "Cost per permit issued" in text
    pdffonts = shutil.which("pdffonts")
    if pdffonts:
        path = tmp_path / "fonts.pdf"
        path.write_bytes(pack.pdf)
        fonts = subprocess.run([pdffonts, str(path)], capture_output=True, text=True).stdout
        assert "DejaVu" in fonts and " no " not in fonts.split("\n", 2)[2]  # every font embedded
    # distribution needs a planned review
    response = client.post(f"/kpi/packs/{month.key}/distribute", data={"csrf_token": token})
    assert "plan the next meeting first" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.add(ServiceReview(held_on=date.today() + timedelta(days=30), title="Six-monthly service review",
                                 attendees="Pat Parking <pat@example.org>\nSam Lead <sam@example.org>",
                                 created_by_id=lead.id))
    db.session.commit()
    response = client.post(f"/kpi/packs/{month.key}/distribute", data={"csrf_token": token})
    assert response.status_code == 303
    [message] = smtp_server.messages
    assert sorted(message.rcpt_tos) == ["pat@example.org", "sam@example.org"]
    [attachment] = list(message.message.iter_attachments())
    assert attachment.get_filename() == f"kpi-pack-{month.key}.pdf"
    assert attachment.get_content() == db.session.scalar(select(KpiPack.pdf))
    assert db.session.scalar(select(KpiPack.distributed_to)).startswith("Pat Parking <pat@example.org>")


def test_pack_produced_after_its_due_time_is_marked_late(app, client, login):
    from intranet.kpi.pack import produce

    month = Month(2017, 3)
    pack = produce("test", month, now=datetime(2017, 4, 20, 9, tzinfo=LONDON))  # due 14 April 2017 5pm
    db.session.commit()
    assert pack.on_time is False
    login("parking_team")
    html = client.get("/kpi/packs/2017-03").get_data(as_text=True)
    assert "Produced late" in html and "Produce the pack" not in html  # the Parking Team reads, does not produce
    assert client.get("/kpi/packs/2017-03/pdf").headers["Content-Type"] == "application/pdf"
    result = __import__("intranet.kpi.measures", fromlist=["x"]).month_kpis(month).get("kpi_pack_on_time")
    assert result.status == "red"


def test_reviews_plan_actions_and_reminders_sent_once(app, client, login, runner, smtp_server):
    login("service_manager")
    token = csrf_token(client, "/kpi/reviews/new")
    response = client.post("/kpi/reviews/new", data={"csrf_token": token, "held_on": ["", "", ""], "title": "Review",
                                                     "attendees": "not an address"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Enter the date of the meeting" in html
    soon = date.today() + timedelta(days=5)
    response = client.post("/kpi/reviews/new", data={"csrf_token": token, "held_on": [str(soon.day), str(soon.month), str(soon.year)],
                                                     "title": "Six-monthly service review",
                                                     "attendees": "Pat Parking <pat@example.org>\nbad line"})
    assert "Line 2 of the attendees" in response.get_data(as_text=True)
    response = client.post("/kpi/reviews/new", data={"csrf_token": token, "held_on": [str(soon.day), str(soon.month), str(soon.year)],
                                                     "title": "Six-monthly service review",
                                                     "attendees": "Pat Parking <pat@example.org>\nsam@example.org"})
    assert response.status_code == 303
    url = response.headers["Location"]
    due = date.today() + timedelta(days=60)
    response = client.post(f"{url}/actions", data={"csrf_token": token, "description": "Publish the FAQ",
                                                   "owner": "Pat Parking", "due_on": [str(due.day), str(due.month), str(due.year)]})
    assert response.status_code == 303
    assert "Publish the FAQ" in client.get(url).get_data(as_text=True)
    first = runner.invoke(args=["reviews", "remind"])
    second = runner.invoke(args=["reviews", "remind"])
    assert first.exit_code == 0 and "Reminded 2 attendees" in first.output
    assert second.exit_code == 0 and "No reminders due." in second.output
    [message] = smtp_server.messages
    assert sorted(message.rcpt_tos) == ["pat@example.org", "sam@example.org"]
    assert "Publish the FAQ" in message.message.get_body().get_content()


@pytest.mark.parametrize("role", ["advisor", "team_leader", "service_lead", "service_manager", "parking_team",
                                  "director", "admin"])
def test_kpi_endpoints_answer_exactly_their_declared_roles(app, client, make_user, role):
    """The access matrix for this area alone (the app-wide walk also covers it), with nonsense ids."""
    from intranet.auth.access import declared_roles
    from tests.support import sign_in
    from tests.web.test_access_matrix import _url

    user = make_user(role)
    sign_in(client, user.username)
    token = csrf_token(client, "/")
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("kpi.")]
    assert len(rules) >= 20
    for rule in rules:
        allowed = declared_roles(app.view_functions[rule.endpoint])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            status = client.open(_url(rule), method=method, headers={"X-CSRFToken": token}).status_code
            assert (status != 403) if role in allowed else (status == 403), (role, method, rule.rule, status)
            assert status < 500, (role, method, rule.rule, status)
