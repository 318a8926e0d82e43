from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "batches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Tasks register with packshots.queue, through which services enqueue work by name.
        from batches import tasks  # noqa: F401
