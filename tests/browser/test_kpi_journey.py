"""KPIs in Chromium: import a telephony CSV, open the KPI tables for that month (htmx month chooser,
bookmarkable), drill into a figure, produce the month's pack and see it marked on time; axe on every page.

The current month is used: its pack is due in the next month, so producing it now is always on time."""
from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from intranet.kpi.engine import Month
from intranet.timefmt import LONDON, utcnow
from tests.browser.conftest import sign_in


def test_import_tables_drill_down_and_pack(page, axe, tmp_path):
    month = Month.of(utcnow().astimezone(LONDON).date())
    lines = ["interval_start,offered,answered,abandoned,queue"]
    for day in range(1, 8):
        lines.append(f"{date(month.year, month.month, day).isoformat()}T10:00,20,19,1,browser")
        lines.append(f"{date(month.year, month.month, day).isoformat()}T18:00,4,2,2,browser")
    csv_file = tmp_path / "calls.csv"
    csv_file.write_text("\n".join(lines) + "\n")

    sign_in(page, "service_lead")
    page.goto("/kpi/calls/import")
    axe(page, "calls import")
    page.get_by_role("button", name="Import call statistics").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a CSV file")
    axe(page, "calls import error")
    page.get_by_label("Telephony statistics (CSV)").set_input_files(str(csv_file))
    page.get_by_role("button", name="Import call statistics").click()
    expect(page.get_by_text("14 intervals imported from calls.csv")).to_be_visible()
    expect(page.locator("#import-summary")).to_contain_text("outside service hours or on non-working days")
    axe(page, "calls imported")

    page.goto("/kpi/")
    axe(page, "KPI tables")
    page.evaluate("() => { window.__marker = 'same page'; }")
    page.get_by_label("Month").select_option(month.key)
    expect(page.locator("#kpi-month h2").first).to_have_text(month.label)
    expect(page).to_have_url(re.compile(rf"/kpi/\?month={month.key}$"))
    assert page.evaluate("() => window.__marker") == "same page"  # swapped, not reloaded
    table = page.locator("#kpi-table")
    expect(table).to_contain_text("Answered calls")
    expect(table.locator(".govuk-tag").first).to_have_text(re.compile("Met|Near target|Missed|No data"))
    expect(page.locator("img.app-kpi-chart").first).to_have_attribute("alt", re.compile("Trend of"))
    axe(page, "KPI tables for the month")

    table.get_by_role("link", name=re.compile("the items behind Answered calls")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Answered calls")
    expect(page.locator("#figure-items")).to_contain_text("No: outside service hours")
    axe(page, "drill-down")

    page.goto(f"/kpi/packs/{month.key}")
    axe(page, "pack page")
    page.get_by_label("Issues impacting on service provision").fill("None this month")
    page.get_by_role("button", name="Save commentary").click()
    expect(page.get_by_text("Commentary saved")).to_be_visible()
    page.get_by_role("button", name="Produce the pack").click()
    expect(page.locator("#pack-status")).to_contain_text("Produced on time")
    expect(page.get_by_role("link", name="Download the pack (PDF)")).to_be_visible()
    axe(page, "pack produced")
