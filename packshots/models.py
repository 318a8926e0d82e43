import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Team
from packshots import compliance as marketplace
from packshots import instructions as schema


def _private_path(kind: str, instance: models.Model, filename: str) -> str:
    # Unguessable names under a per-team folder; files are only ever served through permission-checked views.
    suffix = PurePosixPath(filename).suffix.lower()[:6]
    return f"teams/{instance.team_id}/{kind}/{uuid.uuid4().hex}{suffix}"


def original_path(instance: "Upload", filename: str) -> str:
    return _private_path("originals", instance, filename)


def derived_path(instance: models.Model, filename: str) -> str:
    return _private_path("derived", instance, filename)


class Project(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # PiktID project ids per PiktID account ({account key: project id}): one remote project per project.
    remote_ids = models.JSONField(default=dict, blank=True)
    # Archived projects leave the default project list (a filter shows them); their jobs stay as they are.
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="unique_project_name_per_team")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("packshots:project-detail", args=[self.pk])


class Preset(models.Model):
    """One instruction in the team's shared library."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="presets")
    name = models.CharField(max_length=200)
    categories = models.JSONField(default=list, blank=True, help_text="List of category names.")
    instruction = models.JSONField(help_text="One Create Packshot instruction (PiktID JSON schema).")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="unique_preset_name_per_team")]

    def __str__(self) -> str:
        return self.name

    def full_clean(self, *args, **kwargs) -> None:
        super().full_clean(*args, **kwargs)
        errors = schema.validate_instruction(self.instruction)
        if not isinstance(self.categories, list) or not all(isinstance(c, str) for c in self.categories):
            errors.setdefault("categories", []).append("must be a list of names")
        if errors:
            raise ValidationError(
                {
                    "categories" if key == "categories" else "instruction": [f"{key}: {m}" for m in msgs]
                    for key, msgs in errors.items()
                }
            )

    def as_instruction(self) -> dict:
        """The preset's instruction, tagged with its name and categories as PiktID's metadata fields."""
        data = dict(self.instruction)
        data["preset_name"] = self.name
        if self.categories:
            data["category_names"] = list(self.categories)
        return data


WORKER_GRACE_SECONDS = 30


class Job(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        QUEUED = "queued", "Queued"
        SUBMITTING = "submitting", "Submitting"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        NEEDS_REVIEW = "needs_review", "Needs review"
        PARTIALLY_FAILED = "partially_failed", "Partially failed"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Engine(models.TextChoices):
        LOCAL = "local", "Local (offline)"
        PIKTID = "piktid", "PiktID"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="jobs")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    engine = models.CharField(max_length=20, choices=Engine.choices, default=Engine.LOCAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # The instructions, job options and post_process flag exactly as they will be (or were) sent.
    request = models.JSONField(default=dict, blank=True)
    total_outputs = models.PositiveIntegerField(default=0)
    estimated_credits = models.PositiveIntegerField(default=0)
    progress = models.FloatField(default=0.0, help_text="0–100")
    error_message = models.TextField(blank=True)
    remote_job_id = models.CharField(max_length=200, blank=True, db_index=True)
    remote_project_id = models.CharField(max_length=200, blank=True)
    # PiktID: the account (token fingerprint) whose limits this job counts against, what PiktID last said,
    # and when we last heard anything (the poller looks after jobs that went quiet).
    account_key = models.CharField(max_length=64, blank=True, db_index=True)
    remote_status = models.CharField(max_length=30, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    sync_requested_at = models.DateTimeField(null=True, blank=True)  # coalesces bursts of PiktID news
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    submit_requested_at = models.DateTimeField(null=True, blank=True)
    # The task worker (its heartbeat id) that sent the create request of `submit_requested_at`; "" when no
    # worker with a heartbeat sent it (the CLI, a plain db_worker): then only SUBMIT_LEASE ends the request.
    submit_worker_id = models.CharField(max_length=64, blank=True)
    # When that request came back without an answer we could keep (5xx, timeout, reset after sending): it is
    # over, so reconciling it waits for no lease.
    submit_ended_at = models.DateTimeField(null=True, blank=True)
    waiting_reason = models.CharField(max_length=300, blank=True)
    credits_used = models.FloatField(null=True, blank=True)
    # PiktID's last /results JSON for this job: what the official client saves as metadata.json.
    remote_metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=100), name="job_progress_0_100"
            ),
            # One PiktID job is never two of ours (a reconciliation cannot adopt another job's work).
            models.UniqueConstraint(
                fields=["account_key", "remote_job_id"],
                condition=~models.Q(remote_job_id=""),
                name="unique_remote_job_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"Job #{self.pk} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("packshots:job-detail", args=[self.pk])

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def instructions(self) -> list[dict]:
        return list(self.request.get("instructions", []))

    @property
    def options(self) -> dict:
        return dict(self.request.get("options", {}))

    @property
    def is_waiting_for_worker(self) -> bool:
        """Queued for a while with nothing picking it up: most likely no task worker is running."""
        return (
            self.status == self.Status.QUEUED
            and self.queued_at is not None
            and (timezone.now() - self.queued_at).total_seconds() > WORKER_GRACE_SECONDS
        )

    @property
    def can_regenerate(self) -> bool:
        """A finished job's outputs can be made again (on PiktID only once PiktID knows the job)."""
        finished = self.status in _OUTCOMES
        return finished and (self.engine == self.Engine.LOCAL or bool(self.remote_job_id))

    @property
    def progress_percent(self) -> int:
        return round(self.progress)


# The whole state machine: from each state, the states a job may move to. Forward only, except that a
# finished job's outcome is re-judged when one of its outputs is regenerated (a failed output made good).
_OUTCOMES = {Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW, Job.Status.PARTIALLY_FAILED, Job.Status.FAILED}
JOB_TRANSITIONS: dict[str, set[str]] = {
    Job.Status.DRAFT: {Job.Status.QUEUED, Job.Status.CANCELED},
    Job.Status.QUEUED: {Job.Status.SUBMITTING, Job.Status.FAILED, Job.Status.CANCELED},
    # Back to queued only when PiktID said "not now" (429): the job was certainly not created.
    Job.Status.SUBMITTING: {Job.Status.RUNNING, Job.Status.QUEUED, Job.Status.FAILED, Job.Status.CANCELED},
    Job.Status.RUNNING: {
        Job.Status.COMPLETED,
        Job.Status.NEEDS_REVIEW,
        Job.Status.PARTIALLY_FAILED,
        Job.Status.FAILED,
        Job.Status.CANCELED,
    },
    **{outcome: _OUTCOMES - {outcome} for outcome in _OUTCOMES},
}
TERMINAL_STATES = {
    Job.Status.COMPLETED,
    Job.Status.NEEDS_REVIEW,
    Job.Status.PARTIALLY_FAILED,
    Job.Status.FAILED,
    Job.Status.CANCELED,
}


class Upload(models.Model):
    """One original garment photo of a job, kept privately in our storage."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="uploads")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="uploads")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="uploads")
    file = models.FileField(upload_to=original_path, max_length=255)
    thumbnail = models.FileField(upload_to=derived_path, max_length=255, blank=True)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    content_type = models.CharField(max_length=50)
    note = models.CharField(max_length=500, blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    # The local engine's segmentation, computed once per photo and reused by every output.
    cutout = models.FileField(upload_to=derived_path, max_length=255, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    needs_review = models.BooleanField(default=False)
    # PiktID file ids of this photo per PiktID account ({account key: file id}), pushed before submission.
    remote_file_ids = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.original_name


class Result(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class Review(models.TextChoices):
        UNDECIDED = "", "Undecided"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="results")
    instruction_index = models.PositiveSmallIntegerField()
    variation_index = models.PositiveSmallIntegerField()
    version = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    image = models.FileField(upload_to=derived_path, max_length=255, blank=True)
    thumbnail = models.FileField(upload_to=derived_path, max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    format = models.CharField(max_length=10, blank=True)
    bytes = models.PositiveBigIntegerField(null=True, blank=True)
    model_used = models.CharField(max_length=50, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    quality_score = models.FloatField(null=True, blank=True, help_text="PiktID's quality score")
    needs_review = models.BooleanField(default=False)
    warnings = models.JSONField(
        default=list, blank=True, help_text="Why a reviewer should look, in plain words."
    )
    review = models.CharField(max_length=10, choices=Review.choices, blank=True, default="")
    review_reason = models.CharField(max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # {profile key: [{"rule", "passed", "detail"}]}: the output checked once against the team's marketplace
    # profiles when it completed (packshots.services.compliance).
    compliance = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # Local engine: render with the seed of this version instead of its own (a repaired cutout keeps the
    # draw of the version it replaces, so only the cutout changes); empty = this version's own seed.
    seed_version = models.PositiveSmallIntegerField(null=True, blank=True)
    # When the fair queue handed this output to the task queue (local engine); None while it waits its turn.
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instruction_index", "variation_index", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "instruction_index", "variation_index", "version"], name="unique_result_slot"
            )
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def team_id(self) -> int:
        return self.job.team_id

    @property
    def filename(self) -> str:
        """The official client's name: output_{instruction}_{variation}_v{version}.{format}."""
        fmt = self.format or "jpg"
        return f"output_{self.instruction_index}_{self.variation_index}_v{self.version}.{fmt}"

    @property
    def instruction_summary(self) -> str:
        instructions = self.job.instructions
        if self.instruction_index < len(instructions):
            return schema.describe_instruction(instructions[self.instruction_index])
        return ""

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)

    @property
    def compliance_summary(self) -> list[dict]:
        """Per checked profile: its name, whether every rule passed, and the failing rules in plain words."""
        summary = []
        # In the profiles' own order: PostgreSQL's jsonb does not keep the keys' order.
        order = {key: i for i, key in enumerate(marketplace.PROFILES)}
        checked = sorted(
            (self.compliance or {}).items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])
        )
        for key, rules in checked:
            profile = marketplace.PROFILES.get(key)
            failures = [r["detail"] for r in rules if not r.get("passed")]
            summary.append(
                {
                    "key": key,
                    "name": profile.name if profile else key,
                    "passed": not failures,
                    "failures": failures,
                }
            )
        return summary

    @property
    def awaits_decision(self) -> bool:
        """Flagged or failed, and nobody has approved or rejected it yet."""
        flagged = self.status == self.Status.FAILED or self.needs_review or bool(self.warnings)
        return self.is_done and flagged and not self.review


# An output's lifecycle: forward only, except that a crashed render's claim is released (back to pending).
RESULT_TRANSITIONS: dict[str, set[str]] = {
    Result.Status.PENDING: {Result.Status.PROCESSING, Result.Status.COMPLETED, Result.Status.FAILED},
    Result.Status.PROCESSING: {Result.Status.COMPLETED, Result.Status.FAILED, Result.Status.PENDING},
}


class PiktidCreation(models.Model):
    """One POST /create-packshot sent for a PiktID account: the limiter counts these per rolling window."""

    account_key = models.CharField(max_length=64, db_index=True)
    job = models.ForeignKey("Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)  # when the slot was taken
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)  # when the request left

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"creation for job {self.job_id} at {self.created_at:%H:%M:%S}"


class PiktidAccount(models.Model):
    """A PiktID account as our workers see it; its row is the lock that serialises its limiter decisions."""

    key = models.CharField(max_length=64, unique=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"PiktID account {self.key[:8]}…"


class EngineEvent(models.Model):
    """Raw log of everything an engine told us; the unique key makes re-delivery harmless."""

    source = models.CharField(max_length=20)
    event_id = models.CharField(max_length=200)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    name = models.CharField(max_length=50)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    # A PiktID notification taken for deletion at PiktID (so an SSE reconnection does not replay it).
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["source", "event_id"], name="unique_event_per_source")]

    def __str__(self) -> str:
        return f"{self.source}:{self.event_id} {self.name}"


class QueueLock(models.Model):
    """A named row whose lock serialises a decision across workers (e.g. the fair queue's dispatch)."""

    name = models.CharField(max_length=50, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)  # for chores one worker does now and then

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """A task worker that says it is alive every few seconds; one that stops is presumed dead."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=200, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.host} (pid {self.pid})"
