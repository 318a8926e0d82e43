"""The team settings page: owners and admins manage the PiktID connection, everyone else only looks."""

import re

import pytest
import stamina
from django.urls import reverse

from accounts.models import PiktidConnection, Team
from packshots import services
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN

URL = reverse("packshots:team-settings")
SITE = "https://studio.example.com"
ACTIONS = {
    "connect": {"connect-token": FAKE_TOKEN},
    "webhook": {"webhook-base_url": SITE},
    "balance": {},
    "disconnect": {"disconnect-confirm": "on"},
    "engine": {"engine-engine": "local"},
}


@pytest.fixture(autouse=True)
def fast_piktid(fake_piktid, settings):
    settings.PIKTID_BASE_URL = fake_piktid.base_url
    settings.PIKTID_TOKEN = ""
    fake_piktid.deliver = lambda url, body, headers: 200  # PiktID's ping cannot reach the test server
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture
def owner_client(client, team):
    client.force_login(factories.make_user("olga@example.com", team=team, role="owner"))
    return client


@pytest.fixture
def connected(team):
    return services.piktid_connect(team=team, user=None, token=FAKE_TOKEN, webhook_base_url=SITE)


def post(client, action, **data):
    return client.post(URL, {"action": action, **ACTIONS[action], **data})


def test_an_owner_connects_a_token_and_the_page_never_shows_it(owner_client, fake_piktid, team):
    fake_piktid.accounts[FAKE_TOKEN].credits = 480.0
    response = post(owner_client, "connect")
    assert response.status_code == 302 and response["Location"] == URL
    page = owner_client.get(URL).text
    assert "PiktID connected: 480 credits." in page and "480 credits" in page
    assert f"…{FAKE_TOKEN[-4:]}" in page and FAKE_TOKEN not in page
    assert PiktidConnection.objects.get(team=team).token == FAKE_TOKEN


def test_a_refused_token_is_reported_next_to_the_form_and_not_echoed(owner_client, team):
    response = post(owner_client, "connect", **{"connect-token": "wrong-token-0000000000"})
    assert response.status_code == 200
    assert "PiktID refused this token (401)" in response.text and "wrong-token" not in response.text
    assert not PiktidConnection.objects.exists()


def test_an_admin_registers_the_webhook_at_this_sites_address(client, team, connected, fake_piktid):
    client.force_login(factories.make_user("ada@example.com", team=team, role="admin"))
    assert 'value="http://testserver"' in client.get(URL).text  # the default comes from the request
    assert post(client, "webhook").status_code == 302
    connection = PiktidConnection.objects.get()
    page = client.get(URL).text
    assert connection.webhook_url in page and "Register again" in page
    assert connection.webhook_secret not in page and FAKE_TOKEN not in page
    assert fake_piktid.accounts[FAKE_TOKEN].webhook["url"] == connection.webhook_url


def test_a_bad_webhook_address_is_an_error_next_to_the_field(owner_client, connected):
    response = post(owner_client, "webhook", **{"webhook-base_url": "not a url"})
    assert response.status_code == 200 and 'data-field="base_url"' in response.text


def test_disconnecting_needs_the_box_ticked(owner_client, connected, fake_piktid):
    response = post(owner_client, "disconnect", **{"disconnect-confirm": ""})
    assert response.status_code == 200 and "Tick the box to confirm." in response.text
    assert PiktidConnection.objects.exists()
    assert post(owner_client, "disconnect").status_code == 302
    assert not PiktidConnection.objects.exists() and fake_piktid.accounts[FAKE_TOKEN].webhook is None
    assert "Not connected" in owner_client.get(URL).text


def test_refreshing_the_balance_shows_the_new_figure(owner_client, connected, fake_piktid):
    fake_piktid.accounts[FAKE_TOKEN].credits = 12.5
    post(owner_client, "balance")
    assert "12.5 credits" in owner_client.get(URL).text


def test_members_and_viewers_see_the_state_but_every_change_is_forbidden(
    client, member, viewer, team, connected
):
    for user in (member, viewer):
        client.force_login(user)
        page = client.get(URL)
        assert page.status_code == 200 and connected.webhook_url in page.text
        assert 'name="connect-token"' not in page.text and 'name="action"' not in page.text
        for action in ACTIONS:
            response = post(client, action)
            assert response.status_code == 403, f"{user.email} {action}: {response.status_code}"
    connection = PiktidConnection.objects.get()
    assert connection.webhook_url == connected.webhook_url
    assert Team.objects.get(pk=team.pk).default_engine == ""


def test_another_team_sees_and_changes_only_its_own_connection(outsider_client, team, connected):
    page = outsider_client.get(URL).text
    assert "Not connected" in page and connected.token_hint not in page and connected.webhook_key not in page
    response = post(outsider_client, "disconnect")
    assert response.status_code == 200 and "no saved PiktID token" in response.text
    assert PiktidConnection.objects.get().team == team


def test_the_page_says_so_when_piktid_refused_the_token(member_client, connected):
    services.piktid_token_invalid(account_key=connected.account_key, reason="401 on POST /create-packshot")
    page = member_client.get(URL).text
    assert "PiktID refused this team's token" in page and "401 on POST /create-packshot" in page


def test_the_installation_token_shows_as_the_teams_connection(member_client, settings):
    settings.PIKTID_TOKEN = FAKE_TOKEN
    page = member_client.get(URL).text
    assert "this installation's token" in page and FAKE_TOKEN not in page


def test_the_default_engine_is_a_team_setting(owner_client, team, settings):
    settings.PACKSHOT_DEFAULT_ENGINE = "local"
    response = post(owner_client, "engine", **{"engine-engine": "piktid"})
    assert response.status_code == 200 and "Connect the team to PiktID" in response.text
    services.piktid_connect(team=team, user=None, token=FAKE_TOKEN)
    assert post(owner_client, "engine", **{"engine-engine": "piktid"}).status_code == 302
    assert Team.objects.get(pk=team.pk).default_engine == "piktid"
    assert "New jobs start on <strong>piktid</strong>" in owner_client.get(URL).text


def test_an_unknown_action_is_a_bad_request(owner_client):
    assert owner_client.post(URL, {"action": "explode"}).status_code == 400


def test_anonymous_users_are_sent_to_login(client):
    for response in (client.get(URL), client.post(URL, {"action": "balance"})):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_is_linked_from_the_header_and_needs_no_inline_script(owner_client, connected):
    page = owner_client.get(URL).text
    assert f'href="{URL}"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and not re.search(r"\son[a-z]+=", page)


def test_the_admin_shows_the_connection_read_only_without_secrets(client, connected):
    from accounts.models import User

    client.force_login(User.objects.create_superuser("root@example.com", "pw"))
    listing = client.get("/admin/accounts/piktidconnection/")
    assert listing.status_code == 200 and connected.token_hint in listing.text
    detail = client.get(f"/admin/accounts/piktidconnection/{connected.pk}/change/")
    assert detail.status_code == 200 and connected.webhook_url in detail.text
    for secret in (FAKE_TOKEN, connected.webhook_secret, connected.token_encrypted):
        assert secret not in detail.text
    assert client.get("/admin/accounts/piktidconnection/add/").status_code == 403
    assert client.post(f"/admin/accounts/piktidconnection/{connected.pk}/change/", {}).status_code == 403
