"""Batch tasks: unpacking and checking photos, and starting the SKUs' jobs, never on a web worker.

A crash marks the batch failed with the reason (visible on its page), then propagates like packshots' tasks.
"""

import logging
from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from batches import services
from batches.models import Batch
from packshots import queue

log = logging.getLogger(__name__)
FEED_S = 2


def _fail(batch_id: int, message: str) -> None:
    Batch.objects.filter(pk=batch_id).update(status=Batch.Status.FAILED, error=message)


@queue.register
@task()
def batch_check_task(*, batch_id: int) -> None:
    try:
        services.batch_check(batch_id=batch_id)
    except Exception as exc:
        log.exception("Batch %s failed while checking its files", batch_id)
        _fail(batch_id, f"Internal error while checking the files: {exc}")
        raise


@queue.register
@task()
def batch_start_task(*, batch_id: int) -> None:
    try:
        more = services.batch_start_jobs(batch_id=batch_id)
    except Exception as exc:
        log.exception("Batch %s failed while starting its jobs", batch_id)
        # The jobs already started run on; the batch page shows the SKUs left as they were.
        Batch.objects.filter(pk=batch_id).update(status=Batch.Status.RUNNING, error=f"Internal error: {exc}")
        raise
    if more and queue.supports_later():
        # SKUs wait for a free slot: look again shortly, without a worker sleeping.
        queue.enqueue(
            "batch_start_task", run_after=timezone.now() + timedelta(seconds=FEED_S), batch_id=batch_id
        )
