"""Refunds: the arithmetic, the confirm step, the four-eyes decision, and the process-refunds queue."""
from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from intranet.extensions import db
from intranet.permits import after_issue, refunds
from intranet.permits.casework import CaseworkError
from intranet.permits.models import Permit, Refund
from intranet.sla.model import RefundRules
from intranet.timefmt import LONDON
from tests.permit_factories import fragment_root, issue_permit, london_noon
from tests.support import hx_get, post_form

YEAR_START = date(2026, 4, 1)


@pytest.fixture
def advisor(make_user):
    return make_user("advisor", username="asker", full_name="Alex Asker")


def _permit(advisor, **kwargs):
    """£60 resident permit valid 1 April 2026 to 31 March 2027, issued on 1 April 2026."""
    return issue_permit(advisor, now=london_noon(YEAR_START), **kwargs)


def _rules(method="pro_rata_whole_months", admin_fee=0):
    return SimpleNamespace(refunds=RefundRules(method=method, admin_fee_pence=admin_fee))


# ---------------------------------------------------------------- arithmetic

def test_whole_months_example_from_the_brief(app, advisor):
    permit = _permit(advisor)
    calc = refunds.calculate(permit, date(2026, 12, 5), _rules())
    assert calc.lines == ("Paid £60.00", "Valid 1 April 2026 to 31 March 2027 (12 months)",
                          "Unused whole months from 5 December 2026: 3", "Refund 3/12 × £60.00 = £15.00",
                          "Admin fee £0.00", "Refund due £15.00")
    assert calc.due_pence == 1500


@pytest.mark.parametrize("refund_from, months, due", [
    (date(2026, 4, 1), 12, 6000),   # the first day: nothing used
    (date(2026, 4, 2), 11, 5500),   # April has begun, so it is used
    (date(2026, 12, 1), 4, 2000),   # December not yet begun on its first day
    (date(2027, 2, 28), 1, 500),
    (date(2027, 3, 1), 1, 500),
    (date(2027, 3, 2), 0, 0),       # the last month has begun: nothing left
])
def test_whole_months_for_several_dates(app, advisor, refund_from, months, due):
    calc = refunds.calculate(_permit(advisor), refund_from, _rules())
    assert f": {months}" in calc.lines[2]
    assert calc.due_pence == due


def test_permit_not_yet_started_is_refunded_in_full(app, advisor):
    permit = _permit(advisor, valid_from=date(2026, 5, 1))
    calc = refunds.calculate(permit, date(2026, 4, 20), _rules())
    assert "Unused whole months from 20 April 2026: 12 (the permit had not started)" in calc.lines
    assert calc.due_pence == 6000


def test_zero_unused_months_is_refused_with_the_reason(app, advisor):
    permit = _permit(advisor)
    calc = refunds.calculate(permit, date(2027, 3, 5), _rules())
    assert "Unused whole months from 5 March 2027: 0" in calc.lines and calc.due_pence == 0
    with pytest.raises(CaseworkError, match="No refund is due from 5 March 2027") as caught:
        refunds.preview(permit, refund_from=date(2027, 3, 5), reason="Moving", now=london_noon(date(2027, 3, 6)))
    assert caught.value.field == "refund_from"


def test_admin_fee_is_deducted_and_never_makes_the_refund_negative(app, advisor):
    permit = _permit(advisor)
    calc = refunds.calculate(permit, date(2026, 12, 5), _rules(admin_fee=500))
    assert calc.lines[-2:] == ("Admin fee £5.00", "Refund due £10.00") and calc.due_pence == 1000
    assert refunds.calculate(permit, date(2027, 3, 1), _rules(admin_fee=800)).due_pence == 0


def test_pro_rata_days_and_no_refund_methods(app, advisor):
    permit = _permit(advisor)
    by_days = refunds.calculate(permit, date(2026, 12, 5), _rules("pro_rata_days"))
    assert "Unused days from 5 December 2026: 117" in by_days.lines
    assert by_days.due_pence == 6000 * 117 // 365  # rounded down: never more than the share paid
    nothing = refunds.calculate(permit, date(2026, 12, 5), _rules("none"))
    assert nothing.due_pence == 0 and "The rules in force give no refund for unused time" in nothing.lines


def test_refund_larger_than_paid_is_refused(app, advisor):
    permit = _permit(advisor)
    with pytest.raises(CaseworkError, match=r"cannot be more than the £60.00 paid") as caught:
        refunds.preview(permit, refund_from=date(2026, 12, 5), reason="Moving", amount_pence=6001,
                        now=london_noon(date(2026, 12, 5)))
    assert caught.value.field == "amount"


def test_agreed_amount_is_recorded_in_the_calculation(app, advisor):
    permit = _permit(advisor)
    calc = refunds.preview(permit, refund_from=date(2026, 12, 5), reason="Goodwill", amount_pence=2000,
                           now=london_noon(date(2026, 12, 5)))
    assert calc.due_pence == 2000
    assert calc.lines[-1] == "Amount agreed by the advisor £20.00 (calculated £15.00)"


def test_refund_after_change_of_vehicle_uses_the_fee_paid_on_the_first_permit(app, advisor):
    first = _permit(advisor)
    second = after_issue.change_vehicle(advisor, first, "XY65ZZZ", now=london_noon(date(2026, 6, 10)))
    db.session.commit()
    calc = refunds.calculate(second, date(2026, 12, 5), _rules())
    assert calc.lines[0] == f"Paid £60.00 for permit {first.number}" and calc.due_pence == 1500


def test_refund_dates_in_the_future_or_before_issue_are_refused(app, advisor):
    permit = _permit(advisor)
    now = london_noon(date(2026, 12, 5))
    with pytest.raises(CaseworkError, match="cannot be in the future"):
        refunds.preview(permit, refund_from=date(2026, 12, 6), reason="x", now=now)
    with pytest.raises(CaseworkError, match="before the permit was issued"):
        refunds.preview(permit, refund_from=date(2026, 3, 1), reason="x", now=now)


def test_free_permits_and_ended_permits_cannot_be_refunded(app, advisor):
    visitor = issue_permit(advisor, kind="visitor")  # the first 25 a year are free
    with pytest.raises(CaseworkError, match="issued without a fee"):
        refunds.check_refundable(visitor)
    replaced = _permit(advisor, vrm="CD12EFG")
    after_issue.change_vehicle(advisor, replaced, "XY65ZZZ", now=london_noon(date(2026, 6, 10)))
    with pytest.raises(CaseworkError, match="only an active or cancelled permit can be refunded"):
        refunds.check_refundable(replaced)


# ---------------------------------------------------------------- the web journey

def _request(client, permit, data, **extra):
    return post_form(client, f"/permits/{permit.id}/refund", {**data, **extra})


def _today_parts():
    from intranet.permits.casework import london_today

    today = london_today()
    return [str(today.day), str(today.month), str(today.year)]


def test_request_shows_the_calculation_before_saving_then_saves_it(client, login, advisor):
    permit = issue_permit(advisor)  # valid from today: 12 whole months unused today
    login("advisor")
    assert "Request a refund" in client.get(f"/permits/{permit.id}/refund").get_data(as_text=True)
    details = {"refund_from": _today_parts(), "reason": "Moving out of the zone"}
    response = _request(client, permit, details)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Check the refund" in html and "Refund 12/12 × £60.00 = £60.00" in html and "Refund due £60.00" in html
    assert db.session.scalar(select(Refund)) is None  # nothing saved yet

    response = _request(client, permit, details, confirm="yes")
    assert response.status_code == 303
    refund = db.session.scalar(select(Refund))
    assert response.headers["Location"].startswith(f"/permits/refunds/{refund.id}")
    assert refund.status == "requested" and refund.amount_pence == 6000 and refund.paid_pence == 6000
    assert "Refund due £60.00" in refund.calculation
    assert db.session.get(Permit, permit.id).status == "active"  # still covered until a decision


def test_change_details_goes_back_to_the_form_with_what_was_typed(client, login, advisor):
    permit = issue_permit(advisor)
    login("advisor")
    response = _request(client, permit, {"refund_from": _today_parts(), "reason": "Moving", "amount": "12.50"},
                        change="yes")
    html = response.get_data(as_text=True)
    assert "Request a refund" in html and 'value="12.50"' in html and "Moving</textarea>" in html


def test_refund_form_errors_name_the_field_and_keep_the_input(client, login, advisor):
    permit = issue_permit(advisor)
    login("advisor")
    response = _request(client, permit, {"refund_from": ["31", "2", "2026"], "reason": "", "amount": "lots"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<title>Error: " in html
    assert "Refund from must be a real date" in html
    assert "Enter why the customer wants a refund" in html
    assert "Different amount agreed (optional) must be an amount in pounds and pence" in html
    assert 'value="lots"' in html and 'value="31"' in html
    response = _request(client, permit, {"refund_from": _today_parts(), "reason": "x", "amount": "61.00"},
                        confirm="yes")
    assert "The refund cannot be more than the £60.00 paid" in response.get_data(as_text=True)
    assert db.session.scalar(select(Refund)) is None


def test_the_requester_cannot_decide_their_own_refund(client, login, make_user):
    leader = login("team_leader")
    permit = issue_permit(leader)
    refund = refunds.request_refund(leader, permit, refund_from=permit.valid_from, reason="Moving")
    db.session.commit()
    page = client.get(f"/permits/refunds/{refund.id}").get_data(as_text=True)
    assert "You requested this refund, so someone else must approve or refuse it" in page
    response = post_form(client, f"/permits/refunds/{refund.id}/decision", {"decision": "approve"})
    assert response.status_code == 200
    assert "You requested this refund, so someone else must approve or refuse it" in response.get_data(as_text=True)
    assert db.session.get(Refund, refund.id).status == "requested"
    assert db.session.get(Permit, permit.id).status == "active"


def test_advisors_cannot_decide_refunds(client, login, advisor):
    permit = issue_permit(advisor)
    refund = refunds.request_refund(advisor, permit, refund_from=permit.valid_from, reason="Moving")
    db.session.commit()
    login("advisor")
    assert post_form(client, f"/permits/refunds/{refund.id}/decision", {"decision": "approve"}).status_code == 403
    assert "Waiting for a team leader" in client.get(f"/permits/refunds/{refund.id}").get_data(as_text=True)


def test_approval_by_another_team_leader_ends_the_permit_then_it_is_paid(client, login, advisor):
    permit = issue_permit(advisor)
    refund = refunds.request_refund(advisor, permit, refund_from=permit.valid_from, reason="Moving")
    db.session.commit()
    login("team_leader")
    assert permit.number in client.get("/permits/refunds").get_data(as_text=True)
    response = post_form(client, f"/permits/refunds/{refund.id}/decision", {"decision": "approve"})
    assert response.status_code == 303
    refund = db.session.get(Refund, refund.id)
    permit = db.session.get(Permit, permit.id)
    assert refund.status == "approved" and refund.decided_at is not None
    assert (permit.status, permit.end_reason) == ("refunded", "refunded") and permit.ended_at is not None
    # A second decision is refused with who decided.
    again = post_form(client, f"/permits/refunds/{refund.id}/decision", {"decision": "refuse", "note": "no"})
    assert "This refund was already approved by" in again.get_data(as_text=True)

    to_pay = client.get("/permits/refunds/to-pay")
    assert to_pay.status_code == 200
    queue = to_pay.get_data(as_text=True)
    assert "Process refunds" in queue and permit.number in queue
    assert fragment_root(hx_get(client, "/permits/refunds/to-pay").get_data(as_text=True)).startswith(
        '<div id="refund-results">')
    missing = post_form(client, f"/permits/refunds/{refund.id}/paid", {"payment_reference": ""})
    assert missing.status_code == 200 and "Enter the payment reference of the refund" in missing.get_data(as_text=True)
    response = post_form(client, f"/permits/refunds/{refund.id}/paid", {"payment_reference": "RF-001"})
    assert response.status_code == 303
    refund = db.session.get(Refund, refund.id)
    assert refund.status == "paid" and refund.payment_reference == "RF-001"
    assert permit.number not in client.get("/permits/refunds/to-pay").get_data(as_text=True)
    timeline = client.get(f"/permits/{permit.id}").get_data(as_text=True)
    assert "Ended: refund of £60.00 approved" in timeline and "RF-001" in timeline


def test_refusal_needs_a_note_and_leaves_the_permit_active(client, login, advisor):
    permit = issue_permit(advisor)
    refund = refunds.request_refund(advisor, permit, refund_from=permit.valid_from, reason="Moving")
    db.session.commit()
    login("service_lead")
    response = post_form(client, f"/permits/refunds/{refund.id}/decision", {"decision": "refuse"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and fragment_root(html).startswith('<div id="decision-form">')
    assert "Enter why the refund is refused" in html
    response = post_form(client, f"/permits/refunds/{refund.id}/decision",
                         {"decision": "refuse", "note": "Used all year"})
    assert response.status_code == 303
    assert db.session.get(Refund, refund.id).status == "refused"
    assert db.session.get(Permit, permit.id).status == "active"


def test_a_second_request_on_the_same_permit_is_refused(app, advisor):
    permit = issue_permit(advisor)
    refunds.request_refund(advisor, permit, refund_from=permit.valid_from, reason="Moving")
    with pytest.raises(CaseworkError, match=r"already requested on .* \(waiting for a decision\)"):
        refunds.request_refund(advisor, permit, refund_from=permit.valid_from, reason="Again")


def test_cancelled_permit_refund_runs_from_the_cancellation_and_keeps_its_end(client, login, make_user, advisor):
    permit = issue_permit(advisor)
    after_issue.cancel(advisor, permit, reason="Moved away")
    db.session.commit()
    ended_at = db.session.get(Permit, permit.id).ended_at
    login("advisor")
    html = client.get(f"/permits/{permit.id}/refund").get_data(as_text=True)
    assert re.search(rf'id="refund_from-day"[^>]*value="{ended_at.astimezone(LONDON):%d}"', html) or \
        re.search(rf'value="{ended_at.astimezone(LONDON):%d}"[^>]*id="refund_from-day"', html) or \
        f'value="{ended_at.astimezone(LONDON):%d}"' in html
    permit = db.session.get(Permit, permit.id)
    refund = refunds.request_refund(advisor, permit, refund_from=refunds.default_refund_from(permit),
                                    reason="Moved away")
    refunds.decide(make_user("team_leader"), refund, approve=True)
    permit = db.session.get(Permit, permit.id)
    assert (permit.status, permit.end_reason) == ("refunded", "refunded") and permit.ended_at == ended_at


def test_refund_lists_are_paginated(app, client, login, advisor):
    made = []
    for i in range(3):
        permit = issue_permit(advisor, vrm=f"AB{10 + i}CDE")
        made.append(refunds.request_refund(advisor, permit, refund_from=permit.valid_from, reason="Moving"))
    db.session.commit()
    first = refunds.queue("requested", per_page=2)
    assert [r.id for r in first.items] == [made[0].id, made[1].id] and first.next_after == made[1].id
    assert [r.id for r in refunds.queue("requested", after=first.next_after, per_page=2).items] == [made[2].id]
    first_id = made[0].id
    login("team_leader")
    assert client.get(f"/permits/refunds?after={first_id}").status_code == 200
    assert client.get("/permits/refunds?status=nonsense").status_code == 200


def test_refund_pages_are_refused_to_parking_team(client, login):
    login("parking_team")
    assert client.get("/permits/refunds").status_code == 403
    assert client.get("/permits/refunds/to-pay").status_code == 403


def test_approving_a_refund_sends_the_refund_letter(app, advisor, make_user):
    """Casework announces the approval; printing answers with a letter for the next batch (no email on file)."""
    from sqlalchemy import select

    from intranet.extensions import db
    from intranet.permits import refunds
    from intranet.printing.models import PendingLetter

    permit = _permit(advisor)
    refund = refunds.request_refund(advisor, permit, refund_from=date(2026, 11, 1), reason="Moved away",
                                    now=london_noon(date(2026, 12, 4)))
    db.session.commit()
    refunds.decide(make_user("team_leader"), refund, approve=True, now=london_noon(date(2026, 12, 4)))
    db.session.commit()
    letters = db.session.scalars(select(PendingLetter)).all()
    assert [(letter.kind, letter.refund_id) for letter in letters] == [("refund", refund.id)]
