"""Identical requests sent at the same moment from several threads (real transactions, real connections)."""

import contextlib
import threading

from django.db import connection
from django.db.models import Model, QuerySet
from django.test import Client


def post_together(*, user, url: str, data: dict, model: type[Model], count: int, monkeypatch) -> list:
    """POST `data` to `url` from `count` logged-in clients at once; return their responses.

    Every request waits after its "is this name taken?" query on `model` until all have asked, so all of them
    see the name free and then insert: the race happens every run instead of once in a while.
    """
    barrier = threading.Barrier(count, timeout=5)
    real_exists = QuerySet.exists

    def exists_then_wait(queryset: QuerySet) -> bool:
        answer = real_exists(queryset)
        if queryset.model is model:
            # Broken (a request asked twice, or fewer asked): carry on, the race has happened anyway.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return answer

    monkeypatch.setattr(QuerySet, "exists", exists_then_wait)
    clients = []
    for _ in range(count):
        client = Client()
        client.force_login(user)
        clients.append(client)
    responses: list = [None] * count
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            responses[index] = clients[index].post(url, data)
        except BaseException as exc:  # a 500 raises in the test client: report it below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return responses
