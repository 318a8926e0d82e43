"""Job ZIPs: all, approved only or a selection; names that never collide between jobs; real timestamps."""

import io
import json
import struct
import tracemalloc
import zipfile

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from packshots import services
from packshots.models import Result
from tests import factories
from tests.views.gallery_jobs import finished_job


def zip_of(response) -> zipfile.ZipFile:
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def zip_url(job, query: str = "") -> str:
    return reverse("packshots:job-zip", args=[job.pk]) + query


def test_entries_are_named_after_project_and_job_so_two_jobs_unzip_side_by_side(member_client, team, member):
    project = factories.make_project(team=team, user=member, name="Été / Capsule #1")
    first = finished_job(team=team, user=member, project=project)
    second = finished_job(team=team, user=member, project=project)
    names = [set(zip_of(member_client.get(zip_url(job))).namelist()) for job in (first, second)]
    assert names[0] == {
        f"ete-capsule-1_{first.pk}_output_0_0_v0.jpg",
        f"ete-capsule-1_{first.pk}_output_0_1_v0.jpg",
        "metadata.json",
    }
    assert names[0] & names[1] == {"metadata.json"}


def test_piktids_names_are_kept_on_request(member_client, team, member):
    job = finished_job(team=team, user=member)
    archive = zip_of(member_client.get(zip_url(job, "?names=piktid")))
    assert sorted(archive.namelist()) == ["metadata.json", "output_0_0_v0.jpg", "output_0_1_v0.jpg"]
    result = job.results.get(variation_index=1)
    assert archive.read("output_0_1_v0.jpg") == result.image.open("rb").read()
    assert json.loads(archive.read("metadata.json"))["summary"]["successful"] == 2


def test_entries_carry_the_time_each_output_last_changed(member_client, team, member):
    job = finished_job(team=team, user=member)
    when = timezone.now().replace(year=2025, month=3, day=4, hour=5, minute=6, second=8, microsecond=0)
    Result.objects.filter(pk=job.results.get(variation_index=0).pk).update(updated_at=when)
    archive = zip_of(member_client.get(zip_url(job, "?names=piktid")))
    info = archive.getinfo("output_0_0_v0.jpg")
    assert info.date_time == timezone.localtime(when).timetuple()[:6]
    # The extended-timestamp field holds the exact UTC second, whatever zone the reader is in.
    assert info.extra[:9] == struct.pack("<HHBl", 0x5455, 5, 1, int(when.timestamp()))
    assert archive.getinfo("output_0_1_v0.jpg").date_time[0] == timezone.localtime().year


def test_approved_only_holds_just_the_approved_outputs(member_client, team, member):
    job = finished_job(team=team, user=member, flagged=[(0, 0), (0, 1)])
    approved = job.results.get(variation_index=1)
    services.results_review(job=job, result_ids=[approved.pk], decision="approved", reason="", user=member)
    response = member_client.get(zip_url(job, "?only=approved"))
    assert f'filename="packshots_job_{job.pk}_approved.zip"' in response["Content-Disposition"]
    assert sorted(zip_of(response).namelist()) == ["metadata.json", f"spring-drop_{job.pk}_output_0_1_v0.jpg"]


def test_approved_only_with_nothing_approved_says_so_instead_of_an_empty_zip(member_client, team, member):
    job = finished_job(team=team, user=member)
    response = member_client.get(zip_url(job, "?only=approved"), follow=True)
    assert response.redirect_chain[-1][0] == job.get_absolute_url()
    assert "No approved outputs yet" in response.text


def test_a_selection_holds_the_chosen_outputs_of_this_job_only(member_client, team, member):
    job = finished_job(team=team, user=member)
    other = finished_job(team=team, user=member)
    chosen = job.results.get(variation_index=1)
    query = f"?only=selected&results={chosen.pk}&results={other.results.first().pk}&names=piktid"
    assert sorted(zip_of(member_client.get(zip_url(job, query))).namelist()) == [
        "metadata.json",
        "output_0_1_v0.jpg",
    ]


def test_a_selection_of_nothing_usable_is_refused_with_a_message(member_client, team, member):
    job = finished_job(team=team, user=member, failed=[(0, 0)])
    failed = job.results.get(variation_index=0)
    for query in ("?only=selected", f"?only=selected&results={failed.pk}"):
        response = member_client.get(zip_url(job, query), follow=True)
        assert "Tick the finished outputs to download first." in response.text, query


def test_bad_download_requests_get_a_clear_message_never_a_500(member_client, team, member):
    job = finished_job(team=team, user=member)
    for query in ("?only=everything", "?names=mine", "?only=selected&results=abc", "?results=" + "9" * 30):
        response = member_client.get(zip_url(job, query), follow=True)
        assert response.status_code == 200 and 'class="message error"' in response.text, query


def test_the_zip_streams_with_constant_memory(team, member):
    job = finished_job(team=team, user=member)
    big = b"\x00" * (8 << 20)  # two 8 MB outputs: a buffered ZIP would hold 16 MB
    for result in job.results.all():
        Result.objects.filter(pk=result.pk).update(
            image=default_storage.save("teams/big.jpg", ContentFile(big))
        )
    tracemalloc.start()
    total = sum(len(chunk) for chunk in services.zip_stream(job))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert total > 16 << 20 and peak < 4 << 20, f"peak {peak / 2**20:.1f} MB"
