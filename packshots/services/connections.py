"""A team's PiktID connection: saving a checked token, the webhook, the balance, and the credentials to use.

Tokens and webhook secrets are stored encrypted (accounts.crypto) and leave this module only inside
`PiktidCredentials` (whose repr hides the token) or the secret list handed to the webhook view.
PiktID calls never happen inside a transaction.

One limit of PiktID shapes the webhook code: an account (token) has ONE webhook. Teams saving the same
token share it: registering the webhook for one team re-points it away from the others (their page then
says "not registered" and their jobs rely on SSE and polling), and disconnecting deletes it at PiktID only
when it still points at the disconnecting team's URL.
"""

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import crypto
from accounts.models import PiktidAccountState, PiktidConnection, Team, User
from packshots.engines.piktid.client import PiktidClient
from packshots.engines.piktid.errors import PiktidAuthError, PiktidConnectionError, PiktidError
from packshots.errors import PackshotError

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/piktid/{key}/"
TOKENS_PAGE = "app.on-model.com/profile?tab=tokens"
MAX_TOKEN_LENGTH = 2048
DELIVERY_RECORD_EVERY = timedelta(seconds=1)


class PiktidTokenRefusedError(PackshotError):
    """PiktID answered 401 to this token (wrong, expired or revoked; PiktID tokens cannot be refreshed)."""


class PiktidWebhookError(PackshotError):
    """The token was saved but the webhook could not be registered."""


@dataclass(frozen=True)
class PiktidCredentials:
    """What a PiktID call needs. `account_key` identifies the account: the limiter's key."""

    token: str = field(repr=False)
    base_url: str
    account_key: str
    source: Literal["team", "environment", "token"]


@dataclass(frozen=True)
class PiktidStatus:
    """What the team page shows; never the token itself."""

    connection: PiktidConnection | None
    source: Literal["team", "environment"] | None
    token_hint: str
    credits: float | None
    credits_checked_at: datetime | None
    token_invalid_at: datetime | None
    token_invalid_reason: str
    token_unreadable: bool  # the saved token cannot be decrypted with PACKSHOT_FIELD_KEYS

    @property
    def is_connected(self) -> bool:
        return self.source is not None

    @property
    def is_usable(self) -> bool:
        return self.is_connected and self.token_invalid_at is None and not self.token_unreadable


def piktid_client(credentials: PiktidCredentials) -> PiktidClient:
    """The one place a PiktidClient is built; tests replace this module attribute (or point base_url away)."""
    return PiktidClient(credentials.token, base_url=credentials.base_url)


def account_key_for(*, base_url: str, token: str) -> str:
    """Stable fingerprint of (server, token): the same token on the same server is the same account.

    A plain SHA-256 rather than an HMAC keyed by a field key, so it survives key rotation; a random API
    token has far too much entropy for the fingerprint to help anyone guess it.
    """
    return hashlib.sha256(f"piktid-account\n{base_url}\n{token}".encode()).hexdigest()


def webhook_url_for(*, base_url: str, webhook_key: str) -> str:
    return _clean_url(base_url, "Public base URL") + WEBHOOK_PATH.format(key=webhook_key)


# ---- reads


def piktid_credentials(team: Team) -> PiktidCredentials | None:
    """The team's saved connection, else PIKTID_TOKEN, else None; None too while the token is refused.

    A team whose own token was refused does not fall back to PIKTID_TOKEN: that would silently bill
    another account.
    """
    connection = PiktidConnection.objects.filter(team=team).first()
    if connection is not None:
        if connection.is_token_invalid:
            return None
        return _team_credentials(connection, quiet=True)
    environment = _environment_credentials()
    if environment is None or _environment_state(environment, invalid_only=True) is not None:
        return None
    return environment


def piktid_credentials_for_token(*, token: str, base_url: str | None = None) -> PiktidCredentials:
    """Credentials for a token given on the command line (`create_packshot --token`)."""
    token = _clean_token(token)
    base = _clean_url(base_url or settings.PIKTID_BASE_URL, "PiktID base URL")
    return PiktidCredentials(token, base, account_key_for(base_url=base, token=token), "token")


def piktid_status(team: Team) -> PiktidStatus:
    """The connection state of a team, for its settings page."""
    connection = PiktidConnection.objects.filter(team=team).first()
    if connection is not None:
        return PiktidStatus(
            connection=connection,
            source="team",
            token_hint=connection.token_hint,
            credits=connection.credits,
            credits_checked_at=connection.credits_checked_at,
            token_invalid_at=connection.token_invalid_at,
            token_invalid_reason=connection.token_invalid_reason,
            token_unreadable=_team_credentials(connection, quiet=True) is None,
        )
    environment = _environment_credentials()
    state = _environment_state(environment) if environment else None
    return PiktidStatus(
        connection=None,
        source="environment" if environment else None,
        token_hint=_hint(environment.token) if environment else "",
        credits=state.credits if state else None,
        credits_checked_at=state.credits_checked_at if state else None,
        token_invalid_at=state.token_invalid_at if state else None,
        token_invalid_reason=state.token_invalid_reason if state else "",
        token_unreadable=False,
    )


def connection_for_webhook_key(key: str) -> tuple[Team, list[str]] | None:
    """For the webhook view: the team and the secrets a delivery may be signed with, or None (→ 404).

    The previous secret counts only within PIKTID_WEBHOOK_ROTATION_HOURS of its replacement. An empty list
    (secrets unreadable, or no webhook registered) makes every delivery fail verification.
    """
    connection = PiktidConnection.objects.select_related("team").filter(webhook_key=key).first()
    if connection is None:
        return None
    window = timedelta(hours=settings.PIKTID_WEBHOOK_ROTATION_HOURS)
    valid = []
    try:
        if connection.webhook_secret_encrypted:
            valid.append(connection.webhook_secret)
        rotated_at = connection.webhook_secret_rotated_at
        if (
            connection.previous_webhook_secret_encrypted
            and rotated_at
            and timezone.now() - rotated_at < window
        ):
            valid.append(connection.previous_webhook_secret)
    except crypto.FieldKeyError:
        logger.error(
            "The webhook secrets of team %s cannot be decrypted (PACKSHOT_FIELD_KEYS)", connection.team_id
        )
        return connection.team, []
    return connection.team, valid


class WebhookKey(NamedTuple):
    team: Team
    account_key: str
    secrets: list[str]


# How long a process trusts what it read about a webhook key. PiktID may send hundreds of deliveries a second
# to one key; a secret replaced meanwhile is read again at once (`fresh`), a disconnection made in another
# process is seen within this time (in this process at once).
WEBHOOK_KEY_TTL_S = 5.0
_webhook_keys: dict[str, tuple[float, WebhookKey]] = {}


def webhook_key_lookup(key: str, *, fresh: bool = False) -> WebhookKey | None:
    """`connection_for_webhook_key` with the account key, remembered for WEBHOOK_KEY_TTL_S (None: unknown)."""
    now = time.monotonic()
    cached = _webhook_keys.get(key)
    if cached is not None and not fresh and now - cached[0] < WEBHOOK_KEY_TTL_S:
        return cached[1]
    found = connection_for_webhook_key(key)
    if found is None:
        _webhook_keys.pop(key, None)
        return None
    team, valid = found
    entry = WebhookKey(team, team.piktid_connection.account_key, valid)
    if valid:  # unknown keys and unreadable secrets are not remembered: attackers cannot fill the memory
        if len(_webhook_keys) > 1000:
            _webhook_keys.clear()
        _webhook_keys[key] = (now, entry)
    return entry


def _webhook_keys_forget() -> None:
    _webhook_keys.clear()


# ---- writes


def piktid_connect(
    *,
    team: Team,
    user: User | None,
    token: str,
    webhook_base_url: str | None = None,
    base_url: str | None = None,
) -> PiktidConnection:
    """Check the token with GET /auth/me, then keep it (encrypted) with the balance; nothing kept on failure.

    With `webhook_base_url`, also registers the webhook (see piktid_webhook_register); if only that step
    fails, the token stays saved and PiktidWebhookError says so. Re-saving the same token keeps the webhook;
    a different token first releases the old account's webhook (best effort).
    Raises PiktidTokenRefusedError (401) or PackshotError (bad input, PiktID unreachable or failing).
    """
    token = _clean_token(token)
    base = _clean_url(base_url or settings.PIKTID_BASE_URL, "PiktID base URL")
    if webhook_base_url:
        _clean_url(webhook_base_url, "Public base URL")  # refuse bad input before calling anyone
    credentials = PiktidCredentials(token, base, account_key_for(base_url=base, token=token), "team")
    account = _me(credentials, failing="Nothing was saved.")

    old = PiktidConnection.objects.filter(team=team).first()
    if old is not None and old.account_key != credentials.account_key and old.webhook_url:
        _webhook_release(old)
    now = timezone.now()
    with transaction.atomic():
        # get_or_create: two owners saving a token at once both end on the one row (team is unique).
        connection, _ = PiktidConnection.objects.select_for_update().get_or_create(
            team=team, defaults={"webhook_key": secrets.token_urlsafe(32)}
        )
        if connection.account_key != credentials.account_key:
            _forget_webhook(connection)  # a webhook and its secrets belong to the old account
        connection.base_url = base
        connection.token_encrypted = crypto.encrypt(token)
        connection.account_key = credentials.account_key
        connection.token_hint = _hint(token)
        connection.credits, connection.credits_checked_at = account.credits, now
        connection.token_invalid_at, connection.token_invalid_reason = None, ""
        connection.connected_by, connection.connected_at = user, now
        connection.full_clean()
        connection.save()
        _account_valid(credentials.account_key, credits=account.credits, now=now)
        transaction.on_commit(_webhook_keys_forget)
    logger.info("Team %s connected to PiktID (account %s…)", team.pk, credentials.account_key[:12])
    if webhook_base_url:
        try:
            return piktid_webhook_register(team=team, base_url=webhook_base_url)
        except PackshotError as exc:
            raise PiktidWebhookError(
                f"The token was saved, but the webhook was not registered: {exc}"
            ) from exc
    return connection


def piktid_webhook_register(*, team: Team, base_url: str) -> PiktidConnection:
    """PUT /webhooks with `{base_url}/webhooks/piktid/<webhook key>/` and keep the secret it returns.

    PUT rotates the secret: the replaced one stays valid for PIKTID_WEBHOOK_ROTATION_HOURS. Other teams on
    the same account lose their registration (one webhook per PiktID account); their current secret becomes
    their previous one, so deliveries already signed with it still verify.
    """
    connection = _saved_connection(team)
    url = webhook_url_for(base_url=base_url, webhook_key=connection.webhook_key)
    credentials = _usable_team_credentials(connection)
    try:
        with piktid_client(credentials) as client:
            webhook = client.webhook_put(url)
    except PiktidAuthError as exc:
        raise _refused(credentials, exc) from None
    except PiktidError as exc:
        raise PackshotError(f"PiktID did not register the webhook: {exc}") from None
    if not webhook.secret:
        raise PackshotError(
            "PiktID registered the webhook but sent no secret, so deliveries cannot be verified."
        )
    now = timezone.now()
    with transaction.atomic():
        connection = PiktidConnection.objects.select_for_update().get(pk=connection.pk)
        _rotate_secret(connection, crypto.encrypt(webhook.secret), now)
        connection.webhook_url, connection.webhook_registered_at = url, now
        connection.save()
        others = PiktidConnection.objects.select_for_update().filter(account_key=connection.account_key)
        for other in others.exclude(pk=connection.pk).exclude(webhook_url=""):
            _rotate_secret(other, "", now)
            other.webhook_url, other.webhook_registered_at = "", None
            other.save()
    return connection


def piktid_disconnect(*, team: Team) -> Literal["removed", "none", "elsewhere", "failed"]:
    """Forget the team's token and secrets; DELETE /webhooks first when the webhook is this team's.

    Returns what happened to the webhook at PiktID: removed, none (never registered), elsewhere (the
    account's webhook points at another URL: left alone) or failed (logged; remove it in PiktID's app).
    A team disconnected from PiktID whose default engine was PiktID falls back to the installation default.
    """
    connection = _saved_connection(team)
    outcome = _webhook_release(connection) if connection.webhook_url else "none"
    with transaction.atomic():
        PiktidConnection.objects.filter(pk=connection.pk).delete()
        transaction.on_commit(_webhook_keys_forget)
        if team.default_engine == Team.Engine.PIKTID and not settings.PIKTID_TOKEN:
            Team.objects.filter(pk=team.pk).update(default_engine="")
            team.default_engine = ""
    logger.info("Team %s disconnected from PiktID (webhook: %s)", team.pk, outcome)
    return outcome


def piktid_balance_refresh(*, team: Team) -> float:
    """GET /auth/me for the team's credentials (saved or PIKTID_TOKEN); stores and returns the balance.

    Also the way to re-check a token marked invalid: an answer clears the mark, a 401 (re)sets it.
    Raises PiktidTokenRefusedError or PackshotError.
    """
    connection = PiktidConnection.objects.filter(team=team).first()
    if connection is not None:
        credentials = _team_credentials(connection)
    else:
        credentials = _environment_credentials()
        if credentials is None:
            raise PackshotError("This team has no PiktID connection.")
    account = _me(credentials, failing="The balance was not updated.")
    now = timezone.now()
    with transaction.atomic():
        _account_valid(credentials.account_key, credits=account.credits, now=now)
    return account.credits


def piktid_token_invalid(*, account_key: str, reason: str) -> int:
    """Mark every connection of this account refused (after a 401); submissions with it stop.

    Covers PIKTID_TOKEN too (a PiktidAccountState row). Keeps the first time and reason when already
    marked. Returns the number of team connections newly marked.
    """
    now, reason = timezone.now(), (reason or "PiktID answered 401 Unauthorized")[:200]
    marked = PiktidConnection.objects.filter(account_key=account_key, token_invalid_at__isnull=True).update(
        token_invalid_at=now, token_invalid_reason=reason
    )
    environment = _environment_credentials()
    if environment is not None and environment.account_key == account_key:
        state, _ = PiktidAccountState.objects.get_or_create(account_key=account_key)
        if state.token_invalid_at is None:
            state.token_invalid_at, state.token_invalid_reason = now, reason
            state.save(update_fields=["token_invalid_at", "token_invalid_reason"])
    logger.warning(
        "PiktID refused the token of account %s… (%d team connections marked)", account_key[:12], marked
    )
    return marked


def piktid_delivery_record(*, team: Team, status: str) -> None:
    """Note the time and outcome (e.g. "200 batch_edit", "401 bad signature") of the last webhook delivery.

    A burst of deliveries with the same outcome writes the row about once a second, not once per delivery:
    every concurrent delivery would otherwise queue on this one row's lock.
    """
    now, status = timezone.now(), status[:100]
    outcome = status.split(" ", 1)[0]  # "200", "401": deliveries of one burst differ only in the event's name
    noted = _deliveries_noted.get(team.pk)
    if noted is not None and noted[0] == outcome and now - noted[1] < DELIVERY_RECORD_EVERY:
        return  # this process wrote this outcome within the second: not even a statement
    fresh = Q(last_delivery_status=status, last_delivery_at__gt=now - DELIVERY_RECORD_EVERY)
    PiktidConnection.objects.filter(team=team).exclude(fresh).update(
        last_delivery_at=now, last_delivery_status=status
    )
    if len(_deliveries_noted) > 1000:
        _deliveries_noted.clear()
    _deliveries_noted[team.pk] = (outcome, now)


# team id → the outcome (status code) this process last wrote and when. The row may show a delivery up to
# DELIVERY_RECORD_EVERY older than the newest (its event name, or another web process's outcome).
_deliveries_noted: dict[int, tuple[str, datetime]] = {}


def team_default_engine_set(*, team: Team, engine: str) -> Team:
    """Set the engine new jobs of this team start with ("" = the installation default)."""
    if engine not in ("", *Team.Engine.values):
        raise PackshotError(f"Unknown engine {engine!r}.")
    if engine == Team.Engine.PIKTID and not (
        settings.PIKTID_TOKEN or PiktidConnection.objects.filter(team=team).exists()
    ):
        raise PackshotError("Connect the team to PiktID before making it the default engine.")
    team.default_engine = engine
    team.save(update_fields=["default_engine"])
    return team


# ---- helpers


def _clean_token(token: str) -> str:
    token = (token or "").strip()
    if not token:
        raise PackshotError("Enter a PiktID API token.")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable() or " " in token:
        raise PackshotError(
            f"That is not a PiktID API token: one word of printable characters, at most {MAX_TOKEN_LENGTH}."
        )
    return token


def _clean_url(url: str, label: str) -> str:
    """An http(s) URL without query or fragment, without its trailing slash; PackshotError otherwise."""
    url = (url or "").strip().rstrip("/")
    if len(url) > 200:
        raise PackshotError(f"{label} is too long (at most 200 characters).")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        raise PackshotError(
            f"{label} must be an http(s) URL such as https://studio.example.com, got {url!r}."
        )
    return url


def _hint(token: str) -> str:
    # Four characters identify a long token without helping anyone guess it; a short one gets none.
    return token[-4:] if len(token) >= 16 else ""


def _me(credentials: PiktidCredentials, *, failing: str):
    """GET /auth/me, mapping errors to one-line domain errors (a 401 also marks the account refused)."""
    try:
        with piktid_client(credentials) as client:
            return client.me()
    except PiktidAuthError as exc:
        raise _refused(credentials, exc) from None
    except PiktidConnectionError as exc:
        raise PackshotError(f"Could not reach PiktID at {credentials.base_url}: {exc}. {failing}") from None
    except PiktidError as exc:
        raise PackshotError(f"PiktID could not check the token: {exc}. {failing}") from None


def _refused(credentials: PiktidCredentials, exc: PiktidAuthError) -> PiktidTokenRefusedError:
    if credentials.source != "token":
        piktid_token_invalid(account_key=credentials.account_key, reason=str(exc))
    return PiktidTokenRefusedError(
        f"PiktID refused this token (401): it is wrong, expired or revoked. Create one at {TOKENS_PAGE}."
    )


def _account_valid(account_key: str, *, credits: float, now: datetime) -> None:
    """PiktID just accepted this account's token: record the balance and clear any refusal, everywhere."""
    PiktidConnection.objects.filter(account_key=account_key).update(
        credits=credits, credits_checked_at=now, token_invalid_at=None, token_invalid_reason=""
    )
    environment = _environment_credentials()
    if environment is not None and environment.account_key == account_key:
        PiktidAccountState.objects.update_or_create(
            account_key=account_key,
            defaults={
                "credits": credits,
                "credits_checked_at": now,
                "token_invalid_at": None,
                "token_invalid_reason": "",
            },
        )


def _saved_connection(team: Team) -> PiktidConnection:
    connection = PiktidConnection.objects.filter(team=team).first()
    if connection is None:
        raise PackshotError(
            "This team has no saved PiktID token. (A webhook needs one: with only PIKTID_TOKEN, job news "
            "arrives through the notification stream and polling.)"
        )
    return connection


def _team_credentials(connection: PiktidConnection, *, quiet: bool = False) -> PiktidCredentials | None:
    try:
        token = connection.token
    except crypto.FieldKeyError:
        logger.error(
            "The PiktID token of team %s cannot be decrypted (PACKSHOT_FIELD_KEYS)", connection.team_id
        )
        if quiet:
            return None
        raise PackshotError(
            "The saved PiktID token cannot be decrypted with the configured PACKSHOT_FIELD_KEYS; "
            "connect the team again."
        ) from None
    return PiktidCredentials(token, connection.base_url, connection.account_key, "team")


def _usable_team_credentials(connection: PiktidConnection) -> PiktidCredentials:
    if connection.is_token_invalid:
        raise PiktidTokenRefusedError(
            "PiktID refused this team's token; save a new one (or refresh the balance to check it again)."
        )
    return _team_credentials(connection)


def _environment_credentials() -> PiktidCredentials | None:
    token = settings.PIKTID_TOKEN
    if not token:
        return None
    base = settings.PIKTID_BASE_URL.rstrip("/")
    return PiktidCredentials(token, base, account_key_for(base_url=base, token=token), "environment")


def _environment_state(
    environment: PiktidCredentials, *, invalid_only: bool = False
) -> PiktidAccountState | None:
    states = PiktidAccountState.objects.filter(account_key=environment.account_key)
    if invalid_only:
        states = states.filter(token_invalid_at__isnull=False)
    return states.first()


def _rotate_secret(connection: PiktidConnection, new_encrypted: str, now: datetime) -> None:
    """The current secret becomes the previous one (valid for the rotation window); `new` takes its place."""
    if connection.webhook_secret_encrypted:
        connection.previous_webhook_secret_encrypted = connection.webhook_secret_encrypted
        connection.webhook_secret_rotated_at = now
    connection.webhook_secret_encrypted = new_encrypted


def _forget_webhook(connection: PiktidConnection) -> None:
    connection.webhook_secret_encrypted = connection.previous_webhook_secret_encrypted = ""
    connection.webhook_secret_rotated_at = None
    connection.webhook_url, connection.webhook_registered_at = "", None
    connection.last_delivery_at, connection.last_delivery_status = None, ""


def _webhook_release(connection: PiktidConnection) -> Literal["removed", "elsewhere", "failed"]:
    """DELETE /webhooks if the account's webhook still points at this team; best effort, logged."""
    try:
        credentials = _team_credentials(connection)
        with piktid_client(credentials) as client:
            try:
                current = client.webhook_get()
            except PiktidAuthError:
                raise
            except PiktidError:
                current = None  # GET /webhooks is not in PiktID's published docs: trust our own record
            if current is not None and current.url and current.url != connection.webhook_url:
                return "elsewhere"
            client.webhook_delete()
    except (PiktidError, PackshotError) as exc:
        logger.warning("Could not remove the PiktID webhook of team %s: %s", connection.team_id, exc)
        return "failed"
    return "removed"
