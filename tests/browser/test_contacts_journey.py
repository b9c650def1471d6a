"""Contacts and capacity in Chromium: three calls logged by keyboard alone (the form stays, focus returns
to the first field after each save), a cash payment taken by an advisor and approved by a team leader,
the day's cash-up closed after explaining a difference, and the staffing page's what-if changing a
handling time by htmx with the URL updated; axe on every page and state."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

CALLS = [
    # (arrow presses on the channel radios, arrow presses on the category select, summary, outcome, minutes, reply)
    (0, 2, "Asked when to renew", "Explained the renewal window", "3", False),
    (1, 3, "Visitor permits used up", "Told them the allowance resets in April", "4", False),
    (0, 5, "Permit not arrived", "Checked: posted yesterday; will call back", "2", True),
]


def _active_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_calls_by_keyboard_cash_with_approval_cash_up_and_staffing_what_if(page, axe):
    sign_in(page, "advisor")
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Enquiries").click()
    expect(page.get_by_role("heading", name="Enquiries", level=1)).to_be_visible()
    axe(page, "enquiries desk")

    # Keyboard alone from the top of the page to the first field of the form.
    for _ in range(60):
        page.keyboard.press("Tab")
        if _active_id(page) == "channel":
            break
    assert _active_id(page) == "channel", "Tab never reached the first field"

    desk = page.locator("#enquiry-desk")
    for n, (channel_moves, category_moves, summary, outcome, minutes, reply) in enumerate(CALLS, start=1):
        for _ in range(channel_moves):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Tab")
        for _ in range(category_moves):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Tab")  # reference: none for this call
        page.keyboard.press("Tab")
        page.keyboard.type(summary)
        page.keyboard.press("Tab")
        page.keyboard.type(outcome)
        page.keyboard.press("Tab")
        page.keyboard.type(minutes)
        if reply:
            page.keyboard.press("Tab")
            page.keyboard.press("Space")
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        expect(desk.locator("caption")).to_contain_text(f"Your contacts today: {n}")
        expect(desk.get_by_role("status")).to_contain_text("Contact logged")
        expect(page.locator("#todays-contacts")).to_contain_text(summary)
        expect(page.locator("#summary")).to_have_value("")  # cleared for the next call
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'channel'")
    expect(page.locator("#todays-contacts")).to_contain_text("Email")
    expect(page.locator("#todays-contacts")).to_contain_text("Due ")  # the third needs a reply
    expect(desk.locator("caption")).to_contain_text("(9 minutes)")
    axe(page, "enquiries desk after three calls")

    # A cash payment taken by exception.
    page.get_by_role("navigation", name="Contacts").get_by_role("link", name="Cash payments").click()
    axe(page, "cash payments")
    page.get_by_role("link", name="Take a cash payment").click()
    expect(page.get_by_role("heading", name="Take a cash payment", level=1)).to_be_visible()
    axe(page, "take a cash payment")
    page.get_by_label("Penalty charge notice number").fill("OX1234")
    page.get_by_label("Amount taken").fill("35.00")
    page.get_by_label("Name of the person paying").fill("Zoë Brontë")
    page.get_by_label("Why was the payment taken in cash by exception?").fill("Card machine down")
    page.get_by_role("button", name="Record cash payment").click()
    expect(page.locator("#cash-form .govuk-error-summary")).to_contain_text("is not in the right format")
    expect(page).to_have_title(re.compile(r"^Error: "))
    axe(page, "cash payment with an error")
    page.get_by_label("Penalty charge notice number").fill("OX12345678")
    page.get_by_role("button", name="Record cash payment").click()
    expect(page.get_by_text(re.compile(r"Cash payment recorded: receipt CX\d{6}"))).to_be_visible()
    number = page.get_by_role("heading", level=1).inner_text().split()[-1]
    receipt_url = page.url.split("?")[0]
    expect(page.get_by_text("Awaiting approval").first).to_be_visible()
    axe(page, "receipt taken")

    # Approved by a team leader who did not take it.
    _sign_out(page)
    sign_in(page, "team_leader")
    page.goto("/contacts/cash")
    page.locator("#awaiting-approval").get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=f"Receipt {number}", level=1)).to_be_visible()
    axe(page, "receipt to approve")
    page.get_by_role("button", name=f"Approve receipt {number}").click()
    expect(page.get_by_role("alert", name="Success")).to_contain_text(f"Receipt {number} approved")
    assert page.url.startswith(receipt_url)
    axe(page, "receipt approved")

    # The day's cash-up: a difference must be explained before the day can be closed.
    page.get_by_role("link", name=re.compile(r"\d{1,2} \w+ \d{4}")).first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Cash-up for "), level=1)).to_be_visible()
    expect(page.locator("#recorded-total")).to_have_text("£35.00")
    axe(page, "cash-up")
    page.get_by_label("Cash counted").fill("30.00")
    page.get_by_label("Bank bag number").fill("BAG-0001")
    page.get_by_role("button", name="Close the day's cash-up").click()
    expect(page.locator("#cash-up .govuk-error-summary")).to_contain_text("£5.00 short against the recorded total of £35.00")
    expect(page).to_have_title(re.compile(r"^Error: Cash-up"))
    axe(page, "cash-up with a difference")
    page.get_by_label("Explanation of any difference").fill("£5 given in change twice")
    page.get_by_role("button", name="Close the day's cash-up").click()
    expect(page.get_by_role("alert", name="Success")).to_contain_text(re.compile(r"Cash-up for .* closed"))
    expect(page.get_by_text("Read only")).to_be_visible()
    expect(page.locator("main")).to_contain_text("£5.00 short: £5 given in change twice")
    axe(page, "cash-up closed")

    # The staffing page: change a handling time, by htmx, with the URL updated.
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Staffing").click()
    expect(page.get_by_role("heading", name="Staffing model", level=1)).to_be_visible()
    expect(page.locator("#sla-table-sum")).to_contain_text("15:44:12")
    axe(page, "staffing model")
    page.evaluate("() => { window.__marker = 'same page'; }")
    minutes = page.get_by_label("Residents permits: handling minutes")
    minutes.fill("7")
    minutes.press("Tab")
    expect(page).to_have_url(re.compile(r"residents_permits-minutes=7"))
    expect(page.locator("#what-if-table-residents_permits")).to_contain_text("05:10:56")
    expect(page.locator("#what-if-table-sum")).to_contain_text("82:23:04")
    expect(page.locator("#sla-table-sum")).to_contain_text("15:44:12")  # the SLA's own table never moves
    assert page.evaluate("() => window.__marker") == "same page"
    axe(page, "staffing what-if")
