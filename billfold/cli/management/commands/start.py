from __future__ import annotations

import argparse
import secrets
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand

from billfold.accounts.models import ApiKey
from billfold.accounts.services import api_key_create, staff_user_create
from billfold.cli.serving import default_workers, run_server
from billfold.portal.configurations import (
    login_page_url,
    portal_configuration_default,
    portal_configuration_update,
)

# How long the worker gets to finish its row on Ctrl+C before it is killed (a kill is safe too:
# its claims run out and another run finishes the row).
WORKER_STOP_TIMEOUT = 30


class Command(BaseCommand):
    help = "Set Billfold up (database, first API key, optional demo data) and serve it, with the billing worker."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--demo", action="store_true", help="load demo products and customers first")
        parser.add_argument(
            "--owner-email",
            default="owner@localhost",
            help="the email address of the first dashboard user, made on the first start (default owner@localhost)",
        )
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--no-serve", action="store_true", help="set up and exit (for scripts)")
        parser.add_argument(
            "--no-worker", action="store_true", help="serve without the billing worker (run `billfold worker` apart)"
        )

    def _portal_lines(self, *, activate: bool) -> list[str]:
        """Where customers sign in: the test-mode login link, turned on for the demo."""
        configuration = portal_configuration_default(livemode=False)
        if activate and configuration.login_link is None:
            configuration = portal_configuration_update(
                configuration=configuration, values={"login_page": {"enabled": True}}
            )
        if configuration.login_link is None:
            return [
                "  Portal:    its login link is off; turn it on in the dashboard (Customer portal > Activate link),",
                "             or with `login_page[enabled]=true` on",
                f"             POST /v1/billing_portal/configurations/{configuration.public_id}",
            ]
        return [
            f"  Portal:    {login_page_url(configuration.login_link)}",
            "             (test mode: customers sign in with their email and a code sent to data/outbox/)",
        ]

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        base = f"http://{options['host']}:{options['port']}"
        lines = ["", "Billfold is ready.", f"  Data:      {settings.DATABASES['default']['NAME']}"]
        test_keys = ApiKey.objects.filter(livemode=False, revoked_at__isnull=True)
        example_key = "YOUR_KEY"
        if not test_keys.exists():
            created = api_key_create(livemode=False, name="Quick start")
            example_key = created.secret
            lines.append(f"  API key:   {created.secret}   (test mode; shown only now, keep it)")
        else:
            shown = ", ".join(str(k) for k in test_keys[:3])
            lines.append(f"  API keys:  {shown} (test mode; create another with `billfold apikey`)")
        lines.append(f"  Dashboard: {base}/dashboard/")
        if not User.objects.filter(is_staff=True).exists():
            # Long and random: it is shown once, here, and may be changed with `billfold changepassword`.
            password = secrets.token_urlsafe(15)
            owner = staff_user_create(email=options["owner_email"], password=password, owner=True)
            lines.append(f"             sign in as {owner.email} with the password {password}")
            lines.append(
                f"             (shown only now; change it with `billfold changepassword {owner.email}`, "
                "add people with `billfold createuser`)"
            )
        if options["demo"]:
            call_command("demo", verbosity=0)
            lines.append("  Demo:      products, prices, customers and subscriptions loaded (idempotent)")
        lines += self._portal_lines(activate=options["demo"])
        lines += [
            f'  API:       {base}/v1   (set stripe.api_base = "{base}")',
            "",
            "Try it:",
            f"  curl {base}/v1/customers -u {example_key}: -d email=jenny@example.com",
            "",
        ]
        self.stdout.write("\n".join(lines))
        if options["no_serve"]:
            return
        self.stdout.write(f"Serving on {base} (Ctrl+C to stop)\n")
        if not options["no_worker"]:
            self.stdout.write("Billing worker running beside it: renewals, trial ends, payment retries.\n")
        self.stdout.flush()
        # A SIGTERM (a service manager, `timeout`, `kill`) stops both children like Ctrl+C does,
        # rather than leaving them running without their parent.
        signal.signal(signal.SIGTERM, _interrupt)
        server = run_server(host=options["host"], port=options["port"], workers=options["workers"], threads=1)
        processes = [server] if options["no_worker"] else [server, _run_worker()]
        try:
            # Either one ending on its own (a crash, a port in use) ends the quick start.
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        for process in processes:
            if process.poll() is None:
                # The worker finishes the row it is on before it exits.
                process.terminate()
        for process in processes:
            try:
                # The web server is left to stop in its own time, as before the worker existed.
                process.wait(timeout=None if process is server else WORKER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        stopped = [p for p in processes if p.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        if stopped and stopped[0] is server:
            self.stderr.write(f"The web server exited with status {server.returncode}.")
        elif stopped:
            self.stderr.write(f"The billing worker exited with status {stopped[0].returncode}.")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run_worker() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "billfold.cli.main", "worker"])
