"""What /healthz reports: the database, storage, the task queue and (when configured) PiktID.

Only yes/no and counts leave this module: failures are logged here, never described to the caller, so the
unauthenticated endpoint reveals no host, bucket or error text. The storage round trip and the PiktID look-up
are cached (PACKSHOT_HEALTH_STORAGE_CACHE_S, 30 s) so frequent probes stay cheap and cannot be used to make
us write to storage or call PiktID at will.
"""

import logging
import uuid
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Case, F, When
from django.db.models.functions import Greatest
from django.utils import timezone

log = logging.getLogger(__name__)

PROBE = b"packshot health probe"
PIKTID_CACHE_S = 30
PIKTID_TIMEOUT_S = 2.0


def health_report() -> dict:
    """{"status": "ok" | "error", "checks": {...}}; PiktID is reported but does not make us unhealthy."""
    checks = {
        "database": _guarded("database", _database),
        "storage": _cached("storage", settings.PACKSHOT_HEALTH_STORAGE_CACHE_S, _storage),
        "queue": _queue(),
    }
    if _piktid_configured():
        # An outage at PiktID is not ours: taking the web process out of rotation would not help anyone.
        checks["piktid"] = "ok" if _cached("piktid", PIKTID_CACHE_S, _piktid) else "unreachable"
    healthy = checks["database"] and checks["storage"] and checks["queue"]["ok"]
    checks["database"] = "ok" if checks["database"] else "error"
    checks["storage"] = "ok" if checks["storage"] else "error"
    return {"status": "ok" if healthy else "error", "checks": checks}


def _guarded(name: str, check) -> bool:
    try:
        return bool(check())
    except Exception:
        log.exception("Health check %s failed", name, extra={"check": name})
        return False


def _cached(name: str, seconds: int, check) -> bool:
    key = f"healthz:{name}"
    value = cache.get(key)
    if value is None:
        value = _guarded(name, check)
        cache.set(key, value, seconds)
    return value


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0] == 1


def _storage() -> bool:
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(PROBE))
    try:
        with default_storage.open(name, "rb") as stored:
            return stored.read() == PROBE
    finally:
        default_storage.delete(name)


def _queue() -> dict:
    """Tasks ready to run now and how long the oldest has waited (since enqueued, or since its run_after)."""
    try:
        from django_tasks_db.models import DBTaskResult, get_date_max

        ready = DBTaskResult.objects.ready().annotate(
            waiting_since=Case(
                When(run_after=get_date_max(), then=F("enqueued_at")),
                default=Greatest("enqueued_at", "run_after"),
            )
        )
        count = ready.count()
        oldest = ready.order_by("waiting_since").values_list("waiting_since", flat=True).first()
    except Exception:
        log.exception("Health check queue failed", extra={"check": "queue"})
        return {"ok": False}
    age = max(0, int((timezone.now() - oldest) / timedelta(seconds=1))) if oldest else 0
    return {
        "ok": age <= settings.PACKSHOT_HEALTH_QUEUE_MAX_AGE_S,
        "ready": count,
        "oldest_ready_s": age,
        "workers": _workers_alive(),
    }


def _workers_alive() -> int:
    """Task workers (`manage.py worker`) whose heartbeat is recent; informational: the queue's age decides."""
    from packshots.models import WorkerHeartbeat

    since = timezone.now() - timedelta(seconds=settings.PACKSHOT_WORKER_DEAD_AFTER_S)
    return WorkerHeartbeat.objects.filter(last_seen__gte=since).count()


def _piktid_configured() -> bool:
    from accounts.models import PiktidConnection

    return bool(settings.PIKTID_TOKEN) or _guarded("piktid-configured", PiktidConnection.objects.exists)


def _piktid() -> bool:
    # Any HTTP answer means PiktID's server is reachable; only a timeout or a refused connection does not.
    httpx.get(settings.PIKTID_BASE_URL, timeout=PIKTID_TIMEOUT_S, follow_redirects=False)
    return True
