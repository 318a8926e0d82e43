"""A team's PiktID connection against the fake PiktID server: token check, webhook and secrets, fallbacks."""

import logging
from datetime import timedelta

import pytest
import stamina
from django.utils import timezone

from accounts.models import PiktidAccountState, PiktidConnection, Team
from packshots import services
from packshots.errors import PackshotError
from packshots.services.connections import PiktidTokenRefusedError, PiktidWebhookError
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN

OTHER_TOKEN = "other-token-fedcba9876543210"
SITE = "https://studio.example.com"


@pytest.fixture(autouse=True)
def fast_piktid(fake_piktid, settings):
    """Point the app at the fake, without retry sleeps; webhook deliveries are caught, not sent."""
    settings.PIKTID_BASE_URL = fake_piktid.base_url
    settings.PIKTID_TOKEN = ""
    fake_piktid.received = []
    fake_piktid.deliver = lambda url, body, headers: fake_piktid.received.append((url, body, headers)) or 200
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


def connect(team, token=FAKE_TOKEN, **kwargs) -> PiktidConnection:
    return services.piktid_connect(team=team, user=None, token=token, **kwargs)


@pytest.fixture
def owner(team):
    return factories.make_user("olga@example.com", team=team, role="owner")


def test_connecting_checks_the_token_and_keeps_it_encrypted_with_the_balance(fake_piktid, team, owner):
    fake_piktid.accounts[FAKE_TOKEN].credits = 42.0
    connection = services.piktid_connect(team=team, user=owner, token=f"  {FAKE_TOKEN}\n")
    assert fake_piktid.requests_to("GET", "/auth/me")[0].token == FAKE_TOKEN
    connection = PiktidConnection.objects.get(team=team)
    assert connection.token == FAKE_TOKEN and FAKE_TOKEN not in connection.token_encrypted
    assert (connection.credits, connection.token_hint, connection.connected_by) == (
        42.0,
        FAKE_TOKEN[-4:],
        owner,
    )
    assert connection.base_url == fake_piktid.base_url and connection.credits_checked_at is not None
    assert (
        len(connection.webhook_key) >= 32
        and connection.webhook_key.replace("-", "").replace("_", "").isalnum()
    )
    assert not connection.webhook_url  # no webhook asked for


def test_teams_saving_the_same_token_share_one_account_key(fake_piktid, team, other_team):
    fake_piktid.add_account(OTHER_TOKEN)
    third = factories.make_team("Charlie")
    factories.make_user("carl@example.com", team=third, role="owner")
    a, b, c = connect(team), connect(other_team), connect(third, OTHER_TOKEN)
    assert a.account_key == b.account_key != c.account_key
    assert a.webhook_key != b.webhook_key
    assert services.piktid_credentials(team).account_key == a.account_key


def test_a_refused_token_is_not_kept_and_the_error_never_repeats_it(fake_piktid, team, member):
    with pytest.raises(PiktidTokenRefusedError, match=r"PiktID refused this token \(401\)") as info:
        connect(team, "wrong-token-00000000000")
    assert "wrong-token" not in str(info.value)
    assert not PiktidConnection.objects.exists()


@pytest.mark.parametrize(
    ("status", "message"),
    [(503, "PiktID could not check the token: .*503.*Nothing was saved"), (0, "Could not reach PiktID")],
)
def test_piktid_failing_keeps_nothing_and_says_so(fake_piktid, team, member, status, message):
    fake_piktid.fail_next("GET", "/auth/me", status, times=10)
    with pytest.raises(PackshotError, match=message):
        connect(team)
    assert not PiktidConnection.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token": "   "}, "Enter a PiktID API token"),
        ({"token": "two words"}, "not a PiktID API token"),
        ({"token": "x" * 3000}, "not a PiktID API token"),
        ({"token": FAKE_TOKEN, "webhook_base_url": "ftp://studio.example.com"}, "Public base URL must be"),
        ({"token": FAKE_TOKEN, "webhook_base_url": "https://studio.example.com/?next=1"}, "Public base URL"),
        ({"token": FAKE_TOKEN, "base_url": "v2.api.piktid.com"}, "PiktID base URL must be an http"),
    ],
)
def test_bad_input_is_refused_before_any_call(fake_piktid, team, member, kwargs, message):
    with pytest.raises(PackshotError, match=message):
        services.piktid_connect(team=team, user=member, **kwargs)
    assert fake_piktid.requests == [] and not PiktidConnection.objects.exists()


def test_registering_the_webhook_keeps_the_secret_piktid_sent(fake_piktid, team, member):
    connection = connect(team, webhook_base_url=SITE + "/")
    expected = f"{SITE}/webhooks/piktid/{connection.webhook_key}/"
    webhook = fake_piktid.accounts[FAKE_TOKEN].webhook
    assert connection.webhook_url == webhook["url"] == expected
    assert (
        connection.webhook_secret == webhook["secret"]
        and webhook["secret"] not in connection.webhook_secret_encrypted
    )
    assert services.connection_for_webhook_key(connection.webhook_key) == (team, [webhook["secret"]])
    fake_piktid.wait_for(lambda: fake_piktid.received)  # PiktID's ping, signed with that same secret
    assert fake_piktid.received[0][0] == expected


def test_registering_again_rotates_the_secret_and_the_old_one_verifies_for_the_window(
    fake_piktid, team, settings
):
    settings.PIKTID_WEBHOOK_ROTATION_HOURS = 24
    first = connect(team, webhook_base_url=SITE).webhook_secret
    second = services.piktid_webhook_register(team=team, base_url=SITE).webhook_secret
    assert first != second
    key = PiktidConnection.objects.get().webhook_key
    assert services.connection_for_webhook_key(key) == (team, [second, first])
    PiktidConnection.objects.update(webhook_secret_rotated_at=timezone.now() - timedelta(hours=25))
    assert services.connection_for_webhook_key(key) == (team, [second])


def test_an_unknown_webhook_key_finds_nothing(fake_piktid, team):
    connect(team, webhook_base_url=SITE)
    assert services.connection_for_webhook_key("not-a-key") is None
    assert services.connection_for_webhook_key("") is None


def test_a_webhook_that_piktid_refuses_leaves_the_token_saved_and_says_so(fake_piktid, team):
    fake_piktid.fail_next("PUT", "/webhooks", 400, body={"error": "Invalid request", "detail": []})
    with pytest.raises(PiktidWebhookError, match="The token was saved, but the webhook was not"):
        connect(team, webhook_base_url=SITE)
    connection = PiktidConnection.objects.get()
    assert connection.token == FAKE_TOKEN and not connection.webhook_url and not connection.webhook_secret


def test_disconnecting_removes_the_webhook_and_forgets_the_token(fake_piktid, team):
    connect(team, webhook_base_url=SITE)
    assert services.piktid_disconnect(team=team) == "removed"
    assert fake_piktid.accounts[FAKE_TOKEN].webhook is None
    assert not PiktidConnection.objects.exists() and services.piktid_credentials(team) is None
    with pytest.raises(PackshotError, match="no saved PiktID token"):
        services.piktid_disconnect(team=team)


def test_one_webhook_per_account_registering_for_one_team_moves_it_away_from_the_other(
    fake_piktid, team, other_team
):
    first = connect(team, webhook_base_url=SITE)
    old_secret = first.webhook_secret
    second = connect(other_team, webhook_base_url="https://bravo.example.com")
    first.refresh_from_db()
    assert not first.webhook_url and fake_piktid.accounts[FAKE_TOKEN].webhook["url"] == second.webhook_url
    # Deliveries already signed for the first team still verify during the window.
    assert services.connection_for_webhook_key(first.webhook_key) == (team, [old_secret])
    assert services.piktid_disconnect(team=team) == "none"  # never deletes the other team's webhook
    assert fake_piktid.accounts[FAKE_TOKEN].webhook is not None
    assert services.piktid_disconnect(team=other_team) == "removed"


def test_disconnecting_leaves_alone_a_webhook_re_pointed_outside_the_app(fake_piktid, team):
    connect(team, webhook_base_url=SITE)
    fake_piktid.accounts[FAKE_TOKEN].webhook["url"] = "https://elsewhere.example.com/hook"
    assert services.piktid_disconnect(team=team) == "elsewhere"
    assert (
        fake_piktid.accounts[FAKE_TOKEN].webhook is not None and fake_piktid.count("DELETE", "/webhooks") == 0
    )


def test_disconnecting_when_piktid_is_down_still_forgets_the_token(fake_piktid, team):
    connect(team, webhook_base_url=SITE)
    fake_piktid.fail_next("*", "/webhooks", 503, times=20)
    assert services.piktid_disconnect(team=team) == "failed"
    assert not PiktidConnection.objects.exists()


def test_saving_another_token_releases_the_old_accounts_webhook(fake_piktid, team):
    fake_piktid.add_account(OTHER_TOKEN)
    connect(team, webhook_base_url=SITE)
    connection = connect(team, OTHER_TOKEN)
    assert fake_piktid.accounts[FAKE_TOKEN].webhook is None
    assert not connection.webhook_url and not connection.webhook_secret_encrypted
    assert services.piktid_credentials(team).token == OTHER_TOKEN


def test_saving_the_same_token_again_keeps_the_webhook(fake_piktid, team):
    first = connect(team, webhook_base_url=SITE)
    again = connect(team)
    assert (again.webhook_key, again.webhook_url, again.webhook_secret) == (
        first.webhook_key,
        first.webhook_url,
        first.webhook_secret,
    )
    assert fake_piktid.accounts[FAKE_TOKEN].webhook is not None


def test_piktid_token_is_the_connection_of_teams_that_saved_none(fake_piktid, team, other_team, settings):
    assert services.piktid_credentials(team) is None
    settings.PIKTID_TOKEN = FAKE_TOKEN
    environment = services.piktid_credentials(team)
    assert (environment.source, environment.token, environment.base_url) == (
        "environment",
        FAKE_TOKEN,
        fake_piktid.base_url,
    )
    fake_piktid.add_account(OTHER_TOKEN)
    own = connect(other_team, OTHER_TOKEN)
    assert services.piktid_credentials(other_team).source == "team"
    assert services.piktid_credentials(other_team).account_key == own.account_key != environment.account_key
    assert FAKE_TOKEN not in repr(environment)


def test_a_refused_token_stops_every_team_of_that_account_and_the_environment(
    fake_piktid, team, other_team, settings
):
    fake_piktid.add_account(OTHER_TOKEN)
    third = factories.make_team("Charlie")
    factories.make_user("carl@example.com", team=third, role="owner")
    connect(team, OTHER_TOKEN)
    connect(other_team, OTHER_TOKEN)
    settings.PIKTID_TOKEN = FAKE_TOKEN  # the third team uses the installation's token
    account_key = services.piktid_credentials(team).account_key

    assert services.piktid_token_invalid(account_key=account_key, reason="401 on POST /create-packshot") == 2
    assert services.piktid_credentials(team) is None and services.piktid_credentials(other_team) is None
    assert services.piktid_credentials(third).source == "environment"
    status = services.piktid_status(team)
    assert status.token_invalid_reason == "401 on POST /create-packshot" and not status.is_usable

    environment_key = services.piktid_credentials(third).account_key
    services.piktid_token_invalid(account_key=environment_key, reason="401")
    assert services.piktid_credentials(third) is None
    assert services.piktid_status(third).token_invalid_at is not None
    settings.PIKTID_TOKEN = "a-brand-new-installation-token"  # a new token starts clean
    assert services.piktid_credentials(third) is not None


def test_a_team_whose_own_token_was_refused_does_not_fall_back_to_the_environment(
    fake_piktid, team, settings
):
    settings.PIKTID_TOKEN = FAKE_TOKEN
    fake_piktid.add_account(OTHER_TOKEN)
    connection = connect(team, OTHER_TOKEN)
    services.piktid_token_invalid(account_key=connection.account_key, reason="401")
    assert services.piktid_credentials(team) is None


def test_refreshing_the_balance_stores_it_and_a_401_marks_the_token(fake_piktid, team):
    connect(team)
    fake_piktid.accounts[FAKE_TOKEN].credits = 7.5
    assert services.piktid_balance_refresh(team=team) == 7.5
    assert PiktidConnection.objects.get().credits == 7.5
    del fake_piktid.accounts[FAKE_TOKEN]  # the token was revoked at PiktID
    with pytest.raises(PiktidTokenRefusedError):
        services.piktid_balance_refresh(team=team)
    assert PiktidConnection.objects.get().token_invalid_at is not None
    assert services.piktid_credentials(team) is None
    with pytest.raises(PiktidTokenRefusedError):
        services.piktid_webhook_register(team=team, base_url=SITE)


def test_refreshing_the_balance_of_a_token_that_works_again_clears_the_mark(fake_piktid, team, settings):
    connection = connect(team)
    services.piktid_token_invalid(account_key=connection.account_key, reason="401")
    assert services.piktid_balance_refresh(team=team) == 1000.0
    assert services.piktid_credentials(team) is not None


def test_the_environment_tokens_balance_and_refusal_are_kept_by_account(fake_piktid, team, settings):
    settings.PIKTID_TOKEN = FAKE_TOKEN
    fake_piktid.accounts[FAKE_TOKEN].credits = 12.0
    assert services.piktid_balance_refresh(team=team) == 12.0
    status = services.piktid_status(team)
    assert (status.source, status.credits, status.token_hint) == ("environment", 12.0, FAKE_TOKEN[-4:])
    del fake_piktid.accounts[FAKE_TOKEN]
    with pytest.raises(PiktidTokenRefusedError):
        services.piktid_balance_refresh(team=team)
    assert PiktidAccountState.objects.get().token_invalid_at is not None


def test_a_team_without_any_connection_has_no_balance_to_refresh(fake_piktid, team):
    with pytest.raises(PackshotError, match="no PiktID connection"):
        services.piktid_balance_refresh(team=team)


def test_a_delivery_is_recorded_on_the_connection(fake_piktid, team):
    connect(team, webhook_base_url=SITE)
    services.piktid_delivery_record(team=team, status="200 batch_edit")
    connection = PiktidConnection.objects.get()
    assert connection.last_delivery_status == "200 batch_edit" and connection.last_delivery_at is not None


def test_a_burst_of_identical_deliveries_writes_the_record_about_once_a_second(
    fake_piktid, team, monkeypatch
):
    connect(team)
    services.piktid_delivery_record(team=team, status="200 batch_edit")
    first = PiktidConnection.objects.get().last_delivery_at
    services.piktid_delivery_record(team=team, status="200 batch_edit")
    assert PiktidConnection.objects.get().last_delivery_at == first
    services.piktid_delivery_record(team=team, status="401 bad signature")  # a new outcome shows at once
    assert PiktidConnection.objects.get().last_delivery_status == "401 bad signature"
    later = timezone.now() + timedelta(seconds=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    services.piktid_delivery_record(team=team, status="401 bad signature")
    assert PiktidConnection.objects.get().last_delivery_at == later


def test_the_default_engine_is_piktid_only_for_a_connected_team(fake_piktid, team, settings):
    settings.PACKSHOT_DEFAULT_ENGINE = "local"
    with pytest.raises(PackshotError, match="Connect the team to PiktID"):
        services.team_default_engine_set(team=team, engine="piktid")
    with pytest.raises(PackshotError, match="Unknown engine"):
        services.team_default_engine_set(team=team, engine="magic")
    connect(team)
    services.team_default_engine_set(team=team, engine="piktid")
    assert Team.objects.get(pk=team.pk).effective_default_engine == "piktid"
    services.piktid_disconnect(team=team)
    assert Team.objects.get(pk=team.pk).effective_default_engine == "local"


def test_tokens_and_secrets_never_reach_the_log(fake_piktid, team, caplog):
    caplog.set_level(logging.DEBUG)
    connection = connect(team, webhook_base_url=SITE)
    secret = connection.webhook_secret
    services.piktid_balance_refresh(team=team)
    with pytest.raises(PiktidTokenRefusedError):
        connect(team, "refused-token-123456789")
    services.piktid_disconnect(team=team)
    assert caplog.records and FAKE_TOKEN not in caplog.text and secret not in caplog.text
    assert "refused-token" not in caplog.text
