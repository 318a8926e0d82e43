"""Files on S3 (moto's server on 127.0.0.1): private objects, signed-URL redirects after the team check."""

import io
import zipfile
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from moto.server import ThreadedMotoServer

from packshots.models import Result
from packshots.services import retention
from tests import factories

BUCKET = "packshots-test"


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_server):
    """Default storage is a private bucket on the moto server (a fresh bucket per test)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
                "signature_version": "s3v4",
            },
        },
    }
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _stored(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _completed_job(team):
    """A job the local engine rendered, its files written to the bucket by the real pipeline."""
    return factories.start_job(factories.make_draft(team=team, instructions=[factories.WHITE_CUTOUT]))


def test_an_upload_is_stored_in_the_bucket_and_served_by_a_short_lived_signed_redirect(
    s3, member_client, team
):
    job = factories.make_draft(team=team)
    upload = job.uploads.get()
    assert _stored(s3, upload.file.name)[:2] == b"\xff\xd8"  # the JPEG is in the bucket

    response = member_client.get(reverse("packshots:upload-file", args=[upload.pk, "original"]))

    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    url = response["Location"]
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(default_storage.endpoint_url)
    assert query["X-Amz-Expires"] == ["60"]
    assert query["response-content-type"] == ["image/jpeg"]
    assert query["response-content-disposition"] == [f'attachment; filename="{upload.original_name}"']
    fetched = httpx.get(url)
    assert fetched.status_code == 200
    assert fetched.content == _stored(s3, upload.file.name)
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["content-disposition"] == f'attachment; filename="{upload.original_name}"'


def test_a_rendered_result_is_stored_in_the_bucket_and_served_inline_by_redirect(s3, member_client, team):
    job = _completed_job(team)
    result = job.results.get(status=Result.Status.COMPLETED)
    stored = _stored(s3, result.image.name)

    response = member_client.get(reverse("packshots:result-file", args=[result.pk, "image"]) + "?inline=1")

    assert response.status_code == 302
    fetched = httpx.get(response["Location"])
    assert fetched.status_code == 200 and fetched.content == stored
    assert fetched.headers["content-disposition"] == f'inline; filename="{result.filename}"'
    thumb = member_client.get(reverse("packshots:result-file", args=[result.pk, "thumbnail"]))
    assert httpx.get(thumb["Location"]).content == _stored(s3, result.thumbnail.name)


def test_another_team_gets_404_and_no_signed_url(s3, team, member, outsider):
    job = _completed_job(team)
    result = job.results.get()
    upload = job.uploads.get()
    client = Client()
    client.force_login(outsider)

    for url in (
        reverse("packshots:upload-file", args=[upload.pk, "original"]),
        reverse("packshots:upload-file", args=[upload.pk, "thumbnail"]),
        reverse("packshots:result-file", args=[result.pk, "image"]),
        reverse("packshots:job-zip", args=[job.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Location" not in response


def test_stored_objects_are_not_publicly_readable(s3, s3_server, team, member):
    job = _completed_job(team)
    names = [job.uploads.get().file.name, *(r.image.name for r in job.results.all())]

    for name in names:
        assert httpx.get(f"{s3_server}/{BUCKET}/{name}").status_code == 403, name
        acl = s3.get_object_acl(Bucket=BUCKET, Key=name)
        assert not [g for g in acl["Grants"] if "URI" in g["Grantee"]], name  # no AllUsers/AuthenticatedUsers


def test_the_zip_of_a_job_on_s3_holds_the_stored_outputs(s3, member_client, team):
    job = _completed_job(team)
    result = job.results.get()

    response = member_client.get(reverse("packshots:job-zip", args=[job.pk]))

    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    outputs = [name for name in archive.namelist() if name != "metadata.json"]
    assert len(outputs) == 1 and "metadata.json" in archive.namelist()
    assert archive.read(outputs[0]) == _stored(s3, result.image.name)


def test_orphaned_files_in_the_bucket_are_found_in_one_listing_and_deleted(s3, team, member):
    job = factories.make_draft(team=team)
    orphan = default_storage.save("teams/1/results/lost.jpg", ContentFile(b"lost"))

    found = retention.orphaned_files(older_than=timedelta(hours=1), now=timezone.now() + timedelta(hours=2))
    retention.orphaned_files_delete(files=found)

    assert [f.name for f in found] == [orphan]
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert orphan not in keys and job.uploads.get().file.name in keys


def test_signed_urls_use_the_public_endpoint_when_browsers_reach_the_store_elsewhere(
    s3, s3_server, settings, member_client, team
):
    # Inside compose the app reaches MinIO as http://minio:9000; browsers need another address.
    settings.AWS_S3_PUBLIC_ENDPOINT_URL = s3_server.replace("127.0.0.1", "localhost")
    upload = factories.make_draft(team=team).uploads.get()

    response = member_client.get(reverse("packshots:upload-file", args=[upload.pk, "thumbnail"]))

    assert response["Location"].startswith(settings.AWS_S3_PUBLIC_ENDPOINT_URL + f"/{BUCKET}/")
    fetched = httpx.get(response["Location"])
    assert fetched.status_code == 200 and fetched.content == _stored(s3, upload.thumbnail.name)
