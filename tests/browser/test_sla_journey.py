"""The SLA page, its deadline form (htmx, bookmarkable) and business continuity, in Chromium."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_sla_page_and_deadline_form(page, axe):
    sign_in(page, "advisor")
    page.get_by_role("link", name="Service level agreement").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Service level agreement")
    axe(page, "SLA page")

    page.get_by_label("Clock").select_option("permit_issue")
    page.get_by_label("Received (date and time)").fill("2017-03-10T18:00")
    page.evaluate("() => { window.__marker = 'same page'; }")
    page.get_by_role("button", name="Work out the deadline").click()
    result = page.locator("#deadline-result")
    expect(result).to_contain_text("Due Wednesday 15 March 2017 at 5:00pm")
    expect(result).to_contain_text("Monday 13 March 2017")
    assert page.evaluate("() => window.__marker") == "same page"
    expect(page).to_have_url(re.compile(r"clock=permit_issue.*received=2017-03-10T18%3A00"))
    axe(page, "SLA page with a deadline")

    page.get_by_label("Received (date and time)").fill("not a date")
    page.keyboard.press("Enter")
    expect(result.locator(".govuk-error-summary")).to_contain_text("YYYY-MM-DDTHH:MM")
    axe(page, "deadline form error")

    # The bookmarked URL gives the whole page with the answer.
    page.goto("/sla/?clock=complaint_acknowledgement&received=2017-03-07T11:00")
    expect(page.locator("#deadline-result")).to_contain_text("Due Thursday 9 March 2017 at 5:00pm")


def test_service_manager_declares_and_ends_an_emergency(page, axe):
    sign_in(page, "service_manager")
    page.goto("/sla/continuity")
    axe(page, "continuity")
    page.get_by_role("button", name="Declare").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the kind of event")
    axe(page, "continuity errors")
    page.get_by_label("Extreme weather").check()
    page.get_by_label("Reason").fill("Heavy snow: office closed, phones diverted")
    page.get_by_role("button", name="Declare").click()
    expect(page.locator(".app-emergency-banner")).to_contain_text("Heavy snow")
    axe(page, "continuity with banner")
    page.goto("/")
    expect(page.locator(".app-emergency-banner")).to_be_visible()
    page.goto("/sla/continuity")
    page.get_by_role("button", name="End the declaration").click()
    expect(page.get_by_text("Declaration ended")).to_be_visible()
    expect(page.locator(".app-emergency-banner")).to_have_count(0)
