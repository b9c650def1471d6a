"""How people at the council read dates and times: "13 April 2017", "3:00pm", in Europe/London."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    """The single source of "now", aware and in UTC, as every column stores it."""
    return datetime.now(timezone.utc)


def to_london(value: datetime) -> datetime:
    return value.astimezone(LONDON)


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_london(value).date()
    return f"{value.day} {value:%B %Y}"


def format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    local = to_london(value)
    hour = local.hour % 12 or 12
    return f"{hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{format_date(value)} at {format_time(value)}"


def parse_local(text: str) -> datetime:
    """Reads "YYYY-MM-DDTHH:MM" (or with a UTC offset) as London time; raises ValueError otherwise."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=LONDON)
    return value


def format_percent(value: float | None) -> str:
    """95 -> "95%", 97.5 -> "97.5%": whole numbers stay whole, as the SLA writes them."""
    if value is None:
        return ""
    rounded = round(float(value), 1)
    return f"{int(rounded)}%" if rounded == int(rounded) else f"{rounded}%"
