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
        if not valuelist:  # not in the submission at all: keep the default (e.g. today)
            self.raw_data = None
            return
        parts = [str(v).strip() for v in valuelist][:3]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts
        if not any(parts):
            self.data = None
            return
        label = self.label.text
        if not all(parts):
            missing = [name for name, part in zip(("day", "month", "year"), parts) if not part]
            self.data = None
            raise ValueError(f"{label} must include a {' and '.join(missing)}")
        if not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
            self.data = None
            raise ValueError(f"{label} must be a real date, like 27 3 2026")
        try:
            self.data = date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            self.data = None
            raise ValueError(f"{label} must be a real date, like 27 3 2026") from None


class WholeNumberField(StringField):
    """A count typed by a person ("1,200" is fine); blank is None; the error names the field and keeps
    what was typed."""

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, *, maximum: int = 10_000_000, example: str = "20",
                 unit: str = "", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.maximum, self.example, self.unit = maximum, example, unit

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip().replace(",", "")
        self.data = None
        if self.raw:
            if not self.raw.isdigit() or int(self.raw) > self.maximum:
                unit = f" of {self.unit}" if self.unit else ""
                raise ValueError(f"{self.label.text} must be a whole number{unit}, like {self.example}")
            self.data = int(self.raw)

    def _value(self):
        return getattr(self, "raw", None) or ("" if self.data is None else str(self.data))


class PoundsField(StringField):
    """Pounds and pence as typed ("12.50", "£1,200") into integer pence; blank is None."""

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, *, example: str = "15.00", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.example = example

    def process_formdata(self, valuelist):
        from .money import parse_pounds

        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if self.raw:
            try:
                self.data = parse_pounds(self.raw)
            except ValueError:
                raise ValueError(f"{self.label.text} must be an amount in pounds and pence, "
                                 f"like {self.example}") from None
            if self.data < 0:
                self.data = None
                raise ValueError(f"{self.label.text} must be 0 or more")

    def _value(self):
        if getattr(self, "raw", None):
            return self.raw
        return "" if self.data is None else f"{self.data / 100:.2f}"


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
