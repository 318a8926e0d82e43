import email.utils
import io
import json
import logging
import socket
import time
import zipfile

import httpx
import pytest
from PIL import Image

from packshots.engines.piktid import webhooks
from packshots.engines.piktid.client import (
    ImageRef,
    PiktidClient,
    UploadSlot,
    parse_retry_after,
)
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
from tests.piktid.fixtures import FAKE_TOKEN

pytestmark = pytest.mark.pure

TOKEN = "tok_SECRET_5f1e2d3c4b5a"
INSTRUCTION = {"style": "ghost_mannequin", "num_variations": 2, "options": {"size": "2K", "format": "png"}}


def mock_client(handler, **kwargs) -> PiktidClient:
    return PiktidClient(TOKEN, base_url="https://api.test", transport=httpx.MockTransport(handler), **kwargs)


def jpeg(size=(24, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def uploaded(piktid: PiktidClient, name: str = "front.jpg") -> str:
    data = jpeg()
    return piktid.upload(name, lambda: io.BytesIO(data), len(data))


def create(piktid: PiktidClient, project_id: str, file_id: str) -> str:
    images = [ImageRef(file_id)]
    job = piktid.create_packshot(
        project_id=project_id, images=images, instructions=[INSTRUCTION], options={}, post_process=False
    )
    return job.job_id


def start_job(piktid: PiktidClient, instructions=None, **kwargs) -> tuple[str, str]:
    project = piktid.project_create("Spring")
    file_id = uploaded(piktid)
    job = piktid.create_packshot(
        project_id=project.id,
        images=[ImageRef(file_id)],
        instructions=instructions or [INSTRUCTION],
        options={"model": "auto"},
        post_process=False,
        **kwargs,
    )
    return project.id, job.job_id


# ---- status → error mapping (MockTransport)


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (400, {"error": "Invalid style", "detail": []}, PiktidBadRequestError),
        (401, {"error": "Invalid token", "detail": []}, PiktidAuthError),
        (402, {"error": "Insufficient credits to create job"}, PiktidInsufficientCreditsError),
        (403, {"error": "Output size exceeds your plan's policy", "detail": []}, PiktidForbiddenError),
        (404, {"error": "Project not found", "detail": []}, PiktidNotFoundError),
        (409, {"error": "Project already exists", "detail": []}, PiktidConflictError),
        (429, {"error": "Rate limit exceeded", "detail": []}, PiktidRateLimitError),
        (500, {"error": "Internal server error", "detail": []}, PiktidServerError),
        (502, "<html>Bad gateway</html>", PiktidServerError),
    ],
)
def test_each_status_raises_its_error_with_the_servers_text(status, body, error_class):
    def handler(request):
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    with mock_client(handler) as client, pytest.raises(error_class) as caught:
        client.create_packshot(project_id="p", images=[], instructions=[], options={}, post_process=False)
    error = caught.value
    assert error.status == status
    expected = body["error"] if isinstance(body, dict) else body
    assert expected in str(error)
    assert "/create-packshot" in str(error)
    assert error.body == body


def test_an_unexpected_status_is_a_plain_error_that_is_not_retried():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(418, json={"error": "I'm a teapot"})

    with mock_client(handler) as client, pytest.raises(PiktidError) as caught:
        client.me()
    assert type(caught.value) is PiktidError
    assert not caught.value.retryable
    assert len(calls) == 1


def test_a_plain_detail_string_is_the_message():
    with (
        mock_client(lambda r: httpx.Response(404, json={"detail": "Not Found"})) as client,
        pytest.raises(PiktidNotFoundError, match=r"GET /jobs/j/status: Not Found$"),
    ):
        client.job_status("j")


def test_bad_request_carries_the_field_details():
    detail = [
        {"field": "instructions[0].style", "message": "style must be one of …", "position": "body"},
        {"field": None, "message": "something else", "position": "query"},
    ]

    def handler(request):
        return httpx.Response(400, json={"error": "Invalid request", "detail": detail})

    with mock_client(handler) as client, pytest.raises(PiktidBadRequestError) as caught:
        client.create_packshot(project_id="p", images=[], instructions=[], options={}, post_process=False)
    assert caught.value.details == detail
    assert "instructions[0].style: style must be one of …" in str(caught.value)


def test_insufficient_credits_carries_the_three_numbers():
    body = {
        "error": "Insufficient credits to create job",
        "required_credits": 20.0,
        "in_progress_credits": 5.0,
        "user_credits": 12.0,
    }

    def handler(request):
        return httpx.Response(402, json=body)

    with mock_client(handler) as client, pytest.raises(PiktidInsufficientCreditsError) as caught:
        client.create_packshot(project_id="p", images=[], instructions=[], options={}, post_process=False)
    error = caught.value
    assert (error.required_credits, error.in_progress_credits, error.user_credits) == (20.0, 5.0, 12.0)
    assert "required 20, in progress 5, available 12" in str(error)


def test_insufficient_credits_without_numbers_has_none():
    with (
        mock_client(lambda r: httpx.Response(402, json={"error": "Insufficient credits"})) as client,
        pytest.raises(PiktidInsufficientCreditsError) as caught,
    ):
        client.create_packshot(project_id="p", images=[], instructions=[], options={}, post_process=False)
    assert caught.value.required_credits is None
    assert caught.value.user_credits is None


# ---- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", 30.0),
        (" 12 ", 12.0),
        ("0", 1.0),
        ("-5", 1.0),
        ("100000", 300.0),
        ("2.5", 2.5),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: not an HTTP-date
    ],
)
def test_retry_after_is_parsed_and_clamped(value, expected):
    assert parse_retry_after(value) == expected


def test_retry_after_http_date_is_seconds_from_now():
    now = 1_800_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 45, usegmt=True), now=now) == pytest.approx(45.0)
    assert parse_retry_after(email.utils.formatdate(now - 600, usegmt=True), now=now) == 1.0
    assert parse_retry_after(email.utils.formatdate(now + 86400, usegmt=True), now=now) == 300.0


def test_rate_limit_error_reads_retry_after_as_delta_or_date():
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "30"}, json={"error": "slow down"}),
            httpx.Response(
                429, headers={"Retry-After": email.utils.formatdate(time.time() + 90, usegmt=True)}, json={}
            ),
            httpx.Response(429, json={"error": "no header"}),
        ]
    )
    with mock_client(lambda r: next(answers)) as client:
        retry_afters = []
        for _ in range(3):
            with pytest.raises(PiktidRateLimitError) as caught:
                client.me()
            retry_afters.append(caught.value.retry_after)
    assert retry_afters[0] == 30.0
    assert 85 <= retry_afters[1] <= 90
    assert retry_afters[2] is None


# ---- retries


def test_idempotent_calls_retry_5xx_until_success():
    answers = iter([httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"credits": 4})])
    calls = []

    def handler(request):
        calls.append(request)
        return next(answers)

    with mock_client(handler) as client:
        assert client.me().credits == 4.0
    assert len(calls) == 3


def test_retries_are_bounded_by_attempts():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(500, json={"error": "down"})

    with mock_client(handler, attempts=4) as client, pytest.raises(PiktidServerError):
        client.job_status("job_1")
    assert len(calls) == 4


def test_connection_errors_are_retried_and_reported_not_sent():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    with mock_client(handler, attempts=3) as client, pytest.raises(PiktidConnectionError) as caught:
        client.webhook_get()
    assert len(calls) == 3
    assert caught.value.maybe_sent is False


def test_rate_limit_is_raised_at_once_without_retrying():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(429, json={"error": "limit"})

    with mock_client(handler) as client, pytest.raises(PiktidRateLimitError):
        client.job_results("job_1")
    assert len(calls) == 1


@pytest.mark.parametrize(
    "failure",
    [
        lambda request: httpx.Response(503, json={"error": "down"}),
        lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("timed out", request=request)),
    ],
)
def test_create_packshot_and_regenerate_are_never_retried(failure):
    calls = []

    def handler(request):
        calls.append(request.url.path)
        return failure(request)

    with mock_client(handler, attempts=5) as client:
        with pytest.raises((PiktidServerError, PiktidConnectionError)) as caught:
            client.create_packshot(project_id="p", images=[], instructions=[], options={}, post_process=False)
        if isinstance(caught.value, PiktidConnectionError):
            assert caught.value.maybe_sent is True
        with pytest.raises((PiktidServerError, PiktidConnectionError)):
            client.regenerate("job_1", group_index=0, image_index=1)
    assert calls == ["/create-packshot", "/jobs/job_1/regenerate/1"]


def test_every_request_carries_explicit_timeouts():
    seen = []

    def handler(request):
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"credits": 1})

    with mock_client(handler) as client:
        client.me()
    assert seen == [{"connect": 5.0, "read": 30.0, "write": 60.0, "pool": 5.0}]


# ---- the token never leaks


def test_token_never_appears_in_messages_reprs_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    answers = iter(
        [
            httpx.Response(401, json={"error": "Invalid token", "detail": []}),
            httpx.Response(402, json={"error": "Insufficient credits", "required_credits": 3}),
            httpx.Response(500, text="oops"),
        ]
    )

    def handler(request):
        if request.url.path == "/down":
            raise httpx.ConnectError("refused", request=request)
        return next(answers)

    errors = []
    with mock_client(handler, attempts=1) as client:
        create = client.create_packshot
        for call in (
            client.me,
            lambda: create(project_id="p", images=[], instructions=[], options={}, post_process=True),
            lambda: client.job_status("j"),
            lambda: client._call("GET", "/down?token=" + TOKEN, retry=True),
        ):
            with pytest.raises(PiktidError) as caught:
                call()
            errors.append(caught.value)
        texts = [repr(client), *(str(e) for e in errors), *(repr(e) for e in errors), caplog.text]
    assert len(errors) == 4
    assert all(TOKEN not in text for text in texts)
    assert isinstance(errors[0], PiktidAuthError)
    assert "token invalid or expired" in str(errors[0])


# ---- pre-signed PUT


def test_put_file_streams_with_content_length_and_no_authorization():
    seen = {}
    data = b"\xff\xd8" + b"x" * 300_000

    def handler(request):
        seen["headers"] = request.headers
        seen["body"] = request.read()
        return httpx.Response(200)

    slot = UploadSlot("https://s3.test/bucket/abc?X-Amz-Signature=1", "abc", "image/jpeg", "a.jpg")
    with mock_client(handler) as client:
        client.put_file(slot, io.BytesIO(data), len(data))
    headers = seen["headers"]
    assert headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in headers
    assert "authorization" not in headers
    assert headers["content-type"] == "image/jpeg"
    assert seen["body"] == data


def test_put_file_refuses_a_body_shorter_than_announced():
    def handler(request):
        request.read()
        return httpx.Response(200)

    slot = UploadSlot("https://s3.test/abc", "abc", "image/jpeg", "a.jpg")
    with mock_client(handler) as client, pytest.raises(PiktidError):
        client.put_file(slot, io.BytesIO(b"short"), 100)


def test_put_file_counts_only_200_and_201_as_stored():
    slot = UploadSlot("https://s3.test/abc", "abc", "image/jpeg", "a.jpg")
    no_content = mock_client(lambda r: httpx.Response(204))
    with no_content, pytest.raises(PiktidError, match="only 200/201"):
        no_content.put_file(slot, io.BytesIO(b"abc"), 3)
    with mock_client(lambda r: httpx.Response(201)) as client:
        client.put_file(slot, io.BytesIO(b"abc"), 3)


# ---- fetch_file: SSRF


@pytest.fixture
def resolver(monkeypatch):
    """Pretend DNS: cdn.example.com is public, the others resolve to private ranges."""
    table = {
        "cdn.example.com": "93.184.216.34",
        "internal.example.com": "10.1.2.3",
        "rebind.example.com": "127.0.0.1",
        "metadata.example.com": "169.254.169.254",
    }
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.example.com/a.jpg",
        "ftp://cdn.example.com/a.jpg",
        "https://127.0.0.1/a.jpg",
        "https://[::1]/a.jpg",
        "https://[::ffff:127.0.0.1]/a.jpg",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/a.jpg",
        "https://192.168.1.1/a.jpg",
        "https://0.0.0.0/a.jpg",
        "https://internal.example.com/a.jpg",
        "https://rebind.example.com/a.jpg",
        "https://metadata.example.com/a.jpg",
        "https:///a.jpg",
    ],
)
def test_fetch_file_refuses_unsafe_urls_without_sending(resolver, url):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(200, content=b"secret")

    dest = io.BytesIO()
    with mock_client(handler) as client, pytest.raises(UnsafeUrlError):
        client.fetch_file(url, dest, max_bytes=1000)
    assert calls == []
    assert dest.getvalue() == b""


def test_fetch_file_downloads_a_public_https_url_without_authorization(resolver):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, content=b"jpeg-bytes")

    dest = io.BytesIO()
    with mock_client(handler) as client:
        assert client.fetch_file("https://cdn.example.com/out.jpg", dest, max_bytes=100) == 10
    assert dest.getvalue() == b"jpeg-bytes"
    assert "authorization" not in seen[0].headers


def test_fetch_file_refuses_a_redirect_to_a_private_address(resolver):
    calls = []

    def handler(request):
        calls.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://169.254.169.254/latest/meta-data/"})

    with mock_client(handler) as client, pytest.raises(UnsafeUrlError):
        client.fetch_file("https://cdn.example.com/out.jpg", io.BytesIO(), max_bytes=100)
    assert calls == ["https://cdn.example.com/out.jpg"]


def test_fetch_file_follows_at_most_three_redirects(resolver):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(302, headers={"Location": f"/hop{len(calls)}"})

    with mock_client(handler) as client, pytest.raises(UnsafeUrlError, match="redirects"):
        client.fetch_file("https://cdn.example.com/out.jpg", io.BytesIO(), max_bytes=100)
    assert len(calls) == 4


@pytest.mark.parametrize("declared", [True, False])
def test_fetch_file_aborts_a_body_over_max_bytes_and_discards_it(resolver, declared):
    def handler(request):
        body = b"x" * 5000
        if declared:
            return httpx.Response(200, content=body)
        return httpx.Response(200, content=iter([body[:2500], body[2500:]]))  # no Content-Length

    dest = io.BytesIO(b"keep")
    dest.seek(4)
    with mock_client(handler) as client, pytest.raises(UnsafeUrlError, match="cap"):
        client.fetch_file("https://cdn.example.com/big.jpg", dest, max_bytes=4096)
    assert dest.getvalue() == b"keep"


def test_fetch_file_allows_the_base_host_on_loopback(fake_piktid, piktid):
    _, job_id = start_job(piktid)
    fake_piktid.finish(job_id)
    result = piktid.job_results(job_id).results[0]
    dest = io.BytesIO()
    written = piktid.fetch_file(result.full_size_url, dest, max_bytes=1_000_000)
    assert written == len(dest.getvalue()) > 0
    image = Image.open(io.BytesIO(dest.getvalue()))
    assert (image.format, image.size) == ("PNG", (128, 128))  # 2K square, at 1/16 scale


def test_fetch_file_refuses_a_foreign_http_host_and_a_redirect_to_loopback(fake_piktid, piktid):
    with pytest.raises(UnsafeUrlError):
        piktid.fetch_file("http://example.com/x.jpg", io.BytesIO(), max_bytes=100)
    # Same IP as the fake but another port: not the configured base host.
    other_port = fake_piktid.base_url.rsplit(":", 1)[0] + ":9/x.jpg"
    with pytest.raises(UnsafeUrlError):
        piktid.fetch_file(other_port, io.BytesIO(), max_bytes=100)
    fake_piktid.fail_next("GET", "/cdn/", 302, headers={"Location": "http://127.0.0.1:9/private"})
    with pytest.raises(UnsafeUrlError):
        piktid.fetch_file(fake_piktid.url("/cdn/job/0_0_v0.jpg"), io.BytesIO(), max_bytes=100)


def test_fetch_file_over_max_bytes_from_the_fake_is_refused(fake_piktid, piktid):
    _, job_id = start_job(piktid)
    fake_piktid.finish(job_id)
    url = piktid.job_results(job_id).results[0].full_size_url
    dest = io.BytesIO()
    with pytest.raises(UnsafeUrlError):
        piktid.fetch_file(url, dest, max_bytes=50)
    assert dest.getvalue() == b""


# ---- every call against the fake server


def test_me_reads_the_balance(piktid):
    account = piktid.me()
    assert (account.credits, account.email, account.username) == (1000.0, "buyer@example.com", "buyer")


def test_unknown_token_is_an_auth_error(fake_piktid):
    with (
        PiktidClient("not-a-token", base_url=fake_piktid.base_url) as client,
        pytest.raises(PiktidAuthError) as caught,
    ):
        client.me()
    assert caught.value.status == 401
    assert "not-a-token" not in str(caught.value)


def test_project_create_then_409_reuses_the_id_from_the_body(fake_piktid, piktid):
    first = piktid.project_create("Spring")
    again = piktid.project_create("Spring")
    assert first.id == again.id
    assert fake_piktid.count("GET", "/project") == 0


def test_project_create_409_without_id_pages_the_project_list(fake_piktid, piktid):
    for n in range(130):
        fake_piktid.add_project(FAKE_TOKEN, f"filler {n}")
    key = fake_piktid.add_project(FAKE_TOKEN, "Spring")
    fake_piktid.conflict_includes_id = False
    assert piktid.project_create("Spring").id == key
    pages = [r.query["page"] for r in fake_piktid.requests_to("GET", "/project")]
    assert pages == [["1"], ["2"]]


def test_upload_pushes_the_bytes_with_content_length_and_no_token(fake_piktid, piktid):
    data = jpeg()
    file_id = piktid.upload("front.jpg", lambda: io.BytesIO(data), len(data))
    assert fake_piktid.files[file_id]["data"] == data
    (put,) = fake_piktid.requests_to("PUT", "/s3/")
    assert put.headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in put.headers
    assert "authorization" not in put.headers
    assert put.headers["content-type"] == "image/jpeg"


def test_upload_asks_a_new_url_and_resends_everything_when_the_put_fails(fake_piktid, piktid):
    data = jpeg()
    fake_piktid.fail_next("PUT", "/s3/", 403)  # as an expired URL answers
    fake_piktid.fail_next("PUT", "/s3/", 0)  # then a reset connection
    opened = []

    def open_file():
        opened.append(1)
        return io.BytesIO(data)

    file_id = piktid.upload("front.jpg", open_file, len(data))
    assert fake_piktid.files[file_id]["data"] == data
    assert fake_piktid.count("POST", "/upload") == 3
    assert len(opened) == 3


def test_upload_of_an_expired_url_is_forbidden(fake_piktid, piktid):
    slot = piktid.upload_url("front.png")
    assert slot.content_type == "image/png"
    fake_piktid.clock.advance(fake_piktid.upload_ttl + 1)
    with pytest.raises(PiktidForbiddenError):
        piktid.put_file(slot, io.BytesIO(b"png"), 3)


def test_create_packshot_sends_notes_only_for_annotated_images(fake_piktid, piktid):
    project = piktid.project_create("Spring")
    front, back = uploaded(piktid, "front.jpg"), uploaded(piktid, "back.jpg")
    job = piktid.create_packshot(
        project_id=project.id,
        images=[ImageRef(front, "front view"), ImageRef(back)],
        instructions=[INSTRUCTION, {"style": "flat_lay"}],
        options={"model": "auto"},
        post_process=True,
    )
    assert job.status == "pending"
    assert job.total_outputs == 3
    assert job.raw["message"] == "Job created successfully"
    sent = fake_piktid.creations()[0].json()
    assert sent["images"] == [{"file_id": front, "note": "front view"}, back]
    assert sent["post_process"] is True


def test_create_packshot_bad_request_names_the_field(piktid):
    with pytest.raises(PiktidBadRequestError) as caught:
        start_job(piktid, instructions=[{"style": "polaroid"}])
    assert caught.value.details[0]["field"] == "instructions[0].style"


def test_create_packshot_without_credits_reports_the_numbers(fake_piktid, piktid):
    fake_piktid.accounts[FAKE_TOKEN].credits = 7
    with pytest.raises(PiktidInsufficientCreditsError) as caught:
        start_job(piktid)  # 2 outputs at 2K = 10 credits
    assert (caught.value.required_credits, caught.value.user_credits) == (10.0, 7.0)
    assert caught.value.in_progress_credits == 0.0


def test_create_packshot_custom_size_without_policy_is_forbidden(piktid):
    custom = {"style": "white_cutout", "options": {"width": 800, "height": 1200}}
    with pytest.raises(PiktidForbiddenError):
        start_job(piktid, instructions=[custom])


def test_create_packshot_unknown_project_is_not_found(piktid):
    file_id = uploaded(piktid)
    with pytest.raises(PiktidNotFoundError):
        create(piktid, "prj_nope", file_id)


def test_sixth_creation_in_a_minute_is_rate_limited(fake_piktid, piktid):
    fake_piktid.output_delay = 0.001
    project_id, job_id = start_job(piktid)
    file_id = fake_piktid.jobs[job_id]["request"]["images"][0]
    for _ in range(4):
        create(piktid, project_id, file_id)
    with pytest.raises(PiktidRateLimitError) as caught:
        create(piktid, project_id, file_id)
    assert caught.value.status == 429
    assert len(fake_piktid.creations()) == 6


def test_lost_create_answer_can_be_found_in_the_gallery(fake_piktid, piktid):
    fake_piktid.fail_next("POST", "/create-packshot", 0, after=True)
    with pytest.raises(PiktidConnectionError) as caught:
        start_job(piktid)
    assert caught.value.maybe_sent is True
    (created,) = fake_piktid.jobs
    project_id = fake_piktid.jobs[created]["project"]["key"]
    assert [j.job_id for j in piktid.gallery_jobs(project_id=project_id)] == [created]
    assert fake_piktid.count("POST", "/create-packshot") == 1


def test_job_status_404_just_after_creation_then_found(fake_piktid, piktid):
    fake_piktid.status_404_calls = 2
    _, job_id = start_job(piktid)
    for _ in range(2):
        with pytest.raises(PiktidNotFoundError):
            piktid.job_status(job_id)
    status = piktid.job_status(job_id)
    assert status.job_id == job_id
    assert status.total_images == 2


def test_job_status_retries_5xx(fake_piktid, piktid):
    _, job_id = start_job(piktid)
    fake_piktid.fail_next("GET", f"/jobs/{job_id}/status", 503, times=2)
    assert piktid.job_status(job_id).job_id == job_id
    assert fake_piktid.count("GET", f"/jobs/{job_id}/status") == 3


def test_a_hanging_server_times_out_as_a_connection_error(fake_piktid):
    fake_piktid.delay_next("GET", "/auth/me", 1.0)
    timeout = httpx.Timeout(connect=1.0, read=0.2, write=1.0, pool=1.0)
    with (
        PiktidClient(FAKE_TOKEN, base_url=fake_piktid.base_url, timeout=timeout, attempts=1) as client,
        pytest.raises(PiktidConnectionError) as caught,
    ):
        client.me()
    assert caught.value.maybe_sent is True
    assert "ReadTimeout" in str(caught.value)


def test_results_are_partial_while_processing_and_carry_output_details(fake_piktid, piktid):
    fake_piktid.output_delay = None
    fake_piktid.plan_next_job(failed_outputs={(0, 1): "Content refused by the engine"})
    _, job_id = start_job(piktid)
    fake_piktid.advance(job_id)
    partial = piktid.job_results(job_id)
    assert partial.status == "processing"
    assert [r.status for r in partial.results] == ["completed", "pending"]
    done = partial.results[0]
    assert done.full_size_url.endswith("/0_0_v0.png")
    assert done.thumbnail_url.endswith("_thumb.jpg")
    assert (done.model_used, done.output_format, done.version) == ("nano_banana_pro", "png", 0)
    assert done.quality_score is not None
    fake_piktid.advance(job_id)
    final = piktid.job_results(job_id)
    assert final.status == "completed"
    assert final.credits_used == 10.0
    failed = final.results[1]
    assert (failed.status, failed.error_message, failed.full_size_url) == (
        "failed",
        "Content refused by the engine",
        None,
    )
    assert final.raw["summary"]["failed"] == 1
    status = piktid.job_status(job_id)
    assert (status.status, status.progress, status.processed_images, status.is_terminal) == (
        "completed",
        100.0,
        2,
        True,
    )


def test_a_failed_job_reports_its_error_message(fake_piktid, piktid):
    fake_piktid.output_delay = None
    _, job_id = start_job(piktid)
    fake_piktid.fail_job(job_id, "Engine unavailable")
    status = piktid.job_status(job_id)
    assert (status.status, status.error_message) == ("failed", "Engine unavailable")
    assert piktid.job_results(job_id).error_message == "Engine unavailable"


def test_regenerate_adds_a_version_and_results_show_the_latest(fake_piktid, piktid):
    fake_piktid.output_delay = None
    _, job_id = start_job(piktid)
    fake_piktid.finish(job_id)
    piktid.regenerate(job_id, group_index=0, image_index=1)
    assert piktid.versions(job_id, 1)[-1].status == "pending"
    fake_piktid.advance(job_id)
    versions = piktid.versions(job_id, 1)
    assert [(v.version, v.status) for v in versions] == [(0, "completed"), (1, "completed")]
    latest = {(r.group_index, r.image_index): r.version for r in piktid.job_results(job_id).results}
    assert latest == {(0, 0): 0, (0, 1): 1}


def test_regenerate_of_an_unknown_output_is_not_found(fake_piktid, piktid):
    _, job_id = start_job(piktid)
    fake_piktid.finish(job_id)
    with pytest.raises(PiktidNotFoundError):
        piktid.regenerate(job_id, group_index=3, image_index=0)


def test_gallery_lists_the_projects_jobs_newest_first(fake_piktid, piktid):
    project_id, first = start_job(piktid)
    _, second = start_job(piktid)
    other = piktid.project_create("Other")
    file_id = uploaded(piktid)
    create(piktid, other.id, file_id)
    jobs = piktid.gallery_jobs(project_id=project_id)
    assert [j.job_id for j in jobs] == [second, first]
    assert {j.job_type for j in jobs} == {"create_packshot"}
    assert jobs[0].total_images == 2


def test_webhook_put_get_delete(fake_piktid, piktid):
    delivered = []
    fake_piktid.deliver = lambda url, body, headers: delivered.append((body, headers)) or 200
    assert piktid.webhook_get() is None
    created = piktid.webhook_put("https://app.example.com/webhooks/piktid/k/")
    assert created.secret
    rotated = piktid.webhook_put("https://app.example.com/webhooks/piktid/k/")
    assert rotated.secret != created.secret
    fake_piktid.wait_for(lambda: len(delivered) == 2)
    body, headers = delivered[1]
    webhooks.verify(body, headers["X-Webhook-Signature"], [rotated.secret])
    assert webhooks.parse_event(body).name == "ping"
    fake_piktid.wait_for(lambda: (piktid.webhook_get() or created).last_response_status == 200)
    stored = piktid.webhook_get()
    assert (stored.url, stored.secret, stored.is_active) == (created.url, None, True)
    piktid.webhook_delete()
    assert piktid.webhook_get() is None
    piktid.webhook_delete()  # already gone: fine


def test_notifications_list_and_delete(fake_piktid, piktid):
    fake_piktid.output_delay = None
    _, job_id = start_job(piktid)
    fake_piktid.finish(job_id)
    events = piktid.notifications(job_ids=[job_id])
    names = [e.name for e in events]
    assert names.count("image_result") == 2
    assert names[-1] == "batch_edit"
    assert events[-1].data == {
        "id_task": job_id,
        "job_id": job_id,
        "status": "completed",
        "total_images": 2,
        "processed_images": 2,
    }
    only_batch = piktid.notifications(job_ids=[job_id], names=["batch_edit"])
    assert {e.name for e in only_batch} == {"batch_edit"}
    piktid.notification_delete(events[0].id)
    assert events[0].id not in [e.id for e in piktid.notifications(job_ids=[job_id])]
    piktid.notification_delete(events[0].id)  # already gone: fine
    assert piktid.notifications(job_ids=["job_of_someone_else"]) == []


def test_stream_gives_backfill_then_complete_then_live_events_skipping_keepalives(fake_piktid, piktid):
    fake_piktid.output_delay = None
    fake_piktid.keepalive_interval = 0.02
    _, job_id = start_job(piktid)
    backlog = [n.id for n in piktid.notifications()]
    kinds, ids = [], []
    stream = piktid.notification_stream()
    for event in stream:
        kinds.append(event.kind)
        if event.notification:
            ids.append(event.notification.id)
        if event.kind == "backfill_complete":
            time.sleep(0.1)  # several keepalives go by
            fake_piktid.advance(job_id)
        if event.kind == "live" and event.notification.name == "image_result":
            break
    stream.close()
    assert kinds[: len(backlog) + 1] == ["backfill"] * len(backlog) + ["backfill_complete"]
    assert ids[: len(backlog)] == backlog
    assert set(kinds[len(backlog) + 1 :]) == {"live"}


def test_stream_filters_by_name(fake_piktid, piktid):
    fake_piktid.output_delay = None
    _, job_id = start_job(piktid)
    fake_piktid.finish(job_id)
    stream = piktid.notification_stream(names=["image_result"])
    backfill = []
    for event in stream:
        if event.kind == "backfill_complete":
            break
        backfill.append(event.notification.name)
    stream.close()
    assert backfill == ["image_result", "image_result"]


def test_stream_drop_raises_a_connection_error(fake_piktid, piktid):
    stream = piktid.notification_stream()
    assert next(stream).kind == "backfill_complete"
    fake_piktid.drop_streams()
    with pytest.raises(PiktidConnectionError):
        next(stream)


def test_stream_with_a_bad_token_is_an_auth_error(fake_piktid):
    with (
        PiktidClient("nope", base_url=fake_piktid.base_url) as client,
        pytest.raises(PiktidAuthError),
    ):
        next(client.notification_stream())


def test_download_zip_holds_the_latest_outputs(fake_piktid, piktid):
    # POST /download is not in our client (the app zips its own copies); checked here with plain httpx.
    _, job_id = start_job(piktid)
    fake_piktid.finish(job_id)
    headers = {"Authorization": f"Bearer {FAKE_TOKEN}"}
    answer = httpx.post(fake_piktid.url("/download"), json={"job_id": job_id}, headers=headers).json()
    archive = httpx.get(answer["download_url"])
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert names == ["output_0_0_v0.png", "output_0_1_v0.png"]
    assert answer["expires"].endswith("Z")


def test_client_and_dataclass_reprs_hide_secrets(fake_piktid, piktid):
    slot = piktid.upload_url("front.jpg")
    webhook = piktid.webhook_put("https://app.example.com/hook")
    assert "signature" not in repr(slot)
    assert webhook.secret not in repr(webhook)
    assert FAKE_TOKEN not in repr(piktid)
    assert json.dumps(fake_piktid.accounts[FAKE_TOKEN].webhook["secret"]) not in repr(webhook)


def test_project_create_retried_after_a_lost_answer_reuses_the_project(fake_piktid, piktid):
    fake_piktid.fail_next("POST", "/project", 502, after=True)  # made, but the answer is lost
    project = piktid.project_create("Spring")
    assert [p["key"] for p in fake_piktid.projects.values()] == [project.id]
    assert fake_piktid.count("POST", "/project") == 2


def test_fetch_file_retry_starts_the_file_again(fake_piktid, piktid):
    _, job_id = start_job(piktid)
    fake_piktid.finish(job_id)
    url = piktid.job_results(job_id).results[0].full_size_url
    expected = httpx.get(url).content
    fake_piktid.fail_next("GET", "/cdn/", 503)
    dest = io.BytesIO()
    assert piktid.fetch_file(url, dest, max_bytes=1_000_000) == len(expected)
    assert dest.getvalue() == expected


def test_stream_refused_with_a_5xx_is_a_server_error(fake_piktid, piktid):
    fake_piktid.fail_next("GET", "/notifications/events", 503)
    with pytest.raises(PiktidServerError):
        next(piktid.notification_stream())


def test_fetch_file_refuses_a_name_that_rebinds_to_a_private_address_at_connect_time(resolver):
    # cdn.example.com passed the check as a public address, but the connection went to loopback.
    class Stream:
        def get_extra_info(self, name):
            return ("127.0.0.1", 443) if name == "server_addr" else None

    def handler(request):
        return httpx.Response(200, content=b"internal", extensions={"network_stream": Stream()})

    dest = io.BytesIO()
    with mock_client(handler) as client, pytest.raises(UnsafeUrlError, match="connected to non-public"):
        client.fetch_file("https://cdn.example.com/out.jpg", dest, max_bytes=100)
    assert dest.getvalue() == b""


def test_stream_skips_an_event_a_json_column_could_not_store(fake_piktid, piktid, caplog):
    fake_piktid.publish(FAKE_TOKEN, "batch_edit", {"id_task": "job_x", "score": float("nan")})
    fake_piktid.publish(FAKE_TOKEN, "batch_edit", {"id_task": "job_x", "status": "a\x00b"})
    kept = fake_piktid.publish(FAKE_TOKEN, "batch_edit", {"id_task": "job_x", "status": "processing"})
    stream = piktid.notification_stream()
    backfill = []
    for event in stream:
        if event.kind == "backfill_complete":
            break
        backfill.append(event.notification.id)
    stream.close()
    assert backfill == [kept["id"]] and "skipped an event" in caplog.text
