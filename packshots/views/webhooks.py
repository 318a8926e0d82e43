"""PiktID's webhook: the only view without CSRF protection, because the signature is its authentication."""

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from packshots import services
from packshots.engines.piktid.errors import SignatureError
from packshots.engines.piktid.webhooks import parse_event, verify


@csrf_exempt
@require_POST
def piktid_webhook(request: HttpRequest, key: str) -> HttpResponse:
    """Verify the raw body's signature before anything else, record the event once, answer at once."""
    found = services.connection_for_webhook_key(key)
    if found is None:
        raise Http404("Unknown webhook")
    team, secrets = found
    try:
        verify(request.body, request.headers.get("X-Webhook-Signature"), secrets)
    except SignatureError:
        services.piktid_delivery_record(team=team, status="401 bad signature")
        return HttpResponse("Bad signature\n", status=401, content_type="text/plain")
    try:
        notification = parse_event(request.body)
    except ValueError:
        services.piktid_delivery_record(team=team, status="400 malformed body")
        return HttpResponse("Malformed event\n", status=400, content_type="text/plain")
    services.piktid_webhook_receive(team=team, notification=notification)
    return HttpResponse(status=204)
