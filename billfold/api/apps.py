from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "billfold.api"
    label = "api"

    def ready(self) -> None:
        # Representations register their renderers (for event payloads) and expanders.
        from billfold.api import representations  # noqa: F401
