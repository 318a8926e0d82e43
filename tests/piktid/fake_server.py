"""A contract-faithful fake of PiktID's v2 API: a real HTTP server on 127.0.0.1 in a background thread.

It follows ../shared/docs/piktid-api.md and PiktID's guide page (000_8e159a851d188793.txt), not our client.
Run it alone with `python -m tests.piktid.fake_server --port 8765 --token demo` (the CLI or a browser can
then use `--base-url http://127.0.0.1:8765`).

From the contract: Bearer auth (401), POST /project 201 / 409 with project_id, GET /project (project_text,
project_key, pagination), POST /upload → pre-signed PUT that expires, POST /create-packshot 202
{job_id, status, message, total_outputs} with its 400/402/403/404/429 answers (5 creations per rolling minute,
5 active jobs), 3/5/10 credits per output at 1K/2K/4K, job status and results fields, latest version per
(group_index, image_index) in /results, /versions, regenerate (version + 1, starts pending), gallery/by-job,
POST /download + a ZIP, GET /auth/me credits, PUT /webhooks rotating the secret and sending a `ping`,
`X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>`, the event shape {id, name, data, timestamp},
POST /notifications, DELETE /notifications/{id}, SSE backfill (undeleted, ≤ 10 min old, oldest first) →
backfill_complete → live events without an `event:` field → `:keepalive` comments. The batch_edit data
{id_task, job_id, status, total_images, processed_images, error_message?} is from the guide page.

Our assumptions (the contract is silent): image_result data {id_task, job_id, group_index, image_index,
version, status, output: {full_size, thumbnail}?, error_message?}; a batch_edit on every processed output and
on every status change; the ping's data {webhook_id, url}; credits deducted at creation, not refunded for
failed outputs, regenerations free; a custom width/height costs as the smallest tier whose long side covers
it; only .jpg/.jpeg/.png uploads (else 400); the pre-signed PUT answers like S3 (403 expired or wrong
signature or Content-Type, 411 without Content-Length, 501 when chunked, 400 with an Authorization header);
429 without Retry-After unless `retry_after_header` is set; a request refused by the per-minute limit itself
does not count toward the window, every other authenticated POST /create-packshot does (even a 400 or an
active-jobs 429); deliveries are retried on non-2xx or no answer; a regeneration leaves the job's status
alone; DELETE /webhooks answers 204; ZIP names `output_{group_index}_{image_index}_v{version}.{fmt}`; result
images are small (long edge size/16 px).

Control API (all attributes may be changed while it runs): see `FakePiktid`.
"""

import argparse
import contextlib
import hashlib
import hmac
import io
import itertools
import json
import queue
import re
import secrets
import socket
import struct
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from PIL import Image

STYLES = ("flat_lay", "ghost_mannequin", "marketing_ready", "white_cutout", "free")
FRAMINGS = ("square_packshot", "tall_3_4", "wide_4_3", "full_frame")
ANGLES = ("front", "back", "three_quarter", "top_down", "detail_macro")
SHADOWS = ("auto", "none", "contact", "soft_drop", "natural")
SIZES = {"1K": 1024, "2K": 2048, "4K": 4096}
PRICES = {"1K": 3, "2K": 5, "4K": 10}
ASPECTS = {"1:1": (1, 1), "3:4": (3, 4), "4:3": (4, 3), "9:16": (9, 16), "16:9": (16, 9)}
FORMATS = ("jpg", "png")
MODELS = ("auto", "nano_banana_2", "nano_banana_pro", "seedream", "gpt_image")
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
ACTIVE_STATUSES = ("pending", "processing")
CUSTOM_DIMENSIONS_POLICY = "OUTPUT_CUSTOM_DIMENSIONS"
BACKFILL_AGE_S = 600.0


class Clock:
    """Epoch seconds that tests can move forward (`advance`) to expire URLs and clear rate windows."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeAccount:
    token: str
    credits: float = 1000.0
    email: str = "buyer@example.com"
    username: str = "buyer"
    policies: set[str] = field(default_factory=set)
    create_limit: int | None = None  # None: the server's default (enterprise accounts get more)
    active_limit: int | None = None
    webhook: dict | None = None
    creation_times: list[float] = field(default_factory=list)  # every counted POST /create-packshot


@dataclass
class Rule:
    method: str
    path_prefix: str
    times: int
    status: int = 0  # 0 = reset the connection without answering
    headers: dict[str, str] | None = None
    body: Any = None
    delay: float = 0.0
    after: bool = False  # act first (the job is created), then fail/delay the answer


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    token: str | None
    body: bytes  # JSON bodies only (upload bytes are not kept here)
    at: float
    status: int | None = None  # the answer sent (None: dropped or still streaming)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Delivery:
    event_id: int
    name: str
    url: str
    attempt: int
    body: bytes
    signature: str
    status: int | None  # None: no answer (connection error or timeout)
    error: str
    at: float


class _Abort(Exception):
    """Close the connection without an answer (simulates a reset)."""


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, error: str, *details: tuple[str | None, str, str]) -> _Reply:
    detail = [{"field": f, "message": m, "position": p} for f, m, p in details]
    return _Reply(status, {"error": error, "detail": detail})


def _bad(error: str, field_name: str | None, message: str, position: str = "body") -> _Reply:
    return _error(400, error, (field_name, message, position))


class FakePiktid:
    """The fake server and its state. Start with `start()` (or the `fake_piktid` pytest fixture).

    Settings (plain attributes, changeable while it runs): upload_ttl (300 s), create_limit (5) per
    create_window (60 s), active_limit (5), output_delay (0.05 s per output when auto-advancing; None = only
    `advance()`/`finish()` move jobs), keepalive_interval (15 s), status_404_calls (0: GET /jobs/{id}/status
    answers 404 to a job's first K calls), conflict_includes_id (True), retry_after_header (False),
    webhook_attempts (3), webhook_backoff (0.05 s, doubled per retry), webhook_timeout (5 s), deliver (None or
    a callable(url, body, headers) -> status used instead of POSTing deliveries), download_ttl (3600 s).

    Control: add_account, add_project, fail_next, delay_next, plan_next_job, advance, finish, fail_job,
    publish, drop_streams, clock.advance. Inspection: base_url, url(), requests / requests_to() / count(),
    creations(), deliveries, jobs / job(), files, notifications, accounts, open_streams, errors, wait_for().
    """

    def __init__(
        self,
        *,
        upload_ttl: float = 300.0,
        create_limit: int = 5,
        create_window: float = 60.0,
        active_limit: int = 5,
        output_delay: float | None = 0.05,
        keepalive_interval: float = 15.0,
        status_404_calls: int = 0,
        conflict_includes_id: bool = True,
        retry_after_header: bool = False,
        webhook_attempts: int = 3,
        webhook_backoff: float = 0.05,
        webhook_timeout: float = 5.0,
        download_ttl: float = 3600.0,
        port: int = 0,
    ) -> None:
        self.port = port
        self.upload_ttl = upload_ttl
        self.create_limit = create_limit
        self.create_window = create_window
        self.active_limit = active_limit
        self.output_delay = output_delay
        self.keepalive_interval = keepalive_interval
        self.status_404_calls = status_404_calls
        self.conflict_includes_id = conflict_includes_id
        self.retry_after_header = retry_after_header
        self.webhook_attempts = webhook_attempts
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout
        self.download_ttl = download_ttl
        self.deliver: Callable[[str, bytes, dict[str, str]], int] | None = None
        self.clock = Clock()

        self.lock = threading.RLock()
        self.accounts: dict[str, FakeAccount] = {}
        self.projects: dict[str, dict] = {}  # by project_key
        self.files: dict[str, dict] = {}  # by file_id
        self.jobs: dict[str, dict] = {}  # by job_id
        self.notifications: dict[int, dict] = {}  # undeleted, by id
        self.downloads: dict[str, dict] = {}
        self.requests: list[RecordedRequest] = []
        self.deliveries: list[Delivery] = []
        self.errors: list[str] = []  # server-side exceptions (a test can assert there are none)
        self.rules: list[Rule] = []
        self.job_plans: list[dict] = []
        self._ids = itertools.count(1)
        self._subscribers: list[dict] = []
        self._url_secret = secrets.token_bytes(16)
        self._images: dict[tuple, bytes] = {}
        self._deliveries: queue.Queue = queue.Queue()
        self._http: httpx.Client | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # ---- lifecycle

    def start(self) -> "FakePiktid":
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        for target in (self._serve, self._tick_loop, self._delivery_loop):
            thread = threading.Thread(target=target, daemon=True, name=f"fake-piktid-{target.__name__}")
            thread.start()
            self._threads.append(thread)
        return self

    def _serve(self) -> None:
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.02)  # a short poll keeps stop() fast

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._deliveries.put(None)
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> "FakePiktid":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- control API

    def add_account(self, token: str, **fields: Any) -> FakeAccount:
        """Register a token (credits=1000, policies=set(), create_limit/active_limit None = the defaults)."""
        fields["policies"] = set(fields.get("policies") or ())
        with self.lock:
            account = self.accounts[token] = FakeAccount(token=token, **fields)
        return account

    def add_project(self, token: str, name: str) -> str:
        """Create a project directly (as if made earlier); returns its key."""
        with self.lock:
            return self._project_create(self.accounts[token], {"project_name": name}).body["project_id"]

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        *,
        body: Any = None,
        after: bool = False,
    ) -> None:
        """Answer the next `times` matching requests with `status` (0 = reset the connection, no answer).

        `method` may be "*". With `after=True` the request is processed first (a job gets created) and only
        the answer is replaced: the "answer lost" case. `body` defaults to the generic error body.
        """
        with self.lock:
            self.rules.append(Rule(method.upper(), path_prefix, times, status, headers, body, after=after))

    def delay_next(
        self, method: str, path_prefix: str, seconds: float, times: int = 1, *, after: bool = False
    ) -> None:
        """Sleep `seconds` before handling (after=True: after acting, before answering) the next requests."""
        with self.lock:
            self.rules.append(Rule(method.upper(), path_prefix, times, status=-1, delay=seconds, after=after))

    def plan_next_job(
        self,
        *,
        failed_outputs: dict[tuple[int, int], str] | None = None,
        job_error: str | None = None,
        model_used: str | None = None,
    ) -> None:
        """Shape the next created job: outputs (group_index, image_index) that fail with a message, or the
        whole job failing with `job_error` once its outputs are processed."""
        with self.lock:
            self.job_plans.append(
                {
                    "failed_outputs": dict(failed_outputs or {}),
                    "job_error": job_error,
                    "model_used": model_used,
                }
            )

    def advance(self, job_id: str, outputs: int = 1, *, fail: str | None = None) -> None:
        """Process the next `outputs` pending outputs of a job now (`fail`: they fail with that message)."""
        with self.lock:
            job = self.jobs[job_id]
            for _ in range(outputs):
                if not job["queue"]:
                    break
                self._process_next(job, fail=fail)

    def finish(self, job_id: str) -> None:
        """Process every pending output of a job now."""
        with self.lock:
            job = self.jobs[job_id]
            while job["queue"]:
                self._process_next(job)

    def fail_job(self, job_id: str, message: str = "Generation failed", *, status: str = "failed") -> None:
        """End a job at once (`failed` or `aborted`); its pending outputs fail with `message`."""
        with self.lock:
            job = self.jobs[job_id]
            while job["queue"]:
                self._process_next(job, fail=message, announce=False)
            self._set_job_status(job, status, message)

    def publish(self, token: str, name: str, data: dict) -> dict:
        """Store and send an arbitrary notification (SSE subscribers and the webhook) for an account."""
        with self.lock:
            return self._notify(self.accounts[token], name, data)

    def drop_streams(self) -> None:
        """Cut every open SSE connection now (mid-stream, without a clean end)."""
        with self.lock:
            for subscriber in self._subscribers:
                subscriber["drop"] = True

    @property
    def open_streams(self) -> int:
        with self.lock:
            return len(self._subscribers)

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method == "*" or r.method == method.upper()) and r.path.startswith(path_prefix)
            ]

    def count(self, method: str, path_prefix: str) -> int:
        return len(self.requests_to(method, path_prefix))

    def creations(self, token: str | None = None) -> list[RecordedRequest]:
        """Every POST /create-packshot (answered or not), in arrival order."""
        return [r for r in self.requests_to("POST", "/create-packshot") if token is None or r.token == token]

    def url(self, path: str) -> str:
        return self.base_url + path

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
        """Poll `predicate` until it returns something truthy; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := predicate():
                return value
            time.sleep(interval)
        raise AssertionError(f"fake PiktID: condition not met within {timeout} s")

    def job(self, job_id: str) -> dict:
        """A snapshot of a job's status body (as GET /jobs/{id}/status would answer)."""
        with self.lock:
            return self._status_body(self.jobs[job_id])

    # ---- jobs: processing

    def _tick_loop(self) -> None:
        while not self._stop.wait(0.01):
            if self.output_delay is None:
                continue
            with self.lock:
                now = self.clock.now()
                for job in list(self.jobs.values()):
                    while job["queue"] and now >= job["next_due"]:
                        self._process_next(job)
                        job["next_due"] += self.output_delay

    def _process_next(self, job: dict, *, fail: str | None = None, announce: bool = True) -> None:
        g, i = job["queue"].pop(0)
        version = job["slots"][(g, i)][-1]
        now = self.clock.now()
        plan = job["plan"]
        # Planned failures hit the first version; a regeneration succeeds unless told otherwise.
        message = (fail or plan["failed_outputs"].get((g, i))) if version["version"] == 0 else fail
        if job["status"] == "pending":
            self._set_job_status(job, "processing")
        version.update(processing_time=round(now - job["created"], 3), updated_at=_iso(now))
        if message:
            version.update(status="failed", error_message=message, output=None, quality_score=None)
        else:
            base = f"{self.base_url}/cdn/{job['job_id']}/{g}_{i}_v{version['version']}"
            fmt = version["output_format"]
            version.update(
                status="completed",
                error_message="",
                output={"full_size": f"{base}.{fmt}", "thumbnail": f"{base}_thumb.jpg"},
                quality_score=round(0.8 + 0.01 * ((g + i + version["version"]) % 10), 2),
            )
        data = {
            "id_task": job["job_id"],
            "job_id": job["job_id"],
            "group_index": g,
            "image_index": i,
            "version": version["version"],
            "status": version["status"],
        }
        if version["output"]:
            data["output"] = dict(version["output"])
        if message:
            data["error_message"] = message
        self._notify(job["account"], "image_result", data)
        if version["version"] == 0:
            job["processed"] += 1
        job["updated"] = now
        if not announce:
            return
        if any(v[-1]["status"] == "pending" for v in job["slots"].values()):
            if job["status"] in ACTIVE_STATUSES:
                self._batch_edit(job)
            return
        if job["status"] in ACTIVE_STATUSES:
            latest = [v[-1] for v in job["slots"].values()]
            if plan["job_error"]:
                self._set_job_status(job, "failed", plan["job_error"])
            elif all(v["status"] == "failed" for v in latest):
                self._set_job_status(job, "failed", "All outputs failed")
            else:
                self._set_job_status(job, "completed")

    def _set_job_status(self, job: dict, status: str, error_message: str = "") -> None:
        job["status"] = status
        job["error_message"] = error_message
        job["updated"] = self.clock.now()
        self._batch_edit(job)

    def _batch_edit(self, job: dict) -> None:
        data = {
            "id_task": job["job_id"],
            "job_id": job["job_id"],
            "status": job["status"],
            "total_images": job["total"],
            "processed_images": job["processed"],
        }
        if job["error_message"]:
            data["error_message"] = job["error_message"]
        self._notify(job["account"], "batch_edit", data)

    # ---- notifications, SSE and webhooks

    def _notify(self, account: FakeAccount, name: str, data: dict, *, store: bool = True) -> dict:
        event = {"id": next(self._ids), "name": name, "data": data, "timestamp": self.clock.now()}
        if store:
            self.notifications[event["id"]] = {"token": account.token, "event": event}
            for subscriber in self._subscribers:
                if subscriber["token"] == account.token:
                    subscriber["queue"].put(event)
        if account.webhook and account.webhook["is_active"]:
            self._deliveries.put((account, event))
        return event

    def _delivery_loop(self) -> None:
        try:
            self._deliver_all()
        finally:
            if self._http is not None:
                self._http.close()

    def _deliver_all(self) -> None:
        while (item := self._deliveries.get()) is not None:
            account, event = item
            webhook = account.webhook
            if not webhook:
                continue
            body = json.dumps(event).encode()
            signature = "sha256=" + hmac.new(webhook["secret"].encode(), body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Webhook-Signature": signature}
            for attempt in range(1, max(1, self.webhook_attempts) + 1):
                status, error = None, ""
                try:
                    if self.deliver is not None:
                        status = self.deliver(webhook["url"], body, headers)
                    else:
                        # Made on first use: building an httpx client costs ~0.1 s.
                        self._http = self._http or httpx.Client()
                        status = self._http.post(
                            webhook["url"], content=body, headers=headers, timeout=self.webhook_timeout
                        ).status_code
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                now = self.clock.now()
                with self.lock:
                    self.deliveries.append(
                        Delivery(
                            event["id"],
                            event["name"],
                            webhook["url"],
                            attempt,
                            body,
                            signature,
                            status,
                            error,
                            now,
                        )
                    )
                    webhook["last_response_status"] = status
                    webhook["last_response_at"] = _iso(now)
                if status is not None and 200 <= status < 300:
                    break
                if self._stop.wait(self.webhook_backoff * 2 ** (attempt - 1)):
                    return

    # ---- HTTP dispatch

    def _match_rule(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.times > 0 and rule.method in ("*", method) and path.startswith(rule.path_prefix):
                    rule.times -= 1
                    if rule.times == 0:
                        self.rules.remove(rule)
                    return rule
        return None

    def _handle(self, h: "_Handler") -> None:
        parts = urlsplit(h.path)
        method, path, query = h.command, parts.path, parse_qs(parts.query)
        headers = {k.lower(): v for k, v in h.headers.items()}
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else (query.get("token") or [None])[0]
        is_upload = method == "PUT" and path.startswith("/s3/")
        body = b"" if is_upload else h.read_body()
        record = RecordedRequest(method, path, query, headers, token, body, self.clock.now())
        with self.lock:
            self.requests.append(record)
        rule = self._match_rule(method, path)
        if rule and rule.status == -1 and not rule.after:
            time.sleep(rule.delay)
            rule = None
        if rule and not rule.after:
            return self._inject(h, record, rule)
        try:
            reply = self._route(h, method, path, query, headers, token, body)
        except _Reply as exc:
            reply = exc
        except _Abort:
            return h.abort()
        except Exception as exc:  # a bug in the fake: record it and answer 500 like a real server
            self.errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            reply = _Reply(500, {"error": "Internal server error", "detail": []})
        if reply is None:  # a streamed answer was written already
            return None
        if rule and rule.status == -1:
            time.sleep(rule.delay)
        elif rule:
            return self._inject(h, record, rule)
        record.status = reply.status
        return h.reply(reply.status, reply.body, reply.headers)

    def _inject(self, h: "_Handler", record: RecordedRequest, rule: Rule) -> None:
        if rule.status == 0:
            return h.abort()
        record.status = rule.status
        body = rule.body if rule.body is not None else {"error": "Injected failure", "detail": []}
        return h.reply(rule.status, body, rule.headers or {})

    def _account(self, token: str | None) -> FakeAccount:
        with self.lock:
            account = self.accounts.get(token or "")
        if account is None:
            raise _Reply(401, {"error": "Invalid or expired token", "detail": []})
        return account

    def _route(self, h, method, path, query, headers, token, body) -> _Reply | None:
        if method == "PUT" and path.startswith("/s3/"):
            return self._s3_put(h, path, query, headers)
        if method == "GET" and path.startswith("/s3/"):
            return self._s3_get(path)
        if method == "GET" and path.startswith("/cdn/"):
            return self._cdn(path)
        if method == "GET" and path.startswith("/download/"):
            return self._download_get(path)
        account = self._account(token)
        payload = None
        if method in ("POST", "PUT") and body:
            try:
                payload = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise _bad("Invalid request", None, "Body is not valid JSON") from None
        routes = [
            ("GET", r"/auth/me", self._me),
            ("POST", r"/project", self._project_create),
            ("GET", r"/project", self._project_list),
            ("POST", r"/upload", self._upload),
            ("POST", r"/create-packshot", self._create),
            ("GET", r"/jobs/(?P<job_id>[^/]+)/status", self._status),
            ("GET", r"/jobs/(?P<job_id>[^/]+)/results", self._results),
            ("GET", r"/jobs/(?P<job_id>[^/]+)/versions/(?P<index>-?\d+)", self._versions),
            ("POST", r"/jobs/(?P<job_id>[^/]+)/regenerate/(?P<index>-?\d+)", self._regenerate),
            ("GET", r"/gallery/by-job", self._gallery),
            ("POST", r"/download", self._download_create),
            ("PUT", r"/webhooks", self._webhook_put),
            ("GET", r"/webhooks", self._webhook_get),
            ("DELETE", r"/webhooks", self._webhook_delete),
            ("POST", r"/notifications", self._notifications),
            ("DELETE", r"/notifications/(?P<nid>[^/]+)", self._notification_delete),
            ("GET", r"/notifications/events", None),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                if handler is None:
                    return self._events(h, account, query)
                kwargs = {"account": account, "query": query, "payload": payload, **match.groupdict()}
                with self.lock:
                    return handler(**kwargs)
        if any(re.fullmatch(pattern, path) for _, pattern, _ in routes):
            raise _error(405, "Method not allowed")
        raise _error(404, "Not found")

    # ---- endpoints

    def _me(self, account: FakeAccount, **_: Any) -> _Reply:
        return _Reply(
            200,
            {
                "username": account.username,
                "email": account.email,
                "name": "Test",
                "surname": "Buyer",
                "verified": True,
                "credits": account.credits,
                "contract": None,
                "affiliation": None,
                "address": None,
                "country": None,
                "vat_num": None,
                "groups": [],
                "last_active": _iso(self.clock.now()),
            },
        )

    def _project_create(self, account: FakeAccount, payload: Any, **_: Any) -> _Reply:
        name = payload.get("project_name") if isinstance(payload, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise _bad("Invalid request", "project_name", "project_name is required (1-128 characters)")
        for project in self.projects.values():
            if project["token"] == account.token and project["name"] == name:
                body = {"error": "Project already exists", "detail": []}
                if self.conflict_includes_id:
                    body["project_id"] = project["key"]
                return _Reply(409, body)
        key = "prj_" + uuid.uuid4().hex[:16]
        now = self.clock.now()
        self.projects[key] = {
            "key": key,
            "id": len(self.projects) + 1,
            "name": name,
            "token": account.token,
            "created": now,
        }
        return _Reply(201, {"project_id": key, "project_name": name})

    def _page(self, query: dict, items: list, default_per_page: int) -> tuple[list, dict]:
        try:
            page = int((query.get("page") or ["1"])[0])
            per_page = int((query.get("per_page") or [str(default_per_page)])[0])
        except ValueError:
            raise _bad("Invalid request", "page", "page and per_page must be integers", "query") from None
        if page < 1 or not 1 <= per_page <= 100:
            raise _bad("Invalid request", "per_page", "page >= 1 and 1 <= per_page <= 100", "query")
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        pagination = {
            "page": page,
            "per_page": per_page,
            "total": len(items),
            "pages": pages,
            "has_next": page < pages,
            "has_prev": page > 1,
        }
        return chunk, pagination

    def _project_list(self, account: FakeAccount, query: dict, **_: Any) -> _Reply:
        mine = [p for p in self.projects.values() if p["token"] == account.token]
        chunk, pagination = self._page(query, mine, 10)
        projects = [
            {
                "project_id": p["id"],
                "project_key": p["key"],
                "project_text": p["name"],
                "created_at": _iso(p["created"]),
            }
            for p in chunk
        ]
        return _Reply(200, {"projects": projects, "pagination": pagination})

    def _project_of(self, account: FakeAccount, ref: Any) -> dict | None:
        for project in self.projects.values():
            if project["token"] == account.token and ref in (
                project["key"],
                project["id"],
                str(project["id"]),
            ):
                return project
        return None

    def _signature(self, file_id: str, expires: int) -> str:
        return hmac.new(self._url_secret, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _upload(self, account: FakeAccount, payload: Any, **_: Any) -> _Reply:
        payload = payload if isinstance(payload, dict) else {}
        filename = payload.get("filename") or f"{uuid.uuid4()}.jpg"
        if not isinstance(filename, str):
            raise _bad("Invalid request", "filename", "filename must be a string")
        project_name = payload.get("project_name")
        if project_name is not None and not any(
            p["token"] == account.token and p["name"] == project_name for p in self.projects.values()
        ):
            raise _error(404, "Project not found")
        extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension not in CONTENT_TYPES:
            raise _bad("Unsupported file type", "filename", "Only JPG, JPEG and PNG files are accepted")
        file_id = str(uuid.uuid4())
        expires = int(self.clock.now() + self.upload_ttl)
        self.files[file_id] = {
            "token": account.token,
            "filename": filename,
            "content_type": CONTENT_TYPES[extension],
            "expires": expires,
            "size": None,
            "sha256": None,
            "data": None,
        }
        query = f"expires={expires}&signature={self._signature(file_id, expires)}"
        return _Reply(
            200,
            {
                "upload_url": f"{self.base_url}/s3/{file_id}?{query}",
                "download_url": f"{self.base_url}/s3/{file_id}",
                "file_id": file_id,
                "filename": filename,
                "content_type": CONTENT_TYPES[extension],
            },
        )

    def _s3_put(self, h: "_Handler", path: str, query: dict, headers: dict) -> _Reply:
        file_id = path.removeprefix("/s3/")
        with self.lock:
            stored = self.files.get(file_id)
        expires = (query.get("expires") or ["0"])[0]
        signature = (query.get("signature") or [""])[0]
        denied = _Reply(403, "<Error><Code>AccessDenied</Code></Error>", {"Content-Type": "application/xml"})
        if stored is None or not expires.isdigit():
            raise denied
        if not hmac.compare_digest(signature, self._signature(file_id, int(expires))):
            raise _Reply(
                403, "<Error><Code>SignatureDoesNotMatch</Code></Error>", {"Content-Type": "application/xml"}
            )
        if self.clock.now() > int(expires):
            raise _Reply(
                403,
                "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                {"Content-Type": "application/xml"},
            )
        if "authorization" in headers:
            raise _Reply(
                400,
                "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed"
                "</Message></Error>",
                {"Content-Type": "application/xml"},
            )
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _Reply(
                501,
                "<Error><Code>NotImplemented</Code><Message>Transfer-Encoding</Message></Error>",
                {"Content-Type": "application/xml"},
            )
        if not headers.get("content-length", "").isdigit():
            raise _Reply(
                411, "<Error><Code>MissingContentLength</Code></Error>", {"Content-Type": "application/xml"}
            )
        if headers.get("content-type") != stored["content_type"]:
            raise _Reply(
                403,
                "<Error><Code>SignatureDoesNotMatch</Code><Message>Content-Type</Message></Error>",
                {"Content-Type": "application/xml"},
            )
        size, digest, kept = int(headers["content-length"]), hashlib.sha256(), io.BytesIO()
        h.consumed, remaining = True, size
        while remaining:
            chunk = h.rfile.read(min(remaining, 256 * 1024))
            if not chunk:
                raise _Abort
            remaining -= len(chunk)
            digest.update(chunk)
            if size <= 4 * 1024 * 1024:  # keep small files for inspection; big ones only by hash
                kept.write(chunk)
        with self.lock:
            stored.update(
                size=size, sha256=digest.hexdigest(), data=kept.getvalue() if size <= 4 << 20 else None
            )
        return _Reply(200, b"", {"ETag": f'"{digest.hexdigest()[:32]}"'})

    def _s3_get(self, path: str) -> _Reply:
        stored = self.files.get(path.removeprefix("/s3/"))
        if not stored or stored["data"] is None:
            raise _Reply(404, "<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})
        return _Reply(200, stored["data"], {"Content-Type": stored["content_type"]})

    # -- create

    def _validate_create(
        self, account: FakeAccount, payload: Any
    ) -> tuple[dict, list[dict], list[int], bool]:
        if not isinstance(payload, dict):
            raise _bad("Invalid request", None, "Body must be a JSON object")
        project_ref = payload.get("project_id")
        if not isinstance(project_ref, str | int) or isinstance(project_ref, bool) or project_ref == "":
            raise _bad("Invalid request", "project_id", "project_id is required")
        images = payload.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= 10:
            raise _bad("Missing or invalid image", "images", "Provide between 1 and 10 images")
        for n, image in enumerate(images):
            file_id = image.get("file_id") if isinstance(image, dict) else image
            note = image.get("note", "") if isinstance(image, dict) else ""
            stored = self.files.get(file_id) if isinstance(file_id, str) else None
            if not isinstance(note, str):
                raise _bad("Invalid request", f"images[{n}].note", "note must be a string")
            if stored is None or stored["token"] != account.token or stored["size"] is None:
                raise _bad(
                    "Missing or invalid image", f"images[{n}]", f"Image {file_id!r} not found or not uploaded"
                )
        instructions = payload.get("instructions")
        if not isinstance(instructions, list) or not instructions:
            raise _bad("Invalid request", "instructions", "At least one instruction is required")
        outputs, needs_policy = [], False
        enums = {"framing": FRAMINGS, "angle": ANGLES, "shadow": SHADOWS}
        for n, instruction in enumerate(instructions):
            where = f"instructions[{n}]"
            if not isinstance(instruction, dict):
                raise _bad("Invalid request", where, "Instruction must be an object")
            if instruction.get("style") not in STYLES:
                raise _bad("Invalid style", f"{where}.style", f"style must be one of {', '.join(STYLES)}")
            for key, choices in enums.items():
                if key in instruction and instruction[key] not in choices:
                    raise _bad(
                        "Invalid request", f"{where}.{key}", f"{key} must be one of {', '.join(choices)}"
                    )
            variations = instruction.get("num_variations", 1)
            if isinstance(variations, bool) or not isinstance(variations, int) or not 1 <= variations <= 8:
                raise _bad(
                    "Invalid request", f"{where}.num_variations", "num_variations must be between 1 and 8"
                )
            options = instruction.get("options") or {}
            if not isinstance(options, dict):
                raise _bad("Invalid request", f"{where}.options", "options must be an object")
            for key, choices in (("size", tuple(SIZES)), ("ar", tuple(ASPECTS)), ("format", FORMATS)):
                if key in options and options[key] not in choices:
                    raise _bad(
                        "Invalid request",
                        f"{where}.options.{key}",
                        f"{key} must be one of {', '.join(choices)}",
                    )
            custom = self._custom_size(options, f"{where}.options")
            needs_policy |= custom is not None
            outputs.append(
                {
                    "variations": variations,
                    "price": self._price(options, custom),
                    "custom": custom,
                    "options": options,
                }
            )
        job_options = payload.get("options") or {}
        if not isinstance(job_options, dict):
            raise _bad("Invalid request", "options", "options must be an object")
        if job_options.get("model", "auto") not in MODELS:
            raise _bad("Unsupported model", "options.model", f"model must be one of {', '.join(MODELS)}")
        anchor = job_options.get("anchor_index", 0)
        if isinstance(anchor, bool) or not isinstance(anchor, int) or not 0 <= anchor < len(instructions):
            raise _bad(
                "Invalid anchor_index",
                "options.anchor_index",
                "Must satisfy 0 <= anchor_index < len(instructions)",
            )
        if "post_process" in payload and not isinstance(payload["post_process"], bool):
            raise _bad("Invalid request", "post_process", "post_process must be a boolean")
        return payload, outputs, [o["variations"] for o in outputs], needs_policy

    @staticmethod
    def _custom_size(options: dict, where: str) -> tuple[int, int] | None:
        width, height = options.get("width"), options.get("height")
        if width is None and height is None:
            return None
        if width is None or height is None:
            raise _bad("Invalid custom dimensions", f"{where}.width", "width and height must be set together")
        for key, value in (("width", width), ("height", height)):
            if isinstance(value, bool) or not isinstance(value, int) or not 256 <= value <= 7000 or value % 8:
                raise _bad(
                    "Invalid custom dimensions", f"{where}.{key}", f"{key} must be 256-7000, a multiple of 8"
                )
        if not 0.25 <= width / height <= 4:
            raise _bad(
                "Invalid custom dimensions", f"{where}.width", "aspect ratio must be between 1:4 and 4:1"
            )
        return width, height

    @staticmethod
    def _price(options: dict, custom: tuple[int, int] | None) -> int:
        if custom:
            size = next((s for s, px in SIZES.items() if max(custom) <= px), "4K")
        else:
            size = options.get("size", "1K")
        return PRICES[size]

    def _create(self, account: FakeAccount, payload: Any, **_: Any) -> _Reply:
        now = self.clock.now()
        window = [t for t in account.creation_times if t > now - self.create_window]
        limit = account.create_limit if account.create_limit is not None else self.create_limit
        if len(window) >= limit:
            headers = {}
            if self.retry_after_header:
                headers["Retry-After"] = str(max(1, int(window[0] + self.create_window - now + 0.999)))
            raise _Reply(429, {"error": "Rate limit exceeded: 5 requests per minute", "detail": []}, headers)
        account.creation_times.append(now)
        payload, outputs, _, needs_policy = self._validate_create(account, payload)
        project = self._project_of(account, payload["project_id"])
        if project is None:
            raise _error(404, "Project not found")
        if needs_policy and CUSTOM_DIMENSIONS_POLICY not in account.policies:
            raise _error(
                403,
                "Output size exceeds your plan's policy",
                ("options.width", f"Requires the {CUSTOM_DIMENSIONS_POLICY} policy", "body"),
            )
        active = [j for j in self.jobs.values() if j["account"] is account and j["status"] in ACTIVE_STATUSES]
        active_limit = account.active_limit if account.active_limit is not None else self.active_limit
        if len(active) >= active_limit:
            raise _Reply(
                429, {"error": f"Concurrent job limit reached ({active_limit} active jobs)", "detail": []}
            )
        required = float(sum(o["variations"] * o["price"] for o in outputs))
        in_progress = float(sum(j["credits"] for j in active))
        if required > account.credits:
            raise _Reply(
                402,
                {
                    "error": "Insufficient credits to create job",
                    "required_credits": required,
                    "in_progress_credits": in_progress,
                    "user_credits": float(account.credits),
                },
            )
        account.credits -= required
        plan = (
            self.job_plans.pop(0)
            if self.job_plans
            else {"failed_outputs": {}, "job_error": None, "model_used": None}
        )
        model = plan["model_used"] or (payload.get("options") or {}).get("model", "auto")
        model = "nano_banana_pro" if model == "auto" else model
        job_id = "job_" + uuid.uuid4().hex[:20]
        slots: dict[tuple[int, int], list[dict]] = {}
        queue_order = []
        for g, output in enumerate(outputs):
            for i in range(output["variations"]):
                slots[(g, i)] = [self._version(job_id, g, i, 0, output, model, now)]
                queue_order.append((g, i))
        self.jobs[job_id] = {
            "job_id": job_id,
            "account": account,
            "project": project,
            "status": "pending",
            "error_message": "",
            "created": now,
            "updated": now,
            "total": len(queue_order),
            "processed": 0,
            "credits": required,
            "slots": slots,
            "outputs": outputs,
            "queue": queue_order,
            "plan": plan,
            "status_calls": 0,
            "next_due": now + (self.output_delay or 0),
            "post_process": bool(payload.get("post_process", False)),
            "request": payload,
        }
        self._batch_edit(self.jobs[job_id])
        return _Reply(
            202,
            {
                "job_id": job_id,
                "status": "pending",
                "message": "Job created successfully",
                "total_outputs": len(queue_order),
            },
        )

    def _version(
        self, job_id: str, g: int, i: int, version: int, output: dict, model: str, now: float
    ) -> dict:
        return {
            "id": next(self._ids),
            "job_id": job_id,
            "group_index": g,
            "image_index": i,
            "version": version,
            "status": "pending",
            "output": None,
            "model_used": model,
            "quality_score": None,
            "output_format": output["options"].get("format", "jpg"),
            "error_message": "",
            "processing_time": None,
            "original_filename": None,
            "feedback": None,
            "feedback_comment": None,
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "_size": self._pixels(output),
        }

    @staticmethod
    def _pixels(output: dict) -> tuple[int, int]:
        if output["custom"]:
            width, height = output["custom"]
        else:
            long_edge = SIZES[output["options"].get("size", "1K")]
            a, b = ASPECTS[output["options"].get("ar", "1:1")]
            width, height = (long_edge, long_edge * b // a) if a >= b else (long_edge * a // b, long_edge)
        return max(8, width // 16), max(8, height // 16)

    # -- jobs

    def _job_of(self, account: FakeAccount, job_id: str) -> dict:
        job = self.jobs.get(job_id)
        if job is None or job["account"] is not account:
            raise _error(404, "Job not found")
        return job

    def _status_body(self, job: dict) -> dict:
        total = job["total"]
        return {
            "job_id": job["job_id"],
            "job_type": "create_packshot",
            "status": job["status"],
            "progress": round(100.0 * job["processed"] / total, 1) if total else 0.0,
            "total_images": total,
            "processed_images": job["processed"],
            "error_message": job["error_message"],
            "should_post_process": job["post_process"],
            "post_processing_status": None,
            "post_processing_error": None,
            "identity_code": None,
            "identity_name": None,
            "project_id": job["project"]["id"],
            "project_key": job["project"]["key"],
            "project_text": job["project"]["name"],
            "processing_options": None,
            "created_at": _iso(job["created"]),
            "updated_at": _iso(job["updated"]),
        }

    def _status(self, account: FakeAccount, job_id: str, **_: Any) -> _Reply:
        job = self._job_of(account, job_id)
        job["status_calls"] += 1
        if job["status_calls"] <= self.status_404_calls:
            raise _error(404, "Job not found")
        return _Reply(200, self._status_body(job))

    @staticmethod
    def _public(version: dict) -> dict:
        return {k: v for k, v in version.items() if not k.startswith("_")}

    def _results(self, account: FakeAccount, job_id: str, **_: Any) -> _Reply:
        job = self._job_of(account, job_id)
        latest = [self._public(versions[-1]) for versions in job["slots"].values()]
        done = [v for v in latest if v["status"] in ("completed", "failed")]
        ok = [v for v in latest if v["status"] == "completed"]
        scores = [v["quality_score"] for v in ok if v["quality_score"] is not None]
        summary = {
            "total_images": len(latest),
            "successful": len(ok),
            "failed": len(done) - len(ok),
            "average_quality_score": round(sum(scores) / len(scores), 3) if scores else None,
            "success_rate": round(len(ok) / len(done), 3) if done else None,
        }
        body = {
            **self._status_body(job),
            "results": latest,
            "summary": summary,
            "credits_used": job["credits"],
        }
        return _Reply(200, body)

    def _versions(self, account: FakeAccount, job_id: str, index: str, **_: Any) -> _Reply:
        job = self._job_of(account, job_id)
        versions = [self._public(v) for (_g, i), vs in job["slots"].items() if i == int(index) for v in vs]
        if not versions:
            raise _error(404, "Image not found")
        return _Reply(200, {"job_id": job_id, "image_index": int(index), "versions": versions})

    def _regenerate(self, account: FakeAccount, job_id: str, index: str, query: dict, **_: Any) -> _Reply:
        job = self._job_of(account, job_id)
        try:
            group = int((query.get("group_index") or ["0"])[0])
        except ValueError:
            raise _bad("Invalid request", "group_index", "group_index must be an integer", "query") from None
        if job["status"] not in ("completed", "failed"):
            raise _bad("Invalid request", None, "Only completed or failed jobs can be regenerated", "path")
        versions = job["slots"].get((group, int(index)))
        if versions is None:
            raise _error(404, "Image not found")
        if versions[-1]["status"] in ACTIVE_STATUSES:
            raise _bad("Invalid request", None, "This image is already being regenerated", "path")
        now = self.clock.now()
        versions.append(
            self._version(
                job_id,
                group,
                int(index),
                len(versions),
                job["outputs"][group],
                versions[-1]["model_used"],
                now,
            )
        )
        job["queue"].append((group, int(index)))
        job["next_due"] = max(job["next_due"], now + (self.output_delay or 0))
        return _Reply(200, {"success": True, "message": "Regeneration started", "image_index": int(index)})

    def _gallery(self, account: FakeAccount, query: dict, **_: Any) -> _Reply:
        jobs = [j for j in self.jobs.values() if j["account"] is account]
        if project_ref := (query.get("project_id") or [None])[0]:
            jobs = [j for j in jobs if project_ref in (j["project"]["key"], str(j["project"]["id"]))]
        if job_ref := (query.get("search") or query.get("job_id") or [None])[0]:
            jobs = [j for j in jobs if j["job_id"] == job_ref]
        order = (query.get("order") or ["desc"])[0]
        jobs.sort(key=lambda j: j["created"], reverse=order != "asc")
        chunk, pagination = self._page(query, jobs, 20)
        items = []
        for job in chunk:
            latest = [self._public(v[-1]) for v in job["slots"].values()]
            items.append(
                {
                    "job_id": job["job_id"],
                    "job_type": "create_packshot",
                    "job_status": job["status"],
                    "identity_code": None,
                    "identity_name": None,
                    "project_id": job["project"]["id"],
                    "project_name": job["project"]["name"],
                    "project_key": job["project"]["key"],
                    "created_at": _iso(job["created"]),
                    "updated_at": _iso(job["updated"]),
                    "created_by": account.username,
                    "total_images": job["total"],
                    "completed_images": sum(v["status"] == "completed" for v in latest),
                    "failed_images": sum(v["status"] == "failed" for v in latest),
                    "images": latest,
                }
            )
        return _Reply(200, {"jobs": items, "pagination": pagination})

    def _download_create(self, account: FakeAccount, payload: Any, **_: Any) -> _Reply:
        job_id = payload.get("job_id") if isinstance(payload, dict) else None
        if not isinstance(job_id, str):
            raise _bad("Invalid request", "job_id", "job_id is required")
        self._job_of(account, job_id)
        token = secrets.token_urlsafe(16)
        expires = self.clock.now() + self.download_ttl
        self.downloads[token] = {"job_id": job_id, "expires": expires}
        return _Reply(200, {"download_url": f"{self.base_url}/download/{token}", "expires": _iso(expires)})

    def _download_get(self, path: str) -> _Reply:
        with self.lock:
            download = self.downloads.get(path.removeprefix("/download/"))
            if download is None or self.clock.now() > download["expires"]:
                raise _error(404, "Download link not found or expired")
            job = self.jobs[download["job_id"]]
            latest = [v[-1] for v in job["slots"].values() if v[-1]["status"] == "completed"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for v in latest:
                name = f"output_{v['group_index']}_{v['image_index']}_v{v['version']}.{v['output_format']}"
                archive.writestr(name, self._image(job["job_id"], v, thumbnail=False))
        return _Reply(
            200,
            buffer.getvalue(),
            {
                "Content-Type": "application/zip",
                "Content-Disposition": f'attachment; filename="{job["job_id"]}.zip"',
            },
        )

    def _cdn(self, path: str) -> _Reply:
        match = re.fullmatch(
            r"/cdn/(?P<job>[^/]+)/(?P<g>\d+)_(?P<i>\d+)_v(?P<v>\d+)(?P<thumb>_thumb)?\.(?P<ext>\w+)", path
        )
        with self.lock:
            job = self.jobs.get(match["job"]) if match else None
            versions = job["slots"].get((int(match["g"]), int(match["i"]))) if job else None
            version = versions[int(match["v"])] if versions and int(match["v"]) < len(versions) else None
        if version is None or version["status"] != "completed":
            raise _Reply(404, "<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})
        thumb = bool(match["thumb"])
        fmt = "jpg" if thumb else version["output_format"]
        return _Reply(
            200,
            self._image(job["job_id"], version, thumbnail=thumb),
            {"Content-Type": "image/png" if fmt == "png" else "image/jpeg"},
        )

    def _image(self, job_id: str, version: dict, *, thumbnail: bool) -> bytes:
        key = (job_id, version["group_index"], version["image_index"], version["version"], thumbnail)
        if key not in self._images:
            width, height = version["_size"]
            if thumbnail:
                scale = 32 / max(width, height)
                width, height = max(1, int(width * scale)), max(1, int(height * scale))
            seed = version["group_index"] * 67 + version["image_index"] * 29 + version["version"] * 101
            image = Image.new("RGB", (width, height), (seed % 256, (seed * 3) % 256, (seed * 7) % 256))
            out = io.BytesIO()
            fmt = "JPEG" if thumbnail or version["output_format"] == "jpg" else "PNG"
            image.save(out, fmt)
            self._images[key] = out.getvalue()
        return self._images[key]

    # -- webhooks and notifications

    def _webhook_body(self, webhook: dict, *, with_secret: bool) -> dict:
        body = {k: v for k, v in webhook.items() if k != "secret"}
        body["secret"] = webhook["secret"] if with_secret else None
        return body

    def _webhook_put(self, account: FakeAccount, payload: Any, **_: Any) -> _Reply:
        url = payload.get("url") if isinstance(payload, dict) else None
        if (
            not isinstance(url, str)
            or urlsplit(url).scheme not in ("http", "https")
            or not urlsplit(url).hostname
        ):
            raise _bad("Invalid request", "url", "url must be an http(s) URL")
        now = _iso(self.clock.now())
        webhook = account.webhook or {
            "id": next(self._ids),
            "created_at": now,
            "last_response_status": None,
            "last_response_at": None,
        }
        webhook.update(url=url, secret=secrets.token_hex(32), is_active=True, updated_at=now)
        account.webhook = webhook
        self._notify(account, "ping", {"webhook_id": webhook["id"], "url": url}, store=False)
        return _Reply(200, self._webhook_body(webhook, with_secret=True))

    def _webhook_get(self, account: FakeAccount, **_: Any) -> _Reply:
        if not account.webhook:
            raise _error(404, "No webhook configured")
        return _Reply(200, self._webhook_body(account.webhook, with_secret=False))

    def _webhook_delete(self, account: FakeAccount, **_: Any) -> _Reply:
        if not account.webhook:
            raise _error(404, "No webhook configured")
        account.webhook = None
        return _Reply(204)

    @staticmethod
    def _names(values: list[str] | None) -> set[str] | None:
        names = {n.strip() for value in values or [] for n in value.split(",") if n.strip()}
        return names or None

    def _wanted(self, token: str, event: dict, names: set[str] | None, tasks: set[str] | None) -> bool:
        data = event["data"]
        return (names is None or event["name"] in names) and (
            tasks is None or (data.get("id_task") or data.get("job_id")) in tasks
        )

    def _notifications(self, account: FakeAccount, payload: Any, **_: Any) -> _Reply:
        payload = payload if isinstance(payload, dict) else {}
        names, tasks = payload.get("name_list"), payload.get("id_task")
        names = {names} if isinstance(names, str) else set(names) if isinstance(names, list) else None
        tasks = (
            {tasks} if isinstance(tasks, str) else set(tasks) if isinstance(tasks, list) and tasks else None
        )
        events = [n["event"] for n in self.notifications.values() if n["token"] == account.token]
        return _Reply(200, [e for e in events if self._wanted(account.token, e, names, tasks)])

    def _notification_delete(self, account: FakeAccount, nid: str, **_: Any) -> _Reply:
        stored = self.notifications.get(int(nid)) if nid.isdigit() else None
        if stored is None or stored["token"] != account.token:
            raise _error(404, "Notification not found")
        del self.notifications[int(nid)]
        return _Reply(200, {"success": True})

    def _events(self, h: "_Handler", account: FakeAccount, query: dict) -> None:
        names = self._names(query.get("name_list"))
        tasks = self._names(query.get("id_task"))
        subscriber = {"token": account.token, "queue": queue.Queue(), "drop": False}
        with self.lock:
            # Subscribe before taking the backfill so nothing falls between the two; ids dedupe the overlap.
            self._subscribers.append(subscriber)
            cutoff = self.clock.now() - BACKFILL_AGE_S
            backfill = sorted(
                (
                    n["event"]
                    for n in self.notifications.values()
                    if n["token"] == account.token and n["event"]["timestamp"] >= cutoff
                ),
                key=lambda e: e["id"],
            )
        sent: set[int] = set()
        try:
            h.start_stream()
            for event in backfill:
                if self._wanted(account.token, event, names, tasks):
                    h.write_event(json.dumps(event), "backfill")
                sent.add(event["id"])
            h.write_event("{}", "backfill_complete")
            last_write = time.monotonic()
            while not self._stop.is_set():
                if subscriber["drop"]:
                    h.abort()
                    return None
                try:
                    event = subscriber["queue"].get(timeout=0.02)
                except queue.Empty:
                    if time.monotonic() - last_write >= self.keepalive_interval:
                        h.write_raw(b":keepalive\n\n")
                        last_write = time.monotonic()
                    continue
                if event["id"] in sent or not self._wanted(account.token, event, names, tasks):
                    continue
                sent.add(event["id"])
                with self.lock:
                    still_there = event["id"] in self.notifications
                if still_there:  # deleted meanwhile: the live channel skips it too
                    h.write_event(json.dumps(event))
                    last_write = time.monotonic()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return None
        finally:
            with self.lock:
                self._subscribers.remove(subscriber)
        return None


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the fake; writes plain, streamed and aborted answers."""

    fake: FakePiktid
    consumed = False  # whether the request body has been read
    protocol_version = "HTTP/1.0"  # every answer closes its connection: simple, and SSE needs no chunking

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.fake._handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def read_body(self) -> bytes:
        self.consumed = True
        length = self.headers.get("Content-Length")
        if length and length.isdigit():
            return self.rfile.read(int(length))
        return b""

    def drain(self) -> None:
        # An upload refused before its body was read: read it away first, so the client sees our answer
        # instead of a connection closed under its feet.
        self.consumed = True
        length = self.headers.get("Content-Length", "")
        remaining = int(length) if length.isdigit() else 0
        while remaining > 0 and (chunk := self.rfile.read(min(remaining, 256 * 1024))):
            remaining -= len(chunk)

    def reply(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if not self.consumed:
            self.drain()
        if isinstance(body, bytes):
            data, content_type = body, "application/octet-stream"
        elif isinstance(body, str):
            data, content_type = body.encode(), "text/plain"
        elif body is None:
            data, content_type = b"", None
        else:
            data, content_type = json.dumps(body).encode(), "application/json"
        self.send_response(status)
        if content_type and not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", content_type)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def abort(self) -> None:
        # SO_LINGER 0: close with a TCP reset, as a crashed proxy or a dropped link would.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        self.close_connection = True

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()

    def write_event(self, data: str, event: str | None = None) -> None:
        self.write_raw((f"event: {event}\n" if event else "").encode() + f"data: {data}\n\n".encode())

    def write_raw(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake PiktID v2 API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", default=None, help="an accepted token (repeatable)")
    parser.add_argument("--credits", type=float, default=1000.0)
    parser.add_argument("--output-delay", type=float, default=2.0, help="seconds per output")
    args = parser.parse_args()
    fake = FakePiktid(port=args.port, output_delay=args.output_delay).start()
    for token in args.token or ["demo"]:
        fake.add_account(token, credits=args.credits)
    print(f"fake PiktID on {fake.base_url} (tokens: {', '.join(args.token or ['demo'])})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
