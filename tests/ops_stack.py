"""The production web command on 127.0.0.1 for the ops tests and bench/load.py (a helper, not a test module).

`start_web` runs the Procfile's `web` line exactly as honcho does (through `sh -c`, HOST/PORT in the
environment), against whatever database and var dir the given environment names.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def procfile() -> dict[str, str]:
    """The Procfile's processes, name → command line."""
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(re.match(r"^(\w+):\s*(.+)$", line).groups() for line in lines if line.strip())


def dockerfile_cmd() -> list[str]:
    """The Dockerfile's CMD (exec form)."""
    line = next(x for x in (ROOT / "Dockerfile").read_text().splitlines() if x.startswith("CMD "))
    return json.loads(line[4:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """Production settings (no DEBUG) on a throwaway var dir; SQLite there unless `DATABASE_URL` is given."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.update(
        PACKSHOT_VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="config.settings",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def python(env: dict[str, str], code: str) -> str:
    """Run Django code in a child process with `env` (so it sees the server's database, not the test one)."""
    prelude = "import django; django.setup()\n"
    done = subprocess.run(
        [str(BIN / "python"), "-c", prelude + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"seed failed:\n{done.stderr[-3000:]}")
    return done.stdout


def start_web(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    """The Procfile's web command on 127.0.0.1 (own process group); waits until it answers."""
    port = free_port()
    out = log.open("wb")
    process = subprocess.Popen(
        ["sh", "-c", procfile()["web"]],
        cwd=ROOT,
        env={**env, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web command exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(f"{base}/accounts/login/", timeout=2)
            return process, base
        except httpx.TransportError:
            time.sleep(0.3)
    stop(process)
    raise RuntimeError("the web command did not answer within 60 s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group we started (gunicorn's workers included), SIGKILL after 15 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


SEED = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.base import ContentFile
from packshots.models import Job, Result
from tests import factories

team = factories.make_team("Ops {n}")
users = [factories.make_user(f"ops{n}-{{i}}@example.com", team=team, role="owner") for i in range({users})]
jobs = []
for i in range({jobs}):
    job = factories.make_job(team=team, status=Job.Status.COMPLETED, results={results})
    for result in job.results.all():
        result.image.save(f"output_{{result.pk}}.jpg", ContentFile(os.urandom({result_bytes})), save=False)
        result.thumbnail.save(f"thumb_{{result.pk}}.jpg", ContentFile(factories.photo_bytes()), save=False)
        result.status, result.format, result.width, result.height = Result.Status.COMPLETED, "jpg", 1024, 1024
        result.save()
    jobs.append(job.pk)
sessions = []
for user in users:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    sessions.append(session.session_key)
results = list(Result.objects.filter(job__team=team).values_list("pk", flat=True))
print(json.dumps({{"session": sessions[0], "sessions": sessions, "jobs": jobs, "results": results}}))
"""


def seed(
    env: dict[str, str],
    *,
    n: int = 1,
    users: int = 1,
    jobs: int = 1,
    results: int = 1,
    result_bytes: int = 1 << 20,
) -> dict:
    """A team, its owners logged in (session keys), completed jobs whose outputs are `result_bytes` each."""
    code = "import json, os\n" + SEED.format(
        n=n, users=users, jobs=jobs, results=results, result_bytes=result_bytes
    )
    return json.loads(python(env, code).strip().splitlines()[-1])
