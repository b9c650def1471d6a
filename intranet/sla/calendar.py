"""Working days and service hours of the CSC, in Europe/London.

Deadlines are counted in working days and pauses in working time, for a
million open items at once, so nothing here loops over days or minutes.
The calendar is a precomputed table per date: ``cum[i]`` is the number of
working days before day ``i`` of the table and ``work[k]`` is the ordinal
of the k-th working day. Every question (is it a working day, the Nth
working day after, working time between two instants) is one or two list
look-ups.

Working-day *indexes* are counted from a fixed anchor (1 January 2000), so
they stay stable when the table grows to cover an earlier or later year.
A *working-time position* is ``index * day_seconds + seconds into the
service day``: the close of one working day and the opening of the next
are the same position, which is why a pause over a night costs nothing.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator
from zoneinfo import ZoneInfo

import holidays

from .model import CalendarRules

__all__ = ["WorkingCalendar", "NonWorkingDay", "calendar_for"]

ANCHOR = dt.date(2000, 1, 1)
_SPAN_YEARS = 20  # how far the table grows past a date it was asked about


@dataclass(frozen=True)
class NonWorkingDay:
    """A weekday the CSC is closed: a bank holiday or a council closure."""

    date: dt.date
    name: str
    source: str  # "bank holiday", "closure" or "bank holiday and closure"


@dataclass(frozen=True)
class _Table:
    first: int  # ordinal of the first date covered
    last: int  # ordinal of the last date covered
    cum: list  # cum[i]: working days in [first, first + i); len = days + 1
    work: list  # ordinals of working days, ascending
    anchor_cum: int  # cum at ANCHOR: indexes are cum - anchor_cum
    named: dict  # date -> NonWorkingDay for closed weekdays


@lru_cache(maxsize=16)
def calendar_for(rules: CalendarRules) -> "WorkingCalendar":
    """One shared calendar per set of calendar rules (building costs ~50 ms)."""
    return WorkingCalendar(rules)


class WorkingCalendar:
    def __init__(self, rules: CalendarRules, first_year: int = 2000, last_year: int = 2045):
        self.rules = rules
        self.tz = ZoneInfo(rules.timezone)
        self.open_time = rules.open
        self.close_time = rules.close
        self._open_s = rules.open.hour * 3600 + rules.open.minute * 60
        self._close_s = rules.close.hour * 3600 + rules.close.minute * 60
        self.day_seconds = self._close_s - self._open_s
        self._lock = threading.Lock()
        self._t = self._build(min(first_year, ANCHOR.year), max(last_year, ANCHOR.year))

    # ------------------------------------------------------------------
    # Table
    # ------------------------------------------------------------------
    def _build(self, first_year: int, last_year: int) -> _Table:
        r = self.rules
        first = dt.date(first_year, 1, 1).toordinal()
        last = dt.date(last_year, 12, 31).toordinal()
        bank = holidays.country_holidays(r.holiday_country, subdiv=r.holiday_subdivision,
                                         years=range(first_year, last_year + 1))
        closures: dict[dt.date, list[str]] = {}
        for c in r.closures:
            closures.setdefault(c.date, []).append(c.reason)
        named: dict[dt.date, NonWorkingDay] = {}
        weekdays = set(r.working_weekdays)
        cum = [0] * (last - first + 2)
        work = []
        n = 0
        for i, ordinal in enumerate(range(first, last + 1)):
            cum[i] = n
            day = dt.date.fromordinal(ordinal)
            if day.weekday() not in weekdays:
                continue  # weekend dates of substituted holidays are skipped here
            names, sources = [], []
            if day in bank:
                names.extend(bank.get_list(day))
                sources.append("bank holiday")
            if day in closures:
                names.extend(closures[day])
                sources.append("closure")
            if names:
                named[day] = NonWorkingDay(day, "; ".join(names), " and ".join(sources))
                continue
            work.append(ordinal)
            n += 1
        cum[-1] = n
        anchor_cum = cum[ANCHOR.toordinal() - first]
        return _Table(first, last, cum, work, anchor_cum, named)

    def _table_for(self, ordinal: int) -> _Table:
        t = self._t
        if t.first <= ordinal <= t.last:
            return t
        with self._lock:
            t = self._t
            if not t.first <= ordinal <= t.last:
                year = dt.date.fromordinal(ordinal).year
                first_year = dt.date.fromordinal(t.first).year
                last_year = dt.date.fromordinal(t.last).year
                if ordinal < t.first:
                    first_year = max(1, year - _SPAN_YEARS)
                else:
                    last_year = min(9998, year + _SPAN_YEARS)
                self._t = t = self._build(first_year, last_year)
        return t

    def _table_for_index(self, index: int) -> _Table:
        t = self._t
        while not 0 <= index + t.anchor_cum < len(t.work):
            probe = t.first - 1 if index + t.anchor_cum < 0 else t.last + 1
            t = self._table_for(probe)
        return t

    # ------------------------------------------------------------------
    # Days
    # ------------------------------------------------------------------
    def is_working_day(self, day: dt.date) -> bool:
        o = day.toordinal()
        t = self._table_for(o)
        i = o - t.first
        return t.cum[i + 1] != t.cum[i]

    def index(self, day: dt.date) -> int:
        """Working days from the anchor up to (not including) ``day``.

        For a working day that is its own index; for a closed day it is the
        index of the next working day, which is what counting needs.
        """
        o = day.toordinal()
        t = self._table_for(o)
        return t.cum[o - t.first] - t.anchor_cum

    def date_at(self, index: int) -> dt.date:
        t = self._table_for_index(index)
        return dt.date.fromordinal(t.work[index + t.anchor_cum])

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The Nth working day after ``day`` (n may be negative).

        From a closed day, n = 0 gives the next working day.
        """
        return self.date_at(self.index(day) + n)

    def next_working_day(self, day: dt.date, include_today: bool = True) -> dt.date:
        if include_today:
            return self.date_at(self.index(day))
        return self.date_at(self.index(day + dt.timedelta(days=1)))

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in [start, end)."""
        return self.index(end) - self.index(start)

    def non_working_reason(self, day: dt.date) -> NonWorkingDay | None:
        """Why a weekday is closed; None for a working day or a weekend."""
        return self._table_for(day.toordinal()).named.get(day)

    def non_working_weekdays(self, year: int) -> list[NonWorkingDay]:
        """Bank holidays and closures falling on working weekdays of ``year``."""
        t = self._table_for(dt.date(year, 12, 31).toordinal())
        t = self._table_for(dt.date(year, 1, 1).toordinal())
        return sorted((d for day, d in t.named.items() if day.year == year), key=lambda d: d.date)

    def next_non_working_weekdays(self, start: dt.date, count: int = 10) -> list[NonWorkingDay]:
        out: list[NonWorkingDay] = []
        year = start.year
        while len(out) < count and year <= 9998:
            out.extend(d for d in self.non_working_weekdays(year) if d.date >= start)
            year += 1
        return out[:count]

    def working_days(self, start: dt.date, end: dt.date) -> Iterator[dt.date]:
        """Working days in [start, end], for listing (e.g. in an explanation)."""
        for i in range(self.index(start), self.index(end + dt.timedelta(days=1))):
            yield self.date_at(i)

    # ------------------------------------------------------------------
    # Instants (aware datetimes; naive ones are refused: local wall-clock
    # times are ambiguous in the hour the clocks go back)
    # ------------------------------------------------------------------
    def local(self, when: dt.datetime) -> dt.datetime:
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("expected an aware datetime (UTC or with an offset), got a naive one")
        return when.astimezone(self.tz)

    def localize(self, naive: dt.datetime) -> dt.datetime:
        """A wall-clock time typed by a person, as an aware local datetime.

        In the hour that repeats when the clocks go back the earlier one is
        taken (fold=0); callers who know better pass an offset instead.
        """
        if naive.tzinfo is not None:
            return naive.astimezone(self.tz)
        return naive.replace(tzinfo=self.tz)

    def opens_at(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.open_time, tzinfo=self.tz)

    def closes_at(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.close_time, tzinfo=self.tz)

    def is_open(self, when: dt.datetime) -> bool:
        local = self.local(when)
        return self.is_working_day(local.date()) and self.open_time <= local.time() < self.close_time

    def next_opening(self, when: dt.datetime) -> dt.datetime:
        """The first opening of service at or after ``when``."""
        local = self.local(when)
        day = local.date()
        if self.is_working_day(day) and local.time() <= self.open_time:
            return self.opens_at(day)
        return self.opens_at(self.next_working_day(day, include_today=False))

    def counting_start(self, when: dt.datetime) -> dt.datetime:
        """When a clock starts: at receipt if the service is open, else at
        the next opening (DESIGN.md section 3). Closing time itself is closed."""
        return self.local(when) if self.is_open(when) else self.next_opening(when)

    def position(self, when: dt.datetime) -> int:
        """Working-time position of an instant, in seconds (see module doc)."""
        local = self.local(when)
        day = local.date()
        pos = self.index(day) * self.day_seconds
        if self.is_working_day(day):
            sod = local.hour * 3600 + local.minute * 60 + local.second
            pos += min(max(sod - self._open_s, 0), self.day_seconds)
        return pos

    def instant_at(self, position: int) -> dt.datetime:
        """The instant at a working-time position.

        A whole-day position is taken as the *close* of the earlier day, so
        a deadline is never pushed to the next morning's opening.
        """
        k, off = divmod(position, self.day_seconds)
        if off == 0:
            return self.closes_at(self.date_at(k - 1))
        return self.opens_at(self.date_at(k)) + dt.timedelta(seconds=off)

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Service-hours time on working days from ``start`` to ``end``
        (negative if ``end`` is earlier)."""
        return self.position(end) - self.position(start)

    def working_minutes_between(self, start: dt.datetime, end: dt.datetime) -> float:
        return self.working_seconds_between(start, end) / 60

    # ------------------------------------------------------------------
    # For batch work (see batch.py)
    # ------------------------------------------------------------------
    def index_range(self, start: dt.date, end: dt.date) -> tuple[list[int], int]:
        """(cum list, offset) covering [start, end]: index(d) == cum[d.toordinal() - start.toordinal()] - offset."""
        t = self._table_for(start.toordinal())
        t = self._table_for(end.toordinal())
        t = self._table_for(start.toordinal())
        a = start.toordinal() - t.first
        b = end.toordinal() - t.first
        return t.cum[a:b + 2], t.anchor_cum
