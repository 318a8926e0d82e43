"""Logging in with an e-mail address, password reset, the demo seed."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import F
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Team, User
from packshots.models import Preset
from tests import factories


def test_user_logs_in_with_email_and_lands_on_projects(client, team):
    factories.make_user("alice@example.com", team=team, password="correct horse 42")
    response = client.post(
        reverse("accounts:login"),
        {"username": "alice@example.com", "password": "correct horse 42"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("packshots:project-list")
    assert "Projects" in response.text


def test_wrong_password_is_refused_with_a_message(client, team):
    factories.make_user("alice@example.com", team=team)
    response = client.post(reverse("accounts:login"), {"username": "alice@example.com", "password": "nope"})
    assert response.status_code == 200 and "correct email" in response.text.lower()


def test_password_reset_mails_a_working_link(client, team, mailoutbox):
    user = factories.make_user("alice@example.com", team=team)
    client.post(reverse("accounts:password-reset"), {"email": "alice@example.com"})
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/password/reset/" in line)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a fresh pass 99", "new_password2": "a fresh pass 99"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a fresh pass 99")


def test_user_without_a_team_is_told_so(client, db):
    client.force_login(factories.make_user("lonely@example.com"))
    response = client.get(reverse("packshots:project-list"), follow=True)
    assert "not in a team yet" in response.text


def test_logout_is_a_post(member_client):
    assert member_client.post(reverse("accounts:logout")).status_code == 302
    assert member_client.get(reverse("packshots:project-list")).status_code == 302


def test_demo_seed_is_idempotent(db):
    call_command("seed_demo")
    call_command("seed_demo")
    user = User.objects.get(email="demo@example.com")
    assert user.check_password("packshot-demo")
    assert Team.objects.count() == 1 and Membership.objects.get(user=user).role == "owner"
    assert Preset.objects.count() == 5


# ---------------------------------------------------------------- throttling (django-axes, password reset)

LOGIN = reverse("accounts:login")


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Password-reset counters live in the cache, which outlives a test: no test may inherit another's."""
    cache.clear()
    yield
    cache.clear()


def _log_in(client, email: str, password: str, ip: str = "198.51.100.7"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_hundred_wrong_passwords_then_the_right_one_is_refused(client, team):
    factories.make_user("alice@example.com", team=team, password="correct horse 42")
    for _ in range(100):
        _log_in(client, "alice@example.com", "guess")
    response = _log_in(client, "alice@example.com", "correct horse 42")
    assert response.status_code == 429
    assert "Too many attempts, try again in 15 minutes." in response.text
    assert not _logged_in(client)


def test_lockout_starts_at_the_failure_limit_and_is_a_page_not_an_error(client, team):
    factories.make_user("alice@example.com", team=team, password="correct horse 42")
    for _ in range(4):
        assert _log_in(client, "alice@example.com", "guess").status_code == 200  # the form, with its error
    response = _log_in(client, "alice@example.com", "guess")
    assert response.status_code == 429
    assert "<h1>Too many attempts</h1>" in response.text and "Log out" not in response.text


def test_the_same_address_can_still_log_in_as_another_user(client, team):
    factories.make_user("alice@example.com", team=team)
    factories.make_user("bob@example.com", team=team, password="bobs own pass 7")
    for _ in range(10):
        _log_in(client, "alice@example.com", "guess")
    assert _log_in(client, "bob@example.com", "bobs own pass 7").status_code == 302
    assert _logged_in(client)


def test_another_address_is_not_locked_out_by_a_strangers_failures(client, team):
    factories.make_user("alice@example.com", team=team, password="correct horse 42")
    for _ in range(10):
        _log_in(client, "alice@example.com", "guess", ip="203.0.113.66")
    assert _log_in(client, "alice@example.com", "correct horse 42", ip="198.51.100.7").status_code == 302


@override_settings(BEHIND_PROXY=True)
def test_behind_the_proxy_the_forwarded_client_address_is_what_gets_locked(client, team):
    factories.make_user("alice@example.com", team=team, password="correct horse 42")

    def attempt(password: str, forwarded_for: str):
        # Every request arrives from the proxy; it appends the address it saw to X-Forwarded-For.
        data = {"username": "alice@example.com", "password": password}
        return client.post(LOGIN, data, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)

    for _ in range(5):
        attempt("guess", "203.0.113.66")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.66"
    # A forged entry on the left does not get the attacker out of the lock...
    assert attempt("correct horse 42", "198.51.100.7, 203.0.113.66").status_code == 429
    # ...and the proxy's own address is not what is locked: another client still gets in.
    assert attempt("correct horse 42", "198.51.100.7").status_code == 302


def test_the_right_password_works_after_the_cool_off(client, team):
    factories.make_user("alice@example.com", team=team, password="correct horse 42")
    for _ in range(100):
        _log_in(client, "alice@example.com", "guess")
    assert _log_in(client, "alice@example.com", "correct horse 42").status_code == 429
    # Let the cool-off pass: the failures now lie 16 minutes in the past.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    assert _log_in(client, "alice@example.com", "correct horse 42").status_code == 302
    assert _logged_in(client)


@override_settings(AXES_FAILURE_LIMIT=3, AXES_COOLOFF_MINUTES=2)
def test_limit_and_cool_off_follow_the_settings(client, team):
    factories.make_user("alice@example.com", team=team)
    for _ in range(2):
        assert _log_in(client, "alice@example.com", "guess").status_code == 200
    response = _log_in(client, "alice@example.com", "guess")
    assert response.status_code == 429 and "try again in 2 minutes" in response.text


def test_admins_see_lockouts_and_can_lift_them(client, team):
    factories.make_user("alice@example.com", team=team, password="correct horse 42")
    for _ in range(6):
        _log_in(client, "alice@example.com", "guess")
    admin = factories.make_user("root@example.com", team=team, role="owner")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    listing = client.get("/admin/axes/accessattempt/?locked_out=yes")
    assert listing.status_code == 200 and "alice@example.com" in listing.text and "Locked Out" in listing.text
    attempt = AccessAttempt.objects.get(username="alice@example.com")
    until = timezone.localtime(attempt.attempt_time + timedelta(minutes=15)).strftime("%Y-%m-%d %H:%M")
    assert "Locked until" in listing.text and until in listing.text
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    assert "expired" in client.get("/admin/axes/accessattempt/").text
    response = client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    client.logout()
    assert _log_in(client, "alice@example.com", "correct horse 42").status_code == 302


def test_password_reset_is_throttled_per_email_address(client, team, mailoutbox):
    factories.make_user("alice@example.com", team=team)
    reset = reverse("accounts:password-reset")
    for _ in range(3):
        assert client.post(reset, {"email": "alice@example.com"}).status_code == 302
    refused = client.post(reset, {"email": "ALICE@example.com "})
    assert refused.status_code == 429 and "try again in 15 minutes" in refused.text
    assert len(mailoutbox) == 3
    factories.make_user("bob@example.com", team=team)
    assert client.post(reset, {"email": "bob@example.com"}).status_code == 302
    assert len(mailoutbox) == 4


def test_password_reset_is_throttled_per_client_address_for_unknown_addresses_too(client, team, mailoutbox):
    factories.make_user("alice@example.com", team=team)
    reset = reverse("accounts:password-reset")
    for number in range(10):
        client.post(reset, {"email": f"nobody{number}@example.com"}, REMOTE_ADDR="203.0.113.66")
    refused = client.post(reset, {"email": "alice@example.com"}, REMOTE_ADDR="203.0.113.66")
    assert refused.status_code == 429 and mailoutbox == []
    assert client.post(reset, {"email": "alice@example.com"}, REMOTE_ADDR="198.51.100.7").status_code == 302
    assert len(mailoutbox) == 1


def test_the_admin_login_is_throttled_too(client, team):
    admin = factories.make_user("root@example.com", team=team, password="root pass 123")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    for _ in range(5):
        client.post("/admin/login/", {"username": "root@example.com", "password": "guess"})
    response = client.post("/admin/login/", {"username": "root@example.com", "password": "root pass 123"})
    assert response.status_code == 429 and not _logged_in(client)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("ali\x00ce@example.com", "guess"),
        ("alice@example.com", "gu\x00ess"),
        ("a" * 1_000_000 + "@example.com", "guess"),
        ("alice@example.com", "p" * 1_000_000),
        ("<script>alert(1)</script>", "guess"),
    ],
)
def test_junk_logins_get_the_form_back_never_a_500(client, team, username, password):
    factories.make_user("alice@example.com", team=team)
    response = client.post(LOGIN, {"username": username, "password": password})
    assert response.status_code == 200 and "<script>alert" not in response.text
    assert not _logged_in(client)


@pytest.mark.parametrize(
    "email", ["ali\x00ce@example.com", "a" * 1_000_000 + "@example.com", "<b>@example.com", ""]
)
def test_junk_reset_requests_get_the_form_back_and_send_nothing(client, team, mailoutbox, email):
    factories.make_user("alice@example.com", team=team)
    response = client.post(reverse("accounts:password-reset"), {"email": email})
    assert response.status_code == 200 and "<b>@" not in response.text
    assert mailoutbox == []
