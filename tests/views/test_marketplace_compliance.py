"""Marketplace compliance in the UI: team profiles, pass/fail on the result card, presets aimed at one."""

import io
import json
import zipfile

import pytest
from django.urls import reverse

from accounts.models import Team
from packshots.models import Preset, Result
from packshots.services.compliance import team_marketplace_profiles_set
from tests import factories

SETTINGS = reverse("packshots:team-settings")


@pytest.fixture
def owner_client(client, team):
    client.force_login(factories.make_user("olga@example.com", team=team, role="owner"))
    return client


def choose(client, *profiles):
    return client.post(SETTINGS, {"action": "marketplaces", "marketplaces-profiles": list(profiles)})


def test_an_owner_chooses_the_profiles_and_the_page_names_them(owner_client, team):
    response = choose(owner_client, "zalando", "amazon_main")
    assert response.status_code == 302
    assert Team.objects.get(pk=team.pk).marketplace_profiles == ["amazon_main", "zalando"]
    page = owner_client.get(SETTINGS).text
    assert "New outputs are checked against 2 marketplace profiles." in page
    assert "Amazon main image, Zalando" in page
    assert choose(owner_client).status_code == 302  # none ticked: checks stop
    assert Team.objects.get(pk=team.pk).marketplace_profiles == []


def test_an_unknown_profile_is_an_error_next_to_the_field_and_nothing_changes(owner_client, team):
    team_marketplace_profiles_set(team=team, profiles=["shopify"])
    response = choose(owner_client, "shopify", "ebay")
    assert response.status_code == 200
    assert (
        'data-field="profiles">Select a valid choice. ebay is not one of the available choices.'
        in response.text
    )
    assert Team.objects.get(pk=team.pk).marketplace_profiles == ["shopify"]


def test_members_and_viewers_see_the_profiles_but_cannot_change_them(member_client, viewer_client, team):
    team_marketplace_profiles_set(team=team, profiles=["google_shopping"])
    for client in (member_client, viewer_client):
        assert "Google Shopping" in client.get(SETTINGS).text
        assert choose(client, "zalando").status_code == 403
    assert Team.objects.get(pk=team.pk).marketplace_profiles == ["google_shopping"]


def test_another_teams_choice_does_not_leak_into_this_team(owner_client, team, other_team):
    team_marketplace_profiles_set(team=other_team, profiles=["zalando"])
    assert choose(owner_client, "shopify").status_code == 302
    assert Team.objects.get(pk=other_team.pk).marketplace_profiles == ["zalando"]
    assert "Zalando</strong>" not in owner_client.get(SETTINGS).text


def test_the_result_card_and_metadata_show_pass_and_fail_per_profile(member_client, team, member):
    team_marketplace_profiles_set(team=team, profiles=["amazon_main", "google_shopping"])
    job = factories.start_job(
        factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    )
    result = job.results.get()
    assert result.status == Result.Status.COMPLETED
    page = member_client.get(reverse("packshots:job-detail", args=[job.pk])).text
    assert "<strong>Google Shopping</strong>: passes" in page
    assert "<strong>Amazon main image</strong>: fails:" in page
    assert "Amazon main image asks for at least 85%" in page
    response = member_client.get(reverse("packshots:job-zip", args=[job.pk]))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    (entry,) = json.loads(archive.read("metadata.json"))["results"]
    assert entry["compliance"] == result.compliance
    assert {rule["rule"] for rule in entry["compliance"]["amazon_main"] if not rule["passed"]} == {"fill"}


def test_a_preset_aimed_at_zalando_gets_its_size_and_format(member_client, team):
    data = {
        "name": "Zalando packshot",
        "style": "white_cutout",
        "num_variations": "1",
        "size": "1K",
        "ar": "1:1",
    }
    response = member_client.post(reverse("packshots:preset-create"), {**data, "marketplace": "zalando"})
    assert response.status_code == 302
    instruction = Preset.objects.get(team=team).instruction
    assert instruction["options"] == {"width": 1400, "height": 2016, "format": "jpg"}


def test_a_preset_aimed_at_amazon_asks_for_no_shadow_and_full_frame(member_client, team):
    data = {"name": "Amazon main", "style": "white_cutout", "num_variations": "1", "shadow": "contact"}
    assert (
        member_client.post(
            reverse("packshots:preset-create"), {**data, "marketplace": "amazon_main"}
        ).status_code
        == 302
    )
    instruction = Preset.objects.get(team=team).instruction
    assert (instruction["shadow"], instruction["framing"]) == ("none", "full_frame")
    assert instruction["options"] == {"size": "2K", "ar": "1:1", "format": "jpg"}


def test_an_unknown_marketplace_in_the_preset_form_is_a_field_error(member_client, team):
    data = {"name": "X", "style": "white_cutout", "num_variations": "1", "marketplace": "ebay"}
    response = member_client.post(reverse("packshots:preset-create"), data)
    assert response.status_code == 200 and 'data-field="marketplace">' in response.text
    assert not Preset.objects.exists()
