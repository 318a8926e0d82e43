"""Reads for batch pages: batches of a team, each SKU's progress, and the batch's totals."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Team
from batches.models import Batch, Sku
from packshots.models import Job, Result, Upload

_FAILED = (Job.Status.FAILED, Job.Status.CANCELED)
ACTIVE_STATES = (Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.RUNNING)


def batches_for_team(team: Team) -> QuerySet[Batch]:
    return Batch.objects.filter(team=team).select_related("project", "author")


def batch_list_for_team(team: Team) -> QuerySet[Batch]:
    """The team's batches; `busy` tells a running batch whose jobs have all ended (shown as finished)."""
    active = Sku.objects.filter(batch=OuterRef("pk")).filter(
        Q(status=Sku.Status.STARTED, job__status__in=ACTIVE_STATES) | Q(status=Sku.Status.READY)
    )
    return batches_for_team(team).annotate(busy=Exists(active))


def sku_rows(batch: Batch) -> list[dict]:
    """One row per SKU: its job, status in words, outputs done of total, error."""
    skus = list(batch.skus.select_related("job"))
    job_ids = [s.job_id for s in skus if s.job_id]
    done: dict[int, int] = {}
    for job_id in Result.objects.filter(job_id__in=job_ids, status=Result.Status.COMPLETED).values_list(
        "job_id", flat=True
    ):
        done[job_id] = done.get(job_id, 0) + 1
    photos: dict[int, int] = {}
    for job_id in Upload.objects.filter(job_id__in=job_ids).values_list("job_id", flat=True):
        photos[job_id] = photos.get(job_id, 0) + 1
    rows = []
    for sku in skus:
        job = sku.job
        if sku.status in (Sku.Status.REJECTED, Sku.Status.BLOCKED) or job is None:
            status = sku.status
        elif sku.status == Sku.Status.READY:
            status = "waiting" if batch.status == Batch.Status.RUNNING else "ready"
        else:
            status = job.status
        rows.append(
            {
                "sku": sku,
                "job": job,
                "status": status,
                "status_label": "Waiting for a free slot"
                if status == "waiting"
                else Job.Status(status).label
                if status in Job.Status.values
                else Sku.Status(status).label,
                "photos": photos.get(job.pk, 0) if job else 0,
                "done": done.get(job.pk, 0) if job else 0,
                "total": job.total_outputs if job and sku.status == Sku.Status.STARTED else 0,
                "progress": job.progress_percent if job and sku.status == Sku.Status.STARTED else 0,
                "error": sku.error or (job.error_message if job and status in _FAILED else ""),
                "failed": status in _FAILED or status == Sku.Status.BLOCKED,
            }
        )
    return rows


def batch_totals(batch: Batch, rows: list[dict]) -> dict:
    """Counts for the batch page; `finished` once every started SKU's job has ended."""
    started = [r for r in rows if r["sku"].status == Sku.Status.STARTED]
    waiting = sum(1 for r in rows if r["status"] == "waiting")
    ended = [r for r in started if r["job"].is_terminal]
    credits = 0.0
    if batch.engine == Job.Engine.PIKTID:
        for r in started:
            job = r["job"]
            credits += job.credits_used if job.credits_used is not None else job.estimated_credits
    return {
        "skus": len(rows),
        "started": len(started),
        "completed": sum(1 for r in started if r["status"] == Job.Status.COMPLETED),
        "needs_review": sum(1 for r in started if r["status"] == Job.Status.NEEDS_REVIEW),
        "failed": sum(1 for r in rows if r["failed"]),
        "rejected": sum(1 for r in rows if r["status"] == Sku.Status.REJECTED),
        "outputs_done": sum(r["done"] for r in started),
        "outputs_total": sum(r["total"] for r in started),
        "credits": credits,
        "finished": batch.status == Batch.Status.RUNNING and len(ended) == len(started) and not waiting,
        "ready": sum(1 for r in rows if r["sku"].status == Sku.Status.READY),
        "waiting": waiting,
        "live": batch.status in (Batch.Status.CHECKING, Batch.Status.STARTING)
        or (batch.status == Batch.Status.RUNNING and (len(ended) < len(started) or waiting > 0)),
    }
