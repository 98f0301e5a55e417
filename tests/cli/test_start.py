"""What `billfold start` prints about the customer portal."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def start(*args: str) -> str:
    out = io.StringIO()
    call_command("start", "--no-serve", *args, stdout=out)
    return out.getvalue()


def test_without_demo_the_login_link_stays_off_and_says_how_to_turn_it_on() -> None:
    printed = start()
    assert "Portal:    its login link is off; turn it on in the dashboard (Customer portal > Activate link)," in printed
    assert "or with `login_page[enabled]=true` on" in printed
    assert re.search(r"POST /v1/billing_portal/configurations/bpc_\w+", printed)


def test_the_demo_turns_the_login_link_on_and_prints_it(client: Client) -> None:
    printed = start("--demo")
    found = re.search(r"Portal:    http://127\.0\.0\.1:8000(/p/login/test_\w+)", printed)
    assert found is not None
    assert client.get(found.group(1)).status_code == 200
    # A second start prints the same link: it is turned on once.
    assert found.group(0) in start("--demo")
