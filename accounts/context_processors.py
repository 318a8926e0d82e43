from django.http import HttpRequest

from accounts.models import Membership


def teams(request: HttpRequest) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "current_team": getattr(request, "team", None),
        "current_membership": getattr(request, "membership", None),
        "my_memberships": Membership.objects.filter(user=request.user).select_related("team"),
    }
