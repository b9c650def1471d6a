"""Customer satisfaction survey responses, recorded one by one or imported from CSV (all or nothing).

A response is either satisfied yes/no, or a 1-5 score judged satisfied from the rules'
`satisfaction.satisfied_from_score` in force on its day. The KPI is annual: the financial year to date.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import insert

from .. import audit
from ..extensions import db
from ..service_rules import rules_in_force
from ..timefmt import LONDON, utcnow
from .models import SatisfactionResponse

CHANNELS = {"phone": "Phone", "email": "Email", "post": "Post", "counter": "Counter", "online": "Online"}
YES = {"yes", "y", "true", "1", "satisfied"}
NO = {"no", "n", "false", "0", "not satisfied", "dissatisfied"}
CSV_HEADER = ("responded_on", "channel", "satisfied", "score", "comment")


class SatisfactionError(ValueError):
    def __init__(self, errors: dict[str, str] | list[str]):
        self.errors = errors
        items = errors.values() if isinstance(errors, dict) else errors
        super().__init__("; ".join(items))


def check_response(responded_on: date | None, channel: str, satisfied: bool | None, score: int | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    today = utcnow().astimezone(LONDON).date()
    if responded_on is None:
        errors["responded_on"] = "Enter the date of the response"
    elif responded_on > today:
        errors["responded_on"] = "The date of the response must be today or in the past"
    if channel not in CHANNELS:
        errors["channel"] = f"Select the channel ({', '.join(CHANNELS)})"
    if satisfied is None and score is None:
        errors["satisfied"] = "Enter whether the customer was satisfied, or their score from 1 to 5"
    elif satisfied is not None and score is not None:
        errors["satisfied"] = "Enter whether the customer was satisfied or a score, not both"
    elif score is not None and not 1 <= score <= 5:
        errors["score"] = "The score must be a whole number from 1 to 5"
    return errors


def _satisfied(responded_on: date, satisfied: bool | None, score: int | None) -> bool:
    if satisfied is not None:
        return satisfied
    return score >= rules_in_force(responded_on).satisfaction.satisfied_from_score


def record_response(actor, *, responded_on: date | None, channel: str, satisfied: bool | None, score: int | None,
                    comment: str = "") -> SatisfactionResponse:
    errors = check_response(responded_on, channel, satisfied, score)
    if errors:
        raise SatisfactionError(errors)
    row = SatisfactionResponse(responded_on=responded_on, channel=channel, score=score,
                               satisfied=_satisfied(responded_on, satisfied, score), comment=(comment or "").strip(),
                               source="form", recorded_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "satisfaction_recorded", "satisfaction_response", row.id,
                 after={"responded_on": responded_on, "channel": channel, "score": score, "satisfied": row.satisfied},
                 summary=f"Satisfaction response of {responded_on.isoformat()} recorded")
    return row


def import_responses(actor, content: bytes | str, filename: str = "responses.csv") -> int:
    """Checks every line, then stores all of them or none; SatisfactionError lists every bad line."""
    try:
        text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    except UnicodeDecodeError:
        raise SatisfactionError(["The file is not UTF-8 text (save it as CSV, UTF-8)"]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in ("responded_on", "channel") if c not in header]
    if not header or missing or not ({"satisfied", "score"} & set(header)):
        need = ", ".join(missing + ([] if {"satisfied", "score"} & set(header) else ["satisfied or score"]))
        raise SatisfactionError([f"Line 1: the header is missing {need or 'every column'} "
                                 f"(expected {', '.join(CSV_HEADER)})"])
    problems: list[str] = []
    rows: list[dict] = []
    for row in reader:
        number = reader.line_num
        if None in row:
            problems.append(f"Line {number}: more values than columns in the header")
            continue
        if all(not (v or "").strip() for v in row.values()):
            continue
        line: list[str] = []
        day = None
        raw_day = (row.get("responded_on") or "").strip()
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            line.append(f"responded_on {raw_day[:20]!r} is not a date like 2017-04-03")
        channel = (row.get("channel") or "").strip().lower()
        raw_sat = (row.get("satisfied") or "").strip().lower()
        raw_score = (row.get("score") or "").strip()
        satisfied = True if raw_sat in YES else False if raw_sat in NO else None
        if raw_sat and satisfied is None:
            line.append(f"satisfied must be yes or no (got {raw_sat[:20]!r})")
        score = None
        if raw_score:
            if raw_score.isdigit():
                score = int(raw_score)
            else:
                line.append(f"score must be a whole number from 1 to 5 (got {raw_score[:20]!r})")
        if not line:
            errors = check_response(day, channel, satisfied, score)
            line += list(errors.values())
        if line:
            problems.append(f"Line {number}: {'; '.join(line)}")
            continue
        rows.append({"responded_on": day, "channel": channel, "score": score,
                     "satisfied": _satisfied(day, satisfied, score), "comment": (row.get("comment") or "").strip(),
                     "source": "import", "recorded_by_id": getattr(actor, "id", None), "created_at": utcnow()})
    if not rows and not problems:
        problems.append("The file has a header but no responses")
    if problems:
        raise SatisfactionError(problems)
    db.session.execute(insert(SatisfactionResponse), rows)
    audit.record(actor, "satisfaction_imported", "satisfaction_response", "import",
                 after={"filename": filename, "rows": len(rows)},
                 summary=f"Imported {len(rows)} satisfaction responses from {filename}")
    return len(rows)
