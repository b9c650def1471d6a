"""Deadlines and statuses for 1,000,000 items: the SLA engine's batch path.

Builds receipts spread over two years (about 10% with one or two pauses
while waiting for the customer), then times BatchClock: building its
tables, the deadlines and the statuses. Target: at most 2 s for deadlines
and statuses together. A sample is checked against deadline_for.

    .venv/bin/python bench/sla.py [N]
"""
from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intranet.sla.batch import BatchClock  # noqa: E402
from intranet.sla.clocks import clock_status, deadline_for  # noqa: E402
from intranet.sla.rules import load_rules  # noqa: E402

UTC = dt.timezone.utc


def build_items(n: int, first: dt.date, last: dt.date, seed: int = 1):
    rng = random.Random(seed)
    lo = int(dt.datetime.combine(first, dt.time(), UTC).timestamp())
    hi = int(dt.datetime.combine(last, dt.time(), UTC).timestamp())
    received = [rng.randrange(lo, hi) for _ in range(n)]
    pauses: list = [None] * n
    for i in rng.sample(range(n), n // 10):
        start = received[i] + rng.randrange(0, 3 * 86400)
        ps = [(start, start + rng.randrange(600, 2 * 86400))]
        if rng.random() < 0.3:
            s2 = ps[0][1] + rng.randrange(0, 86400)
            ps.append((s2, s2 + rng.randrange(600, 86400)))
        pauses[i] = ps
    completed = [None if rng.random() < 0.2 else e + rng.randrange(3600, 5 * 86400) for e in received]
    return received, pauses, completed


def main(n: int = 1_000_000) -> int:
    rules = load_rules()
    first, last = dt.date(2016, 6, 1), dt.date(2018, 5, 31)
    t = time.perf_counter()
    received, pauses, completed = build_items(n, first, last)
    print(f"built {n:,} items in {time.perf_counter() - t:.2f} s "
          f"({sum(p is not None for p in pauses):,} with pauses)")

    t0 = time.perf_counter()
    clock = BatchClock(rules, "permit_issue", first, last)
    t1 = time.perf_counter()
    due = clock.deadlines_paused(received, pauses)
    t2 = time.perf_counter()
    now = int(dt.datetime(2017, 6, 1, 11, 0, tzinfo=UTC).timestamp())
    statuses = clock.statuses(received, due, now, completed)
    t3 = time.perf_counter()
    total = t3 - t1
    print(f"tables (calendar, slots):     {t1 - t0:.3f} s")
    print(f"deadlines (incl. pauses):     {t2 - t1:.3f} s")
    print(f"statuses:                     {t3 - t2:.3f} s")
    print(f"deadlines + statuses:         {total:.3f} s for {n:,} items "
          f"({total / n * 1e6:.2f} us/item)  target <= 2 s: {'OK' if total <= 2 else 'TOO SLOW'}")
    print("statuses:", dict(Counter(statuses)))

    rng = random.Random(2)
    for i in rng.sample(range(n), 200):
        r = dt.datetime.fromtimestamp(received[i], UTC)
        ps = [(dt.datetime.fromtimestamp(a, UTC), dt.datetime.fromtimestamp(b, UTC)) for a, b in pauses[i] or ()]
        d = deadline_for(rules, "permit_issue", r, pauses=ps)
        assert int(d.timestamp()) == due[i], (i, r, d)
        c = dt.datetime.fromtimestamp(completed[i], UTC) if completed[i] is not None else None
        assert clock_status(rules, d, dt.datetime.fromtimestamp(now, UTC), c, started_at=r) == statuses[i]
    print("200 sampled items agree with deadline_for / clock_status")
    return 0 if total <= 2 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
