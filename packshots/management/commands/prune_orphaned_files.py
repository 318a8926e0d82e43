"""Delete files in storage that no row references and that are older than --older-than-hours."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from packshots.services.retention import orphaned_files, orphaned_files_delete


class Command(BaseCommand):
    help = "Delete stored files that no row references (older than --older-than-hours); --dry-run lists them."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=24,
            help="only files this old (default 24, at least 1: a younger one may be mid-upload)",
        )
        parser.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")

    def handle(self, *args, older_than_hours: int, dry_run: bool, **options) -> None:
        if older_than_hours < 1:
            raise CommandError("--older-than-hours must be at least 1 (a younger file may be mid-upload)")
        files = orphaned_files(older_than=timedelta(hours=older_than_hours))
        for file in files:
            self.stdout.write(f"{file.name}\t{file.size}\t{file.modified:%Y-%m-%d %H:%M}")
        total = sum(f.size for f in files)
        if dry_run:
            self.stdout.write(f"{len(files)} orphaned files ({total:,} bytes) would be deleted (dry run).")
            return
        orphaned_files_delete(files=files)
        self.stdout.write(f"Deleted {len(files)} orphaned files ({total:,} bytes).")
