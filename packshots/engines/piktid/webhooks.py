"""PiktID webhook signatures: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>`
(GitHub's scheme).

Pure functions over the raw bytes: verify before parsing, compare in constant time, try every active secret
(current and previous during a rotation).
"""

import hashlib
import hmac
import re
from collections.abc import Sequence

from packshots.engines.piktid.client import Notification, json_loads_storable
from packshots.engines.piktid.errors import SignatureError

SIGNATURE_HEADER = "X-Webhook-Signature"
_HEADER_RE = re.compile(r"sha256=[0-9a-f]{64}")


def sign(secret: str, body: bytes) -> str:
    """The header value PiktID sends for `body`: "sha256=<hex>"."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secrets: Sequence[str]) -> None:
    """Raise SignatureError unless `header` is exactly "sha256=<64 lowercase hex>" matching a secret."""
    # fullmatch, not match with "$": "$" would accept a trailing newline.
    if not isinstance(header, str) or not _HEADER_RE.fullmatch(header):
        raise SignatureError("malformed or missing signature header")
    usable = [secret for secret in secrets if secret]
    if not usable:
        raise SignatureError("no webhook secret to verify against")
    matched = False
    for secret in usable:
        # Every secret is compared (no early exit) so timing says nothing about which one matched.
        matched |= hmac.compare_digest(sign(secret, body).encode(), header.encode())
    if not matched:
        raise SignatureError("signature does not match")


def parse_event(body: bytes) -> Notification:
    """Parse a verified delivery {id, name, data, timestamp}; ValueError when the shape is wrong."""
    try:
        event = json_loads_storable(body)
    except ValueError as exc:  # not JSON, not UTF-8, or nothing a JSON column can store (NaN, NUL)
        raise ValueError(f"webhook body is not storable JSON: {exc}") from None
    if not isinstance(event, dict):
        raise ValueError("webhook body is not a JSON object")
    event_id, name = event.get("id"), event.get("name")
    data, timestamp = event.get("data", {}), event.get("timestamp")
    if isinstance(event_id, bool) or not isinstance(event_id, int):
        raise ValueError("webhook event has no integer id")
    if not isinstance(name, str) or not name:
        raise ValueError("webhook event has no name")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError("webhook event data is not an object")
    if timestamp is not None:
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
            raise ValueError("webhook event timestamp is not a number")
        try:
            timestamp = float(timestamp)
        except OverflowError:
            raise ValueError("webhook event timestamp is out of range") from None
    return Notification(id=event_id, name=name, data=data, timestamp=timestamp)
