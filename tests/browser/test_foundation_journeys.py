"""The foundation's journeys in a real browser: sign in, user admin with htmx, keyboard only."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_sign_in_filter_create_and_deactivate_users(page, axe):
    page.goto("/login")
    axe(page, "login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill("wrong-password-here")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: Sign in"))
    axe(page, "login with error")

    sign_in(page, "admin")
    expect(page.get_by_role("heading", name="Your areas")).to_be_visible()
    axe(page, "home")

    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()
    axe(page, "users")

    # The filter swaps only the results (htmx) and puts the filter in the address bar.
    page.evaluate("() => { window.__marker = 'same page'; }")
    page.get_by_label("Role").select_option("team_leader")
    expect(page).to_have_url(re.compile(r"role=team_leader"))
    expect(page.locator("#user-results")).to_contain_text("team_leader")
    expect(page.locator("#user-results")).not_to_contain_text("advisor")
    assert page.evaluate("() => window.__marker") == "same page"
    axe(page, "users filtered")
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"role=team_leader"))

    page.goto("/admin/users")
    page.get_by_role("link", name="Create a user").click()
    axe(page, "create user")
    page.get_by_label("Username").fill("bad name!")
    page.get_by_label("Full name").fill("Jo Bloggs")
    page.get_by_role("button", name="Save user").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Username must only include letters")
    expect(summary).to_contain_text("Select at least one role")
    expect(page.get_by_label("Full name")).to_have_value("Jo Bloggs")
    expect(page).to_have_title(re.compile(r"^Error: Create a user"))
    assert page.locator("body title").count() == 0
    axe(page, "create user with errors")

    page.get_by_label("Username").fill("jo.bloggs")
    page.get_by_label("CSC advisor").check()
    page.get_by_label("Password", exact=True).fill("a-long-enough-password")
    page.get_by_role("button", name="Save user").click()
    expect(page.get_by_text("User created")).to_be_visible()
    axe(page, "user page")

    page.get_by_role("button", name="Deactivate user").click()
    expect(page.locator(".govuk-tag", has_text="Deactivated")).to_be_visible()
    expect(page.get_by_role("button", name="Reactivate user")).to_be_visible()
    axe(page, "deactivated user")

    page.goto("/admin/audit")
    expect(page.locator("#audit-results")).to_contain_text("Deactivated user jo.bloggs")
    axe(page, "audit trail")


def test_keyboard_only_sign_in_and_create_user(page, axe):
    page.goto("/login")
    page.keyboard.press("Tab")  # skip link first
    expect(page.locator(".govuk-skip-link")).to_be_focused()
    page.locator("#username").focus()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type("correct-horse-battery")
    page.keyboard.press("Enter")
    page.wait_for_url("**/")

    page.goto("/admin/users/new")
    page.locator("#username").focus()
    page.keyboard.type("kb.user")
    page.keyboard.press("Tab")
    page.keyboard.type("Keyboard User")
    page.keyboard.press("Tab")
    page.keyboard.type("kb@example.org")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # first role: CSC advisor
    expect(page.get_by_label("CSC advisor")).to_be_checked()
    for _ in range(7):
        page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type("keyboard-only-password")
    page.keyboard.press("Enter")
    expect(page.get_by_text("User created")).to_be_visible()
    axe(page, "created by keyboard")


def test_expired_session_htmx_request_sends_whole_page_to_sign_in(page, live_app):
    """The idle limit passes while the page is open; the next htmx request takes the whole page to sign in."""
    import time

    sign_in(page, "admin")
    page.goto("/admin/users")
    live_app.config["SESSION_IDLE_MINUTES"] = 0  # any pause now counts as idle
    time.sleep(1.1)
    page.get_by_label("Role").select_option("advisor")
    page.wait_for_url(re.compile(r"/login\?expired=1"))
    expect(page.get_by_text("You were signed out because you were inactive")).to_be_visible()
    assert page.locator("#user-results").count() == 0  # a whole page, not a fragment swapped into the list


def test_no_gov_uk_branding_or_font(page):
    page.goto("/login")
    assert page.locator(".govuk-header__logotype, svg.govuk-header__logotype").count() == 0
    font = page.evaluate("() => getComputedStyle(document.body).fontFamily + getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "arial" in font.lower() and "transport" not in font.lower()
    expect(page.locator("header")).to_contain_text("Oxfordshire County Council")
    expect(page.locator("header")).to_contain_text("Parking Permits Desk")


def test_govuk_javascript_runs_under_the_csp(page):
    page.goto("/login")
    assert "govuk-frontend-supported" in page.evaluate("() => document.body.className")
    # The password component is enhanced by GOV.UK JavaScript with a show/hide button.
    expect(page.get_by_role("button", name=re.compile("Show", re.I))).to_be_visible()
