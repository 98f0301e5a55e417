from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billfold.billing"
    label = "billing"

    def ready(self) -> None:
        from billfold.billing import dunning, renewals
        from billfold.clocks.advance import register_advance_hook

        # A retry schedule that cannot be read stops every process at startup, not a renewal months later.
        dunning.settings_check()
        # Advancing a test clock runs the renewals and payment retries of its customers.
        register_advance_hook(renewals.advance_test_clock)
