"""Printing in Chromium: preview a batch as the filters change, produce it, download its PDF,
reprint a permit with a reason (refused without one); axe on every page."""
from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from intranet.auth.models import User
from intranet.extensions import db
from tests.browser.conftest import sign_in


@pytest.fixture
def unprinted(live_app):
    """Two issued, unprinted resident permits in a zone of their own, made through casework."""
    from tests import casework_factories as cf
    from tests.permit_factories import issue_permit

    with live_app.app_context():
        advisor = db.session.scalar(select(User).where(User.username == "advisor"))
        zone = cf.zone("PJ", "Printing Journey", streets=("Printers Lane",))
        first = cf.customer(advisor, zone, name="Zoë Brontë", postcode="OX4 1AA", line1="1 Printers Lane")
        second = cf.customer(advisor, zone, name="Ann Ó Brien", postcode="OX4 1AB", line1="2 Printers Lane")
        numbers = [issue_permit(advisor, first, vrm="PJ12AAA").number, issue_permit(advisor, second, vrm="PJ12BBB").number]
        db.session.remove()
    return numbers


def test_produce_a_batch_download_it_and_reprint_a_permit(page, axe, unprinted, tmp_path):
    sign_in(page, "advisor")
    page.get_by_role("navigation", name="Areas").get_by_role("link", name="Printing").click()
    expect(page.get_by_role("heading", name="Printing", level=1)).to_be_visible()
    axe(page, "printing")

    page.get_by_role("link", name="Start a print batch").click()
    expect(page.get_by_role("heading", name="Start a print batch")).to_be_visible()
    axe(page, "new batch")
    page.evaluate("() => { window.__marker = 'same page'; }")
    page.get_by_label("Zone").select_option(label="PJ – Printing Journey")
    page.get_by_label("Resident only").check()
    preview = page.locator("#batch-preview")
    expect(preview).to_contain_text("2 permits")
    expect(preview).to_contain_text("2 envelopes to post")
    assert page.evaluate("() => window.__marker") == "same page"  # htmx swapped the preview only
    expect(page).to_have_url(re.compile(r"kind=resident"))
    axe(page, "batch preview")

    preview.get_by_role("button", name="Produce the batch and mark these printed").click()
    expect(page.get_by_text(re.compile(r"Batch PB-\d+ produced"))).to_be_visible()
    axe(page, "batch page")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download the batch PDF")).click()
    path = tmp_path / "batch.pdf"
    download_info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert unprinted[0] in text and unprinted[1] in text and "PJ12AAA" in text
    assert text.index("Zoë Brontë") < text.index("Ann Ó Brien")  # OX4 1AA before OX4 1AB

    page.get_by_role("link", name=f"Reprint permit {unprinted[0]}").click()
    expect(page.get_by_role("heading", name="Reprint the permit")).to_be_visible()
    axe(page, "reprint form")
    page.get_by_role("button", name="Reprint the permit").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason for the reprint")
    expect(page).to_have_title(re.compile(r"^Error: "))
    axe(page, "reprint form with error")
    page.get_by_label("Reason for the reprint").fill("Customer says it never arrived")
    page.get_by_role("button", name="Reprint the permit").click()
    expect(page.get_by_role("heading", name=f"Reprint of permit {unprinted[0]}")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Customer says it never arrived")
    axe(page, "reprint recorded")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the reprint PDF").click()
    reprint = tmp_path / "reprint.pdf"
    download_info.value.save_as(reprint)
    text = subprocess.run(["pdftotext", str(reprint), "-"], capture_output=True, text=True, check=True).stdout
    assert unprinted[0] in text

    page.get_by_role("link", name="Back to the batch").click()
    expect(page.get_by_role("table", name=re.compile("Reprints"))).to_contain_text("Customer says it never arrived")
    axe(page, "batch page with reprint")


def test_postage_ledger_and_stationery_pages_are_accessible(page, axe, live_app):
    from intranet.printing.demo import load_printing_demo

    with live_app.app_context():
        load_printing_demo()
        db.session.remove()
    sign_in(page, "team_leader")
    page.goto("/printing/postage?year=2015")
    expect(page.locator("#including-reminders")).to_have_text("£15,621.08")
    axe(page, "postage ledger")
    page.get_by_role("button", name="Add to the ledger").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose the month")
    axe(page, "postage ledger with errors")
    page.goto("/printing/stationery")
    expect(page.get_by_role("heading", name="Stationery and stock")).to_be_visible()
    axe(page, "stationery")
