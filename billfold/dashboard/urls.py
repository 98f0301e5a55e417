"""The merchant dashboard's pages, mounted at /dashboard/."""

from __future__ import annotations

from django.urls import path

from billfold.dashboard.views import auth, branding, catalog, customers, home, invoices, portal, subscriptions
from billfold.dashboard.views import developers_clocks as clocks
from billfold.dashboard.views import developers_emails as emails
from billfold.dashboard.views import developers_events as events
from billfold.dashboard.views import developers_keys as api_keys
from billfold.dashboard.views import developers_webhooks as webhooks

app_name = "dashboard"

urlpatterns = [
    path("", home.home, name="home"),
    path("sign-in", auth.sign_in, name="sign-in"),
    path("sign-out", auth.sign_out, name="sign-out"),
    path("mode", auth.switch_mode, name="mode"),
    path("products", catalog.product_list, name="products"),
    path("products/new", catalog.product_new, name="product-new"),
    path("products/<str:product_id>", catalog.product_detail, name="product"),
    path("products/<str:product_id>/edit", catalog.product_edit, name="product-edit"),
    path("products/<str:product_id>/archive", catalog.product_archive, name="product-archive"),
    path("products/<str:product_id>/prices/new", catalog.price_new, name="price-new"),
    path("prices/<str:price_id>/active", catalog.price_active, name="price-active"),
    path("prices/<str:price_id>/default", catalog.price_default, name="price-default"),
    path("tax-codes", catalog.tax_code_search_view, name="tax-codes"),
    path("customers", customers.customer_list, name="customers"),
    path("customers/new", customers.customer_new, name="customer-new"),
    path("customers/<str:customer_id>", customers.customer_detail, name="customer"),
    path("customers/<str:customer_id>/edit", customers.customer_edit, name="customer-edit"),
    path("customers/<str:customer_id>/portal", customers.customer_portal, name="customer-portal"),
    path("subscriptions", subscriptions.subscription_list_page, name="subscriptions"),
    path("subscriptions/new", subscriptions.subscription_new, name="subscription-new"),
    path("subscriptions/<str:subscription_id>", subscriptions.subscription_detail, name="subscription"),
    path("subscriptions/<str:subscription_id>/cancel", subscriptions.subscription_cancel, name="subscription-cancel"),
    path("subscriptions/<str:subscription_id>/renew", subscriptions.subscription_renew, name="subscription-renew"),
    path("invoices", invoices.invoice_list_page, name="invoices"),
    path("invoices/<str:invoice_id>", invoices.invoice_detail, name="invoice"),
    path("invoices/<str:invoice_id>/<str:action>", invoices.invoice_action, name="invoice-action"),
    path("developers", api_keys.api_key_list_page, name="developers"),
    path("developers/keys/new", api_keys.api_key_new, name="api-key-new"),
    path("developers/keys/<str:key_id>/secret", api_keys.api_key_secret, name="api-key-secret"),
    path("developers/keys/<str:key_id>/roll", api_keys.api_key_roll, name="api-key-roll"),
    path("developers/keys/<str:key_id>/revoke", api_keys.api_key_revoke, name="api-key-revoke"),
    path("developers/webhooks", webhooks.webhook_list, name="webhooks"),
    path("developers/webhooks/new", webhooks.webhook_new, name="webhook-new"),
    path("developers/webhooks/<str:endpoint_id>", webhooks.webhook_detail, name="webhook"),
    path("developers/webhooks/<str:endpoint_id>/edit", webhooks.webhook_edit, name="webhook-edit"),
    path("developers/webhooks/<str:endpoint_id>/status", webhooks.webhook_status, name="webhook-status"),
    path("developers/webhooks/<str:endpoint_id>/roll", webhooks.webhook_roll, name="webhook-roll"),
    path("developers/webhooks/<str:endpoint_id>/delete", webhooks.webhook_delete, name="webhook-delete"),
    path(
        "developers/webhooks/<str:endpoint_id>/events/<str:event_id>/resend",
        webhooks.webhook_resend,
        name="webhook-resend",
    ),
    path("developers/events", events.event_list_page, name="events"),
    path("developers/events/<str:event_id>", events.event_detail, name="event"),
    path("developers/test-clocks", clocks.test_clock_list, name="test-clocks"),
    path("developers/test-clocks/new", clocks.test_clock_new, name="test-clock-new"),
    path("developers/test-clocks/<str:test_clock_id>", clocks.test_clock_detail, name="test-clock"),
    path("developers/test-clocks/<str:test_clock_id>/status", clocks.test_clock_status, name="test-clock-status"),
    path("developers/test-clocks/<str:test_clock_id>/advance", clocks.test_clock_advance, name="test-clock-advance"),
    path(
        "developers/test-clocks/<str:test_clock_id>/customers/new",
        clocks.test_clock_customer_new,
        name="test-clock-customer-new",
    ),
    path("developers/test-clocks/<str:test_clock_id>/delete", clocks.test_clock_delete, name="test-clock-delete"),
    path("developers/emails", emails.email_list, name="emails"),
    path("developers/emails/<str:email_id>", emails.email_detail, name="email"),
    path("developers/emails/<str:email_id>/html", emails.email_html, name="email-html"),
    path("portal", portal.portal_settings, name="portal-settings"),
    path("portal/link/activate", portal.portal_link_activate, name="portal-link-activate"),
    path("portal/link/deactivate", portal.portal_link_deactivate, name="portal-link-deactivate"),
    path("portal/preview", portal.portal_preview, name="portal-preview"),
    path("branding", branding.branding, name="branding"),
    path("branding/images/<str:name>", branding.branding_image, name="branding-image"),
    path("branding/preview/<str:kind>", branding.branding_preview, name="branding-preview"),
]
