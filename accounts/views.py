from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
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
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "packshots:project-list"
    return redirect(target)


@login_required
def no_team(request: HtmxHttpRequest) -> HttpResponse:
    if request.team is not None:
        return redirect("packshots:project-list")
    return render(request, "accounts/no_team.html")
