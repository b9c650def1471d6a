"""Partner agreements and their collections; the enforcement lookup."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from intranet.extensions import db
from intranet.permits import after_issue, enforcement, partners
from intranet.permits.casework import CaseworkError, london_today
from intranet.permits.demo_issued import load_partner_demo
from intranet.permits.models import PartnerAgreement, PartnerCollection, Permit
from intranet.timefmt import LONDON
from tests.permit_factories import fragment_root, issue_permit, london_noon, make_zone
from tests.support import hx_get, post_form, sign_in


def _agreement(actor, *, start=date(2026, 4, 1), per_collection=20, per_year=50) -> PartnerAgreement:
    agreement = partners.save_agreement(actor, None, partners.AgreementTerms(
        organisation="Thames Valley Police", contact_name="Sgt Pepper", contact_email="", permit_kind="visitor",
        max_per_collection=per_collection, max_per_year=per_year, owner_name="Helen Crozier", valid_from=start,
        valid_to=date(start.year + 2, start.month, start.day) - timedelta(days=1)))
    db.session.commit()
    return agreement


def _collect(actor, agreement, day: date, quantity: int):
    return partners.record_collection(actor, agreement, collected_at=london_noon(day), quantity=quantity,
                                      collected_by="PC 123 Smith", now=london_noon(day) + timedelta(hours=1))


# ---------------------------------------------------------------- partner rules

def test_collection_over_the_per_collection_maximum_is_refused_with_the_numbers(app, make_user):
    agreement = _agreement(make_user("advisor"))
    with pytest.raises(CaseworkError, match="at most 20 permits per collection: 21 is too many") as caught:
        _collect(make_user("advisor"), agreement, date(2026, 5, 1), 21)
    assert caught.value.field == "quantity"


def test_collection_outside_the_agreement_dates_is_refused(app, make_user):
    user = make_user("advisor")
    agreement = _agreement(user)
    with pytest.raises(CaseworkError, match="runs from 1 April 2026 to 31 March 2028: a collection on "
                                            "31 March 2026 is outside it"):
        _collect(user, agreement, date(2026, 3, 31), 5)


def test_yearly_maximum_counts_the_agreement_year_and_says_how_many_are_left(app, make_user):
    user = make_user("advisor")
    agreement = _agreement(user)
    _collect(user, agreement, date(2026, 4, 10), 20)
    _collect(user, agreement, date(2026, 9, 1), 20)
    with pytest.raises(CaseworkError, match=r"allows 50 permits a year and 40 have been collected from 1 April 2026 "
                                            r"to 31 March 2027: 15 more would go over; at most 10 can be collected"):
        _collect(user, agreement, date(2027, 3, 31), 15)
    _collect(user, agreement, date(2027, 3, 31), 10)  # exactly the yearly maximum is allowed
    _collect(user, agreement, date(2027, 4, 1), 20)   # a new agreement year starts afresh
    db.session.commit()
    assert partners.totals(agreement, date(2027, 3, 1)).collected == 50
    assert partners.totals(agreement, date(2027, 4, 2)).collected == 20


def test_future_collection_and_bad_terms_are_refused(app, make_user):
    user = make_user("team_leader")
    agreement = _agreement(user)
    with pytest.raises(CaseworkError, match="cannot be in the future"):
        partners.record_collection(user, agreement, collected_at=london_noon(date(2026, 5, 2)), quantity=1,
                                   collected_by="PC", now=london_noon(date(2026, 5, 1)))
    terms = partners.AgreementTerms("Org", "Someone", "", "visitor", 10, 5, "Helen Crozier", date(2026, 4, 1),
                                    date(2027, 3, 31))
    with pytest.raises(CaseworkError, match=r"yearly maximum \(5\) cannot be less than the maximum per collection"):
        partners.save_agreement(user, None, terms)


def test_demo_creates_the_thames_valley_police_agreement_from_the_rules_once(app, make_user):
    admin = make_user("admin")
    lines = load_partner_demo(admin)
    assert lines == ["Partner agreement: Thames Valley Police (owner Helen Crozier)"]
    agreement = db.session.scalar(select(PartnerAgreement))
    assert (agreement.organisation, agreement.owner_name, agreement.permit_kind) == (
        "Thames Valley Police", "Helen Crozier", "visitor")
    assert agreement.valid_from <= london_today() <= agreement.valid_to
    assert load_partner_demo(admin) == []
    assert db.session.scalar(select(func.count(PartnerAgreement.id))) == 1


# ---------------------------------------------------------------- partner pages

def _form_date(day: date, name: str) -> dict:
    return {name: [str(day.day), str(day.month), str(day.year)]}


def test_team_leader_records_an_agreement_prefilled_from_the_rules(client, login):
    login("team_leader")
    listing = client.get("/partners").get_data(as_text=True)
    assert "Thames Valley Police" in listing and "Record the agreement" in listing
    form = client.get("/partners/new?partner=thames_valley_police").get_data(as_text=True)
    assert 'value="Thames Valley Police"' in form and 'value="Helen Crozier"' in form
    data = {"organisation": "Thames Valley Police", "contact_name": "Sgt Pepper", "permit_kind": "visitor",
            "max_per_collection": "20", "max_per_year": "10", "owner_name": "Helen Crozier",
            **_form_date(date(2026, 4, 1), "valid_from"), **_form_date(date(2027, 3, 31), "valid_to")}
    response = post_form(client, "/partners/new", data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment_root(html).startswith('<div id="agreement-form">')
    assert "The yearly maximum (10) cannot be less than the maximum per collection (20)" in html
    assert 'value="Sgt Pepper"' in html
    assert db.session.scalar(select(PartnerAgreement)) is None
    response = post_form(client, "/partners/new", {**data, "max_per_year": "600"})
    assert response.status_code == 303
    agreement = db.session.scalar(select(PartnerAgreement))
    assert response.headers["Location"].startswith(f"/partners/{agreement.id}")
    assert agreement.max_per_year == 600


def test_agreement_form_names_missing_fields(client, login):
    login("service_manager")
    html = post_form(client, "/partners/new", {"max_per_collection": "ten"}).get_data(as_text=True)
    assert "<title>Error: " in html
    for message in ("Enter the organisation", "Most permits per collection must be a whole number",
                    "Enter the most permits a year", 'value="ten"'):
        assert message in html


def test_edit_agreement(client, login, make_user):
    agreement = _agreement(make_user("team_leader"))
    login("team_leader")
    page = client.get(f"/partners/{agreement.id}/edit").get_data(as_text=True)
    assert 'value="Sgt Pepper"' in page and 'value="20"' in page
    data = {"organisation": "Thames Valley Police", "contact_name": "Insp Morse", "permit_kind": "visitor",
            "max_per_collection": "25", "max_per_year": "100", "owner_name": "Helen Crozier",
            **_form_date(agreement.valid_from, "valid_from"), **_form_date(agreement.valid_to, "valid_to")}
    assert post_form(client, f"/partners/{agreement.id}/edit", data).status_code == 303
    assert db.session.get(PartnerAgreement, agreement.id).contact_name == "Insp Morse"


def test_advisor_records_a_collection_and_sees_totals(client, login, make_user):
    today = london_today()
    agreement = _agreement(make_user("team_leader"), start=date(today.year - 1, today.month, 1), per_year=50)
    login("advisor")
    page = client.get(f"/partners/{agreement.id}").get_data(as_text=True)
    assert "Record a collection" in page and "0</strong> of 50 collected" in page
    assert "Change the agreement" not in page
    now = datetime.now(LONDON) - timedelta(minutes=10)
    data = {**_form_date(now.date(), "collected_on"), "collected_time": now.strftime("%H:%M"), "quantity": "21",
            "collected_by": "PC 123 Smith"}
    response = post_form(client, f"/partners/{agreement.id}/collections", data, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment_root(html).startswith('<div id="collection-form">')
    assert "at most 20 permits per collection: 21 is too many" in html and 'value="21"' in html
    response = post_form(client, f"/partners/{agreement.id}/collections", {**data, "quantity": "12"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Collection recorded" in page and "12</strong> of 50 collected" in page and "PC 123 Smith" in page
    assert "12 visitor permits collected by PC 123 Smith" in page  # the timeline


def test_collection_form_errors(client, login, make_user):
    agreement = _agreement(make_user("team_leader"))
    login("advisor")
    html = post_form(client, f"/partners/{agreement.id}/collections",
                     {"collected_on": ["", "", ""], "collected_time": "25:99", "quantity": ""}).get_data(as_text=True)
    assert "Time collected must be a time" in html and "Enter how many permits were collected" in html
    assert db.session.scalar(select(func.count(PartnerCollection.id))) == 0


def test_partner_permissions(app, client, login, make_user):
    agreement = _agreement(make_user("team_leader"))
    login("advisor")
    assert client.get("/partners/new").status_code == 403
    assert client.get(f"/partners/{agreement.id}/edit").status_code == 403
    other = app.test_client()
    assert sign_in(other, make_user("parking_team").username).status_code == 303
    assert other.get("/partners").status_code == 403


# ---------------------------------------------------------------- enforcement lookup

def test_lookup_answers_yes_with_the_covering_permit(client, login, make_user):
    staff = make_user("advisor")
    zone = make_zone("JR", "Jericho")
    permit = issue_permit(staff, vrm="AB12CDE", zone=zone)
    login("parking_team")
    html = client.get(f"/enforcement?vrm=ab12+cde&zone={zone.id}").get_data(as_text=True)
    assert "Yes: AB12CDE was covered in zone JR (Jericho) on" in html
    assert permit.number in html
    assert "Visitor permits are not tied to a vehicle" in html


def test_lookup_by_zone_and_date(client, login, make_user):
    staff = make_user("advisor")
    zone, other = make_zone("JR"), make_zone("SC")
    issue_permit(staff, vrm="AB12CDE", zone=zone)
    login("advisor")
    html = client.get(f"/enforcement?vrm=AB12CDE&zone={other.id}").get_data(as_text=True)
    assert "No: no resident permit covered AB12CDE in zone SC" in html and "For zone JR, not zone SC" in html
    past = london_today() - timedelta(days=30)
    html = client.get(f"/enforcement?vrm=AB12CDE&on={past.day}&on={past.month}&on={past.year}").get_data(as_text=True)
    assert "No: no resident permit covered AB12CDE on" in html and "Not valid until" in html


def test_change_of_vehicle_moves_coverage_to_the_new_permit(client, login, make_user):
    staff = make_user("advisor")
    zone = make_zone("JR")
    old = issue_permit(staff, vrm="AB12CDE", zone=zone, valid_from=london_today() - timedelta(days=60))
    new = after_issue.change_vehicle(staff, old, "XY65ZZZ")
    db.session.commit()
    today = london_today()
    answer = enforcement.lookup("XY65ZZZ", today, zone)
    assert [p.id for p in answer.covering] == [new.id]
    old_answer = enforcement.lookup("AB12CDE", today, zone)
    assert not old_answer.covered and old_answer.not_covering[0].why_not.startswith("Change of vehicle on")
    # Before the change the old permit did cover the old vehicle.
    assert [p.id for p in enforcement.lookup("AB12CDE", today - timedelta(days=1), zone).covering] == [old.id]
    login("advisor")
    html = client.get("/enforcement?vrm=XY65ZZZ").get_data(as_text=True)
    assert new.number in html and old.number not in html


def test_lookup_htmx_fragment_and_empty_and_bad_input(client, login):
    login("director")
    page = client.get("/enforcement")
    assert page.status_code == 200 and "Enter a vehicle registration to see the answer" in page.get_data(as_text=True)
    fragment = hx_get(client, "/enforcement?vrm=AB12CDE").get_data(as_text=True)
    assert fragment_root(fragment).startswith('<div id="lookup-result"') and "<html" not in fragment
    assert "No: no resident permit covered AB12CDE" in fragment
    bad = client.get("/enforcement?vrm=AB12CDE&on=31&on=2&on=2026").get_data(as_text=True)
    assert "Date must be a real date" in bad and 'value="31"' in bad
    assert client.get("/enforcement?vrm=AB12CDE&zone=999999").status_code == 200


def test_lookup_is_refused_to_admin(client, login):
    login("admin")
    assert client.get("/enforcement").status_code == 403


def test_ended_permit_stops_covering_on_its_end_day(app, make_user):
    staff = make_user("advisor")
    permit = issue_permit(staff, vrm="AB12CDE", valid_from=london_today() - timedelta(days=10))
    after_issue.cancel(staff, permit, reason="Sold")
    db.session.commit()
    permit = db.session.get(Permit, permit.id)
    assert not after_issue.covers(permit, london_today())
    assert after_issue.covers(permit, london_today() - timedelta(days=1))
