"""The complaint log in Chromium, with axe after every page: an internal complaint logged,
acknowledged by letter, escalated twice, agreed and closed; then a public complaint through both
stages of the council's procedure with an extension."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def _log(page, axe, *, source: str, step: str, name: str, handler: str, email: str = ""):
    page.goto("/complaints/")
    page.get_by_role("link", name="Log a complaint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a complaint")
    axe(page, "log a complaint")
    page.get_by_role("button", name="Log the complaint").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the complainant's name")
    expect(page).to_have_title(re.compile(r"^Error: "))
    axe(page, "log a complaint, errors")
    page.get_by_label(source, exact=True).check()
    page.get_by_label("Complainant's name").fill(name)
    page.get_by_label("Email address (optional)").fill(email)
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("Category").select_option("service_delay")
    page.get_by_label(step).check()
    page.get_by_label("Summary of the complaint").fill("Permits for the whole street arrived three weeks late.")
    page.get_by_label("Handler (optional)").select_option(label=handler)
    page.get_by_role("button", name="Log the complaint").click()
    expect(page.get_by_text("Complaint logged")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    axe(page, "complaint page")


def _escalate(page, axe, handler: str, reason: str):
    page.get_by_role("link", name=re.compile(r"^Escalate: ")).click()
    axe(page, "escalate")
    page.get_by_label("Why is it escalated?").fill(reason)
    page.get_by_label("New handler").select_option(label=handler)
    page.get_by_role("button", name="Escalate").click()
    expect(page.get_by_text("Complaint escalated")).to_be_visible()
    axe(page, "after escalation")


def test_internal_complaint_acknowledged_escalated_twice_and_closed(page, axe):
    sign_in(page, "service_lead")
    page.get_by_role("link", name="Complaints").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Complaints")
    axe(page, "complaint log")
    _log(page, axe, source="Internal customer or end user", name="Pat Parking",
         step="Internal (SLA procedure): Formal complaint in writing to the CSC Service Lead (Operations)",
         handler="Sam Lead (CSC Service Lead (Operations))")
    expect(page.locator("#complaint-clocks")).to_contain_text("Complaint acknowledged")
    expect(page.locator("#complaint-clocks")).to_contain_text("Meeting to agree a resolution")

    page.get_by_role("link", name="Acknowledge the complaint").click()
    axe(page, "acknowledge")
    page.get_by_label("Letter (PDF to print and post)").check()
    page.get_by_role("button", name="Send and record the acknowledgement").click()
    expect(page.get_by_text("Acknowledgement recorded")).to_be_visible()
    expect(page.locator("#complaint-clocks")).to_contain_text("Met on time")
    letter = page.get_by_role("link", name="Acknowledgement letter (PDF)")
    pdf = page.request.get(letter.get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF-")
    axe(page, "acknowledged")

    _escalate(page, axe, "Morgan Manager (CSC Service Manager)", "Not satisfied with the remedy offered.")
    _escalate(page, axe, "Dee Director (Deputy Director (OCS))", "Asked for the Deputy Director.")
    expect(page.get_by_text("Escalated to the Deputy Director (OCS) (current)")).to_be_visible()

    page.get_by_role("link", name="Log the agreement and close").click()
    axe(page, "close")
    page.get_by_role("button", name="Close the complaint").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the outcome")
    axe(page, "close, errors")
    page.get_by_label("Partly upheld").check()
    page.get_by_label("Agreement (optional)").fill("Late permits reissued free; weekly check of the print queue.")
    page.get_by_label("Learning action (optional)").fill("Weekly print queue check")
    page.get_by_label("Letter (PDF to print and post)").check()
    page.get_by_role("button", name="Close the complaint").click()
    expect(page.get_by_text("Complaint closed")).to_be_visible()
    expect(page.locator("#complaint-timeline")).to_contain_text("Agreement logged")
    expect(page.get_by_role("link", name="Agreement letter (PDF)")).to_be_visible()
    axe(page, "closed")


def test_public_complaint_through_both_stages_with_an_extension(page, axe):
    sign_in(page, "service_lead")
    _log(page, axe, source="Member of the public", name="Ann Example", email="ann@example.org",
         step="Public (council procedure): Council formal complaints procedure, stage 1",
         handler="Sam Lead (CSC Service Lead (Operations))")
    expect(page.locator("#complaint-clocks")).to_contain_text("Starts when met: Stage 1 complaint acknowledged")

    page.get_by_role("link", name="Acknowledge the complaint").click()
    page.get_by_label("Email to the complainant").check()
    page.get_by_role("button", name="Send and record the acknowledgement").click()
    expect(page.get_by_text("Acknowledgement recorded")).to_be_visible()

    page.get_by_role("link", name="Extend a clock").click()
    axe(page, "extend")
    page.get_by_label("Length of the extension").fill("11")
    page.get_by_role("button", name="Extend the clock").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("from 1 to 10")
    axe(page, "extend, errors")
    page.get_by_label("Length of the extension").fill("5")
    page.get_by_label("Reason for the extension").fill("Waiting for the enforcement contractor's records.")
    page.get_by_role("button", name="Extend the clock").click()
    expect(page.get_by_text("Clock extended")).to_be_visible()
    expect(page.locator("#complaint-clocks")).to_contain_text("Extended by 5")

    page.get_by_role("link", name="Record: stage 1 response").click()
    axe(page, "respond")
    page.get_by_label("What was said or agreed").fill("We reissued the permits and refunded the fee.")
    page.get_by_role("button", name="Record the response").click()
    expect(page.get_by_text("Response recorded")).to_be_visible()

    # Stage 2 must go to someone else: the stage 1 handler is refused.
    page.get_by_role("link", name=re.compile(r"^Escalate: ")).click()
    page.get_by_label("Why is it escalated?").fill("The complainant asked for stage 2.")
    page.get_by_label("New handler").select_option(label="Sam Lead (CSC Service Lead (Operations))")
    page.get_by_role("button", name="Escalate").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("handled an earlier stage")
    axe(page, "escalate, errors")
    page.get_by_label("New handler").select_option(label="Morgan Manager (CSC Service Manager)")
    page.get_by_role("button", name="Escalate").click()
    expect(page.get_by_text("Complaint escalated")).to_be_visible()

    page.get_by_role("link", name="Acknowledge the complaint").click()
    page.get_by_label("Letter (PDF to print and post)").check()
    page.get_by_role("button", name="Send and record the acknowledgement").click()
    page.get_by_role("link", name="Record: stage 2 response").click()
    expect(page.get_by_text("This is the final stage")).to_be_visible()
    page.get_by_label("What was said or agreed").fill("Our final response.")
    page.get_by_label("Letter (PDF to print and post)").check()
    page.get_by_role("button", name="Record the response").click()
    expect(page.get_by_text("Response recorded")).to_be_visible()
    page.get_by_role("link", name="Log the agreement and close").click()
    page.get_by_label("Not upheld").check()
    page.get_by_role("button", name="Close the complaint").click()
    expect(page.get_by_text("Complaint closed")).to_be_visible()
    axe(page, "public complaint closed")

    page.goto("/complaints/report")
    expect(page.get_by_role("heading", level=1)).to_have_text("Complaints performance report")
    axe(page, "report")
