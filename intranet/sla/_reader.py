"""A small reader for validating a nested YAML document into typed values.

Why not a schema library: the messages must name the exact key path and
say what was expected in the council's words (``kpis.answered_calls.target:
expected a percentage 0-100, got 140``), and every error must be collected
before anything is raised, so an administrator fixes a site file in one go.
Each accessor records an error and returns ``None`` instead of raising; the
caller builds its objects regardless and the loader raises once at the end.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Iterator

_MISSING = object()
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class RulesError(Exception):
    """Every problem found in a rules document, each naming its key path."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors) if self.errors else "invalid rules")


def describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Reader:
    """A view on one mapping of the document, at a known key path."""

    def __init__(self, data: Any, path: str, errors: list[str]):
        self.path = path
        self.errors = errors
        self.ok = isinstance(data, dict)
        self.data: dict = data if self.ok else {}
        self._seen: set[str] = set()
        if not self.ok:
            self.error(f"expected a mapping, got {describe(data)}")

    # -- plumbing ---------------------------------------------------------
    def child_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else str(key)

    def error(self, message: str, key: str | None = None) -> None:
        path = self.child_path(key) if key is not None else (self.path or "(top)")
        self.errors.append(f"{path}: {message}")

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            if self.ok:
                self.error("missing", key)
            return _MISSING
        return default

    def done(self) -> None:
        """Report keys nobody asked for: a typo must not be silently ignored."""
        for key in self.data:
            if key not in self._seen:
                self.error("unknown key", str(key))

    def _typed(self, key: str, default: Any, check: Callable[[Any], Any]) -> Any:
        value = self.raw(key, default)
        if value is _MISSING:
            return None
        if default is not _MISSING and value is default:
            return value
        return check(value)

    # -- scalars ----------------------------------------------------------
    def str(self, key: str, default: Any = _MISSING, nonempty: bool = True) -> Any:
        def check(v: Any) -> Any:
            if not isinstance(v, str) or (nonempty and not v.strip()):
                self.error(f"expected {'a non-empty ' if nonempty else 'a '}text, got {describe(v)}", key)
                return None
            return v
        return self._typed(key, default, check)

    def bool(self, key: str, default: Any = _MISSING) -> Any:
        def check(v: Any) -> Any:
            if not isinstance(v, bool):
                self.error(f"expected true or false, got {describe(v)}", key)
                return None
            return v
        return self._typed(key, default, check)

    def int(self, key: str, default: Any = _MISSING, minimum: int | None = 0,
            maximum: int | None = None, what: str = "a whole number") -> Any:
        def check(v: Any) -> Any:
            if not isinstance(v, int) or isinstance(v, bool):
                self.error(f"expected {what}, got {describe(v)}", key)
                return None
            if minimum is not None and v < minimum:
                self.error(f"expected {what} of at least {minimum}, got {v}", key)
                return None
            if maximum is not None and v > maximum:
                self.error(f"expected {what} of at most {maximum}, got {v}", key)
                return None
            return v
        return self._typed(key, default, check)

    def number(self, key: str, default: Any = _MISSING, minimum: float | None = 0,
               maximum: float | None = None, positive: bool = False,
               what: str = "a number") -> Any:
        def check(v: Any) -> Any:
            if not is_number(v):
                self.error(f"expected {what}, got {describe(v)}", key)
                return None
            if positive and v <= 0:
                self.error(f"expected {what} greater than 0, got {v}", key)
                return None
            if minimum is not None and v < minimum:
                self.error(f"expected {what} of at least {minimum}, got {v}", key)
                return None
            if maximum is not None and v > maximum:
                self.error(f"expected {what} of at most {maximum}, got {v}", key)
                return None
            return v
        return self._typed(key, default, check)

    def percent(self, key: str, default: Any = _MISSING) -> Any:
        def check(v: Any) -> Any:
            if not is_number(v) or not 0 <= v <= 100:
                self.error(f"expected a percentage 0-100, got {describe(v)}", key)
                return None
            return v
        return self._typed(key, default, check)

    def fraction(self, key: str, default: Any = _MISSING) -> Any:
        def check(v: Any) -> Any:
            if not is_number(v) or not 0 <= v <= 1:
                self.error(f"expected a fraction 0-1, got {describe(v)}", key)
                return None
            return v
        return self._typed(key, default, check)

    def date(self, key: str, default: Any = _MISSING) -> Any:
        def check(v: Any) -> Any:
            return parse_date(v, lambda m: self.error(m, key))
        return self._typed(key, default, check)

    def time(self, key: str, default: Any = _MISSING) -> Any:
        def check(v: Any) -> Any:
            if isinstance(v, str) and _TIME_RE.match(v):
                hours, minutes = v.split(":")
                return dt.time(int(hours), int(minutes))
            self.error(f'expected a time "HH:MM" (quoted), got {describe(v)}', key)
            return None
        return self._typed(key, default, check)

    def choice(self, key: str, choices: Iterator[str] | tuple[str, ...], default: Any = _MISSING) -> Any:
        options = tuple(choices)

        def check(v: Any) -> Any:
            if v not in options:
                self.error(f"expected one of {', '.join(options)}, got {describe(v)}", key)
                return None
            return v
        return self._typed(key, default, check)

    # -- containers -------------------------------------------------------
    def mapping(self, key: str, default: Any = _MISSING) -> "Reader":
        value = self.raw(key, default)
        if value is _MISSING:
            return Reader({}, self.child_path(key), [])  # silent: already reported
        return Reader(value, self.child_path(key), self.errors)

    def list(self, key: str, default: Any = _MISSING) -> list[tuple[str, Any]]:
        """(path, item) pairs, so each item's errors name its position."""
        value = self.raw(key, default)
        if value is _MISSING:
            return []
        if value is None and default is not _MISSING:
            return []
        if not isinstance(value, list):
            self.error(f"expected a list, got {describe(value)}", key)
            return []
        return [(f"{self.child_path(key)}[{i}]", item) for i, item in enumerate(value)]

    def keys(self) -> list[str]:
        """Names of a free-keyed mapping (e.g. kpis), checked as codes."""
        out = []
        for key in list(self.data):
            self._seen.add(key)
            if not isinstance(key, str) or not re.match(r"^[a-z][a-z0-9_]*$", key):
                self.error("expected a lower_snake_case name", str(key))
                continue
            out.append(key)
        return out

    def items(self) -> list[tuple[str, "Reader"]]:
        """Free-keyed mapping whose values are mappings themselves."""
        return [(k, Reader(self.data[k], self.child_path(k), self.errors)) for k in self.keys()]

    def str_list(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        out = []
        for path, item in self.list(key, default):
            if not isinstance(item, str) or not item.strip():
                self.errors.append(f"{path}: expected a non-empty text, got {describe(item)}")
            else:
                out.append(item)
        return tuple(out)


def parse_date(value: Any, report: Callable[[str], None]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        report(f"expected a date YYYY-MM-DD, got a date and time {value.isoformat()}")
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    report(f"expected a date YYYY-MM-DD, got {describe(value)}")
    return None
