from django.apps import AppConfig


class PackshotsConfig(AppConfig):
    name = "packshots"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Tasks register with packshots.queue, through which services enqueue work by name.
        from packshots import tasks  # noqa: F401
