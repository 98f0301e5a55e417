from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billfold.billing"
    label = "billing"

    def ready(self) -> None:
        from billfold.billing import dunning, renewals
        from billfold.billing.subscriptions.common import upcoming_renewal_notice
        from billfold.clocks.advance import register_advance_hook

        # A retry schedule that cannot be read stops every process at startup, not a renewal months later.
        dunning.settings_check()
        upcoming_renewal_notice()
        # Advancing a test clock runs the renewals and payment retries of its customers.
        register_advance_hook(renewals.advance_test_clock)
