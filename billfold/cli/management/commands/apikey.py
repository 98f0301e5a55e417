from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from billfold.accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create a secret API key and print it (it is shown only this once)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--live", action="store_true", help="a live-mode key (default: test mode)")
        parser.add_argument("--name", default="", help="a name to recognise the key by")

    def handle(self, *args: Any, **options: Any) -> None:
        created = api_key_create(livemode=options["live"], name=options["name"])
        self.stdout.write(created.secret)
