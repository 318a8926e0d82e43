"""Logging in with an e-mail address, password reset, the demo seed."""

from django.core.management import call_command
from django.urls import reverse

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
