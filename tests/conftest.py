import hashlib
import importlib
from collections import OrderedDict
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


NETWORK_MEMO_SIZE = 128  # outputs at most 640 × 640 float32: ≤ 1.6 MB each, ≤ ~210 MB a worker


@pytest.fixture(autouse=True, scope="session")
def network_outputs_remembered():
    """The segmentation networks' outputs, remembered per exact input within a test process.

    Hundreds of tests push the same few photos through the local engine (a batch of three SKUs, a job's
    photo, a shared garment) and each network run costs about a second of CPU; everything after the
    networks still runs every time. The key is the network and the photo's pixels themselves, so a test
    gets the very array the network would give (a copy: a caller may write into it).
    """
    segment = importlib.import_module("packshots.imaging.segment")  # the package's `segment` is the function
    real = segment.saliency
    memo: OrderedDict[tuple, object] = OrderedDict()

    def saliency(rgb, *, network="u2netp", threads=1, batch=None):
        key = (network, rgb.shape, hashlib.blake2b(rgb.tobytes(), digest_size=16).digest())
        if key not in memo:
            memo[key] = real(rgb, network=network, threads=threads, batch=batch)
        memo.move_to_end(key)
        out = memo[key].copy()
        while len(memo) > NETWORK_MEMO_SIZE:
            memo.popitem(last=False)
        return out

    patch = pytest.MonkeyPatch()
    patch.setattr(segment, "saliency", saliency)
    yield
    patch.undo()


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
