"""System checks for a production deployment (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def field_keys_from_environment(app_configs, **kwargs) -> list[Warning]:
    """Every process must read stored tokens with the same keys: they must come from the environment.

    A key generated into var/ by one container is unknown to the next (a worker could not read a token the
    web process saved), so a production deployment sets PACKSHOT_FIELD_KEYS (or _FILE) explicitly.
    """
    if settings.PACKSHOT_FIELD_KEYS_FROM_ENV:
        return []
    return [
        Warning(
            "PACKSHOT_FIELD_KEYS is not set: the key encrypting stored PiktID tokens was generated into var/ "
            "and other containers or hosts will not have it.",
            hint="Set PACKSHOT_FIELD_KEYS (or PACKSHOT_FIELD_KEYS_FILE) to one or more Fernet keys.",
            id="packshots.W001",
        )
    ]
