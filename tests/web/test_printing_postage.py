"""The postage ledger (the SLA's three figures exactly, CSV, manual lines) and stationery orders and stock."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from intranet.audit import AuditEntry
from intranet.extensions import db
from intranet.printing import stationery
from intranet.printing.demo import load_printing_demo
from intranet.printing.models import PostageEntry, StationeryOrder
from intranet.service_rules import rules_in_force
from tests.support import post_form


def _dd(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, element_id
    return match.group(1).strip()


def test_ledger_for_2015_16_shows_exactly_the_slas_figures(client, login):
    load_printing_demo()
    login("service_manager")
    html = client.get("/printing/postage?year=2015").get_data(as_text=True)
    assert _dd(html, "total-annual") == "£11,886.08"
    assert _dd(html, "including-reminders") == "£15,621.08"
    assert _dd(html, "average-monthly") == "£1,301.76"
    assert "April 2015" in html and "March 2016" in html and "£1,377.92" in html  # September 2015
    assert "Whole year (not split by month)" in html and "£3,735.00" in html


def test_ledger_csv_matches_the_page(client, login):
    load_printing_demo()
    login("parking_team")
    response = client.get("/printing/postage.csv?year=2015")
    assert response.mimetype == "text/csv"
    assert 'filename="postage-2015-16.csv"' in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "Month,Permits and letters,Reminder letters,Total"
    assert lines[1] == "2015-04,749.44,0.00,749.44"
    assert "Whole year 2015-16,0.00,3735.00,3735.00" in lines
    assert lines[-3:] == ["Total annual,11886.08", "Including reminder letters,15621.08", "Average monthly,1301.76"]


def test_demo_postage_loads_once(app):
    load_printing_demo()
    load_printing_demo()
    assert len(db.session.scalars(select(PostageEntry)).all()) == 13


def test_manual_entry_adds_to_the_month_and_bad_input_names_the_field(client, login):
    load_printing_demo()
    login("team_leader")
    url = "/printing/postage/entries?year=2015"
    bad = post_form(client, url, {"period": "2015-09", "category": "permits_and_letters", "amount": "twelve",
                                  "note": ""}, token_from="/printing/postage?year=2015")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "<title>Error: " in html
    assert "Amount must be an amount in pounds and pence" in html and 'value="twelve"' in html
    missing = post_form(client, url, {"period": "2015-09", "category": "permits_and_letters", "amount": "12.50"},
                        token_from="/printing/postage?year=2015")
    assert "Enter a note saying what the postage was for" in missing.get_data(as_text=True)
    outside = post_form(client, url, {"period": "2019-01", "category": "permits_and_letters", "amount": "1",
                                      "note": "x"}, token_from="/printing/postage?year=2015")
    assert "Not a valid choice" in outside.get_data(as_text=True)
    assert len(db.session.scalars(select(PostageEntry)).all()) == 13

    ok = post_form(client, url, {"period": "2015-09", "category": "permits_and_letters", "amount": "12.50",
                                 "items": "20", "note": "Franking, counter post"}, token_from="/printing/postage?year=2015")
    assert ok.status_code == 303
    html = client.get("/printing/postage?year=2015").get_data(as_text=True)
    assert _dd(html, "total-annual") == "£11,898.58"
    assert _dd(html, "including-reminders") == "£15,633.58"
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "postage_entry_added"))


def test_advisors_read_the_ledger_but_cannot_add_to_it(client, login):
    login("advisor")
    html = client.get("/printing/postage").get_data(as_text=True)
    assert "Add postage not sent through a print batch" not in html
    response = post_form(client, "/printing/postage/entries", {"period": "year"}, token_from="/printing/postage")
    assert response.status_code == 403


# ---------------------------------------------------------------- stationery

def test_order_is_charged_to_the_cost_code_approved_by_another_and_received_into_stock(client, login, make_user):
    load_printing_demo()
    before = {s.item.code: s.level for s in stationery.stock_levels()}
    advisor = login("advisor")
    today = date.today()
    bad = post_form(client, "/printing/stationery/orders",
                    {"stock_code": "permit_blanks", "quantity": "lots", "cost": "249.99",
                     "ordered_on": [str(today.day), str(today.month), str(today.year)]}, token_from="/printing/stationery")
    assert bad.status_code == 200 and "Quantity must be a whole number" in bad.get_data(as_text=True)
    assert 'value="lots"' in bad.get_data(as_text=True)
    ok = post_form(client, "/printing/stationery/orders",
                   {"stock_code": "permit_blanks", "quantity": "5,000", "cost": "249.99",
                    "ordered_on": [str(today.day), str(today.month), str(today.year)]}, token_from="/printing/stationery")
    assert ok.status_code == 303
    order = db.session.scalar(select(StationeryOrder))
    finance = rules_in_force().finance
    assert (order.cost_code, order.ordered_through) == (finance.stationery_cost_code, finance.stationery_ordered_through)
    assert order.cost_code == "NP0009" and order.ordered_through == "Emma Liptrot"
    assert (order.quantity, order.cost_pence, order.ordered_by_id, order.status) == (5000, 24999, advisor.id,
                                                                                   "awaiting_approval")
    assert post_form(client, f"/printing/stationery/orders/{order.id}/approve", {},
                     token_from="/printing/stationery").status_code == 403

    leader = make_user("team_leader")
    with client.session_transaction() as session:  # sign the advisor out, as closing the browser would
        session.clear()
    from tests.support import sign_in

    assert sign_in(client, leader.username).status_code == 303
    approved = post_form(client, f"/printing/stationery/orders/{order.id}/approve", {}, token_from="/printing/stationery")
    assert approved.status_code == 303
    received = post_form(client, f"/printing/stationery/orders/{order.id}/receive", {}, token_from="/printing/stationery")
    assert received.status_code == 303
    db.session.refresh(order)
    assert order.status == "received" and order.approved_by_id == leader.id
    after = {s.item.code: s.level for s in stationery.stock_levels()}
    assert after["permit_blanks"] - before["permit_blanks"] == 5000
    html = client.get("/printing/stationery").get_data(as_text=True)
    assert f"{today:%B %Y}</th><td class=\"govuk-table__cell govuk-table__cell--numeric\">£249.99" in html
    assert "NP0009, through Emma Liptrot" in html


def test_the_person_who_logged_an_order_cannot_approve_it(client, login):
    leader = login("team_leader")
    order = stationery.log_order(leader, item="Window envelopes DL", stock_code="", quantity=1000, cost_pence=4500,
                                 ordered_on=date.today())
    db.session.commit()
    response = post_form(client, f"/printing/stationery/orders/{order.id}/approve", {}, token_from="/printing/stationery")
    assert response.status_code == 200
    assert "Someone other than the person who logged the order must approve it" in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.status == "awaiting_approval"


def test_stock_count_below_the_reorder_level_warns(client, login):
    load_printing_demo()
    login("service_lead")
    reorder = next(i for i in rules_in_force().printing.stock if i.code == "visitor_cards").reorder_level
    bad = post_form(client, "/printing/stationery/stock", {"count-stock_code": "visitor_cards", "count-counted": "-4"},
                    token_from="/printing/stationery")
    assert "Number counted must be a whole number" in bad.get_data(as_text=True)
    ok = post_form(client, "/printing/stationery/stock",
                   {"count-stock_code": "visitor_cards", "count-counted": str(reorder - 1), "count-note": "Shelf count"},
                   token_from="/printing/stationery")
    assert ok.status_code == 303
    assert {s.item.code: s.level for s in stationery.stock_levels()}["visitor_cards"] == reorder - 1
    html = client.get("/printing").get_data(as_text=True)
    assert "Stock at or below its reorder level: Visitor permit cards" in html
    assert "Reorder now" in html
