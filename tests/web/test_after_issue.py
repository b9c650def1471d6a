"""The permit page and changes after issue: change of vehicle, lost or stolen replacement, cancellation."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from intranet.audit import entries_for
from intranet.extensions import db
from intranet.permits import after_issue, renewals
from intranet.permits.casework import CaseworkError
from intranet.permits.models import Application, Permit
from tests.permit_factories import fragment_root, issue_permit, make_customer, make_zone
from tests.support import hx_get, post_form


@pytest.fixture
def staff(make_user):
    return make_user("advisor", username="issuer")


def _permits_for(vrm: str) -> list[Permit]:
    return list(db.session.scalars(select(Permit).where(Permit.vrm == vrm).order_by(Permit.id)))


# ---------------------------------------------------------------- the permit page

def test_permit_page_shows_the_permit_its_application_and_timeline(client, login, staff):
    permit = issue_permit(staff, vrm="AB12CDE")
    login("advisor")
    html = client.get(f"/permits/{permit.id}").get_data(as_text=True)
    assert f"Permit {permit.number}" in html
    assert "AB12CDE" in html and "£60.00" in html and "PAY-1" in html
    assert "Not yet printed" in html
    assert permit.application.reference in html
    assert "Issued resident permit" in html  # the timeline, from the audit trail
    assert "Change the vehicle" in html and "Request a refund" in html


def test_permit_page_links_to_customer_and_application_when_those_pages_exist(app, client, login, staff):
    permit = issue_permit(staff)
    login("advisor")
    html = client.get(f"/permits/{permit.id}").get_data(as_text=True)
    if "permits.customer" in app.view_functions:
        assert f'href="/customers/{permit.customer_id}"' in html
    if "permits.application" in app.view_functions:
        assert f'href="/applications/{permit.application_id}"' in html


def test_director_reads_the_permit_page_without_actions(client, login, staff):
    permit = issue_permit(staff)
    login("director")
    response = client.get(f"/permits/{permit.id}")
    assert response.status_code == 200
    assert "Change the vehicle" not in response.get_data(as_text=True)


def test_parking_team_cannot_read_permit_pages(client, login, staff):
    permit = issue_permit(staff)
    login("parking_team")
    assert client.get(f"/permits/{permit.id}").status_code == 403


def test_unknown_permit_is_404(client, login):
    login("advisor")
    assert client.get("/permits/999999").status_code == 404


# ---------------------------------------------------------------- change of vehicle

def test_change_of_vehicle_issues_a_new_permit_and_ends_the_old_one(client, login, staff):
    old = issue_permit(staff, vrm="AB12CDE")
    login("advisor")
    response = post_form(client, f"/permits/{old.id}/change-vehicle", {"vrm": "xy 65 zzz", "note": "V5C seen"})
    assert response.status_code == 303
    old = db.session.get(Permit, old.id)
    assert (old.status, old.end_reason) == ("replaced", "vehicle_change")
    assert old.ended_at is not None
    new = db.session.scalar(select(Permit).where(Permit.replaces_id == old.id))
    assert response.headers["Location"].startswith(f"/permits/{new.id}")
    assert new.vrm == "XY65ZZZ" and new.number != old.number
    assert new.valid_to == old.valid_to and new.zone_id == old.zone_id and new.fee_pence == 0
    assert new.status == "active"
    assert [e.action for e in entries_for("permit", old.id)][-1] == "permit_vehicle_changed"
    assert "replacing" in entries_for("permit", new.id)[-1].summary
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vehicle changed" in page and old.number in page


def test_change_of_vehicle_refuses_a_bad_registration_and_keeps_what_was_typed(client, login, staff):
    old = issue_permit(staff)
    login("advisor")
    response = post_form(client, f"/permits/{old.id}/change-vehicle", {"vrm": "NOT A CAR 1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: " in html
    assert "is not a UK vehicle registration format" in html
    assert 'value="NOT A CAR 1"' in html
    assert db.session.get(Permit, old.id).status == "active"
    assert len(_permits_for("AB12CDE")) == 1


def test_change_of_vehicle_as_htmx_returns_the_form_fragment_or_a_redirect(client, login, staff):
    old = issue_permit(staff)
    login("advisor")
    response = post_form(client, f"/permits/{old.id}/change-vehicle", {"vrm": ""}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert fragment_root(html).startswith('<div id="action-form">') and "<html" not in html
    assert html.lstrip().startswith("<title>Error: Change the vehicle on permit")  # htmx updates the title
    assert "Enter the new vehicle registration" in html
    response = post_form(client, f"/permits/{old.id}/change-vehicle", {"vrm": "XY65ZZZ"}, htmx=True)
    assert response.headers["HX-Redirect"].startswith("/permits/")


def test_change_of_vehicle_page_full_and_fragment(client, login, staff):
    old = issue_permit(staff)
    login("advisor")
    assert "<html" in client.get(f"/permits/{old.id}/change-vehicle").get_data(as_text=True)
    fragment = hx_get(client, f"/permits/{old.id}/change-vehicle").get_data(as_text=True)
    assert fragment_root(fragment).startswith('<div id="action-form">')


def test_actions_on_an_ended_permit_are_refused(client, login, staff):
    old = issue_permit(staff)
    login("advisor")
    post_form(client, f"/permits/{old.id}/cancel", {"reason": "Moved away"})
    for url, data in ((f"/permits/{old.id}/change-vehicle", {"vrm": "XY65ZZZ"}),
                      (f"/permits/{old.id}/replace", {"what": "lost", "payment_reference": "P"}),
                      (f"/permits/{old.id}/cancel", {"reason": "again"})):
        response = post_form(client, url, data)
        assert response.status_code == 200, url
        assert "is cancelled, so it cannot be" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Permit)).all()) == 1


def test_change_of_vehicle_only_for_resident_permits(app, staff):
    permit = issue_permit(staff, kind="visitor")
    with pytest.raises(CaseworkError, match="not tied to a vehicle"):
        after_issue.change_vehicle(staff, permit, "XY65ZZZ")


def test_same_vehicle_is_refused(app, staff):
    permit = issue_permit(staff, vrm="AB12CDE")
    with pytest.raises(CaseworkError, match="already the vehicle"):
        after_issue.change_vehicle(staff, permit, "ab12 cde")


# ---------------------------------------------------------------- lost or stolen

def test_lost_permit_replacement_charges_the_rules_fee_and_needs_a_payment_reference(client, login, staff):
    old = issue_permit(staff)
    login("advisor")
    response = post_form(client, f"/permits/{old.id}/replace", {"what": "lost"})
    assert response.status_code == 200
    assert "Enter the payment reference for the £10.00 replacement fee" in response.get_data(as_text=True)
    assert db.session.get(Permit, old.id).status == "active"

    response = post_form(client, f"/permits/{old.id}/replace", {"what": "stolen", "payment_reference": "PAY-77",
                                                                 "note": "Crime ref 123"})
    assert response.status_code == 303
    old = db.session.get(Permit, old.id)
    assert (old.status, old.end_reason) == ("replaced", "lost_stolen")
    assert "Stolen" in old.end_note
    new = db.session.scalar(select(Permit).where(Permit.replaces_id == old.id))
    assert new.fee_pence == 1000 and new.payment_reference == "PAY-77" and new.vrm == old.vrm


def test_replacement_requires_lost_or_stolen(client, login, staff):
    old = issue_permit(staff)
    login("advisor")
    response = post_form(client, f"/permits/{old.id}/replace", {"payment_reference": "P"})
    assert "Select whether the permit was lost or stolen" in response.get_data(as_text=True)


# ---------------------------------------------------------------- cancellation

def test_cancellation_needs_a_reason_and_ends_the_permit(client, login, staff):
    permit = issue_permit(staff)
    login("advisor")
    response = post_form(client, f"/permits/{permit.id}/cancel", {"reason": ""})
    assert response.status_code == 200
    assert "Enter why the permit is cancelled" in response.get_data(as_text=True)
    assert db.session.get(Permit, permit.id).status == "active"
    response = post_form(client, f"/permits/{permit.id}/cancel", {"reason": "Sold the car"})
    assert response.status_code == 303
    permit = db.session.get(Permit, permit.id)
    assert (permit.status, permit.end_reason, permit.end_note) == ("cancelled", "cancelled", "Sold the car")
    html = client.get(f"/permits/{permit.id}").get_data(as_text=True)
    assert "Cancelled: Sold the car" in html


def test_directors_and_parking_team_cannot_change_permits(client, login, staff):
    permit = issue_permit(staff)
    login("director")
    assert post_form(client, f"/permits/{permit.id}/cancel", {"reason": "x"}).status_code == 403


# ---------------------------------------------------------------- renewals

def _expiring(staff, days_left: int, vrm="AB12CDE", zone=None):
    from datetime import timedelta

    from intranet.permits.casework import add_months, london_today

    end = london_today() + timedelta(days=days_left)
    start = add_months(end + timedelta(days=1), -12)
    return issue_permit(staff, vrm=vrm, zone=zone, valid_from=start, valid_to=end)


def test_renewals_lists_permits_ending_within_the_window(client, login, staff):
    due = _expiring(staff, 10, vrm="AB12CDE")
    later = _expiring(staff, 60, vrm="CD12EFG")
    login("advisor")
    html = client.get("/permits/renewals").get_data(as_text=True)
    assert due.number in html and later.number not in html
    assert "next 28 days" in html
    fragment = hx_get(client, "/permits/renewals").get_data(as_text=True)
    assert fragment_root(fragment).startswith('<div id="renewal-results"')


def test_renewals_filter_by_zone(client, login, staff):
    zone_a, zone_b = make_zone("RA"), make_zone("RB")
    in_a = _expiring(staff, 5, vrm="AB12CDE", zone=zone_a)
    in_b = _expiring(staff, 5, vrm="CD12EFG", zone=zone_b)
    login("advisor")
    html = hx_get(client, f"/permits/renewals?zone={zone_a.id}").get_data(as_text=True)
    assert in_a.number in html and in_b.number not in html


def test_start_renewal_logs_a_prefilled_renewal_application(app, client, login, staff):
    permit = _expiring(staff, 10)
    login("advisor")
    response = post_form(client, f"/permits/{permit.id}/renew", {"channel": "email"})
    assert response.status_code == 303
    application = db.session.scalar(select(Application).where(Application.renewal_of_id == permit.id))
    assert (application.app_type, application.kind, application.channel) == ("renewal", "resident", "email")
    assert (application.customer_id, application.zone_id, application.vrm) == (permit.customer_id, permit.zone_id,
                                                                              permit.vrm)
    if "permits.application" in app.view_functions:
        assert response.headers["Location"] == f"/applications/{application.id}"
    else:
        assert response.headers["Location"].startswith(f"/permits/{permit.id}")
    # No longer due, and a second start is refused.
    assert permit.number not in client.get("/permits/renewals").get_data(as_text=True)
    response = post_form(client, f"/permits/{permit.id}/renew", {"channel": "post"})
    assert response.status_code == 200
    assert f"already logged: application {application.reference}" in response.get_data(as_text=True)


def test_start_renewal_refused_before_the_window_opens(app, staff):
    permit = _expiring(staff, 90)
    with pytest.raises(CaseworkError, match="not due for renewal until"):
        renewals.start_renewal(staff, permit, channel="post")


def test_renewals_are_refused_to_director(client, login):
    login("director")
    assert client.get("/permits/renewals").status_code == 403


def test_renewals_page_paginates(app, client, login, staff):
    zone = make_zone("PG")
    customer = make_customer(staff, zone)
    made = [_expiring(staff, 3 + i, vrm=f"AB{10 + i}CDE", zone=zone) for i in range(3)]
    page = renewals.due(per_page=2)
    assert [p.id for p in page.items] == [made[0].id, made[1].id] and page.next_after
    rest = renewals.due(per_page=2, after=page.next_after)
    assert [p.id for p in rest.items] == [made[2].id] and rest.next_after is None
    login("advisor")
    assert client.get(f"/permits/renewals?after={page.next_after}").status_code == 200
    assert customer  # a household without permits is not listed
