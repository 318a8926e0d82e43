"""The new-job wizard: (1) photos (2) instructions (3) review and options (4) start.

The draft Job row is the wizard's state, so every step survives reloads and can be revisited.
"""

from functools import wraps

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import team_editor_required
from accounts.http import HtmxHttpRequest
from packshots import instructions as schema
from packshots import services
from packshots.errors import InvalidInstructionsError, PackshotError
from packshots.forms import (
    CustomInstructionForm,
    InstructionsJsonForm,
    JobOptionsForm,
    NoteForm,
    PresetPickForm,
    UploadForm,
    add_schema_errors,
)
from packshots.models import Job
from packshots.selectors import instruction_rows, jobs_for_team, presets_for_team, uploads_for_team
from packshots.services import drafts
from packshots.uploads import upload_refusals


def _draft(request: HtmxHttpRequest, job_id: int) -> Job:
    return get_object_or_404(jobs_for_team(request.team), pk=job_id, status=Job.Status.DRAFT)


def _started_goes_to_job_page(view):
    """A step URL of a job that has started (Back after Start, a bookmark) opens the job page, not a 404."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, job_id: int, *args, **kwargs) -> HttpResponse:
        job = get_object_or_404(jobs_for_team(request.team), pk=job_id)
        if job.status == Job.Status.DRAFT:
            return view(request, job_id, *args, **kwargs)
        messages.info(request, f"Job #{job.pk} has started, so its photos and instructions are fixed.")
        url = job.get_absolute_url()
        response = HttpResponseClientRedirect(url) if request.htmx else redirect(url)
        patch_vary_headers(response, ["HX-Request"])
        return response

    return wrapper


def _render_step(request: HtmxHttpRequest, job: Job, step: str, fragment: str, context: dict) -> HttpResponse:
    context = {"job": job, "step": step, "fragment": fragment, **context}
    template = fragment if request.htmx else "packshots/wizard.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_http_methods(["GET", "POST"])
@team_editor_required
@_started_goes_to_job_page
def wizard_photos(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _draft(request, job_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    rejected: list[str] = []
    if request.method == "POST":
        rejected = _add_photos(request, job, form)
        if rejected or form.is_valid():
            if not rejected and not request.htmx:
                return redirect("packshots:wizard-photos", job.pk)
            form = UploadForm()
    context = {
        "form": form,
        "rejected": rejected,
        "uploads": job.uploads.all(),
        "max_images": schema.MAX_IMAGES,
    }
    return _render_step(request, job, "photos", "packshots/_wizard_photos.html", context)


def _add_photos(request: HtmxHttpRequest, job: Job, form: UploadForm) -> list[str]:
    """Store each posted photo on its own; returns a message per refused photo, cut off in transit or not."""
    refusals = upload_refusals(request)
    if refusals.request:
        return [refusals.request]
    rejected = list(refusals.files)
    if form.is_valid():
        for photo in form.cleaned_data["photos"]:
            try:
                services.upload_add(
                    job=job, uploaded_by=request.user, file=photo, note=form.cleaned_data["note"]
                )
            except PackshotError as exc:
                rejected.append(str(exc))
    return rejected


@require_POST
@team_editor_required
def upload_note(request: HtmxHttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(uploads_for_team(request.team), pk=upload_id)
    form = NoteForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.upload_update_note(upload=upload, note=form.cleaned_data["note"])
        except PackshotError as exc:
            error = str(exc)
    else:
        error = "; ".join(form.errors.get("note", []))
    if not request.htmx:
        return redirect("packshots:wizard-photos", upload.job_id)
    return render(
        request, "packshots/_upload_card.html", {"upload": upload, "job": upload.job, "note_error": error}
    )


@require_POST
@team_editor_required
def upload_move(request: HtmxHttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(uploads_for_team(request.team), pk=upload_id)
    try:
        drafts.upload_move(upload=upload, direction=request.POST.get("direction", ""))
    except PackshotError as exc:  # a bad direction (InvalidInputError) or a job that has started
        messages.error(request, str(exc))
    return redirect("packshots:wizard-photos", upload.job_id)


@require_POST
@team_editor_required
def upload_make_main(request: HtmxHttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(uploads_for_team(request.team), pk=upload_id)
    try:
        services.upload_make_main(upload=upload)
    except PackshotError as exc:
        messages.error(request, str(exc))
    return redirect("packshots:wizard-photos", upload.job_id)


@require_POST
@team_editor_required
def upload_remove(request: HtmxHttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(uploads_for_team(request.team), pk=upload_id)
    job = upload.job
    try:
        services.upload_remove(upload=upload)
    except PackshotError as exc:
        messages.error(request, str(exc))
    return redirect("packshots:wizard-photos", job.pk)


def _instruction_forms(
    request: HtmxHttpRequest, job: Job, presets, *, bound: bool
) -> tuple[dict, forms.Form | None]:
    """The three ways to add instructions; only the one that was submitted is bound to the POST.

    `?edit=N` (or the posted `custom-replace`) loads instruction N into the custom form to change it.
    """
    action = request.POST.get("action") if bound else None
    data = {
        name: request.POST if bound and action == name else None for name in ("custom", "presets", "json")
    }
    editing = _edit_index(request.POST.get("custom-replace") if bound else request.GET.get("edit"), job)
    base = job.instructions[editing] if editing is not None else None
    available = {
        "custom": CustomInstructionForm(
            data["custom"], prefix="custom", base=base, initial={"replace": editing} if base else {}
        ),
        "presets": PresetPickForm(data["presets"], presets=presets, prefix="pick"),
        "json": InstructionsJsonForm(data["json"], request.FILES if data["json"] else None, prefix="json"),
    }
    return available, available.get(action)


def _edit_index(value: str | None, job: Job) -> int | None:
    try:
        index = int(value or "")
    except ValueError:
        return None
    return index if 0 <= index < len(job.instructions) else None


@require_http_methods(["GET", "POST"])
@team_editor_required
@_started_goes_to_job_page
def wizard_instructions(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _draft(request, job_id)
    presets = presets_for_team(request.team)
    available, submitted = _instruction_forms(request, job, presets, bound=request.method == "POST")
    if submitted is not None and submitted.is_valid():
        new = submitted.instructions()
        share_as = submitted.cleaned_data.get("share_as", "")
        replace = submitted.cleaned_data.get("replace")
        try:
            if replace is not None:
                services.job_replace_instruction(job=job, index=replace, instruction=new[0])
            else:
                services.job_add_instructions(
                    job=job, instructions=new, share_as=share_as, author=request.user
                )
        except InvalidInstructionsError as exc:
            add_schema_errors(submitted, exc.field_errors, {})
        except PackshotError as exc:
            submitted.add_error("share_as" if share_as else None, str(exc))
        else:
            verb = "Updated" if replace is not None else "Added"
            messages.success(request, f"{verb} {len(new)} instruction{'s' if len(new) != 1 else ''}.")
            for note in getattr(submitted, "notes", []):  # what the instruction form did not keep
                messages.info(request, note)
            if not request.htmx:
                return redirect("packshots:wizard-instructions", job.pk)
            available, _ = _instruction_forms(request, job, presets, bound=False)
    context = {
        "custom": available["custom"],
        "editing": available["custom"].initial.get("replace"),
        "presets_form": available["presets"],
        "json": available["json"],
        "presets": presets,
        "items": instruction_rows(job),
    }
    return _render_step(request, job, "instructions", "packshots/_wizard_instructions.html", context)


@require_POST
@team_editor_required
def instruction_remove(request: HtmxHttpRequest, job_id: int, index: int) -> HttpResponse:
    job = _draft(request, job_id)
    try:
        services.job_remove_instruction(job=job, index=index)
    except PackshotError as exc:
        messages.error(request, str(exc))
    return redirect("packshots:wizard-instructions", job.pk)


@require_http_methods(["GET", "POST"])
@team_editor_required
@_started_goes_to_job_page
def wizard_review(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _draft(request, job_id)
    initial = {"engine": job.engine, "post_process": job.request.get("post_process", False), **job.options}
    engines = services.engines_for_team(request.team)
    form = JobOptionsForm(request.POST or None, initial=initial, engines=engines)
    if request.method == "POST" and form.is_valid():
        try:
            services.job_set_options(
                job=job,
                engine=form.cleaned_data["engine"],
                options=form.options(),
                post_process=form.cleaned_data["post_process"],
            )
            if request.POST.get("action") == "start":
                job = services.job_start(job=job)
                messages.success(request, f"Job #{job.pk} started: {job.total_outputs} outputs on the way.")
                if request.htmx:
                    return HttpResponseClientRedirect(job.get_absolute_url())
                return redirect(job)
        except InvalidInstructionsError as exc:
            add_schema_errors(form, exc.field_errors, {})
        except PackshotError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Options saved.")
    context = {
        "form": form,
        "items": instruction_rows(job),
        "uploads": job.uploads.all(),
        "problems": services.job_request_errors(job),
        "piktid": services.piktid_balance_for_review(team=request.team) if job.engine == "piktid" else None,
    }
    return _render_step(request, job, "review", "packshots/_wizard_review.html", context)


@require_POST
@team_editor_required
def job_discard(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _draft(request, job_id)
    project = job.project
    services.job_discard(job=job)
    messages.success(request, f"Draft job #{job_id} discarded.")
    return redirect(project)
