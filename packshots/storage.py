"""How stored files reach a browser: the one place that knows whether storage is S3 or local files.

Views check the team first and then call `file_response`. On S3 the answer is a redirect to a signed URL
valid for `PACKSHOT_SIGNED_URL_SECONDS` (the bytes never pass through the web process; the URL carries the
content type and disposition, since S3 serves whatever the signature says). On local files the bytes are
streamed by the web process. Under ASGI every stream is handed out chunk by chunk from the request's thread,
because Django would otherwise read a synchronous iterator whole into memory before sending it.
"""

from collections.abc import AsyncIterator, Iterator
from functools import cache, partial

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

_CHUNK = 1 << 16


def is_s3(storage) -> bool:
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # django-storages without boto3: no S3 possible
        return False
    return isinstance(storage, S3Storage)


def signed_url(field: FieldFile, *, filename: str, content_type: str, inline: bool) -> str:
    """A short-lived GET URL for a private S3 object, answering with our content type and file name."""
    parameters = {
        "ResponseContentType": content_type,
        "ResponseContentDisposition": content_disposition_header(not inline, filename),
        # The URL expires soon: nobody may keep the bytes longer than that on the user's behalf.
        "ResponseCacheControl": "private, max-age=60",
    }
    storage, expire = field.storage, settings.PACKSHOT_SIGNED_URL_SECONDS
    if not settings.AWS_S3_PUBLIC_ENDPOINT_URL:
        return storage.url(field.name, parameters=parameters, expire=expire)
    from storages.utils import clean_name

    # The bucket key, the storage's location prefix included (as storage.url would make it).
    key = storage._normalize_name(clean_name(field.name))
    return _public_client(storage, settings.AWS_S3_PUBLIC_ENDPOINT_URL).generate_presigned_url(
        "get_object", Params={"Bucket": storage.bucket_name, "Key": key, **parameters}, ExpiresIn=expire
    )


@cache
def _public_client(storage, endpoint_url: str):
    """An S3 client signing for the address browsers use (AWS_S3_PUBLIC_ENDPOINT_URL), not the internal one.

    A signature covers the host, so a URL signed for `http://minio:9000` cannot be rewritten for the browser.
    """
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=storage.access_key or None,
        aws_secret_access_key=storage.secret_key or None,
        region_name=storage.region_name,
        config=Config(signature_version="s3v4", s3={"addressing_style": storage.addressing_style or "path"}),
    )


def file_response(
    request: HttpRequest, field: FieldFile, *, filename: str, content_type: str, inline: bool
) -> HttpResponse:
    """A stored file for a user already checked: a redirect to a signed URL on S3, else the bytes.

    The content type always comes from what we decoded or rendered, never from a user's file name.
    """
    if not field.name:
        raise Http404("No file yet.")
    if is_s3(field.storage):
        response = HttpResponse(status=302)
        response["Location"] = signed_url(field, filename=filename, content_type=content_type, inline=inline)
        # The redirect names a URL that soon expires: never cache it.
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)
    if isinstance(request, ASGIRequest):
        response.streaming_content = _async_chunks(iter(partial(handle.read, _CHUNK), b""))
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def streaming_response(request: HttpRequest, chunks: Iterator[bytes], *, content_type: str) -> HttpResponse:
    """A response streaming `chunks` (e.g. a ZIP) in constant memory under WSGI and ASGI alike."""
    if isinstance(request, ASGIRequest):
        return StreamingHttpResponse(_async_chunks(chunks), content_type=content_type)
    return StreamingHttpResponse(chunks, content_type=content_type)


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # thread_sensitive: each chunk is made in the request's own thread (Django's ThreadSensitiveContext spans
    # the whole response), so a generator that queries the database keeps using the request's connection.
    # The server awaits the client between chunks: a slow reader holds a socket, not a thread.
    step = sync_to_async(next, thread_sensitive=True)
    try:
        while (chunk := await step(chunks, None)) is not None:
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()
