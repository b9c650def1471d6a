"""Keyset pagination: a page costs the same at a million rows as at a thousand, unlike OFFSET."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .extensions import db


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_before: Any | None  # pass as ?before= to get the next (older) page
    is_first: bool


def keyset_page(stmt, key_column, before: Any | None, per_page: int = 50) -> Page:
    """Newest first by a unique, indexed, increasing key (e.g. the primary key)."""
    if before is not None:
        stmt = stmt.where(key_column < before)
    rows = db.session.scalars(stmt.order_by(key_column.desc()).limit(per_page + 1)).all()
    more = len(rows) > per_page
    rows = rows[:per_page]
    next_before = getattr(rows[-1], key_column.key) if more and rows else None
    return Page(rows, next_before, before is None)


def prefix_range(column, prefix: str):
    """`column` starts with `prefix`, written as a range so any B-tree index answers it.

    LIKE 'x%' uses an index on PostgreSQL only with special operator classes and on SQLite only
    with a NOCASE index; a range needs neither. Columns searched this way store a normalised key.
    """
    if not prefix:
        return column.is_not(None)
    upper_bound = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return (column >= prefix) & (column < upper_bound)
