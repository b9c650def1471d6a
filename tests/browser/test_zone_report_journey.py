"""The permits-by-zone report in Chromium: open a day's report, download its CSV, open the send log
and send a missing day; axe after every step."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from intranet.extensions import db
from intranet.reports import services
from intranet.reports.demo import load_zone_report_demo
from intranet.reports.models import ZoneReportDay
from intranet.timefmt import format_date
from tests.browser.conftest import sign_in
from tests.permit_factories import make_customer, make_zone
from tests.smtp import SmtpServer
from tests.web.test_zone_report import at, permit


def test_open_a_day_download_the_csv_and_send_a_missing_day(page, axe, live_app, tmp_path):
    mail = SmtpServer()
    mail.start()
    live_app.config.update(MAIL_SERVER=mail.host, MAIL_PORT=mail.port, MAIL_USE_TLS=False, MAIL_USE_SSL=False,
                           MAIL_USERNAME="", MAIL_PASSWORD="")
    try:
        with live_app.app_context():
            load_zone_report_demo()
            day = services.previous_working_day(services.london_today())
            # The day to send is missing from the log, and has a permit of our own to find in the CSV.
            row = db.session.scalar(db.select(ZoneReportDay).where(ZoneReportDay.report_date == day))
            if row is not None:
                for send in row.sends:
                    db.session.delete(send)
                db.session.delete(row)
            from intranet.auth.models import User

            admin = db.session.scalar(db.select(User).where(User.username == "admin"))
            zone = make_zone("ZBR", "Browser test zone")
            permit(zone, make_customer(admin, zone), issued=at(day, 11), vrm="BR17OWS", number="BROWSER1")
            db.session.commit()
            db.session.remove()
        label = f"{day:%A} {format_date(day)}"

        sign_in(page, "team_leader")
        page.get_by_role("link", name="Permits by zone").first.click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        axe(page, "zone report (default day)")

        page.get_by_label("Day", exact=True).fill(str(day.day))
        page.get_by_label("Month", exact=True).fill(str(day.month))
        page.get_by_label("Year", exact=True).fill(str(day.year))
        page.get_by_role("button", name="Show the report").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(label)
        expect(page).to_have_url(f"{page.url.split('/reports')[0]}/reports/zone-report/{day.isoformat()}")
        expect(page.locator("#changes-table")).to_contain_text("BR17OWS")
        axe(page, "zone report for a chosen day")

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download the permit changes as CSV").click()
        download = download_info.value
        assert download.suggested_filename == f"permits-by-zone-{day.isoformat()}.csv"
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        lines = target.read_text().splitlines()
        assert lines[0] == "permit_number,vrm,zone,valid_from,valid_to,action"
        assert f"BROWSER1,BR17OWS,ZBR,{day.isoformat()},{(day + timedelta(days=364)).isoformat()},issued" in lines

        page.get_by_role("link", name="Send log").click()
        if day.month != services.london_today().month:
            page.get_by_role("link", name="Previous month").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"{day:%B %Y}")
        axe(page, "send log")
        log_row = page.locator(f"#day-{day.isoformat()}")
        expect(log_row).to_contain_text("Missing")
        log_row.get_by_role("button", name="Send now").click()
        expect(page.get_by_text(f"Report for {label} sent")).to_be_visible()
        expect(page.locator(f"#day-{day.isoformat()}")).to_contain_text("Sent")
        expect(page.locator(f"#day-{day.isoformat()}")).not_to_contain_text("Missing")
        axe(page, "send log after sending")
        assert len(mail.messages) == 1
        assert [a.get_filename() for a in mail.messages[0].message.iter_attachments()] == \
            [f"permits-by-zone-{day.isoformat()}.csv"]
    finally:
        mail.stop()
