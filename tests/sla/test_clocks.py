"""Table tests of every clock: weekends, bank holidays, the edges of
service hours (08:29, 08:30, 16:59, 17:00) and pauses."""
from __future__ import annotations

import datetime as dt

import pytest

from intranet.sla.clocks import (
    clock_status, deadline_for, explain_deadline, parse_local_datetime, time_left_text,
    working_minutes_between,
)

from .conftest import LONDON, london

WORKING_DAY_2 = [
    # the worked examples of DESIGN.md section 3
    ("2017-03-07 11:00", "2017-03-09 17:00"),
    ("2017-03-10 18:00", "2017-03-15 17:00"),
    # service-hour edges on a Tuesday
    ("2017-03-07 08:29", "2017-03-09 17:00"),
    ("2017-03-07 08:30", "2017-03-09 17:00"),
    ("2017-03-07 16:59", "2017-03-09 17:00"),
    ("2017-03-07 17:00", "2017-03-10 17:00"),
    ("2017-03-07 00:00", "2017-03-09 17:00"),
    # Friday edges and the weekend
    ("2017-03-10 16:59", "2017-03-14 17:00"),
    ("2017-03-10 17:00", "2017-03-15 17:00"),
    ("2017-03-11 10:00", "2017-03-15 17:00"),
    ("2017-03-12 23:59", "2017-03-15 17:00"),
    # bank holidays
    ("2017-04-13 10:00", "2017-04-19 17:00"),  # Good Friday, Easter Monday
    ("2017-04-14 10:00", "2017-04-20 17:00"),  # received on Good Friday
    ("2016-12-23 10:00", "2016-12-29 17:00"),  # Boxing Day, Christmas substitute
    ("2016-12-23 17:00", "2016-12-30 17:00"),
    ("2016-12-31 10:00", "2017-01-05 17:00"),  # New Year substitute 2 January
    ("2020-05-07 12:00", "2020-05-12 17:00"),  # VE Day moved to 8 May
    ("2022-06-01 12:00", "2022-06-07 17:00"),  # 2-3 June Jubilee
    ("2022-09-16 12:00", "2022-09-21 17:00"),  # 19 September state funeral
    ("2023-05-05 12:00", "2023-05-10 17:00"),  # 8 May coronation
    # across the change to summer time
    ("2017-03-24 16:59", "2017-03-28 17:00"),
]


@pytest.mark.parametrize("clock", ["permit_issue", "complaint_acknowledgement"])
@pytest.mark.parametrize("received, due", WORKING_DAY_2)
def test_two_working_day_clocks(rules, clock, received, due):
    got = deadline_for(rules, clock, london(received))
    assert got == london(due)
    assert got.tzinfo is LONDON


@pytest.mark.parametrize("clock, received, due", [
    ("complaint_resolution", "2017-03-07 11:00", "2017-03-27 17:00"),
    ("complaint_resolution", "2017-03-10 18:00", "2017-04-03 17:00"),  # day 20 a Sunday
    ("complaint_resolution", "2017-03-24 10:00", "2017-04-13 17:00"),
    ("complaint_resolution", "2017-03-25 10:00", "2017-04-18 17:00"),  # Easter Sunday, then Monday
    ("complaint_resolution", "2016-12-05 09:00", "2016-12-28 17:00"),  # Christmas Day, two holidays
    ("complaint_resolution", "2017-03-07 08:29", "2017-03-27 17:00"),
    ("complaint_resolution", "2017-03-07 17:00", "2017-03-28 17:00"),
    ("change_notice", "2016-12-01 09:00", "2017-02-23 17:00"),
    ("change_notice", "2016-12-01 16:59", "2017-02-23 17:00"),
    ("change_notice", "2016-12-01 17:00", "2017-02-24 17:00"),
    ("change_notice", "2017-01-06 10:00", "2017-03-31 17:00"),
    ("change_notice", "2017-01-21 10:00", "2017-04-18 17:00"),  # day 84 Easter Monday
    ("kpi_pack", "2017-03-01 00:00", "2017-04-18 17:00"),  # Easter in the count
    ("kpi_pack", "2017-03-31 18:00", "2017-04-18 17:00"),  # the period month, not the next opening
    ("kpi_pack", "2016-06-15 10:00", "2016-07-14 17:00"),  # 1 July a Friday: working day 1
    ("kpi_pack", "2016-12-01 00:00", "2017-01-16 17:00"),  # 2 January a holiday
    ("kpi_pack", "2020-04-01 00:00", "2020-05-15 17:00"),  # VE Day in May 2020
    ("public_stage1_acknowledgement", "2017-03-07 11:00", "2017-03-14 17:00"),
    ("public_stage1_acknowledgement", "2017-03-10 18:00", "2017-03-20 17:00"),
    ("public_stage1_response", "2017-03-14 10:00", "2017-03-28 17:00"),
    ("public_stage1_response", "2017-04-10 10:00", "2017-04-26 17:00"),
    ("public_stage2_acknowledgement", "2016-12-21 16:59", "2016-12-30 17:00"),
    ("public_stage2_response", "2017-03-01 10:00", "2017-03-29 17:00"),
    ("public_stage2_response", "2017-03-01 17:00", "2017-03-30 17:00"),
])
def test_other_clocks(rules, clock, received, due):
    assert deadline_for(rules, clock, london(received)) == london(due)


def test_extension_of_a_stage_response(rules):
    assert deadline_for(rules, "public_stage1_response", london("2017-03-14 10:00"), extension=10) \
        == london("2017-04-11 17:00")
    with pytest.raises(ValueError, match="1-10"):
        deadline_for(rules, "public_stage1_response", london("2017-03-14 10:00"), extension=11)
    with pytest.raises(ValueError, match="cannot be extended"):
        deadline_for(rules, "permit_issue", london("2017-03-14 10:00"), extension=1)


def test_utc_receipt_in_summer_time(rules):
    received = dt.datetime(2017, 6, 6, 10, 0, tzinfo=dt.timezone.utc)  # 11:00 BST
    assert deadline_for(rules, "permit_issue", received) == london("2017-06-08 17:00")
    late = dt.datetime(2017, 6, 6, 16, 0, tzinfo=dt.timezone.utc)  # 17:00 BST: closed
    assert deadline_for(rules, "permit_issue", late) == london("2017-06-09 17:00")


def test_lengths_come_from_the_rules(make_rules):
    r = make_rules({"clocks.permit_issue.length": 3, "calendar.service_hours": {"open": "09:00", "close": "16:00"}})
    assert deadline_for(r, "permit_issue", london("2017-03-07 11:00")) == london("2017-03-10 16:00")
    assert deadline_for(r, "permit_issue", london("2017-03-07 16:30")) == london("2017-03-13 16:00")


RECEIVED = london("2017-03-07 11:00")  # due Thursday 9 March 17:00 without pauses


@pytest.mark.parametrize("pauses, due", [
    ([], "2017-03-09 17:00"),
    ([("2017-03-08 15:00", "2017-03-09 10:00")], "2017-03-10 12:00"),
    ([("2017-03-08 08:30", "2017-03-08 17:00")], "2017-03-10 17:00"),  # one whole working day
    ([("2017-03-08 17:00", "2017-03-09 08:30")], "2017-03-09 17:00"),  # overnight: nothing
    ([("2017-03-04 10:00", "2017-03-05 10:00")], "2017-03-09 17:00"),  # before receipt
    ([("2017-03-06 10:00", "2017-03-07 12:00")], "2017-03-10 09:30"),  # clipped to receipt
    ([("2017-03-10 09:00", "2017-03-10 12:00")], "2017-03-09 17:00"),  # after the deadline
    ([("2017-03-08 09:00", "2017-03-08 12:00"), ("2017-03-08 11:00", "2017-03-08 13:00")], "2017-03-10 12:30"),
    ([("2017-03-09 16:00", "2017-03-13 09:00")], "2017-03-13 10:00"),  # over the deadline
    ([("2017-03-08 08:29", "2017-03-08 08:31")], "2017-03-10 08:31"),
])
def test_pauses(rules, pauses, due):
    got = deadline_for(rules, "permit_issue", RECEIVED, pauses=[(london(a), london(b)) for a, b in pauses])
    assert got == london(due)


def test_pause_over_a_weekend_costs_nothing(rules):
    received = london("2017-03-09 10:00")  # due Monday 13 March 17:00
    assert deadline_for(rules, "permit_issue", received) == london("2017-03-13 17:00")
    paused = [(london("2017-03-10 17:00"), london("2017-03-13 08:30"))]
    assert deadline_for(rules, "permit_issue", received, pauses=paused) == london("2017-03-13 17:00")
    paused = [(london("2017-03-10 16:00"), london("2017-03-13 09:00"))]  # 1h Friday + 30m Monday
    assert deadline_for(rules, "permit_issue", received, pauses=paused) == london("2017-03-14 10:00")


def test_open_pause_runs_to_now(rules):
    pause = [(london("2017-03-08 09:00"), None)]
    assert deadline_for(rules, "permit_issue", RECEIVED, pauses=pause, now=london("2017-03-08 11:00")) \
        == london("2017-03-10 10:30")
    with pytest.raises(ValueError, match="now"):
        deadline_for(rules, "permit_issue", RECEIVED, pauses=pause)


def test_bad_pauses_and_times_are_refused(rules):
    with pytest.raises(ValueError, match="cannot be paused"):
        deadline_for(rules, "complaint_resolution", RECEIVED, pauses=[(RECEIVED, RECEIVED)])
    with pytest.raises(ValueError, match="ends before"):
        deadline_for(rules, "permit_issue", RECEIVED, pauses=[(london("2017-03-08 12:00"), london("2017-03-08 11:00"))])
    with pytest.raises(ValueError, match="aware"):
        deadline_for(rules, "permit_issue", dt.datetime(2017, 3, 7, 11, 0))
    with pytest.raises(KeyError, match="unknown clock"):
        deadline_for(rules, "permit_issued", RECEIVED)


def test_explanation_of_a_friday_evening_receipt(rules):
    e = explain_deadline(rules, "permit_issue", london("2017-03-10 18:00"))
    assert e.deadline == london("2017-03-15 17:00")
    assert e.counting_from == london("2017-03-13 08:30")
    assert list(e.lines[1:]) == [
        "Received Friday 10 March 2017 6:00pm: outside service hours, counts from Monday 13 March 2017 8:30am (day 0)",
        "Working day 1: Tuesday 14 March 2017",
        "Working day 2: Wednesday 15 March 2017",
        "Due: Wednesday 15 March 2017 5:00pm",
    ]


def test_explanation_names_skipped_holidays_and_pauses(rules):
    e = explain_deadline(rules, "permit_issue", london("2017-04-13 10:00"),
                         pauses=[(london("2017-04-18 09:00"), london("2017-04-18 10:00"))])
    text = "\n".join(e.lines)
    assert "Not counted: Friday 14 April 2017 (Good Friday, bank holiday)" in text
    assert "Paused Tuesday 18 April 2017 9:00am to Tuesday 18 April 2017 10:00am: 1 hour of working time" in text
    assert e.lines[-1] == "Due: Thursday 20 April 2017 9:30am"
    e = explain_deadline(rules, "complaint_resolution", london("2017-03-25 10:00"))
    assert "Received Saturday 25 March 2017 10:00am: not a working day, counts from Monday 27 March 2017 8:30am (day 0)" in e.lines
    assert "Sunday 16 April 2017 is not a working day: due on the next working day, Tuesday 18 April 2017" in e.lines
    e = explain_deadline(rules, "permit_issue", london("2017-04-14 08:00"))
    assert "a bank holiday (Good Friday)" in e.lines[1]


DUE = london("2017-03-09 17:00")
STARTED = london("2017-03-07 11:00")


@pytest.mark.parametrize("now, completed, started, status", [
    ("2017-03-08 09:00", None, None, "on_track"),
    ("2017-03-09 12:59", None, None, "on_track"),
    ("2017-03-09 13:00", None, None, "at_risk"),   # 4 working hours left
    ("2017-03-09 17:00", None, None, "at_risk"),   # due now: not yet breached
    ("2017-03-09 17:01", None, None, "breached"),
    ("2017-03-13 09:00", None, None, "breached"),
    ("2017-03-09 12:00", "2017-03-09 17:00", None, "met_on_time"),
    ("2017-03-13 12:00", "2017-03-09 17:01", None, "met_late"),
    ("2017-03-09 12:00", None, None, "on_track"),   # 5 working hours left
    ("2017-03-09 12:00", None, STARTED, "at_risk"),  # 5h of 23h: under a quarter
])
def test_status(rules, now, completed, started, status):
    got = clock_status(rules, DUE, london(now), completed_at=london(completed) if completed else None,
                       started_at=started)
    assert got == status


def test_status_fraction_of_a_long_clock(rules):
    start = london("2016-12-01 09:00")
    due = deadline_for(rules, "change_notice", start)  # 23 February 2017
    assert clock_status(rules, due, london("2017-02-01 09:00"), started_at=start) == "on_track"
    assert clock_status(rules, due, london("2017-02-13 09:00"), started_at=start) == "at_risk"
    assert clock_status(rules, due, london("2017-02-13 09:00")) == "on_track"


@pytest.mark.parametrize("now, text", [
    ("2017-03-08 13:00", "1 working day 4 hours left"),
    ("2017-03-09 16:15", "45 minutes left"),
    ("2017-03-09 17:00", "due now"),
    ("2017-03-10 10:30", "2 hours overdue"),
    ("2017-03-11 10:30", "1 working day overdue"),
    ("2017-03-09 18:00", "overdue"),
])
def test_time_left_text(rules, now, text):
    assert time_left_text(rules, DUE, london(now)) == text


def test_working_minutes_helper(rules):
    assert working_minutes_between(rules, london("2017-03-10 16:00"), london("2017-03-13 09:00")) == 90


@pytest.mark.parametrize("text, expected", [
    ("2017-03-10T18:00", "2017-03-10 18:00"),
    ("2017-06-06T11:00", "2017-06-06 11:00"),
    ("2017-06-06T10:00+00:00", "2017-06-06 11:00"),
])
def test_parse_local_datetime(rules, text, expected):
    assert parse_local_datetime(rules, text) == london(expected)


@pytest.mark.parametrize("text", ["2017-03-10", "10/03/2017 18:00", "2017-03-10T25:00", "soon"])
def test_parse_local_datetime_refuses(rules, text):
    with pytest.raises(ValueError, match="YYYY-MM-DDTHH:MM"):
        parse_local_datetime(rules, text)
