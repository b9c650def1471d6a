"""Deadlines and statuses for many items at once (KPI runs, the bench).

Same rules and convention as ``clocks.py`` but on UTC epoch seconds and
precomputed tables, because a KPI over a year of items must not cost a
datetime conversion per item. Time is cut into UTC *slots* short enough
that, inside one slot, the local UTC offset is constant and the service is
either open or closed throughout; each slot stores the working index at
which its receipts fall due and its working-time position. An item then
costs two or three list look-ups. ``tests/sla`` checks it against
``deadline_for`` on random receipts.
"""

from __future__ import annotations

import datetime as dt
from math import gcd
from typing import Sequence

from .calendar import calendar_for
from .model import Rules

__all__ = ["BatchClock"]

_UTC = dt.timezone.utc


class BatchClock:
    """One clock's deadlines for receipts between ``first`` and ``last`` (local dates)."""

    def __init__(self, rules: Rules, clock_name: str, first: dt.date, last: dt.date):
        self.rules = rules
        self.clock = clock = rules.clock(clock_name)
        cal = self.cal = calendar_for(rules.calendar)
        tz = cal.tz
        D = self.day_seconds = cal.day_seconds
        open_s = cal.open_time.hour * 3600 + cal.open_time.minute * 60
        close_s = open_s + D
        slot = gcd(gcd(open_s, close_s), 1800) or 60
        lo = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), tzinfo=tz)
        hi = dt.datetime.combine(last + dt.timedelta(days=2), dt.time(), tzinfo=tz)
        lo_e, hi_e = int(lo.timestamp()), int(hi.timestamp())
        # A zone whose offsets or changes are not on slot boundaries gets minute slots.
        probe = lo
        while probe < hi:
            off = int(probe.utcoffset().total_seconds())
            if off % slot:
                slot = 60
                break
            probe += dt.timedelta(days=30)
        self.slot = slot
        self.slot0 = lo_e // slot
        n_slots = hi_e // slot - self.slot0 + 1

        due_k: list[int] = []
        wpos: list[int] = []
        rate: list[int] = []
        index, is_working = cal.index, cal.is_working_day
        length = clock.length
        day_cache: dict[dt.date, tuple[int, int, bool]] = {}
        for j in range(n_slots):
            e = (self.slot0 + j) * slot
            local = dt.datetime.fromtimestamp(e, tz)
            day = local.date()
            sod = local.hour * 3600 + local.minute * 60 + local.second
            if day not in day_cache:
                day_cache[day] = (index(day), index(day + dt.timedelta(days=1)), is_working(day))
            k_today, k_next, working = day_cache[day]
            k0 = k_today if sod < close_s else k_next  # day 0's working index
            if clock.unit == "working_days":
                due_k.append(k0 + length)
            elif clock.unit in ("calendar_days", "weeks"):
                days = length * 7 if clock.unit == "weeks" else length
                due_k.append(index(cal.date_at(k0) + dt.timedelta(days=days)))
            else:
                nxt = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
                due_k.append(index(nxt) + length - 1)
            inside = working and open_s <= sod < close_s
            wpos.append(k_today * D + (min(max(sod - open_s, 0), D) if working else 0))
            rate.append(1 if inside else 0)
        self._due_k, self._wpos, self._rate = due_k, wpos, rate
        # open/close epochs per working index, with room for long pauses
        self.k_lo = min(due_k) - 1 if due_k else 0
        k_hi = max(due_k) + 400
        self._open_e = []
        self._close_e = []
        for k in range(self.k_lo, k_hi + 1):
            d = cal.date_at(k)
            self._open_e.append(int(cal.opens_at(d).timestamp()))
            self._close_e.append(int(cal.closes_at(d).timestamp()))
        self._lo_e, self._hi_e = lo_e, hi_e

    # ------------------------------------------------------------------
    def _check(self, epochs: Sequence[int]) -> None:
        if epochs and (min(epochs) < self._lo_e or max(epochs) >= self._hi_e):
            raise ValueError("a receipt falls outside the dates this BatchClock was built for")

    def deadlines(self, received: Sequence[int]) -> list[int]:
        """Deadline epoch (UTC seconds) for each receipt epoch, no pauses."""
        self._check(received)
        S, s0, due_k, close_e, k_lo = self.slot, self.slot0, self._due_k, self._close_e, self.k_lo
        return [close_e[due_k[e // S - s0] - k_lo] for e in received]

    def position(self, epoch: int) -> int:
        j = epoch // self.slot - self.slot0
        return self._wpos[j] + self._rate[j] * (epoch - (self.slot0 + j) * self.slot)

    def deadlines_paused(self, received: Sequence[int],
                         pauses: Sequence[Sequence[tuple[int, int]] | None]) -> list[int]:
        """As ``deadlines`` with each item's pauses ((from, to) epochs, or None)."""
        self._check(received)
        S, s0, due_k, close_e, open_e = self.slot, self.slot0, self._due_k, self._close_e, self._open_e
        k_lo, D, pos = self.k_lo, self.day_seconds, self._position_any
        out = []
        for e, ps in zip(received, pauses):
            k = due_k[e // S - s0]
            if not ps:
                out.append(close_e[k - k_lo])
                continue
            start = pos(e)
            p = (k + 1) * D
            spans = sorted((max(pos(a), start), pos(b)) for a, b in ps)
            last_end = start
            for pa, pb in spans:
                pa = max(pa, last_end)  # overlapping pauses count once
                if pb <= pa:
                    continue
                if pa >= p:
                    break
                p += pb - pa
                last_end = max(last_end, pb)
            kk, off = divmod(p, D)
            out.append(close_e[kk - 1 - k_lo] if off == 0 else open_e[kk - k_lo] + off)
        return out

    def statuses(self, received: Sequence[int], deadlines: Sequence[int], now: int,
                 completed: Sequence[int | None] | None = None) -> list[str]:
        """Status of each item, with the same at-risk rule as ``clock_status``
        (started_at = receipt). Working-time positions of deadlines are
        derived from their epochs, so paused deadlines work too."""
        ar = self.rules.at_risk
        hours_s = ar.working_hours_left * 3600
        frac = ar.fraction_of_clock_left
        w_now = self._position_any(now)
        S, s0, wpos, rate = self.slot, self.slot0, self._wpos, self._rate
        closes = {c: (i + self.k_lo + 1) * self.day_seconds for i, c in enumerate(self._close_e)}
        out = []
        append = out.append
        if completed is None:
            completed = [None] * len(received)
        for e, d, c in zip(received, deadlines, completed):
            if c is not None:
                append("met_on_time" if c <= d else "met_late")
            elif now > d:
                append("breached")
            else:
                pd = closes.get(d)
                if pd is None:
                    pd = self._position_any(d)
                left = pd - w_now
                if left <= hours_s:
                    append("at_risk")
                else:
                    j = e // S - s0
                    total = pd - (wpos[j] + rate[j] * (e - (s0 + j) * S))
                    append("at_risk" if left <= frac * total else "on_track")
        return out

    def _position_any(self, epoch: int) -> int:
        if self._lo_e <= epoch < self._hi_e:
            return self.position(epoch)
        return self.cal.position(dt.datetime.fromtimestamp(epoch, _UTC))
