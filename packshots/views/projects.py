from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import team_editor_required, team_member_required
from accounts.http import HtmxHttpRequest
from packshots import services
from packshots.errors import InvalidInputError
from packshots.forms import ProjectForm, add_schema_errors
from packshots.selectors import jobs_for_team, projects_for_team
from packshots.services import drafts, library


@require_http_methods(["GET", "POST"])
@team_member_required
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST":
        if not request.membership.can_edit:
            raise PermissionDenied("Viewers cannot create projects.")
        if form.is_valid():
            try:
                project = services.project_create(
                    team=request.team, created_by=request.user, **form.cleaned_data
                )
            except InvalidInputError as exc:
                add_schema_errors(form, exc.field_errors, {})
            else:
                messages.success(request, f"Project “{project.name}” created.")
                return redirect(project)
    archived = request.GET.get("archived") == "1"
    projects = projects_for_team(request.team).filter(archived=archived)
    context = {"projects": projects, "form": form, "archived": archived}
    return render(request, "packshots/project_list.html", context)


@team_member_required
def project_detail(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(projects_for_team(request.team), pk=project_id)
    jobs = jobs_for_team(request.team).filter(project=project)
    return render(request, "packshots/project_detail.html", {"project": project, "jobs": jobs})


@require_POST
@team_editor_required
def job_new(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(projects_for_team(request.team), pk=project_id)
    job, reused = drafts.job_draft_for_user(project=project, author=request.user)
    if reused:
        messages.info(request, f"Continuing your empty draft #{job.pk}.")
    return redirect("packshots:wizard-photos", job.pk)


@require_http_methods(["GET", "POST"])
@team_editor_required
def project_edit(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(projects_for_team(request.team), pk=project_id)
    initial = {"name": project.name, "description": project.description}
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            library.project_update(project=project, **form.cleaned_data)
        except InvalidInputError as exc:
            add_schema_errors(form, exc.field_errors, {})
        else:
            messages.success(request, f"Project renamed to “{project.name}”.")
            return redirect(project)
    return render(request, "packshots/project_edit.html", {"project": project, "form": form})


@require_POST
@team_editor_required
def project_archive(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(projects_for_team(request.team), pk=project_id)
    archived = request.POST.get("archived") == "1"
    library.project_set_archived(project=project, archived=archived)
    verb = "archived: it no longer shows in the project list" if archived else "restored to the project list"
    messages.success(request, f"Project “{project.name}” {verb}.")
    return redirect(project)
