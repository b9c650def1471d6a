"""HTTP throughput and latency of the app under gunicorn (2 workers) on loopback.

Prints requests/s and p50/p95 latency for /healthz, the login page and a signed-in page, and each
page's ratio to /healthz (the cost of our own code over the bare stack). The load is bounded: a
fixed number of requests per page from a few client threads, and a time cap.

    .venv/bin/python bench/http_load.py [--requests 2000] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(env: dict) -> None:
    for args in (["db", "upgrade"], ["demo-data"]):
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_up(port: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def sign_in(port: int, password: str) -> str:
    """Returns the session cookie of the demo advisor."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/login")
    response = conn.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"username": "advisor", "password": password, "csrf_token": token})
    conn.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 303:
        raise SystemExit(f"sign-in failed: {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


def load(port: int, path: str, headers: dict, total: int, concurrency: int, cap_seconds: float):
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [total]
    stop_at = time.perf_counter() + cap_seconds
    failures = [0]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while True:
            with lock:
                if remaining[0] <= 0 or time.perf_counter() > stop_at:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    failures[0] += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies), "failures": failures[0], "rps": len(latencies) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per page (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--cap-seconds", type=float, default=60, help="time cap per page (default 60)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        password = "bench-password-123"
        env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite",
               "DEMO_PASSWORD": password, "SECRET_KEY": "bench-secret-key-not-for-production"}
        prepare_database(env)
        port = free_port()
        server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
                                   "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
        try:
            wait_until_up(port)
            cookie = sign_in(port, password)
            pages = [("/healthz", {}), ("/login", {}), ("/ (signed in)", {"Cookie": cookie})]
            results = {}
            for label, headers in pages:
                path = label.split(" ")[0]
                load(port, path, headers, 100, args.concurrency, 10)  # warm-up
                results[label] = load(port, path, headers, args.requests, args.concurrency, args.cap_seconds)
        finally:
            server.terminate()
            server.wait(10)

    base = results["/healthz"]
    print(f"gunicorn 2 workers, {args.concurrency} client threads, {args.requests} requests per page, SQLite")
    print(f"{'page':<16}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'rps ratio':>11}{'p50 ratio':>11}{'errors':>8}")
    for label, r in results.items():
        print(f"{label:<16}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p95']:>9.2f}"
              f"{r['rps'] / base['rps']:>11.2f}{r['p50'] / base['p50']:>11.2f}{r['failures']:>8}")


if __name__ == "__main__":
    main()
