"""PiktID v2 HTTP client (httpx, httpx-sse, stamina; no Django).

Contract: ../shared/docs/piktid-api.md and PiktID's guide page beside it. One method per endpoint, small
dataclasses out, one `_raise_for_status()` turning statuses into the errors of `errors.py`.

Retries: idempotent calls (GETs, PUT/DELETE /webhooks, DELETE /notifications, POST /upload, POST /project
whose repeat is a 409 we resolve, POST /notifications which only reads) retry 5xx and connection errors with
stamina (bounded attempts, exponential backoff with jitter). POST /create-packshot and regenerate are never
retried: both charge credits, so the caller reconciles first. 429 is raised at once; the caller reschedules.

The token lives only in the Authorization header of the API client: messages, reprs and log lines are built
from the method, the path (no query string) and the response body.
"""

import email.utils
import functools
import ipaddress
import json
import logging
import math
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import httpx
import stamina
from httpx_sse import SSEError, connect_sse

from packshots.engines.piktid.errors import (
    PiktidAuthError,
    PiktidBadRequestError,
    PiktidConflictError,
    PiktidConnectionError,
    PiktidError,
    PiktidForbiddenError,
    PiktidInsufficientCreditsError,
    PiktidNotFoundError,
    PiktidRateLimitError,
    PiktidServerError,
    UnsafeUrlError,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://v2.api.piktid.com"
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=60.0, pool=5.0)
# The stream sends a keepalive comment about every 15 s; a read timeout well above it detects a dead link.
STREAM_TIMEOUT = httpx.Timeout(connect=5.0, read=45.0, write=60.0, pool=5.0)
TERMINAL_JOB_STATUSES = frozenset({"completed", "failed", "aborted"})
DEFAULT_NOTIFICATION_NAMES = ("batch_edit", "image_result")
RETRY_AFTER_MIN_S = 1.0
RETRY_AFTER_MAX_S = 300.0
MAX_REDIRECTS = 3
_CHUNK = 64 * 1024
# Errors raised before any byte left this process: the server cannot have the request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class Account:
    credits: float
    email: str
    username: str
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class Project:
    id: str  # the string id/key sent as project_id
    name: str


@dataclass(frozen=True)
class UploadSlot:
    upload_url: str = field(repr=False)  # a pre-signed URL is a credential for its file
    file_id: str
    content_type: str
    filename: str


@dataclass(frozen=True)
class ImageRef:
    file_id: str
    note: str = ""


@dataclass(frozen=True)
class CreatedJob:
    job_id: str
    status: str
    total_outputs: int
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    status: str
    progress: float | None
    total_images: int
    processed_images: int
    error_message: str
    raw: dict = field(repr=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_JOB_STATUSES


@dataclass(frozen=True)
class ResultItem:
    group_index: int  # instruction index
    image_index: int  # variation index
    version: int
    status: str
    full_size_url: str | None
    thumbnail_url: str | None
    model_used: str
    quality_score: float | None
    error_message: str
    output_format: str
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class JobResults:
    job_id: str
    status: str
    error_message: str
    credits_used: float | None
    results: list[ResultItem]
    raw: dict = field(repr=False)  # the /results JSON, as metadata.json holds it


@dataclass(frozen=True)
class GalleryJob:
    job_id: str
    created_at: str
    total_images: int
    job_type: str
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str | None = field(repr=False)
    is_active: bool
    last_response_status: int | None
    last_response_at: str | None
    raw: dict = field(repr=False)


@dataclass(frozen=True)
class Notification:
    id: int
    name: str
    data: dict
    timestamp: float | None


@dataclass(frozen=True)
class StreamEvent:
    kind: str  # backfill | backfill_complete | live
    notification: Notification | None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.1 s; one context serves every client of the process.
    return httpx.create_ssl_context()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), clamped to 1–300 s;
    None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP-date is GMT by definition
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, RETRY_AFTER_MIN_S), RETRY_AFTER_MAX_S)


def _body_of(response: httpx.Response) -> dict | str | None:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return text[:500] or None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def json_loads_storable(text: bytes | str) -> Any:
    """`json.loads`, refusing (ValueError) what a JSON column cannot store: NaN or infinite numbers, NUL
    characters, lone UTF-16 surrogates (`\\ud800`), nesting too deep to parse. Notifications are stored as
    they came (EngineEvent.payload)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and _UNSTORABLE_TEXT.search(item):
            raise ValueError("JSON holds a NUL character or a lone surrogate")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("JSON holds a number out of range")
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON holds {name}")


def _raise_for_status(response: httpx.Response) -> None:
    """Raise the error class for a non-2xx answer, carrying PiktID's `error`, `detail[]` and 402 numbers."""
    status = response.status_code
    if 200 <= status < 300:
        return
    body = _body_of(response)
    data = body if isinstance(body, dict) else {}
    detail = data.get("detail")
    plain_detail = detail if isinstance(detail, str) else ""  # FastAPI's own {"detail": "Not Found"}
    text = body if isinstance(body, str) else ""
    error = str(data.get("error") or data.get("message") or plain_detail or text)
    error = error or response.reason_phrase or "no details"
    details = [d for d in detail if isinstance(d, dict)] if isinstance(detail, list) else []
    detail_text = "; ".join(
        f"{d.get('field')}: {d.get('message')}" if d.get("field") else str(d.get("message")) for d in details
    )
    # The path only: a query string may carry ?token= on some endpoints.
    where = f"{response.request.method} {response.request.url.path}"
    message = f"PiktID {status} on {where}: {error}" + (f" ({detail_text})" if detail_text else "")
    common = {"status": status, "body": body}
    if status == 400:
        raise PiktidBadRequestError(message, details=details, **common)
    if status == 401:
        raise PiktidAuthError(f"PiktID token invalid or expired ({status} on {where}): {error}", **common)
    if status == 402:
        required = _number(data.get("required_credits"))
        in_progress = _number(data.get("in_progress_credits"))
        available = _number(data.get("user_credits"))
        numbers = ", ".join(
            f"{label} {value:g}"
            for label, value in (
                ("required", required),
                ("in progress", in_progress),
                ("available", available),
            )
            if value is not None
        )
        raise PiktidInsufficientCreditsError(
            message + (f" ({numbers})" if numbers else ""),
            required_credits=required,
            in_progress_credits=in_progress,
            user_credits=available,
            **common,
        )
    if status == 403:
        raise PiktidForbiddenError(message, **common)
    if status == 404:
        raise PiktidNotFoundError(message, **common)
    if status == 409:
        raise PiktidConflictError(message, **common)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        raise PiktidRateLimitError(message, retry_after=retry_after, **common)
    if status >= 500:
        raise PiktidServerError(message, retry_after=retry_after, **common)
    # Any other status (3xx where none is expected, 405, 422, …) is a contract surprise: not retryable.
    raise PiktidError(message, **common)


def _connection_error(exc: httpx.HTTPError, where: str) -> PiktidConnectionError:
    # The httpx message names the failure (timeout, reset, DNS); it carries no headers, hence no token.
    return PiktidConnectionError(
        f"PiktID unreachable on {where}: {type(exc).__name__}: {exc}".rstrip(": "),
        maybe_sent=not isinstance(exc, _NOT_SENT),
    )


def _is_retryable(exc: Exception) -> bool | float:
    """stamina hook: retry 5xx and connection errors, honouring a short Retry-After on 5xx."""
    if isinstance(exc, PiktidServerError) and exc.retry_after is not None:
        return min(exc.retry_after, 10.0)
    return isinstance(exc, PiktidError) and exc.retryable


def _check_peer(response: httpx.Response, host: str) -> None:
    """The address actually connected to must be public too: a name may resolve differently the second
    time (DNS rebinding), after the check of its addresses passed. Nothing of the body is read otherwise."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer and not _is_public_address(str(peer[0])):
        raise UnsafeUrlError(f"refused result URL on {host}: connected to non-public {peer[0]}")


def _is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _result_item(item: dict) -> ResultItem:
    output = item.get("output") if isinstance(item.get("output"), dict) else {}
    return ResultItem(
        group_index=_int(item.get("group_index")),
        image_index=_int(item.get("image_index")),
        version=_int(item.get("version")),
        status=str(item.get("status") or ""),
        full_size_url=output.get("full_size") or None,
        thumbnail_url=output.get("thumbnail") or None,
        model_used=str(item.get("model_used") or ""),
        quality_score=_number(item.get("quality_score")),
        error_message=str(item.get("error_message") or ""),
        output_format=str(item.get("output_format") or "jpg"),
        raw=item,
    )


def _notification(payload: Any) -> Notification | None:
    if not isinstance(payload, dict) or isinstance(payload.get("id"), bool):
        return None
    event_id = payload.get("id")
    if not isinstance(event_id, int) or not isinstance(payload.get("name"), str):
        return None
    data = payload.get("data")
    return Notification(
        id=event_id,
        name=payload["name"],
        data=data if isinstance(data, dict) else {},
        timestamp=_number(payload.get("timestamp")),
    )


def _webhook(body: dict) -> Webhook:
    status = body.get("last_response_status")
    return Webhook(
        url=str(body.get("url") or ""),
        secret=body.get("secret") or None,
        is_active=bool(body.get("is_active", True)),
        last_response_status=_int(status) if status is not None else None,
        last_response_at=body.get("last_response_at"),
        raw=body,
    )


class PiktidClient:
    """One PiktID account (token) at one base URL; reuse it, close it (or use it as a context manager)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 3,
        stream_timeout: httpx.Timeout | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = max(1, attempts)
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._stream_timeout = stream_timeout or STREAM_TIMEOUT
        base = urlsplit(self.base_url)
        self._base_scheme, self._base_host, self._base_port = base.scheme, base.hostname or "", base.port
        self._api = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=self._timeout,
            transport=transport,
            follow_redirects=False,
            verify=_tls_context(),
        )
        # Pre-signed PUTs and result downloads go to other hosts and must not carry the token.
        self._bare = httpx.Client(
            timeout=self._timeout, transport=transport, follow_redirects=False, verify=_tls_context()
        )

    def __repr__(self) -> str:
        return f"PiktidClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._api.close()
        self._bare.close()

    def __enter__(self) -> "PiktidClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- plumbing

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        where = f"{method} {path.split('?', 1)[0]}"
        try:
            response = self._api.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _connection_error(exc, where) from exc
        logger.debug("PiktID %s -> %s", where, response.status_code)
        return response

    def _call(
        self, method: str, path: str, *, retry: bool, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """Send once, or with bounded retries of 5xx/connection errors; `ok` statuses pass."""

        def once() -> httpx.Response:
            response = self._send(method, path, **kwargs)
            if response.status_code not in ok:
                _raise_for_status(response)
            return response

        if not retry:
            return once()
        for attempt in stamina.retry_context(
            on=_is_retryable, attempts=self.attempts, timeout=None, wait_initial=0.5, wait_max=5.0
        ):
            with attempt:
                return once()
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _json(self, response: httpx.Response) -> dict:
        body = _body_of(response)
        if not isinstance(body, dict):
            where = f"{response.request.method} {response.request.url.path}"
            raise PiktidError(
                f"PiktID answered {response.status_code} on {where} without a JSON object",
                status=response.status_code,
                body=body,
            )
        return body

    # ---- account

    def me(self) -> Account:
        """GET /auth/me: the account behind the token and its credit balance."""
        body = self._json(self._call("GET", "/auth/me", retry=True))
        return Account(
            credits=_number(body.get("credits")) or 0.0,
            email=str(body.get("email") or ""),
            username=str(body.get("username") or ""),
            raw=body,
        )

    # ---- projects and uploads

    def project_create(self, name: str) -> Project:
        """POST /project; a 409 (name taken) reuses the id from its body, else pages GET /project by name.

        Retried on 5xx/timeouts: a repeat that finds the project made answers 409, resolved the same way.
        """
        response = self._call("POST", "/project", retry=True, ok=(409,), json={"project_name": name})
        body = _body_of(response)
        data = body if isinstance(body, dict) else {}
        if response.status_code != 409:
            if not data.get("project_id"):
                raise PiktidError(
                    "PiktID created a project without a project_id", status=response.status_code
                )
            return Project(id=str(data["project_id"]), name=str(data.get("project_name") or name))
        if data.get("project_id"):
            return Project(id=str(data["project_id"]), name=name)
        found = self._project_find(name)
        if found is None:
            raise PiktidConflictError(
                f"PiktID says project {name!r} exists but it is not in GET /project", status=409, body=body
            )
        return found

    def _project_find(self, name: str) -> Project | None:
        page = 1
        while page <= 1000:  # a hard stop against a server that always says has_next
            body = self._json(
                self._call("GET", "/project", retry=True, params={"page": page, "per_page": 100})
            )
            projects = body.get("projects") or []
            for item in projects:
                if isinstance(item, dict) and (item.get("project_text") or item.get("project_name")) == name:
                    key = item.get("project_key") or item.get("project_id")
                    if key:
                        return Project(id=str(key), name=name)
            pagination = body.get("pagination") or {}
            if not projects or not pagination.get("has_next", False):
                return None
            page += 1
        return None

    def upload_url(self, filename: str, *, project_name: str | None = None) -> UploadSlot:
        """POST /upload: a pre-signed PUT URL, valid for a short time only; use it at once."""
        payload: dict[str, Any] = {"filename": filename}
        if project_name:
            payload["project_name"] = project_name
        body = self._json(self._call("POST", "/upload", retry=True, json=payload))
        try:
            upload_url, file_id = str(body["upload_url"]), str(body["file_id"])
        except KeyError as exc:
            raise PiktidError(f"PiktID /upload answer lacks {exc.args[0]}", status=200, body=body) from None
        # The official client upgrades an http:// upload URL when the API itself is https.
        if self._base_scheme == "https" and upload_url.startswith("http://"):
            upload_url = "https://" + upload_url[len("http://") :]
        return UploadSlot(
            upload_url=upload_url,
            file_id=file_id,
            content_type=str(body.get("content_type") or "application/octet-stream"),
            filename=str(body.get("filename") or filename),
        )

    def put_file(self, slot: UploadSlot, file: BinaryIO, size: int) -> None:
        """PUT the bytes to the pre-signed URL, streamed with Content-Length (never chunked), no auth.

        Sent once: a retry needs a new URL and the file from the start (see `upload`).
        """

        def chunks() -> Iterator[bytes]:
            sent = 0
            while chunk := file.read(_CHUNK):
                sent += len(chunk)
                yield chunk
            if sent != size:
                # Content-Length promised `size`; stop rather than send a body the server would misread.
                raise PiktidError(f"upload body was {sent} bytes, expected {size}")

        where = f"PUT {urlsplit(slot.upload_url).path}"
        # An explicit Content-Length makes httpx stream the generator without Transfer-Encoding: chunked,
        # which S3-style pre-signed PUTs reject; the generator keeps memory flat for files without fileno().
        headers = {"Content-Type": slot.content_type, "Content-Length": str(size)}
        try:
            response = self._bare.put(slot.upload_url, content=chunks(), headers=headers)
        except httpx.HTTPError as exc:
            raise _connection_error(exc, where) from exc
        if response.status_code in (200, 201):
            return
        _raise_for_status(response)
        raise PiktidError(f"PiktID answered {response.status_code} on {where}; only 200/201 mean stored")

    def upload(self, filename: str, open_file: Callable[[], BinaryIO], size: int) -> str:
        """upload_url + put_file at once; a failed PUT (expired 403, 5xx, timeout) gets a NEW URL and the
        whole file again. Returns the file_id."""
        for attempt in stamina.retry_context(
            on=(PiktidForbiddenError, PiktidServerError, PiktidConnectionError),
            attempts=self.attempts,
            timeout=None,
            wait_initial=0.5,
            wait_max=5.0,
        ):
            with attempt:
                slot = self.upload_url(filename)
                with open_file() as file:
                    self.put_file(slot, file, size)
                return slot.file_id
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- jobs

    def create_packshot(
        self,
        *,
        project_id: str,
        images: list[ImageRef],
        instructions: list[dict],
        options: dict,
        post_process: bool,
    ) -> CreatedJob:
        """POST /create-packshot (202). Never retried: credits are charged. On PiktidConnectionError with
        maybe_sent, or PiktidServerError, the job may exist: reconcile (`gallery_jobs`) before resending."""
        payload = {
            "project_id": project_id,
            "images": [{"file_id": i.file_id, "note": i.note} if i.note else i.file_id for i in images],
            "instructions": instructions,
            "post_process": post_process,
            "options": options,
        }
        response = self._call("POST", "/create-packshot", retry=False, json=payload)
        body = self._json(response)
        if not body.get("job_id"):
            raise PiktidError(
                "PiktID accepted the job without a job_id", status=response.status_code, body=body
            )
        fallback = sum(max(1, _int(i.get("num_variations"), 1)) for i in instructions)
        return CreatedJob(
            job_id=str(body["job_id"]),
            status=str(body.get("status") or "pending"),
            total_outputs=_int(body.get("total_outputs"), fallback) or fallback,
            raw=body,
        )

    def job_status(self, job_id: str) -> JobStatus:
        """GET /jobs/{id}/status. A 404 just after creation is normal: poll again later."""
        body = self._json(self._call("GET", f"/jobs/{job_id}/status", retry=True))
        return JobStatus(
            job_id=str(body.get("job_id") or job_id),
            status=str(body.get("status") or ""),
            progress=_number(body.get("progress")),
            total_images=_int(body.get("total_images")),
            processed_images=_int(body.get("processed_images")),
            error_message=str(body.get("error_message") or ""),
            raw=body,
        )

    def job_results(self, job_id: str) -> JobResults:
        """GET /jobs/{id}/results: the latest version of every output so far (partial while processing)."""
        body = self._json(self._call("GET", f"/jobs/{job_id}/results", retry=True))
        return JobResults(
            job_id=str(body.get("job_id") or job_id),
            status=str(body.get("status") or ""),
            error_message=str(body.get("error_message") or ""),
            credits_used=_number(body.get("credits_used")),
            results=[_result_item(i) for i in body.get("results") or [] if isinstance(i, dict)],
            raw=body,
        )

    def versions(self, job_id: str, image_index: int) -> list[ResultItem]:
        """GET /jobs/{id}/versions/{image_index}: every version of that variation, across instructions."""
        body = self._json(self._call("GET", f"/jobs/{job_id}/versions/{image_index}", retry=True))
        return [_result_item(i) for i in body.get("versions") or [] if isinstance(i, dict)]

    def regenerate(self, job_id: str, *, group_index: int, image_index: int) -> None:
        """POST /jobs/{id}/regenerate/{image_index}?group_index=: a new version, `pending`. Not retried."""
        response = self._call(
            "POST",
            f"/jobs/{job_id}/regenerate/{image_index}",
            retry=False,
            params={"group_index": group_index},
        )
        body = _body_of(response)
        if isinstance(body, dict) and body.get("success") is False:
            raise PiktidError(
                f"PiktID refused to regenerate: {body.get('message') or 'no reason given'}",
                status=response.status_code,
                body=body,
            )

    def gallery_jobs(self, *, project_id: str, page: int = 1, per_page: int = 20) -> list[GalleryJob]:
        """GET /gallery/by-job for one project, newest first (finds a job whose create answer was lost)."""
        params = {"project_id": project_id, "order": "desc", "page": page, "per_page": per_page}
        body = self._json(self._call("GET", "/gallery/by-job", retry=True, params=params))
        return [
            GalleryJob(
                job_id=str(j.get("job_id") or ""),
                created_at=str(j.get("created_at") or ""),
                total_images=_int(j.get("total_images")),
                job_type=str(j.get("job_type") or ""),
                raw=j,
            )
            for j in body.get("jobs") or []
            if isinstance(j, dict) and j.get("job_id")
        ]

    # ---- webhooks and notifications

    def webhook_put(self, url: str) -> Webhook:
        """PUT /webhooks: create or update; rotates the secret (returned only now) and triggers a `ping`."""
        return _webhook(self._json(self._call("PUT", "/webhooks", retry=True, json={"url": url})))

    def webhook_get(self) -> Webhook | None:
        """GET /webhooks, or None when none is registered."""
        response = self._call("GET", "/webhooks", retry=True, ok=(404,))
        return None if response.status_code == 404 else _webhook(self._json(response))

    def webhook_delete(self) -> None:
        """DELETE /webhooks; none registered (404) counts as done."""
        self._call("DELETE", "/webhooks", retry=True, ok=(404,))

    def notifications(
        self, *, job_ids: list[str] | None = None, names: list[str] | None = None
    ) -> list[Notification]:
        """POST /notifications (a read): notifications of some jobs and names (default: job events)."""
        payload: dict[str, Any] = {"name_list": list(names or DEFAULT_NOTIFICATION_NAMES)}
        if job_ids:
            payload["id_task"] = list(job_ids)
        body = _body_of(self._call("POST", "/notifications", retry=True, json=payload))
        items = body if isinstance(body, list) else []
        return [n for n in map(_notification, items) if n is not None]

    def notification_delete(self, notification_id: int) -> None:
        """DELETE /notifications/{id} so it is not replayed; already gone (404) counts as done."""
        self._call("DELETE", f"/notifications/{int(notification_id)}", retry=True, ok=(404,))

    def notification_stream(self, *, names: list[str] | None = None) -> Iterator[StreamEvent]:
        """GET /notifications/events (SSE): backfill events, one backfill_complete, then live events.

        Keepalive comments are skipped. Ends only by raising PiktidConnectionError (drop, timeout, or the
        server closing the stream); the caller reconnects with backoff and dedupes by notification id.
        """
        params = {"name_list": list(names)} if names else None
        where = "GET /notifications/events"
        try:
            with connect_sse(
                self._api, "GET", "/notifications/events", params=params, timeout=self._stream_timeout
            ) as source:
                response = source.response
                if not 200 <= response.status_code < 300:
                    response.read()
                    _raise_for_status(response)
                for sse in source.iter_sse():
                    if sse.event == "backfill_complete":
                        yield StreamEvent(kind="backfill_complete", notification=None)
                        continue
                    kind = (
                        "backfill" if sse.event == "backfill" else "live" if sse.event == "message" else None
                    )
                    if kind is None:
                        continue
                    try:
                        notification = _notification(json_loads_storable(sse.data))
                    except ValueError:
                        notification = None
                    if notification is None:
                        logger.warning("PiktID stream: skipped an event without {id, name}")
                        continue
                    yield StreamEvent(kind=kind, notification=notification)
        except SSEError as exc:
            raise PiktidError(f"PiktID {where} is not an event stream: {exc}") from exc
        except httpx.HTTPError as exc:
            raise _connection_error(exc, where) from exc
        raise PiktidConnectionError(f"PiktID closed the stream on {where}", maybe_sent=True)

    # ---- result files

    def _check_url(self, url: str) -> bool:
        """Refuse an unsafe result URL; True when it is PiktID's own (configured) host."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not host:
            raise UnsafeUrlError(f"refused result URL without a host: {parts.scheme}://…")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UnsafeUrlError(f"refused result URL with a bad port on {host}") from None
        base_port = self._base_port or (443 if self._base_scheme == "https" else 80)
        if (parts.scheme, host, port) == (self._base_scheme, self._base_host, base_port):
            return True  # PiktID's own host is trusted, even on loopback (a local fake or proxy)
        if parts.scheme != "https":
            raise UnsafeUrlError(f"refused non-https result URL on {host}")
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        except (socket.gaierror, UnicodeError) as exc:
            raise PiktidConnectionError(f"cannot resolve {host}: {exc}", maybe_sent=False) from None
        private = sorted(a for a in addresses if not _is_public_address(a))
        if private:
            raise UnsafeUrlError(f"refused result URL on {host}: resolves to non-public {', '.join(private)}")
        return False

    def fetch_file(self, url: str, dest: BinaryIO, *, max_bytes: int) -> int:
        """Download a result URL into `dest` (SSRF-safe, no auth, at most `max_bytes`); returns bytes written.

        https only, or the base URL's own scheme+host+port; every address of the host must be public unless it
        is the base host; redirects are followed by hand, re-validated, at most 3. Over `max_bytes` →
        UnsafeUrlError, `dest` truncated back (if seekable). 5xx/connection errors retry from the start.
        """
        seekable = getattr(dest, "seekable", None)
        start = dest.tell() if seekable is not None and seekable() else None

        def rewind() -> None:
            if start is not None:
                dest.seek(start)
                dest.truncate()

        def once() -> int:
            rewind()
            current = url
            for _ in range(MAX_REDIRECTS + 1):
                trusted = self._check_url(current)
                where = f"GET {urlsplit(current).path}"
                try:
                    with self._bare.stream("GET", current) as response:
                        if not trusted:
                            _check_peer(response, urlsplit(current).hostname or "")
                        if response.is_redirect:
                            location = response.headers.get("Location", "")
                            current = urljoin(current, location)
                            continue
                        if not 200 <= response.status_code < 300:
                            response.read()
                            _raise_for_status(response)
                        declared = _int(response.headers.get("Content-Length"), -1)
                        if declared > max_bytes:
                            raise UnsafeUrlError(f"result file is {declared} bytes, over the {max_bytes} cap")
                        written = 0
                        for chunk in response.iter_bytes(_CHUNK):
                            written += len(chunk)
                            if written > max_bytes:
                                raise UnsafeUrlError(f"result file exceeds the {max_bytes} byte cap")
                            dest.write(chunk)
                        return written
                except httpx.HTTPError as exc:
                    raise _connection_error(exc, where) from exc
            raise UnsafeUrlError(f"refused result URL: more than {MAX_REDIRECTS} redirects")

        try:
            for attempt in stamina.retry_context(
                on=_is_retryable, attempts=self.attempts, timeout=None, wait_initial=0.5, wait_max=5.0
            ):
                with attempt:
                    return once()
        except PiktidError:
            rewind()
            raise
        raise AssertionError("unreachable")  # pragma: no cover
