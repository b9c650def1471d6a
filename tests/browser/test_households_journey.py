"""Households and zones in Chromium: live customer search (URL updates, back works), the record,
a new household refused outside every zone, the zone lookup, and the zones admin pages; axe on each."""
from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from intranet.extensions import db
from tests.browser.conftest import sign_in


@pytest.fixture
def oxford(live_app):
    """The demo zones, plus one household, made in the live app's database before the browser starts."""
    from intranet.permits import households
    from intranet.permits.demo_households import load_household_demo
    from intranet.permits.models import Address

    with live_app.app_context():
        zones = load_household_demo(random.Random(7))
        jericho = next(z for z in zones if z.code == "JR")
        home = db.session.scalar(select(Address).where(Address.zone_id == jericho.id, Address.excluded.is_(False))
                                 .order_by(Address.id).limit(1))
        excluded = db.session.scalar(select(Address).where(Address.excluded.is_(True)).limit(1))
        customer = households.create_customer("test", name="Harriet Quill", address_line1=home.line1, town="Oxford",
                                              postcode=home.postcode, zone=jericho, address=home,
                                              email="harriet@example.org", preferred_channel="email")
        data = {"postcode": home.postcode, "street": home.street, "reference": customer.reference,
                "excluded_postcode": excluded.postcode, "excluded_line": excluded.line1}
        db.session.commit()
        db.session.remove()
    return data


def test_search_a_household_live_open_the_record_and_find_a_zone(page, axe, oxford):
    sign_in(page, "advisor")
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Households").click()
    expect(page.get_by_role("heading", name="Households", level=1)).to_be_visible()
    axe(page, "households search")

    page.evaluate("() => { window.__marker = 'same page'; }")
    page.get_by_label("Name, postcode, customer reference").press_sequentially("harriet q", delay=20)
    results = page.locator("#customer-results")
    expect(results).to_contain_text("Harriet Quill")
    expect(page).to_have_url(re.compile(r"/customers\?q=harriet(\+|%20)q"))
    assert page.evaluate("() => window.__marker") == "same page"
    axe(page, "households search results")

    results.get_by_role("link", name=re.compile(oxford["reference"])).click()
    expect(page.get_by_role("heading", name="Harriet Quill", level=1)).to_be_visible()
    expect(page.locator(".govuk-summary-list").first).to_contain_text("JR Jericho")
    expect(page.get_by_role("heading", name="Visitor permits this year")).to_be_visible()
    axe(page, "household record")

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=harriet(\+|%20)q"))
    expect(page.locator("#customer-results")).to_contain_text("Harriet Quill")

    page.goto("/")  # a secondary area: listed on the home page
    page.get_by_role("main").get_by_role("link", name="Find a zone", exact=True).click()
    axe(page, "zone lookup")
    page.get_by_label("Postcode").fill(oxford["postcode"])
    result = page.locator("#lookup-result")
    expect(result).to_contain_text("Zone JR Jericho")
    expect(page).to_have_url(re.compile(r"postcode="))
    axe(page, "zone lookup answer")
    page.get_by_label("Postcode").fill("")
    page.get_by_label("Street").fill("Acacia Avenue")
    expect(result).to_contain_text("Acacia Avenue is not in any controlled parking zone")
    axe(page, "zone lookup refusal")

    page.goto(f"/zones/lookup?postcode={oxford['excluded_postcode']}")
    page.locator("#lookup-result").get_by_role("link", name=re.compile(oxford["excluded_line"])).click()
    expect(page.locator("#lookup-result")).to_contain_text("is excluded from the permit scheme")


def test_add_a_household_refused_outside_every_zone_then_saved(page, axe, oxford):
    sign_in(page, "advisor")
    page.goto("/customers")
    page.get_by_role("link", name="Add a household").click()
    axe(page, "add a household")
    page.get_by_label("Full name").fill("Nadia Norm")
    page.get_by_label("Postcode").fill("OX1 1AA")
    page.get_by_label("Address line 1").fill("1 Nowhere Lane")
    page.get_by_role("button", name="Save household").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("OX1 1AA is not in any controlled parking zone")
    expect(page.get_by_label("Full name")).to_have_value("Nadia Norm")
    axe(page, "add a household with errors")

    page.get_by_label("Postcode").fill(oxford["postcode"])
    page.get_by_role("button", name="Find addresses").click()
    picker = page.get_by_label("Address from the gazetteer")
    expect(picker).to_be_visible()
    expect(page.locator("#zone-preview")).to_contain_text("Zone JR")
    axe(page, "add a household with gazetteer addresses")
    picker.select_option(index=2)
    page.get_by_role("button", name="Save household").click()
    expect(page.get_by_text("Household added")).to_be_visible()
    expect(page.get_by_role("heading", name="Nadia Norm", level=1)).to_be_visible()
    expect(page.locator(".govuk-summary-list").first).to_contain_text("JR Jericho")


def test_zones_admin_pages(page, axe, oxford):
    sign_in(page, "service_manager")
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Zones").click()
    expect(page.get_by_role("link", name="JR Jericho")).to_be_visible()
    axe(page, "zones")
    page.get_by_role("link", name="JR Jericho").click()
    axe(page, "zone page")
    page.get_by_label("Street name").fill("Walton Street")
    page.get_by_role("button", name="Add street").click()
    expect(page.locator("#street-form .govuk-error-summary")).to_contain_text("already an eligible street of this zone")
    axe(page, "zone page with street error")
    page.get_by_label("Postcode or street").fill(oxford["postcode"])
    expect(page).to_have_url(re.compile(r"q="))
    addresses = page.locator("#zone-addresses")
    addresses.get_by_role("link").first.click()
    expect(page.get_by_role("button", name="Exclude from the scheme")).to_be_visible()
    axe(page, "address page")
    page.goto("/addresses/import")
    axe(page, "gazetteer import")
    page.get_by_role("button", name="Import addresses").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a CSV file")
    axe(page, "gazetteer import with error")
