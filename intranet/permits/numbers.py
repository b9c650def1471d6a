"""Permit, application and customer numbers, unique across every app server.

A single UPDATE ... RETURNING on a counter row: PostgreSQL locks the row for the transaction and
SQLite holds the write lock (BEGIN IMMEDIATE), so two servers can never hand out the same number.
Never an in-process counter.
"""
from __future__ import annotations

from sqlalchemy import insert, select, update

from ..extensions import db
from .models import Counter

FORMATS = {
    "application": ("A", 7),
    "customer": ("C", 6),
    "resident_permit": ("R", 7),
    "visitor_permit": ("V", 7),
}


def take(name: str, count: int = 1) -> list[int]:
    """Reserves `count` consecutive values of the named sequence; returns them."""
    if count < 1:
        raise ValueError("count must be at least 1")
    row = db.session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + count).returning(Counter.value)
    ).first()
    if row is None:
        # First use: create the row, racing safely (a concurrent insert fails the unique key and we retry).
        try:
            with db.session.begin_nested():
                db.session.execute(insert(Counter).values(name=name, value=count))
            last = count
        except Exception:
            return take(name, count)
    else:
        last = row[0]
    return list(range(last - count + 1, last + 1))


def formatted(name: str, count: int = 1) -> list[str]:
    prefix, width = FORMATS[name]
    return [f"{prefix}{value:0{width}d}" for value in take(name, count)]


def next_reference(name: str) -> str:
    return formatted(name)[0]


def current_value(name: str) -> int:
    return db.session.scalar(select(Counter.value).where(Counter.name == name)) or 0
