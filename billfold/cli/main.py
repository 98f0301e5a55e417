"""The ``billfold`` console command: Django's management commands under one name.

``billfold start`` sets everything up and serves; ``billfold serve`` only serves;
every other Django command works too (``billfold migrate``, ``billfold shell``...).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billfold.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    if len(args) < 2:
        args.append("help")
    args[0] = "billfold"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
