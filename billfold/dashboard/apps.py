from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "billfold.dashboard"
    label = "dashboard"
