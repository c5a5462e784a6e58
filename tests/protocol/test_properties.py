"""Hypothesis: the header parser never raises anything but our error, formatting and
parsing round-trip, the signing string is exactly its lines, and any single-byte
change to a signed body fails verification. Plus the pure dataset helpers."""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.datasets import check_download, paginate, read_page_token, sign_download_url
from protocol.errors import (
    DownloadLinkInvalid,
    ExchangeRefused,
    PageTokenInvalid,
    SignatureInvalid,
    SignatureMalformed,
)
from protocol.signing import (
    COUNTER_HEADERS,
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    Binding,
    SignatureParams,
    digest_value,
    format_signature,
    parse_signature,
    sign,
    signing_string,
    verify,
)
from registry.directory.keys import Membership, Refusal, RefusalReason, SigningKey

KEY = ed25519.Ed25519PrivateKey.generate()
NOW = datetime.now(UTC)


class _Signer:
    subscriber_id = "bap.example"
    key_id = "k1"

    def sign(self, message: bytes) -> bytes:
        return KEY.sign(message)


class _Lookup:
    """The directory's answer for one published key (the KeyLookup port)."""

    def lookup_signing_key(self, subscriber_id, key_id, at=None):
        if (subscriber_id, key_id) != ("bap.example", "k1"):
            return Refusal(RefusalReason.UNKNOWN, "no such key")
        return SigningKey(
            subscriber_id,
            key_id,
            KEY.public_key().public_bytes_raw(),
            NOW - timedelta(days=1),
            NOW + timedelta(days=1),
            "SUBSCRIBED",
            "BAP",
            "http://127.0.0.1/beckn",
            "did:web:bap.example",
            memberships=(Membership("a/b", NOW - timedelta(days=1), None),),
        )


token = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\|'),
    min_size=1,
    max_size=40,
)
params = st.builds(
    SignatureParams,
    subscriber_id=token,
    key_id=token,
    created=st.integers(0, 10**12 - 1),
    expires=st.integers(0, 10**12 - 1),
    headers=st.sampled_from([REQUEST_HEADERS, RESPONSE_HEADERS, COUNTER_HEADERS]),
    signature=st.binary(min_size=64, max_size=64).map(lambda b: base64.b64encode(b).decode()),
)


@given(params)
def test_format_then_parse_is_the_identity(value):
    assert parse_signature(format_signature(value)) == value


@given(st.one_of(st.text(max_size=300), st.binary(max_size=50), st.integers(), st.none()))
def test_the_parser_never_raises_anything_but_its_own_error(text):
    with contextlib.suppress(SignatureMalformed):
        parse_signature(text)


@given(params, st.integers(0, 400), st.text(min_size=0, max_size=3))
def test_a_mutated_header_parses_to_the_same_thing_or_is_refused(value, position, insert):
    header = format_signature(value)
    position = min(position, len(header))
    mutated = header[:position] + insert + header[position + 1 :]
    try:
        parsed = parse_signature(mutated)
    except SignatureMalformed:
        return
    # Whatever survives the parser is a well-formed header again.
    assert parse_signature(format_signature(parsed)) == parsed


def test_unknown_repeated_and_missing_parameters_are_refused():
    good = format_signature(
        SignatureParams(
            "a.example", "k1", 1, 2, REQUEST_HEADERS, base64.b64encode(bytes(64)).decode()
        )
    )
    for bad in (
        good + ',request-signature="x"',
        good + ',created="1"',
        good.replace('algorithm="ed25519",', ""),
        good.replace("|ed25519", "|rsa-sha256"),
        good.replace('algorithm="ed25519"', 'algorithm="hs2019"'),
        good.replace('created="1"', 'created="-1"'),
        good.replace("Signature ", "Bearer "),
        good.replace('headers="(created) (expires) digest"', 'headers="(created) host"'),
    ):
        with pytest.raises(SignatureMalformed):
            parse_signature(bad)


@given(
    st.integers(0, 10**12),
    st.integers(0, 10**12),
    st.binary(max_size=200),
    st.sampled_from(
        [
            Binding(),
            Binding(request_signature="c2ln"),
            Binding(request_digest="BLAKE-512=AA==", message_id="m-1"),
        ]
    ),
)
def test_the_signing_string_is_exactly_its_lines(created, expires, body, binding):
    headers = (
        COUNTER_HEADERS
        if binding.message_id
        else RESPONSE_HEADERS
        if binding.request_signature
        else REQUEST_HEADERS
    )
    lines = (
        signing_string(headers, created, expires, digest_value(body), binding).decode().split("\n")
    )
    assert lines[:3] == [
        f"(created): {created}",
        f"(expires): {expires}",
        f"digest: {digest_value(body)}",
    ]
    if binding.request_signature:
        assert lines[3:] == [f"request-signature: {binding.request_signature}"]
    if binding.message_id:
        assert lines[3:] == [
            f"(request-digest): {binding.request_digest}",
            f"(message-id): {binding.message_id}",
        ]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=300), st.data())
def test_sign_then_verify_and_any_single_byte_change_fails(body, data):
    created = int(NOW.timestamp())
    header = sign(body, _Signer(), created, created + 30)
    assert verify(header, body, _Lookup()).params.subscriber_id == "bap.example"
    index = data.draw(st.integers(0, len(body) - 1))
    delta = data.draw(st.integers(1, 255))
    changed = body[:index] + bytes([(body[index] + delta) % 256]) + body[index + 1 :]
    with pytest.raises(SignatureInvalid):
        verify(header, changed, _Lookup())


def test_a_counter_signature_binds_request_digest_and_message_id():
    created = int(NOW.timestamp())
    binding = Binding(request_digest=digest_value(b"request"), message_id="m-1")
    header = sign(b"{}", _Signer(), created, created + 300, binding)
    assert verify(header, b"{}", _Lookup(), expect=COUNTER_HEADERS, binding=binding)
    for other in (
        Binding(request_digest=digest_value(b"other"), message_id="m-1"),
        Binding(request_digest=binding.request_digest, message_id="m-2"),
    ):
        with pytest.raises(ExchangeRefused):
            verify(header, b"{}", _Lookup(), expect=COUNTER_HEADERS, binding=other)


# ------------------------------------------------------------------ datasets


@given(st.integers(0, 300), st.integers(1, 50))
def test_pages_cover_every_record_once_in_order(count, size):
    records = list(range(count))
    secret = b"provider secret"
    seen: list[int] = []
    token = None
    while True:
        page = paginate(
            records, secret=secret, transaction_id="t", dataset="d", max_records=size, token=token
        )
        seen.extend(page.items)
        assert len(page.items) <= size
        token = page.next_token
        if token is None:
            break
    assert seen == records


def test_a_page_token_cannot_be_altered_or_moved():
    page = paginate(list(range(10)), secret=b"s", transaction_id="t", dataset="d", max_records=3)
    assert page.next_token is not None
    assert read_page_token(b"s", page.next_token, "t", "d") == (3, 3)
    _claims, mac = page.next_token.split(".")
    forged = base64.urlsafe_b64encode(b'{"t":"t","d":"d","o":0,"s":1000}').decode().rstrip("=")
    for bad, transaction in (
        (f"{forged}.{mac}", "t"),
        (page.next_token, "other"),
        ("garbage", "t"),
    ):
        with pytest.raises(PageTokenInvalid):
            read_page_token(b"s", bad, transaction, "d")


def test_download_links_expire_and_cannot_be_altered():
    url = sign_download_url("https://bpp.example/exports/meter-2026.json", b"k", expires=1000)
    path, query = url.split("/exports")[1], url.split("?")[1]
    check_download("/exports" + path.split("?")[0], query, b"k", now=999)
    with pytest.raises(DownloadLinkInvalid):
        check_download("/exports/meter-2026.json", query, b"k", now=1000)
    with pytest.raises(DownloadLinkInvalid):
        check_download("/exports/meter-2027.json", query, b"k", now=10)
    with pytest.raises(DownloadLinkInvalid):
        check_download("/exports/meter-2026.json", query.replace("1000", "9999"), b"k", now=10)
