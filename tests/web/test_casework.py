"""Intake, evidence, the permit_issue clock and issuing, through the web and the services."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from intranet.extensions import db
from intranet.permits import casework
from intranet.permits.models import Application, EvidenceItem, Permit
from intranet.timefmt import utcnow
from tests import casework_factories as f
from tests.support import HX, post_form


@pytest.fixture
def advisor(login):
    return login("advisor")


@pytest.fixture
def household(app, make_user):
    clerk = make_user("advisor", username="clerk")
    z = f.zone()
    return f.customer(clerk, z)


def test_intake_full_page_and_fragment(client, advisor, household):
    page = client.get(f"/applications/new?customer_id={household.id}").get_data(as_text=True)
    assert "Log the application" in page and household.name in page
    fragment = client.get("/applications/new?q=ada", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="customer-results"') and "Start application" in fragment


def _intake(client, customer_id, **over):
    now = utcnow() - timedelta(minutes=5)
    from intranet.timefmt import LONDON

    local = now.astimezone(LONDON)
    data = {"customer_id": customer_id, "kind": "resident", "app_type": "new", "channel": "post",
            "received_date": [local.day, local.month, local.year],
            "received_time": f"{local.hour}:{local:%M}", "vrm": "ab12 cde", "quantity": ""}
    data.update(over)
    return post_form(client, f"/applications/new?customer_id={customer_id}", data)


def test_intake_logs_an_application_with_normalised_vrm(client, advisor, household):
    response = _intake(client, household.id)
    assert response.status_code == 303
    application = db.session.scalar(select(Application))
    assert application.vrm == "AB12CDE" and application.status == "received" and application.deadline_at
    assert application.documents_complete_at is None


@pytest.mark.parametrize("over, message", [
    ({"vrm": "NOTAPLATE1"}, "is not a UK vehicle registration format"),
    ({"vrm": ""}, "Enter the vehicle registration"),
    ({"received_date": ["1", "1", "2099"]}, "cannot be in the future"),
    ({"received_date": ["31", "2", "2026"]}, "Date received must be a real date"),
    ({"received_date": ["", "2", "2026"]}, "Date received must include a day"),
    ({"received_time": "25:99"}, "Enter a real time"),
    ({"kind": "visitor", "quantity": "0"}, "between 1 and 100"),
    ({"channel": ""}, "Select how the application arrived"),
])
def test_intake_bad_input_is_named_and_nothing_saved(client, advisor, household, over, message):
    response = _intake(client, household.id, **over)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html and "govuk-error-summary" in html
    assert db.session.scalar(select(func.count(Application.id))) == 0


def test_intake_warns_of_a_likely_duplicate(client, advisor, household):
    assert _intake(client, household.id).status_code == 303
    warned = _intake(client, household.id)
    assert "already has an open resident application" in warned.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Application.id))) == 1
    assert _intake(client, household.id, confirm_duplicate="y").status_code == 303
    assert db.session.scalar(select(func.count(Application.id))) == 2


def test_clock_starts_at_receipt_of_the_last_document_not_when_checked(app, advisor, household):
    received = f.london(2026, 3, 2, 10)  # Monday
    a = f.application(advisor, household, received_at=received)
    proof = casework.add_evidence(advisor, a, evidence_type="proof_of_residency", received_at=received)
    v5c = casework.add_evidence(advisor, a, evidence_type="vehicle_registration", received_at=f.london(2026, 3, 4, 15))
    casework.check_evidence(advisor, proof, accept=True)
    assert a.documents_complete_at is None and a.status == "received"
    casework.check_evidence(advisor, v5c, accept=True)
    db.session.commit()
    assert a.status == "ready"
    assert a.documents_complete_at == f.london(2026, 3, 4, 15)
    assert a.deadline_at == f.london(2026, 3, 6, 17)  # Wednesday 15:00 + 2 working days -> Friday close


def test_rejected_evidence_needs_a_reason_and_keeps_the_clock_stopped(app, advisor, household):
    a = f.application(advisor, household)
    item = casework.add_evidence(advisor, a, evidence_type="proof_of_residency", received_at=a.received_at)
    with pytest.raises(casework.CaseworkError):
        casework.check_evidence(advisor, item, accept=False, reason="")
    casework.check_evidence(advisor, item, accept=False, reason="Bill older than 3 months")
    assert a.documents_complete_at is None


def test_request_evidence_shows_waiting_for_the_customer(client, advisor, household):
    a = f.application(advisor, household)
    response = post_form(client, f"/applications/{a.id}/request-evidence",
                         {"items": ["vehicle_registration"], "method": "letter"})
    assert response.status_code == 303
    db.session.refresh(a)
    assert a.status == "awaiting_evidence" and a.waiting_since is not None
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert "waiting for the customer" in page.lower()


def test_pause_extends_the_deadline_by_working_time(app, advisor, household):
    a = f.ready_application(advisor, household, received_at=f.london(2026, 3, 2, 10))
    before = a.deadline_at
    pause = casework.start_pause(advisor, a, "Waiting for payment", now=f.london(2026, 3, 2, 11))
    casework.end_pause(advisor, a, now=f.london(2026, 3, 2, 13))
    db.session.commit()
    assert before == f.london(2026, 3, 4, 17)
    assert a.deadline_at == f.london(2026, 3, 5, 10, 30)  # 2 working hours more: into the next morning


def test_upload_of_wrong_type_is_refused_before_it_is_stored(client, advisor, household, app, tmp_path):
    a = f.application(advisor, household)
    from intranet.timefmt import LONDON

    local = utcnow().astimezone(LONDON)
    data = {"evidence_type": "proof_of_residency", "received_date": [str(local.day), str(local.month), str(local.year)],
            "received_time": "0:01",
            "scan": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "bill.pdf")}
    from tests.support import csrf_token

    token = csrf_token(client, "/")
    response = client.post(f"/applications/{a.id}/evidence", data=data, headers={"X-CSRFToken": token},
                           content_type="multipart/form-data")
    assert "must be a PDF, JPG or PNG" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(EvidenceItem.id))) == 0
    upload_dir = app.config["UPLOAD_DIR"]
    import os

    assert not os.path.exists(upload_dir) or os.listdir(upload_dir) == []

    data["scan"] = (io.BytesIO(b"%PDF-1.4\n%test\n"), "bill.pdf")
    response = client.post(f"/applications/{a.id}/evidence", data=data, headers={"X-CSRFToken": token},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    item = db.session.scalar(select(EvidenceItem))
    download = client.get(f"/applications/{a.id}/evidence/{item.id}/file")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert not item.stored_name.endswith("bill.pdf")


def test_issue_resident_permit_once(client, advisor, household):
    a = f.ready_application(advisor, household)
    response = post_form(client, f"/applications/{a.id}/issue", {"payment_reference": "PAY-123"})
    assert response.status_code == 303
    permit = db.session.scalar(select(Permit))
    assert permit.vrm == "AB12CDE" and permit.number.startswith("R") and permit.fee_pence == 6000
    assert (permit.valid_to - permit.valid_from).days in (364, 365)
    db.session.refresh(a)
    assert a.status == "issued" and a.is_open is False and a.issued_on_time is True
    again = post_form(client, f"/applications/{a.id}/issue", {"payment_reference": "PAY-123"})
    assert "Already issued by" in again.get_data(as_text=True) or again.status_code == 200
    assert db.session.scalar(select(func.count(Permit.id))) == 1


def test_issue_needs_payment_reference_and_refuses_card_numbers(client, advisor, household):
    a = f.ready_application(advisor, household)
    assert "Enter the payment reference" in post_form(client, f"/applications/{a.id}/issue", {}).get_data(as_text=True)
    html = post_form(client, f"/applications/{a.id}/issue", {"payment_reference": "4111 1111 1111 1111"}).get_data(as_text=True)
    assert "looks like a card number" in html
    assert db.session.scalar(select(func.count(Permit.id))) == 0


def test_visitor_permits_against_the_allowance(app, advisor, household):
    first = f.ready_application(advisor, household, kind="visitor", quantity=20)
    permits = casework.issue(advisor, first)
    db.session.commit()
    assert len(permits) == 20 and sum(p.fee_pence for p in permits) == 0
    second = f.ready_application(advisor, household, kind="visitor", quantity=10)
    terms = casework.quote(second)
    assert terms["allowance"].remaining == 30 and terms["fee_pence"] == 5 * 130
    permits = casework.issue(advisor, second, payment_reference="P1")
    db.session.commit()
    assert sum(p.fee_pence for p in permits) == 650
    third = f.ready_application(advisor, household, kind="visitor", quantity=25)
    with pytest.raises(casework.CaseworkError, match="exceed the household's allowance"):
        casework.issue(advisor, third, payment_reference="P2")


def test_resident_permits_limited_per_household(app, advisor, household):
    for vrm in ("AB12CDE", "CD34EFG"):
        casework.issue(advisor, f.ready_application(advisor, household, vrm=vrm), payment_reference="P")
        db.session.commit()
    third = f.ready_application(advisor, household, vrm="EF56GHJ")
    with pytest.raises(casework.CaseworkError, match="the limit is 2"):
        casework.issue(advisor, third, payment_reference="P")


def test_two_threads_issue_the_same_application_exactly_once(app, make_user, household):
    first, second = make_user("advisor"), make_user("advisor")
    a = f.ready_application(first, household)
    application_id, user_ids = a.id, (first.id, second.id)
    db.session.rollback()  # the test itself holds no lock while the threads race
    results, barrier = [], threading.Barrier(2)

    def run(user_id):
        with app.app_context():
            from intranet.auth.models import User

            user = db.session.get(User, user_id)
            application = db.session.get(Application, application_id)
            db.session.commit()  # hold no lock while waiting for the other thread
            barrier.wait()
            try:
                casework.issue(user, application, payment_reference="P")
                db.session.commit()
                results.append("issued")
            except casework.AlreadyIssued as exc:
                db.session.rollback()
                results.append(str(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.rollback()
    assert sorted(r == "issued" for r in results) == [False, True], results
    assert any(r.startswith("Already issued by") for r in results)
    assert db.session.scalar(select(func.count(Permit.id))) == 1


def test_refuse_needs_a_reason(client, advisor, household):
    a = f.application(advisor, household)
    assert "Enter the reason" in post_form(client, f"/applications/{a.id}/close", {"outcome": "refused"}).get_data(as_text=True)
    assert post_form(client, f"/applications/{a.id}/close", {"outcome": "refused", "reason": "Outside zone"}).status_code == 303
    db.session.refresh(a)
    assert a.status == "refused" and not a.is_open


def test_application_page_full_and_fragment(client, advisor, household):
    a = f.application(advisor, household)
    page = client.get(f"/applications/{a.id}").get_data(as_text=True)
    assert a.reference in page and "Clock not started" in page and "History" in page
    fragment = client.get(f"/applications/{a.id}", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="casework"')


def _issue_in_process(database_url: str, application_id: int, user_id: int, start_at: float, queue) -> None:
    """Runs in a separate process: its own app, engine and connection, like a second app server."""
    import time as _time

    from intranet import create_app
    from intranet.auth.models import User

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        user = db.session.get(User, user_id)
        application = db.session.get(Application, application_id)
        db.session.commit()
        _time.sleep(max(0.0, start_at - _time.time()))
        try:
            casework.issue(user, application, payment_reference="P")
            db.session.commit()
            queue.put("issued")
        except casework.AlreadyIssued as exc:
            db.session.rollback()
            queue.put(str(exc))
        except Exception as exc:  # reported to the parent, which fails the test with it
            queue.put(f"error: {exc!r}")


def test_two_processes_issue_the_same_application_exactly_once(app, database_url, make_user, household):
    import multiprocessing
    import time

    first, second = make_user("advisor"), make_user("advisor")
    a = f.ready_application(first, household)
    application_id, user_ids = a.id, (first.id, second.id)
    db.session.rollback()
    db.engine.dispose()
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 4
    procs = [ctx.Process(target=_issue_in_process, args=(database_url, application_id, uid, start_at, results))
             for uid in user_ids]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert sorted(o == "issued" for o in outcomes) == [False, True], outcomes
    assert any(o.startswith("Already issued by") for o in outcomes), outcomes
    assert db.session.scalar(select(func.count(Permit.id))) == 1
