from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "billfold.customers"
    label = "customers"
