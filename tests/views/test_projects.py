"""Creating projects: names are checked once, and racing identical requests get a field error, not a 500."""

import pytest
from django.urls import reverse

from packshots import services
from packshots.errors import InvalidInputError
from packshots.models import Project
from tests import factories
from tests.views.racing import post_together


@pytest.mark.parametrize("name", ["   ", "\t\n", "\u00a0\u2003"])
def test_a_project_named_with_spaces_only_is_a_field_error(member_client, team, name):
    response = member_client.post(reverse("packshots:project-list"), {"name": name})
    assert response.status_code == 200
    assert 'data-field="name">This field is required.' in response.text
    assert not Project.objects.exists()


def test_the_service_refuses_a_blank_or_unstorable_name_for_every_caller(team, member):
    with pytest.raises(InvalidInputError) as blank:
        services.project_create(team=team, created_by=member, name="   ")
    assert blank.value.field_errors == {"name": ["Give the project a name."]}
    with pytest.raises(InvalidInputError) as nul:
        services.project_create(team=team, created_by=member, name="Spring", description="a\x00b")
    assert nul.value.field_errors == {"description": ["contains a character that cannot be stored (U+0000)"]}
    assert not Project.objects.exists()


def test_a_name_taken_between_the_check_and_the_insert_is_a_field_error(
    member_client, team, member, monkeypatch
):
    # The moment two requests race for: the check saw no "Autumn", then the other request's row landed.
    factories.make_project(team=team, user=member, name="Autumn")
    monkeypatch.setattr("django.db.models.query.QuerySet.exists", lambda self: False)
    response = member_client.post(reverse("packshots:project-list"), {"name": "Autumn"})
    assert response.status_code == 200
    assert "Your team already has a project called “Autumn”." in response.text
    assert Project.objects.filter(team=team).count() == 1


@pytest.mark.django_db(transaction=True)
def test_four_identical_create_project_requests_make_one_project_and_three_field_errors(
    team, member, monkeypatch
):
    responses = post_together(
        user=member,
        url=reverse("packshots:project-list"),
        data={"name": "Autumn"},
        model=Project,
        count=4,
        monkeypatch=monkeypatch,
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 302]
    refused = [r for r in responses if r.status_code == 200]
    assert all("Your team already has a project called “Autumn”." in r.text for r in refused)
    assert Project.objects.filter(team=team, name="Autumn").count() == 1
