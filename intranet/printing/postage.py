"""The postage ledger: what posting permits and letters cost, month by month, as the SLA reports it.

The SLA's own table ("Postage costs monthly based on last year") gives each month's postage, then
"Total annual", "Including reminder letters" and "Average monthly". Reading its figures:
total annual is the sum of the months (permits and letters), including reminder letters adds the
reminder-letter postage (in 2015-16 one annual amount, not split by month), and the monthly
average is the total including reminder letters divided by 12. `ledger` computes exactly those.

Every print batch records its posted envelopes here (items, class, cost at the rules' price);
postage spent outside batches is entered by hand, for a month or for the whole year.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..money import format_pence
from ..service_rules import rules_in_force
from ..timefmt import utcnow
from .models import POSTAGE_CATEGORIES, PostageEntry

PERMITS_AND_LETTERS, REMINDER_LETTERS = "permits_and_letters", "reminder_letters"


class PostageError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def year_start_month() -> int:
    return rules_in_force().printing.financial_year_start_month


def financial_year_of(day: date, start_month: int | None = None) -> int:
    """2015 for any day of 2015-16 (April 2015 to March 2016, with an April start)."""
    start_month = start_month or year_start_month()
    return day.year if day.month >= start_month else day.year - 1


def year_label(year: int) -> str:
    return f"{year}-{(year + 1) % 100:02d}"


def months_of(year: int, start_month: int | None = None) -> list[date]:
    start_month = start_month or year_start_month()
    out = []
    for i in range(12):
        index = start_month - 1 + i
        out.append(date(year + index // 12, index % 12 + 1, 1))
    return out


def record_batch_postage(*, batch_id: int, day: date, counts: dict[str, int], postage_class: str,
                         unit_pence: int, actor_name: str) -> int:
    """One ledger line per category of a batch's posted envelopes; returns the total cost in pence."""
    total = 0
    for category, items in counts.items():
        if not items:
            continue
        amount = items * unit_pence
        total += amount
        db.session.add(PostageEntry(financial_year=financial_year_of(day), month=day.replace(day=1),
                                    category=category, items=items, postage_class=postage_class,
                                    amount_pence=amount, source="batch", print_batch_id=batch_id,
                                    note=f"{items} × {postage_class.replace('_', ' ')} at {format_pence(unit_pence)}",
                                    created_at=utcnow(), created_by_name=actor_name))
    return total


def add_entry(actor, *, financial_year: int, month: date | None, category: str, amount_pence: int | None,
              items: int | None = None, note: str = "", source: str = "manual") -> PostageEntry:
    """A manual line: postage not sent through a batch (e.g. a franking bill); `month` None = the whole year."""
    if category not in POSTAGE_CATEGORIES:
        raise PostageError(f"Choose a category: {', '.join(POSTAGE_CATEGORIES.values())}", "category")
    if amount_pence is None:
        raise PostageError("Enter the amount", "amount")
    if amount_pence <= 0:
        raise PostageError("Amount must be more than £0.00", "amount")
    if month is not None and financial_year_of(month) != financial_year:
        raise PostageError(f"Choose a month of {year_label(financial_year)}", "period")
    if source == "manual" and not (note or "").strip():
        raise PostageError("Enter a note saying what the postage was for", "note")
    entry = PostageEntry(financial_year=financial_year, month=month.replace(day=1) if month else None,
                         category=category, items=items or 0, amount_pence=amount_pence, source=source,
                         note=(note or "").strip(), created_at=utcnow(),
                         created_by_name=getattr(actor, "username", None) or str(actor or "system"))
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, "postage_entry_added", "postage_entry", entry.id, after=entry.audit_view(),
                 summary=f"Postage {format_pence(amount_pence)} for "
                         f"{entry.month.strftime('%B %Y') if entry.month else year_label(financial_year)} "
                         f"({POSTAGE_CATEGORIES[category].lower()})")
    return entry


@dataclass(frozen=True)
class LedgerMonth:
    month: date
    amounts: dict[str, int]
    total: int


@dataclass(frozen=True)
class Ledger:
    financial_year: int
    label: str
    months: list[LedgerMonth]
    whole_year: dict[str, int]  # entries for the year as a whole, by category
    category_totals: dict[str, int]
    total_annual: int  # everything except reminder letters, as the SLA's "Total annual"
    including_reminders: int
    average_monthly: int  # including reminders / 12, rounded half up to the penny
    entries: list[PostageEntry]

    @property
    def has_whole_year(self) -> bool:
        return any(self.whole_year.values())


def ledger(financial_year: int) -> Ledger:
    """The year's ledger from its entries: one indexed query, summed here (a year has hundreds of lines)."""
    entries = list(db.session.scalars(select(PostageEntry).where(PostageEntry.financial_year == financial_year)
                                      .order_by(PostageEntry.month, PostageEntry.id)))
    zero = {c: 0 for c in POSTAGE_CATEGORIES}
    by_month = {m: dict(zero) for m in months_of(financial_year)}
    whole_year = dict(zero)
    for e in entries:
        bucket = whole_year if e.month is None else by_month.setdefault(e.month, dict(zero))
        bucket[e.category] = bucket.get(e.category, 0) + e.amount_pence
    months = [LedgerMonth(m, a, sum(a.values())) for m, a in sorted(by_month.items())]
    totals = {c: sum(m.amounts.get(c, 0) for m in months) + whole_year.get(c, 0) for c in POSTAGE_CATEGORIES}
    including = sum(totals.values())
    total_annual = including - totals[REMINDER_LETTERS]
    average = int((Decimal(including) / 12).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Ledger(financial_year, year_label(financial_year), months, whole_year, totals, total_annual, including,
                  average, entries)


def ledger_csv(book: Ledger) -> str:
    """The page's table as CSV, amounts in pounds: a spreadsheet opens it as the finance team expects."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    cats = list(POSTAGE_CATEGORIES)
    writer.writerow(["Month", *POSTAGE_CATEGORIES.values(), "Total"])
    pounds = lambda pence: f"{Decimal(pence) / 100:.2f}"  # noqa: E731
    for m in book.months:
        writer.writerow([m.month.strftime("%Y-%m"), *(pounds(m.amounts.get(c, 0)) for c in cats), pounds(m.total)])
    if book.has_whole_year:
        writer.writerow([f"Whole year {book.label}", *(pounds(book.whole_year.get(c, 0)) for c in cats),
                         pounds(sum(book.whole_year.values()))])
    writer.writerow([])
    writer.writerow(["Total annual", pounds(book.total_annual)])
    writer.writerow(["Including reminder letters", pounds(book.including_reminders)])
    writer.writerow(["Average monthly", pounds(book.average_monthly)])
    return out.getvalue()


def load_history(actor_name: str = "demo-data") -> int:
    """The SLA's 2015-16 postage from the rules: each month as permits and letters, and the reminder
    letters (the difference between the SLA's two totals) as one entry for the whole year.
    Idempotent: does nothing if the year already has entries. Returns the entries added."""
    postage = rules_in_force().finance.postage
    months = sorted(postage.history_months)
    if not months:
        return 0
    first = date.fromisoformat(months[0] + "-01")
    year = financial_year_of(first)
    if db.session.scalar(select(PostageEntry.id).where(PostageEntry.financial_year == year).limit(1)):
        return 0
    added = 0
    for key in months:
        db.session.add(PostageEntry(financial_year=year, month=date.fromisoformat(key + "-01"),
                                    category=PERMITS_AND_LETTERS, amount_pence=postage.history_months[key],
                                    source="manual", note=postage.history_title, created_at=utcnow(),
                                    created_by_name=actor_name))
        added += 1
    reminders = (postage.including_reminder_letters_pence or 0) - (postage.total_annual_pence or 0)
    if reminders > 0:
        db.session.add(PostageEntry(financial_year=year, month=None, category=REMINDER_LETTERS,
                                    amount_pence=reminders, source="manual",
                                    note=f"{postage.history_title}: reminder letters, one annual amount",
                                    created_at=utcnow(), created_by_name=actor_name))
        added += 1
    return added
