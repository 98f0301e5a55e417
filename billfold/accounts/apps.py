from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "billfold.accounts"
    label = "accounts"
