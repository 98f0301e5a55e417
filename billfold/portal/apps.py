from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "billfold.portal"
    label = "portal"
