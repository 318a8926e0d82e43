"""compose.yaml stays in step with the code: every command exists, the app's processes match the Procfile."""

import importlib
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands
from django.urls import resolve

from tests import ops_stack

COMPOSE = yaml.safe_load((ops_stack.ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP = {name: s for name, s in SERVICES.items() if s.get("build") == "."}
SETTINGS_SOURCE = (ops_stack.ROOT / "config" / "settings.py").read_text()
READ_BY_BOTO3 = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_the_stack_has_web_two_workers_the_listener_a_migration_postgresql_and_s3():
    assert set(APP) == {"web", "worker", "listener", "migrate"}
    assert SERVICES["worker"]["deploy"]["replicas"] == 2
    assert SERVICES["db"]["image"].startswith("postgres:")
    assert SERVICES["minio"]["image"].startswith("minio/minio:")
    assert APP["web"]["environment"]["DATABASE_URL"].endswith("@db:5432/packshot")
    assert APP["web"]["environment"]["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"


@pytest.mark.parametrize("process", ["web", "worker", "listener"])
def test_the_app_processes_run_the_procfile_commands(process):
    assert APP[process]["command"] == shlex.split(ops_stack.procfile()[process])


def test_web_runs_the_dockerfile_command():
    assert APP["web"]["command"] == ops_stack.dockerfile_cmd()


@pytest.mark.parametrize("name", sorted(APP))
def test_every_app_command_exists(name):
    command = APP[name]["command"]
    if command[:2] == ["python", "manage.py"]:
        assert command[2] in get_commands(), f"no management command {command[2]!r}"
        return
    assert command[0] == "gunicorn"
    assert shutil.which("gunicorn", path=str(Path(sys.executable).parent)), "gunicorn is not installed"
    assert (ops_stack.ROOT / command[command.index("-c") + 1]).is_file()
    module, attribute = command[-1].split(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_the_web_healthcheck_asks_the_health_endpoint():
    probe = " ".join(APP["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in probe
    assert resolve("/healthz").url_name == "healthz"


@pytest.mark.parametrize("name", sorted(APP))
def test_every_variable_given_to_the_app_is_one_it_reads(name):
    unknown = [
        key
        for key in APP[name]["environment"]
        if key not in READ_BY_BOTO3 and f'"{key}"' not in SETTINGS_SOURCE
    ]
    assert unknown == []


def test_dependencies_name_services_of_the_stack():
    for name, service in SERVICES.items():
        assert set(service.get("depends_on", {})) <= set(SERVICES), name


def test_other_images_are_pinned_and_the_bucket_made_is_the_one_the_app_uses():
    for name, service in SERVICES.items():
        if name not in APP:
            tag = service["image"].partition(":")[2]
            assert tag and tag != "latest", name
    bucket = APP["web"]["environment"]["AWS_STORAGE_BUCKET_NAME"]
    assert f"mc mb --ignore-existing store/{bucket}" in SERVICES["createbucket"]["command"][0]
    assert f"mc anonymous set none store/{bucket}" in SERVICES["createbucket"]["command"][0]
