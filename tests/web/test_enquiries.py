"""The enquiries log: quick entry by htmx (cleared form, today's list, focus back on the first field),
the same without JavaScript, errors that name the field, links by reference, the reply clock from the
rules across weekends and bank holidays, the reply queue and its statuses, replying once, volumes, and
the validation of the rules' new keys."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import yaml
from sqlalchemy import select

from intranet.audit import entries_for
from intranet.contacts import enquiries
from intranet.contacts.models import Enquiry
from intranet.extensions import db
from intranet.sla import RulesError, load_rules, rules_from_mapping
from intranet.sla.rules import DEFAULT_PATH
from intranet.timefmt import LONDON
from tests.permit_factories import make_application, make_customer, make_zone
from tests.support import post_form


def london(y, mo, d, h=12, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


def _doc() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


CALL = {"channel": "phone", "category": "renewing", "reference": "", "summary": "Asked when to renew",
        "outcome": "Explained the renewal window", "handling_minutes": "3"}


# ------------------------------------------------------------------------------------- reply clock
@pytest.mark.parametrize("channel, contacted, due", [
    # Phone: 2 working days. Thursday before Easter 2017: Good Friday and Easter Monday are skipped.
    ("phone", london(2017, 4, 13, 10), london(2017, 4, 19, 17)),
    # A call after closing on Friday counts from Monday: due Wednesday at close.
    ("phone", london(2017, 3, 10, 18), london(2017, 3, 15, 17)),
    # Saturday's email counts from Monday too.
    ("email", london(2017, 3, 11, 9), london(2017, 3, 20, 17)),
    # Email: 5 working days over Christmas 2016 (Boxing Day Monday, Christmas Day substitute Tuesday 27th).
    ("email", london(2016, 12, 20, 11), london(2016, 12, 29, 17)),
    # Post: 10 working days, across the May Day bank holiday 2017 (Monday 1 May).
    ("post", london(2017, 4, 25, 9), london(2017, 5, 10, 17)),
])
def test_reply_clock_counts_working_days_per_channel_from_the_rules(channel, contacted, due):
    rules = load_rules()
    assert enquiries.reply_due(rules, channel, contacted) == due


def test_reply_clock_follows_the_rules_not_the_code():
    doc = _doc()
    doc["enquiries"]["reply_clocks"]["phone"] = 1
    rules = rules_from_mapping(doc)
    assert enquiries.reply_due(rules, "phone", london(2017, 4, 13, 10)) == london(2017, 4, 18, 17)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["enquiries"]["reply_clocks"].pop("post"), "enquiries.reply_clocks.post: missing"),
    (lambda d: d["enquiries"]["reply_clocks"].update(phone=0),
     "enquiries.reply_clocks.phone: expected a number of working days of at least 1, got 0"),
    (lambda d: d["enquiries"]["reply_clocks"].update(fax=2), "enquiries.reply_clocks.fax: unknown key"),
    (lambda d: d["enquiries"].update(categories={}), "enquiries.categories: expected at least one category"),
    (lambda d: d["cash_exceptions"].update(pcn_pattern="[A-Z"), "cash_exceptions.pcn_pattern: not a valid regular expression"),
    (lambda d: d["cash_exceptions"].update(approver_roles=["cashier"]),
     "cash_exceptions.approver_roles[0]: unknown role 'cashier'"),
    (lambda d: d["cash_exceptions"].update(max_amount_pence=0),
     "cash_exceptions.max_amount_pence: expected an amount in whole pence of at least 1, got 0"),
    (lambda d: d["staffing"]["workloads"]["post"].update(measure="letters"),
     "staffing.workloads.post.measure: expected one of resident_permits_issued"),
])
def test_the_new_rules_are_validated_with_the_key_named(change, message):
    doc = _doc()
    change(doc)
    with pytest.raises(RulesError) as exc:
        rules_from_mapping(doc)
    assert any(e.startswith(message) for e in exc.value.errors), exc.value.errors


def test_a_site_file_without_the_new_sections_still_validates():
    doc = _doc()
    for key in ("enquiries", "cash_exceptions"):
        doc.pop(key)
    doc["assumptions"] = {k: v for k, v in doc["assumptions"].items()
                          if not k.startswith(("enquiries", "cash_exceptions"))}
    rules = rules_from_mapping(doc)
    assert rules.enquiries.reply_clocks["email"] == 5
    assert rules.cash_exceptions.pcn_pattern == "^[A-Z]{2}[0-9]{8}$"


def test_the_new_values_are_listed_as_assumptions():
    paths = {a.path for a in load_rules().assumptions}
    assert {"enquiries.categories", "enquiries.reply_clocks", "cash_exceptions.pcn_pattern",
            "cash_exceptions.max_amount_pence", "cash_exceptions.approver_roles"} <= paths


# ------------------------------------------------------------------------------------- quick entry
def test_htmx_save_returns_the_cleared_form_and_todays_list_with_focus_on_the_first_field(client, login):
    user = login("advisor")
    response = post_form(client, "/contacts/enquiries", CALL, htmx=True, token_from="/contacts/enquiries")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="enquiry-desk"')
    assert "<html" not in html
    assert re.search(r'<input[^>]*id="channel"[^>]*autofocus', html)
    assert 'value="Asked when to renew"' not in html  # cleared
    assert "Your contacts today: 1 (3 minutes)" in html
    assert "Asked when to renew" in html  # ...and in today's list
    enquiry = db.session.scalar(select(Enquiry))
    assert (enquiry.channel, enquiry.category, enquiry.handling_minutes, enquiry.logged_by_id) == ("phone", "renewing", 3, user.id)
    assert f"Contact logged: " in html and enquiry.reference in html
    assert [e.action for e in entries_for("enquiry", enquiry.id)] == ["enquiry_logged"]
    second = post_form(client, "/contacts/enquiries", dict(CALL, channel="email", summary="Lost visitor permits"),
                       htmx=True, token_from="/contacts/enquiries")
    assert "Your contacts today: 2 (6 minutes)" in second.get_data(as_text=True)


def test_without_javascript_a_save_redirects_and_the_page_says_what_was_logged(client, login):
    login("team_leader")
    response = post_form(client, "/contacts/enquiries", CALL, token_from="/contacts/enquiries")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Contact logged: " in page and "Your contacts today: 1" in page
    assert "autofocus" not in page  # only after an htmx save


def test_todays_list_is_the_users_own(client, login, make_user):
    other = make_user("advisor")
    enquiries.log_enquiry(other, enquiries.NewEnquiry(channel="phone", category="other", summary="Not mine",
                                                      handling_minutes=2))
    db.session.commit()
    login("advisor")
    html = client.get("/contacts/enquiries").get_data(as_text=True)
    assert "Not mine" not in html and "Your contacts today: 0" in html


@pytest.mark.parametrize("changes, message", [
    ({"summary": ""}, "Enter a summary of the enquiry"),
    ({"handling_minutes": "abc"}, "Handling time in minutes must be a whole number of minutes, like 3"),
    ({"handling_minutes": "0"}, "Handling time must be between 1 and 240 minutes"),
    ({"handling_minutes": "241"}, "Handling time must be between 1 and 240 minutes"),
    ({"handling_minutes": ""}, "Enter the handling time in whole minutes, like 3"),
    ({"category": ""}, "Select what the enquiry was about"),
    ({"category": "not-a-category"}, "Select what the enquiry was about"),
    ({"channel": "pigeon"}, "Select how the customer contacted us"),
    ({"reference": "C999999"}, "There is no customer with reference C999999"),
    ({"reference": "a9999999"}, "There is no application with reference A9999999"),
    ({"reference": "X12"}, "Enter a customer reference like C000123 or an application reference like A0000123"),
])
def test_invalid_contacts_are_refused_naming_the_field_and_keeping_what_was_typed(client, login, changes, message):
    login("advisor")
    response = post_form(client, "/contacts/enquiries", dict(CALL, **changes), htmx=True, token_from="/contacts/enquiries")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert "govuk-error-summary" in html
    if changes.get("summary", None) != "":
        assert 'value="Asked when to renew"' in html
    assert db.session.scalar(select(Enquiry.id)) is None
    full = post_form(client, "/contacts/enquiries", dict(CALL, **changes), token_from="/contacts/enquiries")
    assert full.status_code == 200 and "<title>Error: " in full.get_data(as_text=True)


def test_contacts_link_to_a_customer_or_an_application_by_reference(client, login):
    user = login("advisor")
    customer = make_customer(user, make_zone())
    application = make_application(user, customer, complete=False)
    post_form(client, "/contacts/enquiries", dict(CALL, reference=customer.reference.lower()), htmx=True,
              token_from="/contacts/enquiries")
    post_form(client, "/contacts/enquiries", dict(CALL, reference=f" {application.reference} "), htmx=True,
              token_from="/contacts/enquiries")
    rows = db.session.scalars(select(Enquiry).order_by(Enquiry.id)).all()
    assert (rows[0].customer_id, rows[0].application_id) == (customer.id, None)
    assert (rows[1].customer_id, rows[1].application_id) == (customer.id, application.id)


# ------------------------------------------------------------------------------------- replies
def _log(user, channel, when, **kwargs):
    item = enquiries.log_enquiry(user, enquiries.NewEnquiry(channel=channel, category="other", summary=f"{channel} at {when}",
                                                            handling_minutes=4, needs_reply=True, **kwargs), now=when)
    db.session.commit()
    return item


def test_reply_queue_is_sorted_by_due_with_on_track_at_risk_and_breached(app, make_user):
    user = make_user("advisor")
    post = _log(user, "post", london(2017, 3, 13, 9))      # due Mon 27 March 17:00
    phone = _log(user, "phone", london(2017, 3, 14, 9))    # due Thu 16 March 17:00
    email = _log(user, "email", london(2017, 3, 6, 10))    # due Mon 13 March 17:00
    counter = _log(user, "counter", london(2017, 3, 16, 10))  # due Mon 20 March 17:00
    page = enquiries.reply_queue(now=london(2017, 3, 16, 14), per_page=3)
    assert [r.enquiry.id for r in page.rows] == [email.id, phone.id, counter.id]
    # Phone has 3 working hours left (at risk); the counter visit most of its clock (on track).
    assert [r.clock.status for r in page.rows] == ["breached", "at_risk", "on_track"]
    assert page.rows[0].clock.time_left == "2 working days 5 hours overdue"
    assert page.total == 4 and page.next_cursor
    rest = enquiries.reply_queue(now=london(2017, 3, 16, 14), after=page.next_cursor, per_page=3)
    assert [r.enquiry.id for r in rest.rows] == [post.id] and rest.next_cursor is None
    assert rest.rows[0].clock.status == "on_track"


def test_reply_queue_page_and_marking_replied(client, login, make_user):
    taker = make_user("advisor")
    item = _log(taker, "email", london(2017, 3, 6, 10))
    login("advisor")
    html = client.get("/contacts/enquiries/replies").get_data(as_text=True)
    assert item.reference in html and "Breached" in html
    response = post_form(client, f"/contacts/enquiries/{item.id}/reply", {"note": ""}, htmx=True,
                         token_from=f"/contacts/enquiries/{item.id}")
    assert "Enter how the customer was answered" in response.get_data(as_text=True)
    response = post_form(client, f"/contacts/enquiries/{item.id}/reply", {"note": "Emailed the renewal link"},
                         token_from=f"/contacts/enquiries/{item.id}")
    assert response.status_code == 303
    db.session.refresh(item)
    assert item.reply_state == "replied" and item.reply_note == "Emailed the renewal link"
    page = client.get(f"/contacts/enquiries/{item.id}").get_data(as_text=True)
    assert "Replied late" in page and "Reply recorded (late)" in page
    assert item.reference not in client.get("/contacts/enquiries/replies").get_data(as_text=True)
    with pytest.raises(enquiries.ContactError, match="already recorded"):
        enquiries.mark_replied(taker, item, note="again")


def test_an_enquiry_that_needs_no_reply_cannot_be_replied_to(client, login):
    user = login("advisor")
    item = enquiries.log_enquiry(user, enquiries.NewEnquiry(channel="phone", category="other", summary="x",
                                                            handling_minutes=1))
    db.session.commit()
    assert item.reply_due_at is None
    response = post_form(client, f"/contacts/enquiries/{item.id}/reply", {"note": "x"}, token_from="/contacts/enquiries")
    assert response.status_code == 200 and item.reply_state == "none"


# ------------------------------------------------------------------------------------- volumes
def test_enquiry_volumes_by_channel_category_day_week_and_month(app, make_user):
    user = make_user("advisor")
    for channel, category, when in (("phone", "renewing", london(2017, 3, 30)), ("phone", "renewing", london(2017, 3, 31)),
                                    ("email", "enforcement", london(2017, 3, 31)), ("post", "renewing", london(2017, 4, 3)),
                                    ("phone", "other", london(2017, 4, 10))):
        enquiries.log_enquiry(user, enquiries.NewEnquiry(channel=channel, category=category, summary="x",
                                                         handling_minutes=5), now=when)
    db.session.commit()
    v = enquiries.enquiry_volumes(date(2017, 3, 27), date(2017, 4, 9))
    assert v["total"] == 4 and v["handling_minutes"] == 20
    assert v["by_channel"] == {"phone": 2, "email": 1, "post": 1, "counter": 0}
    assert v["by_category"]["renewing"] == 3 and v["by_category"]["enforcement"] == 1
    assert v["by_channel_and_category"] == {("phone", "renewing"): 2, ("email", "enforcement"): 1, ("post", "renewing"): 1}
    assert [(w["week_start"], w["total"]) for w in v["weeks"]] == [(date(2017, 3, 27), 3), (date(2017, 4, 3), 1)]
    assert [(m["month"], m["total"], m["by_channel"]["phone"]) for m in v["months"]] == [("2017-03", 3, 2), ("2017-04", 1, 0)]
    assert len(v["days"]) == 14 and v["days"][4] == {"day": date(2017, 3, 31), "total": 2,
                                                    "by_channel": {"phone": 1, "email": 1, "post": 0, "counter": 0},
                                                    "by_category": {"renewing": 1, "enforcement": 1}}
    with pytest.raises(ValueError, match="before start date"):
        enquiries.enquiry_volumes(date(2017, 4, 9), date(2017, 3, 27))


def test_volumes_page(client, login, make_user):
    user = make_user("advisor")
    enquiries.log_enquiry(user, enquiries.NewEnquiry(channel="email", category="enforcement", summary="x",
                                                     handling_minutes=5), now=london(2017, 3, 31))
    db.session.commit()
    login("director")
    html = client.get("/contacts/enquiries/volumes?from=2017-03-01&to=2017-04-30&period=month").get_data(as_text=True)
    assert "Contacts by channel, 1 March 2017 to 30 April 2017, by month" in html
    assert "Penalty charge notices and enforcement" in html
    bad = client.get("/contacts/enquiries/volumes?from=2017-13-01&to=2017-01-01").get_data(as_text=True)
    assert "From must be a real date, like 2017-04-03" in bad and "<title>Error: " in bad
    backwards = client.get("/contacts/enquiries/volumes?from=2017-04-01&to=2017-03-01").get_data(as_text=True)
    assert "To must be on or after From" in backwards
