"""The production stack for the PiktID benchmarks: a fresh PostgreSQL database, the Procfile's web, workers.

Used by bench/piktid_scheduler.py and bench/webhook_ingest.py (not a script). Call `configure` before anything
imports Django; every process started here gets the same environment (database, var dir, PiktID settings).
"""

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
PG = ["-h", "127.0.0.1", "-U", "postgres"]


def configure(*, database: str, var_dir: Path, **settings: object) -> None:
    """Point this process (and every child) at `database` and `var_dir`; `settings` become env variables."""
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    os.environ["PACKSHOT_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "WARNING")
    os.environ.pop("DEBUG", None)  # production settings, as the Procfile runs them
    for name, value in settings.items():
        os.environ[name] = str(value)


def fresh_database(database: str) -> None:
    """Drop and re-create the bench database, then migrate it (in this process)."""
    subprocess.run(["dropdb", *PG, "--if-exists", "--force", database], check=True)
    subprocess.run(["createdb", *PG, database], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile(name: str) -> str:
    """The command of the Procfile's `name` process: the benchmarks run exactly what production runs."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"the Procfile has no {name} process")


def _spawn(command: str, log_path: Path, **env: str) -> subprocess.Popen:
    """`command` through sh (the Procfile's ${VAR:-default} expansions), the venv's binaries first on PATH."""
    return subprocess.Popen(
        ["sh", "-c", f"exec {command}"],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", **env},
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_web(log_dir: Path, *, workers: int = 2) -> tuple[subprocess.Popen, str]:
    """The Procfile's web process on a free loopback port (WEB_CONCURRENCY = `workers`); process, base URL."""
    port = free_port()
    env = {"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    process = _spawn(procfile("web"), log_dir / "web.log", **env)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited; see {log_dir / 'web.log'}")
        try:
            # Every worker must have loaded Django: ask a few times (a GET on the webhook answers 405).
            probe = f"{base_url}/webhooks/piktid/x/"
            if all(httpx.get(probe).status_code == 405 for _ in range(workers * 2)):
                return process, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop(process)
    raise RuntimeError("the web process did not answer within 60 s")


def start_workers(count: int, log_dir: Path, *, interval: float = 1.0) -> list[subprocess.Popen]:
    """`count` of the Procfile's worker processes, with `--interval` (idle poll seconds) set to `interval`."""
    command = procfile("worker")
    command = re.sub(r"--interval[ =]\S+", f"--interval {interval:g}", command)
    if "--interval" not in command:
        command += f" --interval {interval:g}"
    # INFO for the "Starting worker" line wait_for_workers looks for.
    return [_spawn(command, log_dir / f"worker-{n}.log", LOG_LEVEL="INFO") for n in range(count)]


def wait_for_workers(processes: list[subprocess.Popen], log_dir: Path) -> None:
    """Until every worker has loaded Django and slept its random startup delay (≤ 1 s)."""
    deadline = time.monotonic() + 60
    logs = [log_dir / f"worker-{number}.log" for number in range(len(processes))]
    while not all(b"Starting worker" in log.read_bytes() for log in logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise RuntimeError(f"the workers did not start; see {log_dir}")
        time.sleep(0.1)
    time.sleep(1.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (the web server's master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pids = 0.0, [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pids.extend(int(child) for child in children)
    return total


def stop(*processes: subprocess.Popen) -> None:
    """SIGTERM to each process group we started (the web server's workers included), then wait."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def team_with_connection(*, token: str, webhook_base_url: str):
    """A team, its owner and a PiktID connection (token checked at the fake, webhook registered to us)."""
    from accounts.models import Membership, Team, User
    from packshots import services

    team = Team.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user("bench@example.com", "bench-password-123")
    Membership.objects.create(user=user, team=team, role="owner")
    connection = services.piktid_connect(team=team, user=user, token=token, webhook_base_url=webhook_base_url)
    return team, user, connection
