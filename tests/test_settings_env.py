"""Settings from environment variables: sensible defaults, loud failures on nonsense."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_secret, env_str


def test_defaults_apply_when_variables_are_unset(monkeypatch):
    for name in ("X_BOOL", "X_INT", "X_LIST", "X_STR", "X_SECRET", "X_SECRET_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert env_bool("X_BOOL", False) is False
    assert env_int("X_INT", 7) == 7
    assert env_list("X_LIST", ["a"]) == ["a"]
    assert env_str("X_STR", "d") == "d"
    assert env_secret("X_SECRET", "s") == "s"


def test_values_are_parsed(monkeypatch):
    monkeypatch.setenv("X_BOOL", "True")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.example, b.example ,")
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 0) == 42
    assert env_list("X_LIST", []) == ["a.example", "b.example"]


@pytest.mark.parametrize(("reader", "value"), [(env_bool, "yes please"), (env_int, "ten")])
def test_malformed_values_fail_loudly_with_the_variable_name(monkeypatch, reader, value):
    monkeypatch.setenv("X_BAD", value)
    with pytest.raises(ImproperlyConfigured, match="X_BAD"):
        reader("X_BAD", 0)


def test_secrets_can_come_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_secret("X_SECRET") == "s3cr3t"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="X_SECRET_FILE"):
        env_secret("X_SECRET")


def test_whole_numbers_below_their_minimum_fail_loudly(monkeypatch):
    monkeypatch.setenv("X_LIMIT", "0")
    with pytest.raises(ImproperlyConfigured, match="X_LIMIT='0': must be at least 1"):
        env_int("X_LIMIT", 5, minimum=1)
    monkeypatch.setenv("X_LIMIT", "1")
    assert env_int("X_LIMIT", 5, minimum=1) == 1
