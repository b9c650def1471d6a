"""Contacts and staffing at 10,000 and 500,000 enquiries (the SLA's volumes are ~150 contacts a working day,
so 500,000 is over a decade), with 20,000 cash receipts.

For each size: a fresh SQLite file migrated with the real migrations, demo users, then N enquiries
(3% waiting for a reply) and the receipts written straight into the file. Then, in-process through
Flask's test client, the median whole-request time of: logging a contact by htmx (the answer includes
today's list), the reply queue's first and second page, the volumes page (8 weeks by week) and a
year by month, the cash page, a day's cash-up, the staffing page with a what-if, and the live model
for a month; plus the pure staffing table computed 10,000 times.
Target: each page at most 50 ms at 500,000 and within 10 ms of its 10,000 time, except the volumes
pages, which read the period's rows from a covering index: they grow with the contacts in the period
(the bench spreads N over ten years, so a day at 500,000 holds 50 times the contacts of a day at
10,000), not with the years stored.

    .venv/bin/python bench/contacts.py [--sizes 10000,500000] [--runs 15]
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intranet import create_app  # noqa: E402
from intranet.extensions import db  # noqa: E402

PASSWORD = "bench-contacts-password"
UTC = dt.timezone.utc
CHANNELS = ("phone", "phone", "phone", "email", "post", "counter")
CATEGORIES = ("applying", "renewing", "visitor_permits", "eligibility", "permit_progress", "other")


def build(path: Path, n: int, receipts: int = 20_000, seed: int = 9) -> float:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "DEMO_PASSWORD": PASSWORD})
    with app.app_context():
        upgrade()
        from intranet.auth import services as auth

        for role in ("advisor", "team_leader", "service_manager"):
            auth.create_user("bench", username=role, full_name=role.title(), email=f"{role}@example.org",
                             roles=[role], password=PASSWORD, is_demo=True)
        db.session.commit()
        db.engine.dispose()
    started = time.perf_counter()
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    advisor = con.execute("select id from user_account where username='advisor'").fetchone()[0]
    now = dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    rows = []
    for i in range(n):
        when = now - dt.timedelta(minutes=rng.uniform(0, 60 * 24 * 3650))
        waiting = rng.random() < 0.03
        rows.append((when, when.date(), rng.choice(CHANNELS), rng.choice(CATEGORIES), "Question about permits", "",
                     rng.randint(1, 8), advisor, "open" if waiting else "none",
                     when + dt.timedelta(days=rng.randint(2, 14)) if waiting else None, ""))
    con.executemany("insert into enquiry (contacted_at, contact_day, channel, category, summary, outcome, "
                    "handling_minutes, logged_by_id, reply_state, reply_due_at, reply_note) "
                    "values (?,?,?,?,?,?,?,?,?,?,?)", rows)
    cash_rows, days = [], {}
    for i in range(1, receipts + 1):
        when = now - dt.timedelta(minutes=rng.uniform(60 * 24, 60 * 24 * 3650))
        amount = rng.choice((3500, 7000))
        cash_rows.append((f"CX{i:06d}", when, when.date(), f"OX{i:08d}", amount, "Payer", "Card machine down",
                          advisor, "approved", False))
        count, total = days.get(when.date(), (0, 0))
        days[when.date()] = (count + 1, total + amount)
    con.executemany("insert into cash_receipt (receipt_number, taken_at, business_day, pcn, amount_pence, payer_name, "
                    "reason, taken_by_id, status, is_reversed) values (?,?,?,?,?,?,?,?,?,?)", cash_rows)
    con.executemany("insert into cash_day (business_day, receipt_count, recorded_total_pence, difference_explanation, "
                    "bag_number) values (?,?,?,'','')", [(d, c, t) for d, (c, t) in days.items()])
    con.execute("insert into counter (name, value) values ('cash_receipt', ?)", (receipts,))
    con.commit()
    con.execute("analyze")
    con.close()
    return time.perf_counter() - started


def median_ms(fn, runs: int) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(path: Path, runs: int) -> dict[str, float]:
    from tests.support import HX, csrf_token, sign_in

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    out: dict[str, float] = {}
    advisor = app.test_client()
    sign_in(advisor, "advisor", PASSWORD)
    token = csrf_token(advisor, "/contacts/enquiries")
    call = {"channel": "phone", "category": "renewing", "summary": "Bench call", "handling_minutes": "3",
            "csrf_token": token}

    def log_call():
        r = advisor.post("/contacts/enquiries", data=call, headers={**HX, "X-CSRFToken": token})
        assert r.status_code == 200 and "Contact logged" in r.get_data(as_text=True), r.status_code

    out["log a contact (htmx)"] = median_ms(log_call, runs)
    first = advisor.get("/contacts/enquiries/replies").get_data(as_text=True)
    cursor = re.search(r"after=([0-9-]+)", first).group(1)
    out["reply queue, page 1"] = median_ms(lambda: advisor.get("/contacts/enquiries/replies"), runs)
    out["reply queue, page 2"] = median_ms(lambda: advisor.get(f"/contacts/enquiries/replies?after={cursor}"), runs)
    out["volumes, 8 weeks by week"] = median_ms(lambda: advisor.get("/contacts/enquiries/volumes"), runs)
    today = dt.date.today()
    year = f"/contacts/enquiries/volumes?from={today - dt.timedelta(days=365)}&to={today}&period=month"
    out["volumes, a year by month"] = median_ms(lambda: advisor.get(year), runs)
    out["cash page"] = median_ms(lambda: advisor.get("/contacts/cash"), runs)
    busiest = sqlite3.connect(path).execute(
        "select business_day from cash_day order by receipt_count desc limit 1").fetchone()[0]
    out["cash-up of the busiest day"] = median_ms(lambda: advisor.get(f"/contacts/cash/cash-up?day={busiest}"), runs)
    manager = app.test_client()
    sign_in(manager, "service_manager", PASSWORD)
    out["staffing page with a what-if"] = median_ms(
        lambda: manager.get("/staffing/?residents_permits-minutes=7", headers=HX), runs)
    out["live model, last month"] = median_ms(lambda: manager.get("/staffing/live"), runs)
    with app.app_context():
        from intranet.service_rules import rules_in_force
        from intranet.staffing.model import sla_table

        rules = rules_in_force()
        t = time.perf_counter()
        for _ in range(10_000):
            sla_table(rules.staffing, 5)
        out["staffing table x10,000 (pure)"] = (time.perf_counter() - t) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,500000")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"contacts-{n}.sqlite"
            seconds = build(path, n)
            print(f"built {n:,} enquiries + 20,000 receipts in {seconds:.1f} s", flush=True)
            results[n] = measure(path, args.runs)
    names = list(results[sizes[0]])
    print(f"\n{'median ms':<34}" + "".join(f"{n:>12,}" for n in sizes))
    for name in names:
        print(f"{name:<34}" + "".join(f"{results[n][name]:>12.1f}" for n in sizes))


if __name__ == "__main__":
    main()
