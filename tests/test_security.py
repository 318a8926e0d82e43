"""Security baseline: the Content-Security-Policy, production settings that pass `check --deploy`, a fresh
var folder, the client address behind the proxy."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse

from accounts.security import client_ip
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_CSP = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:", "blob:"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}
# The production settings README documents; check --deploy --fail-level WARNING must pass with exactly these.
PRODUCTION_ENV = {
    "SECRET_KEY": "k" * 30 + "-Zq8x!v3Lm0pR7tY2wE9uI4oP6aS1dF5gH",
    "ALLOWED_HOSTS": "packshots.example.com",
    "DATABASE_URL": "postgres://packshot@db.example.com:5432/packshot",
    "EMAIL_HOST": "smtp.example.com",
    "SECURE_COOKIES": "true",
    "BEHIND_PROXY": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}
# A key set in the environment, as in production, so nothing else creates the var folder on the way.
FIELD_KEY = "Th_j9LdpO-pdgwTv3MhC_a2ZA7z7LA75mPushbqQ_qI="


def _policy(response) -> dict[str, set[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: set(values) for name, *values in directives}


def _manage(*args: str, env: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    clean |= {"PACKSHOT_VAR_DIR": str(var_dir), "PACKSHOT_FIELD_KEYS": FIELD_KEY, **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "url",
    [
        reverse("packshots:project-list"),
        reverse("packshots:job-list"),
        reverse("packshots:preset-list"),
        reverse("accounts:password-change"),
        "/admin/",
        "/admin/accounts/user/",
        "/no-such-page/",
    ],
)
def test_every_page_carries_the_strict_content_security_policy(client, team, url):
    admin = factories.make_user("root@example.com", team=team, role="owner")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    response = client.get(url)
    assert response["Content-Type"].startswith("text/html")
    assert _policy(response) == EXPECTED_CSP
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_anonymous_pages_and_htmx_fragments_carry_the_policy_too(client, member_client, team):
    assert _policy(client.get(reverse("accounts:login"))) == EXPECTED_CSP
    assert _policy(client.get(reverse("accounts:password-reset"))) == EXPECTED_CSP
    job = factories.make_draft(team=team, photos=1)
    fragment = member_client.get(reverse("packshots:wizard-photos", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert _policy(fragment) == EXPECTED_CSP


def test_templates_hold_no_inline_code_the_policy_would_block():
    inline = re.compile(
        r"""\son[a-z]+\s*=|hx-on|<script(?![^>]*\bsrc=)[^>]*>|\sstyle\s*=|javascript:|hx-trigger="[^"]*\[""",
        re.IGNORECASE,
    )
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)!r}"
        for path in (ROOT / "templates").rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert offenders == []


def test_check_deploy_passes_with_the_documented_production_settings(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, var_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    readme = (ROOT / "README.md").read_text()
    production = readme[readme.index("Production:") :].split("\n\n")[0]
    assert all(f"`{name}" in production for name in PRODUCTION_ENV), production


def test_check_deploy_fails_when_hsts_does_not_cover_subdomains(tmp_path):
    env = {**PRODUCTION_ENV, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env, var_dir=tmp_path)
    assert result.returncode == 1 and "security.W005" in result.stderr


def test_secure_cookies_get_host_prefixed_names(tmp_path):
    show = "from django.conf import settings as s; print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME)"
    secure = _manage("shell", "-v0", "-c", show, env=PRODUCTION_ENV, var_dir=tmp_path)
    assert secure.stdout.split() == ["__Host-sessionid", "__Host-csrftoken"], secure.stderr
    plain = _manage(
        "shell", "-v0", "-c", show, env={"SECRET_KEY": PRODUCTION_ENV["SECRET_KEY"]}, var_dir=tmp_path
    )
    assert plain.stdout.split() == ["sessionid", "csrftoken"], plain.stderr


def test_migrate_and_check_deploy_create_a_missing_var_folder(tmp_path):
    var_dir = tmp_path / "new" / "var"
    env = {name: value for name, value in PRODUCTION_ENV.items() if name != "DATABASE_URL"}  # SQLite in var/
    check = _manage("check", "--deploy", "--fail-level", "WARNING", env=env, var_dir=var_dir)
    assert check.returncode == 0, check.stderr
    migrate = _manage("migrate", "--noinput", "-v0", env=env, var_dir=var_dir)
    assert migrate.returncode == 0, migrate.stderr
    assert (var_dir / "db.sqlite3").stat().st_size > 0


@pytest.mark.parametrize(
    ("behind_proxy", "forwarded_for", "expected"),
    [
        (False, "203.0.113.9", "10.0.0.2"),  # no proxy of ours: the header is the client's own claim
        (True, "203.0.113.9", "203.0.113.9"),
        (True, "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the left entry is forged by the client
        (True, "not-an-address", "10.0.0.2"),
        (True, "", "10.0.0.2"),
    ],
)
def test_client_address_comes_from_our_proxy_only(behind_proxy, forwarded_for, expected):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
    with override_settings(BEHIND_PROXY=behind_proxy, TRUSTED_PROXY_COUNT=1):
        assert client_ip(request) == expected


def test_two_trusted_proxies_skip_one_more_entry():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9, 10.0.0.3"
    )
    with override_settings(BEHIND_PROXY=True, TRUSTED_PROXY_COUNT=2):
        assert client_ip(request) == "203.0.113.9"


def test_check_deploy_asks_for_field_keys_from_the_environment(tmp_path):
    env = {**PRODUCTION_ENV, "PACKSHOT_FIELD_KEYS": ""}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env, var_dir=tmp_path)
    assert result.returncode != 0 and "packshots.W001" in result.stderr + result.stdout
