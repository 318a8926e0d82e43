"""The PiktID SSE consumer: a long-running process (the Procfile's `listener`), or `--once` from cron."""

import signal

from django.core.management.base import BaseCommand, CommandError

from packshots.services.listener import Listener, listener_backlog


class Command(BaseCommand):
    help = (
        "Listen to PiktID's notification stream of every connected account (one stream each, re-reading "
        "the accounts every --refresh seconds), apply each notification once and delete it at PiktID. "
        "--once reads each account's backlog and exits. Stops cleanly on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="apply what each account has waiting (its backfill), then exit",
        )
        parser.add_argument(
            "--refresh", type=float, default=30.0, help="seconds between re-reads of the connected accounts"
        )

    def handle(self, *args, once: bool, refresh: float, **options) -> None:
        if not refresh > 0:
            raise CommandError("--refresh must be a positive number of seconds.")
        if once:
            report = listener_backlog()
            self.stdout.write(
                f"Read the backlog of {report.accounts} PiktID account(s): "
                f"{report.applied} notification(s) applied, {report.deleted} deleted at PiktID"
            )
            if report.errors:
                raise CommandError("; ".join(f"{label}: {why}" for label, why in report.errors.items()))
            return
        listener = Listener(refresh=refresh)
        previous = {
            signum: signal.signal(signum, lambda *_: listener.stop())
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            listener.run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("Stopped listening to PiktID notifications")
