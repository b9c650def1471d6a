"""The daily permits-by-zone report at 100,000 and 1,000,000 permits.

For each size: a fresh SQLite file with the real migrations, 20 zones, and N permits written
straight into the file (spread over the last N/120 days, about what the SLA's 44 resident + 73
visitor permits a day give; 5% of them ended for one of the reasons the report lists). Then, in
process, the median time of: building one day's report, its CSV, the whole report page through
Flask's test client, the send log page for a month, the KPI for a month, and one send (claim +
log + outbox email; the mail server is a closed port, so the email waits in the outbox).

Targets at 1,000,000 permits: the report page at most 50 ms, a send prepared (everything but the
commit and the mailer) at most 50 ms; the send log and the KPI at most 30 ms (they read no permits).
The committed send also includes the outbox's own SMTP attempt after commit (mostly building a TLS
context), which is the mailer's cost, not the report's.

    .venv/bin/python bench/zone_report.py [--sizes 100000,1000000] [--runs 20]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intranet import create_app  # noqa: E402
from intranet.extensions import db  # noqa: E402

UTC = dt.timezone.utc
PER_DAY = 120
ENDED_SHARE = 0.05
END_REASONS = (("cancelled", "cancelled"), ("refunded", "refunded"), ("replaced", "vehicle_change"),
               ("replaced", "lost_stolen"))


def stamp(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(path: Path, size: int, seed: int = 7) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    rng = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.executemany("INSERT INTO zone (id, code, name, active) VALUES (?, ?, ?, 1)",
                    [(i, f"Z{i:02d}", f"Zone {i}") for i in range(1, 21)])
    con.executemany(
        "INSERT INTO customer (id, reference, name, name_key, surname_key, address_line1, address_line2, town, "
        "postcode, zone_id, email, phone, preferred_channel, created_at) "
        "VALUES (?, ?, 'Bench', 'bench', 'bench', '1 High St', '', 'Oxford', 'OX1 1AA', ?, '', '', 'post', ?)",
        [(i, f"C{i:07d}", 1 + i % 20, "2016-01-01 00:00:00.000000") for i in range(1, 1001)])
    now = dt.datetime.now(UTC)
    days = max(size // PER_DAY, 1)
    rows = []
    for i in range(1, size + 1):
        issued = now - dt.timedelta(days=rng.random() * days)
        ended_at, status, reason = None, "active", ""
        if rng.random() < ENDED_SHARE:
            status, reason = rng.choice(END_REASONS)
            ended_at = stamp(issued + dt.timedelta(days=rng.random() * 200))
        kind = "resident" if rng.random() < 0.38 else "visitor"
        start = issued.date()
        rows.append((i, f"P{i:09d}", kind, int(rng.random() < 0.6), 1 + rng.randrange(20),
                     f"AB{i % 100:02d}CDE" if kind == "resident" else "", 1 + rng.randrange(1000),
                     start.isoformat(), (start + dt.timedelta(days=364)).isoformat(), stamp(issued), status,
                     ended_at, reason))
        if len(rows) == 50_000:
            _insert(con, rows)
            rows = []
    _insert(con, rows)
    con.commit()
    con.execute("ANALYZE")
    con.close()


def _insert(con, rows):
    con.executemany(
        "INSERT INTO permit (id, number, kind, is_renewal, zone_id, vrm, customer_id, valid_from, valid_to, "
        "issued_at, status, fee_pence, payment_reference, ended_at, end_reason, end_note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', ?, ?, '')", rows)


def median_ms(fn, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(path: Path, runs: int) -> dict[str, float]:
    from intranet.auth import services as auth_services
    from intranet.reports import services, sending
    from tests.support import sign_in

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9})
    out = {}
    with app.app_context():
        auth_services.create_user("bench", username="bench-lead", full_name="Bench Lead", email="b@example.org",
                                  roles=["team_leader"], password="bench-password-123")
        db.session.commit()
        day = services.previous_working_day(services.london_today())
        today = services.london_today()
        out["build one day's report"] = median_ms(lambda: (services.build_report(day), db.session.rollback()), runs)
        report = services.build_report(day)
        out["CSV of the day's changes"] = median_ms(lambda: services.report_csv(report), runs)
        db.session.rollback()
        client = app.test_client()
        sign_in(client, "bench-lead", "bench-password-123")
        url = f"/reports/zone-report/{day.isoformat()}"
        assert client.get(url).status_code == 200
        out["report page (whole request)"] = median_ms(lambda: client.get(url), runs)
        out["send log page, one month"] = median_ms(lambda: client.get("/reports/zone-report/send-log"), runs)
        out["KPI for one month"] = median_ms(lambda: (services.zone_report_kpi(today.year, today.month),
                                                      db.session.rollback()), runs)
        sent_days = []

        def send_one():
            target = services.previous_working_day(sent_days[-1] if sent_days else day)
            sent_days.append(target)
            sending.send_zone_report("bench", target)
            db.session.commit()

        out["send prepared (claim, report, log, outbox row)"] = median_ms(
            lambda: (sending.send_zone_report("bench", day, now=None), db.session.flush(), db.session.rollback()),
            runs)
        out["send committed (+ mailer's SMTP attempt)"] = median_ms(send_one, min(runs, 15))
        out["_changes"] = len(report.changes)
        out["_issued"] = report.total
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("APP_ENV", "development")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.sqlite"
            start = time.perf_counter()
            build(path, size)
            print(f"\n{size:,} permits (built in {time.perf_counter() - start:.1f} s)")
            figures = measure(path, args.runs)
            print(f"  the day: {figures.pop('_issued')} permits issued, {figures.pop('_changes')} permit changes")
            for name, ms in figures.items():
                print(f"  {name:<48} {ms:8.2f} ms")


if __name__ == "__main__":
    main()
