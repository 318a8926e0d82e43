"""The SSE consumer behind `manage.py listen_notifications`: one PiktID event stream per connected account.

Each account (distinct token fingerprint over the teams' usable connections and PIKTID_TOKEN) gets a thread
reading GET /notifications/events: backfill first (what is still undeleted), then live events. Each
notification is applied once (recorded + its job's sync queued, by `piktid_notification_handle`, which also
dedupes in the database) and then deleted at PiktID so it is never replayed. A drop reconnects with capped
exponential backoff and jitter; a 401 marks the token refused and ends that stream until the account shows
up as usable again. The supervisor re-reads the set of accounts every `refresh` seconds.

Stopping a stream closes its client. A read blocked on an idle stream only notices at the next keepalive
(PiktID sends one about every 15 s); nothing is applied after a stream was told to stop, so an event that
arrives meanwhile stays at PiktID for the next run.
"""

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass

from django.db import DatabaseError, close_old_connections, connections

from accounts.models import PiktidConnection, Team
from packshots.engines.piktid.client import DEFAULT_NOTIFICATION_NAMES, Notification, PiktidClient
from packshots.engines.piktid.errors import PiktidAuthError, PiktidError
from packshots.services import connections as piktid_connections
from packshots.services.connections import PiktidCredentials, piktid_credentials, piktid_token_invalid
from packshots.services.piktid import piktid_notification_consumed, piktid_notification_handle

log = logging.getLogger(__name__)

# Ids remembered per stream; far more than PiktID's backfill window (10 minutes of events) holds.
SEEN_MAX = 10_000
# --once gives up on an account after this many failed connections in a row.
ONCE_ATTEMPTS = 5


@dataclass(frozen=True)
class Backoff:
    """Capped exponential delays with jitter: attempt n waits between half and all of min(cap, base·2ⁿ)."""

    base: float = 1.0
    cap: float = 60.0
    rand: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 30))
        return ceiling / 2 + self.rand() * ceiling / 2


def listener_accounts() -> dict[str, PiktidCredentials]:
    """Every distinct usable PiktID account, by account key: the teams' saved connections and PIKTID_TOKEN.

    Refused tokens (401) and tokens that cannot be decrypted are left out, exactly as `piktid_credentials`
    leaves them out for submissions. PIKTID_TOKEN counts only while some team has no connection of its own.
    """
    accounts: dict[str, PiktidCredentials] = {}
    connected = PiktidConnection.objects.filter(token_invalid_at__isnull=True).select_related("team")
    teams: list[Team] = [connection.team for connection in connected]
    unconnected = Team.objects.filter(piktid_connection__isnull=True).first()
    if unconnected is not None:
        teams.append(unconnected)  # its credentials are PIKTID_TOKEN's, if set and not refused
    for team in teams:
        credentials = piktid_credentials(team)
        if credentials is not None:
            accounts.setdefault(credentials.account_key, credentials)
    return accounts


def _label(account_key: str) -> str:
    return f"PiktID account {account_key[:12]}…"  # the fingerprint, never the token


class AccountStream:
    """One account's stream in its own thread: connect, apply, delete, reconnect until stopped.

    `once`: end after the backfill (the backlog) instead of listening live. `sleep(seconds)` waits between
    reconnections; the default wakes early when the stream is stopped.
    """

    def __init__(
        self,
        credentials: PiktidCredentials,
        *,
        once: bool = False,
        backoff: Backoff | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.credentials = credentials
        self.account_key = credentials.account_key
        self.once = once
        self.backoff = backoff or Backoff()
        self._stopped = threading.Event()
        self.sleep = sleep or self._stopped.wait
        self.applied = 0
        self.deleted = 0
        self.refused = False
        self.error = ""  # why the stream ended early (--once: why the backlog was not read)
        self._healthy = False  # the current connection got past its backfill
        self._lock = threading.Lock()
        self._busy = threading.Lock()  # held while a notification is being applied
        self._client: PiktidClient | None = None
        self._seen: OrderedDict[int, bool] = OrderedDict()  # id → deleted at PiktID yet
        self._thread = threading.Thread(
            target=self._main, name=f"piktid-stream-{self.account_key[:8]}", daemon=True
        )

    # ---- control (any thread)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the stream to end; closing the client wakes a blocked read at the next byte it gets."""
        self._stopped.set()
        with self._lock:
            client = self._client
        if client is not None:
            client.close()

    def wait_idle(self, timeout: float) -> bool:
        """After stop(): wait until no notification is being applied (none will start); True when so."""
        if not self._busy.acquire(timeout=max(0.0, timeout)):
            return False
        self._busy.release()
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    # ---- the thread

    def _main(self) -> None:
        try:
            self._run()
        except Exception:  # the supervisor starts a fresh stream at its next refresh
            log.exception("%s: the stream stopped on an unexpected error", _label(self.account_key))
            self.error = "unexpected error (see the log)"
        finally:
            with self._lock:
                client, self._client = self._client, None
            if client is not None:
                client.close()
            connections.close_all()  # this thread's own database connections

    def _run(self) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            self._client = piktid_connections.piktid_client(self.credentials)
        failures = 0
        while not self._stopped.is_set():
            try:
                self._listen(self._client)
                return  # only `once` (backlog read) or a stop end a connection without an error
            except PiktidAuthError as exc:
                with self._busy:
                    if not self._stopped.is_set():
                        self._refused(exc)
                return
            except (PiktidError, DatabaseError) as exc:
                if self._stopped.is_set():
                    return
                log.warning("%s: stream interrupted (%s)", _label(self.account_key), exc)
            failures = 0 if self._healthy else failures + 1
            if self.once and failures >= ONCE_ATTEMPTS:
                self.error = f"no backlog after {failures} attempts"
                return
            delay = self.backoff.delay(failures)
            log.info("%s: reconnecting in %.1f s", _label(self.account_key), delay)
            self.sleep(delay)

    def _listen(self, client: PiktidClient) -> None:
        """Read one connection until it ends; returns after the backfill in `once` mode or when stopped.

        Otherwise it ends by raising, as the stream does; `_healthy` then says whether it got past the
        backfill (the backoff starts over after a healthy connection).
        """
        self._healthy = False
        early: list[Notification] = []  # live events sent before backfill_complete wait for the backfill
        log.info("%s: stream open", _label(self.account_key))
        # closing(): leaving early (once, stop) ends the HTTP response now, not at garbage collection.
        with closing(client.notification_stream(names=list(DEFAULT_NOTIFICATION_NAMES))) as stream:
            for event in stream:
                if self._stopped.is_set():
                    return
                if event.kind == "backfill_complete":
                    self._healthy = True
                    if self.once:
                        return
                    self._apply_all(client, early)
                    early.clear()
                elif event.kind == "live" and not self._healthy:
                    early.append(event.notification)
                elif event.notification is not None:
                    self._apply(client, event.notification)

    def _apply_all(self, client: PiktidClient, notifications: Iterable[Notification]) -> None:
        for notification in notifications:
            if self._stopped.is_set():
                return
            self._apply(client, notification)

    def _apply(self, client: PiktidClient, notification: Notification) -> None:
        """Apply once (this stream remembers ids; the database dedupes across processes), then delete."""
        with self._busy:  # a shutdown waits for this, and nothing starts after a stop
            if not self._stopped.is_set():
                self._apply_now(client, notification)

    def _apply_now(self, client: PiktidClient, notification: Notification) -> None:
        deleted = self._seen.get(notification.id)
        if deleted:
            return
        if deleted is None:
            close_old_connections()
            try:
                piktid_notification_handle(account_key=self.account_key, notification=notification)
            finally:
                close_old_connections()
            self.applied += 1
            self._remember(notification.id, deleted=False)
        try:
            client.notification_delete(notification.id)
        except PiktidAuthError:
            raise
        except PiktidError as exc:
            # Applied but still at PiktID: it comes back with the next backfill and is only deleted then.
            log.warning(
                "%s: notification %s not deleted (%s)", _label(self.account_key), notification.id, exc
            )
            return
        self.deleted += 1
        self._remember(notification.id, deleted=True)
        close_old_connections()
        try:
            piktid_notification_consumed(account_key=self.account_key, notification_id=notification.id)
        finally:
            close_old_connections()

    def _remember(self, notification_id: int, *, deleted: bool) -> None:
        self._seen[notification_id] = deleted
        self._seen.move_to_end(notification_id)
        while len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)

    def _refused(self, exc: PiktidAuthError) -> None:
        self.refused = True
        self.error = "PiktID refused the token (401)"
        log.warning(
            "%s: PiktID refused the token; its stream stops until it is usable again",
            _label(self.account_key),
        )
        close_old_connections()
        piktid_token_invalid(account_key=self.account_key, reason=str(exc))


class Listener:
    """The supervisor: one AccountStream per account, the set re-read every `refresh` seconds."""

    def __init__(
        self,
        *,
        refresh: float = 30.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], object] | None = None,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.refresh = refresh
        self.backoff = backoff
        self.sleep = sleep
        self.shutdown_timeout = shutdown_timeout
        self.streams: dict[str, AccountStream] = {}
        self.retired: list[AccountStream] = []  # told to stop, possibly still ending
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Ask `run` to return (safe from a signal handler or another thread)."""
        self._stopped.set()

    def run(self) -> None:
        """Keep one stream per account until `stop()`; then stop them all and wait for them briefly."""
        log.info("Listening to PiktID notifications (accounts re-read every %s s)", self.refresh)
        try:
            while not self._stopped.is_set():
                self.sync_accounts()
                self._stopped.wait(self.refresh)
        finally:
            self._shutdown()
            connections.close_all()

    def sync_accounts(self) -> None:
        """Start streams for new (or revived) accounts, stop those of accounts no longer usable."""
        close_old_connections()
        try:
            accounts = listener_accounts()
        except DatabaseError as exc:
            log.warning("Could not read the PiktID accounts; keeping the current streams (%s)", exc)
            return
        finally:
            close_old_connections()
        refused = set()  # streams ended by a 401 since `accounts` was read may not be marked in it yet
        for key, stream in list(self.streams.items()):
            if key not in accounts or not stream.is_alive:
                if key not in accounts:
                    log.info("%s: no longer connected or usable; stopping its stream", _label(key))
                elif stream.refused:
                    refused.add(key)  # the next refresh reads the mark (or that the token works again)
                stream.stop()
                self.retired.append(self.streams.pop(key))
        self.retired = [stream for stream in self.retired if stream.is_alive]
        for key, credentials in accounts.items():
            if key not in self.streams and key not in refused and not self._stopped.is_set():
                stream = AccountStream(credentials, backoff=self.backoff, sleep=self.sleep)
                self.streams[key] = stream
                stream.start()

    def _shutdown(self) -> None:
        streams = [*self.streams.values(), *self.retired]
        for stream in streams:
            stream.stop()
        deadline = time.monotonic() + self.shutdown_timeout
        for stream in streams:
            # A stream applying a notification finishes it (and its deletion) before the process ends.
            if not stream.wait_idle(deadline - time.monotonic()):
                log.warning("%s: still applying a notification at shutdown", _label(stream.account_key))
        for stream in streams:
            stream.join(0.1)
        left = sum(stream.is_alive for stream in streams)
        if left:
            # Blocked reading an idle stream (it wakes at the next keepalive): nothing of theirs is in flight.
            log.info("%d idle stream(s) end with the process", left)


@dataclass(frozen=True)
class BacklogReport:
    accounts: int
    applied: int
    deleted: int
    errors: dict[str, str]  # account label → why its backlog was not read


def listener_backlog(
    *, backoff: Backoff | None = None, sleep: Callable[[float], object] | None = None
) -> BacklogReport:
    """--once: read every account's backfill (one thread each), apply and delete it, then return."""
    streams = [
        AccountStream(credentials, once=True, backoff=backoff, sleep=sleep)
        for credentials in listener_accounts().values()
    ]
    for stream in streams:
        stream.start()
    for stream in streams:
        stream.join()
    return BacklogReport(
        accounts=len(streams),
        applied=sum(stream.applied for stream in streams),
        deleted=sum(stream.deleted for stream in streams),
        errors={_label(stream.account_key): stream.error for stream in streams if stream.error},
    )
