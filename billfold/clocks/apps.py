from django.apps import AppConfig


class ClocksConfig(AppConfig):
    name = "billfold.clocks"
    label = "clocks"
