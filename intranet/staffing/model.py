"""The SLA's staffing breakdown as pure functions: volumes x handling times -> hours -> FTE.

No database and no Flask, so the SLA page, the what-if, the live model, the KPI pack, the CSV and
the tests all compute a figure the same way.

How the SLA's printed table is reproduced (every figure is tested):

- Per day: a row stated per year is the year's total over its working days, unrounded
  (11,238 / 253 = 44.4190); a row stated per day uses that figure (41, 78, 30, 1). The "Avg. per
  day" column shows the per-year rows rounded to a whole number (44, 73) as the SLA does.
- Daily time = per day x handling minutes, kept unrounded; weekly = daily x working days a week
  (5, from the calendar rules); the sums add the unrounded values. Only the display rounds, to the
  nearest second (half up), which is what a spreadsheet's h:mm:ss format does: residents
  15,990.83 s shows as 04:26:31 (truncating would print 04:26:30, which the SLA does not), and the
  daily sum 56,651.62 s as 15:44:12.
- The SLA prints daily and handling times with two-digit hours (00:41:00) and weekly times without
  (3:25:00); both styles are kept.
- FTE = weekly hours / productive hours per FTE week (27.75 in the rules, an assumption: the SLA's
  FTE column holds for any value from 27.61 to 28.61), shown to one decimal, half up; the total is
  the unrounded sum.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping

from ..sla.model import Staffing, Workload

MAX_VOLUME = 10_000_000
MAX_HANDLING_MINUTES = 240


def half_up(value: float, places: int = 0) -> Decimal:
    """Rounds as people do (0.5 up), not as Python's round() does (to even)."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def hms(seconds: float, *, pad_hours: bool = True) -> str:
    """Seconds -> "04:26:31" (pad_hours) or "3:25:00", rounded to the nearest second, half up."""
    total = int(half_up(max(seconds, 0.0)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}" if pad_hours else f"{hours}:{minutes:02d}:{secs:02d}"


def number_text(value: float | None, places: int = 2) -> str:
    """41 -> "41", 3.5 -> "3.5", 44.4190 -> "44.42", with thousands separators: as people write them."""
    if value is None:
        return ""
    rounded = half_up(value, places)
    text = f"{rounded:,.{places}f}".rstrip("0").rstrip(".") if places else f"{rounded:,.0f}"
    return text


def fte_text(value: float) -> str:
    return f"{half_up(value, 1):.1f}"


@dataclass(frozen=True)
class Activity:
    """One row's inputs: a workload of the rules, possibly changed by a what-if or fed live volumes."""

    code: str
    title: str
    handling_minutes: float
    daily_volume: float | None = None
    annual_volume: float | None = None
    working_days: int | None = None
    observed_volume: int | None = None
    observed_working_days: int | None = None
    measure: str | None = None

    @classmethod
    def from_workload(cls, w: Workload) -> "Activity":
        return cls(code=w.code, title=w.title, handling_minutes=float(w.handling_minutes),
                   daily_volume=None if w.daily_volume is None else float(w.daily_volume),
                   annual_volume=None if w.annual_volume is None else float(w.annual_volume),
                   working_days=w.working_days, observed_volume=w.observed_volume,
                   observed_working_days=w.observed_working_days, measure=getattr(w, "measure", None))

    @property
    def per_year(self) -> bool:
        """Stated as a year's total over working days (the permits rows) rather than per day."""
        return self.daily_volume is None

    @property
    def volume(self) -> float:
        """The figure a person edits: the year's total for a per-year row, else the per-day figure."""
        return self.annual_volume if self.per_year else self.daily_volume  # type: ignore[return-value]

    def with_volume(self, volume: float) -> "Activity":
        return replace(self, annual_volume=volume) if self.per_year else replace(self, daily_volume=volume)

    @property
    def per_day(self) -> float:
        if self.per_year:
            return (self.annual_volume or 0) / self.working_days if self.working_days else 0.0
        return self.daily_volume or 0.0


@dataclass(frozen=True)
class Row:
    activity: Activity
    per_day: float
    daily_seconds: float
    weekly_seconds: float
    fte: float
    note: str = ""

    @property
    def code(self) -> str:
        return self.activity.code

    @property
    def title(self) -> str:
        return self.activity.title

    @property
    def total_shown(self) -> float | None:
        """The SLA's "Total issued" column: the year's total, or the observed count it quotes."""
        a = self.activity
        return a.annual_volume if a.per_year else a.observed_volume

    @property
    def total_text(self) -> str:
        """Printed as the SLA prints it (11238, 1996): no thousands separator."""
        total = self.total_shown
        return "" if total is None else number_text(total).replace(",", "")

    @property
    def days_shown(self) -> int | None:
        a = self.activity
        return a.working_days if a.per_year else a.observed_working_days

    @property
    def per_day_text(self) -> str:
        """Per-year rows rounded to whole numbers as the SLA prints them; per-day rows as given."""
        return number_text(self.per_day, 0 if self.activity.per_year else 2)

    @property
    def handling_text(self) -> str:
        return hms(self.activity.handling_minutes * 60)

    @property
    def daily_text(self) -> str:
        return hms(self.daily_seconds)

    @property
    def weekly_text(self) -> str:
        return hms(self.weekly_seconds, pad_hours=False)

    @property
    def fte_text(self) -> str:
        return fte_text(self.fte)


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]
    daily_seconds: float
    weekly_seconds: float
    fte: float
    funded_fte: float
    productive_hours: float
    days_per_week: int
    excluded: tuple[str, ...] = field(default=())  # rows without data, left out of the sums

    @property
    def daily_text(self) -> str:
        return hms(self.daily_seconds)

    @property
    def weekly_text(self) -> str:
        return hms(self.weekly_seconds, pad_hours=False)

    @property
    def weekly_hours(self) -> float:
        return self.weekly_seconds / 3600

    @property
    def fte_text(self) -> str:
        return fte_text(self.fte)

    @property
    def funded_text(self) -> str:
        return fte_text(self.funded_fte)

    @property
    def spare_fte(self) -> float:
        return self.funded_fte - self.fte

    @property
    def verdict(self) -> str:
        """Required against funded, in words (compared at the one decimal both are shown to)."""
        required, funded = half_up(self.fte, 1), half_up(self.funded_fte, 1)
        if required == funded:
            return f"The work needs {required} FTE, exactly the {funded} FTE funded"
        if required < funded:
            return f"The work needs {required} FTE of the {funded} FTE funded: {funded - required} FTE to spare"
        return f"The work needs {required} FTE but {funded} FTE is funded: {required - funded} FTE short"

    @property
    def over_funded(self) -> bool:
        return half_up(self.fte, 1) > half_up(self.funded_fte, 1)


def disagreement(a: Activity) -> str:
    """Where the SLA's own figures for a row disagree (1,996 calls over 110 days is 18.1 a day, not 78)."""
    if a.observed_volume is None or not a.observed_working_days or a.per_year:
        return ""
    observed = a.observed_volume / a.observed_working_days
    if half_up(observed, 1) == half_up(a.per_day, 1):
        return ""
    return (f"The SLA's own figures disagree: {a.observed_volume:,} over {a.observed_working_days} working days is "
            f"{number_text(observed, 1)} a day, not {number_text(a.per_day)}. The model uses "
            f"{number_text(a.per_day)} a day, as the SLA's table does.")


def build_table(activities: Iterable[Activity], *, productive_hours: float, days_per_week: int,
                funded_fte: float, notes: Mapping[str, str] | None = None,
                excluded: Iterable[str] = ()) -> Table:
    """The staffing table for these activities; `excluded` codes are shown without figures and not summed."""
    excluded = tuple(excluded)
    rows = []
    for a in activities:
        if a.code in excluded:
            continue
        per_day = a.per_day
        daily = per_day * a.handling_minutes * 60
        weekly = daily * days_per_week
        fte = weekly / 3600 / productive_hours
        note = (notes or {}).get(a.code, disagreement(a))
        rows.append(Row(a, per_day, daily, weekly, fte, note))
    daily_sum = sum(r.daily_seconds for r in rows)
    weekly_sum = sum(r.weekly_seconds for r in rows)
    return Table(tuple(rows), daily_sum, weekly_sum, weekly_sum / 3600 / productive_hours, funded_fte,
                 productive_hours, days_per_week, excluded)


def sla_activities(staffing: Staffing) -> list[Activity]:
    return [Activity.from_workload(w) for w in staffing.workloads]


def sla_table(staffing: Staffing, days_per_week: int) -> Table:
    """The SLA's own table, from the rules' inputs."""
    return build_table(sla_activities(staffing), productive_hours=staffing.productive_hours_per_fte_week,
                       days_per_week=days_per_week, funded_fte=staffing.funded_fte)


# --------------------------------------------------------------------------------------------
# Forward look: agreed changes' expected contacts, week by week
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChangeLoad:
    """An agreed change's expected extra work a week while it runs (end None: to the end of the look)."""

    reference: str
    title: str
    starts: date
    ends: date | None
    contacts_per_week: int
    minutes_per_week: float
    unpriced_contacts: int = 0  # contacts on channels with no handling time in the rules


@dataclass(frozen=True)
class Week:
    starts: date
    contacts: int
    extra_seconds: float
    total_seconds: float
    fte: float
    changes: tuple[str, ...]
    unpriced_contacts: int

    @property
    def extra_text(self) -> str:
        return hms(self.extra_seconds, pad_hours=False)

    @property
    def total_text(self) -> str:
        return hms(self.total_seconds, pad_hours=False)

    @property
    def fte_text(self) -> str:
        return fte_text(self.fte)


def forward_weeks(base: Table, loads: Iterable[ChangeLoad], first_monday: date, weeks: int) -> list[Week]:
    """Each week from `first_monday`: the base weekly hours plus the changes running that week."""
    loads = list(loads)
    out = []
    for i in range(weeks):
        start = first_monday + timedelta(weeks=i)
        end = start + timedelta(days=6)
        running = [c for c in loads if c.starts <= end and (c.ends is None or c.ends >= start)]
        extra = sum(c.minutes_per_week for c in running) * 60
        total = base.weekly_seconds + extra
        out.append(Week(start, sum(c.contacts_per_week for c in running), extra, total,
                        total / 3600 / base.productive_hours, tuple(c.reference for c in running),
                        sum(c.unpriced_contacts for c in running)))
    return out
