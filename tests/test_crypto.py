"""Secrets at rest: Fernet ciphertext in the database, keys of our own, rotation without losing a token."""

import io
import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection as db

import config.settings
from accounts import crypto
from accounts.models import PiktidConnection

TOKEN = "pk_live_token_4f9c2e7a1b8d3c6e5a0f"
SECRET = "whsec_e1f2a3b4c5d6e7f8"
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def saved_connection(team, *, token=TOKEN, secret=SECRET) -> PiktidConnection:
    """A stored connection as the services leave it (no PiktID call needed to test storage)."""
    return PiktidConnection.objects.create(
        team=team,
        base_url="https://v2.api.piktid.com",
        token_encrypted=crypto.encrypt(token),
        account_key="a" * 64,
        token_hint=token[-4:],
        webhook_key=team.slug.ljust(43, "k"),
        webhook_secret_encrypted=crypto.encrypt(secret),
    )


def test_a_secret_survives_a_round_trip_and_is_not_readable_in_its_ciphertext(settings):
    settings.PACKSHOT_FIELD_KEYS = [NEW]
    ciphertext = crypto.encrypt(TOKEN)
    assert TOKEN not in ciphertext and ciphertext != crypto.encrypt(TOKEN)  # a fresh IV every time
    assert crypto.decrypt(ciphertext) == TOKEN
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


def test_the_database_and_its_dump_hold_only_ciphertext(team):
    saved_connection(team)
    dump = io.StringIO()
    call_command("dumpdata", "accounts.piktidconnection", stdout=dump)
    with db.cursor() as cursor:
        cursor.execute("SELECT token_encrypted, webhook_secret_encrypted FROM accounts_piktidconnection")
        raw = " ".join(cursor.fetchone())
    for text in (dump.getvalue(), raw):
        assert TOKEN not in text and SECRET not in text
    assert PiktidConnection.objects.get().token == TOKEN


def test_a_secret_written_with_the_old_key_still_opens_once_a_new_key_is_put_in_front(settings):
    settings.PACKSHOT_FIELD_KEYS = [OLD]
    ciphertext = crypto.encrypt(TOKEN)
    settings.PACKSHOT_FIELD_KEYS = [NEW, OLD]
    assert crypto.decrypt(ciphertext) == TOKEN
    settings.PACKSHOT_FIELD_KEYS = [NEW]
    with pytest.raises(crypto.FieldKeyError, match="PACKSHOT_FIELD_KEYS"):
        crypto.decrypt(ciphertext)


def test_changing_the_secret_key_does_not_lose_stored_tokens(settings, team):
    saved_connection(team)
    settings.SECRET_KEY = "a-completely-different-signing-key"
    assert PiktidConnection.objects.get().token == TOKEN


def test_rotate_field_keys_re_encrypts_every_secret_with_the_newest_key(settings, team, other_team):
    settings.PACKSHOT_FIELD_KEYS = [OLD]
    saved_connection(team)
    saved_connection(other_team, token="another-token-0123456789", secret="")
    settings.PACKSHOT_FIELD_KEYS = [NEW, OLD]
    out = io.StringIO()
    call_command("rotate_field_keys", stdout=out)
    assert "2 PiktID connection(s)" in out.getvalue()
    settings.PACKSHOT_FIELD_KEYS = [NEW]  # the old key is gone: everything still opens
    first, second = PiktidConnection.objects.order_by("team__name")
    assert (first.token, first.webhook_secret) == (TOKEN, SECRET)
    assert (second.token, second.webhook_secret) == ("another-token-0123456789", "")


def test_rotate_field_keys_changes_nothing_when_a_secret_cannot_be_opened(settings, team):
    settings.PACKSHOT_FIELD_KEYS = [OLD]
    saved_connection(team)
    before = PiktidConnection.objects.values_list("token_encrypted", flat=True).get()
    settings.PACKSHOT_FIELD_KEYS = [NEW]  # the old key was dropped too early
    with pytest.raises(
        CommandError, match=r"Team alpha: token_encrypted cannot be decrypted.*nothing was changed"
    ):
        call_command("rotate_field_keys")
    assert PiktidConnection.objects.values_list("token_encrypted", flat=True).get() == before


def test_a_fresh_checkout_generates_one_private_key_file_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.delenv("PACKSHOT_FIELD_KEYS", raising=False)
    monkeypatch.delenv("PACKSHOT_FIELD_KEYS_FILE", raising=False)
    monkeypatch.setattr(config.settings, "VAR_DIR", tmp_path)
    first = config.settings._field_keys()
    assert len(first) == 1 and Fernet(first[0])
    assert stat.S_IMODE((tmp_path / "field_keys").stat().st_mode) == 0o600
    assert config.settings._field_keys() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["field_keys"]  # no temporary file left behind


def test_keys_come_from_the_environment_or_a_file_newest_first(monkeypatch, tmp_path):
    monkeypatch.setattr(config.settings, "VAR_DIR", tmp_path)
    monkeypatch.setenv("PACKSHOT_FIELD_KEYS", f" {NEW} , {OLD} ")
    assert config.settings._field_keys() == [NEW, OLD]
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{OLD}\n")
    monkeypatch.setenv("PACKSHOT_FIELD_KEYS_FILE", str(keys_file))
    assert config.settings._field_keys() == [OLD]
    assert not (tmp_path / "field_keys").exists()


def test_a_malformed_key_stops_start_up_without_printing_it(monkeypatch, tmp_path):
    monkeypatch.setattr(config.settings, "VAR_DIR", tmp_path)
    monkeypatch.setenv("PACKSHOT_FIELD_KEYS", f"{NEW},not-a-fernet-key")
    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key") as info:
        config.settings._field_keys()
    assert "not-a-fernet-key" not in str(info.value) and NEW not in str(info.value)
