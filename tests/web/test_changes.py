"""Change requests and SLA variations (issue 7): the notice clock, each route's rules, required
fields per status, who may do what, variations checked by the SLA engine, review reminders and
system change notices. Real app, real database, no mocks of our code."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml
from sqlalchemy import func, select

from intranet import create_app
from intranet.audit import AuditEntry
from intranet.changes import services
from intranet.changes.models import (ChangeAttachment, ChangeRequest, NoticeRead, ReviewReminder, SlaVariation,
                                     SystemChangeNotice)
from intranet.extensions import db
from intranet.service_rules import rules_in_force
from tests.support import HX, hx_get, post_form, sign_in

TODAY = services.today_london()


def _date(day: date) -> list[str]:
    return [str(day.day), str(day.month), str(day.year)]


def complete(days: int = 90, **overrides) -> dict:
    """Everything the SLA asks the requestor for, with `days` of notice from today."""
    data = {
        "title": "Resident permit price campaign", "requestor_name": "Pat Parking", "directorate": "Communities",
        "request_type": "campaign", "route": "standard", "description": "Letters to every permit holder.",
        "required_by": _date(TODAY + timedelta(days=days)),
        "volume_phone": "120", "volume_email": "40", "volume_post": "0", "volume_counter": "0", "volume_online": "10",
        "duration": "6 weeks", "implementation_plan": "Letters go out in two batches.",
        "script_design": "Explain the new price.", "briefings": "Team briefing on Monday.",
        "training": "None beyond the briefing.", "submit": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def make_request(user, days: int = 90, submit: bool = True, **overrides) -> ChangeRequest:
    """Through the service, as the form would, for tests that are about later steps."""
    data = complete(days, **overrides)
    data.pop("submit", None)
    fields = {k: v for k, v in data.items() if k in services.EDITABLE}
    fields["required_by"] = TODAY + timedelta(days=days) if "required_by" not in overrides else overrides["required_by"]
    for key in list(fields):
        if key.startswith("volume_"):
            fields[key] = int(fields[key]) if fields[key] != "" else None
    cr = services.save_request(user, None, fields, submit=submit)
    db.session.commit()
    return cr


def reload(cr_id: int) -> ChangeRequest:
    db.session.expire_all()
    return db.session.get(ChangeRequest, cr_id)


# --------------------------------------------------------------------------------------------
# Notice
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("days, meets", [(83, False), (84, True), (85, True)])
def test_notice_boundary_from_the_rules(app, days, meets):
    rules = rules_in_force()
    assert services.required_notice_days(rules) == 84  # 12 weeks, from the change_notice clock
    notice = services.notice_for(date(2017, 1, 2), date(2017, 1, 2) + timedelta(days=days), rules)
    assert notice.days == days and notice.meets is meets
    problems = services.route_problems(type("R", (), {"route": "standard", "request_type": "campaign",
                                                      "required_by": notice.required_by})(), rules, date(2017, 1, 2))
    assert ("route" in problems) is (not meets)


@pytest.mark.parametrize("days, accepted", [(83, False), (84, True), (85, True)])
def test_standard_submission_at_the_notice_boundary(client, login, days, accepted):
    login("parking_team")
    response = post_form(client, "/changes/new", complete(days))
    if accepted:
        assert response.status_code == 303
        cr = db.session.scalar(select(ChangeRequest))
        assert (cr.status, cr.notice_days, cr.short_notice, cr.received_on) == ("submitted", days, False, TODAY)
        assert cr.later_assessment_due is None
    else:
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "A standard request needs 84 days&#39; notice and this one has 83" in html
        assert "choose the urgent route" in html
        assert count(ChangeRequest) == 0 and count(AuditEntry) == 1  # only the sign-in


# --------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------
def test_urgent_route_needs_a_reason_and_gets_a_later_assessment_date(client, login):
    login("parking_team")
    response = post_form(client, "/changes/new", complete(70, route="urgent"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Select why the change is needed in a shorter time" in html
    assert "Explain why the CSC should deal with it in a shorter time" in html
    assert count(ChangeRequest) == 0

    response = post_form(client, "/changes/new", complete(70, route="urgent", urgent_reason="unforeseen_change",
                                                          urgent_detail="The supplier changed the permit system."))
    assert response.status_code == 303
    cr = db.session.scalar(select(ChangeRequest))
    assert (cr.status, cr.short_notice, cr.notice_days) == ("submitted", True, 70)
    rules = rules_in_force()
    # Assessed again when full notice would have run out, by the notice clock (a working day).
    assert cr.later_assessment_due == services.later_assessment_due(TODAY, rules)
    assert cr.later_assessment_due >= TODAY + timedelta(days=84)
    assert cr.later_assessment_due.weekday() < 5


def test_urgent_route_is_for_short_notice_only(client, login):
    login("parking_team")
    response = post_form(client, "/changes/new", complete(84, route="urgent", urgent_reason="key_risk",
                                                          urgent_detail="Risk"))
    assert response.status_code == 200
    assert "choose the standard route" in response.get_data(as_text=True)
    assert count(ChangeRequest) == 0


def test_minor_route_rules(client, login):
    login("parking_team")
    html = post_form(client, "/changes/new", complete(90, route="minor")).get_data(as_text=True)
    assert "Confirm the change does not affect resources or funding" in html
    assert "Confirm the change has been through the Directorate change process" in html
    assert "The minor route is only for a minor process change" in html  # every problem at once

    html = post_form(client, "/changes/new", complete(90, route="minor", minor_no_resources="y",
                                                      minor_directorate_process="y")).get_data(as_text=True)
    assert "The minor route is only for a minor process change" in html

    html = post_form(client, "/changes/new", complete(60, route="minor", request_type="minor_process_change",
                                                      minor_no_resources="y", minor_directorate_process="y")).get_data(as_text=True)
    assert "A minor process change needs 84 days&#39; notice" in html
    assert count(ChangeRequest) == 0

    response = post_form(client, "/changes/new", complete(90, route="minor", request_type="minor_process_change",
                                                          minor_no_resources="y", minor_directorate_process="y"))
    assert response.status_code == 303
    cr = db.session.scalar(select(ChangeRequest))
    assert cr.status == "awaiting_sign_off"  # no assessment: straight to mutual agreement
    assert [p for p, _ in services.required_parties(cr, rules_in_force())] == ["csc", "requestor"]


def test_minor_change_agreed_by_both_parties_skips_the_variation_process(app, client, make_user):
    pat, lead = make_user("parking_team"), make_user("service_lead")
    cr = make_request(pat, 90, route="minor", request_type="minor_process_change", minor_no_resources=True,
                      minor_directorate_process=True)
    sign_in(client, pat.username)
    assert post_form(client, f"/changes/{cr.id}/sign-off", {"party": "requestor", "comment": "Agreed"}).status_code == 303
    lead_client = app.test_client()
    sign_in(lead_client, lead.username)
    assert post_form(lead_client, f"/changes/{cr.id}/sign-off", {"party": "csc"}).status_code == 303
    cr = reload(cr.id)
    assert cr.status == "agreed" and not services.can_vary(cr)
    assert lead_client.get(f"/changes/{cr.id}/variation").status_code == 200
    response = post_form(lead_client, f"/changes/{cr.id}/variation",
                         {"effective_from": _date(TODAY), "agreed_by": "x", "reason": "x",
                          "changes": "kpis.answered_calls.target: 90"})
    assert response.status_code == 200 and count(SlaVariation) == 0


# --------------------------------------------------------------------------------------------
# Drafts and submission
# --------------------------------------------------------------------------------------------
def test_a_draft_can_be_incomplete_and_submission_names_what_is_missing(client, login):
    user = login("parking_team")
    response = post_form(client, "/changes/new", {"title": "Half-thought idea", "save": "y"})
    assert response.status_code == 303
    cr = db.session.scalar(select(ChangeRequest))
    assert cr.status == "draft" and cr.requestor_id == user.id
    page = client.get(f"/changes/{cr.id}").get_data(as_text=True)
    assert "govuk-task-list" in page and "Incomplete" in page

    response = post_form(client, f"/changes/{cr.id}/submit")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<title>Error:") == 1
    for message in ("Enter the directorate", "Select the type of change", "Select the route",
                    "Enter the date the change is required by", "Enter the expected contact volumes per week",
                    "Enter how long the change will last", "Enter the implementation plan", "Enter the script design",
                    "Enter the briefings staff will need", "Enter the training staff will need"):
        assert message in html, message
    assert reload(cr.id).status == "draft"

    data = complete(100)
    data.pop("submit")
    data["save"] = "y"
    assert post_form(client, f"/changes/{cr.id}/edit", data).status_code == 303
    assert post_form(client, f"/changes/{cr.id}/submit").status_code == 303
    cr = reload(cr.id)
    assert (cr.status, cr.notice_days) == ("submitted", 100)
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "change_request"))]
    assert actions == ["change_request_created", "change_request_updated", "change_request_submitted"]


def test_a_draft_needs_a_title(client, login):
    login("service_lead")
    response = post_form(client, "/changes/new", {"save": "y"})
    assert response.status_code == 200 and "Enter a title" in response.get_data(as_text=True)
    assert count(ChangeRequest) == 0


def test_bad_input_is_named_and_nothing_is_half_written(client, login, tmp_path):
    login("parking_team")
    before = count(AuditEntry)
    response = post_form(client, "/changes/new", complete(90, volume_phone="lots", required_by=["31", "2", "2017"]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Phone calls per week must be a whole number" in html
    assert "Required-by date must be a real date" in html
    assert "value=\"lots\"" in html  # what was typed is kept
    assert count(ChangeRequest) == 0 and count(AuditEntry) == before

    # A file that is not a PDF, JPG or PNG is refused before anything is written.
    import io

    from tests.support import csrf_token

    token = csrf_token(client, "/changes/new")
    data = complete(90)
    data["attachment"] = (io.BytesIO(b"MZ not a pdf"), "plan.pdf")
    response = client.post("/changes/new", data=data, headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "must be a PDF, JPG or PNG" in response.get_data(as_text=True)
    assert count(ChangeRequest) == 0 and count(ChangeAttachment) == 0

    # A real PDF is kept with the request and can be downloaded by those who see it.
    data = complete(90)
    data["attachment"] = (io.BytesIO(b"%PDF-1.4 plan"), "plan.pdf")
    response = client.post("/changes/new", data=data, headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert response.status_code == 303
    row = db.session.scalar(select(ChangeAttachment))
    assert row.original_name == "plan.pdf"
    download = client.get(f"/changes/{row.request_id}/attachments/{row.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")


def test_a_failed_submission_keeps_no_uploaded_file(client, login, app):
    import io
    import os

    from tests.support import csrf_token

    login("parking_team")
    token = csrf_token(client, "/changes/new")
    data = complete(10)  # short notice on the standard route: refused
    data["attachment"] = (io.BytesIO(b"%PDF-1.4 plan"), "plan.pdf")
    response = client.post("/changes/new", data=data, headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert response.status_code == 200
    folder = app.config["UPLOAD_DIR"]
    assert not os.path.isdir(folder) or os.listdir(folder) == []


# --------------------------------------------------------------------------------------------
# Assessment, sign-off, statuses
# --------------------------------------------------------------------------------------------
def test_assessment_rules_and_staffing_impact(app, client, make_user):
    pat, lead = make_user("parking_team"), make_user("service_lead")
    cr = make_request(pat, 90)
    sign_in(client, lead.username)
    page = client.get(f"/changes/{cr.id}/assess").get_data(as_text=True)
    assert 'value="170"' in page  # the requestor's volumes, as the starting point
    response = post_form(client, f"/changes/{cr.id}/assess", {"decision": "agree", "cost": "abc", "handling_minutes": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Cost must be an amount in pounds and pence" in html
    assert "Handling time per contact (minutes) must be a number of minutes" in html
    response = post_form(client, f"/changes/{cr.id}/assess", {"decision": "agree"})
    html = response.get_data(as_text=True)
    for message in ("Enter the cost, or 0 if there is none", "Enter the performance levels affected",
                    "Enter the risk assessment", "Enter the funding", "Enter the prioritisation against other work",
                    "Enter the change control", "Enter the extra contacts a week, or 0", "Enter the handling time in minutes"):
        assert message in html, message
    response = post_form(client, f"/changes/{cr.id}/assess", {"decision": "reject"})
    assert "Enter why the request is rejected" in response.get_data(as_text=True)
    assert reload(cr.id).status == "submitted"

    response = post_form(client, f"/changes/{cr.id}/assess", {
        "decision": "agree", "cost": "£1,250.50", "performance_levels": "Answered calls may dip 1%",
        "risk_assessment": "Low", "funding": "Parking budget", "prioritisation": "After renewals",
        "change_control": "Via the CSC change log", "extra_contacts_per_week": "100", "handling_minutes": "3",
        "varies_sla": "y"})
    assert response.status_code == 303
    cr = reload(cr.id)
    rules = rules_in_force()
    assert (cr.status, cr.cost_pence, cr.extra_hours_per_week) == ("awaiting_sign_off", 125050, 5.0)
    assert cr.extra_fte == round(5 / rules.staffing.productive_hours_per_fte_week, 2) == 0.18
    assert cr.varies_sla is True
    page = client.get(f"/changes/{cr.id}").get_data(as_text=True)
    assert "£1,250.50" in page and "5.0 hours a week, 0.18 FTE" in page


def _agreed(app, make_user, days: int = 90, **kwargs):
    pat, lead, manager = make_user("parking_team"), make_user("service_lead"), make_user("service_manager")
    cr = make_request(pat, days, **kwargs)
    services.assess(lead, cr, {"decision": "agree", "cost_pence": 0, "performance_levels": "None",
                               "risk_assessment": "Low", "funding": "n/a", "prioritisation": "n/a",
                               "change_control": "n/a", "extra_contacts_per_week": 10, "handling_minutes": 3,
                               "varies_sla": True})
    for user, party in ((lead, "service_lead"), (manager, "service_manager"), (pat, "requestor")):
        services.sign_off(user, cr, party, "ok")
    db.session.commit()
    return cr, pat, lead, manager


def test_sign_off_by_the_three_parties_agrees_the_change(app, client, make_user):
    pat, lead, manager = make_user("parking_team"), make_user("service_lead"), make_user("service_manager")
    cr = make_request(pat, 90)
    services.assess(lead, cr, {"decision": "agree", "cost_pence": 0, "performance_levels": "x", "risk_assessment": "x",
                               "funding": "x", "prioritisation": "x", "change_control": "x",
                               "extra_contacts_per_week": 1, "handling_minutes": 1})
    db.session.commit()
    for user, party in ((lead, "service_lead"), (manager, "service_manager"), (pat, "requestor")):
        c = app.test_client()
        sign_in(c, user.username)
        assert reload(cr.id).status == "awaiting_sign_off"
        assert post_form(c, f"/changes/{cr.id}/sign-off", {"party": party, "comment": f"{party} ok"}).status_code == 303
        again = post_form(c, f"/changes/{cr.id}/sign-off", {"party": party})
        assert again.status_code in (200, 403)
    cr = reload(cr.id)
    assert cr.status == "agreed"
    assert {(s.party, s.user_id, s.comment) for s in cr.sign_offs} == {
        ("service_lead", lead.id, "service_lead ok"), ("service_manager", manager.id, "service_manager ok"),
        ("requestor", pat.id, "requestor ok")}


def test_parking_team_submits_and_follows_but_cannot_act_as_the_csc(app, client, make_user):
    pat = make_user("parking_team")
    colleague = make_user("parking_team")
    lead = make_user("service_lead")
    sign_in(client, pat.username)
    assert post_form(client, "/changes/new", complete(90)).status_code == 303
    cr = db.session.scalar(select(ChangeRequest))
    assert cr.reference in client.get("/changes/").get_data(as_text=True)
    assert client.get(f"/changes/{cr.id}").status_code == 200
    assert client.get(f"/changes/{cr.id}/assess").status_code == 403
    assert post_form(client, f"/changes/{cr.id}/assess", {"decision": "agree"}).status_code == 403
    services.assess(lead, reload(cr.id), {"decision": "agree", "cost_pence": 0, "performance_levels": "x",
                                          "risk_assessment": "x", "funding": "x", "prioritisation": "x",
                                          "change_control": "x", "extra_contacts_per_week": 1, "handling_minutes": 1})
    db.session.commit()
    for party in ("service_lead", "service_manager"):
        assert post_form(client, f"/changes/{cr.id}/sign-off", {"party": party}).status_code == 403
    assert post_form(client, f"/changes/{cr.id}/variation", {}).status_code == 403
    assert {s.party for s in reload(cr.id).sign_offs} == set()
    # A colleague in the Parking Team follows it too, but only the requestor signs as requestor.
    other = app.test_client()
    sign_in(other, colleague.username)
    assert other.get(f"/changes/{cr.id}").status_code == 200
    assert post_form(other, f"/changes/{cr.id}/sign-off", {"party": "requestor"}).status_code == 403
    assert post_form(client, f"/changes/{cr.id}/sign-off", {"party": "requestor"}).status_code == 303
    # A request raised inside the CSC is not the Parking Team's to see.
    internal = make_request(lead, 90, title="Internal rota change")
    assert client.get(f"/changes/{internal.id}").status_code == 404
    assert "Internal rota change" not in client.get("/changes/").get_data(as_text=True)
    # CSC staff who may not submit get 403 on the form.
    advisor = app.test_client()
    sign_in(advisor, make_user("advisor").username)
    assert advisor.get("/changes/new").status_code == 403
    assert advisor.get(f"/changes/{internal.id}").status_code == 200


def test_each_status_requires_its_fields(app, client, make_user):
    cr, pat, lead, manager = _agreed(app, make_user)
    sign_in(client, lead.username)
    url = f"/changes/{cr.id}/status"
    page = client.get(url).get_data(as_text=True)
    assert "Implementation date" in page and "Why it is withdrawn" in page
    html = post_form(client, url, {"status": "scheduled"}).get_data(as_text=True)
    assert "Enter the implementation date" in html and "Enter the date of the staff briefings and training" in html
    assert reload(cr.id).status == "agreed"
    assert post_form(client, url, {"status": "implemented", "implemented_on": _date(TODAY),
                                   "implementation_notes": "x"}).status_code == 200  # not from agreed
    assert post_form(client, url, {"status": "scheduled", "go_live_on": _date(TODAY + timedelta(days=90)),
                                   "briefing_on": _date(TODAY + timedelta(days=80))}).status_code == 303
    html = post_form(client, url, {"status": "implemented"}).get_data(as_text=True)
    assert "Enter the date it was implemented" in html and "Enter what was implemented" in html
    html = post_form(client, url, {"status": "implemented", "implemented_on": _date(TODAY + timedelta(days=3)),
                                   "implementation_notes": "Done"}).get_data(as_text=True)
    assert "must be today or in the past" in html
    assert post_form(client, url, {"status": "implemented", "implemented_on": _date(TODAY),
                                   "implementation_notes": "Done"}).status_code == 303
    # Withdrawn only before implementation.
    assert "Withdrawn" not in client.get(url).get_data(as_text=True).split("New status")[1].split("</fieldset>")[0]
    html = post_form(client, url, {"status": "withdrawn", "withdrawn_reason": "x"}).get_data(as_text=True)
    assert "Select a status this request can move to" in html
    html = post_form(client, url, {"status": "reviewed"}).get_data(as_text=True)
    assert "Enter the date of the review" in html and "Enter the findings of the review" in html
    assert post_form(client, url, {"status": "reviewed", "reviewed_on": _date(TODAY), "review_findings": "Fine"}).status_code == 303
    assert reload(cr.id).status == "reviewed"


def test_urgent_review_needs_the_later_assessment_and_requestor_may_withdraw(app, client, make_user):
    urgent, pat, lead, manager = _agreed(app, make_user, 70, route="urgent", urgent_reason="performance_issue",
                                         urgent_detail="Queues")
    assert services.status_fields(urgent, "reviewed")[-1][0] == "later_assessment"
    sign_in(client, pat.username)
    url = f"/changes/{urgent.id}/status"
    # The requestor may withdraw but not move the change on: that is the CSC's.
    assert post_form(client, url, {"status": "scheduled", "go_live_on": _date(TODAY), "briefing_on": _date(TODAY)}).status_code == 403
    html = post_form(client, url, {"status": "withdrawn"}).get_data(as_text=True)
    assert "Enter why the request is withdrawn" in html
    assert post_form(client, url, {"status": "withdrawn", "withdrawn_reason": "No longer needed"}).status_code == 303
    assert reload(urgent.id).status == "withdrawn"

    other, *_ = _agreed(app, make_user, 70, route="urgent", urgent_reason="key_risk", urgent_detail="Risk")
    for status in ("scheduled", "implemented"):
        services.change_status(lead, other, status, {"go_live_on": TODAY, "briefing_on": TODAY, "implemented_on": TODAY,
                                                     "implementation_notes": "Done"})
    db.session.commit()
    c = app.test_client()
    sign_in(c, lead.username)
    html = post_form(c, f"/changes/{other.id}/status", {"status": "reviewed", "reviewed_on": _date(TODAY),
                                                       "review_findings": "Fine"}).get_data(as_text=True)
    assert "Enter the outcome of the later assessment under the variation process" in html
    assert post_form(c, f"/changes/{other.id}/status", {"status": "reviewed", "reviewed_on": _date(TODAY),
                                                       "review_findings": "Fine", "later_assessment": "Keep it"}).status_code == 303


# --------------------------------------------------------------------------------------------
# SLA variations
# --------------------------------------------------------------------------------------------
def test_variation_is_checked_by_the_engine_and_gives_the_yaml(app, client, make_user, tmp_path, database_url):
    cr, pat, lead, manager = _agreed(app, make_user)
    sign_in(client, lead.username)
    url = f"/changes/{cr.id}/variation"
    page = client.get(url).get_data(as_text=True)
    assert "Record an SLA variation" in page
    base = {"effective_from": _date(date(2017, 1, 1)), "agreed_by": "Sam Lead; Morgan Manager; Pat Parking",
            "reason": "Campaign season"}
    html = post_form(client, url, {**base, "changes": "kpis.answered_call.target: 90"}).get_data(as_text=True)
    assert "kpis.answered_call.target: no such key &#39;kpis.answered_call&#39; in the rules" in html
    html = post_form(client, url, {**base, "changes": "kpis.answered_calls.target: 150"}).get_data(as_text=True)
    assert "kpis.answered_calls.target" in html and "The rules would not load" in html
    html = post_form(client, url, {**base, "changes": "just words"}).get_data(as_text=True)
    assert "write each change as key.path: value" in html
    assert count(SlaVariation) == 0

    response = post_form(client, url, {**base, "changes": "kpis.answered_calls.target: 90\nkpis.answered_calls.amber_limit: 85"})
    assert response.status_code == 303
    row = db.session.scalar(select(SlaVariation))
    entry = yaml.safe_load(row.yaml_text)[0]
    assert entry == {"id": cr.reference.lower(), "effective_from": date(2017, 1, 1), "reason": "Campaign season",
                     "agreed_by": "Sam Lead; Morgan Manager; Pat Parking",
                     "changes": {"kpis.answered_calls.target": 90, "kpis.answered_calls.amber_limit": 85}}
    [listed] = services.recorded_variations()
    assert (listed.id, listed.in_force, listed.applied) == (cr.reference.lower(), False, False)
    detail = client.get(f"/changes/variations/{row.id}").get_data(as_text=True)
    assert "Agreed: to apply to the rules file" in detail and "kpis.answered_calls.target" in detail
    assert post_form(client, url, {**base, "changes": "kpis.answered_calls.target: 91"}).status_code == 200
    assert count(SlaVariation) == 1

    # Once the administrator adds the entry to the site file, the same row reads "in force".
    db.session.rollback()  # end this test's transaction: SQLite has one writer
    site = tmp_path / "sla.yaml"
    site.write_text(yaml.safe_dump({"variations": [entry]}, sort_keys=False))
    applied = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SLA_CONFIG": str(site)})
    with applied.app_context():
        [listed] = services.recorded_variations()
        assert listed.in_force and listed.applied and listed.state == "In force"
        assert rules_in_force().kpi("answered_calls").target == 90
        db.session.remove()


def test_a_renewal_is_a_variation_without_a_request(client, login):
    login("service_manager")
    response = post_form(client, "/changes/variations/new", {
        "effective_from": _date(date(2017, 4, 1)), "agreed_by": "Both parties", "reason": "Renewal for 2017-18",
        "changes": "agreement.period.end: 2018-03-31\nagreement.reviews.annual_review: 2018-03-02", "key": "renewal-2017"})
    assert response.status_code == 303
    row = db.session.scalar(select(SlaVariation))
    assert row.variation_key == "renewal-2017" and row.change_request_id is None
    assert "renewal-2017" in client.get("/changes/variations").get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# Register, forward look, pages and fragments
# --------------------------------------------------------------------------------------------
def test_register_filters_sorts_searches_and_pages(app, client, make_user):
    pat, lead = make_user("parking_team"), make_user("service_lead")
    for i in range(27):
        make_request(pat, 90 + i, title=f"Campaign {i:02d}")
    short = make_request(pat, 60, title="Unforeseen fix", route="urgent", urgent_reason="unforeseen_change",
                         urgent_detail="x", directorate="Highways")
    sign_in(client, lead.username)
    html = client.get("/changes/").get_data(as_text=True)
    assert html.count('class="govuk-tag govuk-tag--blue">Awaiting assessment') == services.PER_PAGE
    assert "Next page" in html and "Unforeseen fix" in html  # newest first
    nxt = client.get("/changes/?after=" + html.split("after=")[1].split('"')[0].split("&")[0]).get_data(as_text=True)
    assert "Campaign 00" in nxt and "Campaign 26" not in nxt
    filtered = client.get("/changes/?short_notice=yes").get_data(as_text=True)
    assert "Unforeseen fix" in filtered and "Campaign 03" not in filtered
    assert "Unforeseen fix" in client.get("/changes/?directorate=Highways").get_data(as_text=True)
    assert "Campaign 03" not in client.get("/changes/?route=urgent").get_data(as_text=True)
    assert "Campaign 03" in client.get("/changes/?q=campaign+03").get_data(as_text=True)
    assert "Unforeseen fix" in client.get(f"/changes/?q={short.reference}").get_data(as_text=True)
    by_date = client.get("/changes/?sort=required_by").get_data(as_text=True)
    assert by_date.index("Unforeseen fix") < by_date.index("Campaign 00")
    assert client.get("/changes/?sort=required_by&after=garbage").status_code == 200
    assert client.get("/changes/?status=nonsense").status_code == 200
    fragment = hx_get(client, "/changes/?short_notice=yes")
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'id="change-results"' in body and "Unforeseen fix" in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_forward_look_lists_agreed_changes_with_volumes(app, client, make_user):
    cr, pat, lead, manager = _agreed(app, make_user)
    make_request(pat, 95, title="Not agreed yet")
    sign_in(client, manager.username)
    html = client.get("/changes/forward-look").get_data(as_text=True)
    assert cr.reference in html and "Not agreed yet" not in html
    assert ">120<" in html and ">170<" in html  # phone calls and the weekly total


def test_every_page_as_full_page_and_htmx_fragment(app, client, make_user):
    cr, pat, lead, manager = _agreed(app, make_user)
    variation = services.record_variation(lead, cr, key="", effective_from=date(2017, 1, 1), reason="r", agreed_by="a",
                                          changes_text="kpis.answered_calls.target: 90")
    notice = services.publish_notice(pat, title="New permit database", what_changes="x", change_on=TODAY,
                                     effect_on_csc="Log in with new accounts")
    draft = make_request(lead, 90, submit=False)
    db.session.commit()
    sign_in(client, lead.username)
    pages = {
        "/changes/": "change-results", "/changes/forward-look": "forward-look", "/changes/new": "request-form",
        f"/changes/{cr.id}": "change-request", f"/changes/{draft.id}/edit": "request-form",
        f"/changes/{cr.id}/sign-off": "sign-off-form", f"/changes/{cr.id}/status": "status-form",
        f"/changes/{cr.id}/assess": "assess-form", f"/changes/{cr.id}/variation": "variation-form",
        "/changes/variations": "variation-results", "/changes/variations/new": "variation-form",
        f"/changes/variations/{variation.id}": "variation", "/changes/reviews": "review-results",
        "/changes/notices": "notice-results", f"/changes/notices/{notice.id}": "notice",
    }
    for url, block in pages.items():
        full = client.get(url)
        assert full.status_code == 200, url
        assert "<html" in full.get_data(as_text=True), url
        part = hx_get(client, url)
        body = part.get_data(as_text=True)
        assert part.status_code == 200 and "<html" not in body and f'id="{block}"' in body, url
        assert "HX-Request" in part.headers["Vary"], url
    # Boosted navigation gets the whole page.
    boosted = client.get("/changes/", headers={**HX, "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)
    parking = app.test_client()
    sign_in(parking, pat.username)
    assert parking.get("/changes/notices/new").status_code == 200
    assert 'id="notice-form"' in hx_get(parking, "/changes/notices/new").get_data(as_text=True)


def test_invalid_forms_answer_200_for_htmx_with_errors(client, login):
    login("parking_team")
    response = post_form(client, "/changes/new", complete(10), htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "govuk-error-summary" in body and "<html" not in body
    ok = post_form(client, "/changes/new", complete(90), htmx=True)
    assert ok.headers["HX-Redirect"].startswith("/changes/")


# --------------------------------------------------------------------------------------------
# Review calendar and reminders
# --------------------------------------------------------------------------------------------
def test_review_calendar_comes_from_the_rules(app):
    rules = rules_in_force()
    events = services.review_calendar(rules, date(2016, 12, 1))
    kinds = [(e.kind, e.on) for e in events]
    assert ("first_month", date(2016, 7, 1)) in kinds
    assert ("annual", date(2017, 3, 3)) in kinds and ("annual", date(2018, 3, 3)) in kinds
    assert ("service_review", date(2016, 12, 1)) in kinds and ("service_review", date(2017, 6, 1)) in kinds
    annual = next(e for e in events if e.on == date(2017, 3, 3))
    assert annual.remind_on == date(2017, 3, 3) - timedelta(days=84)


def test_remind_command_records_each_reminder_once(app, runner, make_user):
    manager = make_user("service_manager")
    make_user("advisor")
    result = runner.invoke(args=["changes", "remind", "--today", "2016-12-09"])
    assert result.exit_code == 0, result.output
    assert "Annual review of the SLA on 2017-03-03" in result.output
    [row] = db.session.scalars(select(ReviewReminder)).all()
    assert (row.review_kind, row.review_on) == ("annual", date(2017, 3, 3))
    assert manager.username in row.recipients and "advisor" not in row.recipients
    again = runner.invoke(args=["changes", "remind", "--today", "2016-12-10"])
    assert "No review reminders due." in again.output
    assert count(ReviewReminder) == 1
    assert runner.invoke(args=["changes", "remind", "--today", "soon"]).exit_code != 0


# --------------------------------------------------------------------------------------------
# System change notices
# --------------------------------------------------------------------------------------------
def test_notices_shown_until_read_and_managers_see_who_has_not(app, client, make_user):
    pat, advisor, leader = make_user("parking_team"), make_user("advisor"), make_user("team_leader")
    sign_in(client, pat.username)
    html = post_form(client, "/changes/notices/new", {"title": "x"}).get_data(as_text=True)
    assert "Enter the details of the change" in html and "Enter the date it changes" in html
    assert count(SystemChangeNotice) == 0
    response = post_form(client, "/changes/notices/new", {
        "title": "Permit database upgrade", "what_changes": "New screens for searching households",
        "change_on": _date(TODAY + timedelta(days=7)), "effect_on_csc": "Searches by VRM move to a new tab"})
    assert response.status_code == 303
    notice = db.session.scalar(select(SystemChangeNotice))
    assert "System changes to read" not in client.get("/").get_data(as_text=True)  # the Parking Team is not asked

    a = app.test_client()
    sign_in(a, advisor.username)
    home = a.get("/").get_data(as_text=True)
    assert "System changes to read" in home and "Searches by VRM move to a new tab" in home
    m = app.test_client()
    sign_in(m, leader.username)
    page = m.get(f"/changes/notices/{notice.id}").get_data(as_text=True)
    assert "Not read yet (2)" in page and advisor.full_name in page
    banner = post_form(a, f"/changes/notices/{notice.id}/read", {"next": "/"}, htmx=True)
    assert banner.status_code == 200 and "System changes to read" not in banner.get_data(as_text=True)
    assert 'id="change-notice-banner"' in banner.get_data(as_text=True)
    assert "System changes to read" not in a.get("/").get_data(as_text=True)
    assert post_form(a, f"/changes/notices/{notice.id}/read", {"next": "//evil.example"}).headers["Location"] == f"/changes/notices/{notice.id}"
    assert count(NoticeRead) == 1
    page = m.get(f"/changes/notices/{notice.id}").get_data(as_text=True)
    assert "Not read yet (1)" in page and "Read (1)" in page
    assert post_form(client, f"/changes/notices/{notice.id}/read").status_code == 403  # Parking Team


def test_unread_notices_is_one_query(app, make_user):
    from sqlalchemy import event

    advisor = make_user("advisor")
    pat = make_user("parking_team")
    for i in range(3):
        services.publish_notice(pat, title=f"n{i}", what_changes="x", change_on=TODAY, effect_on_csc="y")
    db.session.commit()
    assert advisor.roles == ["advisor"]  # loads the user first: the query counted is the notices'
    statements = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert len(services.unread_notices(advisor)) == 3
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


# --------------------------------------------------------------------------------------------
# Access, in the blueprint's own words (the app-wide matrix covers the same)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["advisor", "team_leader", "service_lead", "service_manager", "parking_team",
                                  "director", "admin"])
def test_changes_endpoints_answer_each_role_as_declared(app, client, make_user, role):
    from intranet.auth.access import declared_roles
    from tests.support import csrf_token

    sign_in(client, make_user(role).username)
    token = csrf_token(client, "/")
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("changes."):
            continue
        url = rule.build({a: 999999 for a in rule.arguments}, append_unknown=False)[1]
        allowed = role in declared_roles(app.view_functions[rule.endpoint])
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            status = client.open(url, method=method, headers={"X-CSRFToken": token}).status_code
            assert (status != 403) if allowed else (status == 403), (role, method, url, status)
            assert status < 500, (role, method, url, status)
