"""Pages the billing engine serves to customers: the hosted invoice page, its PDF and its card payment."""

from __future__ import annotations

from django.urls import path

from billfold.billing import views

app_name = "billing"

urlpatterns = [
    path("i/<str:token>", views.invoice_page, name="invoice-page"),
    path("i/<str:token>/pdf", views.invoice_pdf, name="invoice-pdf"),
    path("i/<str:token>/pay", views.invoice_pay, name="invoice-pay"),
]
