"""The team settings page: the PiktID connection (token, balance, webhook), the default engine, and the
marketplace profiles outputs are checked against.

Every member sees the state; owners and admins change it. Each form posts an `action` to the same URL
(POST/redirect/GET, no JavaScript needed).
"""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.decorators import team_member_required
from accounts.http import HtmxHttpRequest
from packshots import services
from packshots.compliance import PROFILES
from packshots.errors import PackshotError
from packshots.forms_team import (
    BalanceForm,
    DefaultEngineForm,
    DisconnectForm,
    MarketplaceProfilesForm,
    PiktidConnectForm,
    WebhookForm,
)
from packshots.services.compliance import team_marketplace_profiles, team_marketplace_profiles_set
from packshots.services.connections import PiktidWebhookError

DISCONNECT_OUTCOMES = {
    "removed": "The webhook was removed at PiktID.",
    "none": "",
    "elsewhere": "The PiktID account's webhook points at another address and was left alone.",
    "failed": "The webhook could not be removed at PiktID: remove it in PiktID's app.",
}


def _connect(request: HtmxHttpRequest, data: dict) -> str:
    connection = services.piktid_connect(
        team=request.team, user=request.user, token=data["token"], webhook_base_url=data["webhook_base_url"]
    )
    registered = f" Webhook registered at {connection.webhook_url}." if data["webhook_base_url"] else ""
    return f"PiktID connected: {connection.credits:g} credits.{registered}"


def _webhook(request: HtmxHttpRequest, data: dict) -> str:
    connection = services.piktid_webhook_register(team=request.team, base_url=data["base_url"])
    return f"Webhook registered at {connection.webhook_url}."


def _balance(request: HtmxHttpRequest, data: dict) -> str:
    return f"PiktID balance: {services.piktid_balance_refresh(team=request.team):g} credits."


def _disconnect(request: HtmxHttpRequest, data: dict) -> str:
    outcome = services.piktid_disconnect(team=request.team)
    return f"PiktID disconnected. {DISCONNECT_OUTCOMES[outcome]}".strip()


def _engine(request: HtmxHttpRequest, data: dict) -> str:
    team = services.team_default_engine_set(team=request.team, engine=data["engine"])
    return f"New jobs start on the {team.effective_default_engine} engine."


def _marketplaces(request: HtmxHttpRequest, data: dict) -> str:
    team = team_marketplace_profiles_set(team=request.team, profiles=data["profiles"])
    count = len(team.marketplace_profiles)
    return f"New outputs are checked against {count} marketplace profile{'s' if count != 1 else ''}."


def _apply(request: HtmxHttpRequest, apply: Callable[[HtmxHttpRequest, dict], str], data: dict) -> bool:
    """Run one action and say how it went; False when it was refused (the page is shown again, 200)."""
    try:
        messages.success(request, apply(request, data))
    except PiktidWebhookError as exc:  # the token was saved all the same
        messages.warning(request, str(exc))
    except PackshotError as exc:
        messages.error(request, str(exc))
        return False
    return True


ACTIONS: dict[str, tuple[type[forms.Form], Callable[[HtmxHttpRequest, dict], str]]] = {
    "connect": (PiktidConnectForm, _connect),
    "webhook": (WebhookForm, _webhook),
    "balance": (BalanceForm, _balance),
    "disconnect": (DisconnectForm, _disconnect),
    "engine": (DefaultEngineForm, _engine),
    "marketplaces": (MarketplaceProfilesForm, _marketplaces),
}


@require_http_methods(["GET", "POST"])
@team_member_required
def team_settings(request: HtmxHttpRequest) -> HttpResponse:
    site = request.build_absolute_uri("/").rstrip("/")
    chosen = team_marketplace_profiles(request.team)
    initial = {
        "webhook": {"base_url": site},
        "engine": {"engine": request.team.default_engine},
        "marketplaces": {"profiles": chosen},
    }
    page_forms = {name: cls(prefix=name, initial=initial.get(name)) for name, (cls, _) in ACTIONS.items()}
    if request.method == "POST":
        if not request.membership.can_manage:
            raise PermissionDenied("Only the team's owners and admins change its settings.")
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            return HttpResponseBadRequest("Unknown action.")
        form_class, apply = ACTIONS[action]
        form = page_forms[action] = form_class(request.POST, prefix=action)
        if form.is_valid() and _apply(request, apply, form.cleaned_data):
            return redirect("packshots:team-settings")
    status = services.piktid_status(request.team)
    marketplaces = [PROFILES[key].name for key in chosen]
    return render(
        request,
        "packshots/team_settings.html",
        {"status": status, "forms": page_forms, "site": site, "marketplaces": marketplaces},
    )
