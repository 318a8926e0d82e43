"""Each completed output is checked once against the team's marketplace profiles and the outcome stored."""

import pytest

from packshots import compliance
from packshots.errors import PackshotError
from packshots.models import Job, Result
from packshots.services.compliance import (
    CHECK_ERROR,
    result_compliance,
    result_compliance_store,
    team_marketplace_profiles_set,
)
from tests import factories


def run_job(team, member, instruction=factories.WHITE_CUTOUT) -> Job:
    return factories.start_job(factories.make_draft(team=team, user=member, instructions=[instruction]))


def test_a_completed_output_is_checked_against_each_chosen_profile(team, member):
    team_marketplace_profiles_set(team=team, profiles=["shopify", "amazon_main"])
    job = run_job(team, member)
    result = job.results.get()
    assert result.status == Result.Status.COMPLETED
    assert [summary["key"] for summary in result.compliance_summary] == ["amazon_main", "shopify"]
    for rules in result.compliance.values():
        assert {"format", "colour_mode", "size"} <= {rule["rule"] for rule in rules}
        assert all(set(rule) == {"rule", "passed", "detail"} for rule in rules)
    # The stored outcome is what checking the file says now.
    assert result.compliance == {
        key: [rule.as_dict() for rule in rules] for key, rules in result_compliance(result).items()
    }


def test_an_output_made_to_amazons_targets_passes_amazon_and_the_card_says_so(team, member):
    team_marketplace_profiles_set(team=team, profiles=["amazon_main"])
    instruction = compliance.instruction_for({"style": "white_cutout"}, "amazon_main")
    result = run_job(team, member, instruction).results.get()
    assert (result.width, result.height, result.format) == (2048, 2048, "jpg")
    (summary,) = result.compliance_summary
    assert summary == {"key": "amazon_main", "name": "Amazon main image", "passed": True, "failures": []}


def test_a_default_white_cutout_passes_google_and_names_amazons_failing_fill(team, member):
    team_marketplace_profiles_set(team=team, profiles=["amazon_main", "google_shopping"])
    # The default framing fills 84 % of the frame: under Amazon's 85 %.
    result = run_job(team, member).results.get()
    amazon, google = result.compliance_summary
    assert google["passed"]
    assert not amazon["passed"]
    assert any("Amazon main image asks for at least 85%" in failure for failure in amazon["failures"])


def test_without_chosen_profiles_nothing_is_checked(team, member):
    result = run_job(team, member).results.get()
    assert result.status == Result.Status.COMPLETED and result.compliance == {}


def test_a_check_that_crashes_is_stored_as_an_error_and_the_output_still_completes(team, member, monkeypatch):
    team_marketplace_profiles_set(team=team, profiles=["zalando"])

    def broken(data, profiles):
        raise RuntimeError("boom")

    monkeypatch.setattr(compliance, "check_all", broken)
    job = run_job(team, member)
    result = job.results.get()
    # (the small test photo is flagged for upscaling: needs review; the output itself completed)
    assert (
        job.status in (Job.Status.COMPLETED, Job.Status.NEEDS_REVIEW)
        and result.status == Result.Status.COMPLETED
    )
    assert result.compliance == {"zalando": [{"rule": "check", "passed": False, "detail": CHECK_ERROR}]}


def test_storing_the_check_of_a_missing_result_never_raises(db):
    assert result_compliance_store(result_id=987654) == {}


def test_profiles_are_kept_in_their_own_order_and_unknown_ones_refused(team):
    team_marketplace_profiles_set(team=team, profiles=["google_shopping", "zalando"])
    assert team.marketplace_profiles == ["zalando", "google_shopping"]
    with pytest.raises(PackshotError, match="Unknown marketplace profile 'ebay'"):
        team_marketplace_profiles_set(team=team, profiles=["zalando", "ebay"])
    team.refresh_from_db()
    assert team.marketplace_profiles == ["zalando", "google_shopping"]
