from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "billfold.events"
    label = "events"
