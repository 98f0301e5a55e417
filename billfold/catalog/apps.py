from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "billfold.catalog"
    label = "catalog"
