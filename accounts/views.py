from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve
from django.views.decorators.http import require_POST

from accounts.http import HtmxHttpRequest
from accounts.middleware import SESSION_KEY
from accounts.models import Membership


@require_POST
@login_required
def team_switch(request: HtmxHttpRequest) -> HttpResponse:
    membership = get_object_or_404(Membership, user=request.user, team_id=request.POST.get("team"))
    request.session[SESSION_KEY] = membership.team_id
    messages.success(request, f"Now working in {membership.team.name}.")
    return redirect(_list_page_or_home(request.POST.get("next", "")))


def _list_page_or_home(target: str) -> str:
    """Stay on a list page after switching; an object page of the old team would be a 404 in the new one."""
    try:
        match = resolve(target)
    except Resolver404:
        return "packshots:project-list"
    return target if not match.kwargs and match.namespace == "packshots" else "packshots:project-list"


@login_required
def no_team(request: HtmxHttpRequest) -> HttpResponse:
    if request.team is not None:
        return redirect("packshots:project-list")
    return render(request, "accounts/no_team.html")
