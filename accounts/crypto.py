"""Secrets at rest: PiktID tokens and webhook secrets are stored as Fernet ciphertext.

The keys come from settings.PACKSHOT_FIELD_KEYS (newest first), never from SECRET_KEY. MultiFernet encrypts
with the first key and decrypts with any of them, so a new key can be put in front while old rows stay
readable; `manage.py rotate_field_keys` then re-encrypts every stored secret with the newest key.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class FieldKeyError(Exception):
    """A stored secret cannot be decrypted with any configured key (a key was removed too early)."""


@cache
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    # Keyed by the key list itself, so override_settings and a changed environment both take effect.
    return _multifernet(tuple(settings.PACKSHOT_FIELD_KEYS))


def encrypt(plaintext: str) -> str:
    """Ciphertext (url-safe text) of `plaintext` under the newest key; "" stays "" (nothing stored)."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """The plaintext of a stored secret; raises FieldKeyError when no configured key opens it."""
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise FieldKeyError(
            "A stored secret cannot be decrypted with PACKSHOT_FIELD_KEYS (was its key removed?)"
        ) from None


def rotate(ciphertext: str) -> str:
    """The same secret re-encrypted under the newest key; raises FieldKeyError like decrypt()."""
    if not ciphertext:
        return ""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise FieldKeyError(
            "A stored secret cannot be decrypted with PACKSHOT_FIELD_KEYS (was its key removed?)"
        ) from None
