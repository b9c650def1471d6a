"""The staffing model: the SLA's printed table figure by figure (the pure model and the page), the
rounding that reproduces it, the what-if (htmx, shareable URL, errors naming the row), the CSV, the
live model against hand-built records, the KPI pack's table, and the forward look of agreed changes."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest

from intranet.contacts import enquiries
from intranet.extensions import db
from intranet.permits import casework, refunds
from intranet.sla import load_rules, rules_from_mapping
from intranet.staffing import live
from intranet.staffing.model import hms, sla_table
from intranet.timefmt import LONDON
from tests.permit_factories import issue_permit, make_application, make_customer, make_zone
from tests.support import HX, hx_get

# The SLA's "Staffing breakdown", exactly as printed: type, total issued, working days, avg. per day,
# handling time, daily, weekly, FTE.
SLA_ROWS = [
    ("Residents permits", "11238", "253", "44", "00:06:00", "04:26:31", "22:12:34", "0.8"),
    ("Visitors permits", "18512", "253", "73", "00:04:00", "04:52:41", "24:23:24", "0.9"),
    ("Post", "", "", "41", "00:01:00", "00:41:00", "3:25:00", "0.1"),
    ("Phone calls", "1996", "110", "78", "00:03:00", "03:54:00", "19:30:00", "0.7"),
    ("Emails", "", "", "30", "00:03:30", "01:45:00", "8:45:00", "0.3"),
    ("Refunds", "", "", "1", "00:05:00", "00:05:00", "0:25:00", "0.0"),
]
SLA_SUM = ("15:44:12", "78:40:58", "2.8")


def _rules_with(**staffing_changes):
    import yaml

    from intranet.sla.rules import DEFAULT_PATH

    doc = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    doc["staffing"].update(staffing_changes)
    return rules_from_mapping(doc)


def _printed(table):
    return [(r.title, r.total_text, str(r.days_shown or ""), r.per_day_text, r.handling_text, r.daily_text,
             r.weekly_text, r.fte_text) for r in table.rows]


def test_the_model_reproduces_every_figure_the_sla_prints():
    rules = load_rules()
    table = sla_table(rules.staffing, len(rules.calendar.working_weekdays))
    assert _printed(table) == SLA_ROWS
    assert (table.daily_text, table.weekly_text, table.fte_text) == SLA_SUM
    assert table.funded_text == "3.0"
    assert table.verdict == "The work needs 2.8 FTE of the 3.0 FTE funded: 0.2 FTE to spare"


def test_per_year_rows_are_unrounded_and_weekly_is_five_working_days():
    rules = load_rules()
    table = sla_table(rules.staffing, len(rules.calendar.working_weekdays))
    residents, visitors = table.rows[0], table.rows[1]
    assert residents.per_day == pytest.approx(44.4190, abs=1e-4)
    assert visitors.per_day == pytest.approx(73.1700, abs=1e-4)
    for row in table.rows:
        assert row.weekly_seconds == pytest.approx(row.daily_seconds * 5)


def test_times_round_to_the_nearest_second_as_the_sla_does_not_truncate():
    # Residents: 15,990.83 s; truncating would print 04:26:30, the SLA prints 04:26:31.
    assert hms(15990.83) == "04:26:31"
    assert hms(15990.49) == "04:26:30"
    assert hms(56651.62) == "15:44:12"
    assert hms(12300, pad_hours=False) == "3:25:00"
    assert hms(0.5) == "00:00:01"  # half up, not to even


@pytest.mark.parametrize("hours", [27.61, 27.75, 28.0, 28.61])
def test_the_fte_column_holds_for_productive_hours_from_27_61_to_28_61(hours):
    rules = _rules_with(productive_hours_per_fte_week=hours)
    table = sla_table(rules.staffing, 5)
    assert [r.fte_text for r in table.rows] == [row[7] for row in SLA_ROWS]
    assert table.fte_text == "2.8"


@pytest.mark.parametrize("hours, total", [(27.60, "2.9"), (28.62, "2.7")])
def test_just_outside_that_range_the_fte_column_differs(hours, total):
    table = sla_table(_rules_with(productive_hours_per_fte_week=hours).staffing, 5)
    assert table.fte_text == total


def test_the_productive_hours_are_listed_as_an_assumption():
    rules = load_rules()
    assert "staffing.productive_hours_per_fte_week" in {a.path for a in rules.assumptions}


def _row_cells(html: str, row_id: str) -> list[str]:
    match = re.search(rf'<tr[^>]*id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


CODES = ["residents_permits", "visitors_permits", "post", "phone_calls", "emails", "refunds"]


def test_the_page_prints_the_sla_table_row_by_row(client, login):
    login("team_leader")
    response = client.get("/staffing/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for code, expected in zip(CODES, SLA_ROWS):
        assert tuple(_row_cells(html, f"sla-table-{code}")[:8]) == expected
    assert _row_cells(html, "sla-table-sum")[1:4] == list(SLA_SUM)
    phone = _row_cells(html, "sla-table-phone_calls")
    assert "1,996 over 110 working days is 18.1 a day, not 78" in phone[-1]
    assert "0.2 FTE to spare" in html
    assert "27.61 to 28.61" in html


def test_what_if_by_htmx_moves_the_hours_and_fte(client, login):
    login("service_manager")
    response = hx_get(client, "/staffing/?residents_permits-minutes=7")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="what-if">')  # the fragment only
    assert "<html" not in html
    assert _row_cells(html, "what-if-table-residents_permits")[4:8] == ["00:07:00", "05:10:56", "25:54:40", "0.9"]
    assert _row_cells(html, "what-if-table-sum")[1:4] == ["16:28:37", "82:23:04", "3.0"]
    assert "exactly the 3.0 FTE funded" in html
    assert 'value="7"' in html
    # The CSV link carries the what-if.
    assert "/staffing/staffing.csv?residents_permits-minutes=7" in html
    assert "HX-Request" in response.headers["Vary"]


def test_what_if_without_javascript_is_the_whole_page_and_keeps_the_sla_table(client, login):
    login("director")
    html = client.get("/staffing/?post-volume=82&productive-hours=30").get_data(as_text=True)
    assert "<html" in html
    assert _row_cells(html, "sla-table-post")[5:8] == ["00:41:00", "3:25:00", "0.1"]
    assert _row_cells(html, "what-if-table-post")[3:8] == ["82", "00:01:00", "01:22:00", "6:50:00", "0.2"]


@pytest.mark.parametrize("query, message", [
    ("residents_permits-minutes=abc", "Residents permits: handling minutes must be a number, like 12.5"),
    ("emails-volume=-3", "Emails: per day must be a number, like 12.5"),
    ("refunds-minutes=0", "Refunds: handling minutes must be more than 0"),
    ("productive-hours=200", "Productive hours per FTE week must be 168 or less"),
])
def test_what_if_errors_name_the_row_and_keep_what_was_typed(client, login, query, message):
    login("parking_team")
    response = client.get(f"/staffing/?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert "<title>Error: " in html
    typed = query.split("=", 1)[1]
    assert f'value="{typed}"' in html
    assert "Correct the figures above" in html


def test_csv_of_the_sla_table(client, login):
    login("service_lead")
    response = client.get("/staffing/staffing.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:9] == ["Type", "Total issued", "Working days", "Per day (exact)", "Avg. per day", "Handling time",
                           "Daily", "Weekly", "FTE"]
    assert rows[1][:9] == ["Residents permits", "11238", "253", "44.419", "44", "00:06:00", "04:26:31", "22:12:34", "0.8"]
    assert rows[4][0] == "Phone calls" and "18.1 a day" in rows[4][9]
    assert rows[7][6:9] == ["15:44:12", "78:40:58", "2.8"]
    assert rows[8] == ["Funded FTE", "", "", "", "", "", "", "", "3.0"]


def test_csv_with_a_bad_what_if_is_refused_with_the_reason(client, login):
    login("service_lead")
    response = client.get("/staffing/staffing.csv?post-minutes=x")
    assert response.status_code == 400
    assert "Post: handling minutes must be a number" in response.get_data(as_text=True)


def test_advisors_cannot_see_the_staffing_model(client, login):
    login("advisor")
    assert client.get("/staffing/").status_code == 403
    assert client.get("/staffing/live").status_code == 403


# ------------------------------------------------------------------------------------- live
def _at(day: int, hour: int = 11) -> datetime:
    return datetime(2017, 3, day, hour, 0, tzinfo=LONDON)


@pytest.fixture
def march_week(app, make_user):
    """Records of Monday 6 to Friday 10 March 2017 (5 working days), and one the week after."""
    advisor = make_user("advisor")
    zone = make_zone("LV", "Live zone")
    residents = [issue_permit(advisor, make_customer(advisor, zone), vrm=f"AB{n}2CDE", now=_at(7))
                 for n in range(1, 3)]
    issue_permit(advisor, make_customer(advisor, zone), kind="visitor", vrm="", now=_at(8))
    emailed = make_application(advisor, make_customer(advisor, zone), channel="email", received_at=_at(9, 10),
                               now=_at(9), complete=False)
    casework.request_evidence(advisor, emailed, method="letter", items=["proof_of_residency"], now=_at(9, 14))
    refunds.request_refund(advisor, residents[0], refund_from=date(2017, 3, 10), reason="Moving away", now=_at(10))
    for channel, day in (("email", 6), ("email", 8), ("post", 9), ("phone", 9), ("counter", 10)):
        enquiries.log_enquiry(advisor, enquiries.NewEnquiry(channel=channel, category="other", summary="Question",
                                                            handling_minutes=3), now=_at(day))
    issue_permit(advisor, make_customer(advisor, zone), vrm="ZZ99ZZZ", now=_at(13))  # the week after
    db.session.commit()
    return advisor


def test_live_model_against_hand_built_records(march_week):
    rules = load_rules()
    model = live.live_model(rules, date(2017, 3, 6), date(2017, 3, 10))
    v = model.volumes
    assert v.working_days == 5
    assert v.counts == {"resident_permits_issued": 2, "visitor_permits_issued": 1,
                        "post_items": 3 + 1 + 1,  # applications by post, the evidence letter, the post enquiry
                        "emails": 1 + 2,  # the application by email and two email enquiries
                        "refunds": 1, "answered_calls": None}
    rows = {r.code: r for r in model.table.rows}
    assert (rows["residents_permits"].per_day_text, rows["residents_permits"].daily_text,
            rows["residents_permits"].weekly_text) == ("0.4", "00:02:24", "0:12:00")
    assert (rows["visitors_permits"].daily_text, rows["visitors_permits"].weekly_text) == ("00:00:48", "0:04:00")
    assert (rows["post"].per_day_text, rows["post"].daily_text, rows["post"].weekly_text) == ("1", "00:01:00", "0:05:00")
    assert (rows["emails"].per_day_text, rows["emails"].daily_text) == ("0.6", "00:02:06")
    assert (rows["refunds"].daily_text, rows["refunds"].weekly_text) == ("00:01:00", "0:05:00")
    assert "phone_calls" not in rows and model.table.excluded == ("phone_calls",)
    assert (model.table.daily_text, model.table.weekly_text, model.table.fte_text) == ("00:07:18", "0:36:30", "0.0")
    assert rows["post"].note == "3 applications by post + 1 letters requesting evidence + 1 enquiries by post over 5 working days"
    assert v.enquiries == {"phone": 1, "email": 2, "post": 1, "counter": 1}


def test_live_page_shows_the_period_beside_the_sla(client, login, march_week):
    login("team_leader")
    url = "/staffing/live?start=6&start=3&start=2017&end=10&end=3&end=2017"
    html = client.get(url).get_data(as_text=True)
    assert "6 March 2017 to 10 March 2017: 5 working days" in html
    cells = _row_cells(html, "live-table-residents_permits")
    assert cells[1:4] == ["2", "5", "0.4"] and cells[8:10] == ["44", "0.8"]
    assert "No data for the period" in html and "Phone calls" in html
    fragment = client.get(url, headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="live-results"')
    csv_body = client.get("/staffing/live.csv?start=6&start=3&start=2017&end=10&end=3&end=2017").get_data(as_text=True)
    assert "Residents permits,2,5,0.4,0.4,00:06:00,00:02:24,0:12:00,0.0,44,0.8" in csv_body
    assert "Phone calls,no data" in csv_body


def test_live_period_errors_are_named(client, login):
    login("team_leader")
    html = client.get("/staffing/live?start=10&start=3&start=2017&end=6&end=3&end=2017").get_data(as_text=True)
    assert "To must be on or after From" in html and "<title>Error: " in html
    html = client.get("/staffing/live?start=31&start=2&start=2017&end=&end=&end=").get_data(as_text=True)
    assert "From must be a real date" in html


def test_answered_calls_come_from_the_telephony_statistics_for_whole_months(march_week):
    telephony = pytest.importorskip("intranet.kpi.telephony")
    report = telephony.import_calls(march_week, "interval_start,offered,answered,abandoned\r\n"
                                                "2017-03-07T09:00,25,23,2\r\n2017-03-08T10:00,20,19,1\r\n",
                                    filename="march.csv")
    db.session.commit()
    assert report.ok, report.problems
    assert live.answered_calls_between(date(2017, 3, 1), date(2017, 3, 31)) == 42
    from intranet.kpi import measures

    # A part month needs the KPI area's own range function; without one the hook says "no data".
    part_month = 42 if hasattr(measures, "answered_calls_between") else None
    assert live.answered_calls_between(date(2017, 3, 6), date(2017, 3, 10)) == part_month
    assert live.answered_calls_between(date(2017, 4, 1), date(2017, 4, 30)) is None  # nothing imported: no data
    model = live.live_model(load_rules(), date(2017, 3, 1), date(2017, 3, 31))
    phone = next(r for r in model.table.rows if r.code == "phone_calls")
    assert model.volumes.working_days == 23
    assert phone.per_day_text == "1.83" and phone.daily_text == "00:05:29"


def test_staffing_table_for_the_kpi_pack(march_week):
    pack = live.staffing_table_for_pack(2017, 3)
    assert pack["month"] == "2017-03" and pack["working_days"] == 23
    assert (pack["totals"]["sla_daily"], pack["totals"]["sla_weekly"], pack["totals"]["sla_fte"]) == SLA_SUM
    residents = pack["rows"][0]
    assert residents["activity"] == "Residents permits" and residents["sla_daily"] == "04:26:31"
    assert residents["live_count"] == "3"  # two on 7 March, one on 13 March
    assert pack["totals"]["funded_fte"] == "3.0"


# ------------------------------------------------------------------------------------- forward look
def _agreed_change(requestor, lead, manager, required_by: date):
    from intranet.changes import services

    cr = services.save_request(requestor, None, dict(
        title="Replacement permits", requestor_name="Pat", directorate="Communities", request_type="temporary_task",
        route="urgent", urgent_reason="unforeseen_change", urgent_detail="Supplier error",
        description="Reissue permits", required_by=required_by, volume_phone=80, volume_email=30, volume_post=5,
        volume_counter=0, volume_online=0, duration="4 weeks", implementation_plan="Reprint",
        script_design="Apologise", briefings="Huddle", training="None"), submit=True)
    services.assess(lead, cr, dict(decision="agree", cost_pence=0, performance_levels="None", risk_assessment="Low",
                                   funding="Parking", prioritisation="Now", change_control="Logged",
                                   extra_contacts_per_week=115, handling_minutes=3, varies_sla=False))
    for user, party in ((lead, "service_lead"), (manager, "service_manager"), (requestor, "requestor")):
        services.sign_off(user, cr, party, "Agreed")
    db.session.commit()
    return cr


def test_forward_look_adds_agreed_changes_week_by_week(client, make_user):
    pat, lead, manager = make_user("parking_team"), make_user("service_lead"), make_user("service_manager")
    today = datetime.now(LONDON).date()
    monday = today - timedelta(days=today.weekday())
    starts = monday + timedelta(weeks=3)
    cr = _agreed_change(pat, lead, manager, starts)
    assert cr.status == "agreed"
    from tests.support import sign_in

    sign_in(client, lead.username)
    html = client.get("/staffing/").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="forward-look".*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", table.split("<tbody", 1)[1], re.S)
    weeks = [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip()
              for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows]
    assert len(weeks) == 12  # the change ends inside the 12 weeks' notice
    assert weeks[2][1:5] == ["0", "0:00:00", "78:40:58", "2.8"]
    # 115 contacts a week at the assessed 3 minutes = 5:45:00 more a week, for 4 weeks.
    for week in weeks[3:7]:
        assert week[1:5] == ["115", "5:45:00", "84:25:58", "3.0"]
        assert cr.reference in week[5]
    assert weeks[7][1] == "0"


def test_cli_prints_the_sla_table_and_refuses_a_bad_month(runner, march_week):
    result = runner.invoke(args=["staffing", "table", "--month", "2017-03"])
    assert result.exit_code == 0, result.output
    assert "Residents permits          44  00:06:00  04:26:31  22:12:34  0.8" in result.output
    assert "Sum                                      15:44:12  78:40:58  2.8" in result.output
    assert "Live, 2017-03 (23 working days)" in result.output and "phone_calls: no data" in result.output
    bad = runner.invoke(args=["staffing", "table", "--month", "2017-13"])
    assert bad.exit_code != 0 and "--month: expected YYYY-MM" in bad.output
    assert "Residents permits" not in bad.output
