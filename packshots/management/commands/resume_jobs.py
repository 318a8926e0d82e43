"""Maintenance: re-enqueue jobs whose worker died (run from cron or after a crash)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from packshots import services


class Command(BaseCommand):
    help = "Re-enqueue queued/submitting/running jobs that have not moved for --minutes (default 10)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--minutes", type=int, default=10)

    def handle(self, *args, minutes: int, **options) -> None:
        resumed = services.jobs_resume(stale_after=timedelta(minutes=minutes))
        ids = ", ".join(f"#{pk}" for pk in resumed)
        self.stdout.write(f"Resumed {len(resumed)} job(s) {ids}".rstrip())
