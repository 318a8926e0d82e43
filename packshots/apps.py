from django.apps import AppConfig


class PackshotsConfig(AppConfig):
    name = "packshots"
    default_auto_field = "django.db.models.BigAutoField"
