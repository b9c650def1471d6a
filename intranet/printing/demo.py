"""Demo data for printing: the SLA's 2015-16 postage, and opening stock of permit stationery.

`load_printing_demo()` is idempotent and commits. The postage ledger for 2015-16 then shows what
the SLA shows: total annual £11,886.08, including reminder letters £15,621.08, average monthly
£1,301.76 (all three follow from the monthly figures and totals in the rules).
"""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..timefmt import utcnow
from . import postage, stationery
from .models import StockMovement


def load_printing_demo() -> list[str]:
    lines = []
    added = postage.load_history("demo-data")
    if added:
        lines.append(f"Postage ledger: {added} entries of 2015-16 from the SLA")
    if db.session.scalar(select(StockMovement.id).limit(1)) is None:
        for item in stationery.stock_items():
            # Opening stock: three times the reorder level, so batches can run for weeks before a warning.
            db.session.add(StockMovement(stock_code=item.code, change=item.reorder_level * 3, reason="count",
                                         note="Opening stock (demo)", created_at=utcnow(), created_by_name="demo-data"))
        lines.append("Stationery: opening stock of " + ", ".join(i.title.lower() for i in stationery.stock_items()))
    db.session.commit()
    return lines
