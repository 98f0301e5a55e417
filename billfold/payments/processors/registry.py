"""Processors by name, and the one this server uses for new cards (``BILLFOLD_PROCESSOR``).

A saved payment method remembers the name of the processor that holds it, so changing the
setting sends new cards to the new processor while existing cards keep working.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from billfold.payments.processors.base import Processor
from billfold.payments.processors.test_cards import TestCardProcessor

_processors: dict[str, Processor] = {}


def processor_register(processor: Processor) -> None:
    _processors[processor.name] = processor


def processor_names() -> list[str]:
    return sorted(_processors)


def processor_get(name: str) -> Processor:
    try:
        return _processors[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"No payment processor named {name!r}; the known processors are: {', '.join(processor_names())}."
        ) from None


def processor_default() -> Processor:
    """The processor that new cards go to."""
    return processor_get(settings.BILLFOLD_PROCESSOR)


processor_register(TestCardProcessor())
