from pathlib import Path

import pytest

from tests import factories
from tests.piktid.fixtures import fake_piktid  # noqa: F401 (the fake PiktID server, for any test)

ROOT = Path(__file__).resolve().parent.parent
GARMENTS = ROOT.parent / "shared" / "garments"
PURE_PATHS = (
    "tests/imaging/",
    "tests/test_instructions.py",
    "tests/test_adapter.py",
    "tests/test_settings_env.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    # Pure modules (no Django, no database) are marked so the PostgreSQL run can leave them out.
    for item in items:
        relative = Path(item.fspath).resolve().relative_to(ROOT).as_posix()
        if relative.startswith(PURE_PATHS):
            item.add_marker(pytest.mark.pure)


@pytest.fixture(autouse=True)
def fresh_process_caches():
    """The services remember a few look-ups in the process for seconds (webhook keys, jobs by PiktID id,
    the last delivery noted): ids are reused from test to test, so each test starts with none."""
    from packshots.services import connections, piktid

    caches = (connections._webhook_keys, connections._deliveries_noted, piktid._jobs_of_accounts)
    for cache in caches:
        cache.clear()
    yield
    for cache in caches:
        cache.clear()


@pytest.fixture
def garments() -> Path:
    if not GARMENTS.is_dir():
        pytest.fail(f"The shared garment photos are missing: {GARMENTS}")
    return GARMENTS


@pytest.fixture
def team(db):
    return factories.make_team("Alpha")


@pytest.fixture
def other_team(db):
    return factories.make_team("Bravo")


@pytest.fixture
def member(team):
    return factories.make_user("alice@example.com", team=team, role="member")


@pytest.fixture
def viewer(team):
    return factories.make_user("victor@example.com", team=team, role="viewer")


@pytest.fixture
def outsider(other_team):
    return factories.make_user("bob@example.com", team=other_team, role="owner")


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client
