from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "billfold.files"
    label = "files"
