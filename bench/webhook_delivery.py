"""Webhook delivery throughput: events sent by `billfold worker` processes to a local receiver.

    .venv/bin/python -m bench.webhook_delivery [--n 2000] [--workers 1,2] [--threads 4] [--postgres]

A fresh data folder (and, with --postgres, a fresh PostgreSQL database, dropped afterwards), one
test-mode webhook endpoint subscribed to ``*`` on a local receiver (a threaded ``http.server`` in
this process that checks every ``Stripe-Signature`` and answers 200). For each worker count: that
many ``billfold worker`` processes are started and left idle, then N customers are created in one
transaction (N ``customer.created`` events, so N deliveries committed at once), and the time from
the commit until every delivery is recorded as succeeded gives deliveries per second, and the
workers' CPU time over that span (from /proc) the CPU cost of one delivery. The workers are then
stopped with SIGTERM. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.billing_run import postgres_database

BILLFOLD = Path(sys.executable).with_name("billfold")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Receiver:
    """Counts deliveries and checks each signature against the endpoint's secret."""

    def __init__(self) -> None:
        self.secret = ""
        self.received = 0
        self.bad = 0
        self.lock = threading.Lock()

    def check(self, header: str, body: bytes) -> bool:
        parts = dict(item.split("=", 1) for item in header.split(",") if item.startswith("t="))
        signed = f"{parts.get('t', '')}.".encode() + body
        expected = hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
        return any(hmac.compare_digest(expected, item[3:]) for item in header.split(",") if item.startswith("v1="))


@contextlib.contextmanager
def receiving() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            good = receiver.check(self.headers.get("Stripe-Signature", ""), body)
            with receiver.lock:
                receiver.received += 1
                receiver.bad += 0 if good else 1
            self.send_response(200 if good else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_address[1]}/webhook"
    finally:
        server.shutdown()
        server.server_close()


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[str]]:
    workers = [
        subprocess.Popen(
            [str(BILLFOLD), "worker", "--sleep", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        if "started" not in line:
            raise SystemExit(f"a worker did not start: {line}{worker.stdout.read()}")
    return workers


def cpu_seconds(workers: list[subprocess.Popen[str]]) -> float:
    """User + system CPU time the worker processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for worker in workers:
        fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def stop_workers(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.communicate(timeout=60)
        if worker.returncode != 0:
            raise SystemExit(f"a worker exited with {worker.returncode}")


def measure(args: argparse.Namespace, env: dict[str, str]) -> list[tuple[int, int, float, int, float]]:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billfold.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from billfold.customers.services import customer_create
    from billfold.events.endpoints import webhook_endpoint_create
    from billfold.events.models import WebhookDelivery

    call_command("migrate", verbosity=0)
    results: list[tuple[int, int, float, int, float]] = []
    with receiving() as (receiver, url):
        created = webhook_endpoint_create(livemode=False, url=url, enabled_events=["*"])
        receiver.secret = created.secret
        for count in args.workers:
            workers = start_workers(count, env)
            try:
                first = WebhookDelivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                with transaction.atomic():
                    for index in range(args.n):
                        customer_create(livemode=False, values={"email": f"bench{count}-{index}@example.com"})
                started = time.perf_counter()
                cpu_before = cpu_seconds(workers)
                mine = WebhookDelivery.objects.filter(pk__gt=first)
                while mine.filter(status="succeeded").count() < args.n:
                    if time.perf_counter() - started > args.timeout:
                        raise SystemExit(f"not all deliveries succeeded within {args.timeout} s")
                    time.sleep(0.05)
                seconds = time.perf_counter() - started
                cpu = cpu_seconds(workers) - cpu_before
            finally:
                stop_workers(workers)
            attempts = sum(mine.values_list("attempts", flat=True))
            results.append((count, args.n, seconds, attempts, cpu))
            log(f"{count} worker(s): {args.n} deliveries in {seconds:.2f} s")
        if receiver.bad:
            raise SystemExit(f"{receiver.bad} deliveries had a bad signature")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="events per worker count (default: %(default)s)")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=4, help="BILLFOLD_WEBHOOK_THREADS (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds per row")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database instead of SQLite")
    parser.add_argument("--postgres-server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as data, contextlib.ExitStack() as stack:
        env = {
            **os.environ,
            "BILLFOLD_DATA_DIR": data,
            "BILLFOLD_WEBHOOK_THREADS": str(args.threads),
            "LOG_LEVEL": "ERROR",
        }
        env.pop("DATABASE_URL", None)
        if args.postgres:
            env["DATABASE_URL"] = stack.enter_context(postgres_database(args.postgres_server))
        results = measure(args, env)
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nWebhook delivery, {database}, {args.threads} sender threads per worker, local receiver\n")
    print("| workers | deliveries | seconds | deliveries/s | attempts | worker CPU µs/delivery |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for count, n, seconds, attempts, cpu in results:
        print(f"| {count} | {n:,} | {seconds:.2f} | {n / seconds:,.0f} | {attempts:,} | {cpu / n * 1e6:,.0f} |")


if __name__ == "__main__":
    main()
