"""The cutout repair page: paint keep/remove strokes on an input photo of a finished local job."""

import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import team_editor_required
from accounts.http import HtmxHttpRequest
from packshots import imaging, services
from packshots.errors import InvalidInputError, PackshotError
from packshots.imaging import repair as repairing
from packshots.selectors import uploads_for_team

MAX_STROKES_BYTES = 1_000_000  # 20,000 points as JSON fit in a third of this


@require_http_methods(["GET", "POST"])
@team_editor_required
def upload_repair(request: HtmxHttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(uploads_for_team(request.team).select_related("job"), pk=upload_id)
    errors: list[str] = []
    if request.method == "POST":
        try:
            keep, remove = _strokes(request.POST.get("strokes", ""))
            fresh = services.upload_repair(
                upload=upload, keep_strokes=keep, remove_strokes=remove, user=request.user
            )
        except PackshotError as exc:
            errors = [str(exc)]
        else:
            count = len(fresh)
            messages.success(
                request,
                f"Repairing the cutout of {upload.original_name}: {count} output{'s' if count != 1 else ''} "
                "will be rendered again as new versions (same seed).",
            )
            return redirect(upload.job)
    context = {
        "upload": upload,
        "job": upload.job,
        "outputs": services.upload_repair_outputs(upload),
        "refusal": services.upload_repair_refusal(upload),
        "errors": errors,
        "max_radius": repairing.max_radius(upload.width, upload.height),
        "max_points": repairing.MAX_POINTS,
        "max_strokes": repairing.MAX_STROKES,
    }
    return render(request, "packshots/upload_repair.html", context, status=400 if errors else 200)


def _strokes(text: str) -> tuple[object, object]:
    """The form's `strokes` field: JSON `{"keep": [...], "remove": [...]}` (the service checks the rest)."""
    if len(text) > MAX_STROKES_BYTES:
        raise InvalidInputError({"strokes": ["Too many strokes in one repair: apply some, then paint more."]})
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidInputError({"strokes": ["The strokes could not be read (not JSON)."]}) from None
    if not isinstance(data, dict) or set(data) != {"keep", "remove"}:
        raise InvalidInputError({"strokes": ['The strokes must be {"keep": [...], "remove": [...]}.']})
    return data["keep"], data["remove"]


@require_GET
@team_editor_required
def upload_repair_layer(request: HtmxHttpRequest, upload_id: int, layer: str) -> HttpResponse:
    """The repair page's images: the photo (JPEG) and the current cutout as an overlay (PNG)."""
    upload = get_object_or_404(uploads_for_team(request.team).select_related("job"), pk=upload_id)
    makers = {
        "photo": (services.upload_repair_photo, "image/jpeg"),
        "overlay": (services.upload_repair_overlay, "image/png"),
    }
    if layer not in makers:
        raise Http404
    make, content_type = makers[layer]
    try:
        data = make(upload)
    except (repairing.RepairError, imaging.ImageError, FileNotFoundError) as exc:
        raise Http404(str(exc)) from None
    response = HttpResponse(data, content_type=content_type)
    # The overlay changes with each repair: the browser asks again rather than showing an old cutout.
    response["Cache-Control"] = "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    return response
