"""Maintenance: re-enqueue jobs whose worker died (run from cron or after a crash)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from packshots import services
from packshots.services.maintenance import task_rows_reap


class Command(BaseCommand):
    help = (
        "Mark failed the task rows RUNNING for over --task-lease minutes (default 30: their worker died), "
        "then re-enqueue queued/submitting/running jobs that have not moved for --minutes (default 10)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--minutes", type=int, default=10)
        parser.add_argument("--task-lease", type=int, default=30, help="minutes; longer than any real task")

    def handle(self, *args, minutes: int, task_lease: int, **options) -> None:
        released = task_rows_reap(lease=timedelta(minutes=task_lease))
        self.stdout.write(f"Released {released} task row(s) left running by a dead worker")
        resumed = services.jobs_resume(stale_after=timedelta(minutes=minutes))
        ids = ", ".join(f"#{pk}" for pk in resumed)
        self.stdout.write(f"Resumed {len(resumed)} job(s) {ids}".rstrip())
