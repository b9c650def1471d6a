"""The complaint log at 1,000 and 100,000 complaints (a council logs hundreds a year; 100,000 is
decades of every service's complaints, to show the log's pages do not grow with it).

For each size: a fresh SQLite file migrated with the real migrations, demo users, then N complaints
written straight into the file (5% open with a running clock, the rest closed), each with its
stage and clocks. Then, in-process through Flask's test client as a service lead, the median
whole-request time of: the log's first page by next deadline (with the handler panel), the
second page (keyset cursor), the overdue filter, a name search, the annual report page, and the
CSV; and one `complaints notify` run followed by a second (the steady state a cron sees).
Target: each page at most 50 ms at 100,000 and within 10 ms of its 1,000 time, except the
annual report, which reads one year's clocks (expected to grow with a year's volume only).

    .venv/bin/python bench/complaints.py [--sizes 1000,100000] [--runs 20]
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

PASSWORD = "bench-complaints-password"
UTC = dt.timezone.utc
NAMES = ("Smith", "Jones", "Taylor", "Brown", "Patel", "Khan", "Nowak", "Okafor", "Brontë", "Evans")


def build(path: Path, n: int, seed: int = 6) -> float:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "DEMO_PASSWORD": PASSWORD})
    with app.app_context():
        upgrade()
        from intranet.auth import services as auth

        for role in ("service_lead", "service_manager", "team_leader", "director"):
            auth.create_user("bench", username=role, full_name=role.title(), email=f"{role}@example.org",
                             roles=[role], password=PASSWORD, is_demo=True)
        db.session.commit()
        db.engine.dispose()
    started = time.perf_counter()
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    lead_id = con.execute("select id from user_account where username='service_lead'").fetchone()[0]
    now = dt.datetime.now(UTC).replace(tzinfo=None)
    complaints, stages, clocks = [], [], []
    for i in range(1, n + 1):
        received = now - dt.timedelta(days=rng.uniform(0, 3650))
        is_open = rng.random() < 0.05
        public = rng.random() < 0.5
        step = "stage1" if public else "service_lead"
        deadline = received + dt.timedelta(days=rng.choice((2, 5, 14, 20)))
        name = f"{rng.choice(NAMES)} {i}"
        complaints.append((i, "public" if public else "internal", "public" if public else "internal", name,
                           name.casefold(), "", "", "", "", "letter", received, rng.choice(("service_delay", "other")),
                           "Bench complaint", "", "open" if is_open else "closed", step, 1,
                           lead_id, deadline if is_open else None, "" if is_open else "upheld", "", "", "",
                           None if is_open else received + dt.timedelta(days=10), "" if is_open else step,
                           lead_id, received))
        stages.append((i, i, 1, step, received, "", lead_id, None))
        ack = "public_stage1_acknowledgement" if public else "complaint_acknowledgement"
        done = None if is_open else received + dt.timedelta(days=1)
        clocks.append((2 * i - 1, i, i, ack, received, deadline, 0, "", done, None, None))
    con.executemany("insert into complaint (id, procedure, source, complainant_name, complainant_key, organisation, "
                    "organisation_key, contact_email, contact_address, channel, received_at, category, summary, "
                    "linked_references, status, step, stage_number, handler_id, next_deadline_at, outcome, remedy, "
                    "agreement_text, learning_action, closed_at, closed_step, raised_by_id, created_at) values "
                    "(" + ",".join("?" * 27) + ")", complaints)
    con.executemany("insert into complaint_stage (id, complaint_id, number, step, started_at, reason, handler_id, "
                    "ended_at) values (?,?,?,?,?,?,?,?)", stages)
    con.executemany("insert into complaint_clock (id, complaint_id, stage_id, clock_name, started_at, deadline_at, "
                    "extension, extension_reason, completed_at, stopped_at, at_risk_notified_at) values "
                    "(?,?,?,?,?,?,?,?,?,?,?)", clocks)
    con.commit()
    con.execute("analyze")
    con.close()
    return time.perf_counter() - started


def median_ms(client, url: str, runs: int) -> float:
    times = []
    for _ in range(runs + 2):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times[2:])


def measure(path: Path, runs: int) -> dict[str, float]:
    from tests.support import sign_in

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    with app.app_context():
        assert sign_in(client, "service_lead", PASSWORD).status_code == 303
        first = client.get("/complaints/").get_data(as_text=True)
        after = re.search(r'after=([^&"]+)', first).group(1)
        out = {
            "log, first page by deadline (+ handler panel)": median_ms(client, "/complaints/", runs),
            "log, second page (keyset)": median_ms(client, f"/complaints/?after={after}", runs),
            "log, overdue filter": median_ms(client, "/complaints/?overdue=yes", runs),
            "log, name search": median_ms(client, "/complaints/?q=okafor", runs),
            "log, newest first": median_ms(client, "/complaints/?sort=newest&status=closed", runs),
            "annual report page": median_ms(client, "/complaints/report", max(3, runs // 4)),
            "annual report CSV": median_ms(client, "/complaints/report.csv", max(3, runs // 4)),
        }
        runner = app.test_cli_runner()
        t = time.perf_counter()
        first_run = runner.invoke(args=["complaints", "notify"])
        out["notify, first run (every open clock at risk)"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        runner.invoke(args=["complaints", "notify"])
        out["notify, second run (nothing new)"] = (time.perf_counter() - t) * 1000
        print(f"    notify said: {first_run.output.strip()[:120]}")
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: expected whole numbers separated by commas, like 1000,100000")
    if not sizes or any(s < 100 for s in sizes):
        parser.error("--sizes: each size must be at least 100")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"complaints-{n}.sqlite"
            took = build(path, n)
            print(f"{n:>9,} complaints built in {took:.1f} s")
            results[n] = measure(path, args.runs)
            for name, ms in results[n].items():
                print(f"    {name:<48} {ms:8.1f} ms")
    if len(sizes) > 1:
        small, large = results[sizes[0]], results[sizes[-1]]
        print(f"\nGrowth from {sizes[0]:,} to {sizes[-1]:,}:")
        for name in small:
            print(f"    {name:<48} {large[name] - small[name]:+8.1f} ms")


if __name__ == "__main__":
    main()
