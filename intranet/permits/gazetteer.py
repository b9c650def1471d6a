"""Importing addresses from a CSV extract of the council's address gazetteer.

All or nothing: the whole file is checked before anything is written, and any problem rejects
the whole file with every bad line listed (line number and reason), because a half-imported
gazetteer would silently send some customers to the wrong zone. The writes then happen in the
caller's one transaction, so a failure part-way (a database error) leaves nothing behind either.

Fast enough for a whole county's extract (100,000 rows in a few seconds): zone codes and the
UPRNs already stored are read once into memory, and rows are written with bulk INSERT/UPDATE
statements in chunks rather than one ORM object at a time.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter as Tally
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select, update

from .. import audit
from ..extensions import db
from .households import is_postcode, normalise_postcode, normalise_zone_code, street_key
from .models import Address, Zone

REQUIRED_COLUMNS = ("uprn", "address_line1", "postcode", "street", "zone")
OPTIONAL_COLUMNS = ("address_line2", "town")
UPRN_RE = re.compile(r"^\d{1,12}$")  # a Unique Property Reference Number is at most 12 digits
LIMITS = {"address_line1": 200, "address_line2": 200, "town": 80, "street": 120}
UPDATED_COLUMNS = ("line1", "line2", "town", "postcode", "street", "street_key", "zone_id")  # never the exclusion
CHUNK = 5000
NO_ZONE = "(no zone)"


@dataclass(frozen=True)
class LineProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class GazetteerRejected(ValueError):
    """The file was refused; `problems` lists every bad line. Nothing was written."""

    def __init__(self, problems: list[LineProblem]):
        super().__init__(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the file: nothing was imported")
        self.problems = problems


@dataclass
class ImportSummary:
    rows: int = 0
    added: int = 0
    replaced: int = 0
    per_zone: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "added": self.added, "replaced": self.replaced, "per_zone": self.per_zone}

    @classmethod
    def from_dict(cls, data: dict) -> "ImportSummary":
        return cls(int(data.get("rows", 0)), int(data.get("added", 0)), int(data.get("replaced", 0)),
                   dict(data.get("per_zone") or {}))

    def lines(self) -> list[str]:
        out = [f"{self.rows} rows imported: {self.added} added, {self.replaced} replaced"]
        out += [f"  {code}: {count}" for code, count in sorted(self.per_zone.items())]
        return out


def decode(data: bytes) -> str:
    """Council extracts come as UTF-8 (often with a byte-order mark) or Windows-1252 from Excel."""
    if b"\x00" in data[:65536]:
        raise GazetteerRejected([LineProblem(1, "The file is not a CSV text file")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_key(name: str) -> str:
    return re.sub(r"[\s-]+", "_", (name or "").strip().lstrip("\ufeff").lower())


def check_file(text: str, *, replace: bool = False) -> list[dict]:
    """Checks every line; returns the rows ready to store, or raises GazetteerRejected with all problems."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise GazetteerRejected([LineProblem(1, "The file is empty: the first line must name the columns "
                                                + ", ".join(REQUIRED_COLUMNS))]) from None
    except csv.Error as exc:
        raise GazetteerRejected([LineProblem(1, f"The header line cannot be read as CSV ({exc})")]) from None
    columns = [_header_key(h) for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise GazetteerRejected([LineProblem(1, f"The header has no {name} column") for name in missing])
    index = {name: columns.index(name) for name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if name in columns}

    zones = {code: zone_id for code, zone_id in db.session.execute(select(Zone.code, Zone.id))}
    stored = set(db.session.scalars(select(Address.uprn)))
    first_seen: dict[str, int] = {}
    problems: list[LineProblem] = []
    rows: list[dict] = []
    line = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(LineProblem(reader.line_num, f"cannot be read as CSV ({exc})"))
            break
        line = reader.line_num
        if not any(value.strip() for value in record):
            continue

        def value(name: str) -> str:
            position = index.get(name)
            return record[position].strip() if position is not None and position < len(record) else ""

        reasons: list[str] = []
        uprn = value("uprn")
        if not uprn:
            reasons.append("the uprn is empty")
        elif not UPRN_RE.match(uprn):
            reasons.append(f"the uprn {uprn!r} is not a UPRN (digits only, at most 12)")
        else:
            uprn = str(int(uprn))  # "000123" and "123" are the same property
            if uprn in first_seen:
                reasons.append(f"UPRN {uprn} is already on line {first_seen[uprn]}")
            else:
                first_seen[uprn] = line
                if uprn in stored and not replace:
                    reasons.append(f"UPRN {uprn} is already stored (import with replace to update it)")
        if not value("address_line1"):
            reasons.append("address_line1 is empty")
        raw_postcode = value("postcode")
        postcode = normalise_postcode(raw_postcode)
        if not raw_postcode:
            reasons.append("the postcode is empty")
        elif not is_postcode(postcode):
            reasons.append(f"the postcode {raw_postcode!r} is not a UK postcode")
        code = normalise_zone_code(value("zone"))
        if code and code not in zones:
            reasons.append(f"there is no zone with code {code}")
        for name, limit in LIMITS.items():
            if len(value(name)) > limit:
                reasons.append(f"{name} is longer than {limit} characters")
        if reasons:
            problems.append(LineProblem(line, "; ".join(reasons)))
            continue
        street = re.sub(r"\s+", " ", value("street"))
        rows.append({"uprn": uprn, "line1": value("address_line1"), "line2": value("address_line2"),
                     "town": value("town"), "postcode": postcode, "street": street,
                     "street_key": street_key(street), "zone_id": zones[code] if code else None, "_zone": code})
    if problems:
        raise GazetteerRejected(problems)
    if not rows:
        raise GazetteerRejected([LineProblem(line, "The file has no addresses below the header")])
    return rows


def store(rows: list[dict], *, replace: bool) -> ImportSummary:
    """Bulk-writes checked rows: new UPRNs inserted, stored ones (replace) updated in place, keeping
    their id (customers point at it) and any exclusion the council has recorded."""
    existing = dict(db.session.execute(select(Address.uprn, Address.id)).all()) if replace else {}
    summary = ImportSummary(rows=len(rows), per_zone=dict(Tally(r["_zone"] or NO_ZONE for r in rows)))
    new_rows, changed_rows = [], []
    for row in rows:
        row.pop("_zone")
        if row["uprn"] in existing:
            changed_rows.append({"address_id": existing[row["uprn"]], **{f"new_{n}": row[n] for n in UPDATED_COLUMNS}})
        else:
            new_rows.append({**row, "excluded": False, "exclusion_reason": ""})
    # Core statements on the table, not ORM bulk writes: the ORM drops None values (an empty zone)
    # and so splits a chunk into one statement per change of shape, which can mean one per row.
    table = Address.__table__
    for start in range(0, len(new_rows), CHUNK):
        db.session.execute(insert(table), new_rows[start:start + CHUNK])
    by_id = (update(table).where(table.c.id == bindparam("address_id"))
             .values({name: bindparam(f"new_{name}") for name in UPDATED_COLUMNS}))
    for start in range(0, len(changed_rows), CHUNK):
        db.session.execute(by_id, changed_rows[start:start + CHUNK])
    summary.added, summary.replaced = len(new_rows), len(changed_rows)
    return summary


def import_addresses(actor, data: bytes | str, *, replace: bool = False, source: str = ""):
    """Checks and stores a whole extract in the caller's transaction, with one audit entry.

    Returns (summary, audit entry). Raises GazetteerRejected, having written nothing.
    """
    text = decode(data) if isinstance(data, bytes) else data
    rows = check_file(text, replace=replace)
    summary = store(rows, replace=replace)
    entry = audit.record(actor, "addresses_imported", "gazetteer", "import",
                         after={**summary.as_dict(), "source": source[:200], "replace": replace},
                         summary=f"Imported {summary.rows} gazetteer addresses"
                                 f"{' from ' + source if source else ''}: {summary.added} added, "
                                 f"{summary.replaced} replaced")
    db.session.flush()
    return summary, entry


def import_records(actor, records: list[dict], *, replace: bool = False, source: str = ""):
    """The same import from rows already in memory (the demo data): written out as CSV and checked
    like any file, so demo addresses obey exactly the rules real ones do."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(REQUIRED_COLUMNS + OPTIONAL_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return import_addresses(actor, out.getvalue(), replace=replace, source=source)
