"""API throughput of Billfold served the production way: customer creates and retrieves per second.

    .venv/bin/python -m bench.api_throughput [--seconds N] [--sqlite | --postgres]

Sets up a fresh data folder (and, with --postgres, a fresh PostgreSQL database that is dropped
afterwards), runs ``billfold start --no-serve`` then ``billfold serve`` on a free loopback port, makes
an API key with ``billfold apikey``, and measures through the official stripe SDK (sequential, then
threads) and through wrk (a raw HTTP load generator) at several connection counts. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BILLFOLD = Path(sys.executable).with_name("billfold")
CONNECTIONS = (1, 4, 16, 64)
SDK_THREADS = 8
# Enough distinct customers that retrieves do not all hit one row.
MAX_RETRIEVE_IDS = 2000
CREATE_BODY = "email=jenny.rosen%40example.com&name=Jenny+Rosen&description=Benchmark+customer"


@dataclass
class Figure:
    client: str
    operation: str
    concurrency: int
    calls: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    # CPU time the server's processes spent per call: how many calls/s the cores could serve at most.
    server_cpu_us: float | None = None

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


# --- the database -------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on ``server_url``; dropped afterwards even if the run fails."""
    import psycopg

    name = f"bench_api_{secrets.token_hex(4)}"
    admin = f"{server_url.rstrip('/')}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url.rstrip('/')}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the server ---------------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by ``billfold serve`` and its granian processes (Linux /proc), or None."""
        ticks = os.sysconf("SC_CLK_TCK")
        parents: dict[int, int] = {}
        used: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue  # the process ended meanwhile
            pid = int(stat.parent.name)
            parents[pid] = int(fields[1])
            used[pid] = int(fields[11]) + int(fields[12])
        if self.pid not in used:
            return None
        tree, frontier = {self.pid}, [self.pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
            tree.update(children)
            frontier += children
        return sum(used[pid] for pid in tree) / ticks

    def measure(self, run: Callable[..., Figure], *args: Any) -> Figure:
        before = self.cpu_seconds()
        figure = run(*args)
        after = self.cpu_seconds()
        if before is not None and after is not None and figure.calls:
            figure.server_cpu_us = (after - before) / figure.calls * 1e6
        return figure


def billfold(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(BILLFOLD), *args], env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"`billfold {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def wait_until_serving(base: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"`billfold serve` exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            urllib.request.urlopen(f"{base}/v1/customers", timeout=2)
        except urllib.error.HTTPError:
            return  # 401 without a key: the application is answering.
        except OSError:
            time.sleep(0.1)
            continue
        return
    raise SystemExit(f"`billfold serve` did not answer within 60 s:\n{log_path.read_text()}")


@contextlib.contextmanager
def serving(env: dict[str, str], workdir: Path, serve_args: list[str]) -> Iterator[Server]:
    """``billfold serve`` on a free loopback port; stopped (with its granian workers) afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"
    with log_path.open("wb") as server_log:
        # Its own session, so stopping it reaches granian's worker processes too.
        server = subprocess.Popen(
            [str(BILLFOLD), "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args],
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_serving(base, server, log_path)
        yield Server(base=base, pid=server.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- the stripe SDK -----------------------------------------------------------------------------


def sdk_run(operation: str, call: Callable[[int], Any], threads: int, seconds: float) -> Figure:
    """``call(n)`` from ``threads`` threads until ``seconds`` have passed."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    counter = iter(range(10**12))
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def loop(slot: int) -> None:
        mine = latencies[slot]
        while (now := time.perf_counter()) < deadline:
            with lock:
                n = next(counter)
            try:
                call(n)
            except Exception:
                errors[slot] += 1
                continue
            mine.append(time.perf_counter() - now)

    workers = [threading.Thread(target=loop, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    merged = sorted(value for part in latencies for value in part)
    return Figure(
        client="stripe SDK",
        operation=operation,
        concurrency=threads,
        calls=len(merged),
        seconds=elapsed,
        errors=sum(errors),
        p50_ms=percentile(merged, 0.50) * 1000,
        p99_ms=percentile(merged, 0.99) * 1000,
    )


def sdk_figures(server: Server, key: str, seconds: float) -> tuple[list[Figure], list[str]]:
    import stripe

    stripe.api_key = key
    stripe.api_base = server.base
    # A refusal or a timeout counts as an error instead of being retried behind the measurement.
    stripe.max_network_retries = 0
    created: list[str] = []

    def create(n: int) -> None:
        customer = stripe.Customer.create(email=f"jenny.rosen+{n}@example.com", name="Jenny Rosen")
        if len(created) < MAX_RETRIEVE_IDS:
            created.append(customer.id)

    def retrieve(n: int) -> None:
        stripe.Customer.retrieve(created[n % len(created)])

    figures = []
    for threads in (1, SDK_THREADS):
        log(f"stripe SDK, {threads} thread(s): creates...")
        figures.append(server.measure(sdk_run, "create", create, threads, seconds))
        log(f"stripe SDK, {threads} thread(s): retrieves...")
        figures.append(server.measure(sdk_run, "retrieve", retrieve, threads, seconds))
    return figures, created


def seed_customer(base: str, key: str) -> str:
    """One customer made with a plain HTTP request, for wrk's retrieves when the SDK is skipped."""
    request = urllib.request.Request(
        f"{base}/v1/customers",
        data=CREATE_BODY.encode(),
        headers={"Authorization": f"Bearer {key}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["id"])


# --- wrk ----------------------------------------------------------------------------------------

_LATENCY_LINE = re.compile(r"^\s*(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# What wrk measures: the operation's name in the table, and its Lua script's file name.
CREATE, CREATE_IDEMPOTENT, RETRIEVE = "create", "create, Idempotency-Key", "retrieve"


def write_scripts(workdir: Path, key: str, ids: list[str]) -> dict[str, Path]:
    auth = f'wrk.headers["Authorization"] = {lua_string("Bearer " + key)}\n'
    post = (
        'wrk.method = "POST"\n'
        + auth
        + 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        + f"wrk.body = {lua_string(CREATE_BODY)}\n"
    )
    create = workdir / "create.lua"
    create.write_text(post)
    # Stripe's SDKs send a new Idempotency-Key with every POST; the run's nonce (the script's
    # argument) keeps the keys of one run from replaying those of another.
    create_idempotent = workdir / "create_idempotent.lua"
    create_idempotent.write_text(
        post
        + "local prefix, n = nil, 0\n"
        + "init = function(args) prefix = args[1] end\n"
        + "request = function()\n"
        + "  n = n + 1\n"
        + '  wrk.headers["Idempotency-Key"] = prefix .. "-" .. n\n'
        + "  return wrk.format()\n"
        + "end\n"
    )
    retrieve = workdir / "retrieve.lua"
    retrieve.write_text(
        auth
        + "local ids = {"
        + ", ".join(lua_string(i) for i in ids)
        + "}\n"
        + "local n = 0\n"
        + "request = function()\n"
        + "  n = n % #ids + 1\n"
        + '  return wrk.format("GET", "/v1/customers/" .. ids[n])\n'
        + "end\n"
    )
    return {CREATE: create, CREATE_IDEMPOTENT: create_idempotent, RETRIEVE: retrieve}


def wrk_run(operation: str, url: str, script: Path, connections: int, seconds: float) -> Figure:
    # One wrk thread keeps the load generator's share of this machine's cores small.
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url]
    command += ["--", secrets.token_hex(8)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    out = result.stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if result.returncode != 0 or total is None:
        raise SystemExit(f"wrk failed:\n{out}{result.stderr}")
    elapsed = float(total.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[total.group(3)]
    latency = {m.group(1): float(m.group(2)) * _UNIT_MS[m.group(3)] for m in _LATENCY_LINE.finditer(out)}
    errors = 0
    if non_2xx := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(non_2xx.group(1))
    if socket_errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in socket_errors.groups())
    return Figure(
        client="wrk",
        operation=operation,
        concurrency=connections,
        calls=int(total.group(1)),
        seconds=elapsed,
        errors=errors,
        p50_ms=latency.get("50", 0.0),
        p99_ms=latency.get("99", 0.0),
    )


def wrk_figures(
    server: Server,
    key: str,
    ids: list[str],
    seconds: float,
    workdir: Path,
    *,
    operations: list[str],
    connection_counts: list[int],
) -> list[Figure]:
    every = write_scripts(workdir, key, ids)
    scripts = {name: path for name, path in every.items() if name in operations}
    url = f"{server.base}/v1/customers"
    # Every granian worker imports Django and opens its database connection on its first requests.
    wrk_run("warm-up", url, every[RETRIEVE], 16, 2)
    figures = []
    for connections in connection_counts:
        for operation, script in scripts.items():
            log(f"wrk, {connections} connection(s): {operation}...")
            figures.append(server.measure(wrk_run, operation, url, script, connections, seconds))
    return figures


# --- the report ---------------------------------------------------------------------------------


def table(figures: list[Figure]) -> str:
    lines = [
        "| client | operation | concurrency | calls/s | p50 ms | p99 ms | server CPU µs/call | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for f in figures:
        cpu = "" if f.server_cpu_us is None else f"{f.server_cpu_us:,.0f}"
        lines.append(
            f"| {f.client} | {f.operation} | {f.concurrency} | {f.per_second:,.0f} | {f.p50_ms:.2f} | "
            f"{f.p99_ms:.2f} | {cpu} | {f.errors} |"
        )
    return "\n".join(lines)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def check_tools() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk")
    if not BILLFOLD.exists():
        raise SystemExit(f"{BILLFOLD} not found: install Billfold into this environment (pip install -e .)")
    try:
        import stripe  # noqa: F401
    except ImportError:
        raise SystemExit("The stripe SDK is not installed: .venv/bin/pip install -e '.[test]'") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="duration of each measurement (default 10)")
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--sqlite", action="store_true", help="SQLite in a new data folder (the default)")
    database.add_argument("--postgres", action="store_true", help="a new PostgreSQL database, dropped afterwards")
    parser.add_argument(
        "--postgres-server",
        default="postgresql://postgres@127.0.0.1:5432",
        help="where --postgres creates its database (default: %(default)s)",
    )
    parser.add_argument("--no-sdk", action="store_true", help="measure with wrk only")
    parser.add_argument(
        "--operations",
        default="create,create-idempotent,retrieve",
        help="wrk operations to measure, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--connections",
        default=",".join(str(c) for c in CONNECTIONS),
        help="wrk connection counts, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "serve_args", nargs=argparse.REMAINDER, help="after --: extra options for `billfold serve` (e.g. --workers 3)"
    )
    args = parser.parse_args(argv)
    serve_args = [a for a in args.serve_args if a != "--"]
    names = {"create": CREATE, "create-idempotent": CREATE_IDEMPOTENT, "retrieve": RETRIEVE}
    chosen = [o.strip() for o in args.operations.split(",") if o.strip()]
    if unknown := sorted(set(chosen) - set(names)):
        parser.error(f"unknown operation(s): {', '.join(unknown)}; choose among {', '.join(names)}")
    operations = [names[o] for o in chosen]
    connection_counts = [int(c) for c in args.connections.split(",") if c.strip()]
    check_tools()

    with tempfile.TemporaryDirectory(prefix="billfold-bench-") as tmp:
        workdir = Path(tmp)
        env = {**os.environ, "BILLFOLD_DATA_DIR": str(workdir / "data")}
        env.pop("DATABASE_URL", None)
        with contextlib.ExitStack() as stack:
            if args.postgres:
                env["DATABASE_URL"] = stack.enter_context(postgres_database(args.postgres_server))
                described = "PostgreSQL (" + env["DATABASE_URL"].rsplit("/", 1)[-1] + ")"
            else:
                described = "SQLite (WAL, synchronous=FULL)"
            log(f"Setting up {described} in {workdir}...")
            billfold(env, "start", "--no-serve")
            key = billfold(env, "apikey", "--name", "benchmark").strip().splitlines()[-1]
            server = stack.enter_context(serving(env, workdir, serve_args))
            before = load_average()
            log(f"Serving on {server.base}; load average {before}")
            figures: list[Figure] = []
            ids: list[str] = []
            if not args.no_sdk:
                sdk, ids = sdk_figures(server, key, args.seconds)
                figures += sdk
            if not ids:
                ids = [seed_customer(server.base, key) for _ in range(50)]
            figures += wrk_figures(
                server, key, ids, args.seconds, workdir, operations=operations, connection_counts=connection_counts
            )
            after = load_average()

    serve = " ".join(["billfold serve", *serve_args])
    print(
        f"\nBillfold API throughput: {described}, `{serve}`, {os.cpu_count()} cores, "
        f"{args.seconds:g} s per row, load average before {before}, after {after}\n"
    )
    print(table(figures))
    if any(f.errors for f in figures):
        raise SystemExit("Some calls failed (see the errors column).")


if __name__ == "__main__":
    main()
