"""Resolve the request's current team once, so every view scopes its queries to it."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.models import Membership

SESSION_KEY = "current_team_id"


def current_membership(request: HttpRequest) -> Membership | None:
    if not request.user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    chosen = request.session.get(SESSION_KEY)
    membership = (memberships.filter(team_id=chosen).first() if chosen else None) or memberships.first()
    if membership and membership.team_id != chosen:
        request.session[SESSION_KEY] = membership.team_id
    return membership


class CurrentTeamMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = current_membership(request)
        request.membership = membership  # type: ignore[attr-defined]
        request.team = membership.team if membership else None  # type: ignore[attr-defined]
        return self.get_response(request)
