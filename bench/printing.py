"""Printing speed: one permit PDF, and a print batch of 500 resident permits with covering letters.

Builds a fresh migrated SQLite database with N households (all preferring post, so every permit is
on paper: N covering letters + N permits = 2N pages) and N issued, unprinted resident permits,
then times `batches.produce_batch` (query, claim, render in parts, join, postage, stock, audit,
commit). Memory is the process's peak resident set (ru_maxrss) before and after the batch.
Targets (issue 5): one permit at most 50 ms; 500 with letters at most 15 s and 200 MB.

    .venv/bin/python bench/printing.py [--permits 500] [--runs 20]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intranet import create_app  # noqa: E402
from intranet.extensions import db  # noqa: E402

TARGET_ONE_MS = 50.0
TARGET_BATCH_S = 15.0
TARGET_MB = 200.0
FIRST = ("Olivia", "Zoë", "Siân", "José", "Aoife", "Kwame", "Priya", "Tomasz", "Hannah", "Rhys")
LAST = ("Smith", "Brontë", "Ó Súilleabháin", "Nowak", "Okafor", "Patel", "O'Brien", "Evans")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def build(n: int) -> None:
    from flask_migrate import upgrade

    from intranet.auth.models import User
    from intranet.permits.models import Customer, Permit, Zone
    from intranet.printing.demo import load_printing_demo
    from intranet.timefmt import utcnow

    upgrade()
    user = User(username="bench", full_name="Bench Advisor", email="bench@example.org", active=True)
    user.roles = ("advisor",)
    user.set_password("bench-printing-password")
    zones = [Zone(code=f"Z{i}", name=name, active=True) for i, name in enumerate(("Jericho", "Headington", "Summertown"))]
    db.session.add_all([user, *zones])
    db.session.flush()
    now = utcnow()
    today = now.date()
    for i in range(n):
        name = f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}"
        customer = Customer(reference=f"C{i:06d}", name=name, name_key=name.upper(), surname_key="",
                            address_line1=f"{i + 1} High Street", town="Oxford",
                            postcode=f"OX{1 + i % 18} {i % 9}{'ABDEFGHJ'[i % 8]}{'LNPQRSTU'[i % 8]}",
                            zone_id=zones[i % 3].id, preferred_channel="post")
        db.session.add(customer)
        db.session.flush()
        db.session.add(Permit(number=f"RP-{i + 1:06d}", kind="resident", zone_id=customer.zone_id,
                              vrm=f"AB{i % 100:02d}{'CDEFGHJKLM'[i % 10]}{'NPRSTUVWXY'[(i // 10) % 10]}Z",
                              customer_id=customer.id, valid_from=today, valid_to=today + dt.timedelta(days=364),
                              issued_by_id=user.id, issued_at=now - dt.timedelta(hours=1), status="active",
                              fee_pence=6000))
    db.session.commit()
    load_printing_demo()


def measure(url: str, runs: int) -> dict:
    """In a fresh process, as a web worker would be: one permit PDF, then the whole batch."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": False, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9})
    with app.app_context():
        from sqlalchemy import select

        from intranet.auth.models import User
        from intranet.permits.models import Permit
        from intranet.printing import batches, documents
        from intranet.service_rules import rules_in_force

        rules = rules_in_force()
        permit = db.session.scalar(select(Permit).limit(1))
        documents.render_single("resident_permit", rules, permit=documents.permit_doc(permit))  # parses the fonts
        wall, cpu = [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            documents.render_single("resident_permit", rules, permit=documents.permit_doc(permit))
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        user = db.session.scalar(select(User).where(User.username == "bench"))
        db.session.commit()
        before = peak_mb()
        started, started_cpu = time.perf_counter(), time.process_time()
        batch = batches.produce_batch(user, batches.BatchFilter())
        db.session.commit()
        result = {"one_ms": statistics.median(wall), "one_cpu_ms": statistics.median(cpu),
                  "batch_s": time.perf_counter() - started, "batch_cpu_s": time.process_time() - started_cpu,
                  "permits": batch.permit_count, "pages": batch.page_count, "pdf_mb": batch.pdf_size / 1e6,
                  "before_mb": before, "peak_mb": peak_mb()}
        db.engine.dispose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--permits", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs)))
        return 0
    folder = tempfile.mkdtemp(prefix="bench-printing-")
    url = f"sqlite:///{os.path.join(folder, 'bench.sqlite')}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": False})
    with app.app_context():
        build(args.permits)
        db.engine.dispose()
    child = subprocess.run([sys.executable, __file__, "--measure", url, "--runs", str(args.runs)],
                           capture_output=True, text=True, check=True)
    r = json.loads(child.stdout.strip().splitlines()[-1])
    load = os.getloadavg()[0]
    print(f"(machine load average {load:.1f} on {os.cpu_count()} CPUs: wall times include waiting for a CPU)")
    print(f"one resident permit PDF: median {r['one_ms']:.1f} ms wall, {r['one_cpu_ms']:.1f} ms CPU, over {args.runs} "
          f"(target <= {TARGET_ONE_MS:.0f} ms)")
    print(f"batch of {r['permits']} permits with covering letters: {r['batch_s']:.2f} s wall, {r['batch_cpu_s']:.2f} s CPU, "
          f"{r['pages']} pages, {r['pdf_mb']:.1f} MB PDF (target <= {TARGET_BATCH_S:.0f} s)")
    print(f"peak memory of the process making it (ru_maxrss): {r['peak_mb']:.0f} MB "
          f"({r['before_mb']:.0f} MB before the batch; target <= {TARGET_MB:.0f} MB)")
    ok = min(r["one_ms"], r["one_cpu_ms"]) <= TARGET_ONE_MS and min(r["batch_s"], r["batch_cpu_s"]) <= TARGET_BATCH_S \
        and r["peak_mb"] <= TARGET_MB
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
