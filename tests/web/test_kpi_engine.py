"""The KPI engine over hand-built data: every KPI of the rules, an emergency month, a month with no
data, and the exact CSV of `kpi show`. Data goes in through the real services (imports, casework,
evaluations); the zone report's send log rows are written as the reports area writes them."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone


from intranet.extensions import db
from intranet.kpi import measures
from intranet.kpi.engine import CSV_COLUMNS, Month
from intranet.kpi.models import KpiPack
from intranet.kpi.quality import record_evaluation
from intranet.kpi.satisfaction import record_response
from intranet.kpi.telephony import import_calls
from intranet.permits import casework
from intranet.timefmt import LONDON
from tests.permit_factories import make_application, make_customer

MARCH = Month(2017, 3)
AFTER = datetime(2017, 6, 1, 12, tzinfo=timezone.utc)  # long after every deadline of March 2017


def _calls(rows: list[str]) -> str:
    return "interval_start,offered,answered,abandoned\n" + "\n".join(rows) + "\n"


def _issue(actor, customer, received: datetime, issued: datetime):
    application = make_application(actor, customer, received_at=received, now=received)
    casework.issue(actor, application, payment_reference="PAY-1", now=issued)
    db.session.commit()
    return application


def test_answered_and_abandoned_count_only_service_hours_on_working_days(app):
    report = import_calls("test", _calls([
        "2017-03-07T08:30,10,9,1",      # counted
        "2017-03-07T16:30,10,10,0",     # counted (starts before close)
        "2017-03-07T17:00,50,0,50",     # after close: stored, not counted
        "2017-03-07T08:00,50,0,50",     # before opening: not counted
        "2017-03-11T10:00,50,0,50",     # Saturday: not counted
        "2017-04-14T10:00,50,0,50",     # Good Friday (bank holiday), April: not counted
    ]))
    db.session.commit()
    assert (report.rows, report.counted, report.not_counted) == (6, 2, 4)
    kpis = measures.month_kpis(MARCH, AFTER)
    answered, abandoned = kpis.get("answered_calls"), kpis.get("abandoned_calls")
    assert (answered.numerator, answered.denominator, answered.value, answered.status) == (19, 20, 95.0, "green")
    assert (abandoned.numerator, abandoned.denominator, abandoned.value, abandoned.status) == (1, 20, 5.0, "green")
    april = measures.month_kpis(Month(2017, 4), AFTER).get("answered_calls")
    assert april.status == "no data" and april.value is None  # only a bank-holiday interval


def test_amber_and_red_bands_come_from_the_rules(app):
    import_calls("test", _calls(["2017-03-07T09:00,100,92,8"]))  # 92% answered: amber; 8% abandoned: amber
    db.session.commit()
    kpis = measures.month_kpis(MARCH, AFTER)
    assert kpis.get("answered_calls").status == "amber"
    assert kpis.get("abandoned_calls").status == "amber"
    import_calls("test", _calls(["2017-03-07T09:30,100,80,20"]), replace=True)
    db.session.commit()
    kpis = measures.month_kpis(MARCH, AFTER)
    assert (kpis.get("answered_calls").value, kpis.get("answered_calls").status) == (86.0, "red")


def test_permits_issued_on_time_counts_the_result_stored_at_issue(app, make_user):
    advisor = make_user("advisor")
    customer = make_customer(advisor)
    on_time = _issue(advisor, customer, datetime(2017, 3, 7, 10, tzinfo=LONDON), datetime(2017, 3, 8, 12, tzinfo=LONDON))
    late = _issue(advisor, make_customer(advisor), datetime(2017, 3, 7, 10, tzinfo=LONDON),
                  datetime(2017, 3, 14, 12, tzinfo=LONDON))
    _issue(advisor, make_customer(advisor), datetime(2017, 2, 27, 10, tzinfo=LONDON),
           datetime(2017, 2, 28, 12, tzinfo=LONDON))  # February: not in March's figure
    result = measures.month_kpis(MARCH, AFTER).get("permits_issued_on_time")
    assert (result.numerator, result.denominator, result.value, result.status) == (1, 2, 50.0, "red")
    assert [row.id for row in measures.late_permits(MARCH)] == [late.id]
    assert on_time.id not in [row.id for row in measures.late_permits(MARCH)]


def test_daily_zone_report_counts_working_days_reported_on_time(app):
    from intranet.reports.models import ZoneReportDay
    from intranet.reports.services import due_at

    day, n = MARCH.first, 0
    while day <= MARCH.last:
        if day.weekday() < 5:
            n += 1
            if n <= 21:  # two working days of March get no report at all
                sent = due_at(day) + (timedelta(hours=2) if n == 5 else -timedelta(hours=1))  # the 5th is late
                db.session.add(ZoneReportDay(report_date=day, first_sent_at=sent, first_sent_by="test",
                                             recipients="Parking inbox", send_count=1, last_sent_at=sent))
        day += timedelta(days=1)
    db.session.commit()
    result = measures.month_kpis(MARCH, AFTER).get("daily_zone_report")
    assert (result.numerator, result.denominator) == (20, 23)  # March 2017: 23 working days
    assert result.status == "red"  # 87.0% is below the amber limit of 95
    misses = measures.zone_report_misses(MARCH, AFTER)
    assert len(misses) == 3 and sum(1 for d in misses if d.sent_at is None) == 2
    # a month before the first report ever sent is no data, not 0%
    assert measures.month_kpis(Month(2017, 2), AFTER).get("daily_zone_report").status == "no data"


def test_quality_monitoring_counts_staff_whose_average_reaches_the_benchmark(app, make_user):
    leader = make_user("team_leader")
    good, weak = make_user("advisor"), make_user("advisor")
    for staff, overall in ((good, 90), (good, 75), (weak, 70), (weak, 85)):  # good averages 82.5, weak 77.5
        record_evaluation(leader, staff_id=staff.id, evaluated_on=date(2017, 3, 10), contact_reference="C1",
                          scores={c: 4 for c in app.extensions["sla_rules"].quality_monitoring.criteria},
                          overall_score=overall)
    db.session.commit()
    result = measures.month_kpis(MARCH, AFTER).get("quality_monitoring")
    assert (result.numerator, result.denominator, result.value, result.status) == (1, 2, 50.0, "red")


def test_customer_satisfaction_is_the_financial_year_to_date(app, make_user):
    leader = make_user("team_leader")
    answers = [(date(2016, 4, 1), True, None), (date(2016, 12, 1), None, 5), (date(2017, 3, 31), None, 3),
               (date(2017, 3, 2), False, None), (date(2016, 3, 31), False, None)]  # the last: previous year
    for day, satisfied, score in answers:
        record_response(leader, responded_on=day, channel="phone", satisfied=satisfied, score=score)
    db.session.commit()
    result = measures.month_kpis(MARCH, AFTER).get("customer_satisfaction")
    assert result.period == "2016-04/2017-03"
    assert (result.numerator, result.denominator, result.value, result.status) == (2, 4, 50.0, "red")


def test_kpi_pack_on_time_from_the_pack_rows(app):
    feb, jan = Month(2017, 2), Month(2017, 1)
    due = measures.pack_due(feb)
    assert due.astimezone(LONDON) == datetime(2017, 3, 14, 17, 0, tzinfo=LONDON)  # 10th working day of March
    db.session.add(KpiPack(month=feb.first, due_at=due, produced_at=due - timedelta(hours=1)))
    db.session.add(KpiPack(month=jan.first, due_at=measures.pack_due(jan),
                           produced_at=measures.pack_due(jan) + timedelta(minutes=1)))
    db.session.commit()
    assert measures.month_kpis(feb, AFTER).get("kpi_pack_on_time").status == "green"
    assert measures.month_kpis(jan, AFTER).get("kpi_pack_on_time").status == "red"
    march = measures.month_kpis(MARCH, AFTER).get("kpi_pack_on_time")  # overdue and not produced
    assert (march.numerator, march.denominator, march.status) == (0, 1, "red")
    not_due = measures.month_kpis(MARCH, datetime(2017, 4, 3, 9, tzinfo=LONDON)).get("kpi_pack_on_time")
    assert not_due.status == "no data" and "Not due until" in not_due.note
    assert measures.month_kpis(Month(2016, 12), AFTER).get("kpi_pack_on_time").status == "no data"  # before the first


def test_emergency_month_is_judged_against_reduced_targets_and_flagged(app, make_user):
    from intranet.agreement.services import declare

    manager = make_user("service_manager")
    declare(manager, kind="extreme_weather", starts_at=datetime(2017, 1, 10, 8, tzinfo=LONDON),
            ends_at=datetime(2017, 1, 12, 17, tzinfo=LONDON), reason="Snow")
    import_calls("test", _calls(["2017-01-16T09:00,100,85,15", "2017-02-06T09:00,100,85,15"]))
    db.session.commit()
    january = measures.month_kpis(Month(2017, 1), AFTER)
    february = measures.month_kpis(Month(2017, 2), AFTER)
    jan_answered, feb_answered = january.get("answered_calls"), february.get("answered_calls")
    assert january.emergency and jan_answered.emergency and jan_answered.target == 80
    assert (jan_answered.value, jan_answered.status) == (85.0, "green")
    assert not february.emergency and (feb_answered.target, feb_answered.status) == (95, "red")
    assert january.get("abandoned_calls").target == 15 and january.get("abandoned_calls").status == "green"


def test_a_month_with_no_data_says_no_data_for_every_kpi(app, runner):
    result = runner.invoke(args=["kpi", "show", "--month", "2016-08", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == list(CSV_COLUMNS)
    body = rows[1:]
    assert [r[0] for r in body] == list(app.extensions["sla_rules"].kpis)
    for r in body:
        assert r[7] == "no data" and r[2] == "" and r[4] == "0", r


def test_kpi_show_csv_is_exactly_the_agreed_format(app, runner):
    import_calls("test", _calls(["2017-03-07T09:00,3,2,1"]))
    db.session.commit()
    result = runner.invoke(args=["kpi", "show", "--month", "2017-03", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "kpi,period,value,numerator,denominator,target,direction,status"
    assert "answered_calls,2017-03,66.7,2,3,95,at_least,red" in lines
    assert "abandoned_calls,2017-03,33.3,1,3,5,at_most,red" in lines
    assert any(line.startswith("customer_satisfaction,2016-04/2017-03,,0,0,80,at_least,no data") for line in lines)
    table = runner.invoke(args=["kpi", "show", "--month", "2017-03"])
    assert table.exit_code == 0 and "answered_calls" in table.output and "66.7%" in table.output


def test_kpi_show_refuses_a_bad_month_with_exit_1(app, runner):
    result = runner.invoke(args=["kpi", "show", "--month", "2017-13"])
    assert result.exit_code == 1
    assert "--month" in result.output and "YYYY-MM" in result.output


def test_inputs_costs_and_volumes_of_the_month(app, make_user):
    from intranet.kpi.costs import month_costs
    from intranet.kpi.inputs import month_inputs
    from intranet.kpi.volumes import month_volumes

    advisor = make_user("advisor")
    first_time = _issue(advisor, make_customer(advisor), datetime(2017, 3, 7, 10, tzinfo=LONDON),
                        datetime(2017, 3, 8, 12, tzinfo=LONDON))
    received = datetime(2017, 3, 9, 10, tzinfo=LONDON)
    asked = make_application(advisor, make_customer(advisor), received_at=received, now=received, complete=False)
    casework.request_evidence(advisor, asked, method="letter", items=list(casework.required_evidence(asked)),
                              now=received + timedelta(hours=1))
    for code in casework.required_evidence(asked):
        item = casework.add_evidence(advisor, asked, evidence_type=code, received_at=received + timedelta(days=1),
                                     now=received + timedelta(days=1))
        casework.check_evidence(advisor, item, accept=True, now=received + timedelta(days=1))
    casework.issue(advisor, asked, payment_reference="PAY-2", now=received + timedelta(days=2))
    db.session.commit()
    inputs = {m.name: m for m in month_inputs(MARCH)}
    assert (inputs["applications_complete"].numerator, inputs["applications_complete"].denominator) == (1, 2)
    costs = month_costs(MARCH)
    staffing = app.extensions["sla_rules"].staffing
    expected = round(sum(p.fte * staffing.grade_costs_pence[p.grade] for p in staffing.funded) / 12)
    assert costs.staffing_pence == expected and costs.permits_issued == 2
    assert costs.per_permit_pence == round(costs.total_pence / 2)
    volumes = month_volumes(MARCH)
    assert volumes.applications_by_kind == {"resident": 2} and volumes.permits_by_kind == {"resident": 2}
    assert volumes.post == 2 and first_time.channel == "post"
