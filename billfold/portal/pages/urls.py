"""The customer portal's pages, under /p/ (login links at ``LOGIN_PATH``, session URLs at ``SESSION_PATH``)."""

from __future__ import annotations

from django.urls import path

from billfold.portal.pages import account, entry, subscriptions

app_name = "portal"

urlpatterns = [
    path("login/<str:token>", entry.login_page, name="login"),
    path("login/<str:token>/code", entry.login_send_code, name="login-code"),
    path("login/<str:token>/verify", entry.login_verify, name="login-verify"),
    path("session/<str:secret>", entry.session_open, name="session"),
    path("sign-out", entry.sign_out, name="sign-out"),
    path("", account.home, name="home"),
    path("done", account.done, name="done"),
    path("subscriptions/<str:subscription_id>/update", subscriptions.update_page, name="update"),
    path(
        "subscriptions/<str:subscription_id>/update/confirm", subscriptions.update_confirm_page, name="update-confirm"
    ),
    path("subscriptions/<str:subscription_id>/update/apply", subscriptions.update_apply, name="update-apply"),
    path(
        "subscriptions/<str:subscription_id>/promotion-code", subscriptions.promotion_code_apply, name="promotion-code"
    ),
    path("subscriptions/<str:subscription_id>/cancel", subscriptions.cancel_page, name="cancel"),
    path("subscriptions/<str:subscription_id>/keep", subscriptions.retention_accept, name="retention"),
    path("subscriptions/<str:subscription_id>/renew", subscriptions.renew, name="renew"),
    path(
        "subscriptions/<str:subscription_id>/scheduled-change/cancel",
        subscriptions.scheduled_change_cancel,
        name="scheduled-change-cancel",
    ),
    path("payment-methods/new", account.card_add, name="card-add"),
    path("payment-methods/<str:payment_method_id>/default", account.card_make_default, name="card-default"),
    path("payment-methods/<str:payment_method_id>/remove", account.card_remove, name="card-remove"),
    path("billing", account.billing, name="billing"),
    path("billing/tax-ids", account.tax_id_add, name="tax-id-add"),
    path("billing/tax-ids/<str:tax_id>/remove", account.tax_id_remove, name="tax-id-remove"),
    path("invoices", account.invoices, name="invoices"),
]
