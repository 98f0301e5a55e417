from tests.events.receiver import receiver

__all__ = ["receiver"]
