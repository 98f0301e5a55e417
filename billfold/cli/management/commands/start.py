from __future__ import annotations

import argparse
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from billfold.accounts.models import ApiKey
from billfold.accounts.services import api_key_create
from billfold.cli.serving import default_workers, run_server


class Command(BaseCommand):
    help = "Set Billfold up (database, first API key, optional demo data) and serve it."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--demo", action="store_true", help="load demo products and customers first")
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--no-serve", action="store_true", help="set up and exit (for scripts)")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        base = f"http://{options['host']}:{options['port']}"
        lines = ["", "Billfold is ready.", f"  Data:     {settings.DATABASES['default']['NAME']}"]
        test_keys = ApiKey.objects.filter(livemode=False, revoked_at__isnull=True)
        if not test_keys.exists():
            created = api_key_create(livemode=False, name="Quick start")
            lines.append(f"  API key:  {created.secret}   (test mode; shown only now, keep it)")
        else:
            shown = ", ".join(str(k) for k in test_keys[:3])
            lines.append(f"  API keys: {shown} (test mode; create another with `billfold apikey`)")
        if options["demo"]:
            call_command("demo", verbosity=0)
            lines.append("  Demo:     products, prices and customers loaded (idempotent)")
        lines += [
            f'  API:      {base}/v1   (set stripe.api_base = "{base}")',
            "",
            "Try it:",
            f"  curl {base}/v1/customers -u YOUR_KEY: -d email=jenny@example.com",
            "",
        ]
        self.stdout.write("\n".join(lines))
        if options["no_serve"]:
            return
        self.stdout.write(f"Serving on {base} (Ctrl+C to stop)\n")
        self.stdout.flush()
        server = run_server(host=options["host"], port=options["port"], workers=options["workers"], threads=1)
        try:
            server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait()
