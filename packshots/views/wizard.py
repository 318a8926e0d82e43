"""The new-job wizard: (1) photos (2) instructions (3) review and options (4) start.

The draft Job row is the wizard's state, so every step survives reloads and can be revisited.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import team_editor_required
from accounts.http import HtmxHttpRequest
from packshots import instructions as schema
from packshots import services
from packshots.errors import InvalidInstructionsError, PackshotError
from packshots.forms import (
    InstructionForm,
    InstructionsJsonForm,
    JobOptionsForm,
    NoteForm,
    PresetPickForm,
    UploadForm,
    add_schema_errors,
)
from packshots.models import Job
from packshots.selectors import jobs_for_team, presets_for_team, uploads_for_team


def _draft(request: HtmxHttpRequest, job_id: int) -> Job:
    return get_object_or_404(jobs_for_team(request.team), pk=job_id, status=Job.Status.DRAFT)


def _render_step(request: HtmxHttpRequest, job: Job, step: str, fragment: str, context: dict) -> HttpResponse:
    context = {"job": job, "step": step, "fragment": fragment, **context}
    template = fragment if request.htmx else "packshots/wizard.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@team_editor_required
def wizard_photos(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _draft(request, job_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    rejected: list[str] = []
    if request.method == "POST" and form.is_valid():
        for photo in form.cleaned_data["photos"]:
            try:
                services.upload_add(
                    job=job, uploaded_by=request.user, file=photo, note=form.cleaned_data["note"]
                )
            except PackshotError as exc:
                rejected.append(str(exc))
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
def upload_remove(request: HtmxHttpRequest, upload_id: int) -> HttpResponse:
    upload = get_object_or_404(uploads_for_team(request.team), pk=upload_id)
    job = upload.job
    try:
        services.upload_remove(upload=upload)
    except PackshotError as exc:
        messages.error(request, str(exc))
    return redirect("packshots:wizard-photos", job.pk)


@require_http_methods(["GET", "POST"])
@team_editor_required
def wizard_instructions(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _draft(request, job_id)
    presets = presets_for_team(request.team)
    custom = InstructionForm(prefix="custom")
    pick = PresetPickForm(presets=presets, prefix="pick")
    from_json = InstructionsJsonForm(prefix="json")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "presets":
            pick = PresetPickForm(request.POST, presets=presets, prefix="pick")
            new = [p.as_instruction() for p in pick.cleaned_data["presets"]] if pick.is_valid() else None
            form = pick
        elif action == "json":
            from_json = InstructionsJsonForm(request.POST, request.FILES, prefix="json")
            new = from_json.cleaned_data["instructions"] if from_json.is_valid() else None
            form = from_json
        else:
            custom = InstructionForm(request.POST, prefix="custom")
            new = [custom.cleaned_data["instruction"]] if custom.is_valid() else None
            form = custom
        if new is not None:
            try:
                services.job_add_instructions(job=job, instructions=new)
            except InvalidInstructionsError as exc:
                add_schema_errors(form, exc.field_errors, {})
            else:
                messages.success(request, f"Added {len(new)} instruction{'s' if len(new) != 1 else ''}.")
                if not request.htmx:
                    return redirect("packshots:wizard-instructions", job.pk)
                custom, pick = (
                    InstructionForm(prefix="custom"),
                    PresetPickForm(presets=presets, prefix="pick"),
                )
                from_json = InstructionsJsonForm(prefix="json")
    context = {
        "custom": custom,
        "pick": pick,
        "from_json": from_json,
        "presets": presets,
        "items": _items(job),
    }
    return _render_step(request, job, "instructions", "packshots/_wizard_instructions.html", context)


def _items(job: Job) -> list[dict]:
    return [
        {
            "index": i,
            "instruction": instruction,
            "summary": schema.describe_instruction(instruction),
            "outputs": instruction.get("num_variations", 1),
            "credits": instruction.get("num_variations", 1) * schema.output_credits(instruction),
            "size": "×".join(map(str, schema.output_size(instruction))),
        }
        for i, instruction in enumerate(job.instructions)
    ]


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
def wizard_review(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _draft(request, job_id)
    initial = {"engine": job.engine, "post_process": job.request.get("post_process", False), **job.options}
    form = JobOptionsForm(request.POST or None, initial=initial)
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
        "items": _items(job),
        "uploads": job.uploads.all(),
        "problems": services.job_request_errors(job),
    }
    return _render_step(request, job, "review", "packshots/_wizard_review.html", context)
