"""The working calendar against the official England and Wales bank holidays.

The dates are written out here (from the gov.uk list) rather than taken from
the `holidays` package, so a wrong package release fails these tests.
"""
from __future__ import annotations

import datetime as dt

import pytest

from intranet.sla.calendar import WorkingCalendar, calendar_for

from .conftest import LONDON, london

D = dt.date

# Official England and Wales bank holidays 2016-2027 (gov.uk/bank-holidays).
BANK_HOLIDAYS = {
    2016: [D(2016, 1, 1), D(2016, 3, 25), D(2016, 3, 28), D(2016, 5, 2), D(2016, 5, 30),
           D(2016, 8, 29), D(2016, 12, 26), D(2016, 12, 27)],
    2017: [D(2017, 1, 2), D(2017, 4, 14), D(2017, 4, 17), D(2017, 5, 1), D(2017, 5, 29),
           D(2017, 8, 28), D(2017, 12, 25), D(2017, 12, 26)],
    2018: [D(2018, 1, 1), D(2018, 3, 30), D(2018, 4, 2), D(2018, 5, 7), D(2018, 5, 28),
           D(2018, 8, 27), D(2018, 12, 25), D(2018, 12, 26)],
    2019: [D(2019, 1, 1), D(2019, 4, 19), D(2019, 4, 22), D(2019, 5, 6), D(2019, 5, 27),
           D(2019, 8, 26), D(2019, 12, 25), D(2019, 12, 26)],
    2020: [D(2020, 1, 1), D(2020, 4, 10), D(2020, 4, 13), D(2020, 5, 8), D(2020, 5, 25),
           D(2020, 8, 31), D(2020, 12, 25), D(2020, 12, 28)],
    2021: [D(2021, 1, 1), D(2021, 4, 2), D(2021, 4, 5), D(2021, 5, 3), D(2021, 5, 31),
           D(2021, 8, 30), D(2021, 12, 27), D(2021, 12, 28)],
    2022: [D(2022, 1, 3), D(2022, 4, 15), D(2022, 4, 18), D(2022, 5, 2), D(2022, 6, 2),
           D(2022, 6, 3), D(2022, 8, 29), D(2022, 9, 19), D(2022, 12, 26), D(2022, 12, 27)],
    2023: [D(2023, 1, 2), D(2023, 4, 7), D(2023, 4, 10), D(2023, 5, 1), D(2023, 5, 8),
           D(2023, 5, 29), D(2023, 8, 28), D(2023, 12, 25), D(2023, 12, 26)],
    2024: [D(2024, 1, 1), D(2024, 3, 29), D(2024, 4, 1), D(2024, 5, 6), D(2024, 5, 27),
           D(2024, 8, 26), D(2024, 12, 25), D(2024, 12, 26)],
    2025: [D(2025, 1, 1), D(2025, 4, 18), D(2025, 4, 21), D(2025, 5, 5), D(2025, 5, 26),
           D(2025, 8, 25), D(2025, 12, 25), D(2025, 12, 26)],
    2026: [D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 4), D(2026, 5, 25),
           D(2026, 8, 31), D(2026, 12, 25), D(2026, 12, 28)],
    2027: [D(2027, 1, 1), D(2027, 3, 26), D(2027, 3, 29), D(2027, 5, 3), D(2027, 5, 31),
           D(2027, 8, 30), D(2027, 12, 27), D(2027, 12, 28)],
}


@pytest.mark.parametrize("year", sorted(BANK_HOLIDAYS))
def test_non_working_weekdays_are_the_official_bank_holidays(cal, year):
    assert [d.date for d in cal.non_working_weekdays(year)] == BANK_HOLIDAYS[year]
    for d in cal.non_working_weekdays(year):
        assert d.source == "bank holiday" and d.name


@pytest.mark.parametrize("year", sorted(BANK_HOLIDAYS))
def test_every_other_weekday_is_a_working_day(cal, year):
    day = D(year, 1, 1)
    while day.year == year:
        expected = day.weekday() < 5 and day not in BANK_HOLIDAYS[year]
        assert cal.is_working_day(day) is expected, day
        day += dt.timedelta(days=1)


def test_weekend_date_of_a_substituted_holiday_is_not_listed(cal):
    # The package lists Christmas Day 2016 on its Sunday; only the Tuesday substitute counts.
    listed = [d.date for d in cal.non_working_weekdays(2016)]
    assert D(2016, 12, 25) not in listed and D(2016, 12, 27) in listed


@pytest.mark.parametrize("day, words", [
    (D(2022, 9, 19), "State Funeral"),
    (D(2023, 5, 8), "Coronation"),
    (D(2022, 6, 3), "Jubilee"),
    (D(2016, 3, 25), "Good Friday"),
])
def test_special_days_have_their_names(cal, day, words):
    assert words in cal.non_working_reason(day).name


def test_a_working_day_has_no_reason(cal):
    assert cal.non_working_reason(D(2017, 3, 7)) is None


def test_next_ten_non_working_days(cal):
    got = [d.date for d in cal.next_non_working_weekdays(D(2016, 12, 1), 10)]
    assert got == [D(2016, 12, 26), D(2016, 12, 27), D(2017, 1, 2), D(2017, 4, 14), D(2017, 4, 17),
                   D(2017, 5, 1), D(2017, 5, 29), D(2017, 8, 28), D(2017, 12, 25), D(2017, 12, 26)]


def test_closures_are_non_working_with_their_reason(make_rules):
    r = make_rules({"calendar.closures": [{"date": D(2016, 12, 28), "reason": "Council offices closed"},
                                          {"date": D(2016, 12, 31), "reason": "Saturday: ignored"}]})
    cal = calendar_for(r.calendar)
    assert not cal.is_working_day(D(2016, 12, 28))
    listed = {d.date: d for d in cal.non_working_weekdays(2016)}
    assert listed[D(2016, 12, 28)].source == "closure"
    assert listed[D(2016, 12, 28)].name == "Council offices closed"
    assert D(2016, 12, 31) not in listed
    assert cal.add_working_days(D(2016, 12, 23), 1) == D(2016, 12, 29)


def test_working_day_index_arithmetic(cal):
    fri = D(2016, 12, 23)
    assert cal.add_working_days(fri, 1) == D(2016, 12, 28)
    assert cal.add_working_days(fri, 5) == D(2017, 1, 4)
    assert cal.add_working_days(D(2016, 12, 28), -1) == fri
    assert cal.index(D(2016, 12, 24)) == cal.index(D(2016, 12, 28))  # a closed day points to the next
    assert cal.add_working_days(D(2016, 12, 24), 0) == D(2016, 12, 28)
    assert cal.working_days_between(D(2017, 3, 1), D(2017, 4, 1)) == 23
    assert list(cal.working_days(D(2017, 4, 13), D(2017, 4, 19))) == [D(2017, 4, 13), D(2017, 4, 18), D(2017, 4, 19)]
    for i in range(cal.index(D(2016, 1, 1)), cal.index(D(2018, 1, 1))):
        assert cal.index(cal.date_at(i)) == i


def test_table_grows_and_keeps_indexes_stable(rules):
    cal = WorkingCalendar(rules.calendar, first_year=2010, last_year=2020)
    before = cal.index(D(2017, 3, 7))
    assert cal.is_working_day(D(2090, 1, 3))  # beyond the table: it grows
    assert not cal.is_working_day(D(1995, 12, 26))
    assert cal.index(D(2017, 3, 7)) == before
    assert cal.add_working_days(D(2017, 3, 7), 2) == D(2017, 3, 9)


@pytest.mark.parametrize("received, opening", [
    ("2017-03-07 08:29", "2017-03-07 08:30"),
    ("2017-03-07 08:30", "2017-03-07 08:30"),
    ("2017-03-07 16:59", "2017-03-08 08:30"),
    ("2017-03-07 17:00", "2017-03-08 08:30"),
    ("2017-03-10 17:00", "2017-03-13 08:30"),
    ("2017-03-11 12:00", "2017-03-13 08:30"),
    ("2017-04-13 17:30", "2017-04-18 08:30"),
])
def test_next_opening(cal, received, opening):
    assert cal.next_opening(london(received)) == london(opening)


@pytest.mark.parametrize("when, is_open", [
    ("2017-03-07 08:29", False), ("2017-03-07 08:30", True), ("2017-03-07 16:59", True),
    ("2017-03-07 17:00", False), ("2017-03-11 10:00", False), ("2017-04-14 10:00", False),
])
def test_is_open(cal, when, is_open):
    assert cal.is_open(london(when)) is is_open


def test_service_hours_are_local_across_daylight_saving(cal):
    # Clocks went forward on Sunday 26 March 2017.
    assert cal.opens_at(D(2017, 3, 24)).astimezone(dt.timezone.utc).hour == 8
    assert cal.opens_at(D(2017, 3, 27)).astimezone(dt.timezone.utc).hour == 7
    assert cal.working_minutes_between(london("2017-03-24 16:00"), london("2017-03-27 09:30")) == 120
    # ... and back on Sunday 30 October 2016.
    assert cal.working_minutes_between(london("2016-10-28 16:00"), london("2016-10-31 09:30")) == 120


def test_working_minutes(cal):
    assert cal.working_minutes_between(london("2017-03-07 09:00"), london("2017-03-07 11:30")) == 150
    assert cal.working_minutes_between(london("2017-03-07 07:00"), london("2017-03-07 18:00")) == 510
    assert cal.working_minutes_between(london("2017-04-13 16:00"), london("2017-04-18 09:00")) == 90
    assert cal.working_minutes_between(london("2017-03-07 11:30"), london("2017-03-07 09:00")) == -150


def test_utc_input_and_naive_refused(cal):
    utc = dt.datetime(2017, 6, 6, 7, 45, tzinfo=dt.timezone.utc)  # 08:45 BST
    assert cal.is_open(utc)
    with pytest.raises(ValueError, match="aware"):
        cal.is_open(dt.datetime(2017, 6, 6, 9, 0))
    assert cal.counting_start(utc) == utc and cal.counting_start(utc).tzinfo is LONDON
