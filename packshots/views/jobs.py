from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import team_editor_required, team_member_required
from accounts.http import HtmxHttpRequest
from packshots import instructions as schema
from packshots import services
from packshots.errors import PackshotError
from packshots.forms import ReviewForm
from packshots.models import Job, Result
from packshots.selectors import (
    REVIEW_FILTERS,
    gallery_counts,
    gallery_groups,
    gallery_since,
    gallery_slot,
    instruction_rows,
    jobs_for_team,
    latest_results,
    latest_rows,
    local_queue_state,
    result_stamp,
    results_for_team,
)


def poll_seconds(job: Job) -> int:
    """Seconds between polls: brisk for small jobs, calmer for big ones whose outputs arrive slowly."""
    return 2 if job.total_outputs <= 8 else 4


@require_GET
@team_member_required
def job_list(request: HtmxHttpRequest) -> HttpResponse:
    jobs = jobs_for_team(request.team)
    status = request.GET.get("status", "")
    if status in Job.Status.values:
        jobs = jobs.filter(status=status)
    else:
        jobs = jobs.exclude(status=Job.Status.DRAFT)  # unstarted drafts are listed under their own filter
    return render(
        request,
        "packshots/job_list.html",
        {"jobs": jobs[:200], "status": status, "statuses": Job.Status.choices},
    )


def status_context(job: Job, results: list, *, can_edit: bool) -> dict:
    """What the polled status fragment shows (`results`: the latest outputs, full or light rows)."""
    return {
        "job": job,
        "counts": gallery_counts(results),
        "since": gallery_since(results),
        "poll_seconds": poll_seconds(job),
        "has_results": any(r.status == Result.Status.COMPLETED for r in results),
        # A regenerated output of a finished job keeps the page polling until it arrives.
        "is_live": not job.is_terminal or any(not r.is_done for r in results),
        "can_decide": can_edit and job.can_regenerate,  # approve, reject, regenerate: finished jobs only
        "queue_position": services.queue_position(job),
        "local_queue": local_queue_state(job),
    }


def cards_context(request: HtmxHttpRequest, job: Job) -> dict:
    """What every result card of the job places, rendered and escaped once rather than per card."""
    return {
        "review_url": escape(reverse("packshots:job-review", args=[job.pk])),
        "job_key": escape(f"job-{job.pk}"),
        "csrf_input": csrf_input(request),
    }


def gallery_context(job: Job, results: list[Result], *, can_edit: bool) -> dict:
    """The whole review area: the status line, the grouped gallery, the input photos."""
    return {
        **status_context(job, results, can_edit=can_edit),
        "results": results,
        "groups": gallery_groups(job, results),
        "filters": REVIEW_FILTERS,
        "uploads": job.uploads.all(),
        "items": instruction_rows(job),
    }


def client_since(raw: str | None) -> int | None:
    """The newest change the page has already shown (see `result_stamp`); None: it has shown nothing."""
    return int(raw) if raw and raw.isdigit() and len(raw) < 20 else None


def gallery_update(request: HtmxHttpRequest, job: Job, *, since: int | None) -> HttpResponse:
    """The status fragment, plus out of band only the cards that changed since `since` (all without it).

    Cards the page already shows are left alone, so an open viewer, a comparison or a half-typed reason
    survives every poll. With nothing new, only light rows are read (bench/job_page.py).
    """
    rows = latest_rows(job)
    changed = [r for r in rows if since is None or result_stamp(r) > since]
    results = latest_results(job) if changed else rows
    slots = {(r.instruction_index, r.variation_index) for r in changed}
    changed_slots = [
        gallery_slot(job, r.instruction_index, r.variation_index, r)
        for r in results
        if (r.instruction_index, r.variation_index) in slots
    ]
    context = {
        **status_context(job, results, can_edit=request.membership.can_edit),
        "changed_slots": changed_slots,
        # Cutouts and flags of the input photos appear while the job prepares them.
        "photos_changed": since is None or not job.is_terminal,
        "uploads": job.uploads.all(),
        # Only with cards to send: reading the CSRF token renews its cookie.
        **(cards_context(request, job) if changed_slots else {}),
    }
    response = render(request, "packshots/_gallery_poll.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@team_member_required
def job_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    jobs = jobs_for_team(request.team)
    if request.htmx:
        jobs = jobs.select_related(None)  # the poll shows neither project nor author: half the read
    job = get_object_or_404(jobs, pk=job_id)
    if job.is_draft:
        return redirect("packshots:wizard-photos", job.pk)
    if request.htmx:
        return gallery_update(request, job, since=client_since(request.GET.get("since")))
    context = {
        **gallery_context(job, latest_results(job), can_edit=request.membership.can_edit),
        **cards_context(request, job),
    }
    response = render(request, "packshots/job_detail.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@team_editor_required
def job_cancel(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(jobs_for_team(request.team), pk=job_id)
    try:
        services.job_cancel(job=job)
        messages.success(request, f"Job #{job.pk} canceled.")
    except PackshotError as exc:
        messages.error(request, str(exc))
    return redirect(job)


@require_POST
@team_editor_required
def job_duplicate(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(jobs_for_team(request.team), pk=job_id)
    draft = services.job_duplicate(job=job, author=request.user)
    messages.success(request, f"New draft #{draft.pk} with the photos and instructions of job #{job.pk}.")
    return redirect("packshots:wizard-instructions", draft.pk)


@require_GET
@team_member_required
def job_instructions(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The job's instructions as a PiktID instructions file (usable with --instructions-file)."""
    job = get_object_or_404(jobs_for_team(request.team), pk=job_id)
    response = HttpResponse(schema.dump_instructions(job.instructions), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="job_{job.pk}_instructions.json"'
    return response


@require_POST
@team_editor_required
def job_resubmit(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """“Submit again” for a PiktID job stopped before we knew whether PiktID had created it."""
    job = get_object_or_404(jobs_for_team(request.team), pk=job_id)
    try:
        services.job_resubmit(job=job)
        messages.success(request, f"Job #{job.pk} is queued for PiktID again.")
    except PackshotError as exc:
        messages.error(request, str(exc))
    return redirect(job)


@require_POST
@team_editor_required
def result_regenerate(request: HtmxHttpRequest, result_id: int) -> HttpResponse:
    """A new version of one output; earlier versions stay viewable."""
    result = get_object_or_404(results_for_team(request.team), pk=result_id)
    try:
        fresh = services.result_regenerate(result=result)
        messages.success(request, f"Regenerating {result.filename} as version {fresh.version}.")
    except PackshotError as exc:
        messages.error(request, str(exc))
    if request.htmx:
        job = get_object_or_404(jobs_for_team(request.team), pk=result.job_id)  # as the service left it
        return gallery_update(request, job, since=client_since(request.POST.get("since")))
    return redirect(result.job)


@require_POST
@team_editor_required
def job_review(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """Approve or reject one or more outputs (`results`), with an optional reason."""
    job = get_object_or_404(jobs_for_team(request.team), pk=job_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        _review(request, job, form)
    if request.htmx:
        job = get_object_or_404(jobs_for_team(request.team), pk=job.pk)  # its outcome follows the decisions
        return gallery_update(request, job, since=client_since(request.POST.get("since")))
    return redirect(job)


def _review(request: HtmxHttpRequest, job: Job, form: ReviewForm) -> None:
    try:
        changed = services.results_review(
            job=job,
            result_ids=form.cleaned_data["results"],
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
            user=request.user,
        )
        verb = "approved" if form.cleaned_data["decision"] == "approved" else "rejected"
        messages.success(request, f"{changed} output{'s' if changed != 1 else ''} {verb}.")
    except PackshotError as exc:
        messages.error(request, str(exc))
