"""PiktID's webhook through the production ASGI application (config/server.py), which sends deliveries down a
lean path (packshots.views.webhooks) instead of the middleware stack: the same answers as the Django view,
anything unusual handed to Django."""

import asyncio
import json

import pytest
import stamina
from django.db import connection as db_connection

from accounts import crypto
from accounts.models import PiktidConnection
from packshots import services
from packshots.engines.piktid.webhooks import sign
from packshots.models import EngineEvent, Job
from packshots.views import webhooks
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)  # the lean path answers from threads of its own


@pytest.fixture(autouse=True)
def piktid_settings(fake_piktid, settings):
    settings.PIKTID_BASE_URL = fake_piktid.base_url
    fake_piktid.output_delay = None
    with stamina.set_testing(True, attempts=3):
        yield
    webhooks.close_connections()  # the threads keep theirs; the test database must be droppable


@pytest.fixture
def connection(team, member, fake_piktid) -> PiktidConnection:
    services.piktid_connect(
        team=team, user=member, token=FAKE_TOKEN, webhook_base_url="https://studio.example"
    )
    return PiktidConnection.objects.get(team=team)


def asgi(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict | None = None,
    *,
    chunks: int = 1,
    repeated: tuple[tuple[str, str], ...] = (),
    reads: list | None = None,
):
    """Call config.server.application once; (status, headers, body) of its answer. `repeated`: headers sent
    once more; `reads` collects the messages the application received."""
    from config.server import application

    headers = {"host": "127.0.0.1", "content-length": str(len(body)), **(headers or {})}
    headers = {name: value for name, value in headers.items() if value is not None}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in [*headers.items(), *repeated]],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": n < len(parts) - 1}
        for n, part in enumerate(parts)
    ]
    sent = []

    async def receive():
        if messages:
            message = messages.pop(0)
            if reads is not None:
                reads.append(message)
            return message
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    asyncio.run(application(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def deliver(connection, event: dict, *, secret: str | None = None, **extra):
    body = json.dumps(event).encode()
    signature = sign(secret or connection.webhook_secret, body)
    headers = {"content-type": "application/json", "x-webhook-signature": signature, **extra}
    return asgi("POST", f"/webhooks/piktid/{connection.webhook_key}/", body, headers)


def running_job(team, member, fake_piktid) -> Job:
    draft = factories.make_draft(team=team, user=member, photos=1, instructions=[factories.WHITE_CUTOUT])
    draft = services.job_set_options(
        job=draft, engine="piktid", options={"model": "auto"}, post_process=False
    )
    return factories.start_job(draft)


def test_a_signed_delivery_is_recorded_once_and_syncs_the_job(connection, team, member, fake_piktid):
    job = running_job(team, member, fake_piktid)
    fake_piktid.finish(job.remote_job_id)
    event = {"id": 7001, "name": "batch_edit", "timestamp": 1.0}
    event["data"] = {"id_task": job.remote_job_id, "status": "completed"}
    status, headers, body = deliver(connection, event)
    assert (status, body) == (204, b"") and headers[b"x-content-type-options"] == b"nosniff"
    assert deliver(connection, event)[0] == 204  # PiktID's retry of the same notification
    assert EngineEvent.objects.filter(event_id="7001").count() == 1
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and job.last_event_at is not None
    assert fake_piktid.count("DELETE", "/notifications/7001") == 1
    connection.refresh_from_db()
    assert connection.last_delivery_status == "200 batch_edit"


@pytest.mark.parametrize("header", ["sha256=" + "0" * 64, "sha1=abc", None])
def test_forged_deliveries_are_refused_and_change_nothing(connection, header):
    body = json.dumps({"id": 1, "name": "ping", "data": {}}).encode()
    status, _, text = asgi(
        "POST", f"/webhooks/piktid/{connection.webhook_key}/", body, {"x-webhook-signature": header}
    )
    assert (status, text) == (401, b"Bad signature\n") and not EngineEvent.objects.exists()


def test_an_unknown_key_is_404_and_a_malformed_event_400(connection):
    assert asgi("POST", "/webhooks/piktid/" + "x" * 43 + "/", b"{}")[0] == 404
    body = b'{"name": "ping"}'  # no id
    headers = {"x-webhook-signature": sign(connection.webhook_secret, body)}
    assert asgi("POST", f"/webhooks/piktid/{connection.webhook_key}/", body, headers)[:1] == (400,)
    assert not EngineEvent.objects.exists()


def test_a_replaced_secret_counts_at_once_and_a_disconnection_too(connection, team, member, fake_piktid):
    ping = {"id": 7101, "name": "ping", "data": {}}
    assert deliver(connection, ping)[0] == 204  # the key's secrets are now remembered by this process
    old_secret = connection.webhook_secret
    # Stored directly, as another process registering the webhook again would: this process's memory of the
    # key is now stale, and a delivery signed with the new secret must still be taken.
    PiktidConnection.objects.filter(pk=connection.pk).update(
        webhook_secret_encrypted=crypto.encrypt("a-brand-new-secret")
    )
    assert deliver(connection, {**ping, "id": 7102}, secret="a-brand-new-secret")[0] == 204
    assert deliver(connection, {**ping, "id": 7103}, secret=old_secret)[0] == 401
    services.piktid_disconnect(team=team)
    assert deliver(connection, {**ping, "id": 7104}, secret="a-brand-new-secret")[0] == 404


def test_anything_unusual_is_left_to_django(connection, settings):
    path = f"/webhooks/piktid/{connection.webhook_key}/"
    assert asgi("GET", path)[0] == 405
    assert deliver(connection, {"id": 7201, "name": "ping"}, host="evil.example")[0] == 400
    assert not EngineEvent.objects.exists()


def test_plain_http_where_https_is_required_is_left_to_django_to_redirect(settings):
    def scope(**headers):
        headers = {"host": "127.0.0.1", **headers}
        encoded = [(name.encode(), value.encode()) for name, value in headers.items()]
        return {"type": "http", "method": "POST", "scheme": "http", "headers": encoded}

    assert webhooks.lean_path_applies(scope())
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert not webhooks.lean_path_applies(scope())
    assert not webhooks.lean_path_applies(scope(**{"x-forwarded-proto": "http"}))
    assert webhooks.lean_path_applies(scope(**{"x-forwarded-proto": "https"}))
    assert webhooks.lean_path_applies({**scope(), "scheme": "https"})


def test_bodies_over_the_cap_are_refused_declared_or_streamed(connection):
    path = f"/webhooks/piktid/{connection.webhook_key}/"
    big = json.dumps({"id": 1, "name": "ping", "data": {"x": "y" * webhooks.WEBHOOK_MAX_BYTES}}).encode()
    headers = {"x-webhook-signature": sign(connection.webhook_secret, big)}
    assert asgi("POST", path, big, headers)[0] == 413
    assert asgi("POST", path, big, {**headers, "content-length": None}, chunks=8)[0] == 413
    assert asgi("POST", path, b"{}", {"content-length": "9" * 5000})[0] == 413  # no int() of 5 000 digits
    assert not EngineEvent.objects.exists()


def test_a_crash_answers_500_and_the_next_delivery_is_served(connection, monkeypatch):
    real = services.piktid_webhook_receive

    def crash_once(**kwargs):
        monkeypatch.setattr(services, "piktid_webhook_receive", real)
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "piktid_webhook_receive", crash_once)
    assert deliver(connection, {"id": 7301, "name": "ping"})[:1] == (500,)
    assert deliver(connection, {"id": 7302, "name": "ping"})[0] == 204
    assert list(EngineEvent.objects.values_list("event_id", flat=True)) == ["7302"]


def test_a_key_that_cannot_be_one_is_404_before_the_body_is_read(caplog):
    reads = []
    status, _, text = asgi("POST", "/webhooks/piktid/short/", b'{"id": 1}', reads=reads)
    assert (status, text, reads) == (404, b"Unknown webhook\n", [])
    assert "Not Found: /webhooks/piktid/short/" in caplog.text  # logged as Django logs a 404


def test_refusals_are_logged_like_djangos(connection, caplog):
    body = json.dumps({"id": 1, "name": "ping", "data": {}}).encode()
    path = f"/webhooks/piktid/{connection.webhook_key}/"
    assert asgi("POST", path, body, {"x-webhook-signature": "sha256=" + "0" * 64})[0] == 401
    assert f"Unauthorized: {path}" in caplog.text


def test_a_full_queue_answers_503_with_retry_after_and_records_nothing(connection, monkeypatch):
    monkeypatch.setattr(webhooks, "LEAN_MAX_PENDING", 0)
    status, headers, _ = deliver(connection, {"id": 7401, "name": "ping"})
    assert (status, headers[b"retry-after"]) == (503, b"5") and not EngineEvent.objects.exists()
    monkeypatch.setattr(webhooks, "LEAN_MAX_PENDING", 256)
    assert deliver(connection, {"id": 7401, "name": "ping"})[0] == 204


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": 1, "name": "batch_edit", "timestamp": NaN, "data": {}}',
        b'{"id": 1, "name": "batch_edit", "timestamp": 1e400, "data": {}}',
        b'{"id": 1, "name": "batch_edit", "timestamp": 1, "data": {"x": [Infinity]}}',
        b'{"id": 1, "name": "batch_edit", "data": {"status": "a\\u0000b"}}',
        b'{"id": 1, "name": "batch_edit", "data": {"a\\u0000": 1}}',
        b'{"id": 1, "name": "batch_edit", "data": {"x": "\\ud800"}}',
        b'{"id": 1, "name": "batch_edit", "data": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
    ],
    ids=["nan", "overflow", "infinity", "nul-value", "nul-key", "surrogate", "deep"],
)
def test_what_the_database_cannot_store_is_400_not_500(connection, body):
    headers = {"x-webhook-signature": sign(connection.webhook_secret, body)}
    status, _, text = asgi("POST", f"/webhooks/piktid/{connection.webhook_key}/", body, headers)
    assert (status, text) == (400, b"Malformed event\n") and not EngineEvent.objects.exists()


def test_news_of_a_job_deleted_since_it_was_looked_up_is_recorded_without_it(
    connection, team, member, fake_piktid
):
    job = running_job(team, member, fake_piktid)
    event = {"id": 7501, "name": "batch_edit", "data": {"id_task": job.remote_job_id, "status": "processing"}}
    assert deliver(connection, event)[0] == 204  # this process now remembers the job for a few seconds
    Job.objects.filter(pk=job.pk).delete()
    assert deliver(connection, {**event, "id": 7502})[0] == 204
    assert EngineEvent.objects.get(event_id="7502").job_id is None


def test_a_repeated_host_or_proxy_header_is_left_to_django(connection, settings):
    event = {"id": 7601, "name": "ping", "data": {}}
    body = json.dumps(event).encode()
    headers = {"x-webhook-signature": sign(connection.webhook_secret, body)}
    path = f"/webhooks/piktid/{connection.webhook_key}/"
    assert asgi("POST", path, body, headers, repeated=(("host", "evil.example"),))[0] == 400
    assert not EngineEvent.objects.exists()

    def scope(*headers):
        encoded = [(name.encode(), value.encode()) for name, value in [("host", "127.0.0.1"), *headers]]
        return {"type": "http", "method": "POST", "scheme": "http", "headers": encoded}

    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert webhooks.lean_path_applies(scope(("x-forwarded-proto", "https")))
    # Django reads the first of repeated headers; the lean path steps aside rather than guess.
    assert not webhooks.lean_path_applies(
        scope(("x-forwarded-proto", "https"), ("x-forwarded-proto", "http"))
    )
    assert not webhooks.lean_path_applies(
        scope(("x-forwarded-proto", "http"), ("x-forwarded-proto", "https"))
    )


@pytest.mark.skipif(db_connection.vendor != "postgresql", reason="terminates server connections: PostgreSQL")
def test_connections_the_server_dropped_are_replaced_before_the_next_delivery(connection):
    for n in range(webhooks.LEAN_THREADS * 2):  # every thread has opened its connection
        assert deliver(connection, {"id": 7700 + n, "name": "ping"})[0] == 204
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    answers = [
        deliver(connection, {"id": 7800 + n, "name": "ping"})[0] for n in range(webhooks.LEAN_THREADS * 2)
    ]
    assert answers == [204] * len(answers)
    assert EngineEvent.objects.filter(event_id__startswith="78").count() == len(answers)
