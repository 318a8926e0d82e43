"""Login and password-reset throttling: the client address, the lock-out page, the reset throttle.

django-axes counts failed logins in the database (visible and resettable in the admin under "Axes");
password-reset requests are counted here in Django's cache, per e-mail address and per client address,
because each one may send a mail.
"""

import hashlib
import ipaddress
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The client's address: behind our proxy, the entry it appended to X-Forwarded-For; else the peer.

    Entries left of the ones our proxies appended are whatever the client sent, so they are never trusted.
    Anything that is not an IP address falls back to the peer address (the axes table stores an inet).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_PROXY:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(hops) >= settings.TRUSTED_PROXY_COUNT:
            candidate = hops[-settings.TRUSTED_PROXY_COUNT]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                log.warning("X-Forwarded-For entry %r is not an IP address; using the peer", candidate)
    return remote


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username axes records (AXES_USERNAME_CALLABLE): as typed, but fit for its 255-character column.

    Django's login forms do not enforce their max_length, so a 1 MB username reaches authenticate(); on
    PostgreSQL storing it whole would fail the request. No real account has a longer name, so cutting is safe.
    """
    data = credentials if credentials is not None else request.POST
    username = data.get(settings.AXES_USERNAME_FORM_FIELD)
    return username.replace("\x00", "")[:255] if isinstance(username, str) else username


def cool_off(request: HttpRequest | None = None) -> timedelta:
    """How long a lock-out lasts (axes' AXES_COOLOFF_TIME), from the one setting the pages quote."""
    return timedelta(minutes=settings.AXES_COOLOFF_MINUTES)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """The page for a locked-out login or a throttled reset (axes' AXES_LOCKOUT_CALLABLE)."""
    # Every refused attempt restarts the cool-off (axes' default), so the full period is the honest figure.
    return render(
        request, "registration/lockout.html", {"minutes": settings.AXES_COOLOFF_MINUTES}, status=429
    )


def password_reset_allowed(request: HttpRequest, email: str) -> bool:
    """Count one reset request for this address and this client; False once either is over its limit.

    Fixed windows of AXES_COOLOFF_MINUTES. The limit holds per cache: with the default local-memory cache
    that is per web process (at most workers × limit mails per window).
    """
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    counts = [
        (_count(f"password-reset:email:{digest}"), settings.PASSWORD_RESET_EMAIL_LIMIT),
        (_count(f"password-reset:ip:{client_ip(request)}"), settings.PASSWORD_RESET_IP_LIMIT),
    ]
    return all(count <= limit for count, limit in counts)


def _count(key: str) -> int:
    window = settings.AXES_COOLOFF_MINUTES * 60
    cache.add(key, 0, timeout=window)  # starts the window; a no-op while it runs
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, timeout=window)
        return 1


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, throttled: the form must not flood an inbox or let one client mail everyone."""

    def form_valid(self, form):
        if not password_reset_allowed(self.request, form.cleaned_data["email"]):
            log.warning("Password reset throttled for client %s", client_ip(self.request))
            return lockout_response(self.request)
        return super().form_valid(form)
