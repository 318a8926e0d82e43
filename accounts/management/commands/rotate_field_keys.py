"""Re-encrypt every stored secret with the newest PACKSHOT_FIELD_KEYS key (key rotation: see README)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import crypto
from accounts.models import PiktidConnection


class Command(BaseCommand):
    help = "Re-encrypt stored PiktID tokens and webhook secrets with the first key of PACKSHOT_FIELD_KEYS."

    def handle(self, *args, **options) -> None:
        fields = PiktidConnection.ENCRYPTED_FIELDS
        rotated = 0
        # All or nothing: one unreadable secret (its key already removed) leaves every row as it was.
        with transaction.atomic():
            for connection in PiktidConnection.objects.select_for_update().select_related("team"):
                try:
                    for name in fields:
                        setattr(connection, name, crypto.rotate(getattr(connection, name)))
                except crypto.FieldKeyError:
                    raise CommandError(
                        f"Team {connection.team.slug}: {name} cannot be decrypted with any key of "
                        "PACKSHOT_FIELD_KEYS; nothing was changed. Put the old key back (after the new one)."
                    ) from None
                connection.save(update_fields=list(fields))
                rotated += 1
        keys = len(settings.PACKSHOT_FIELD_KEYS)
        self.stdout.write(
            f"Re-encrypted the secrets of {rotated} PiktID connection(s) with the newest of {keys} key(s)."
        )
