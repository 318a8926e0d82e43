"""PiktID's webhook: the only view without CSRF protection, because the signature is its authentication.

Two doors to one answer (`webhook_answer`): the Django view (runserver, the test client, any WSGI server)
and `piktid_webhook_asgi`, the lean path the production ASGI application (config/server.py) sends verified-
looking deliveries through. A webhook needs no session, user, team, CSRF token, messages or templates, and
PiktID may send hundreds a second: the lean path skips the middleware and the per-request thread and runs
the service in a few long-lived threads that keep their database connection. Anything it does not expect
(another method, a host outside ALLOWED_HOSTS, a plain-HTTP request that must be redirected) goes to Django.
"""

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from packshots import services
from packshots.engines.piktid.errors import SignatureError

WEBHOOK_MAX_BYTES = 2**20  # a notification is a few hundred bytes
LEAN_THREADS = 6

logger = logging.getLogger("django.request")


def webhook_answer(*, key: str, body: bytes, signature: str | None) -> tuple[int, str]:
    """Verified before anything else, recorded once, answered at once (the work is left to tasks)."""
    try:
        services.piktid_webhook_receive(key=key, body=body, signature=signature)
    except services.WebhookNotFoundError:
        return 404, "Unknown webhook\n"
    except SignatureError:
        return 401, "Bad signature\n"
    except ValueError:
        return 400, "Malformed event\n"
    return 204, ""


@csrf_exempt
@require_POST
def piktid_webhook(request: HttpRequest, key: str) -> HttpResponse:
    if len(request.body) > WEBHOOK_MAX_BYTES:
        return HttpResponse("Request body too large.\n", status=413, content_type="text/plain")
    status, text = webhook_answer(
        key=key, body=request.body, signature=request.headers.get("X-Webhook-Signature")
    )
    return HttpResponse(text, status=status, content_type="text/plain")


# ---------------------------------------------------------------- the lean ASGI path

_executor = ThreadPoolExecutor(max_workers=LEAN_THREADS, thread_name_prefix="webhook")


def lean_path_applies(scope: dict) -> bool:
    """Whether `scope` (an http POST to a webhook URL) may skip Django's request handling."""
    if scope["method"] != "POST":
        return False
    headers = dict(scope["headers"])
    host, _ = split_domain_port(headers.get(b"host", b"").decode("latin-1"))
    allowed = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not host or not validate_host(host, allowed):
        return False  # Django answers 400 and logs it, as for any other URL
    # Plain HTTP where HTTPS is required: Django redirects it.
    return not (settings.SECURE_SSL_REDIRECT and not _is_secure(scope, headers))


def _is_secure(scope: dict, headers: dict[bytes, bytes]) -> bool:
    if scope.get("scheme") == "https":
        return True
    if settings.SECURE_PROXY_SSL_HEADER:
        name, value = settings.SECURE_PROXY_SSL_HEADER
        header = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
        return headers.get(header, b"").decode("latin-1").split(",")[0].strip() == value
    return False


async def piktid_webhook_asgi(scope: dict, receive, send, *, key: str) -> None:
    """One delivery without the middleware stack: body read (capped), answered by `webhook_answer`."""
    headers = dict(scope["headers"])
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > WEBHOOK_MAX_BYTES:
        return await _respond(send, 413, "Request body too large.\n")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # the sender went away: nothing recorded, PiktID retries
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > WEBHOOK_MAX_BYTES:
            return await _respond(send, 413, "Request body too large.\n")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    signature = headers.get(b"x-webhook-signature")
    signature = signature.decode("latin-1") if signature is not None else None
    loop = asyncio.get_running_loop()
    status, text = await loop.run_in_executor(_executor, _answer_in_thread, key, b"".join(chunks), signature)
    await _respond(send, status, text)


def _answer_in_thread(key: str, body: bytes, signature: str | None) -> tuple[int, str]:
    """`webhook_answer` in a long-lived thread: its connection is kept, unless an error left it unusable."""
    try:
        return webhook_answer(key=key, body=body, signature=signature)
    except Exception:
        logger.exception("Webhook delivery failed")
        return 500, "Server error\n"
    finally:
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None and connection.errors_occurred:
                if connection.is_usable():
                    connection.errors_occurred = False
                else:
                    connection.close()


def close_connections() -> None:
    """Close the database connections the lean path's threads keep (server shutdown, tests).

    A barrier holds each of the pool's threads in turn, so every one of them runs the close once.
    """
    barrier = threading.Barrier(LEAN_THREADS, timeout=30)

    def close() -> None:
        connections.close_all()
        barrier.wait()

    for future in [_executor.submit(close) for _ in range(LEAN_THREADS)]:
        try:
            future.result()
        except threading.BrokenBarrierError:  # a thread busy for 30 s: its connection closes with the process
            logger.warning("A webhook thread was busy at shutdown; its database connection was left open")


async def _respond(send, status: int, text: str) -> None:
    body = text.encode() if status != 204 else b""
    headers = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]
    if status != 204:
        headers += [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
