"""Projects can be renamed and archived; archived ones leave the default list and have a filter."""

from django.urls import reverse

from packshots.models import Project
from tests import factories


def test_a_project_is_renamed(member_client, team, member):
    project = factories.make_project(team=team, user=member, name="Spring")
    form = member_client.get(reverse("packshots:project-edit", args=[project.pk])).text
    assert 'value="Spring"' in form
    response = member_client.post(
        reverse("packshots:project-edit", args=[project.pk]), {"name": "  Spring 2027 ", "description": "PDP"}
    )
    assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
    project.refresh_from_db()
    assert (project.name, project.description) == ("Spring 2027", "PDP")


def test_renaming_to_a_taken_or_blank_name_is_a_field_error_and_changes_nothing(member_client, team, member):
    factories.make_project(team=team, user=member, name="Autumn")
    project = factories.make_project(team=team, user=member, name="Spring")
    url = reverse("packshots:project-edit", args=[project.pk])
    taken = member_client.post(url, {"name": "autumn"})
    assert taken.status_code == 200 and "already has a project called “autumn”" in taken.text
    blank = member_client.post(url, {"name": "   "})
    assert blank.status_code == 200 and 'class="error"' in blank.text
    project.refresh_from_db()
    assert project.name == "Spring"


def test_keeping_the_same_name_with_other_case_is_allowed(member_client, team, member):
    project = factories.make_project(team=team, user=member, name="Spring")
    member_client.post(reverse("packshots:project-edit", args=[project.pk]), {"name": "SPRING"})
    project.refresh_from_db()
    assert project.name == "SPRING"


def test_an_archived_project_leaves_the_default_list_and_the_filter_shows_it(member_client, team, member):
    factories.make_project(team=team, user=member, name="Kept")
    old = factories.make_project(team=team, user=member, name="Old season")
    archive = reverse("packshots:project-archive", args=[old.pk])
    response = member_client.post(archive, {"archived": "1"}, follow=True)
    assert "Project “Old season” archived" in response.text
    assert Project.objects.get(pk=old.pk).archived
    default = member_client.get(reverse("packshots:project-list")).text
    assert ">Kept<" in default and ">Old season<" not in default
    archived = member_client.get(reverse("packshots:project-list") + "?archived=1").text
    assert ">Old season<" in archived and ">Kept<" not in archived
    member_client.post(reverse("packshots:project-archive", args=[old.pk]), {"archived": "0"})
    assert not Project.objects.get(pk=old.pk).archived
    assert ">Old season<" in member_client.get(reverse("packshots:project-list")).text


def test_archive_only_takes_post(member_client, team, member):
    project = factories.make_project(team=team, user=member)
    assert member_client.get(reverse("packshots:project-archive", args=[project.pk])).status_code == 405
