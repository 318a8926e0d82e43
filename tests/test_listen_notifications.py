"""`manage.py listen_notifications`, the PiktID SSE consumer, against the fake PiktID server.

The streams run in threads with their own database connections, so these tests commit (transactional db).
"""

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import stamina
from django.core.management import CommandError, call_command

from accounts.models import PiktidConnection
from packshots import services
from packshots.engines.piktid.client import Notification, StreamEvent
from packshots.engines.piktid.errors import PiktidConnectionError
from packshots.models import EngineEvent, Job
from packshots.services import connections as piktid_connections
from packshots.services import listener as listener_module
from packshots.services.connections import account_key_for
from packshots.services.listener import AccountStream, Backoff, Listener, listener_accounts
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

SECOND_TOKEN = "second-token-0123456789abcdef"
JOB_EVENT = {"id_task": "not-one-of-ours", "status": "processing"}


@pytest.fixture(autouse=True)
def piktid_settings(fake_piktid, settings):
    settings.PIKTID_TOKEN = FAKE_TOKEN  # the connection of teams that saved none
    settings.PIKTID_BASE_URL = fake_piktid.base_url
    fake_piktid.output_delay = None  # outputs are made when a test says so
    fake_piktid.keepalive_interval = 0.02  # an idle stream wakes often, so a stop is noticed at once
    with stamina.set_testing(True, attempts=3):
        yield


@pytest.fixture
def handled(monkeypatch) -> list[int]:
    """Ids of the notifications the listener applied, in order (a spy on the service it calls)."""
    calls: list[int] = []
    real = listener_module.piktid_notification_handle

    def spy(*, account_key, notification):
        calls.append(notification.id)
        return real(account_key=account_key, notification=notification)

    monkeypatch.setattr(listener_module, "piktid_notification_handle", spy)
    return calls


@contextmanager
def listening(*, refresh: float = 0.05, sleeps: list[float] | None = None) -> Iterator[Listener]:
    """A Listener running in a thread (as the command runs it), stopped and joined at the end."""
    record = sleeps if sleeps is not None else []
    listener = Listener(refresh=refresh, backoff=Backoff(base=0.02, cap=0.1), sleep=record.append)
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        listener.stop()
        thread.join(5)
        assert not thread.is_alive(), "the listener did not stop"
        for stream in [*listener.streams.values(), *listener.retired]:
            assert stream.join(2), "a stream thread did not end"  # and closed its database connection


def env_key(fake) -> str:
    return account_key_for(base_url=fake.base_url, token=FAKE_TOKEN)


def events_of(key: str) -> list[str]:
    return list(
        EngineEvent.objects.filter(source=f"piktid:{key[:12]}")
        .order_by("pk")
        .values_list("event_id", flat=True)
    )


def test_backfill_is_applied_before_live_events_and_each_is_deleted_once(fake_piktid, team, handled):
    first = fake_piktid.publish(FAKE_TOKEN, "batch_edit", JOB_EVENT)
    second = fake_piktid.publish(FAKE_TOKEN, "image_result", JOB_EVENT)
    with listening():
        fake_piktid.wait_for(lambda: not fake_piktid.notifications)
        live = fake_piktid.publish(FAKE_TOKEN, "batch_edit", JOB_EVENT)
        fake_piktid.wait_for(lambda: not fake_piktid.notifications)
    ids = [first["id"], second["id"], live["id"]]
    assert handled == ids
    assert events_of(env_key(fake_piktid)) == [str(i) for i in ids]
    assert [fake_piktid.count("DELETE", f"/notifications/{i}") for i in ids] == [1, 1, 1]


def test_live_events_sent_before_the_backfill_ended_wait_for_it(monkeypatch, fake_piktid, team, handled):
    # PiktID's contract sends backfill → backfill_complete → live; a live event that overtakes the
    # backfill (a proxy reordering, say) is still applied after it.
    def note(n: int) -> Notification:
        return Notification(id=n, name="batch_edit", data=dict(JOB_EVENT), timestamp=1.0)

    class Client:
        deleted: list[int] = []

        def notification_stream(self, *, names=None):
            yield StreamEvent("live", note(3))
            yield StreamEvent("backfill", note(1))
            yield StreamEvent("backfill", note(2))
            yield StreamEvent("backfill_complete", None)
            yield StreamEvent("live", note(4))
            stream.stop()  # the test's way out: the next read ends the stream
            raise PiktidConnectionError("closed", maybe_sent=True)

        def notification_delete(self, notification_id: int) -> None:
            self.deleted.append(notification_id)

        def close(self) -> None:
            pass

    monkeypatch.setattr(piktid_connections, "piktid_client", lambda credentials: Client())
    stream = AccountStream(listener_accounts()[env_key(fake_piktid)], sleep=lambda s: None)
    stream.start()
    assert stream.join(5)
    assert handled == [1, 2, 3, 4] and Client.deleted == [1, 2, 3, 4]


def test_keepalives_are_ignored(fake_piktid, team, handled):
    with listening():
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 1)
        threading.Event().wait(0.3)  # ~15 keepalive comments
        assert handled == [] and fake_piktid.count("DELETE", "/notifications") == 0
        assert fake_piktid.count("GET", "/notifications/events") == 1  # no reconnect either
        event = fake_piktid.publish(FAKE_TOKEN, "batch_edit", JOB_EVENT)
        fake_piktid.wait_for(lambda: not fake_piktid.notifications)
    assert handled == [event["id"]]


def test_a_dropped_stream_reconnects_without_applying_an_event_twice(fake_piktid, team, handled):
    sleeps: list[float] = []
    with listening(sleeps=sleeps):
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 1)
        # Applied, but its deletion fails: PiktID keeps it and replays it in the next backfill.
        fake_piktid.fail_next("DELETE", "/notifications/", 503, times=3)
        kept = fake_piktid.publish(FAKE_TOKEN, "batch_edit", JOB_EVENT)
        fake_piktid.wait_for(lambda: fake_piktid.count("DELETE", "/notifications/") == 3)
        assert kept["id"] in fake_piktid.notifications
        fake_piktid.drop_streams()
        fake_piktid.wait_for(lambda: fake_piktid.count("GET", "/notifications/events") == 2)
        fake_piktid.wait_for(lambda: not fake_piktid.notifications)  # deleted after the replay
        after = fake_piktid.publish(FAKE_TOKEN, "batch_edit", JOB_EVENT)
        fake_piktid.wait_for(lambda: not fake_piktid.notifications)
    assert handled == [kept["id"], after["id"]]
    assert len(sleeps) == 1 and 0.01 <= sleeps[0] <= 0.02  # one backoff (base 0.02, jittered) before it


def test_reconnections_back_off_exponentially_with_a_cap(fake_piktid, team):
    sleeps: list[float] = []
    fake_piktid.fail_next("GET", "/notifications/events", 503, times=20)
    with listening(sleeps=sleeps):
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 1)  # through after the failures
    assert len(sleeps) == 20
    assert sleeps[0] <= 0.04 and 0.05 <= max(sleeps) <= 0.1  # doubling from 0.02, capped at 0.1


def test_an_account_connected_while_running_gets_a_stream_and_loses_it_when_disconnected(
    fake_piktid, team, other_team, handled
):
    fake_piktid.add_account(SECOND_TOKEN)
    with listening():
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 1)
        services.piktid_connect(team=other_team, user=None, token=SECOND_TOKEN)
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 2)
        event = fake_piktid.publish(SECOND_TOKEN, "batch_edit", JOB_EVENT)
        fake_piktid.wait_for(lambda: not fake_piktid.notifications)
        second_key = PiktidConnection.objects.get(team=other_team).account_key
        assert events_of(second_key) == [str(event["id"])]
        services.piktid_disconnect(team=other_team)
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 1)
        fake_piktid.publish(SECOND_TOKEN, "batch_edit", JOB_EVENT)  # nobody listens for it any more
        threading.Event().wait(0.2)
    assert handled == [event["id"]]
    assert [r.token for r in fake_piktid.requests_to("GET", "/notifications/events")] == [
        FAKE_TOKEN,
        SECOND_TOKEN,
    ]


def test_a_401_stops_that_stream_and_marks_the_token_invalid_until_it_is_valid_again(
    fake_piktid, team, caplog
):
    caplog.set_level(logging.INFO)
    with listening():
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 1)
        fake_piktid.fail_next("GET", "/notifications/events", 401)
        fake_piktid.drop_streams()
        fake_piktid.wait_for(lambda: services.piktid_credentials(team) is None)
        threading.Event().wait(0.3)  # several refreshes: the refused account gets no stream
        assert fake_piktid.open_streams == 0 and fake_piktid.count("GET", "/notifications/events") == 2
        assert listener_accounts() == {}
        services.piktid_balance_refresh(team=team)  # PiktID accepts the token again: the mark is cleared
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 1)
    assert "PiktID refused the token" in caplog.text and FAKE_TOKEN not in caplog.text


class EndedStream:
    """A stream whose thread has ended, refused (401) or not."""

    def __init__(self, key: str, *, refused: bool) -> None:
        self.account_key, self.refused, self.is_alive = key, refused, False

    def stop(self) -> None:
        pass


@pytest.mark.parametrize("refused", [True, False])
def test_a_stream_refused_after_the_accounts_were_read_is_not_restarted_from_that_read(
    fake_piktid, team, refused
):
    # CI on a loaded machine saw it: a refresh read the accounts just before a stream's 401 was marked, found
    # the stream ended, and started the refused account again from its stale list (a third connection). A
    # stream that ended otherwise (an unexpected error) is started again at once.
    listener = Listener(refresh=60, backoff=Backoff(base=0.02, cap=0.1), sleep=lambda _: None)
    key = env_key(fake_piktid)
    assert key in listener_accounts()  # the token is not marked refused yet
    listener.streams[key] = EndedStream(key, refused=refused)
    listener.sync_accounts()
    try:
        assert (key in listener.streams) is not refused
    finally:
        listener._shutdown()


def test_an_event_for_our_job_moves_it_and_once_exits_after_the_backlog(fake_piktid, team, member):
    draft = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    draft = services.job_set_options(
        job=draft, engine="piktid", options={"model": "auto"}, post_process=False
    )
    job = factories.start_job(draft)
    assert job.status == Job.Status.RUNNING
    fake_piktid.finish(job.remote_job_id)  # PiktID is done and says so by notifications
    waiting = len(fake_piktid.notifications)
    assert waiting >= 1
    call_command("listen_notifications", "--once", stdout=(out := _Buffer()))
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and job.results.get().status == "completed"
    assert not fake_piktid.notifications
    fake_piktid.wait_for(lambda: fake_piktid.open_streams == 0, timeout=1)  # the stream was closed
    assert f"{waiting} notification(s) applied, {waiting} deleted" in out.text
    assert FAKE_TOKEN not in out.text


def test_once_with_a_refused_token_fails_and_marks_it(fake_piktid, team):
    fake_piktid.fail_next("GET", "/notifications/events", 401)
    with pytest.raises(CommandError, match=r"PiktID account \w{12}…: PiktID refused the token \(401\)"):
        call_command("listen_notifications", "--once", stdout=_Buffer())
    assert services.piktid_credentials(team) is None


def test_the_command_stops_cleanly_on_sigterm(fake_piktid, team):
    def terminate_once_listening() -> None:
        fake_piktid.wait_for(lambda: fake_piktid.open_streams == 1)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    killer = threading.Thread(target=terminate_once_listening, daemon=True)
    killer.start()
    call_command("listen_notifications", "--refresh", "0.05", stdout=(out := _Buffer()))
    killer.join(1)
    assert "Stopped listening" in out.text
    assert signal.getsignal(signal.SIGTERM) is before
    fake_piktid.wait_for(lambda: fake_piktid.open_streams == 0)


def test_a_bad_refresh_is_refused(db):
    with pytest.raises(CommandError, match="--refresh must be a positive"):
        call_command("listen_notifications", "--refresh", "0")


class _Buffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_notifications_the_listener_deleted_are_not_deleted_again_by_the_consume_task(
    fake_piktid, team, member
):
    draft = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    draft = services.job_set_options(
        job=draft, engine="piktid", options={"model": "auto"}, post_process=False
    )
    job = factories.start_job(draft)
    fake_piktid.finish(job.remote_job_id)
    call_command("listen_notifications", "--once", stdout=_Buffer())
    notifications = EngineEvent.objects.filter(job=job, source=f"piktid:{env_key(fake_piktid)[:12]}")
    ids = list(notifications.values_list("event_id", flat=True))
    assert ids and not notifications.filter(consumed_at__isnull=True).exists()
    # A webhook of the same account may have queued the consume task for this job: it has nothing left to do.
    assert services.piktid_notifications_consume(team_id=team.pk, job_id=job.pk) == 0
    assert [fake_piktid.count("DELETE", f"/notifications/{i}") for i in ids] == [1] * len(ids)
