from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class PaymentsConfig(AppConfig):
    name = "billfold.payments"
    label = "payments"

    def ready(self) -> None:
        checks.register(check_processor_setting)


def check_processor_setting(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A misspelt BILLFOLD_PROCESSOR is reported when the server starts, not at the first payment."""
    from billfold.payments.processors.registry import processor_names

    name = settings.BILLFOLD_PROCESSOR
    if name in processor_names():
        return []
    return [
        checks.Error(
            f"BILLFOLD_PROCESSOR is {name!r}, which is not a payment processor.",
            hint=f"Set it to one of: {', '.join(processor_names())}.",
            id="payments.E001",
        )
    ]
