"""The `fake_piktid` fixture: a fresh fake PiktID server per test (imported by tests/conftest.py)."""

from collections.abc import Iterator

import pytest
import stamina

from tests.piktid.fake_server import FakePiktid

FAKE_TOKEN = "fake-token-0123456789abcdef"


@pytest.fixture
def fake_piktid() -> Iterator[FakePiktid]:
    """A running fake with one account (`FAKE_TOKEN`, 1000 credits); jobs advance an output per 50 ms.

    While it runs, the client's stamina retries keep their attempt counts but do not sleep.
    """
    fake = FakePiktid().start()
    fake.add_account(FAKE_TOKEN)
    try:
        with stamina.set_testing(True, attempts=100, cap=True):
            yield fake
    finally:
        fake.stop()
    assert not fake.errors, f"the fake PiktID server failed: {fake.errors}"
