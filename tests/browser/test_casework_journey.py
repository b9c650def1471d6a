"""Issue 4's journey in Chromium: a postal resident application from intake to permit, a visitor
permit against the allowance, and the same intake by keyboard alone."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import expect

from intranet.extensions import db
from intranet.timefmt import LONDON, utcnow
from tests import casework_factories as f
from tests.browser.conftest import sign_in


def _household(live_app, name="Ada Lovelace", **kwargs):
    with live_app.app_context():
        from intranet.auth.models import User
        from sqlalchemy import select

        admin = db.session.scalar(select(User).where(User.username == "admin"))
        from intranet.permits.models import Zone

        zone = db.session.scalar(select(Zone).where(Zone.code == "JR"))  # from the demo data
        customer = f.customer(admin, zone, name, **kwargs)
        customer_id = customer.id
        db.session.remove()
    return customer_id


def _fill_received(page, when: datetime):
    page.locator("#received_date-day").fill(str(when.day))
    page.locator("#received_date-month").fill(str(when.month))
    page.locator("#received_date-year").fill(str(when.year))
    page.get_by_label("Time received").first.fill(f"{when.hour}:{when:%M}")


def test_postal_resident_application_to_permit(page, axe, live_app, tmp_path):
    customer_id = _household(live_app)
    sign_in(page, "advisor")
    page.get_by_role("link", name="Application queue").first.click()
    axe(page, "queue")
    page.get_by_role("link", name="Log an application").click()
    page.get_by_label("Find the household").fill("Lovel")
    expect(page.locator("#customer-results")).to_contain_text("Ada Lovelace")
    axe(page, "find household")
    page.get_by_role("link", name=re.compile("Start application")).click()
    axe(page, "intake")

    arrived = (utcnow() - timedelta(days=1)).astimezone(LONDON).replace(hour=10, minute=15)
    page.get_by_label("Resident permit").check()
    page.get_by_label("New", exact=True).check()
    page.get_by_label("Post", exact=True).check()
    _fill_received(page, arrived)
    page.get_by_label("Vehicle registration").fill("not a plate")
    page.get_by_role("button", name="Log the application").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("is not a UK vehicle registration format")
    axe(page, "intake with errors")
    page.get_by_label("Vehicle registration").fill("ab12 cde")
    page.get_by_role("button", name="Log the application").click()
    expect(page.get_by_text("Application logged")).to_be_visible()
    expect(page.locator("#casework")).to_contain_text("Clock not started")
    reference = page.locator("h1").inner_text().split()[-1]
    axe(page, "application")

    scan = tmp_path / "council-tax.pdf"
    scan.write_bytes(b"%PDF-1.4\n% council tax bill\n")
    for code in ("proof_of_residency", "vehicle_registration"):
        page.get_by_text("Add evidence received").click()
        page.get_by_label("Evidence", exact=True).select_option(code)
        _fill_received(page, arrived)
        page.get_by_label("Scan (optional)").set_input_files(str(scan))
        page.get_by_role("button", name="Add evidence").click()
        expect(page.get_by_text("Evidence added")).to_be_visible()
    for _ in range(2):
        page.locator("#casework form").filter(has=page.get_by_role("button", name="Save check")).first.get_by_label("Accept").check()
        page.locator("#casework form").filter(has=page.get_by_role("button", name="Save check")).first.get_by_role("button", name="Save check").click()
        expect(page.get_by_text("Evidence check saved")).to_be_visible()
    casework = page.locator("#casework")
    expect(casework).to_contain_text("Started")
    expect(casework).not_to_contain_text("Clock not started")
    axe(page, "clock started")

    page.get_by_label("Payment reference").fill("PAY-778899")
    page.get_by_role("button", name="Issue the permit").click()
    expect(page.get_by_text("Permit issued")).to_be_visible()
    permit_number = page.locator("table", has_text="Permits issued").locator("a").first.inner_text()
    assert re.fullmatch(r"R\d{7}", permit_number)
    axe(page, "issued")

    page.goto("/queue")
    expect(page.locator("#queue-results")).not_to_contain_text(reference)

    page.goto(f"/customers/{customer_id}")
    expect(page.locator("main")).to_contain_text(permit_number)
    axe(page, "customer record")

    page.goto("/enforcement")
    page.get_by_label("Vehicle registration").fill("AB12CDE")
    today = utcnow().astimezone(LONDON)
    page.locator("#on-day").fill(str(today.day))
    page.locator("#on-month").fill(str(today.month))
    page.locator("#on-year").fill(str(today.year))
    page.get_by_role("button", name=re.compile("Check|Look up|Search")).first.click()
    expect(page.locator("main")).to_contain_text(permit_number)
    axe(page, "enforcement lookup")


def test_visitor_permits_against_the_allowance(page, axe, live_app):
    customer_id = _household(live_app, "Grace Hopper")
    sign_in(page, "advisor")
    page.goto(f"/applications/new?customer_id={customer_id}")
    page.get_by_role("radio", name="Visitor permits").check()
    page.get_by_label("New", exact=True).check()
    page.get_by_label("Counter").check()
    page.get_by_label("How many visitor permits?").fill("30")
    page.get_by_role("button", name="Log the application").click()
    expect(page.get_by_text("Application logged")).to_be_visible()
    page.get_by_text("Add evidence received").click()
    page.get_by_role("button", name="Add evidence").click()
    expect(page.get_by_text("Evidence added")).to_be_visible()
    page.get_by_label("Accept").check()
    page.get_by_role("button", name="Save check").click()
    casework = page.locator("#casework")
    expect(casework).to_contain_text("50 of 50 left")
    expect(casework).to_contain_text("£6.50")  # 30 permits: 25 free, 5 at £1.30
    axe(page, "visitor allowance")
    page.get_by_label("Payment reference").fill("PAY-1")
    page.get_by_role("button", name="Issue 30 visitor permits").click()
    expect(page.get_by_text("Permit issued")).to_be_visible()
    expect(page.locator("table", has_text="Permits issued").locator("tbody tr")).to_have_count(30)


def test_intake_by_keyboard_alone(page, live_app):
    customer_id = _household(live_app, "Alan Turing")
    sign_in(page, "advisor")
    page.goto(f"/applications/new?customer_id={customer_id}")
    page.locator("#kind").focus()  # first radio of "Which permit?"
    page.keyboard.press("Space")
    expect(page.get_by_label("Resident permit")).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # New
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # Post
    page.keyboard.press("Tab")
    for _ in range(3):
        page.keyboard.press("Tab")  # date boxes keep today's date
    page.keyboard.press("Tab")  # time keeps now
    page.keyboard.type("CD34EFG")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Application logged")).to_be_visible()
    expect(page.locator("main")).to_contain_text("CD34EFG")
