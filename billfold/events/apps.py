from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "billfold.events"
    label = "events"

    def ready(self) -> None:
        from billfold.events.endpoints import route_event, route_events
        from billfold.events.subscribers import register_event_subscriber

        # Every event written gets its webhook deliveries in the same transaction.
        register_event_subscriber(route_event, many=route_events)
