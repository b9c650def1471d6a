"""Asking SQLite for the write lock up front in the rare GET that writes.

GET requests begin deferred transactions so pages render side by side; a deferred transaction that
later writes fails at once if another writer got in first. Code that knows it will write inside a
GET wraps the work in `write_transaction()` after ending the read.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

force_immediate: ContextVar[bool] = ContextVar("force_immediate", default=False)


@contextmanager
def write_transaction():
    token = force_immediate.set(True)
    try:
        yield
    finally:
        force_immediate.reset(token)
