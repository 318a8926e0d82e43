"""Batches of SKUs (one packshot job per SKU) and the team's monthly PiktID credit budget."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.models import Team
from packshots.models import Job, Project

DEFAULT_NAMING = "{sku}/{sku}_{style}_{variation}.{ext}"


def batch_file_path(instance: models.Model, filename: str) -> str:
    batch = instance if isinstance(instance, Batch) else instance.batch
    return f"teams/{batch.team_id}/batches/{batch.pk}/{filename}"


class Batch(models.Model):
    class Status(models.TextChoices):
        RECEIVING = "receiving", "Receiving files"
        CHECKING = "checking", "Checking photos"
        READY = "ready", "Ready to start"
        STARTING = "starting", "Starting jobs"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        ZIP = "zip", "ZIP file"
        FOLDER = "folder", "Folder of SKU folders"
        FILES = "files", "Files named by SKU"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="batches")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="batches")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    source = models.CharField(max_length=10, choices=Source.choices)
    sku_pattern = models.CharField(max_length=200, blank=True)
    naming_template = models.CharField(max_length=200, default=DEFAULT_NAMING)
    engine = models.CharField(max_length=20, choices=Job.Engine.choices, default=Job.Engine.LOCAL)
    # What every SKU's job was started with (the presets and instructions chosen once).
    instructions = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVING, db_index=True)
    error = models.TextField(blank=True)
    archive = models.FileField(upload_to=batch_file_path, max_length=255, blank=True)
    # One line per file that was not used ({"path", "message"}), shown on the batch page.
    report = models.JSONField(default=list, blank=True)
    sku_count = models.PositiveIntegerField(default=0)
    photo_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"Batch #{self.pk} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("batches:batch-detail", args=[self.pk])


class BatchFile(models.Model):
    """A raw file of a folder or files upload, kept until the photo check task sorts it into a SKU."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500)
    file = models.FileField(upload_to=batch_file_path, max_length=255)

    def __str__(self) -> str:
        return self.path


class Sku(models.Model):
    class Status(models.TextChoices):
        READY = "ready", "Photos checked"
        REJECTED = "rejected", "No usable photo"
        STARTED = "started", "Started"
        BLOCKED = "blocked", "Not started"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="skus")
    name = models.CharField(max_length=120)
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.READY)
    error = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["batch", "name"], name="unique_sku_per_batch")]

    def __str__(self) -> str:
        return self.name


class TeamBudget(models.Model):
    """An optional monthly ceiling on the PiktID credits a team's jobs may use (local jobs are free)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="budget")
    monthly_credits = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.team}: {self.monthly_credits or 'no'} credits a month"
