"""The daily permits-by-zone report: counts against hand-built permits, the change from the previous
working day across the Easter bank holiday weekend, the CSV, the email through a real SMTP server,
sent once a day however often cron runs, resends with a reason, and the send log and KPI.

Dates are in April 2017: Good Friday is 14 April and Easter Monday 17 April, so the working day
before Tuesday 18 April is Thursday 13 April, and Tuesday's report covers Friday to Tuesday.
"""
from __future__ import annotations

import csv
import io
import itertools
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from intranet.audit import AuditEntry
from intranet.extensions import db
from intranet.mail import OutboxMessage
from intranet.permits import after_issue
from intranet.permits.models import Permit
from intranet.reports import services
from intranet.reports.demo import load_zone_report_demo
from intranet.reports.models import ZoneReportDay, ZoneReportSend
from intranet.reports.sending import record_demo_send, send_zone_report
from intranet.service_rules import rules_in_force
from intranet.timefmt import LONDON
from tests.permit_factories import make_customer, make_zone
from tests.smtp import smtp_server  # noqa: F401
from tests.support import hx_get, post_form

THU = date(2017, 4, 13)
GOOD_FRIDAY = date(2017, 4, 14)
EASTER_MONDAY = date(2017, 4, 17)
TUE = date(2017, 4, 18)
_numbers = itertools.count(1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def staff(make_user):
    return make_user("advisor", username="issuer")


def permit(zone, customer, *, kind="resident", renewal=False, issued: datetime, vrm="AB12CDE", replaces=None,
           number=None) -> Permit:
    """A permit row with an explicit issue time (as a data load would write it)."""
    p = Permit(number=number or f"T{next(_numbers):06d}", kind=kind, is_renewal=renewal, zone_id=zone.id,
               vrm=vrm if kind == "resident" else "", customer_id=customer.id, valid_from=issued.date(),
               valid_to=issued.date() + timedelta(days=364), issued_at=issued.astimezone(timezone.utc),
               status="active", replaces_id=replaces)
    db.session.add(p)
    db.session.flush()
    return p


@pytest.fixture
def easter(staff):
    """Zone A and B with issues on Thursday 13 and over Easter to Tuesday 18 April 2017; zone C's permits
    end on Tuesday for each reason enforcement acts on."""
    a, b, c = make_zone("A", "Central"), make_zone("B", "North"), make_zone("C", "South")
    ca, cb, cc = make_customer(staff, a), make_customer(staff, b), make_customer(staff, c)
    # Thursday 13 April (previous working day): A 2 resident new + 1 visitor renewal = 3; B 4 resident new.
    for hour in (9, 15):
        permit(a, ca, issued=at(THU, hour))
    permit(a, ca, kind="visitor", renewal=True, issued=at(THU, 11))
    for hour in (9, 10, 11, 12):
        permit(b, cb, issued=at(THU, hour))
    # Wednesday 12th belongs to Wednesday's report, not Thursday's.
    permit(a, ca, issued=at(date(2017, 4, 12), 16))
    # Tuesday 18th's report covers Friday 14th to Tuesday 18th.
    permit(a, ca, issued=at(GOOD_FRIDAY, 10))                        # resident new (bank holiday)
    permit(a, ca, issued=at(date(2017, 4, 15), 12))                  # resident new (Saturday)
    permit(a, ca, issued=at(TUE, 9))                                 # resident new
    permit(a, ca, renewal=True, issued=at(TUE, 10))                  # resident renewal
    permit(a, ca, kind="visitor", issued=at(TUE, 10, 30))            # visitor new
    permit(a, ca, kind="visitor", issued=at(TUE, 23, 30))            # visitor new, late evening (22:30 UTC)
    permit(a, ca, issued=at(date(2017, 4, 19), 0, 10))               # Wednesday just after midnight: not Tuesday's
    permit(b, cb, kind="visitor", renewal=True, issued=at(EASTER_MONDAY, 14))  # visitor renewal
    # Zone C: permits from March that end on Tuesday, through the real services where they exist.
    old = {name: permit(c, cc, issued=at(date(2017, 3, 1), 10), vrm=vrm, number=name)
           for name, vrm in (("C-CANCEL", "CA11NCL"), ("C-VEHICLE", "VE11HCL"), ("C-LOST", "LO11STN"),
                             ("C-REFUND", "RE11FND"), ("C-EXPIRE", "EX11PRD"))}
    db.session.commit()
    after_issue.cancel(staff, old["C-CANCEL"], reason="Moved away", now=at(TUE, 11))
    after_issue.change_vehicle(staff, old["C-VEHICLE"], "NE17CAR", now=at(TUE, 12))
    after_issue.replace_lost_stolen(staff, old["C-LOST"], what="stolen", payment_reference="PAY-9", now=at(TUE, 13))
    refund = old["C-REFUND"]
    refund.status, refund.end_reason, refund.ended_at = "refunded", "refunded", at(TUE, 14).astimezone(timezone.utc)
    expired = old["C-EXPIRE"]  # an end reason enforcement is not told about
    expired.status, expired.end_reason, expired.ended_at = "expired", "expired", at(TUE, 15).astimezone(timezone.utc)
    db.session.commit()
    return {"A": a, "B": b, "C": c}


def _row(report, code):
    return next(r for r in report.rows if r.code == code)


# ---------------------------------------------------------------- what the report counts

def test_counts_by_zone_kind_and_type_with_change_from_the_previous_working_day(easter):
    report = services.build_report(TUE)
    assert report.previous_day == THU
    assert (report.first_day, report.day) == (GOOD_FRIDAY, TUE)
    a, b, c = _row(report, "A"), _row(report, "B"), _row(report, "C")
    assert a.counts == {("resident", "new"): 3, ("resident", "renewal"): 1, ("visitor", "new"): 2}
    assert (a.total, a.previous_total, a.change) == (6, 3, 3)
    assert b.counts == {("visitor", "renewal"): 1}
    assert (b.total, b.previous_total, b.change) == (1, 4, -3)
    assert c.counts == {} and c.replacements == 2  # change of vehicle and stolen replacement
    assert (c.total, c.previous_total) == (2, 0)
    assert report.column_totals == {("resident", "new"): 3, ("resident", "renewal"): 1,
                                    ("visitor", "new"): 2, ("visitor", "renewal"): 1}
    assert (report.total, report.previous_total, report.change) == (9, 7, 2)


def test_previous_working_days_report_has_its_own_figures(easter):
    report = services.build_report(THU)
    assert report.previous_day == date(2017, 4, 12)
    assert (_row(report, "A").total, _row(report, "B").total, report.total) == (3, 4, 7)
    assert _row(report, "A").previous_total == 1


def test_permit_changes_list_issues_and_the_permits_to_stop_honouring(easter):
    report = services.build_report(TUE)
    ended = {(c.permit_number, c.action) for c in report.ended}
    assert ended == {("C-CANCEL", "cancelled"), ("C-VEHICLE", "replaced"), ("C-LOST", "lost_stolen"),
                     ("C-REFUND", "refunded")}
    actions = [c.action for c in report.changes]
    assert actions.count("issued") == 7 and actions.count("replacement_issued") == 2
    assert "C-EXPIRE" not in {c.permit_number for c in report.changes}
    vehicle = next(c for c in report.changes if c.action == "replacement_issued" and c.vrm == "NE17CAR")
    assert vehicle.zone == "C"


def test_a_non_working_day_has_no_report_of_its_own(easter):
    with pytest.raises(services.ReportDateError, match="Easter Monday"):
        services.build_report(EASTER_MONDAY)


def test_report_is_due_at_ten_on_the_next_working_day_from_the_rules(app):
    rules = rules_in_force(THU)
    assert rules.zone_report.due_working_days_after == 1
    assert services.due_at(THU) == at(TUE, rules.zone_report.due_time.hour, rules.zone_report.due_time.minute)
    assert services.due_at(TUE) == at(date(2017, 4, 19), 10)


def test_default_date_is_today_after_close_else_the_last_working_day(app):
    assert services.default_report_date(at(TUE, 17, 30)) == TUE
    assert services.default_report_date(at(TUE, 16, 59)) == THU
    assert services.default_report_date(at(EASTER_MONDAY, 18)) == THU
    assert services.default_report_date(at(date(2017, 4, 19), 7)) == TUE


# ---------------------------------------------------------------- the page and the CSV

def test_page_shows_the_table_and_the_changes(client, login, easter):
    login("parking_team")
    response = client.get("/reports/zone-report/2017-04-18")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Tuesday 18 April 2017" in html
    assert "Covers 14 April 2017 to 18 April 2017" in html
    assert 'id="total-issued">9<' in html and 'id="total-change">+2<' in html
    assert "Thursday 13 April 2017" in html
    assert "Stop honouring: lost or stolen" in html
    assert "19 April 2017 at 10:00am" in html  # due


def test_day_form_is_an_htmx_fragment_and_errors_name_the_field(client, login, easter):
    login("advisor")
    response = hx_get(client, "/reports/zone-report?report_day=13&report_day=4&report_day=2017")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="zone-report">') and "<html" not in html
    assert response.headers["HX-Push-Url"] == "/reports/zone-report/2017-04-13"
    bad = hx_get(client, "/reports/zone-report?report_day=31&report_day=2&report_day=2017")
    assert bad.status_code == 200 and "Report day must be a real date" in bad.get_data(as_text=True)
    holiday = client.get("/reports/zone-report/2017-04-17").get_data(as_text=True)
    assert "not a working day (Easter Monday)" in holiday and "<title>Error: " in holiday
    assert client.get("/reports/zone-report/2017-13-45").status_code == 404


def test_csv_has_exactly_the_agreed_columns(client, login, easter):
    login("director")
    response = client.get("/reports/zone-report/2017-04-18/csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="permits-by-zone-2017-04-18.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["permit_number", "vrm", "zone", "valid_from", "valid_to", "action"]
    assert len(rows) == 1 + 13
    by_number = {r[0]: r for r in rows[1:] if r[5] != "issued" or r[0].startswith("C-")}
    assert by_number["C-CANCEL"] == ["C-CANCEL", "CA11NCL", "C", "2017-03-01", "2018-02-28", "cancelled"]
    assert by_number["C-REFUND"][5] == "refunded"
    assert by_number["C-VEHICLE"][5] == "replaced" and by_number["C-LOST"][5] == "lost_stolen"
    visitor = next(r for r in rows[1:] if r[2] == "A" and r[1] == "")
    assert visitor[5] == "issued"


def test_csv_cells_cannot_become_spreadsheet_formulas(staff):
    zone = make_zone("=SUM(1)", "Odd")
    permit(zone, make_customer(staff, zone), issued=at(TUE, 9))
    db.session.commit()
    text = services.report_csv(services.build_report(TUE)).decode()
    assert ",'=SUM(1)," in text


# ---------------------------------------------------------------- sending from cron

def _send(runner, *args):
    db.session.rollback()  # the test holds no lock while the command writes
    return runner.invoke(args=["zone-report", "send", *args])


def test_cron_sends_once_a_day_however_often_it_runs(runner, smtp_server, easter):
    results = [_send(runner, "--date", "2017-04-18") for _ in range(3)]
    assert [r.exit_code for r in results] == [0, 0, 0]
    assert "Sent: the report for Tuesday 18 April 2017 to Parking inbox" in results[0].output
    for again in results[1:]:
        assert "already sent on" in again.output and "nothing was sent" in again.output
        assert "parking@oxfordshire.gov.uk" in again.output
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    recipients = [r.email for r in rules_in_force(TUE).zone_report.recipients]
    assert sorted(received.rcpt_tos) == sorted(recipients) and len(recipients) == 2
    message = received.message
    assert message["Subject"] == "Permits issued by zone: Tuesday 18 April 2017"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "All zones | 3 | 1 | 2 | 1 | 2 | 9 | 7 | +2" in body
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["permits-by-zone-2017-04-18.csv"]
    assert attachments[0].get_content_type() == "text/csv"
    content = attachments[0].get_content()
    content = content.decode() if isinstance(content, bytes) else content
    assert content.splitlines()[0] == "permit_number,vrm,zone,valid_from,valid_to,action"
    assert db.session.scalar(select(func.count()).select_from(ZoneReportDay)) == 1
    assert db.session.scalar(select(func.count()).select_from(ZoneReportSend)) == 1


def test_resend_needs_a_reason_and_records_it(runner, smtp_server, easter):
    assert _send(runner, "--date", "2017-04-18").exit_code == 0
    no_reason = _send(runner, "--date", "2017-04-18", "--resend")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    again = _send(runner, "--date", "2017-04-18", "--resend", "--reason", "NSL lost the email")
    assert again.exit_code == 0 and "Sent again" in again.output
    assert len(smtp_server.messages) == 2
    assert smtp_server.messages[1].message["Subject"].endswith("(sent again)")
    assert "NSL lost the email" in smtp_server.messages[1].message.get_body(("plain",)).get_content()
    db.session.rollback()
    day = db.session.scalar(select(ZoneReportDay))
    assert day.send_count == 2
    assert [(s.kind, s.reason) for s in day.sends] == [("first", ""), ("resend", "NSL lost the email")]
    assert day.first_sent_at == day.sends[0].sent_at  # a resend never changes when it first went
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "zone_report_day")).all()
    assert actions == ["zone_report_sent", "zone_report_resent"]


@pytest.mark.parametrize("args, code, words", [
    (["--date", "2017-04-17"], 1, "not a working day (Easter Monday)"),
    (["--date", "2017-04-15"], 1, "not a working day"),
    (["--date", "2099-01-05"], 1, "in the future"),
    (["--date", "18/04/2017"], 2, "YYYY-MM-DD"),
    (["--date", "2017-02-30"], 2, "YYYY-MM-DD"),
    (["--reason", "why"], 2, "only used with --resend"),
])
def test_cron_refuses_days_it_cannot_report(runner, smtp_server, args, code, words):
    result = _send(runner, *args)
    assert result.exit_code == code, result.output
    assert words in result.output
    assert smtp_server.messages == []
    assert db.session.scalar(select(func.count()).select_from(ZoneReportDay)) == 0


def test_mail_server_down_keeps_the_send_and_the_email_for_the_flush(runner, smtp_server, easter):
    smtp_server.stop()
    result = _send(runner, "--date", "2017-04-18")
    assert result.exit_code == 0 and "has not accepted it yet" in result.output
    assert _send(runner, "--date", "2017-04-18").output.count("already sent") == 1
    smtp_server.start()
    db.session.rollback()
    db.session.execute(OutboxMessage.__table__.update().values(next_attempt_at=datetime(2000, 1, 1, tzinfo=timezone.utc)))
    db.session.commit()
    assert runner.invoke(args=["outbox", "flush"]).exit_code == 0
    assert len(smtp_server.messages) == 1


def test_several_servers_at_once_send_one_email(app, smtp_server, easter):
    db.session.rollback()
    outcomes, errors = [], []

    def run():
        try:
            with app.app_context():
                outcome = send_zone_report("cron", TUE)
                db.session.commit()
                outcomes.append(outcome.status)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(outcomes) == ["already_sent"] * 3 + ["sent"]
    assert len(smtp_server.messages) == 1


# ---------------------------------------------------------------- the send log and the KPI

APRIL_NOW = at(date(2017, 4, 26), 12)  # Wednesday 26 April 2017, midday


@pytest.fixture
def april_log(app):
    """Every working day of April to the 25th sent on time except: the 12th late, the 20th missing."""
    day = date(2017, 4, 3)
    while day <= date(2017, 4, 25):
        if services.calendar_on(day).is_working_day(day) and day != date(2017, 4, 20):
            sent_at = services.due_at(day) + timedelta(hours=2) if day == date(2017, 4, 12) \
                else at(day, 17, 40)
            record_demo_send(day, sent_at.astimezone(timezone.utc))
        day += timedelta(days=1)
    db.session.commit()


def test_kpi_counts_working_days_sent_by_the_deadline(april_log):
    days = services.zone_report_days(date(2017, 4, 1), date(2017, 4, 30), now=APRIL_NOW)
    assert len(days) == 18  # April 2017: 20 weekdays less Good Friday and Easter Monday
    by_day = {d.day: d for d in days}
    assert by_day[date(2017, 4, 12)].on_time is False and by_day[date(2017, 4, 12)].sent_at is not None
    assert by_day[date(2017, 4, 20)].on_time is False and by_day[date(2017, 4, 20)].sent_at is None
    assert by_day[date(2017, 4, 26)].on_time is None  # not sent and not yet due
    assert by_day[date(2017, 4, 3)].on_time is True
    # Working days up to yesterday: 3-7, 10-13, 18-21, 24-25 April = 15; on time: less the late 12th
    # and the missing 20th.
    assert services.zone_report_kpi(2017, 4, now=APRIL_NOW) == (13, 15)
    assert services.zone_report_kpi(2017, 3, now=APRIL_NOW) == (0, 23)
    assert services.zone_report_kpi(2017, 5, now=APRIL_NOW) == (0, 0)


def test_send_log_flags_missing_and_late_days(client, login, april_log):
    login("parking_team")
    html = client.get("/reports/zone-report/send-log?month=2017-04").get_data(as_text=True)
    import re

    def row(day):
        match = re.search(rf'<tr class="govuk-table__row" id="day-{day}">(.*?)</tr>', html, re.S)
        assert match, day
        return match.group(1)

    assert "Missing" in row("2017-04-20")
    assert "Sent late" in row("2017-04-12")
    assert "Sent on time" in row("2017-04-13") and "5:40pm" in row("2017-04-13")
    assert "day-2017-04-17" not in html  # Easter Monday is not a working day
    assert "Send now" not in html  # parking team may look, not send
    bad = client.get("/reports/zone-report/send-log?month=April")
    assert bad.status_code == 200 and "month: enter the month as YYYY-MM" in bad.get_data(as_text=True)


def test_team_leader_sends_a_missing_day_from_the_log(client, login, smtp_server, easter):
    login("team_leader")
    html = client.get("/reports/zone-report/send-log?month=2017-04").get_data(as_text=True)
    assert "Send now<span class=\"govuk-visually-hidden\"> the report for 18 April 2017" in html
    response = post_form(client, "/reports/zone-report/send-log/2017-04-18/send")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/reports/zone-report/send-log?month=2017-04&sent=2017-04-18")
    assert len(smtp_server.messages) == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Report for Tuesday 18 April 2017 sent" in page
    assert "Sent late" in page  # sent years after its deadline
    again = post_form(client, "/reports/zone-report/send-log/2017-04-18/send")
    assert again.status_code == 200 and "already sent" in again.get_data(as_text=True)
    holiday = post_form(client, "/reports/zone-report/send-log/2017-04-17/send")
    assert holiday.status_code == 200 and "not a working day" in holiday.get_data(as_text=True)
    assert len(smtp_server.messages) == 1
    send = db.session.scalar(select(ZoneReportSend))
    assert send.via == "web" and send.actor_name.startswith("team-leader")


def test_advisor_may_read_but_not_send(client, login):
    login("advisor")
    assert client.get("/reports/zone-report/send-log").status_code == 200
    assert post_form(client, "/reports/zone-report/send-log/2017-04-18/send").status_code == 403


def test_demo_marks_sixty_working_days_without_queuing_email(app):
    now = at(date(2017, 6, 30), 12)
    lines = load_zone_report_demo(now)
    assert lines == ["Permits-by-zone report: send log for 59 working days (2 late, 1 missing)"]
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    first, last = date(2017, 1, 1), date(2017, 6, 29)
    days = [d for d in services.zone_report_days(first, last, now=now) if d.sent_at is not None]
    assert len(days) == 59
    assert sum(1 for d in days if d.on_time is False) == 2
    assert load_zone_report_demo(now) == []  # idempotent


@pytest.mark.parametrize("url, status, words", [
    ("/reports/zone-report/0001-01-01", 404, ""),
    ("/reports/zone-report/2017-04-18x/csv", 404, ""),
    ("/reports/zone-report/2017-04-15/csv", 404, ""),
    ("/reports/zone-report?report_day=1&report_day=1&report_day=1899", 200, "Report day: the year must be between"),
    ("/reports/zone-report?report_day=1&report_day=1", 200, "Report day must include a year"),
    ("/reports/zone-report?report_day=2&report_day=1&report_day=2099", 200, "is in the future"),
    ("/reports/zone-report/send-log?month=0001-01", 200, "month: the year must be between"),
    ("/reports/zone-report/send-log?month=2017-13", 200, "month: enter the month as YYYY-MM"),
])
def test_bad_days_and_months_are_named_not_crashes(client, login, url, status, words):
    login("service_lead")
    response = client.get(url)
    assert response.status_code == status
    assert words in response.get_data(as_text=True)
