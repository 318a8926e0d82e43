"""The strict Content-Security-Policy in a real browser: the team switcher, htmx and the admin still work,
and the browser reports no blocked script, style or handler."""

import pytest
from playwright.sync_api import BrowserContext, expect

from accounts.models import Membership
from tests import factories

pytestmark = pytest.mark.browser

# Every violation is also reported by the page itself, whatever Chromium chooses to log.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});
"""


@pytest.fixture
def csp_reports(context: BrowserContext) -> list[str]:
    reports: list[str] = []
    context.add_init_script(REPORT_VIOLATIONS)
    context.on(
        "console",
        lambda message: (
            reports.append(message.text)
            if "Content Security Policy" in message.text or "CSP violation" in message.text
            else None
        ),
    )
    return reports


def test_team_switcher_and_htmx_work_under_the_policy(logged_in_page, csp_reports, member, team, other_team):
    Membership.objects.create(user=member, team=other_team, role="member")
    job = factories.make_draft(team=team, user=member, photos=1)
    page = logged_in_page(member)
    response = page.goto(f"/jobs/{job.pk}/wizard/instructions/")
    assert "script-src 'self';" in response.headers["content-security-policy"]

    # htmx: the custom instruction form posts in the background and swaps the step in place.
    step = page.locator("#wizard-instructions")
    custom = step.locator("form.instruction-form")
    custom.get_by_label("Style").select_option("flat_lay")
    custom.get_by_label("Variations").fill("2")
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true") as htmx_request:
        custom.get_by_role("button", name="Add instruction").click()
    assert htmx_request.value.method == "POST"
    expect(step.locator("#total-outputs")).to_have_text("2")
    assert page.url.endswith(f"/jobs/{job.pk}/wizard/instructions/")  # no full-page navigation

    # The team switcher submits on change (static JS, no inline handler).
    page.goto("/projects/")
    page.get_by_label("Team").select_option(label="Bravo (Member)")
    expect(page.get_by_text("Now working in Bravo.")).to_be_visible()

    # The jobs filter also submits on change.
    page.goto("/jobs/")
    page.get_by_label("Status").select_option("completed")
    expect(page).to_have_url("/jobs/?status=completed")
    assert csp_reports == []


def test_admin_works_under_the_policy(logged_in_page, csp_reports, member, team):
    member.is_staff = member.is_superuser = True
    member.save()
    page = logged_in_page(member)
    page.goto("/admin/")
    expect(page.get_by_role("link", name="Users")).to_be_visible()
    page.goto(f"/admin/accounts/user/{member.pk}/change/")
    expect(page.get_by_label("Email")).to_have_value(member.email)
    page.goto("/admin/accounts/membership/add/")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()
    assert csp_reports == []


def test_the_policy_is_what_blocks_an_inline_handler(logged_in_page, csp_reports, member):
    """The console watch is live: an inline handler injected into the page is refused and reported."""
    page = logged_in_page(member)
    page.evaluate(
        """() => {
          const button = document.createElement("button");
          button.setAttribute("onclick", "document.title = 'ran'");
          document.body.append(button);
          button.click();
        }"""
    )
    expect(page).not_to_have_title("ran")
    page.wait_for_timeout(200)  # the violation report is asynchronous
    assert any("script-src" in report for report in csp_reports)
