from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import team_editor_required, team_member_required
from accounts.http import HtmxHttpRequest
from batches import credits, services
from batches.forms import BatchForm, BudgetForm, StartForm, ZipForm
from batches.models import Batch
from batches.naming import NamingError, clean_path, group_by_sku
from batches.selectors import batch_list_for_team, batch_totals, batches_for_team, sku_rows
from batches.uploads import ZipUploadHandler, zip_refusal
from packshots.engines import is_remote
from packshots.errors import InvalidInputError, InvalidInstructionsError, PackshotError
from packshots.forms import add_schema_errors
from packshots.models import Job
from packshots.services.connections import piktid_credentials
from packshots.uploads import upload_refusals


def _engines(team) -> list[tuple[str, str]]:
    usable = piktid_credentials(team) is not None
    return [(v, label) for v, label in Job.Engine.choices if not is_remote(v) or usable]


@require_GET
@team_member_required
def batch_list(request: HtmxHttpRequest) -> HttpResponse:
    return render(
        request,
        "batches/batch_list.html",
        {
            "batches": batch_list_for_team(request.team)[:100],
            "zip_form": ZipForm(),
            "files_form": BatchForm(),
        },
    )


def _create(request: HtmxHttpRequest, form: BatchForm, source: str) -> Batch | None:
    if not form.is_valid():
        return None
    try:
        return services.batch_create(
            team=request.team,
            author=request.user,
            name=form.cleaned_data["name"],
            project_name=form.cleaned_data["project"],
            source=source,
            sku_pattern=form.cleaned_data["sku_pattern"],
        )
    except InvalidInputError as exc:
        add_schema_errors(form, exc.field_errors, {})
        return None


def _new_page(request, *, zip_form=None, files_form=None) -> HttpResponse:
    context = {
        "batches": batch_list_for_team(request.team)[:100],
        "zip_form": zip_form or ZipForm(),
        "files_form": files_form or BatchForm(),
    }
    return render(request, "batches/batch_list.html", context, status=400)


@csrf_exempt  # the upload handler must be set before the CSRF check reads the body; checked just below
def batch_new_zip(request: HtmxHttpRequest) -> HttpResponse:
    request.upload_handlers = [ZipUploadHandler(request)]
    return _batch_new_zip(request)


@require_POST
@team_editor_required  # before the CSRF check, which reads (spools) the body: strangers never get that far
@csrf_protect
def _batch_new_zip(request: HtmxHttpRequest) -> HttpResponse:
    form = ZipForm(request.POST, request.FILES)
    if refusal := zip_refusal(request):
        form.is_valid()
        form.add_error("archive", refusal)
        return _new_page(request, zip_form=form)
    batch = _create(request, form, Batch.Source.ZIP)
    if batch is None:
        return _new_page(request, zip_form=form)
    try:
        services.batch_store_archive(batch=batch, file=form.cleaned_data["archive"])
    except PackshotError as exc:
        batch.delete()
        form.add_error("archive", str(exc))
        return _new_page(request, zip_form=form)
    messages.success(request, f"Batch “{batch.name}” received; its photos are being checked.")
    return redirect(batch)


@require_POST
@team_editor_required
def batch_new_files(request: HtmxHttpRequest) -> HttpResponse:
    """A folder or files batch; without JavaScript its files come in this very request (up to 10)."""
    form = BatchForm(request.POST)
    source = Batch.Source.FILES if request.POST.get("source") == "files" else Batch.Source.FOLDER
    batch = _create(request, form, source)
    if batch is None:
        return _new_page(request, files_form=form)
    files = request.FILES.getlist("files")
    if files:
        _add(request, batch, files)
        try:
            services.batch_files_done(batch=batch)
        except PackshotError as exc:
            messages.error(request, str(exc))
    return redirect(batch)


def _add(request: HtmxHttpRequest, batch: Batch, files: list) -> list[str]:
    paths = request.POST.getlist("paths")
    pairs = [(paths[i] if i < len(paths) and paths[i] else f.name, f) for i, f in enumerate(files)]
    refused = services.batch_add_files(batch=batch, files=pairs)
    refusals = upload_refusals(request)
    refused += ([refusals.request] if refusals.request else []) + refusals.files
    for line in refused:
        messages.error(request, line)
    return refused


@require_POST
@team_editor_required
def batch_files(request: HtmxHttpRequest, batch_id: int) -> HttpResponse:
    """One group of files of a folder upload (batches.js sends groups of 10); answers what was refused."""
    batch = get_object_or_404(batches_for_team(request.team), pk=batch_id)
    try:
        refused = _add(request, batch, request.FILES.getlist("files"))
    except PackshotError as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain")
    list(messages.get_messages(request))  # the script shows the answer; no message left for the next page
    return HttpResponse("\n".join(refused), content_type="text/plain")


@require_POST
@team_editor_required
def batch_files_done(request: HtmxHttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(batches_for_team(request.team), pk=batch_id)
    try:
        services.batch_files_done(batch=batch)
        messages.success(request, "All files received; the photos are being checked.")
    except PackshotError as exc:
        messages.error(request, str(exc))
    return redirect(batch)


@require_GET
@team_member_required
def batch_detail(request: HtmxHttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(batches_for_team(request.team), pk=batch_id)
    return _detail(request, batch)


def _detail(request, batch: Batch, start_form: StartForm | None = None, status: int = 200) -> HttpResponse:
    rows = sku_rows(batch)
    context = {
        "batch": batch,
        "rows": rows,
        "totals": batch_totals(batch, rows),
        "budget": credits.budget_status(batch.team) if piktid_credentials(batch.team) else None,
        "start_form": start_form
        or StartForm(batch=batch, engines=_engines(batch.team), initial={"engine": batch.engine}),
    }
    template = "batches/_batch_progress.html" if request.htmx else "batches/batch_detail.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@team_editor_required
def batch_start(request: HtmxHttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(batches_for_team(request.team), pk=batch_id)
    form = StartForm(request.POST, request.FILES, batch=batch, engines=_engines(batch.team))
    if form.is_valid():
        try:
            services.batch_start(
                batch=batch,
                instructions=form.cleaned_data["instructions"],
                engine=form.cleaned_data["engine"],
                naming_template=form.cleaned_data["naming_template"],
            )
        except InvalidInstructionsError as exc:
            add_schema_errors(form, exc.field_errors, {})
        except PackshotError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Starting {batch.sku_count} jobs, one per SKU.")
            return redirect(batch)
    batch.refresh_from_db()
    return _detail(request, batch, start_form=form, status=400)


@require_POST
@team_editor_required
def batch_retry(request: HtmxHttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(batches_for_team(request.team), pk=batch_id)
    try:
        count = services.batch_retry_failed(batch=batch, author=request.user)
        messages.success(request, f"Retrying {count} SKU{'s' if count != 1 else ''}.")
    except PackshotError as exc:
        messages.error(request, str(exc))
    return redirect(batch)


@require_GET
@team_member_required
def batch_zip(request: HtmxHttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(batches_for_team(request.team), pk=batch_id)
    if batch.status not in (Batch.Status.RUNNING, Batch.Status.FINISHED):
        messages.error(request, "This batch has no outputs yet.")
        return redirect(batch)
    response = StreamingHttpResponse(services.batch_zip_stream(batch), content_type="application/zip")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="batch_{batch.pk}_{stamp}.zip"'
    return response


@require_POST
@team_member_required
def batch_preview(request: HtmxHttpRequest) -> HttpResponse:
    """The SKUs a pattern (or folders) would make of the chosen files' names, before anything is uploaded."""
    names = [n for n in request.POST.getlist("names")[:5000] if n]
    pattern = request.POST.get("sku_pattern", "")
    paths = [p for p in (clean_path(n[:500]) for n in names) if p]
    try:
        skus, unplaced = group_by_sku(paths, pattern=pattern if request.POST.get("source") == "files" else "")
        error = ""
    except NamingError as exc:
        skus, unplaced, error = {}, {}, str(exc)
    rows = [{"sku": s, "count": len(p), "extra": max(0, len(p) - 10)} for s, p in skus.items()]
    return render(
        request,
        "batches/_preview.html",
        {
            "rows": rows[:500],
            "more": max(0, len(rows) - 500),
            "unplaced": list(unplaced.items())[:50],
            "unplaced_count": len(unplaced),
            "error": error,
        },
    )


@require_GET
@team_member_required
def credit_usage(request: HtmxHttpRequest) -> HttpResponse:
    try:
        days = max(1, min(int(request.GET.get("days", 30)), 366))
    except ValueError:
        days = 30
    since = timezone.now() - timezone.timedelta(days=days)
    return render(
        request,
        "batches/credits.html",
        {
            "usage": credits.usage(request.team, since),
            "days": days,
            "budget": credits.budget_status(request.team),
            "balance": credits.last_balance(request.team),
            "budget_form": BudgetForm(initial={"monthly_credits": credits.budget_of(request.team)}),
        },
    )


@require_POST
@team_member_required
def credit_budget(request: HtmxHttpRequest) -> HttpResponse:
    if not request.membership.can_manage:
        messages.error(request, "Only owners and admins set the team's budget.")
        return redirect("batches:credits")
    form = BudgetForm(request.POST)
    if form.is_valid():
        try:
            credits.budget_set(team=request.team, monthly_credits=form.cleaned_data["monthly_credits"])
            messages.success(request, "Budget saved.")
        except PackshotError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "; ".join(m for msgs in form.errors.values() for m in msgs))
    return redirect("batches:credits")
