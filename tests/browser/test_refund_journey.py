"""A refund in Chromium: requested by an advisor (calculation shown before saving), approved by a
team leader who did not request it, then paid from the process-refunds queue; axe on every page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from intranet.auth.models import User
from intranet.extensions import db
from tests.browser.conftest import sign_in
from tests.permit_factories import issue_permit, make_zone


@pytest.fixture
def permit_info(live_app):
    """A £60 resident permit issued today, made through the real services in the live app's database."""
    with live_app.app_context():
        issuer = db.session.scalar(select(User).where(User.username == "advisor2"))
        permit = issue_permit(issuer, vrm="RF12UND", zone=make_zone("RFZ", "Refund test zone"),
                              payment_reference="PAY-BROWSER")
        info = {"id": permit.id, "number": permit.number}
        db.session.remove()
    return info


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_refund_requested_by_one_user_and_approved_by_another(page, axe, permit_info):
    number = permit_info["number"]
    sign_in(page, "advisor")
    page.goto(f"/permits/{permit_info['id']}")
    expect(page.get_by_role("heading", name=re.compile(f"Permit {number}"), level=1)).to_be_visible()
    axe(page, "permit page")

    page.get_by_role("link", name="Request a refund").click()
    expect(page.get_by_role("heading", name="Request a refund", level=1)).to_be_visible()
    axe(page, "refund request")
    page.get_by_role("button", name="Continue").click()  # no reason: refused, nothing saved
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why the customer wants a refund")
    expect(page).to_have_title(re.compile(r"^Error: "))
    axe(page, "refund request with errors")

    page.get_by_label("Why does the customer want a refund?").fill("Moving out of Oxford")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Check the refund", level=1)).to_be_visible()
    expect(page.get_by_text("Refund 12/12 × £60.00 = £60.00")).to_be_visible()
    expect(page.get_by_text("Refund due £60.00")).to_be_visible()
    axe(page, "check the refund")
    page.get_by_role("button", name="Request refund of £60.00").click()
    expect(page.get_by_text("Refund requested")).to_be_visible()
    expect(page.get_by_text("Waiting for a team leader")).to_be_visible()
    refund_url = page.url.split("?")[0]
    axe(page, "refund requested")

    _sign_out(page)
    sign_in(page, "team_leader")
    page.goto("/")  # a secondary area: listed on the home page
    page.get_by_role("main").get_by_role("link", name="Refunds", exact=True).click()
    expect(page.get_by_role("heading", name="Refunds", level=1)).to_be_visible()
    axe(page, "refunds to decide")
    page.goto(refund_url)
    page.get_by_label("Approve the refund").check()
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_text("Refund approved: the permit has ended")).to_be_visible()
    axe(page, "refund approved")

    page.goto("/permits/refunds/to-pay")
    expect(page.get_by_role("heading", name="Process refunds", level=1)).to_be_visible()
    expect(page.locator("#refund-results")).to_contain_text(number)
    axe(page, "process refunds")
    page.locator("#refund-results").get_by_role("link", name=re.compile(f"Pay the refund for permit {number}")).click()
    page.get_by_role("button", name="Mark as paid").click()  # htmx: the error swaps into the form
    expect(page.locator("#paid-form .govuk-error-summary")).to_contain_text("Enter the payment reference")
    axe(page, "pay with error")
    page.get_by_label("Refund payment reference").fill("RF-2026-001")
    page.get_by_role("button", name="Mark as paid").click()
    expect(page.get_by_text("Refund marked as paid")).to_be_visible()
    axe(page, "refund paid")

    page.goto(f"/permits/{permit_info['id']}")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Refunded")
    axe(page, "permit after refund")


def test_after_issue_pages_partners_and_enforcement_are_accessible(page, axe, permit_info):
    """The other pages of the area, each checked with axe; the enforcement lookup answers live (htmx)."""
    number = permit_info["number"]
    sign_in(page, "team_leader")
    for path, heading in ((f"/permits/{permit_info['id']}/change-vehicle", "Change the vehicle"),
                          (f"/permits/{permit_info['id']}/replace", "Replace a lost or stolen permit"),
                          (f"/permits/{permit_info['id']}/cancel", "Cancel the permit"),
                          (f"/permits/{permit_info['id']}/renew", "Start a renewal"),
                          ("/permits/renewals", "Renewals"),
                          ("/partners", "Partner agreements"),
                          ("/partners/new", "Record a partner agreement")):
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        axe(page, path)

    page.goto("/partners")
    page.get_by_role("link", name="Thames Valley Police").click()
    expect(page.get_by_role("heading", name="Thames Valley Police", level=1)).to_be_visible()
    axe(page, "agreement page")
    page.get_by_label("Number of permits").fill("5000")
    page.get_by_label("Collected by").fill("PC 42 Morse")
    page.get_by_role("button", name="Record collection").click()
    expect(page.locator("#collection-form .govuk-error-summary")).to_contain_text("permits per collection")
    axe(page, "collection refused")

    page.goto(f"/permits/{permit_info['id']}/change-vehicle")
    page.get_by_label("New vehicle registration").fill("not a reg")
    page.get_by_role("button", name="Change the vehicle").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("is not a UK vehicle registration format")
    axe(page, "change of vehicle with error")
    page.get_by_label("New vehicle registration").fill("RF65NEW")
    page.get_by_role("button", name="Change the vehicle").click()
    expect(page.get_by_text("Vehicle changed: this is the new permit")).to_be_visible()
    axe(page, "new permit after change of vehicle")

    page.goto("/enforcement")
    axe(page, "enforcement lookup")
    page.evaluate("() => { window.__marker = 'same page'; }")
    page.get_by_label("Vehicle registration").press_sequentially("RF12UND", delay=20)
    expect(page.locator("#lookup-answer")).to_contain_text("No: no resident permit covered RF12UND")
    expect(page.locator("#lookup-result")).to_contain_text("Change of vehicle on")
    expect(page).to_have_url(re.compile(r"vrm=RF12UND"))
    assert page.evaluate("() => window.__marker") == "same page"
    axe(page, "enforcement answer")
    page.get_by_label("Vehicle registration").fill("RF65NEW")
    expect(page.locator("#lookup-answer")).to_contain_text("Yes: RF65NEW was covered")
    assert number not in page.locator("#lookup-result table").first.inner_text()
