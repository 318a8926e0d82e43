from collections.abc import Iterator

import pytest
import stamina

from packshots.engines.piktid.client import PiktidClient
from tests.piktid.fake_server import FakePiktid
from tests.piktid.fixtures import FAKE_TOKEN


@pytest.fixture(autouse=True)
def no_retry_waits() -> Iterator[None]:
    # Keep the client's own attempt counts, without the backoff sleeps.
    with stamina.set_testing(True, attempts=100, cap=True):
        yield


@pytest.fixture
def piktid(fake_piktid: FakePiktid) -> Iterator[PiktidClient]:
    with PiktidClient(FAKE_TOKEN, base_url=fake_piktid.base_url) as client:
        yield client
