"""Every file is served here, after a team check: nothing lives under a public media URL."""

from django.contrib import messages
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET

from accounts.decorators import team_member_required
from accounts.http import HtmxHttpRequest
from packshots import services, storage
from packshots.errors import PackshotError
from packshots.forms import DownloadForm
from packshots.models import Result
from packshots.selectors import jobs_for_team, results_for_team, uploads_for_team
from packshots.services.downloads import results_to_zip

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


def _serve(
    request: HtmxHttpRequest, field: FieldFile, *, filename: str, content_type: str, inline: bool
) -> HttpResponse:
    # After the team check: a signed-URL redirect on S3, the bytes from local storage (packshots/storage.py).
    return storage.file_response(request, field, filename=filename, content_type=content_type, inline=inline)


@require_GET
@team_member_required
def upload_file(request: HtmxHttpRequest, upload_id: int, kind: str) -> HttpResponse:
    upload = get_object_or_404(uploads_for_team(request.team), pk=upload_id)
    files = {
        "original": (upload.file, upload.original_name, upload.content_type),
        "thumbnail": (upload.thumbnail, f"thumbnail_{upload.pk}.jpg", "image/jpeg"),
        "cutout": (upload.cutout, f"cutout_{upload.pk}.png", "image/png"),
    }
    if kind not in files:
        raise Http404
    field, name, content_type = files[kind]
    inline = kind != "original" or "inline" in request.GET
    return _serve(request, field, filename=name, content_type=content_type, inline=inline)


@require_GET
@team_member_required
def result_file(request: HtmxHttpRequest, result_id: int, kind: str) -> HttpResponse:
    result = get_object_or_404(results_for_team(request.team), pk=result_id, status=Result.Status.COMPLETED)
    if kind == "thumbnail":
        return _serve(
            request,
            result.thumbnail,
            filename=f"thumb_{result.filename}.jpg",
            content_type="image/jpeg",
            inline=True,
        )
    if kind != "image":
        raise Http404
    content_type = CONTENT_TYPES.get(result.format, "application/octet-stream")
    return _serve(
        request,
        result.image,
        filename=result.filename,
        content_type=content_type,
        inline="inline" in request.GET,
    )


@require_GET
@team_member_required
def job_zip(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The job's outputs as a streamed ZIP: `only` all, approved or selected (`results`); `names` piktid."""
    job = get_object_or_404(jobs_for_team(request.team), pk=job_id)
    form = DownloadForm(request.GET)
    try:
        if not form.is_valid():
            raise PackshotError(" ".join(e for errors in form.errors.values() for e in errors))
        results = results_to_zip(
            job, only=form.cleaned_data["only"] or "all", result_ids=form.cleaned_data["results"]
        )
    except PackshotError as exc:
        messages.error(request, str(exc))
        return redirect(job)
    stream = services.zip_stream(job, results=results, piktid_names=form.cleaned_data["names"] == "piktid")
    response = storage.streaming_response(request, stream, content_type="application/zip")
    suffix = {"approved": "_approved", "selected": "_selected"}.get(form.cleaned_data["only"], "")
    response["Content-Disposition"] = f'attachment; filename="packshots_job_{job.pk}{suffix}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response
