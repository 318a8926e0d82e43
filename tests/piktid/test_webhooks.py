import json

import pytest

from packshots.engines.piktid.errors import SignatureError
from packshots.engines.piktid.webhooks import parse_event, sign, verify

pytestmark = pytest.mark.pure

# GitHub's published vector (docs.github.com, "Validating webhook deliveries"); PiktID uses the same scheme.
SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_sign_matches_githubs_known_answer():
    assert sign(SECRET, BODY) == SIGNATURE


def test_verify_accepts_githubs_known_answer():
    verify(BODY, SIGNATURE, [SECRET])


@pytest.mark.parametrize("position", [0, 6, len(BODY) - 1])
def test_one_changed_body_byte_is_rejected(position):
    body = bytearray(BODY)
    body[position] ^= 0x01
    with pytest.raises(SignatureError):
        verify(bytes(body), SIGNATURE, [SECRET])


def test_one_changed_secret_character_is_rejected():
    with pytest.raises(SignatureError):
        verify(BODY, SIGNATURE, ["It's a Secret to Everybodz"])


@pytest.mark.parametrize("position", [len("sha256="), 30, len(SIGNATURE) - 1])
def test_one_changed_signature_digit_is_rejected(position):
    digit = "0" if SIGNATURE[position] != "0" else "1"
    with pytest.raises(SignatureError):
        verify(BODY, SIGNATURE[:position] + digit + SIGNATURE[position + 1 :], [SECRET])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha1=" + "0" * 40,
        "sha1=" + SIGNATURE[len("sha256=") :],
        "sha256=" + "z" * 64,
        SIGNATURE.upper().replace("SHA256=", "sha256="),
        SIGNATURE[:-1],
        SIGNATURE + "0",
        " " + SIGNATURE,
        SIGNATURE + " ",
        SIGNATURE + "\n",
        SIGNATURE + "," + SIGNATURE,
        SIGNATURE + " " + SIGNATURE,
        "sha256 =" + SIGNATURE[len("sha256=") :],
        SIGNATURE[len("sha256=") :],
    ],
)
def test_malformed_headers_raise_signature_error(header):
    with pytest.raises(SignatureError):
        verify(BODY, header, [SECRET])


def test_previous_secret_is_accepted_during_rotation():
    verify(BODY, SIGNATURE, ["the-new-secret", SECRET])


def test_no_secret_at_all_is_rejected():
    with pytest.raises(SignatureError):
        verify(BODY, SIGNATURE, ["", ""])


def test_reserialised_json_fails_verification():
    body = b'{"id": 1, "name": "batch_edit", "data": {}, "timestamp": 1.0}'
    header = sign("s3cret", body)
    same_json_other_spacing = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(SignatureError):
        verify(same_json_other_spacing, header, ["s3cret"])


def test_parse_event_reads_the_event_shape():
    body = json.dumps(
        {"id": 7, "name": "batch_edit", "data": {"id_task": "job_1", "status": "completed"}, "timestamp": 17}
    ).encode()
    event = parse_event(body)
    assert (event.id, event.name, event.timestamp) == (7, "batch_edit", 17.0)
    assert event.data == {"id_task": "job_1", "status": "completed"}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"name": "batch_edit", "data": {}}',
        b'{"id": "7", "name": "batch_edit", "data": {}}',
        b'{"id": true, "name": "batch_edit", "data": {}}',
        b'{"id": 7, "data": {}}',
        b'{"id": 7, "name": "batch_edit", "data": []}',
        b'{"id": 7, "name": "batch_edit", "data": {}, "timestamp": "yesterday"}',
        # Valid JSON to Python, not storable in a JSON column (PostgreSQL's jsonb refuses them):
        b'{"id": 7, "name": "batch_edit", "data": {}, "timestamp": NaN}',
        b'{"id": 7, "name": "batch_edit", "data": {}, "timestamp": 1e999}',
        b'{"id": 7, "name": "batch_edit", "data": {}, "timestamp": 1' + b"0" * 400 + b"}",
        b'{"id": 7, "name": "batch_edit", "data": {"scores": [1, -Infinity]}}',
        b'{"id": 7, "name": "batch\\u0000edit", "data": {}}',
        b'{"id": 7, "name": "batch_edit", "data": {"nested": {"k\\u0000": "v"}}}',
        b'{"id": 7, "name": "batch_edit", "data": {"x": "\\ud800"}}',
        b'{"id": 7, "name": "batch_edit", "data": {"\\udfff": 1}}',
        b'{"id": 7, "name": "batch_edit", "data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ],
)
def test_parse_event_rejects_malformed_bodies(body):
    with pytest.raises(ValueError, match="webhook"):
        parse_event(body)
