"""Slow clients cannot stall the production web command (the Procfile's, on 127.0.0.1, bounded in time)."""

import io
import socket
import threading
import time
import zipfile

import httpx
import pytest

from tests import factories, ops_stack

SLOW_HEADERS, SLOW_UPLOADS, SLOW_ZIPS = 17, 17, 16
RUN_S = 12  # every slow client gives up after this long, whatever happens


def test_the_dockerfile_runs_the_same_web_command_as_the_procfile():
    assert ops_stack.dockerfile_cmd() == ops_stack.procfile()["web"].split()


class SlowClient(threading.Thread):
    """One connection to 127.0.0.1 that trickles its request or drains its response, until `stop` or RUN_S."""

    def __init__(self, port: int, kind: str, stop: threading.Event, *, path: str = "", cookie: str = ""):
        super().__init__(daemon=True)
        self.port, self.kind, self.stop, self.path, self.cookie = port, kind, stop, path, cookie
        self.connected = threading.Event()
        self.received = b""
        self.error = ""

    def run(self) -> None:
        deadline = time.monotonic() + RUN_S
        try:
            with socket.socket() as sock:
                if self.kind == "zip":
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
                    )  # keep the server waiting on us
                sock.settimeout(RUN_S)
                sock.connect(("127.0.0.1", self.port))
                self.connected.set()
                getattr(self, f"_{self.kind}")(sock, deadline)
        except OSError as exc:
            self.error = repr(exc)
        finally:
            self.connected.set()

    def _waiting(self, deadline: float, pause: float) -> bool:
        return not self.stop.wait(pause) and time.monotonic() < deadline

    def _headers(self, sock: socket.socket, deadline: float) -> None:
        sock.sendall(b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        trickle = b"X-Slow: " + b"a" * 4000
        for byte in trickle:  # one byte at a time, never finishing the headers
            if not self._waiting(deadline, 0.1):
                return
            sock.sendall(bytes([byte]))

    def _upload(self, sock: socket.socket, deadline: float) -> None:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000000\r\n\r\n"
        )
        while self._waiting(deadline, 0.1):
            sock.sendall(b"x" * 100)

    def _zip(self, sock: socket.socket, deadline: float) -> None:
        sock.sendall(
            f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={self.cookie}\r\n\r\n".encode()
        )
        while self._waiting(deadline, 0.2):
            chunk = sock.recv(512)
            if not chunk:
                return
            self.received += chunk if len(self.received) < 4096 else b""


@pytest.mark.slow
def test_fifty_slow_clients_leave_the_production_server_answering_within_a_second(tmp_path):
    env = ops_stack.server_env(tmp_path / "var")
    ops_stack.manage(env, "migrate", "--noinput")
    ops_stack.manage(env, "collectstatic", "--noinput", "-v0")
    seeded = ops_stack.seed(env, result_bytes=8 << 20)  # a ZIP far larger than the socket buffers
    process, base = ops_stack.start_web(env, tmp_path / "web.log")
    port = int(base.rsplit(":", 1)[1])
    stop = threading.Event()
    zip_path = f"/jobs/{seeded['jobs'][0]}/download.zip"
    clients = (
        [SlowClient(port, "headers", stop) for _ in range(SLOW_HEADERS)]
        + [SlowClient(port, "upload", stop) for _ in range(SLOW_UPLOADS)]
        + [SlowClient(port, "zip", stop, path=zip_path, cookie=seeded["session"]) for _ in range(SLOW_ZIPS)]
    )
    try:
        for client in clients:
            client.start()
        for client in clients:
            client.connected.wait(5)
        time.sleep(2)  # let every slow request reach the server and stall there
        probes = []
        cookies = {"sessionid": seeded["session"]}
        with (
            httpx.Client(base_url=base, timeout=5) as anonymous,
            httpx.Client(base_url=base, timeout=5, cookies=cookies) as user,
        ):
            for http, path in [
                (anonymous, "/accounts/login/"),
                (user, "/jobs/"),
                (user, f"/jobs/{seeded['jobs'][0]}/"),
            ] * 3:
                started = time.monotonic()
                response = http.get(path)
                probes.append((path, response.status_code, time.monotonic() - started))
        still_open = [c for c in clients if c.is_alive()]
        stop.set()
        for client in clients:
            client.join(RUN_S + 5)
        # At full speed the streamed ZIP is whole: the 8 MB output and metadata.json.
        archive = zipfile.ZipFile(io.BytesIO(httpx.get(base + zip_path, cookies=cookies, timeout=30).content))
        sizes = sorted(info.file_size for info in archive.infolist())
    finally:
        stop.set()
        ops_stack.stop(process)

    assert [c.error for c in clients if c.error] == []
    assert len(still_open) == 50, "every slow client was still connected while the probes ran"
    zips = [c for c in clients if c.kind == "zip"]
    assert all(c.received.startswith(b"HTTP/1.1 200") for c in zips), "the ZIPs were being served"
    assert [(p, s) for p, s, _ in probes if s != 200] == []
    slowest = max(seconds for _, _, seconds in probes)
    assert slowest < 1.0, probes
    assert len(sizes) == 2 and sizes[-1] == 8 << 20


@pytest.mark.slow
def test_uploads_through_the_production_command_keep_csrf_and_the_size_caps(tmp_path):
    env = ops_stack.server_env(tmp_path / "var", PACKSHOT_MAX_UPLOAD_MB="1")
    ops_stack.manage(env, "migrate", "--noinput")
    ops_stack.manage(env, "collectstatic", "--noinput", "-v0")
    seeded = ops_stack.seed(env)
    draft = ops_stack.python(
        env,
        "from accounts.models import Team\nfrom tests import factories\n"
        "print(factories.make_draft(team=Team.objects.get(slug='ops-1'), photos=0).pk)",
    ).split()[-1]
    process, base = ops_stack.start_web(env, tmp_path / "web.log")
    try:
        with httpx.Client(base_url=base, cookies={"sessionid": seeded["session"]}, timeout=30) as http:
            url = f"/jobs/{draft}/wizard/photos/"
            assert http.get(url).status_code == 200
            token = {"X-CSRFToken": http.cookies["csrftoken"]}
            photo = ("front.jpg", factories.photo_bytes(), "image/jpeg")
            too_big = ("huge.jpg", b"\xff\xd8" + b"x" * (1 << 20), "image/jpeg")

            forged = http.post(url, files={"photos": photo})
            stored = http.post(url, files={"photos": photo}, headers=token)
            dropped = http.post(url, files={"photos": too_big}, headers={**token, "HX-Request": "true"})
            # The cap at 1 MB a photo: 10 photos + 1 MB = 11 MB; 12 MB is answered 413 before it is read.
            refused = http.post(url, content=b"x" * (12 << 20), headers=token)
            page = http.get(url).text
    finally:
        ops_stack.stop(process)

    assert forged.status_code == 403
    assert stored.status_code == 302
    assert dropped.status_code == 200 and "huge.jpg" in dropped.text  # named with its reason, not stored
    assert refused.status_code == 413
    assert page.count("front.jpg") >= 1 and "huge.jpg" not in page
