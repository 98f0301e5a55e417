from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "billfold.cli"
    label = "cli"
