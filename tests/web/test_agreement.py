"""The SLA page, deadline calculator, business continuity and the `sla` commands."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intranet import create_app
from intranet.agreement.models import EmergencyDeclaration
from intranet.audit import AuditEntry
from intranet.extensions import db
from intranet.sla import RulesError
from intranet.timefmt import utcnow
from tests.support import HX, post_form


@pytest.mark.parametrize("role", ["advisor", "parking_team", "director", "admin"])
def test_sla_page_is_for_every_role_and_rendered_from_the_rules(client, login, role):
    login(role)
    html = client.get("/sla/").get_data(as_text=True)
    for text in ("1 June 2016 to 31 March 2017", "3 March 2017", "08:30 to 17:00", "permit_issue",
                 "2 working days", "≥ 95%", "≤ 5%", "Deputy Director (OCS)", "Ombudsman", "NP0009",
                 "Values to confirm", "Normal service", "nsl-oxford@example.org"):
        assert text in html, text


def test_sla_page_follows_a_site_rules_file(database_url, tmp_path):
    from intranet.auth.models import User
    from tests.support import PASSWORD, sign_in

    site = tmp_path / "sla.yaml"
    site.write_text("kpis:\n  answered_calls:\n    target: 97\n")
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SLA_CONFIG": str(site)})
    with app.app_context():
        user = User(username="sitecheck", full_name="Site Check")
        user.roles = ["advisor"]
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    sign_in(client, "sitecheck")
    assert "≥ 97%" in client.get("/sla/").get_data(as_text=True)


def test_invalid_site_rules_stop_the_app_starting(database_url, tmp_path):
    site = tmp_path / "sla.yaml"
    site.write_text("kpis:\n  answered_calls:\n    target: 140\n")
    with pytest.raises(RulesError) as info:
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SLA_CONFIG": str(site)})
    assert "kpis.answered_calls.target: expected a percentage 0-100, got 140" in info.value.errors


def test_deadline_form_full_page_and_fragment(client, login):
    login("advisor")
    url = "/sla/?clock=permit_issue&received=2017-03-10T18:00"
    page = client.get(url).get_data(as_text=True)
    assert "Due Wednesday 15 March 2017 at 5:00pm" in page and "<html" in page
    fragment = client.get(url, headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="deadline-result"')
    assert "Due Wednesday 15 March 2017 at 5:00pm" in fragment and "Monday 13 March 2017" in fragment


def test_deadline_form_bad_input_is_named(client, login):
    login("advisor")
    html = client.get("/sla/?clock=permit_issue&received=tomorrow", headers=HX).get_data(as_text=True)
    assert "Enter the date and time as YYYY-MM-DDTHH:MM" in html and "govuk-error-summary" in html
    html = client.get("/sla/?clock=nonsense&received=2017-03-10T18:00").get_data(as_text=True)
    assert "Not a valid choice" in html or "govuk-error-summary" in html
    assert "<title>Error:" in client.get("/sla/?clock=permit_issue&received=").get_data(as_text=True)


def test_declare_and_end_an_emergency_with_banner_and_audit(client, login):
    manager = login("service_manager")
    bad = post_form(client, "/sla/continuity", {"kind": "", "reason": "", "ends": "soon"}, htmx=True)
    html = bad.get_data(as_text=True)
    assert "Select the kind of event" in html and "Enter the reason" in html
    assert db.session.scalar(select(EmergencyDeclaration)) is None
    response = post_form(client, "/sla/continuity", {"kind": "extreme_weather", "reason": "Snow closes the office"})
    assert response.status_code == 303
    page = client.get("/sla/").get_data(as_text=True)
    assert "Business continuity" in page and "Snow closes the office" in page and "Reduced service level targets apply" in page
    declaration = db.session.scalar(select(EmergencyDeclaration))
    assert post_form(client, f"/sla/continuity/{declaration.id}/end", {"note": "Thawed"}).status_code == 303
    assert "Snow closes the office" not in client.get("/").get_data(as_text=True)
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "emergency")).all()
    assert actions == ["emergency_declared", "emergency_ended"]


def test_end_before_start_is_refused(client, login):
    login("service_manager")
    html = post_form(client, "/sla/continuity", {"kind": "major_demand", "reason": "x", "starts": "2026-12-10T09:00",
                                                 "ends": "2026-12-09T09:00"}).get_data(as_text=True)
    assert "The end must be after the start" in html


def test_planned_emergency_shows_no_banner_until_it_starts(client, login):
    manager = login("service_manager")
    db.session.add(EmergencyDeclaration(kind="major_demand", starts_at=utcnow() + timedelta(days=2),
                                        reason="Renewal season", declared_by_id=manager.id))
    db.session.commit()
    assert "Renewal season" not in client.get("/").get_data(as_text=True)


def test_only_the_service_manager_declares(client, login):
    login("team_leader")
    assert client.get("/sla/continuity").status_code == 403


def test_cli_check_due_and_calendar(runner, tmp_path):
    result = runner.invoke(args=["sla", "check"])
    assert result.exit_code == 0 and result.output.startswith("SLA rules OK")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kpis:\n  answered_calls:\n    target: 140\ncalendar:\n  service_hours:\n    open: '17:00'\n    close: '08:30'\n")
    result = runner.invoke(args=["sla", "check", str(bad)])
    assert result.exit_code == 1
    assert "kpis.answered_calls.target: expected a percentage 0-100, got 140" in result.output
    assert "calendar.service_hours.close" in result.output

    assert runner.invoke(args=["sla", "due", "permit_issue", "2017-03-07T11:00"]).output.strip() == "2017-03-09T17:00"
    assert runner.invoke(args=["sla", "due", "permit_issue", "2017-03-10T18:00"]).output.strip() == "2017-03-15T17:00"
    paused = runner.invoke(args=["sla", "due", "permit_issue", "2017-03-07T11:00",
                                 "--pause", "2017-03-08T09:00/2017-03-08T13:00"])
    assert paused.output.strip() == "2017-03-10T12:30"
    unknown = runner.invoke(args=["sla", "due", "nope", "2017-03-07T11:00"])
    assert unknown.exit_code == 2 and len(unknown.output.strip().splitlines()) == 1
    malformed = runner.invoke(args=["sla", "due", "permit_issue", "7 March"])
    assert malformed.exit_code == 2 and len(malformed.output.strip().splitlines()) == 1

    calendar = runner.invoke(args=["sla", "calendar", "2016"])
    assert "2016-12-27" in calendar.output and "2016-12-26" in calendar.output and calendar.exit_code == 0
