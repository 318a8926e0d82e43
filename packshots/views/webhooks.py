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
from http import HTTPStatus

from django.conf import settings
from django.db import IntegrityError, OperationalError, close_old_connections, connections
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from packshots import services
from packshots.engines.piktid.errors import SignatureError

WEBHOOK_MAX_BYTES = 64 * 2**10  # a notification is a few hundred bytes
LEAN_THREADS = 6
# Deliveries a web process holds at once on the lean path; beyond it answers 503 at once instead of queueing
# without end (PiktID delivers again; the SSE listener and the poller catch up on anything missed).
LEAN_MAX_PENDING = 256

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
    except (OperationalError, IntegrityError):
        # The database is unreachable, or the job went away between look-up and commit: nothing was
        # recorded, and the same delivery succeeds later.
        logger.exception("Webhook delivery not recorded; asked to deliver again")
        return 503, "Try again later\n"
    return 204, ""


@csrf_exempt
@require_POST
def piktid_webhook(request: HttpRequest, key: str) -> HttpResponse:
    if len(request.body) > WEBHOOK_MAX_BYTES:
        return HttpResponse("Request body too large.\n", status=413, content_type="text/plain")
    status, text = webhook_answer(
        key=key, body=request.body, signature=request.headers.get("X-Webhook-Signature")
    )
    response = HttpResponse(text, status=status, content_type="text/plain")
    if status == 503:
        response["Retry-After"] = "5"
    return response


# ---------------------------------------------------------------- the lean ASGI path

_executor = ThreadPoolExecutor(max_workers=LEAN_THREADS, thread_name_prefix="webhook")
_pending = 0  # deliveries handed to the threads and not answered yet; only the event loop's thread touches it


def lean_path_applies(scope: dict) -> bool:
    """Whether `scope` (an http POST to a webhook URL) may skip Django's request handling."""
    if scope["method"] != "POST":
        return False
    hosts = _header_values(scope, b"host")
    if len(hosts) != 1:
        return False  # none or several: Django answers (400), as for any other URL
    host, _ = split_domain_port(hosts[0].decode("latin-1"))
    allowed = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not host or not validate_host(host, allowed):
        return False  # Django answers 400 and logs it, as for any other URL
    if not settings.SECURE_SSL_REDIRECT or scope.get("scheme") == "https":
        return True
    # Plain HTTP where HTTPS is required: Django redirects it. So it decides whenever the proxy's header is
    # missing, repeated or says anything but HTTPS.
    if not settings.SECURE_PROXY_SSL_HEADER:
        return False
    name, value = settings.SECURE_PROXY_SSL_HEADER
    header = name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
    said = _header_values(scope, header)
    return len(said) == 1 and said[0].decode("latin-1").split(",")[0].strip() == value


def _header_values(scope: dict, name: bytes) -> list[bytes]:
    return [value for header, value in scope["headers"] if header.lower() == name]


async def piktid_webhook_asgi(scope: dict, receive, send, *, key: str) -> None:
    """One delivery without the middleware stack: body read (capped), answered by `webhook_answer`."""
    global _pending
    path = scope["path"]
    if not services.WEBHOOK_KEY.fullmatch(key):
        return await _respond(send, path, 404, "Unknown webhook\n")  # the body is never read
    declared = _header_values(scope, b"content-length")
    if declared and declared[0].isdigit() and (len(declared[0]) > 12 or int(declared[0]) > WEBHOOK_MAX_BYTES):
        return await _respond(send, path, 413, "Request body too large.\n")
    body = await _read_body(receive)
    if body is None:
        return  # the sender went away: nothing recorded, PiktID delivers again
    if len(body) > WEBHOOK_MAX_BYTES:
        return await _respond(send, path, 413, "Request body too large.\n")
    # Counted once the body is in: a slow sender holds a socket, never a place in the threads' queue.
    if _pending >= LEAN_MAX_PENDING:
        return await _respond(send, path, 503, "Try again later\n")
    signature = _header_values(scope, b"x-webhook-signature")
    signature = signature[0].decode("latin-1") if len(signature) == 1 else None
    _pending += 1
    try:
        loop = asyncio.get_running_loop()
        status, text = await loop.run_in_executor(_executor, _answer_in_thread, key, body, signature)
    finally:
        _pending -= 1
    await _respond(send, path, status, text)


async def _read_body(receive) -> bytes | None:
    """The request body, cut off just past WEBHOOK_MAX_BYTES; None when the client disconnected."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if size > WEBHOOK_MAX_BYTES or not message.get("more_body", False):
            return b"".join(chunks)


def _answer_in_thread(key: str, body: bytes, signature: str | None) -> tuple[int, str]:
    """`webhook_answer` in a long-lived thread, its database connection handled as Django handles a request's.

    Before and after each delivery, as on request_started / request_finished: a connection past its
    CONN_MAX_AGE, or unusable after an error, is closed (with a pool: returned to it), and the next query
    checks health first (CONN_HEALTH_CHECKS).
    """
    close_old_connections()
    try:
        return webhook_answer(key=key, body=body, signature=signature)
    except Exception:
        logger.exception("Webhook delivery failed")
        return 500, "Server error\n"
    finally:
        close_old_connections()


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


async def _respond(send, path: str, status: int, text: str) -> None:
    if status >= 400:  # logged as Django logs a view's 4xx and 5xx answers
        level = logging.ERROR if status >= 500 else logging.WARNING
        logger.log(level, "%s: %s", HTTPStatus(status).phrase, path, extra={"status_code": status})
    body = text.encode() if status != 204 else b""
    headers = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]
    if status == 503:
        headers.append((b"retry-after", b"5"))
    if status != 204:
        headers += [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
