from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from billfold.cli.serving import default_workers, run_server


class Command(BaseCommand):
    help = "Serve Billfold over HTTP with the production server (granian)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=default_workers(), help="server processes (default: cores)")
        parser.add_argument("--threads", type=int, default=1, help="request threads per process")

    def handle(self, *args: Any, **options: Any) -> None:
        server = run_server(
            host=options["host"], port=options["port"], workers=options["workers"], threads=options["threads"]
        )
        try:
            server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait()
