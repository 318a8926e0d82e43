"""`manage.py piktid_connect`: scripted set-up of a team's PiktID connection, against the fake PiktID."""

import io

import pytest
import stamina
from django.core.management import CommandError, call_command

from accounts.models import PiktidConnection
from tests.piktid.fixtures import FAKE_TOKEN

SITE = "https://studio.example.com"


@pytest.fixture(autouse=True)
def fast_piktid(fake_piktid, settings):
    settings.PIKTID_BASE_URL = fake_piktid.base_url
    settings.PIKTID_TOKEN = ""
    fake_piktid.deliver = lambda url, body, headers: 200
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


def run(*args) -> str:
    out = io.StringIO()
    call_command("piktid_connect", *args, stdout=out)
    return out.getvalue()


def test_connecting_prints_the_balance_and_the_webhook_it_registered(fake_piktid, team):
    fake_piktid.accounts[FAKE_TOKEN].credits = 250.0
    out = run("--team", "alpha", "--token", FAKE_TOKEN, "--webhook-url", SITE)
    connection = PiktidConnection.objects.get(team=team)
    assert "Team alpha connected to PiktID" in out and "250 credits" in out
    assert f"Webhook registered: {SITE}/webhooks/piktid/{connection.webhook_key}/" in out
    assert fake_piktid.accounts[FAKE_TOKEN].webhook["url"] == connection.webhook_url
    assert FAKE_TOKEN not in out and connection.connected_by is None


def test_the_token_can_come_from_standard_input(fake_piktid, team, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(FAKE_TOKEN + "\n"))
    assert "connected to PiktID" in run("--team", "alpha", "--token", "-")
    assert PiktidConnection.objects.get().token == FAKE_TOKEN


def test_base_url_points_the_team_at_another_piktid_server(fake_piktid, team, settings):
    settings.PIKTID_BASE_URL = "https://unused.invalid"
    run("--team", "alpha", "--token", FAKE_TOKEN, "--base-url", fake_piktid.base_url + "/")
    assert PiktidConnection.objects.get().base_url == fake_piktid.base_url


def test_disconnect_removes_the_token_and_the_webhook(fake_piktid, team):
    run("--team", "alpha", "--token", FAKE_TOKEN, "--webhook-url", SITE)
    out = run("--team", "alpha", "--disconnect")
    assert "Team alpha disconnected from PiktID; webhook removed at PiktID." in out
    assert not PiktidConnection.objects.exists() and fake_piktid.accounts[FAKE_TOKEN].webhook is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "alpha", "--token", "refused-token-1234567890"], r"^PiktID refused this token \(401\)"),
        (["--team", "nope", "--token", FAKE_TOKEN], "No team with the slug 'nope'"),
        (["--team", "alpha"], "Give --token TOKEN to connect, or --disconnect"),
        (["--team", "alpha", "--disconnect", "--token", FAKE_TOKEN], "--disconnect takes no --token"),
        (["--team", "alpha", "--disconnect"], "no saved PiktID token"),
        (["--team", "alpha", "--token", FAKE_TOKEN, "--webhook-url", "studio"], "Public base URL must be"),
    ],
)
def test_errors_are_one_line_and_store_nothing(fake_piktid, team, args, message):
    with pytest.raises(CommandError, match=message) as info:
        run(*args)
    assert "\n" not in str(info.value) and "refused-token" not in str(info.value)
    assert not PiktidConnection.objects.exists()


def test_a_webhook_piktid_refuses_fails_the_command_but_keeps_the_checked_token(fake_piktid, team):
    fake_piktid.fail_next("PUT", "/webhooks", 400, body={"error": "url rejected", "detail": []})
    with pytest.raises(CommandError, match="Team alpha: The token was saved, but the webhook was not"):
        run("--team", "alpha", "--token", FAKE_TOKEN, "--webhook-url", SITE)
    assert PiktidConnection.objects.get().token == FAKE_TOKEN
