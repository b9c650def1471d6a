"""The KPI calculations: pure functions over counts already read from the database.

Kept free of queries so the CLI, the KPI tables, the pack and the bench judge a figure the same way,
and so the rules of judgement (no data is never 0% or 100%; an emergency moves the target; the rules
of the period's own time apply) are tested without a database.
"""
from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date, datetime, time

from ..sla import Rules
from ..sla.targets import amber_limit, effective_target, rag
from ..timefmt import LONDON

NO_DATA = "no data"
STATUS_WORDS = {"green": "Met", "amber": "Near target", "red": "Missed", NO_DATA: "No data"}
CSV_COLUMNS = ("kpi", "period", "value", "numerator", "denominator", "target", "direction", "status")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """"2017-04" -> Month; ValueError naming the problem."""
        value = (text or "").strip()
        parts = value.split("-")
        if len(parts) != 2 or len(parts[0]) != 4 or not all(p.isdigit() for p in parts) \
                or not 1 <= int(parts[1]) <= 12 or len(parts[1]) != 2:
            raise ValueError(f"expected YYYY-MM, for example 2017-04 (got {value[:20]!r})")
        return cls(int(parts[0]), int(parts[1]))

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, pycalendar.monthrange(self.year, self.month)[1])

    def shift(self, n: int) -> "Month":
        index = self.year * 12 + self.month - 1 + n
        return Month(index // 12, index % 12 + 1)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) of the month as aware datetimes: midnight London, whatever the clocks did."""
        nxt = self.shift(1)
        return (datetime.combine(self.first, time(0), LONDON), datetime.combine(nxt.first, time(0), LONDON))

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.first:%B %Y}"

    def __str__(self) -> str:
        return self.key


def financial_year_start(month: Month, start_month: int = 4) -> Month:
    """The first month of the financial year (April to March) a month belongs to."""
    year = month.year if month.month >= start_month else month.year - 1
    return Month(year, start_month)


@dataclass(frozen=True)
class Count:
    """What was counted for a KPI over its period, before judgement."""

    numerator: int
    denominator: int
    period_start: Month
    period_end: Month
    note: str = ""


@dataclass(frozen=True)
class KpiResult:
    name: str
    title: str
    category: str
    period: str  # "2017-04", or "2016-04/2017-04" for an annual KPI's year to date
    period_label: str
    numerator: int
    denominator: int
    value: float | None  # a percentage, None when there is nothing to measure
    target: float
    normal_target: float
    direction: str
    frequency: str
    status: str  # green / amber / red / no data
    emergency: bool
    red_line: float
    note: str = ""

    @property
    def status_words(self) -> str:
        return STATUS_WORDS[self.status]

    @property
    def value_text(self) -> str:
        return "" if self.value is None else f"{self.value:.1f}"

    @property
    def direction_words(self) -> str:
        return "at least" if self.direction == "at_least" else "at most"

    def csv_row(self) -> list[str]:
        return [self.name, self.period, self.value_text, str(self.numerator), str(self.denominator),
                _number(self.target), self.direction, self.status]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def percentage(numerator: int, denominator: int) -> float | None:
    """None (no data) when nothing was measured: a month without calls is not 0% answered."""
    if denominator <= 0:
        return None
    return round(100.0 * numerator / denominator, 1)


def judge(rules: Rules, name: str, count: Count | None, emergency: bool) -> KpiResult:
    """One KPI for one period: value, target (reduced in an emergency) and RAG."""
    kpi = rules.kpi(name)
    count = count or Count(0, 0, Month(1, 1), Month(1, 1), "No measure for this KPI yet")
    value = percentage(count.numerator, count.denominator)
    status = NO_DATA if value is None else rag(rules, name, value, emergency)
    if count.period_start == count.period_end:
        period, label = count.period_end.key, count.period_end.label
    else:
        period = f"{count.period_start.key}/{count.period_end.key}"
        label = f"{count.period_start.label} to {count.period_end.label}"
    return KpiResult(
        name=name, title=kpi.title, category=kpi.category, period=period, period_label=label,
        numerator=count.numerator, denominator=count.denominator, value=value,
        target=effective_target(rules, name, emergency), normal_target=kpi.target, direction=kpi.direction,
        frequency=kpi.frequency, status=status, emergency=emergency,
        red_line=amber_limit(rules, name, emergency), note=count.note)


def quality_count(averages: dict[int, float], benchmark: float) -> tuple[int, int]:
    """Staff evaluated in the month and how many of them averaged the benchmark score or better."""
    return sum(1 for avg in averages.values() if avg >= benchmark), len(averages)


@dataclass
class MonthKpis:
    month: Month
    results: list[KpiResult] = field(default_factory=list)
    emergency: bool = False
    emergencies: list = field(default_factory=list)

    def get(self, name: str) -> KpiResult | None:
        return next((r for r in self.results if r.name == name), None)
