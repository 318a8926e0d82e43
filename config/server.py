"""The application the production web server runs: Django over ASGI, behind a request-body cap.

Under ASGI, Django reads a whole request body (into a temporary file) before any view or upload handler sees
it, so the cap must act here: a declared Content-Length over the cap is answered 413 before a byte of the body
is read, and a chunked body is cut off (413) the moment it passes the cap. The cap is the upload limit
(`packshots.uploads.request_cap`: PACKSHOT_MAX_UPLOAD_MB × 10 photos + 1 MB).
"""

import os
import re

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from batches.services import zip_cap  # noqa: E402
from packshots.uploads import request_cap  # noqa: E402 (needs the settings loaded above)
from packshots.views import webhooks  # noqa: E402

# PiktID's deliveries skip Django's request handling (packshots.views.webhooks explains why and when).
WEBHOOK_PATH = re.compile(r"/webhooks/piktid/([^/]{1,200})/")

TOO_LARGE = b"Request body too large."


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        return await _lifespan(receive, send)
    if scope["type"] != "http":
        return await django_application(scope, receive, send)
    webhook = WEBHOOK_PATH.fullmatch(scope["path"])
    if webhook and webhooks.lean_path_applies(scope):
        return await webhooks.piktid_webhook_asgi(scope, receive, send, key=webhook[1])
    # A batch ZIP has its own, larger cap (batches.services.zip_cap, checked again by its upload handler).
    cap = zip_cap() + 2**20 if scope.get("path") == "/batches/new/zip/" else request_cap()
    declared = dict(scope["headers"]).get(b"content-length", b"")
    if declared.isdigit() and (len(declared) > 15 or int(declared) > cap):  # no int() of 5 000 digits
        return await _refuse(send)
    received = 0
    started = False

    async def limited_receive():
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                # Django sees a client that went away and drops the request; we answer 413 below.
                return {"type": "http.disconnect"}
        return message

    async def tracking_send(message):
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    await django_application(scope, limited_receive, tracking_send)
    if received > cap and not started:
        await _refuse(send)


async def _refuse(send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE})


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            webhooks.close_connections()
            await send({"type": "lifespan.shutdown.complete"})
            return
