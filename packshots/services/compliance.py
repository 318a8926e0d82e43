"""Marketplace compliance of outputs: the team's chosen channel profiles, each output checked against them."""

import logging

from accounts.models import Team
from packshots import compliance
from packshots.errors import PackshotError
from packshots.models import Result

log = logging.getLogger(__name__)

# What is stored for a profile when the check itself could not run: the output stays completed.
CHECK_ERROR = "the compliance check could not run (see the server log)"


def team_marketplace_profiles_set(*, team: Team, profiles: list[str]) -> Team:
    """Choose the channel profiles the team's outputs are checked against (in the profiles' own order)."""
    unknown = [p for p in profiles if p not in compliance.PROFILES]
    if unknown:
        raise PackshotError(f"Unknown marketplace profile {unknown[0]!r}.")
    team.marketplace_profiles = [key for key in compliance.PROFILES if key in profiles]
    team.save(update_fields=["marketplace_profiles"])
    return team


def team_marketplace_profiles(team: Team) -> list[str]:
    """The team's chosen profile keys that still exist (a profile dropped from the code is skipped)."""
    return [key for key in team.marketplace_profiles or [] if key in compliance.PROFILES]


def result_compliance(result: Result) -> dict[str, list[compliance.RuleResult]]:
    """The output's file checked against each of its team's chosen profiles; {} when none is chosen."""
    profiles = team_marketplace_profiles(result.job.team)
    if not profiles or result.status != Result.Status.COMPLETED or not result.image:
        return {}
    with result.image.open("rb") as f:
        data = f.read()
    return compliance.check_all(data, profiles)


def result_compliance_store(*, result_id: int) -> dict:
    """Check a completed output and store the outcome on it; returns what was stored. Never raises.

    Called once when an output completes, outside any lock. A check that crashes must not fail the output:
    it is logged and stored as one failing rule per profile, so the card says the check did not run.
    """
    try:
        result = Result.objects.select_related("job__team").get(pk=result_id)
        try:
            checked = {
                key: [rule.as_dict() for rule in rules] for key, rules in result_compliance(result).items()
            }
        except Exception:
            log.exception("Compliance check of result %s failed", result_id)
            error = compliance.RuleResult("check", False, CHECK_ERROR).as_dict()
            checked = {key: [error] for key in team_marketplace_profiles(result.job.team)}
        if checked:
            Result.objects.filter(pk=result_id).update(compliance=checked)
        return checked
    except Exception:  # the database itself: still never the output's failure
        log.exception("Could not store the compliance check of result %s", result_id)
        return {}
