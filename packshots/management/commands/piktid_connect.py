"""Connect a team to PiktID from the command line (scripted set-up), or disconnect it.

    manage.py piktid_connect --team SLUG --token TOKEN [--webhook-url PUBLIC_BASE_URL] [--base-url URL]
    manage.py piktid_connect --team SLUG --disconnect

`--token -` reads the token from standard input, which keeps it out of the process list and shell history.
"""

import argparse
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from packshots import services
from packshots.errors import PackshotError
from packshots.services.connections import PiktidWebhookError

DISCONNECT_OUTCOMES = {
    "removed": "webhook removed at PiktID",
    "none": "no webhook was registered",
    "elsewhere": "the account's webhook points elsewhere and was left alone",
    "failed": "the webhook could not be removed at PiktID: remove it in PiktID's app",
}


class Command(BaseCommand):
    help = "Save a team's PiktID token (checked first), register its webhook; or --disconnect it."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--team", required=True, help="Team slug")
        parser.add_argument("--token", default=None, help="PiktID API token ('-' reads it from stdin)")
        parser.add_argument(
            "--webhook-url", default=None, help="Public base URL of this site: registers the team's webhook"
        )
        parser.add_argument("--base-url", default=None, help="PiktID API base URL (default: PIKTID_BASE_URL)")
        parser.add_argument("--disconnect", action="store_true", help="Forget the token, remove the webhook")

    def handle(self, *args, **opts) -> None:
        team = Team.objects.filter(slug=opts["team"]).first()
        if team is None:
            raise CommandError(f"No team with the slug {opts['team']!r}.")
        if opts["disconnect"]:
            if opts["token"] or opts["webhook_url"] or opts["base_url"]:
                raise CommandError("--disconnect takes no --token, --webhook-url or --base-url.")
            self._disconnect(team)
        elif opts["token"]:
            token = sys.stdin.readline().strip() if opts["token"] == "-" else opts["token"]
            self._connect(team, token, opts["webhook_url"], opts["base_url"])
        else:
            raise CommandError("Give --token TOKEN to connect, or --disconnect.")

    def _connect(self, team: Team, token: str, webhook_url: str | None, base_url: str | None) -> None:
        try:
            connection = services.piktid_connect(
                team=team, user=None, token=token, webhook_base_url=webhook_url, base_url=base_url
            )
        except PiktidWebhookError as exc:
            raise CommandError(f"Team {team.slug}: {exc}") from None
        except PackshotError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Team {team.slug} connected to PiktID ({connection.base_url}): {connection.credits:g} credits."
        )
        if webhook_url:
            self.stdout.write(f"Webhook registered: {connection.webhook_url}")
        elif connection.webhook_url:
            self.stdout.write(f"Webhook (registered earlier): {connection.webhook_url}")

    def _disconnect(self, team: Team) -> None:
        try:
            outcome = services.piktid_disconnect(team=team)
        except PackshotError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Team {team.slug} disconnected from PiktID; {DISCONNECT_OUTCOMES[outcome]}.")
        if outcome == "failed":
            raise CommandError("The token was forgotten, but the webhook is still registered at PiktID.")
