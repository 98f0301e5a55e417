"""The merchant dashboard's pages, mounted at /dashboard/."""

from __future__ import annotations

from django.urls import path

from billfold.dashboard.views import auth, catalog, customers, home, invoices, subscriptions

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
    path("subscriptions", subscriptions.subscription_list_page, name="subscriptions"),
    path("subscriptions/<str:subscription_id>", subscriptions.subscription_detail, name="subscription"),
    path("subscriptions/<str:subscription_id>/cancel", subscriptions.subscription_cancel, name="subscription-cancel"),
    path("subscriptions/<str:subscription_id>/renew", subscriptions.subscription_renew, name="subscription-renew"),
    path("invoices", invoices.invoice_list_page, name="invoices"),
    path("invoices/<str:invoice_id>", invoices.invoice_detail, name="invoice"),
    path("invoices/<str:invoice_id>/<str:action>", invoices.invoice_action, name="invoice-action"),
]
