"""Jobs on the PiktID engine, end to end against the fake PiktID server (a real HTTP server on loopback)."""

import json
from datetime import timedelta

import pytest
import stamina
from django.utils import timezone

from packshots import services
from packshots.engines.piktid.client import PiktidClient
from packshots.engines.piktid.webhooks import sign
from packshots.models import EngineEvent, Job, PiktidAccount, PiktidCreation, Result, WorkerHeartbeat
from packshots.services import maintenance
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN

TWO_INSTRUCTIONS = [
    {
        "style": "ghost_mannequin",
        "num_variations": 2,
        "options": {"size": "1K", "ar": "3:4", "format": "jpg"},
    },
    {"style": "flat_lay", "surface": "linen", "options": {"size": "1K", "ar": "1:1", "format": "png"}},
]


@pytest.fixture(autouse=True)
def piktid_settings(fake_piktid, settings):
    settings.PIKTID_TOKEN = FAKE_TOKEN  # the connection of teams that saved none
    settings.PIKTID_BASE_URL = fake_piktid.base_url
    fake_piktid.output_delay = None  # outputs are made when a test says so (finish / advance)
    with stamina.set_testing(True, attempts=3):
        yield


def piktid_draft(team, member, *, photos=2, instructions=TWO_INSTRUCTIONS):
    job = factories.make_draft(team=team, user=member, photos=photos, instructions=instructions)
    return services.job_set_options(job=job, engine="piktid", options={"model": "auto"}, post_process=False)


def run_to_the_end(fake, job: Job) -> Job:
    fake.finish(job.remote_job_id)
    assert services.piktid_sync(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_a_job_runs_on_piktid_and_every_output_lands_in_our_storage(team, member, fake_piktid):
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.RUNNING and job.remote_job_id
    assert job.remote_project_id and len(fake_piktid.creations()) == 1
    sent = fake_piktid.creations()[0].json()
    assert sent["instructions"][1]["surface"] == "linen" and len(sent["images"]) == 2
    job = run_to_the_end(fake_piktid, job)
    assert job.status == Job.Status.COMPLETED and job.progress == 100
    results = list(job.results.order_by("instruction_index", "variation_index"))
    assert [(r.instruction_index, r.variation_index, r.status) for r in results] == [
        (0, 0, "completed"),
        (0, 1, "completed"),
        (1, 0, "completed"),
    ]
    flat = results[2]
    assert flat.format == "png" and flat.model_used and flat.image.read(8) == b"\x89PNG\r\n\x1a\n"
    assert job.remote_metadata["job_id"] == job.remote_job_id  # what metadata.json holds
    assert job.credits_used is not None


def test_photos_and_project_are_pushed_once_per_account(team, member, fake_piktid):
    first = factories.start_job(piktid_draft(team, member))
    second = factories.start_job(piktid_draft(team, member))
    assert fake_piktid.count("POST", "/project") == 1  # one PiktID project per project of ours
    assert first.remote_project_id == second.remote_project_id
    assert fake_piktid.count("POST", "/upload") == 4  # each job owns its photos


def test_a_job_the_account_cannot_pay_is_stopped_before_submission(team, member, fake_piktid):
    fake_piktid.accounts[FAKE_TOKEN].credits = 4
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.FAILED
    assert job.error_message == "Not enough PiktID credits: this job needs 9, the account has 4."
    assert fake_piktid.creations() == []


def test_a_402_fails_the_job_with_both_numbers_and_is_not_retried(team, member, fake_piktid):
    body = {
        "error": "Insufficient credits",
        "required_credits": 9.0,
        "in_progress_credits": 5.0,
        "user_credits": 3.0,
    }
    fake_piktid.fail_next("POST", "/create-packshot", 402, body=body)
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.FAILED and "needs 9, the account has 3" in job.error_message
    assert len(fake_piktid.creations()) == 1


def test_a_401_marks_the_token_invalid_and_stops_the_team(team, member, fake_piktid):
    fake_piktid.fail_next("POST", "/create-packshot", 401)
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.FAILED and "401" in job.error_message
    assert services.piktid_credentials(team) is None
    assert FAKE_TOKEN not in job.error_message


def test_a_400_shows_piktids_field_details(team, member, fake_piktid):
    body = {"error": "Invalid request", "detail": [{"field": "anchor_index", "message": "out of range"}]}
    fake_piktid.fail_next("POST", "/create-packshot", 400, body=body)
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.FAILED and "anchor_index: out of range" in job.error_message


def test_a_429_puts_the_job_back_in_line_with_the_wait(team, member, fake_piktid):
    fake_piktid.fail_next("POST", "/create-packshot", 429, headers={"Retry-After": "42"})
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.QUEUED and "429" in job.waiting_reason
    assert not PiktidCreation.objects.filter(job=job, sent_at__isnull=True).exists()
    # The whole account slows down for Retry-After, not only this job.
    other = factories.start_job(piktid_draft(team, member))
    wait = services.piktid_submit(job_id=other.pk)
    assert other.status == Job.Status.QUEUED and 40 < wait.seconds <= 42 and "429" in wait.reason
    PiktidAccount.objects.update(paused_until=None)  # ...42 s later
    assert services.piktid_submit(job_id=job.pk) is None  # the next try goes through
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING


def test_a_lost_answer_is_reconciled_without_a_second_creation(team, member, fake_piktid):
    # PiktID created the job, but the answer never arrived (500 after acting).
    fake_piktid.fail_next("POST", "/create-packshot", 500, after=True)
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.RUNNING and job.remote_job_id in fake_piktid.jobs
    assert len(fake_piktid.creations()) == 1


def test_a_request_that_never_arrived_is_sent_again_once_checked(team, member, fake_piktid):
    fake_piktid.fail_next("POST", "/create-packshot", 502)  # refused before acting: no job at PiktID
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.QUEUED  # PiktID's gallery showed no such job
    assert services.piktid_submit(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and len(fake_piktid.creations()) == 2
    assert len(fake_piktid.jobs) == 1


def test_a_worker_killed_mid_submit_is_reconciled_before_anything_is_resent(team, member, fake_piktid):
    job = factories.start_job(piktid_draft(team, member))
    remote = job.remote_job_id
    # Rewind our side to "submitting" as a killed worker would leave it: the job exists at PiktID.
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUBMITTING, remote_job_id="")
    Result.objects.filter(job=job).delete()
    # While the create request may still be in flight (another worker), nothing is looked up or re-sent.
    assert "Sending" in services.piktid_submit(job_id=job.pk).reason
    Job.objects.filter(pk=job.pk).update(submit_requested_at=timezone.now() - timedelta(minutes=5))
    assert services.piktid_submit(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.remote_job_id == remote
    assert len(fake_piktid.creations()) == 1


def job_in_doubt(
    team,
    member,
    fake,
    *,
    created: bool,
    sender: str = "",
    seen_ago: float | None = None,
    sent_ago: float = 20,
) -> Job:
    """A job left `submitting` by `sender` `sent_ago` s ago, its create request's answer lost (PiktID made the
    job or not) as if the sender died in it; `seen_ago`: the sender's last heartbeat (None: no heartbeat
    row)."""
    fake.fail_next("POST", "/create-packshot", 500 if created else 0, after=created)
    fake.fail_next("GET", "/gallery/by-job", 503, times=3)  # the sender's own look-up fails (3 tries)
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.SUBMITTING and len(fake.creations()) == 1
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        submit_worker_id=sender,
        submit_requested_at=now - timedelta(seconds=sent_ago),
        submit_ended_at=None,  # for all we know, the request is still on its way
        submit_attempts=0,
    )
    if seen_ago is not None:
        WorkerHeartbeat.objects.create(worker_id=sender, last_seen=now - timedelta(seconds=seen_ago))
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("created", [True, False], ids=["made-at-piktid", "never-arrived"])
@pytest.mark.parametrize("seen_ago", [60, None], ids=["silent", "reaped"])
def test_a_job_whose_sending_worker_died_is_reconciled_before_its_lease_runs_out(
    team, member, fake_piktid, settings, created, seen_ago
):
    settings.PACKSHOT_WORKER_DEAD_AFTER_S = 30
    job = job_in_doubt(
        team, member, fake_piktid, created=created, sender="w-dead", seen_ago=seen_ago, sent_ago=60
    )
    wait = services.piktid_submit(job_id=job.pk)  # what the reaper's resumed submit task does
    job.refresh_from_db()
    if created:  # found in PiktID's gallery and adopted, nothing sent again
        assert wait is None and job.status == Job.Status.RUNNING and job.remote_job_id in fake_piktid.jobs
    else:  # PiktID has no such job: back in line, and sent again once
        assert job.status == Job.Status.QUEUED and "sending it again" in wait.reason
        assert services.piktid_submit(job_id=job.pk) is None
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING and job.submit_worker_id == ""
        assert len(fake_piktid.creations()) == 2
    assert list(fake_piktid.jobs) == [job.remote_job_id]  # one PiktID job, one charge


def test_a_dead_senders_request_is_given_the_time_piktid_may_still_take_to_make_the_job(
    team, member, fake_piktid, settings
):
    from packshots.services import piktid as piktid_services

    # Killed a moment after its request left: PiktID may still be making the job (up to the client's read
    # timeout), so looking now could find nothing and send it twice.
    settings.PACKSHOT_WORKER_DEAD_AFTER_S = 5
    job = job_in_doubt(team, member, fake_piktid, created=False, sender="w-dead", seen_ago=None, sent_ago=12)
    lookups = fake_piktid.count("GET", "/gallery/by-job")
    wait = services.piktid_submit(job_id=job.pk)
    expected = (piktid_services.CREATE_ANSWER_WINDOW - timedelta(seconds=12)).total_seconds()
    assert "Checking with PiktID" in wait.reason and expected - 1 < wait.seconds < expected + 1
    assert fake_piktid.count("GET", "/gallery/by-job") == lookups and len(fake_piktid.creations()) == 1
    Job.objects.filter(pk=job.pk).update(submit_requested_at=timezone.now() - timedelta(seconds=60))
    wait = services.piktid_submit(job_id=job.pk)  # the window has passed: looked up, not found, sent again
    assert "sending it again" in wait.reason


def test_a_lost_answer_whose_look_up_failed_is_looked_up_again_without_waiting_for_the_lease(
    team, member, fake_piktid
):
    fake_piktid.fail_next("POST", "/create-packshot", 500, after=True)
    fake_piktid.fail_next("GET", "/gallery/by-job", 503, times=3)
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.SUBMITTING and job.submit_ended_at is not None  # the request is over
    assert services.piktid_submit(job_id=job.pk) is None  # its task's next run looks again at once
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and list(fake_piktid.jobs) == [job.remote_job_id]
    assert len(fake_piktid.creations()) == 1


def test_a_live_workers_create_request_is_left_to_it_until_the_lease_runs_out(
    team, member, fake_piktid, settings
):
    settings.PACKSHOT_WORKER_DEAD_AFTER_S = 30
    job = job_in_doubt(team, member, fake_piktid, created=False, sender="w-alive", seen_ago=3)
    lookups = fake_piktid.count("GET", "/gallery/by-job")
    wait = services.piktid_submit(job_id=job.pk)
    assert "Sending" in wait.reason and 155 < wait.seconds <= 161  # the rest of SUBMIT_LEASE
    job.refresh_from_db()
    assert job.status == Job.Status.SUBMITTING and job.submit_worker_id == "w-alive"
    assert fake_piktid.count("GET", "/gallery/by-job") == lookups and len(fake_piktid.creations()) == 1


def test_a_worker_presumed_dead_sends_nothing_and_a_live_one_signs_its_request(
    team, member, fake_piktid, settings, monkeypatch
):
    settings.PACKSHOT_WORKER_DEAD_AFTER_S = 30
    monkeypatch.setattr(maintenance, "_this_worker", ["w1"])
    beat = WorkerHeartbeat.objects.create(worker_id="w1", last_seen=timezone.now() - timedelta(seconds=45))
    # Silent for 45 s: another worker may be resuming this one's tasks right now.
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.QUEUED and fake_piktid.creations() == []
    WorkerHeartbeat.objects.filter(pk=beat.pk).update(last_seen=timezone.now() - timedelta(seconds=2))
    assert services.piktid_submit(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.submit_worker_id == "w1"
    beat.refresh_from_db()
    assert beat.last_seen >= job.submit_requested_at  # it beat as it sent: not judged dead while sending


def test_a_sender_that_beats_again_during_the_look_up_is_not_sent_again(
    team, member, fake_piktid, settings, monkeypatch
):
    settings.PACKSHOT_WORKER_DEAD_AFTER_S = 30
    job = job_in_doubt(team, member, fake_piktid, created=False, sender="w-slow", seen_ago=40, sent_ago=60)
    listing = PiktidClient.gallery_jobs

    def back_to_life(self, **kwargs):  # the "dead" worker was only frozen: it beats while we look
        WorkerHeartbeat.objects.filter(worker_id="w-slow").update(last_seen=timezone.now())
        return listing(self, **kwargs)

    monkeypatch.setattr(PiktidClient, "gallery_jobs", back_to_life)
    wait = services.piktid_submit(job_id=job.pk)
    assert "Sending" in wait.reason and 115 < wait.seconds <= 121  # the rest of its lease: a live sender
    job.refresh_from_db()
    assert job.status == Job.Status.SUBMITTING and len(fake_piktid.creations()) == 1


def test_a_reconciliation_overtaken_by_another_never_sends_the_newer_request_again(
    team, member, fake_piktid, settings, monkeypatch
):
    settings.PACKSHOT_WORKER_DEAD_AFTER_S = 30
    job = job_in_doubt(team, member, fake_piktid, created=False, sender="w-dead", seen_ago=60, sent_ago=60)
    listing = PiktidClient.gallery_jobs
    calls = []

    def overtaken(self, **kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            # While this reconciliation looks, another (the reaper's resumed task, say) finds nothing and
            # sends the job again; that answer is lost too (PiktID made the job), and its own look-up fails.
            assert services.piktid_submit(job_id=job.pk).reason.endswith("sending it again.")
            fake_piktid.fail_next("POST", "/create-packshot", 500, after=True)
            fake_piktid.fail_next("GET", "/gallery/by-job", 503, times=3)
            services.piktid_submit(job_id=job.pk)
            return []  # ...and the first lists an empty gallery: PiktID did not have its request
        return listing(self, **kwargs)

    monkeypatch.setattr(PiktidClient, "gallery_jobs", overtaken)
    assert services.piktid_submit(job_id=job.pk) is None  # the job's request is not the one it looked for
    job.refresh_from_db()
    assert job.status == Job.Status.SUBMITTING and len(fake_piktid.creations()) == 2
    monkeypatch.setattr(PiktidClient, "gallery_jobs", listing)
    Job.objects.filter(pk=job.pk).update(submit_requested_at=timezone.now() - timedelta(minutes=5))
    assert services.piktid_submit(job_id=job.pk) is None  # its lease over: found at PiktID, adopted
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and list(fake_piktid.jobs) == [job.remote_job_id]
    assert len(fake_piktid.creations()) == 2


def test_when_piktid_cannot_be_asked_the_job_stops_and_can_be_submitted_again(
    team, member, fake_piktid, settings
):
    settings.PIKTID_RECONCILE_ATTEMPTS = (
        1  # the look-up right after the lost answer fails, the next one stops it
    )
    fake_piktid.fail_next("POST", "/create-packshot", 0)  # the connection resets: maybe sent
    fake_piktid.fail_next("GET", "/gallery/by-job", 503, times=50)
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.SUBMITTING
    Job.objects.filter(pk=job.pk).update(submit_requested_at=timezone.now() - timedelta(minutes=5))
    services.piktid_submit(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "Submit again" in job.error_message
    fake_piktid.rules.clear()
    with factories.TestCase.captureOnCommitCallbacks(execute=True):
        services.job_resubmit(job=job)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING


def test_a_429_on_the_look_up_is_a_wait_never_a_failed_attempt(team, member, fake_piktid, settings):
    settings.PIKTID_RECONCILE_ATTEMPTS = 1  # one failed look-up more would stop the job
    fake_piktid.fail_next("POST", "/create-packshot", 500, after=True)  # created, answer lost
    fake_piktid.fail_next("GET", "/gallery/by-job", 503, times=3)  # the sender's own look-up fails
    job = factories.start_job(piktid_draft(team, member))
    assert job.status == Job.Status.SUBMITTING
    fake_piktid.fail_next("GET", "/gallery/by-job", 429, times=6, headers={"Retry-After": "7"})
    for _ in range(6):  # PiktID's rate limit: waits of its Retry-After, the job still in doubt
        wait = services.piktid_submit(job_id=job.pk)
        assert wait.seconds == 7 and "Checking with PiktID" in wait.reason
    job.refresh_from_db()
    assert job.status == Job.Status.SUBMITTING and job.submit_attempts == 1
    assert services.piktid_submit(job_id=job.pk) is None  # PiktID answers: the job is found, not resent
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and len(fake_piktid.creations()) == 1


def test_failed_outputs_show_piktids_message(team, member, fake_piktid):
    fake_piktid.plan_next_job(failed_outputs={(0, 1): "Content refused by the model"})
    job = run_to_the_end(fake_piktid, factories.start_job(piktid_draft(team, member)))
    assert job.status == Job.Status.NEEDS_REVIEW
    failed = job.results.get(instruction_index=0, variation_index=1)
    assert failed.status == "failed" and failed.error == "Content refused by the model"


def test_a_job_piktid_fails_as_a_whole_fails_here_too(team, member, fake_piktid):
    job = factories.start_job(piktid_draft(team, member))
    fake_piktid.fail_job(job.remote_job_id, "The garment could not be detected")
    services.piktid_sync(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "could not be detected" in job.error_message


def test_regenerate_makes_a_new_version_and_keeps_the_old_one(team, member, fake_piktid):
    job = run_to_the_end(fake_piktid, factories.start_job(piktid_draft(team, member)))
    first = job.results.get(instruction_index=1, variation_index=0)
    fresh = services.result_regenerate(result=first)
    assert fresh.version == 1 and fresh.status == "pending"
    fake_piktid.finish(job.remote_job_id)
    services.piktid_sync(job_id=job.pk)
    fresh.refresh_from_db()
    assert fresh.status == "completed" and fresh.image.name != first.image.name
    assert job.results.filter(instruction_index=1, variation_index=0).count() == 2


# ---------------------------------------------------------------- the limiter


def test_the_limiter_lets_five_jobs_in_per_window_and_says_why_the_others_wait(team, member, fake_piktid):
    jobs = []
    for _ in range(7):
        draft = piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT])
        jobs.append(factories.start_job(draft))
    statuses = [j.status for j in jobs]
    assert statuses.count(Job.Status.RUNNING) == 5 and statuses.count(Job.Status.QUEUED) == 2
    waiting = [j for j in jobs if j.status == Job.Status.QUEUED]
    assert "Waiting for PiktID's limit" in waiting[0].waiting_reason
    assert "1 job ahead" in waiting[1].waiting_reason
    assert len(fake_piktid.creations()) == 5  # never a 429


def test_active_jobs_of_an_account_are_capped_across_teams(
    team, member, other_team, outsider, fake_piktid, settings
):
    settings.PIKTID_CREATE_LIMIT = 100
    settings.PIKTID_ACTIVE_LIMIT = 2
    a = factories.start_job(piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]))
    b = factories.start_job(
        piktid_draft(other_team, outsider, photos=1, instructions=[factories.WHITE_CUTOUT])
    )
    c = factories.start_job(piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]))
    assert [a.status, b.status, c.status] == ["running", "running", "queued"]
    run_to_the_end(fake_piktid, a)
    assert services.piktid_submit(job_id=c.pk) is None
    c.refresh_from_db()
    assert c.status == Job.Status.RUNNING


# ---------------------------------------------------------------- notifications and the webhook


def connect_webhook(team, member, fake_piktid):
    from accounts.models import PiktidConnection

    services.piktid_connect(
        team=team, user=member, token=FAKE_TOKEN, webhook_base_url="https://studio.example.com"
    )
    return PiktidConnection.objects.get(team=team)


def deliver(client, connection, event: dict, *, secret: str | None = None):
    body = json.dumps(event).encode()
    return client.post(
        f"/webhooks/piktid/{connection.webhook_key}/",
        data=body,
        content_type="application/json",
        headers={"X-Webhook-Signature": sign(secret or connection.webhook_secret, body)},
    )


def test_a_signed_webhook_syncs_the_job_once(client, team, member, fake_piktid):
    connection = connect_webhook(team, member, fake_piktid)
    job = factories.start_job(piktid_draft(team, member))
    fake_piktid.finish(job.remote_job_id)
    event = {
        "id": 9001,
        "name": "batch_edit",
        "timestamp": 1.0,
        "data": {"id_task": job.remote_job_id, "status": "completed"},
    }
    with factories.TestCase.captureOnCommitCallbacks(execute=True):
        assert deliver(client, connection, event).status_code == 204
        assert deliver(client, connection, event).status_code == 204  # a re-delivery
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert EngineEvent.objects.filter(event_id="9001").count() == 1
    assert fake_piktid.count("DELETE", "/notifications/9001") == 1


@pytest.mark.parametrize(
    ("header", "status"),
    [("sha256=" + "0" * 64, 401), ("", 401), ("sha1=abc", 401), (None, 401)],
)
def test_forged_webhooks_change_nothing(client, team, member, fake_piktid, header, status):
    connection = connect_webhook(team, member, fake_piktid)
    before = EngineEvent.objects.count()
    headers = {} if header is None else {"X-Webhook-Signature": header}
    response = client.post(
        f"/webhooks/piktid/{connection.webhook_key}/",
        data=b'{"id": 1}',
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == status and EngineEvent.objects.count() == before


def test_a_webhook_signed_for_another_team_is_refused(
    client, team, member, other_team, outsider, fake_piktid
):
    connection = connect_webhook(team, member, fake_piktid)
    response = deliver(client, connection, {"id": 5, "name": "ping", "data": {}}, secret="another-secret")
    assert response.status_code == 401
    assert (
        client.post("/webhooks/piktid/not-a-key/", data=b"{}", content_type="application/json").status_code
        == 404
    )


def test_a_malformed_but_signed_body_is_a_400(client, team, member, fake_piktid):
    connection = connect_webhook(team, member, fake_piktid)
    body = b"{not json"
    response = client.post(
        f"/webhooks/piktid/{connection.webhook_key}/",
        data=body,
        content_type="application/json",
        headers={"X-Webhook-Signature": sign(connection.webhook_secret, body)},
    )
    assert response.status_code == 400


def test_an_event_naming_another_accounts_job_touches_nothing(
    client, team, member, other_team, outsider, fake_piktid, settings
):
    # Bravo's job runs on PIKTID_TOKEN; Alpha's webhook carries an event naming Bravo's remote job id.
    job = factories.start_job(piktid_draft(other_team, outsider))
    fake_piktid.add_account("alpha-own-token-000000")
    services.piktid_connect(
        team=team, user=member, token="alpha-own-token-000000", webhook_base_url="https://x.example"
    )
    from accounts.models import PiktidConnection

    connection = PiktidConnection.objects.get(team=team)
    event = {"id": 77, "name": "batch_edit", "data": {"id_task": job.remote_job_id, "status": "completed"}}
    with factories.TestCase.captureOnCommitCallbacks(execute=True):
        assert deliver(client, connection, event).status_code == 204
    assert EngineEvent.objects.get(event_id="77").job is None


def test_the_poller_copes_with_404_just_after_creation(team, member, fake_piktid, settings):
    settings.PIKTID_POLL_S = 0  # every poll asks PiktID
    job = factories.start_job(piktid_draft(team, member))
    fake_piktid.fail_next("GET", f"/jobs/{job.remote_job_id}/results", 404)
    assert services.piktid_poll(job_id=job.pk) == 5.0  # not listed yet: ask again soon
    fake_piktid.finish(job.remote_job_id)
    assert services.piktid_poll(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED


def test_a_job_started_with_another_token_is_followed_with_the_teams_token(
    team, member, fake_piktid, settings
):
    settings.PIKTID_POLL_S = 0
    job = factories.start_job(piktid_draft(team, member))
    # Started with another token (replaced since, or the CLI's --token): the team's token still sees it.
    Job.objects.filter(pk=job.pk).update(account_key="an-older-token-of-this-user")
    fake_piktid.finish(job.remote_job_id)
    assert services.piktid_poll(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED


def test_a_job_the_teams_token_cannot_see_fails_visibly_after_the_grace(team, member, fake_piktid, settings):
    settings.PIKTID_POLL_S = 0
    job = factories.start_job(piktid_draft(team, member))
    Job.objects.filter(pk=job.pk).update(
        account_key="a-strangers-token", started_at=timezone.now() - timedelta(hours=1)
    )
    fake_piktid.fail_next("GET", f"/jobs/{job.remote_job_id}/results", 404)
    assert services.piktid_poll(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "started with another PiktID token" in job.error_message


def test_a_token_refused_while_a_job_runs_slows_the_polling_down(team, member, fake_piktid, settings):
    settings.PIKTID_POLL_S = 30
    job = factories.start_job(piktid_draft(team, member))
    fake_piktid.fail_next("GET", f"/jobs/{job.remote_job_id}/results", 401)
    Job.objects.filter(pk=job.pk).update(last_event_at=None)
    assert services.piktid_poll(job_id=job.pk) == 300  # looks again later: a new token may be saved
    assert services.piktid_credentials(team) is None


def test_a_late_processing_event_leaves_a_completed_job_completed(client, team, member, fake_piktid):
    connection = connect_webhook(team, member, fake_piktid)
    job = run_to_the_end(fake_piktid, factories.start_job(piktid_draft(team, member)))
    late = {"id": 4242, "name": "batch_edit", "data": {"id_task": job.remote_job_id, "status": "processing"}}
    with factories.TestCase.captureOnCommitCallbacks(execute=True):
        assert deliver(client, connection, late).status_code == 204
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED and job.results.filter(status="completed").count() == 3


def test_the_webhook_is_the_only_view_that_accepts_a_post_without_a_csrf_token(team, member):
    """Views may be csrf_exempt only to check CSRF themselves later (Django's pattern for upload handlers)."""
    from django.test import Client
    from django.urls import URLPattern, URLResolver, get_resolver, reverse

    def views(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from views(p.url_patterns, prefix + (f"{p.namespace}:" if p.namespace else ""))
            elif isinstance(p, URLPattern) and getattr(p.callback, "csrf_exempt", False):
                yield prefix + p.name, p

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    exempt = dict(views(get_resolver().url_patterns))
    assert "packshots:piktid-webhook" in exempt
    for name, pattern in exempt.items():
        if name == "packshots:piktid-webhook":
            continue
        if pattern.pattern.regex.groups:
            raise AssertionError(f"{name}: a csrf_exempt view with URL arguments needs its own test here")
        assert strict.post(reverse(name), {}).status_code == 403, f"{name} accepted a POST without a token"


@pytest.mark.django_db(transaction=True)
def test_two_identical_deliveries_at_once_are_recorded_once(team, member, fake_piktid):
    import threading

    from django.db import connection as db_connection
    from django.test import Client

    connection = connect_webhook(team, member, fake_piktid)
    event = {"id": 31337, "name": "ping", "data": {}}
    statuses = []

    def post():
        try:
            statuses.append(deliver(Client(), connection, event).status_code)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [204] * 4
    assert EngineEvent.objects.filter(event_id="31337").count() == 1


def test_a_webp_photo_travels_to_piktid_as_a_lossless_png(team, member, fake_piktid):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    job = factories.make_draft(team=team, user=member, photos=0, instructions=[factories.WHITE_CUTOUT])
    webp = factories.photo_bytes(fmt="WEBP")
    services.upload_add(
        job=job, uploaded_by=member, file=SimpleUploadedFile("front.webp", webp, content_type="image/webp")
    )
    job = services.job_set_options(job=job, engine="piktid", options={"model": "auto"}, post_process=False)
    job = factories.start_job(job)
    assert job.status == Job.Status.RUNNING
    upload = fake_piktid.requests_to("POST", "/upload")[0].json()
    assert upload["filename"].endswith(".png")
    (stored,) = [f for f in fake_piktid.files.values() if f.get("data")]
    import io

    pushed = Image.open(io.BytesIO(stored["data"]))
    assert pushed.format == "PNG" and pushed.size == Image.open(io.BytesIO(webp)).size


def test_regenerating_twice_at_once_asks_piktid_once(team, member, fake_piktid):
    from packshots.errors import JobStateError

    job = run_to_the_end(fake_piktid, factories.start_job(piktid_draft(team, member)))
    first = job.results.get(instruction_index=1, variation_index=0)
    services.result_regenerate(result=first)
    with pytest.raises(JobStateError, match="already being regenerated"):
        services.result_regenerate(result=first)
    assert fake_piktid.count("POST", f"/jobs/{job.remote_job_id}/regenerate") == 1


def test_no_presigned_or_result_url_is_logged(team, member, fake_piktid, caplog):
    import logging

    from django.conf import settings as django_settings

    logging.config.dictConfig(django_settings.LOGGING)
    with caplog.at_level(logging.DEBUG, logger="packshots"):
        run_to_the_end(fake_piktid, factories.start_job(piktid_draft(team, member)))
    assert "signature=" not in caplog.text and "/s3/" not in caplog.text and "/cdn/" not in caplog.text
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


def test_a_lost_answer_never_adopts_the_piktid_job_of_another_job_in_flight(team, member, fake_piktid):
    # Job A's create failed before PiktID made anything; job B of the same project is being created.
    a = factories.start_job(piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]))
    b = factories.start_job(piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]))
    Job.objects.filter(pk=a.pk).update(
        status=Job.Status.SUBMITTING,
        remote_job_id="",
        submit_requested_at=timezone.now() - timedelta(minutes=5),
    )
    Result.objects.filter(job=a).delete()
    Job.objects.filter(pk=b.pk).update(
        status=Job.Status.SUBMITTING, remote_job_id="", submit_requested_at=timezone.now()
    )
    # While B's answer may still arrive, A does not look: B's job would match A's description.
    assert "Checking" in services.piktid_reconcile(job_id=a.pk).reason
    # Once B holds its PiktID job, A cannot take the same one, even if it looks alike.
    Job.objects.filter(pk=b.pk).update(status=Job.Status.RUNNING, remote_job_id=b.remote_job_id)
    services.piktid_reconcile(job_id=a.pk)
    a.refresh_from_db()
    assert a.remote_job_id != b.remote_job_id


def test_two_jobs_can_never_hold_one_piktid_job(team, member, fake_piktid):
    from django.db import IntegrityError, transaction

    a = factories.start_job(piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]))
    b = factories.start_job(piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]))
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.filter(pk=b.pk).update(remote_job_id=a.remote_job_id)


def photos_sent_for(fake, job: Job) -> set[str]:
    """The file ids PiktID made the job's PiktID job from (what its create request carried)."""
    images = fake.jobs[job.remote_job_id]["request"]["images"]
    return {image["file_id"] if isinstance(image, dict) else image for image in images}


def photos_of(job: Job) -> set[str]:
    return {upload.remote_file_ids[job.account_key] for upload in job.uploads.all()}


def test_an_alike_job_waits_while_another_of_its_project_may_or_may_not_exist_at_piktid(
    team, member, fake_piktid, settings
):
    # A's create may have arrived (the connection reset) and the gallery cannot be read: A is in doubt.
    settings.PIKTID_RECONCILE_ATTEMPTS = 10
    fake_piktid.fail_next("POST", "/create-packshot", 0)
    fake_piktid.fail_next("GET", "/gallery/by-job", 503, times=50)
    one = [factories.WHITE_CUTOUT]
    a = factories.start_job(piktid_draft(team, member, photos=1, instructions=one))
    assert a.status == Job.Status.SUBMITTING
    # B looks like A (same project, one output): were its answer lost too, nobody could tell whose is whose.
    b = factories.start_job(piktid_draft(team, member, photos=1, instructions=one))
    assert b.status == Job.Status.QUEUED and "like this one" in b.waiting_reason
    # A job of another size is never mistaken for A: it goes ahead.
    c = factories.start_job(piktid_draft(team, member, photos=1, instructions=TWO_INSTRUCTIONS[:1]))
    assert c.status == Job.Status.RUNNING
    assert len(fake_piktid.creations()) == 2
    # PiktID answers again: A is found not to exist and is sent again; B follows once A holds its job.
    fake_piktid.rules.clear()
    Job.objects.filter(pk=a.pk).update(submit_requested_at=timezone.now() - timedelta(minutes=5))
    services.piktid_submit(job_id=a.pk)
    assert services.piktid_submit(job_id=a.pk) is None
    assert services.piktid_submit(job_id=b.pk) is None
    for job in (a, b, c):
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING and photos_sent_for(fake_piktid, job) == photos_of(job)


def test_a_slot_taken_for_an_alike_job_holds_the_next_one_back(team, member, fake_piktid):
    a = piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT])
    b = piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT])
    for job in (a, b):
        services.job_start(job=job, enqueue=False)
    a.refresh_from_db()
    b.refresh_from_db()
    key = "account-1"
    # A took a slot and is pushing its photos: its create is about to leave.
    assert services.limiter_acquire(job=a, account_key=key) is None
    Job.objects.filter(pk__in=[a.pk, b.pk]).update(account_key=key)
    assert "like this one" in services.limiter_acquire(job=b, account_key=key).reason


def test_two_jobs_of_different_sizes_in_doubt_do_not_wait_for_each_other(team, member, fake_piktid):
    a = factories.start_job(piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]))
    c = factories.start_job(piktid_draft(team, member, photos=1, instructions=TWO_INSTRUCTIONS))
    # Both create answers were lost before PiktID acted, a moment ago.
    for job in (a, c):
        fake_piktid.jobs.pop(job.remote_job_id)
        Result.objects.filter(job=job).delete()
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.SUBMITTING, remote_job_id="", submit_requested_at=timezone.now()
        )
    # C's PiktID job would have 3 outputs, never A's 1: A looks at once, finds nothing and is sent again.
    assert "sending it again" in services.piktid_reconcile(job_id=a.pk).reason
    assert "sending it again" in services.piktid_reconcile(job_id=c.pk).reason


def test_a_burst_of_deliveries_asks_one_sync_and_consumes_every_notification_once(
    client, team, member, fake_piktid, db_tasks
):
    from django_tasks_db.models import DBTaskResult

    connection = connect_webhook(team, member, fake_piktid)
    job = factories.start_job(piktid_draft(team, member))
    services.piktid_submit(job_id=job.pk)  # what the queued submission task does
    job.refresh_from_db()
    assert job.remote_job_id
    DBTaskResult.objects.all().delete()  # the submission's own rows
    for n in range(5):
        data = {"id_task": job.remote_job_id, "status": "processing", "processed_images": n}
        event = {"id": 9100 + n, "name": "batch_edit", "timestamp": 1.0, "data": data}
        assert deliver(client, connection, event).status_code == 204
    assert deliver(client, connection, {**event, "id": 9100}).status_code == 204  # a repeat
    rows = {row.task_path.rsplit(".", 1)[1]: row for row in DBTaskResult.objects.all()}
    assert sorted(rows) == ["piktid_notifications_consume_task", "piktid_sync_task"]  # one of each
    consume = rows["piktid_notifications_consume_task"]
    assert consume.run_after > timezone.now() + timedelta(seconds=2)  # after the burst is recorded
    assert consume.args_kwargs["kwargs"] == {"team_id": team.pk, "job_id": job.pk}
    assert services.piktid_notifications_consume(team_id=team.pk, job_id=job.pk) == 5
    assert services.piktid_notifications_consume(team_id=team.pk, job_id=job.pk) == 0
    assert sorted(r.path for r in fake_piktid.requests_to("DELETE", "/notifications")) == [
        f"/notifications/{9100 + n}" for n in range(5)
    ]


def test_a_job_held_back_for_an_alike_one_does_not_hold_back_jobs_of_another_size(
    team, member, fake_piktid, settings
):
    settings.PIKTID_CREATE_LIMIT = 2
    one, two = [factories.WHITE_CUTOUT], TWO_INSTRUCTIONS[:1]
    a, b, c = (piktid_draft(team, member, photos=1, instructions=i) for i in (one, one, two))
    for job in (a, b, c):
        services.job_start(job=job, enqueue=False)
    Job.objects.filter(pk__in=[a.pk, b.pk, c.pk]).update(account_key="account-1")
    a, b, c = (Job.objects.get(pk=job.pk) for job in (a, b, c))
    assert services.limiter_acquire(job=a, account_key="account-1") is None  # one slot left
    assert "like this one" in services.limiter_acquire(job=b, account_key="account-1").reason
    # B was queued before C but cannot take the free slot: C takes it.
    assert services.limiter_acquire(job=c, account_key="account-1") is None


def test_once_a_job_is_created_the_next_alike_job_is_sent_at_once(team, member, fake_piktid, db_tasks):
    from django_tasks_db.models import DBTaskResult

    a, b, c = (piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]) for _ in range(3))
    for job in (a, b, c):
        services.job_start(job=job, enqueue=False)
    assert services.piktid_submit(job_id=a.pk) is None
    # B waited for A's create to settle; it is handed a submission now, not at its next check.
    sent = DBTaskResult.objects.filter(task_path="packshots.tasks.piktid_submit_task")
    assert [row.args_kwargs["kwargs"] for row in sent] == [{"job_id": b.pk}]


def test_after_a_token_swap_the_old_accounts_notifications_are_not_deleted_with_the_new_token(
    client, team, member, fake_piktid
):
    connection = connect_webhook(team, member, fake_piktid)
    job = factories.start_job(piktid_draft(team, member))
    services.piktid_submit(job_id=job.pk)
    job.refresh_from_db()
    for n in range(3):
        data = {"id_task": job.remote_job_id, "status": "processing", "processed_images": n}
        assert (
            deliver(client, connection, {"id": 9300 + n, "name": "batch_edit", "data": data}).status_code
            == 204
        )
    fake_piktid.add_account("alpha-new-token-000000")
    services.piktid_connect(team=team, user=member, token="alpha-new-token-000000")  # another account
    # Notification ids are the old account's: with the new token they would name the new account's own.
    assert services.piktid_notifications_consume(team_id=team.pk, job_id=job.pk) == 0
    assert not fake_piktid.requests_to("DELETE", "/notifications")


def test_a_piktid_job_id_names_the_accounts_own_job_and_never_guesses_between_others(
    team, other_team, member, outsider
):
    from accounts.models import PiktidConnection
    from packshots.engines.piktid.client import Notification
    from packshots.services import piktid as piktid_services

    mine = factories.start_job(piktid_draft(team, member, photos=1, instructions=[factories.WHITE_CUTOUT]))
    theirs = factories.start_job(
        piktid_draft(other_team, outsider, photos=1, instructions=[factories.WHITE_CUTOUT])
    )
    Job.objects.filter(pk=mine.pk).update(account_key="account-a", remote_job_id="4242")
    # Another team's job with the same PiktID id, sent by its old token; that team now uses account B.
    Job.objects.filter(pk=theirs.pk).update(account_key="account-old", remote_job_id="4242")
    PiktidConnection.objects.create(team=other_team, account_key="account-b", token_encrypted="x")

    def job_named(account_key: str, event_id: int) -> int | None:
        data = {"id_task": "4242", "status": "processing"}
        notification = Notification(id=event_id, name="batch_edit", data=data, timestamp=None)
        return services.piktid_notification_handle(account_key=account_key, notification=notification).job_id

    assert job_named("account-a", 1) == mine.pk
    assert job_named("account-b", 2) == theirs.pk  # the team's job from before its token swap
    older = factories.start_job(
        piktid_draft(other_team, outsider, photos=1, instructions=[factories.WHITE_CUTOUT])
    )
    Job.objects.filter(pk=older.pk).update(account_key="account-older", remote_job_id="4242")
    piktid_services._jobs_of_accounts.clear()  # as a few seconds later: found jobs are remembered that long
    assert job_named("account-b", 3) is None  # two candidates: neither is touched
    assert job_named("account-a", 4) == mine.pk
