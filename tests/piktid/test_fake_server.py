"""Checks of the fake PiktID server's own behaviour (what other tests rely on), with plain httpx."""

import hashlib
import hmac
import io
import json

import httpx
import pytest
from PIL import Image

from tests.piktid.fake_server import FakePiktid
from tests.piktid.fixtures import FAKE_TOKEN

pytestmark = pytest.mark.pure

AUTH = {"Authorization": f"Bearer {FAKE_TOKEN}"}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64
HTTP = httpx.Client(timeout=5)  # one client: httpx.get() and friends build a TLS context per call


@pytest.fixture(scope="module", autouse=True)
def close_http():
    yield
    HTTP.close()


def api(fake: FakePiktid, method: str, path: str, **kwargs) -> httpx.Response:
    return HTTP.request(method, fake.url(path), headers=AUTH, timeout=5, **kwargs)


def upload(fake: FakePiktid, token: str = FAKE_TOKEN) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    slot = HTTP.post(fake.url("/upload"), json={"filename": "a.png"}, headers=headers).json()
    answer = HTTP.put(slot["upload_url"], content=PNG, headers={"Content-Type": slot["content_type"]})
    assert answer.status_code == 200
    return slot["file_id"]


def create(fake: FakePiktid, instructions=None, token: str = FAKE_TOKEN) -> httpx.Response:
    project = fake.add_project(token, "P") if not fake.projects else next(iter(fake.projects))
    body = {
        "project_id": project,
        "images": [upload(fake, token)],
        "instructions": instructions or [{"style": "white_cutout"}],
    }
    return HTTP.post(fake.url("/create-packshot"), json=body, headers={"Authorization": f"Bearer {token}"})


def test_unknown_token_gets_401(fake_piktid):
    answer = HTTP.get(fake_piktid.url("/auth/me"), headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json()["error"]


def test_presigned_url_expires(fake_piktid):
    slot = api(fake_piktid, "POST", "/upload", json={"filename": "a.png"}).json()
    fake_piktid.clock.advance(fake_piktid.upload_ttl + 1)
    answer = HTTP.put(slot["upload_url"], content=PNG, headers={"Content-Type": "image/png"})
    assert answer.status_code == 403
    assert "expired" in answer.text


@pytest.mark.parametrize(
    ("headers", "content", "status"),
    [
        ({"Content-Type": "image/jpeg"}, PNG, 403),  # not the content type the URL was issued for
        ({"Content-Type": "image/png"}, iter([PNG]), 501),  # chunked
        ({"Content-Type": "image/png", "Authorization": "Bearer x"}, PNG, 400),
    ],
)
def test_presigned_put_refuses_what_s3_refuses(fake_piktid, headers, content, status):
    slot = api(fake_piktid, "POST", "/upload", json={"filename": "a.png"}).json()
    assert HTTP.put(slot["upload_url"], content=content, headers=headers).status_code == status
    assert fake_piktid.files[slot["file_id"]]["size"] is None


def test_presigned_put_with_a_forged_signature_is_refused(fake_piktid):
    slot = api(fake_piktid, "POST", "/upload", json={"filename": "a.png"}).json()
    url = slot["upload_url"].replace("signature=", "signature=0")
    assert HTTP.put(url, content=PNG, headers={"Content-Type": "image/png"}).status_code == 403


def test_unsupported_upload_type_is_a_400(fake_piktid):
    answer = api(fake_piktid, "POST", "/upload", json={"filename": "a.gif"})
    assert answer.status_code == 400
    assert answer.json()["detail"][0]["field"] == "filename"


def test_a_job_needs_uploaded_images(fake_piktid):
    key = fake_piktid.add_project(FAKE_TOKEN, "P")
    slot = api(fake_piktid, "POST", "/upload", json={"filename": "a.png"}).json()  # issued, never PUT
    body = {"project_id": key, "images": [slot["file_id"]], "instructions": [{"style": "free"}]}
    answer = api(fake_piktid, "POST", "/create-packshot", json=body)
    assert answer.status_code == 400
    assert answer.json()["detail"][0]["field"] == "images[0]"


@pytest.mark.parametrize(
    ("instructions", "options", "field"),
    [
        ([{"style": "free", "num_variations": 9}], {}, "instructions[0].num_variations"),
        ([{"style": "free", "options": {"width": 800}}], {}, "instructions[0].options.width"),
        ([{"style": "free", "options": {"width": 801, "height": 800}}], {}, "instructions[0].options.width"),
        ([{"style": "free", "options": {"width": 2048, "height": 256}}], {}, "instructions[0].options.width"),
        ([{"style": "free"}], {"model": "dalle"}, "options.model"),
        ([{"style": "free"}], {"use_anchor": True, "anchor_index": 1}, "options.anchor_index"),
        ([{"angle": "front"}], {}, "instructions[0].style"),
    ],
)
def test_create_validates_like_the_contract(fake_piktid, instructions, options, field):
    key = fake_piktid.add_project(FAKE_TOKEN, "P")
    images = [upload(fake_piktid)]
    body = {"project_id": key, "images": images, "instructions": instructions, "options": options}
    answer = api(fake_piktid, "POST", "/create-packshot", json=body)
    assert answer.status_code == 400
    assert answer.json()["detail"][0]["field"] == field
    assert fake_piktid.jobs == {}


def test_custom_size_is_allowed_with_the_policy(fake_piktid):
    fake_piktid.accounts[FAKE_TOKEN].policies.add("OUTPUT_CUSTOM_DIMENSIONS")
    answer = create(fake_piktid, [{"style": "free", "options": {"width": 1600, "height": 2000}}])
    assert answer.status_code == 202
    assert fake_piktid.accounts[FAKE_TOKEN].credits == 1000 - 5  # 2000 px long side: priced as 2K


def test_credits_are_3_5_10_per_output_and_deducted_at_creation(fake_piktid):
    instructions = [
        {"style": "free", "num_variations": 2},
        {"style": "flat_lay", "options": {"size": "2K"}},
        {"style": "white_cutout", "num_variations": 3, "options": {"size": "4K"}},
    ]
    answer = create(fake_piktid, instructions)
    assert answer.json()["total_outputs"] == 6
    assert fake_piktid.accounts[FAKE_TOKEN].credits == 1000 - (2 * 3 + 5 + 3 * 10)


def test_402_reports_required_in_progress_and_user_credits(fake_piktid):
    fake_piktid.output_delay = None
    fake_piktid.accounts[FAKE_TOKEN].credits = 10
    assert create(fake_piktid).status_code == 202  # 3 credits, stays active
    answer = create(fake_piktid, [{"style": "free", "num_variations": 3}])
    assert answer.status_code == 402
    assert answer.json() == {
        "error": "Insufficient credits to create job",
        "required_credits": 9.0,
        "in_progress_credits": 3.0,
        "user_credits": 7.0,
    }


def test_creations_are_limited_per_rolling_window(fake_piktid):
    fake_piktid.output_delay = 0.001
    for _ in range(5):
        assert create(fake_piktid).status_code == 202
    refused = create(fake_piktid)
    assert refused.status_code == 429
    assert "Retry-After" not in refused.headers
    fake_piktid.clock.advance(fake_piktid.create_window + 0.1)
    assert create(fake_piktid).status_code == 202


def test_active_jobs_are_limited_until_one_ends(fake_piktid):
    fake_piktid.output_delay = None
    fake_piktid.create_limit = 100
    for _ in range(5):
        assert create(fake_piktid).status_code == 202
    refused = create(fake_piktid)
    assert refused.status_code == 429
    assert "Concurrent job limit" in refused.json()["error"]
    fake_piktid.finish(next(iter(fake_piktid.jobs)))
    assert create(fake_piktid).status_code == 202


def test_retry_after_header_when_switched_on(fake_piktid):
    fake_piktid.retry_after_header = True
    fake_piktid.create_limit = 1
    assert create(fake_piktid).status_code == 202
    fake_piktid.clock.advance(20)
    assert create(fake_piktid).headers["Retry-After"] == "40"


def test_enterprise_account_limits_override_the_defaults(fake_piktid):
    fake_piktid.output_delay = None
    fake_piktid.add_account("enterprise", create_limit=7)
    fake_piktid.add_project("enterprise", "E")
    statuses = [create(fake_piktid, token="enterprise").status_code for _ in range(8)]
    assert statuses == [202] * 5 + [429] * 3  # still 5 active jobs at most
    assert len(fake_piktid.creations("enterprise")) == 8


def test_fail_next_after_acting_loses_only_the_answer(fake_piktid):
    fake_piktid.fail_next("POST", "/create-packshot", 502, after=True)
    assert create(fake_piktid).status_code == 502
    assert len(fake_piktid.jobs) == 1


def test_fail_next_with_status_0_resets_the_connection(fake_piktid):
    fake_piktid.fail_next("GET", "/auth/me", 0)
    with pytest.raises(httpx.TransportError):
        api(fake_piktid, "GET", "/auth/me")
    assert api(fake_piktid, "GET", "/auth/me").status_code == 200


def test_jobs_advance_by_themselves(fake_piktid):
    job_id = create(fake_piktid, [{"style": "free", "num_variations": 3}]).json()["job_id"]
    fake_piktid.wait_for(lambda: fake_piktid.job(job_id)["status"] == "completed")
    status = api(fake_piktid, "GET", f"/jobs/{job_id}/status").json()
    assert (status["processed_images"], status["progress"]) == (3, 100.0)
    assert status["job_type"] == "create_packshot"


def test_result_images_have_the_requested_format_and_aspect(fake_piktid):
    instructions = [{"style": "free", "options": {"size": "4K", "ar": "9:16", "format": "jpg"}}]
    job_id = create(fake_piktid, instructions).json()["job_id"]
    fake_piktid.finish(job_id)
    output = api(fake_piktid, "GET", f"/jobs/{job_id}/results").json()["results"][0]["output"]
    image = Image.open(io.BytesIO(HTTP.get(output["full_size"]).content))
    assert (image.format, image.size) == ("JPEG", (144, 256))
    thumb = Image.open(io.BytesIO(HTTP.get(output["thumbnail"]).content))
    assert max(thumb.size) == 32


def test_webhook_deliveries_are_signed_and_retried(fake_piktid):
    answers = iter([500, 503, 204])
    fake_piktid.deliver = lambda url, body, headers: next(answers)
    secret = api(fake_piktid, "PUT", "/webhooks", json={"url": "https://app.example.com/hook"}).json()[
        "secret"
    ]
    fake_piktid.wait_for(lambda: len(fake_piktid.deliveries) == 3)
    assert [d.status for d in fake_piktid.deliveries] == [500, 503, 204]
    assert [d.attempt for d in fake_piktid.deliveries] == [1, 2, 3]
    delivery = fake_piktid.deliveries[-1]
    expected = "sha256=" + hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.signature == expected
    assert json.loads(delivery.body)["name"] == "ping"
    webhook = api(fake_piktid, "GET", "/webhooks").json()
    assert (webhook["last_response_status"], webhook["secret"]) == (204, None)


def test_webhook_deliveries_reach_a_real_http_receiver(fake_piktid):
    receiver = FakePiktid().start()  # any HTTP server will do: the fake answers 401 to an unsigned POST
    try:
        api(fake_piktid, "PUT", "/webhooks", json={"url": receiver.url("/hook")})
        fake_piktid.wait_for(lambda: len(fake_piktid.deliveries) == fake_piktid.webhook_attempts)
        (hit, *_) = receiver.requests_to("POST", "/hook")
        assert hit.headers["x-webhook-signature"].startswith("sha256=")
        assert {d.status for d in fake_piktid.deliveries} == {401}
    finally:
        receiver.stop()


def test_backfill_skips_deleted_and_old_notifications(fake_piktid):
    old = fake_piktid.publish(FAKE_TOKEN, "batch_edit", {"id_task": "old"})
    fake_piktid.clock.advance(601)
    deleted = fake_piktid.publish(FAKE_TOKEN, "batch_edit", {"id_task": "deleted"})
    kept = fake_piktid.publish(FAKE_TOKEN, "batch_edit", {"id_task": "kept"})
    api(fake_piktid, "DELETE", f"/notifications/{deleted['id']}")
    lines = []
    with HTTP.stream("GET", fake_piktid.url("/notifications/events"), headers=AUTH, timeout=5) as answer:
        assert answer.headers["content-type"] == "text/event-stream"
        for line in answer.iter_lines():
            lines.append(line)
            if line.startswith("event: backfill_complete"):
                break
    data = [json.loads(line[len("data: ") :]) for line in lines if line.startswith('data: {"')]
    assert [d["id"] for d in data] == [kept["id"]]
    assert old["id"] != kept["id"]


def test_stream_sends_keepalive_comments_and_authenticates_by_query_token(fake_piktid):
    fake_piktid.keepalive_interval = 0.02
    url = fake_piktid.url(f"/notifications/events?token={FAKE_TOKEN}")
    with HTTP.stream("GET", url, timeout=5) as answer:
        lines = []
        for line in answer.iter_lines():
            lines.append(line)
            if lines.count(":keepalive") == 2:
                break
    assert "event: backfill_complete" in lines


def test_live_events_have_no_event_field(fake_piktid):
    with HTTP.stream("GET", fake_piktid.url("/notifications/events"), headers=AUTH, timeout=5) as answer:
        lines = answer.iter_lines()
        for line in lines:
            if line == "event: backfill_complete":
                break
        next(lines), next(lines)  # its data line and the blank line
        sent = fake_piktid.publish(FAKE_TOKEN, "image_result", {"id_task": "j"})
        line = next(lines)
    assert line == "data: " + json.dumps(sent)


def test_other_accounts_see_nothing_of_each_other(fake_piktid):
    job_id = create(fake_piktid).json()["job_id"]
    fake_piktid.add_account("other")
    other = {"Authorization": "Bearer other"}
    assert HTTP.get(fake_piktid.url(f"/jobs/{job_id}/status"), headers=other).status_code == 404
    assert HTTP.post(fake_piktid.url("/notifications"), json={}, headers=other).json() == []
    gallery = HTTP.get(fake_piktid.url("/gallery/by-job"), headers=other).json()
    assert gallery["jobs"] == []
