"""Photos of a draft can be moved earlier or later (the first one is the local engine's main photo)."""

from django.urls import reverse

from packshots.models import Job
from tests import factories


def names(job) -> list[str]:
    return list(job.uploads.order_by("order", "pk").values_list("original_name", flat=True))


def move(client, upload, direction: str):
    return client.post(
        reverse("packshots:upload-move", args=[upload.pk]), {"direction": direction}, follow=True
    )


def test_a_photo_moves_earlier_and_later(member_client, team, member):
    draft = factories.make_draft(team=team, user=member, photos=3)
    last = draft.uploads.get(original_name="photo2.jpg")
    move(member_client, last, "up")
    assert names(draft) == ["photo0.jpg", "photo2.jpg", "photo1.jpg"]
    move(member_client, last, "up")
    assert names(draft) == ["photo2.jpg", "photo0.jpg", "photo1.jpg"]
    move(member_client, last, "down")
    assert names(draft) == ["photo0.jpg", "photo2.jpg", "photo1.jpg"]


def test_moving_past_either_end_changes_nothing(member_client, team, member):
    draft = factories.make_draft(team=team, user=member, photos=2)
    first = draft.uploads.get(original_name="photo0.jpg")
    response = move(member_client, first, "up")
    assert response.status_code == 200 and names(draft) == ["photo0.jpg", "photo1.jpg"]


def test_a_bad_direction_is_explained_and_changes_nothing(member_client, team, member):
    draft = factories.make_draft(team=team, user=member, photos=2)
    response = move(member_client, draft.uploads.get(original_name="photo1.jpg"), "sideways")
    assert "Move a photo up or down." in response.text
    assert names(draft) == ["photo0.jpg", "photo1.jpg"]


def test_photos_of_a_started_job_do_not_move(member_client, team, member):
    job = factories.make_job(team=team, status=Job.Status.QUEUED, user=member)
    factories.make_draft(team=team, user=member)  # unrelated
    upload = job.uploads.first()
    before = names(job)
    member_client.post(reverse("packshots:upload-move", args=[upload.pk]), {"direction": "down"})
    assert names(job) == before


def test_the_cards_offer_earlier_and_later_with_labels(member_client, team, member):
    draft = factories.make_draft(team=team, user=member, photos=2)
    page = member_client.get(reverse("packshots:wizard-photos", args=[draft.pk])).text
    assert 'aria-label="Move photo0.jpg later"' in page and 'aria-label="Move photo1.jpg earlier"' in page
    assert 'aria-label="Move photo0.jpg earlier"' not in page
