from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import Membership, Team


class HtmxHttpRequest(HttpRequest):
    """The request as our middleware leaves it: htmx details plus the current team and membership."""

    htmx: HtmxDetails
    team: Team | None
    membership: Membership | None
