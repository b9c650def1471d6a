"""Import of the telephone system's interval statistics (CSV), all or nothing.

Why all or nothing: a half-imported file makes a month's answered-calls figure quietly wrong, and
nobody can tell which half went in. So every line is checked first and any problem rejects the whole
file, listing every bad line with its number and reason; only a clean file writes, in one transaction.

Times are Europe/London wall-clock times unless they carry a UTC offset. The hour that repeats when
the clocks go back (01:00-01:59 on the last Sunday of October) is ambiguous without an offset and is
refused rather than guessed; a time in the hour skipped when the clocks go forward does not exist.
Intervals outside service hours or on non-working days (by the rules in force on their day) are stored
but marked not counted, so the KPIs count only the hours the SLA promises to staff.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, tuple_

from .. import audit
from ..extensions import db
from ..service_rules import rules_in_force
from ..sla import calendar_for
from ..timefmt import LONDON
from .models import CallInterval, TelephonyImport

REQUIRED = ("interval_start", "offered", "answered", "abandoned")
OPTIONAL = ("interval_minutes", "answered_within_threshold", "average_wait_seconds", "queue")
DEFAULT_MINUTES = 30
_TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::00)?(Z|[+-]\d{2}:\d{2})?$")
MAX_PROBLEMS_SHOWN = 500


@dataclass
class ImportReport:
    """What an import did (or, with `problems`, why nothing was stored)."""

    rows: int = 0
    counted: int = 0
    not_counted: int = 0
    replaced: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    import_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary_lines(self) -> list[str]:
        lines = [f"{self.rows} interval{'s' if self.rows != 1 else ''} imported: {self.counted} counted in the KPIs, "
                 f"{self.not_counted} outside service hours or on non-working days (stored, not counted)"]
        if self.replaced:
            lines.append(f"{self.replaced} interval{'s' if self.replaced != 1 else ''} already stored were replaced")
        if self.ignored_columns:
            lines.append(f"Columns ignored: {', '.join(self.ignored_columns)}")
        return lines


class TelephonyImportError(ValueError):
    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__("; ".join(report.problems[:5]))


_OFFSETS: dict[str, timezone] = {"Z": timezone.utc}
_LOCAL_HOURS: dict[tuple[int, int, int, int], timedelta | str] = {}


def _offset(text: str, offset: str) -> timezone:
    tz = _OFFSETS.get(offset)
    if tz is None:
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        if hours > 14 or minutes > 59:
            raise ValueError(f"interval_start {text!r} has an impossible UTC offset")
        tz = _OFFSETS[offset] = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return tz


def _london_offset(naive: datetime) -> timedelta | str:
    """London's UTC offset for a wall-clock hour, or "gap"/"repeat" when the clocks change in it.
    Cached per hour: a file holds a few hundred distinct hours at most, and zoneinfo is slow per row."""
    key = (naive.year, naive.month, naive.day, naive.hour)
    known = _LOCAL_HOURS.get(key)
    if known is None:
        early, late = naive.replace(tzinfo=LONDON, fold=0), naive.replace(tzinfo=LONDON, fold=1)
        if early.astimezone(timezone.utc).astimezone(LONDON).replace(tzinfo=None) != naive:
            known = "gap"
        elif early.utcoffset() != late.utcoffset():
            known = "repeat"
        else:
            known = early.utcoffset()
        if len(_LOCAL_HOURS) > 100_000:
            _LOCAL_HOURS.clear()
        _LOCAL_HOURS[key] = known
    return known


def parse_interval_start(text: str) -> datetime:
    """"2030-10-27T01:30+01:00" or a London time -> aware UTC; ValueError says what is wrong."""
    text = text.strip()
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(f"interval_start {text[:40]!r} is not a time like 2017-04-03T08:30 "
                         "(optionally with a UTC offset, like 2030-10-27T01:30+01:00)")
    y, mo, d, h, mi, offset = m.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(h), int(mi))
    except ValueError:
        raise ValueError(f"interval_start {text!r} is not a real date and time") from None
    if offset:
        return naive.replace(tzinfo=_offset(text, offset)).astimezone(timezone.utc)
    known = _london_offset(naive)
    if known == "gap":
        raise ValueError(f"interval_start {text!r} does not exist: the clocks go forward that hour")
    if known == "repeat":
        raise ValueError(f"interval_start {text!r} is in the hour that repeats when the clocks go back: "
                         "add the UTC offset (+01:00 for the first, +00:00 for the second)")
    return (naive - known).replace(tzinfo=timezone.utc)


def _whole(column: str, raw: str, line_problems: list[str], optional: bool) -> int | None:
    """A count that is not plain digits: empty, negative or not a number (each its own message)."""
    if not raw:
        if not optional:
            line_problems.append(f"{column} is empty")
        return None
    if raw.isdigit():
        return int(raw)
    if raw.startswith("-") and raw[1:].isdigit():
        line_problems.append(f"{column} must not be negative (got {raw})")
    else:
        line_problems.append(f"{column} must be a whole number (got {raw[:20]!r})")
    return None


class _Counting:
    """Decides 'counted' with the rules in force on the interval's London day. Cached per UTC hour
    (a London day and its opening hours): a 100,000-line file has only a few thousand hours."""

    def __init__(self):
        self._hours: dict[datetime, tuple[bool, datetime, datetime]] = {}

    def counted(self, start_utc: datetime) -> bool:
        hour = start_utc.replace(minute=0, second=0, microsecond=0)
        known = self._hours.get(hour)
        if known is None:
            day = start_utc.astimezone(LONDON).date()
            cal = calendar_for(rules_in_force(day).calendar)
            working = cal.is_working_day(day)
            known = (True, cal.opens_at(day), cal.closes_at(day)) if working else (False, start_utc, start_utc)
            self._hours[hour] = known
        working, opens, closes = known
        return working and opens <= start_utc < closes


def read_file(content: bytes | str) -> tuple[list[dict], ImportReport]:
    """Checks every line; returns the rows to store and a report (with every problem, if any)."""
    report = ImportReport()
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            report.problems.append("The file is not UTF-8 text (save it from the telephone system as CSV, UTF-8)")
            return [], report
    else:
        text = content.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        report.problems.append("Line 1: the file is empty; expected a header row with "
                               f"{', '.join(REQUIRED)}")
        return [], report
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.problems.append(f"Line 1: the header is missing the column{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(missing)}")
        return [], report
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        report.problems.append(f"Line 1: the column{'s' if len(dupes) > 1 else ''} {', '.join(dupes)} "
                               "appear more than once")
        return [], report
    report.ignored_columns = [h for h in header if h not in REQUIRED + OPTIONAL]
    width = len(header)
    at = {name: header.index(name) for name in REQUIRED + OPTIONAL if name in header}
    numbers = [(name, at[name], name not in REQUIRED) for name in
               ("offered", "answered", "abandoned", "interval_minutes", "answered_within_threshold",
                "average_wait_seconds") if name in at]
    i_start, i_queue = at["interval_start"], at.get("queue")
    counting = _Counting()
    rows: list[dict] = []
    seen: dict[tuple[datetime, str], int] = {}
    for values in reader:
        number = reader.line_num
        if len(values) > width:
            report.problems.append(f"Line {number}: more values than columns in the header")
            continue
        if not any(v.strip() for v in values):
            continue  # a blank line, e.g. at the end of the file
        values += [""] * (width - len(values))
        line: list[str] = []
        start = None
        try:
            start = parse_interval_start(values[i_start])
        except ValueError as exc:
            line.append(str(exc))
        got: dict[str, int | None] = {}
        for name, index, optional in numbers:
            raw = values[index]
            if raw.isdigit():  # the fast path: almost every value
                got[name] = int(raw)
            else:
                got[name] = _whole(name, raw.strip(), line, optional)
        offered, answered, abandoned = got["offered"], got["answered"], got["abandoned"]
        minutes, within = got.get("interval_minutes"), got.get("answered_within_threshold")
        if minutes is not None and not 1 <= minutes <= 1440:
            line.append(f"interval_minutes must be between 1 and 1440 (got {minutes})")
        if offered is not None and answered is not None and abandoned is not None and answered + abandoned > offered:
            line.append(f"answered + abandoned ({answered} + {abandoned}) is more than offered ({offered})")
        if within is not None and answered is not None and within > answered:
            line.append(f"answered_within_threshold ({within}) is more than answered ({answered})")
        queue = values[i_queue].strip() if i_queue is not None else ""
        if len(queue) > 60:
            line.append("queue is longer than 60 characters")
        if start is not None:
            key = (start, queue)
            first_line = seen.get(key)
            if first_line is not None:
                line.append(f"the interval {values[i_start].strip()}{' for queue ' + queue if queue else ''} "
                            f"is already given on line {first_line}")
            else:
                seen[key] = number
        if line:
            report.problems.append(f"Line {number}: {'; '.join(line)}")
            continue
        rows.append({"interval_start": start, "interval_minutes": minutes or DEFAULT_MINUTES, "queue": queue,
                     "offered": offered, "answered": answered, "abandoned": abandoned,
                     "answered_within_threshold": within, "average_wait_seconds": got.get("average_wait_seconds"),
                     "counted": counting.counted(start)})
    if not rows and not report.problems:
        report.problems.append("The file has a header but no intervals")
    report.rows = len(rows)
    report.counted = sum(1 for r in rows if r["counted"])
    report.not_counted = report.rows - report.counted
    return rows, report


def _already_stored(rows: list[dict]) -> set[tuple[datetime, str]]:
    """One range query over the unique index for the file's span, rather than one per line."""
    first = min(r["interval_start"] for r in rows)
    last = max(r["interval_start"] for r in rows)
    found = db.session.execute(select(CallInterval.interval_start, CallInterval.queue)
                               .where(CallInterval.interval_start >= first, CallInterval.interval_start <= last))
    return {(start, queue) for start, queue in found}


def import_calls(actor, content: bytes | str, *, filename: str = "upload.csv", replace: bool = False) -> ImportReport:
    """Checks and stores a telephony file in the caller's transaction; raises TelephonyImportError
    (nothing added to the session) when any line is bad or an interval is already stored without
    `replace`. The caller commits."""
    rows, report = read_file(content)
    if report.problems:
        raise TelephonyImportError(report)
    stored = _already_stored(rows)
    clashes = [r for r in rows if (r["interval_start"], r["queue"]) in stored]
    if clashes and not replace:
        line_of = _line_numbers(content)
        for r in clashes:
            when = r["interval_start"].astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")
            number = line_of.get((r["interval_start"], r["queue"]), "?")
            report.problems.append(f"Line {number}: the interval {when}{' for queue ' + r['queue'] if r['queue'] else ''} "
                                   "is already stored (choose replace to overwrite it)")
        raise TelephonyImportError(report)
    batch = TelephonyImport(filename=filename[:200], imported_by=getattr(actor, "username", None) or str(actor),
                            rows=report.rows, counted_rows=report.counted, replaced_rows=len(clashes),
                            ignored_columns=", ".join(report.ignored_columns),
                            first_interval=min(r["interval_start"] for r in rows),
                            last_interval=max(r["interval_start"] for r in rows))
    db.session.add(batch)
    db.session.flush()
    if clashes:
        keys = [(r["interval_start"], r["queue"]) for r in clashes]
        for i in range(0, len(keys), 400):
            db.session.execute(delete(CallInterval).where(
                tuple_(CallInterval.interval_start, CallInterval.queue).in_(keys[i:i + 400])))
    for r in rows:
        r["import_id"] = batch.id
    _insert_rows(rows)
    report.replaced = len(clashes)
    report.import_id = batch.id
    audit.record(actor, "telephony_imported", "telephony_import", batch.id,
                 after={"filename": batch.filename, "rows": report.rows, "counted": report.counted,
                        "replaced": report.replaced, "ignored_columns": report.ignored_columns},
                 summary=f"Imported {report.rows} call intervals from {batch.filename}")
    return report


_COLUMNS = ("interval_start", "interval_minutes", "queue", "offered", "answered", "abandoned",
            "answered_within_threshold", "average_wait_seconds", "counted", "import_id")


def _insert_rows(rows: list[dict]) -> None:
    """One executemany on the DBAPI cursor, each value converted by its column type's own bind
    processor (so a datetime is stored exactly as the ORM would store and compare it). The ORM's bulk
    path costs about 3 s per 100,000 rows in bookkeeping; this is well under one."""
    conn = db.session.connection()
    dialect = conn.dialect
    table = CallInterval.__table__
    start = table.c.interval_start.type._cached_bind_processor(dialect)  # aware UTC -> stored form
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join([marker] * len(_COLUMNS))})")
    params = [(start(r["interval_start"]), r["interval_minutes"], r["queue"], r["offered"], r["answered"],
               r["abandoned"], r["answered_within_threshold"], r["average_wait_seconds"], bool(r["counted"]),
               r["import_id"]) for r in rows]
    conn.exec_driver_sql(sql, params)


def _line_numbers(content: bytes | str) -> dict[tuple[datetime, str], int]:
    """Only on the rare refusal path: maps each interval back to its line for the message."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    i_start = header.index("interval_start")
    i_queue = header.index("queue") if "queue" in header else None
    out = {}
    for values in reader:
        try:
            queue = values[i_queue].strip() if i_queue is not None and i_queue < len(values) else ""
            out[(parse_interval_start(values[i_start]), queue)] = reader.line_num
        except (ValueError, IndexError):
            continue
    return out
