from __future__ import annotations

from django.apps import AppConfig


class BrandingConfig(AppConfig):
    name = "billfold.branding"
    label = "branding"
    default_auto_field = "django.db.models.BigAutoField"
