"""The what-if and period forms of the staffing pages.

The what-if has one volume and one handling-time box per workload row of the rules, so its fields
are not known until the rules are read; it is parsed here from the query string (a GET form, so any
what-if is a shareable link) into the model's own inputs, with an error per box that names the row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from flask_wtf import FlaskForm
from wtforms.validators import Optional

from ..formfields import GovDateField
from ..sla import Rules
from .model import MAX_HANDLING_MINUTES, MAX_VOLUME, Activity, number_text, sla_activities

_NUMBER_RE = re.compile(r"^\d{1,9}(\.\d{1,4})?$")


@dataclass
class Box:
    """One input box of the what-if: its name, label, what was typed and any error."""

    name: str
    label: str
    value: str
    error: str = ""
    suffix: str = ""

    @property
    def id(self) -> str:
        return self.name


@dataclass
class WhatIfRow:
    activity: Activity
    volume: Box
    minutes: Box


@dataclass
class WhatIf:
    rows: list[WhatIfRow]
    productive_hours: Box
    activities: list[Activity]
    productive_hours_value: float
    changed: bool
    errors: dict[str, str] = field(default_factory=dict)  # box id -> message, in page order

    def query(self) -> dict[str, str]:
        """The what-if as query arguments (only the boxes that differ from the rules), for links."""
        return dict(self._query)

    _query: dict[str, str] = field(default_factory=dict)


def _number(text: str, label: str, *, minimum: float, maximum: float, allow_zero: bool) -> tuple[float | None, str]:
    cleaned = text.strip().replace(",", "")
    if not _NUMBER_RE.match(cleaned):
        return None, f"{label} must be a number, like 12.5"
    value = float(cleaned)
    if value < minimum or (value == 0 and not allow_zero):
        return None, f"{label} must be {'0 or more' if allow_zero else 'more than 0'}"
    if value > maximum:
        return None, f"{label} must be {number_text(maximum)} or less"
    return value, ""


def parse_what_if(args, rules: Rules) -> WhatIf:
    """Reads `<code>-volume`, `<code>-minutes` and `productive-hours`; a missing box keeps the rules' value."""
    staffing = rules.staffing
    rows, activities, errors, query = [], [], {}, {}
    changed = False
    for a in sla_activities(staffing):
        volume_label = f"{a.title}: {'total a year' if a.per_year else 'per day'}"
        minutes_label = f"{a.title}: handling minutes"
        vbox = Box(f"{a.code}-volume", volume_label, number_text(a.volume, 4).replace(",", ""))
        mbox = Box(f"{a.code}-minutes", minutes_label, number_text(a.handling_minutes, 4), suffix="minutes")
        current = a
        typed = args.get(vbox.name)
        if typed is not None and typed.strip() != vbox.value:
            vbox.value = typed
            value, vbox.error = _number(typed, volume_label, minimum=0, maximum=MAX_VOLUME, allow_zero=True)
            if value is not None:
                current = current.with_volume(value)
                changed = changed or value != a.volume
                query[vbox.name] = typed.strip()
        typed = args.get(mbox.name)
        if typed is not None and typed.strip() != mbox.value:
            mbox.value = typed
            value, mbox.error = _number(typed, minutes_label, minimum=0, maximum=MAX_HANDLING_MINUTES,
                                        allow_zero=False)
            if value is not None:
                current = replace(current, handling_minutes=value)
                changed = changed or value != a.handling_minutes
                query[mbox.name] = typed.strip()
        for box in (vbox, mbox):
            if box.error:
                errors[box.id] = box.error
        rows.append(WhatIfRow(current, vbox, mbox))
        activities.append(current)
    default_hours = staffing.productive_hours_per_fte_week
    hbox = Box("productive-hours", "Productive hours per FTE week", number_text(default_hours, 4), suffix="hours")
    hours = default_hours
    typed = args.get(hbox.name)
    if typed is not None and typed.strip() != hbox.value:
        hbox.value = typed
        value, hbox.error = _number(typed, hbox.label, minimum=0, maximum=168, allow_zero=False)
        if value is not None:
            hours = value
            changed = changed or value != default_hours
            query[hbox.name] = typed.strip()
        else:
            errors[hbox.id] = hbox.error
    return WhatIf(rows, hbox, activities, hours, changed, errors, query)


class PeriodForm(FlaskForm):
    """The period of the live model (a GET form: no CSRF token, so the URL can be shared)."""

    class Meta:
        csrf = False

    start = GovDateField("From", validators=[Optional()])
    end = GovDateField("To", validators=[Optional()])


def check_period(start: date | None, end: date | None) -> dict[str, str]:
    errors = {}
    if start and end and end < start:
        errors["end"] = "To must be on or after From"
    elif start and end and (end - start).days > 366 * 3:
        errors["end"] = "Choose a period of three years or less"
    return errors
