"""Customer portal page latency under concurrent load, served the production way.

    .venv/bin/python -m bench.portal_latency [--seconds N] [--connections N] [--postgres]

Sets up a fresh data folder (and, with --postgres, a fresh PostgreSQL database dropped afterwards),
serves Billfold with ``billfold serve``, and, through the official stripe SDK, makes a customer with
5 subscriptions and 50 invoices. A portal session (``POST /v1/billing_portal/sessions``) is opened
once to get the browser's cookie; then wrk (50 connections by default) loads the portal's overview
page with that cookie and the latency percentiles are printed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from bench.api_throughput import (
    billfold,
    check_tools,
    load_average,
    log,
    postgres_database,
    serving,
)

SUBSCRIPTIONS = 5
INVOICES = 50
# wrk prints these percentiles from its own histogram (microseconds) when the run is done.
LUA_DONE = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("percentile %d %d\\n", p, latency:percentile(p)))
  end
  io.write(string.format("requests %d\\n", summary.requests))
  io.write(string.format("non2xx %d\\n", summary.errors.status))
end
"""


def seed(base: str, key: str) -> str:
    """A customer with SUBSCRIPTIONS subscriptions and INVOICES paid invoices; returns its id."""
    import stripe

    stripe.api_key = key
    stripe.api_base = base
    stripe.max_network_retries = 0
    customer = stripe.Customer.create(
        email="jenny.rosen@example.com",
        name="Jenny Rosen",
        payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
    )
    for n in range(SUBSCRIPTIONS):
        price = stripe.Price.create(
            currency="usd",
            unit_amount=1000 + 100 * n,
            recurring={"interval": "month"},
            product_data={"name": f"Plan {n + 1}"},
        )
        stripe.Subscription.create(customer=customer.id, items=[{"price": price.id}])
    for n in range(INVOICES):
        stripe.InvoiceItem.create(customer=customer.id, amount=500 + n, currency="usd", description=f"Extra {n}")
        invoice = stripe.Invoice.create(customer=customer.id, pending_invoice_items_behavior="include")
        stripe.Invoice.finalize_invoice(invoice.id)
        stripe.Invoice.pay(invoice.id, paid_out_of_band=True)
    return str(customer.id)


def portal_cookie(base: str, key: str, customer_id: str) -> tuple[str, str]:
    """(the overview's path, the Cookie header) of a browser that opened a portal session URL."""
    import stripe

    session = stripe.billing_portal.Session.create(customer=customer_id, return_url="https://example.com")
    # The URL is built from SITE_URL; the server under test listens on its own port.
    path = urllib.parse.urlsplit(session.url).path
    server = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(server.hostname or "127.0.0.1", server.port)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    location = response.getheader("Location")
    cookies = [value.split(";", 1)[0] for name, value in response.getheaders() if name.lower() == "set-cookie"]
    if response.status not in (302, 303) or not location or not cookies:
        raise SystemExit(f"Opening the portal session gave {response.status} without a cookie and a redirect.")
    return urllib.parse.urlsplit(location).path or "/", "; ".join(cookies)


def wrk_latency(base: str, path: str, cookie: str, connections: int, seconds: float, workdir: Path) -> dict[str, Any]:
    import subprocess

    script = workdir / "portal.lua"
    script.write_text(f'wrk.headers["Cookie"] = "{cookie}"\n' + LUA_DONE)
    threads = min(connections, 2)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "-s", str(script), base + path]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise SystemExit(f"wrk failed:\n{result.stdout}{result.stderr}")
    figures: dict[str, Any] = {"percentiles": {}}
    for match in re.finditer(r"percentile (\d+) (\d+)", result.stdout):
        figures["percentiles"][int(match.group(1))] = int(match.group(2)) / 1000
    figures["requests"] = int(re.search(r"requests (\d+)", result.stdout).group(1))  # type: ignore[union-attr]
    figures["non2xx"] = int(re.search(r"non2xx (\d+)", result.stdout).group(1))  # type: ignore[union-attr]
    figures["seconds"] = seconds
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.portal_latency", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="duration of the measurement (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--postgres", action="store_true", help="a new PostgreSQL database, dropped afterwards")
    parser.add_argument(
        "--postgres-server",
        default="postgresql://postgres@127.0.0.1:5432",
        help="where --postgres creates its database (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    check_tools()
    with tempfile.TemporaryDirectory(prefix="billfold-bench-") as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "BILLFOLD_DATA_DIR": str(workdir / "data")}
        env.pop("DATABASE_URL", None)
        with contextlib.ExitStack() as stack:
            if args.postgres:
                env["DATABASE_URL"] = stack.enter_context(postgres_database(args.postgres_server))
                described = "PostgreSQL"
            else:
                described = "SQLite (WAL, synchronous=FULL)"
            log(f"Setting up {described} in {workdir}...")
            billfold(env, "start", "--no-serve")
            key = billfold(env, "apikey", "--name", "benchmark").strip().splitlines()[-1]
            server = stack.enter_context(serving(env, workdir, []))
            log(f"Making a customer with {SUBSCRIPTIONS} subscriptions and {INVOICES} invoices...")
            customer_id = seed(server.base, key)
            path, cookie = portal_cookie(server.base, key, customer_id)
            log(f"Warming up, then {args.connections} clients for {args.seconds:g} s on {path}...")
            wrk_latency(server.base, path, cookie, 4, 2, workdir)
            before = load_average()
            cpu_before = server.cpu_seconds()
            figures = wrk_latency(server.base, path, cookie, args.connections, args.seconds, workdir)
            cpu_after = server.cpu_seconds()
            after = load_average()
    p = figures["percentiles"]
    rate = figures["requests"] / figures["seconds"]
    cpu = ""
    if cpu_before is not None and cpu_after is not None and figures["requests"]:
        cpu = f" | {(cpu_after - cpu_before) / figures['requests'] * 1e3:.1f}"
    print(
        f"\nPortal overview page ({SUBSCRIPTIONS} subscriptions, {INVOICES} invoices), {described}, `billfold serve`, "
        f"{os.cpu_count()} cores, {args.connections} clients, {args.seconds:g} s, "
        f"load average before {before}, after {after}\n"
    )
    print("| pages/s | p50 ms | p95 ms | p99 ms | server CPU ms/page | non-2xx |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| {rate:,.0f} | {p[50]:.1f} | {p[95]:.1f} | {p[99]:.1f}{cpu or ' | '} | {figures['non2xx']} |")
    if figures["non2xx"]:
        raise SystemExit("Some pages were not served (see non-2xx).")


if __name__ == "__main__":
    main()
