"""``billfold createuser EMAIL``: a dashboard account, its password typed twice or read from the environment."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billfold.accounts.services import staff_user_create
from billfold.core.errors import DomainError

DEFAULT_PASSWORD_VARIABLE = "BILLFOLD_PASSWORD"  # noqa: S105 (the name of a variable, not a password)


class Command(BaseCommand):
    help = "Create a dashboard user who signs in with an email address and a password."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("email", help="the email address the user signs in with")
        parser.add_argument(
            "--password-from-env",
            nargs="?",
            const=DEFAULT_PASSWORD_VARIABLE,
            metavar="VARIABLE",
            help=f"read the password from an environment variable (default {DEFAULT_PASSWORD_VARIABLE}) "
            "instead of asking for it",
        )
        parser.add_argument("--owner", action="store_true", help="make the user an owner (superuser)")

    def handle(self, *args: Any, **options: Any) -> None:
        variable = options["password_from_env"]
        if variable is not None:
            password = os.environ.get(variable)
            if not password:
                raise CommandError(f"The environment variable {variable} is not set or empty.")
        else:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("The two passwords differ; nothing was created.")
        try:
            user = staff_user_create(email=options["email"], password=password, owner=options["owner"])
        except DomainError as refused:
            raise CommandError(refused.message) from None
        role = "owner" if user.is_superuser else "staff user"
        self.stdout.write(f"Created {role} {user.email}: sign in at /dashboard/ with this email address.")
