"""Form fields shared by every area, with GOV.UK-style messages."""
from __future__ import annotations

import re
from datetime import date

from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovTextInput
from wtforms import DateField, StringField


class GovDateField(DateField):
    """Day, month and year boxes (GOV.UK date input), read leniently ("7" and "07" both work).

    The widget needs exactly three raw values; anything else (a tampered or partial post) is
    padded so the page re-renders with a message instead of failing.
    """

    widget = GovDateInput()

    def __init__(self, label=None, validators=None, format="%d %m %Y", **kwargs):
        super().__init__(label, validators, format=format, **kwargs)

    def process_formdata(self, valuelist):
        parts = [str(v).strip() for v in (valuelist or [])][:3]
        if valuelist is not None and len(parts) < 3:
            parts += [""] * (3 - len(parts))
        self.raw_data = parts if valuelist is not None else None
        if not valuelist or not any(parts):
            self.data = None
            return
        label = self.label.text
        if not all(parts):
            missing = [name for name, part in zip(("day", "month", "year"), parts) if not part]
            self.data = None
            raise ValueError(f"{label} must include a {' and '.join(missing)}")
        if not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
            self.data = None
            raise ValueError(f"{label} must be a real date")
        try:
            self.data = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            self.data = None
            raise ValueError(f"{label} must be a real date") from None


class TimeField(StringField):
    """"9:30am", "2:15pm" or "14:30", as people type times; the result is in `parsed` as (hour, minute)."""

    widget = GovTextInput()
    parsed: tuple[int, int] | None = None

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.parsed = None
        text = (self.data or "").strip().lower().replace(".", ":").replace(" ", "")
        if not text:
            return
        match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", text)
        if not match:
            raise ValueError("Enter a real time, like 9:30am or 14:30")
        hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        if half:
            if not 1 <= hour <= 12:
                raise ValueError("Enter a real time, like 9:30am or 14:30")
            hour = hour % 12 + (12 if half == "pm" else 0)
        if hour > 23 or minute > 59:
            raise ValueError("Enter a real time, like 9:30am or 14:30")
        self.parsed = (hour, minute)


def time_text(hour: int, minute: int) -> str:
    return f"{hour % 12 or 12}:{minute:02d}{'am' if hour < 12 else 'pm'}"


class DateRequired:
    """Like InputRequired, but keeps the date field's own message ("must include a day") when there is one:
    InputRequired would clear it and say only "Enter the date"."""

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        from wtforms.validators import StopValidation

        if field.process_errors:
            raise StopValidation()
        if field.data is None:
            field.errors[:] = []
            raise StopValidation(self.message)
