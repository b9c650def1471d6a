"""Properties of counting that must hold for any receipt, any clock."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from intranet.sla.batch import BatchClock
from intranet.sla.calendar import calendar_for
from intranet.sla.clocks import clock_status, deadline_for
from intranet.sla.rules import load_rules

RULES = load_rules()
CAL = calendar_for(RULES.calendar)
UTC = dt.timezone.utc
FAST = settings(max_examples=200, deadline=None)

instants = st.datetimes(min_value=dt.datetime(2016, 1, 1), max_value=dt.datetime(2027, 12, 1),
                        timezones=st.just(UTC)).map(lambda d: d.replace(second=0, microsecond=0))
clock_names = st.sampled_from(sorted(RULES.clocks))
pause_lists = st.lists(st.tuples(st.integers(-3 * 86400, 10 * 86400), st.integers(0, 4 * 86400)), max_size=3)


def as_pauses(received: dt.datetime, offsets: list[tuple[int, int]]):
    return [(received + dt.timedelta(seconds=a), received + dt.timedelta(seconds=a + d)) for a, d in offsets]


@FAST
@given(instants, clock_names)
def test_deadline_never_before_receipt(received, clock):
    assert deadline_for(RULES, clock, received) > received


@FAST
@given(instants, clock_names)
def test_without_pause_due_at_close_of_a_working_day(received, clock):
    due = deadline_for(RULES, clock, received)
    assert CAL.is_working_day(due.date())
    assert due.timetz().replace(tzinfo=None) == RULES.calendar.close
    assert due == CAL.closes_at(due.date())


@FAST
@given(st.dates(min_value=dt.date(2016, 1, 1), max_value=dt.date(2027, 12, 31)),
       st.integers(0, 300), st.integers(0, 300))
def test_n_then_m_working_days_is_n_plus_m(start, n, m):
    day = CAL.next_working_day(start)
    assert CAL.add_working_days(CAL.add_working_days(day, n), m) == CAL.add_working_days(day, n + m)
    assert CAL.index(CAL.add_working_days(day, n)) - CAL.index(day) == n


@FAST
@given(instants, pause_lists, pause_lists)
def test_a_pause_never_brings_a_deadline_earlier(received, pauses, more):
    plain = deadline_for(RULES, "permit_issue", received)
    paused = deadline_for(RULES, "permit_issue", received, pauses=as_pauses(received, pauses))
    assert paused >= plain
    both = deadline_for(RULES, "permit_issue", received, pauses=as_pauses(received, pauses + more))
    assert both >= paused


@FAST
@given(instants, instants, instants)
def test_working_time_adds_up(a, b, c):
    assert CAL.working_seconds_between(a, b) + CAL.working_seconds_between(b, c) == CAL.working_seconds_between(a, c)


BATCH = {name: BatchClock(RULES, name, dt.date(2016, 1, 1), dt.date(2018, 12, 31)) for name in RULES.clocks}
batch_instants = st.datetimes(min_value=dt.datetime(2016, 1, 2), max_value=dt.datetime(2018, 12, 30),
                              timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))


@FAST
@given(batch_instants, clock_names, batch_instants)
def test_batch_agrees_with_deadline_for(received, clock, now):
    b = BATCH[clock]
    e = int(received.timestamp())
    due = b.deadlines([e])[0]
    expected = deadline_for(RULES, clock, received)
    assert due == int(expected.timestamp())
    assert b.statuses([e], [due], int(now.timestamp()))[0] == clock_status(RULES, expected, now, started_at=received)


@FAST
@given(batch_instants, pause_lists)
def test_batch_agrees_with_deadline_for_with_pauses(received, offsets):
    pauses = as_pauses(received, offsets)
    expected = deadline_for(RULES, "permit_issue", received, pauses=pauses)
    e = int(received.timestamp())
    got = BATCH["permit_issue"].deadlines_paused([e], [[(int(a.timestamp()), int(b.timestamp())) for a, b in pauses]])
    assert got[0] == int(expected.timestamp())
