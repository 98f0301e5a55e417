"""Running the production HTTP server (granian, WSGI), shared by ``start`` and ``serve``."""

from __future__ import annotations

import os
import subprocess
import sys


def server_command(*, host: str, port: int, workers: int, threads: int) -> list[str]:
    """granian serving Django over WSGI.

    Measured on a 2-core machine (see bench/), granian's WSGI server handles several times the
    requests per second of gunicorn's sync workers for the same Django views. One process per core
    with one request thread each is its best setting for Billfold: more processes or threads,
    ``--runtime-mode st|mt``, ``--http 1`` and a low ``--backpressure`` gave no more calls/s and
    no less CPU per call (bench/README.md).
    """
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--no-ws",
        "--log-level",
        "warning",
        "billfold.wsgi:application",
    ]


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_server(*, host: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(server_command(host=host, port=port, workers=workers, threads=threads))  # noqa: S603
