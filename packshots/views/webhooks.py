"""PiktID's webhook: the only view without CSRF protection, because the signature is its authentication."""

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from packshots import services
from packshots.engines.piktid.errors import SignatureError


@csrf_exempt
@require_POST
def piktid_webhook(request: HttpRequest, key: str) -> HttpResponse:
    """Verified before anything else, recorded once, answered at once (the work is left to tasks)."""
    try:
        services.piktid_webhook_receive(
            key=key, body=request.body, signature=request.headers.get("X-Webhook-Signature")
        )
    except services.WebhookNotFoundError:
        raise Http404("Unknown webhook") from None
    except SignatureError:
        return HttpResponse("Bad signature\n", status=401, content_type="text/plain")
    except ValueError:
        return HttpResponse("Malformed event\n", status=400, content_type="text/plain")
    return HttpResponse(status=204)
