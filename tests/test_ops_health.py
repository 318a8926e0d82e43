"""/healthz: database, storage round trip, task queue, PiktID when configured; no login, no secrets."""

from datetime import timedelta

import httpx
import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.urls import resolve, reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from packshots.models import WorkerHeartbeat
from packshots.services import health


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_healthy_app_answers_200_to_anyone_without_login(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "storage": "ok",
            "queue": {"ok": True, "ready": 0, "oldest_ready_s": 0, "workers": 0},
        },
    }


def test_the_storage_check_leaves_no_file_behind(client, db):
    client.get("/healthz")

    assert not default_storage.exists("healthz") or default_storage.listdir("healthz") == ([], [])


def test_a_failing_storage_answers_503_without_saying_why(client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("Permission denied: /srv/secret-bucket/key=AKIA123")

    monkeypatch.setattr(default_storage, "save", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "error"
    assert b"secret" not in response.content and b"AKIA" not in response.content


def test_a_failing_database_answers_503(client, db, monkeypatch):
    def broken():
        raise DatabaseError("could not connect to server at db.internal:5432 password=hunter2")

    monkeypatch.setattr(health, "_database", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error"
    assert b"hunter2" not in response.content and b"db.internal" not in response.content


def _ready_task(waited: timedelta, *, run_after=None) -> DBTaskResult:
    task = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="packshots.tasks.job_process_task",
        backend_name="default",
        queue_name="default",
        run_after=run_after or get_date_max(),
    )
    DBTaskResult.objects.filter(pk=task.pk).update(enqueued_at=timezone.now() - waited)
    return task


def test_queue_depth_and_the_oldest_ready_task_are_reported(client, db, settings):
    settings.PACKSHOT_HEALTH_QUEUE_MAX_AGE_S = 600
    _ready_task(timedelta(seconds=30))
    _ready_task(timedelta(seconds=90))
    _ready_task(timedelta(hours=2), run_after=timezone.now() + timedelta(minutes=5))  # not ready yet

    response = client.get("/healthz")

    queue = response.json()["checks"]["queue"]
    assert response.status_code == 200
    assert queue["ready"] == 2 and 90 <= queue["oldest_ready_s"] < 100


def test_a_task_waiting_longer_than_allowed_makes_the_app_unhealthy(client, db, settings):
    settings.PACKSHOT_HEALTH_QUEUE_MAX_AGE_S = 600
    _ready_task(timedelta(minutes=20))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["queue"] == {
        "ok": False,
        "ready": 1,
        "oldest_ready_s": 1200,
        "workers": 0,
    }


def test_a_delayed_task_counts_from_its_run_after_not_from_when_it_was_enqueued(client, db, settings):
    settings.PACKSHOT_HEALTH_QUEUE_MAX_AGE_S = 600
    _ready_task(timedelta(hours=3), run_after=timezone.now() - timedelta(seconds=40))

    queue = client.get("/healthz").json()["checks"]["queue"]

    assert queue["ok"] and 40 <= queue["oldest_ready_s"] < 50


def test_piktid_is_checked_only_when_configured_and_its_answer_is_cached(client, db, settings, monkeypatch):
    calls = []

    def unreachable(url, **kwargs):
        calls.append((url, kwargs["timeout"]))
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(httpx, "get", unreachable)
    assert "piktid" not in client.get("/healthz").json()["checks"]
    assert calls == []

    settings.PIKTID_TOKEN = "token-from-env"
    first = client.get("/healthz")
    second = client.get("/healthz")

    assert first.status_code == 200  # PiktID's outage is reported, not ours
    assert first.json()["checks"]["piktid"] == second.json()["checks"]["piktid"] == "unreachable"
    assert calls == [(settings.PIKTID_BASE_URL, health.PIKTID_TIMEOUT_S)]  # once in 30 s


def test_piktid_reachable_when_its_server_answers(client, db, settings, fake_piktid):
    settings.PIKTID_TOKEN = "token-from-env"
    settings.PIKTID_BASE_URL = fake_piktid.base_url

    assert client.get("/healthz").json()["checks"]["piktid"] == "ok"


def test_healthz_is_get_only_and_keeps_csrf_protection(client, db):
    assert client.post("/healthz").status_code == 405
    assert not getattr(resolve(reverse("healthz")).func, "csrf_exempt", False)


def test_workers_with_a_recent_heartbeat_are_counted(client, db, settings):
    settings.PACKSHOT_WORKER_DEAD_AFTER_S = 30
    WorkerHeartbeat.objects.create(worker_id="alive", last_seen=timezone.now() - timedelta(seconds=5))
    WorkerHeartbeat.objects.create(worker_id="dead", last_seen=timezone.now() - timedelta(minutes=5))

    assert client.get("/healthz").json()["checks"]["queue"]["workers"] == 1


def test_the_health_probe_is_answered_over_plain_http_even_with_https_redirects(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301
