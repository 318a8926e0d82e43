"""config/server.py: a request body over the upload cap is refused (413) before Django reads it."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from config import server
from packshots.uploads import request_cap


def _call(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[list[dict], int]:
    """Run one HTTP request through the ASGI application; returns what it sent and how many chunks it read."""
    sent, pending = [], list(chunks)

    async def receive():
        if pending:
            body = pending.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pending)}
        await asyncio.sleep(3600)  # a client that sent everything and waits

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/accounts/login/",
        "raw_path": b"/accounts/login/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    # In a thread of its own: Playwright's sync API (browser tests in the same process) leaves an event loop
    # running in this one, where asyncio.run() refuses to start.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, asyncio.wait_for(server.application(scope, receive, send), 30)).result()
    return sent, len(chunks) - len(pending)


def test_a_declared_length_over_the_cap_is_refused_before_any_body_is_read(settings):
    settings.PACKSHOT_MAX_UPLOAD_MB = 1

    sent, read = _call([(b"content-length", str(request_cap() + 1).encode())], [b"x" * 1024])

    assert sent[0]["status"] == 413 and sent[1]["body"] == server.TOO_LARGE
    assert read == 0


def test_a_declared_length_of_thousands_of_digits_is_refused_not_a_crash(settings):
    sent, read = _call([(b"content-length", b"9" * 5000)], [b"x"])
    assert sent[0]["status"] == 413 and read == 0


def test_a_chunked_body_is_cut_off_once_it_passes_the_cap(settings):
    settings.PACKSHOT_MAX_UPLOAD_MB = 1
    megabyte = b"x" * (1 << 20)
    chunks = [megabyte] * (request_cap() // len(megabyte) + 5)

    sent, read = _call([(b"transfer-encoding", b"chunked")], chunks)

    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]
    assert read == request_cap() // len(megabyte) + 1  # stopped at the chunk that passed the cap


def test_a_body_under_the_cap_reaches_django(settings, db):
    settings.PACKSHOT_MAX_UPLOAD_MB = 1
    body = b"username=a%40example.com&password=x"

    sent, read = _call([(b"content-length", str(len(body)).encode())], [body])

    assert read == 1
    assert sent[0]["status"] == 403  # Django's own answer: the CSRF check, not our 413
