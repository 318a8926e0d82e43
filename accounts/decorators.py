"""Access checks for views: a team member reads, an editor (not a viewer) writes."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def team_member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.team is None:  # type: ignore[attr-defined]
            return redirect("accounts:no-team")
        return view(request, *args, **kwargs)

    return wrapper


def team_editor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @team_member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.membership.can_edit:  # type: ignore[attr-defined]
            raise PermissionDenied("Viewers can look but not change anything in this team.")
        return view(request, *args, **kwargs)

    return wrapper
