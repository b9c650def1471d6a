"""Cash payments taken by exception: validation against the rules, receipt numbers unique across
concurrent writers, the receipt PDF read back, approval by someone other than the taker, reversal as a
negative linked receipt, and the daily cash-up (arithmetic, the explained difference, read-only once
closed)."""
from __future__ import annotations

import re
import subprocess
import threading
from datetime import date, datetime
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from intranet.audit import entries_for
from intranet.contacts import cash
from intranet.contacts.models import CashDay, CashReceipt
from intranet.extensions import db
from intranet.timefmt import LONDON
from tests.support import post_form

PAYMENT = {"pcn": "OX12345678", "amount": "35.00", "payer_name": "Zoë Brontë", "reason": "Card machine down"}


def london(y, mo, d, h=12, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=LONDON)


def _take(user, amount_pence=3500, when=None, pcn="OX12345678"):
    receipt = cash.take_payment(user, cash.NewPayment(pcn=pcn, amount_pence=amount_pence, payer_name="A Payer",
                                                      reason="Card machine down"), now=when)
    db.session.commit()
    return receipt


def _fragment(html: str) -> str:
    """An htmx fragment without the <title> a failed submit sends ahead of it."""
    return re.sub(r"^\s*<title>.*?</title>\s*", "", html, flags=re.S)


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


# ------------------------------------------------------------------------------------- taking cash
def test_taking_a_payment_numbers_the_receipt_and_adds_it_to_the_day(client, login, tmp_path):
    user = login("advisor")
    response = post_form(client, "/contacts/cash/new", dict(PAYMENT, pcn=" ox 1234 5678 "), token_from="/contacts/cash/new")
    assert response.status_code == 303
    receipt = db.session.scalar(select(CashReceipt))
    assert (receipt.receipt_number, receipt.pcn, receipt.amount_pence, receipt.taken_by_id, receipt.status) == (
        "CX000001", "OX12345678", 3500, user.id, "awaiting_approval")
    day = db.session.scalar(select(CashDay))
    assert (day.business_day, day.receipt_count, day.recorded_total_pence) == (receipt.business_day, 1, 3500)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cash payment recorded: receipt CX000001" in page
    assert "You took this payment, so someone else must approve it" not in page  # an advisor is not an approver
    assert [e.action for e in entries_for("cash_receipt", receipt.id)] == ["cash_taken"]
    pdf = client.get(f"/contacts/cash/{receipt.id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdftotext(pdf.data, tmp_path)
    for expected in ("CX000001", "OX12345678", "£35.00", "Zoë Brontë", "Card machine down", "Receipt for a cash payment"):
        assert expected in text
    fonts = subprocess.run(["pdffonts", str(tmp_path / "receipt.pdf")], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    assert fonts and all("DejaVu" in line for line in fonts)  # every font embedded DejaVu, none base-14


@pytest.mark.parametrize("changes, message", [
    ({"pcn": "12345678"}, "Penalty charge notice number 12345678 is not in the right format"),
    ({"pcn": ""}, "Enter the penalty charge notice number"),
    ({"amount": "0"}, "Amount taken must be more than £0.00"),
    ({"amount": "-5"}, "Amount taken must be more than £0.00"),
    ({"amount": "200.01"}, "Amount taken cannot be more than £200.00 on one receipt"),
    ({"amount": "35.001"}, "Amount taken must be an amount in pounds and pence, like 35.00"),
    ({"amount": "thirty"}, "Amount taken must be an amount in pounds and pence, like 35.00"),
    ({"amount": ""}, "Enter the amount taken in pounds and pence, like 35.00"),
    ({"payer_name": "  "}, "Enter the name of the person paying"),
    ({"reason": ""}, "Enter why the payment was taken in cash by exception"),
])
def test_invalid_payments_are_refused_naming_the_field(client, login, changes, message):
    login("advisor")
    response = post_form(client, "/contacts/cash/new", dict(PAYMENT, **changes), htmx=True, token_from="/contacts/cash/new")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html and _fragment(html).startswith('<div id="cash-form"')
    assert 'value="Zoë Brontë"' in html or changes.get("payer_name")
    assert db.session.scalar(select(func.count()).select_from(CashReceipt)) == 0
    assert db.session.scalar(select(func.count()).select_from(CashDay)) == 0  # nothing half-written


def test_the_maximum_comes_from_the_rules(app, make_user):
    user = make_user("advisor")
    assert _take(user, amount_pence=20000).amount_pence == 20000
    with pytest.raises(cash.CashError, match="cannot be more than £200.00"):
        _take(user, amount_pence=20001)


def test_receipt_numbers_are_unique_and_sequential_across_concurrent_writers(app, make_user):
    users = [make_user("advisor"), make_user("advisor")]
    ids = [u.id for u in users]
    db.session.rollback()  # the test's own session must hold no SQLite lock while the writers run
    numbers: list[str] = []
    errors: list[BaseException] = []

    def worker(user_id):
        from intranet.auth.models import User

        try:
            with app.app_context():
                user = db.session.get(User, user_id)
                for _ in range(10):
                    numbers.append(_take(user).receipt_number)
                db.session.remove()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(numbers) == [f"CX{n:06d}" for n in range(1, 21)]
    day = db.session.scalar(select(CashDay))
    assert (day.receipt_count, day.recorded_total_pence) == (20, 20 * 3500)


# ------------------------------------------------------------------------------------- approval
def test_the_taker_cannot_approve_even_as_a_team_leader(client, login, make_user):
    leader = login("team_leader")
    receipt = _take(leader)
    html = client.get(f"/contacts/cash/{receipt.id}").get_data(as_text=True)
    assert "You took this payment, so someone else must approve it" in html
    response = post_form(client, f"/contacts/cash/{receipt.id}/approve", {}, token_from=f"/contacts/cash/{receipt.id}")
    assert response.status_code == 200
    assert "You took this payment, so someone else must approve it" in response.get_data(as_text=True)
    db.session.refresh(receipt)
    assert receipt.status == "awaiting_approval"


def test_an_advisor_cannot_approve(client, login, make_user):
    receipt = _take(make_user("advisor"))
    login("advisor")
    response = post_form(client, f"/contacts/cash/{receipt.id}/approve", {}, token_from="/contacts/cash")
    assert response.status_code == 403
    with pytest.raises(cash.CashError, match="Only these roles can approve"):
        cash.approve(make_user("advisor"), receipt)


def test_another_team_leader_approves_once(client, login, make_user):
    receipt = _take(make_user("advisor"))
    approver = login("team_leader")
    response = post_form(client, f"/contacts/cash/{receipt.id}/approve", {}, token_from=f"/contacts/cash/{receipt.id}")
    assert response.status_code == 303
    db.session.refresh(receipt)
    assert (receipt.status, receipt.approved_by_id) == ("approved", approver.id)
    assert [e.action for e in entries_for("cash_receipt", receipt.id)] == ["cash_taken", "cash_approved"]
    with pytest.raises(cash.CashError, match="already been approved"):
        cash.approve(make_user("service_manager"), receipt)


# ------------------------------------------------------------------------------------- reversal
def test_a_mistake_is_reversed_by_a_negative_linked_receipt_never_deleted(client, login, make_user):
    receipt = _take(make_user("advisor"))
    login("advisor")
    empty = post_form(client, f"/contacts/cash/{receipt.id}/reverse", {"reason": ""}, token_from=f"/contacts/cash/{receipt.id}")
    assert "Enter why the receipt is being reversed" in empty.get_data(as_text=True)
    response = post_form(client, f"/contacts/cash/{receipt.id}/reverse", {"reason": "Wrong PCN: customer paid online"},
                         token_from=f"/contacts/cash/{receipt.id}")
    assert response.status_code == 303
    reversal = db.session.scalar(select(CashReceipt).where(CashReceipt.reverses_id == receipt.id))
    db.session.refresh(receipt)
    assert (reversal.receipt_number, reversal.amount_pence, reversal.status) == ("CX000002", -3500, "awaiting_approval")
    assert receipt.is_reversed and db.session.scalar(select(func.count()).select_from(CashReceipt)) == 2
    day = db.session.scalar(select(CashDay))
    assert (day.receipt_count, day.recorded_total_pence) == (2, 0)
    assert [e.action for e in entries_for("cash_receipt", receipt.id)] == ["cash_taken", "cash_reversed"]
    with pytest.raises(cash.CashError, match="already been reversed"):
        cash.reverse(make_user("advisor"), receipt, reason="again")
    with pytest.raises(cash.CashError, match="itself a reversal"):
        cash.reverse(make_user("advisor"), reversal, reason="undo")


# ------------------------------------------------------------------------------------- cash-up
DAY = date(2017, 3, 7)


@pytest.fixture
def day_of_receipts(app, make_user):
    """7 March 2017: £35.00 and £70.00 taken, the £35.00 reversed the same day and the £12.50 one approved."""
    taker, approver = make_user("advisor"), make_user("team_leader")
    first = _take(taker, 3500, london(2017, 3, 7, 9))
    second = _take(taker, 7000, london(2017, 3, 7, 10))
    reversal = cash.reverse(taker, first, reason="Taken twice", now=london(2017, 3, 7, 11))
    db.session.commit()
    third = _take(taker, 1250, london(2017, 3, 7, 15))
    for r in (first, second, reversal, third):
        cash.approve(approver, r)
    db.session.commit()
    return {"taker": taker, "receipts": (first, second, reversal, third)}


def _closing(**changes):
    data = dict(counted="82.50", explanation="", banked_by="", bag_number="BAG-0042", expected_count="4",
                expected_total="8250", day=DAY.isoformat())
    data.update(changes)
    return data


def test_cash_up_arithmetic_and_closing(client, login, day_of_receipts):
    leader = login("team_leader")
    page = client.get(f"/contacts/cash/cash-up?day={DAY.isoformat()}").get_data(as_text=True)
    assert "Receipts on 7 March 2017: 4" in page
    assert '<strong id="recorded-total">£82.50</strong>' in page  # 35.00 + 70.00 - 35.00 + 12.50
    response = post_form(client, "/contacts/cash/cash-up", _closing(banked_by=str(leader.id)),
                         token_from="/contacts/cash/cash-up")
    assert response.status_code == 303
    day = db.session.scalar(select(CashDay).where(CashDay.business_day == DAY))
    assert (day.recorded_total_pence, day.counted_total_pence, day.difference_pence, day.bag_number,
            day.banked_by_id, day.closed_by_id) == (8250, 8250, 0, "BAG-0042", leader.id, leader.id)
    closed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cash-up for 7 March 2017 closed" in closed and "Read only" in closed and "No difference" in closed
    assert [e.action for e in entries_for("cash_day", day.id)] == ["cash_up_closed"]


def test_a_difference_must_be_explained_before_the_day_can_be_closed(client, login, day_of_receipts):
    leader = login("team_leader")
    response = post_form(client, "/contacts/cash/cash-up", _closing(counted="77.50", banked_by=str(leader.id)),
                         htmx=True, token_from="/contacts/cash/cash-up")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and _fragment(html).startswith('<div id="cash-up"')
    assert html.startswith("<title>Error: Cash-up for 7 March 2017")
    assert ("The cash counted is £5.00 short against the recorded total of £82.50: explain the difference before "
            "closing the day") in html
    assert 'value="77.50"' in html and 'value="BAG-0042"' in html
    assert db.session.scalar(select(CashDay.closed_at).where(CashDay.business_day == DAY)) is None
    response = post_form(client, "/contacts/cash/cash-up",
                         _closing(counted="77.50", banked_by=str(leader.id), explanation="£5 note found in the float tin"),
                         token_from="/contacts/cash/cash-up")
    assert response.status_code == 303
    day = db.session.scalar(select(CashDay).where(CashDay.business_day == DAY))
    assert (day.counted_total_pence, day.difference_pence, day.difference_explanation) == (
        7750, -500, "£5 note found in the float tin")
    assert "£5.00 short" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("changes, message", [
    ({"counted": ""}, "Enter the cash counted, in pounds and pence, like 35.00"),
    ({"counted": "eighty"}, "Cash counted must be an amount in pounds and pence, like 35.00"),
    ({"bag_number": ""}, "Enter the bank bag number"),
    ({"banked_by": ""}, "Select who banked the cash"),
    ({"banked_by": "999999"}, "Select who banked the cash"),
    ({"expected_total": "3500"}, "The day's receipts changed while you were cashing up"),
])
def test_closing_errors_name_the_field(client, login, day_of_receipts, changes, message):
    leader = login("team_leader")
    data = _closing(banked_by=str(leader.id))
    data.update(changes)
    html = post_form(client, "/contacts/cash/cash-up", data, htmx=True, token_from="/contacts/cash/cash-up").get_data(as_text=True)
    assert message in unescape(html)
    assert db.session.scalar(select(CashDay.closed_at).where(CashDay.business_day == DAY)) is None


def test_a_day_with_receipts_awaiting_approval_cannot_be_closed(client, login, make_user):
    taken = _take(make_user("advisor"), 1000, london(2017, 3, 8, 10))
    leader = login("service_lead")
    html = post_form(client, "/contacts/cash/cash-up",
                     _closing(day="2017-03-08", counted="10.00", expected_count="1", expected_total="1000",
                              banked_by=str(leader.id)), htmx=True, token_from="/contacts/cash/cash-up").get_data(as_text=True)
    assert f"Every receipt must be approved before the day is closed; awaiting approval: {taken.receipt_number}" in html


def test_a_closed_day_is_read_only(app, make_user, day_of_receipts):
    leader = make_user("team_leader")
    cash.close_day(leader, DAY, cash.Closing(counted_pence=8250, explanation="", banked_by_id=leader.id,
                                             bag_number="B1", expected_count=4, expected_total_pence=8250))
    db.session.commit()
    with pytest.raises(cash.CashError, match="The cash-up for 7 March 2017 is closed"):
        _take(day_of_receipts["taker"], 500, london(2017, 3, 7, 16))
    db.session.rollback()
    with pytest.raises(cash.CashError, match="already closed"):
        cash.close_day(leader, DAY, cash.Closing(counted_pence=0, explanation="x", banked_by_id=leader.id,
                                                 bag_number="B2", expected_count=4, expected_total_pence=8250))
    db.session.rollback()
    # A reversal of a receipt of a closed day goes on the day it is made; the closed day stays as banked.
    second = day_of_receipts["receipts"][1]
    reversal = cash.reverse(day_of_receipts["taker"], second, reason="Bounced", now=london(2017, 3, 9, 10))
    db.session.commit()
    assert reversal.business_day == date(2017, 3, 9)
    closed = db.session.scalar(select(CashDay).where(CashDay.business_day == DAY))
    assert (closed.receipt_count, closed.recorded_total_pence) == (4, 8250)
    # ...unless that day is closed too.
    cash.approve(leader, reversal)
    cash.close_day(leader, date(2017, 3, 9), cash.Closing(counted_pence=0, explanation="Refunded at the counter",
                                                          banked_by_id=leader.id, bag_number="B3",
                                                          expected_count=1, expected_total_pence=-7000))
    db.session.commit()
    third = day_of_receipts["receipts"][3]
    with pytest.raises(cash.CashError, match="The cash-up for 9 March 2017 is closed"):
        cash.reverse(day_of_receipts["taker"], third, reason="x", now=london(2017, 3, 9, 16))
    db.session.rollback()
    db.session.refresh(third)
    assert not third.is_reversed  # nothing half-written


def test_advisors_see_the_cash_up_but_cannot_close_it(client, login, day_of_receipts):
    advisor = login("advisor")
    html = client.get(f"/contacts/cash/cash-up?day={DAY.isoformat()}").get_data(as_text=True)
    assert "A team leader closes the day's cash-up." in html
    response = post_form(client, "/contacts/cash/cash-up", _closing(banked_by=str(advisor.id)),
                         token_from="/contacts/cash/cash-up")
    assert response.status_code == 403


def test_cash_pages_list_what_awaits_approval_and_days_not_cashed_up(client, login, make_user):
    taken = _take(make_user("advisor"), 1000, london(2017, 3, 8, 10))
    login("team_leader")
    html = client.get("/contacts/cash").get_data(as_text=True)
    assert "Awaiting approval: 1" in html and taken.receipt_number in html
    assert "Not cashed up" in html and "8 March 2017" in html


def test_the_demo_loads_enquiries_and_cash_through_the_services_once(app, make_user):
    import random

    from intranet.contacts.demo import load_contacts_demo
    from intranet.contacts.models import Enquiry

    users = {role: make_user(role) for role in ("advisor", "team_leader", "service_lead")}
    lines = load_contacts_demo(random.Random(1), users.get)
    db.session.commit()
    assert lines[0].startswith("Enquiries: ") and db.session.scalar(select(func.count()).select_from(Enquiry)) >= 15 * 12
    days = db.session.scalars(select(CashDay).order_by(CashDay.business_day)).all()
    closed = [d for d in days if d.closed_at]
    assert len(closed) == len(days) - 1 and any(d.difference_pence for d in closed)
    assert all(d.difference_explanation for d in closed if d.difference_pence)
    assert db.session.scalar(select(func.count()).where(CashReceipt.reverses_id.is_not(None))) == 1
    assert load_contacts_demo(random.Random(1), users.get) == ["Contacts already present; none added."]
