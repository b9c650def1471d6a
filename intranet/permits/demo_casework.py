"""Twelve months of casework up to today at the seed SLA's volumes, for the demo and the benches.

About 11,238 resident and 18,512 visitor permits a year over 253 working days (the SLA's staffing
breakdown): each working day brings ~44 resident applications and visitor applications adding up
to ~73 visitor permits, over every channel, with the waits a real service has (evidence requested
from some customers, a few permits issued late). History is written with bulk inserts, not through
the services one row at a time, so `make run` stays quick; the rows are what the services would
have written, deadlines included.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, insert, select, update

from ..extensions import db
from ..service_rules import rules_in_force
from ..sla import calendar_for, clock_status, deadline_for
from ..timefmt import LONDON, utcnow
from .households import name_key, surname_key
from .models import Application, Counter, Customer, EvidenceItem, Permit, Zone
from .casework import add_months

CHANNEL_MIX = (("post", 30), ("email", 30), ("phone", 12), ("counter", 10), ("online", 18))
FIRST = ("Olivia", "Amelia", "Isla", "Ava", "Mia", "Noah", "Oliver", "George", "Arthur", "Leo", "Harry", "Muhammad",
         "Priya", "Chen", "Aoife", "Zoë", "Siân", "José", "Kwame", "Fatima", "Tomasz", "Ewa", "Hannah", "Rhys")
LAST = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Khan", "Wright",
        "O'Brien", "Nowak", "Okafor", "Ó Súilleabháin", "Brontë", "Evans", "Thomas", "Roberts", "Walker", "Hughes")
MAKES = (("Ford", "Fiesta"), ("Vauxhall", "Corsa"), ("Volkswagen", "Golf"), ("Toyota", "Yaris"), ("Nissan", "Qashqai"),
         ("Kia", "Sportage"), ("BMW", "1 Series"), ("Renault", "Clio"), ("Tesla", "Model 3"), ("Honda", "Jazz"))
COLOURS = ("Black", "White", "Silver", "Grey", "Blue", "Red", "Green")


@dataclass(frozen=True)
class HistoryScale:
    """Per working day; the defaults are the seed SLA's volumes."""

    resident_per_day: float = 11238 / 253
    visitor_permits_per_day: float = 18512 / 253
    visitor_books: tuple[int, ...] = (5, 10, 10, 10, 15, 20)
    days: int = 365
    evidence_request_share: float = 0.18
    late_share: float = 0.03
    open_days: int = 3  # applications from the last few working days are still being worked


def _vrm(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNOPRSTUVWXY"
    return (rng.choice(letters) + rng.choice(letters) + f"{rng.randint(10, 75):02d}"
            + "".join(rng.choice(letters) for _ in range(3)))


def _weighted(rng: random.Random, mix) -> str:
    return rng.choices([c for c, _ in mix], weights=[w for _, w in mix])[0]


def generate_history(rng: random.Random, zones: list[Zone], staff_ids: list[int], *, scale: HistoryScale = HistoryScale(),
                     now: datetime | None = None, households: int | None = None, chunk: int = 5000) -> dict:
    """Writes customers, applications, evidence and permits; returns counts. Not idempotent:
    callers check first (the demo loader only runs it on a database with no applications)."""
    now = now or utcnow()
    today = now.astimezone(LONDON).date()
    rules = rules_in_force(today)
    cal = calendar_for(rules.calendar)
    start = today - timedelta(days=scale.days)
    days = [d for d in (start + timedelta(days=i) for i in range(scale.days + 1)) if cal.is_working_day(d)]
    n_households = households or max(200, int(scale.resident_per_day * len(days) * 0.8))
    next_ids = {name: (db.session.scalar(select(func.max(model.id))) or 0) + 1
                for name, model in (("customer", Customer), ("application", Application), ("evidence", EvidenceItem),
                                    ("permit", Permit))}
    counters = {name: db.session.scalar(select(Counter.value).where(Counter.name == name)) or 0
                for name in ("application", "customer", "resident_permit", "visitor_permit")}

    customers = []
    for _ in range(n_households):
        zone = rng.choice(zones)
        streets = [s.street for s in zone.streets] or [f"{zone.name} Road"]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        counters["customer"] += 1
        email = f"{first.lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}{rng.randint(1, 999)}@example.org"
        email = email.encode("ascii", "ignore").decode()
        customers.append({
            "id": next_ids["customer"], "reference": f"C{counters['customer']:06d}", "name": name,
            "name_key": name_key(name), "surname_key": surname_key(name),
            "address_line1": f"{rng.randint(1, 180)} {rng.choice(streets)}", "address_line2": "", "town": "Oxford",
            "postcode": f"OX{rng.randint(1, 4)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
            "zone_id": zone.id, "email": email if rng.random() < 0.6 else "", "phone": f"01865 {rng.randint(100000, 999999)}",
            "preferred_channel": "email" if rng.random() < 0.5 else "post", "created_at": now - timedelta(days=scale.days + 30),
        })
        next_ids["customer"] += 1
    _bulk(Customer, customers, chunk)

    applications, evidence, permits = [], [], []
    open_from = days[-scale.open_days] if len(days) >= scale.open_days else days[0]
    required = {"resident": rules.permits.resident.evidence_required, "visitor": rules.permits.visitor.evidence_required}
    for day in days:
        opening = cal.opens_at(day)
        service_seconds = int((cal.closes_at(day) - opening).total_seconds())
        batches = [("resident", 1)] * _poisson(rng, scale.resident_per_day)
        visitor_left = _poisson(rng, scale.visitor_permits_per_day)
        while visitor_left > 0:
            book = min(rng.choice(scale.visitor_books), visitor_left)
            batches.append(("visitor", book))
            visitor_left -= book
        for kind, quantity in batches:
            customer = rng.choice(customers)
            channel = _weighted(rng, CHANNEL_MIX)
            received = opening + timedelta(seconds=rng.randint(0, service_seconds - 60))
            if channel in ("email", "online") and rng.random() < 0.15:
                received = opening - timedelta(hours=rng.randint(1, 14))  # arrived overnight
            received = received.astimezone(LONDON)
            app_id = next_ids["application"]
            counters["application"] += 1
            waited = rng.random() < scale.evidence_request_share
            docs_at = received + timedelta(days=rng.randint(2, 9), hours=rng.randint(0, 5)) if waited else received
            is_open = day >= open_from or docs_at > now
            make, model = rng.choice(MAKES)
            row = {
                "id": app_id, "reference": f"A{counters['application']:07d}", "customer_id": customer["id"],
                "zone_id": customer["zone_id"], "kind": kind, "app_type": "renewal" if rng.random() < 0.55 else "new",
                "channel": channel, "received_at": received, "vrm": _vrm(rng) if kind == "resident" else "",
                "vehicle_make": f"{make} {model}" if kind == "resident" else "",
                "vehicle_colour": rng.choice(COLOURS) if kind == "resident" else "", "quantity": quantity,
                "postcode": customer["postcode"], "name_key": customer["name_key"],
                "surname_key": customer["surname_key"], "created_by_id": rng.choice(staff_ids), "created_at": received,
                "fee_pence": 0, "payment_reference": "", "decision_reason": "", "waiting_since": None,
                "assignee_id": None, "renewal_of_id": None, "decided_at": None, "decided_by_id": None,
                "issued_on_time": None,
            }
            docs_complete = docs_at <= now and not (is_open and rng.random() < 0.35)
            clock_start = max(docs_at, received) if docs_complete else received
            deadline = deadline_for(rules, "permit_issue", clock_start)
            row.update(documents_complete_at=clock_start if docs_complete else None, deadline_at=deadline)
            for code in required[kind]:
                item_received = docs_at if waited and code == required[kind][-1] else received
                if item_received > now:
                    continue
                evidence.append({
                    "id": next_ids["evidence"], "application_id": app_id, "evidence_type": code,
                    "status": "accepted" if docs_complete else "received", "received_at": item_received,
                    "checked_by_id": rng.choice(staff_ids) if docs_complete else None,
                    "checked_at": item_received + timedelta(hours=1) if docs_complete else None,
                    "rejection_reason": "", "valid_until": None, "description": "", "stored_name": "",
                    "original_name": "", "mime_type": "", "size_bytes": 0})
                next_ids["evidence"] += 1
            if is_open:
                row.update(is_open=True, status="ready" if docs_complete else ("awaiting_evidence" if waited else "received"),
                           waiting_since=received + timedelta(hours=2) if waited and not docs_complete else None,
                           assignee_id=rng.choice(staff_ids) if rng.random() < 0.3 else None)
            else:
                late = rng.random() < scale.late_share
                working_offset = rng.uniform(0.2, 1.9) if not late else rng.uniform(2.1, 4)
                issued = _working_offset(cal, clock_start, working_offset)
                issued = min(issued, now - timedelta(minutes=5))
                fee_each = rules.permits.resident.price_pence if kind == "resident" else 0
                if kind == "visitor" and rng.random() < 0.3:
                    fee_each = rules.permits.visitor.price_pence
                row.update(is_open=False, status="issued", decided_at=issued, decided_by_id=rng.choice(staff_ids),
                           issued_on_time=clock_status(rules, deadline, issued, completed_at=issued) == "met_on_time",
                           fee_pence=fee_each * quantity, payment_reference=f"PAY{app_id:08d}" if fee_each else "")
                valid_from = issued.astimezone(LONDON).date()
                months = rules.permits.resident.validity_months if kind == "resident" else rules.permits.visitor.validity_months
                valid_to = add_months(valid_from, months) - timedelta(days=1)
                counter = "resident_permit" if kind == "resident" else "visitor_permit"
                prefix = "R" if kind == "resident" else "V"
                for _ in range(quantity):
                    counters[counter] += 1
                    permits.append({
                        "id": next_ids["permit"], "number": f"{prefix}{counters[counter]:07d}", "kind": kind,
                        "is_renewal": row["app_type"] == "renewal", "zone_id": row["zone_id"], "vrm": row["vrm"],
                        "customer_id": row["customer_id"], "application_id": app_id, "valid_from": valid_from,
                        "valid_to": valid_to, "issued_by_id": row["decided_by_id"], "issued_at": issued,
                        "status": "active" if valid_to >= today else "expired", "fee_pence": fee_each,
                        "payment_reference": row["payment_reference"], "replaces_id": None, "ended_at": None,
                        "end_reason": "", "end_note": "", "printed_at": issued + timedelta(hours=3), "print_batch_id": None})
                    next_ids["permit"] += 1
            applications.append(row)
            next_ids["application"] += 1
        if len(applications) >= chunk:
            _flush(applications, evidence, permits, chunk)
    _flush(applications, evidence, permits, chunk)
    for name, value in counters.items():
        if db.session.scalar(select(Counter.value).where(Counter.name == name)) is None:
            db.session.execute(insert(Counter).values(name=name, value=value))
        else:
            db.session.execute(update(Counter).where(Counter.name == name).values(value=value))
    return {"households": len(customers), "applications": counters["application"],
            "working_days": len(days)}


def _flush(applications: list, evidence: list, permits: list, chunk: int) -> None:
    _bulk(Application, applications, chunk)
    _bulk(EvidenceItem, evidence, chunk)
    _bulk(Permit, permits, chunk)
    applications.clear()
    evidence.clear()
    permits.clear()


def _bulk(model, rows: list[dict], chunk: int) -> None:
    for i in range(0, len(rows), chunk):
        db.session.execute(insert(model), rows[i:i + chunk])


def _poisson(rng: random.Random, mean: float) -> int:
    """Day-to-day variation around the SLA's average (normal approximation is plenty here)."""
    return max(0, int(round(rng.gauss(mean, mean ** 0.5))))


def _working_offset(cal, start: datetime, working_days: float) -> datetime:
    """The instant `working_days` of service time after `start` (for realistic issue times)."""
    position = cal.position(start if cal.is_open(start) else cal.next_opening(start))
    return cal.instant_at(position + int(working_days * cal.day_seconds))
