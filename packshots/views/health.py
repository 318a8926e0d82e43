"""/healthz: for load balancers and monitors, without login; yes/no and counts only."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from packshots.services.health import health_report


@require_GET  # GET (and HEAD) only, so no CSRF exemption is needed
@never_cache
def healthz(request) -> JsonResponse:
    """200 when the database, storage and task queue are fine, else 503; the JSON says which check failed."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
