from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve
from django.views.decorators.http import require_POST

from accounts.forms import TeamSwitchForm
from accounts.http import HtmxHttpRequest
from accounts.middleware import SESSION_KEY
from accounts.models import Membership


@require_POST
@login_required
def team_switch(request: HtmxHttpRequest) -> HttpResponse:
    """Work in another of the user's teams; a team they are not in is a 404, a malformed id a message."""
    form = TeamSwitchForm(request.POST)
    destination = _list_page_or_home(request.POST.get("next", ""))
    if not form.is_valid():
        messages.error(request, "Choose one of your teams from the list.")
        return redirect(destination)
    membership = get_object_or_404(Membership, user=request.user, team_id=form.cleaned_data["team"])
    request.session[SESSION_KEY] = membership.team_id
    messages.success(request, f"Now working in {membership.team.name}.")
    return redirect(destination)


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
