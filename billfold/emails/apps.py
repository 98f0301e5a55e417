from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "billfold.emails"
    label = "emails"

    def ready(self) -> None:
        from billfold.emails import kinds, services
        from billfold.events.subscribers import register_event_subscriber

        kinds.settings_check()
        # Receipts, payment failures, renewal and trial reminders are queued with the event that asks for them.
        register_event_subscriber(services.email_enqueue_for_event, many=services.emails_enqueue_for_events)
