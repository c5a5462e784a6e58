"""Published test vectors: signed Beckn messages, callbacks and Acks with fixed test keys
(and, from :mod:`sandbox.conformance.vectors_credentials`, credentials).

Another implementation checks its byte-level signing against these without running
anything of ours: each vector is one JSON file with the exact body bytes, the
headers, the keys (public key and, being test keys, the private seed), the instant to
verify at, and the expected verdict with its reason (the NACK slug our receiver
gives, docs/protocol.md). Keys are derived deterministically (SHA-256 of a fixed
label), so the vectors are byte-identical at every export.

Our own side of the bargain, :func:`check_vector`, runs the stack's real receiving
pipeline (``protocol.receiving.Receiver``) or Ack judge (``protocol.sending.judge_ack``)
over each vector; the tests hold every verdict and reason to the expected one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from protocol.client import new_context
from protocol.envelope import Context
from protocol.errors import AckRefused
from protocol.receiving import (
    Exchanged,
    Handler,
    Inbound,
    Receiver,
    ReceiverSettings,
    Refused,
    ack_signatures,
)
from protocol.sending import Prepared, judge_ack
from protocol.signing import Binding, blake512, digest_value, sign
from registry.directory.keys import Membership, Refusal, RefusalReason, SigningKey
from sandbox.conformance.vectors_credentials import (
    build_credential_vectors,
    check_credential_vector,
)

CREATED = 1767225600  # 2026-01-01T00:00:00Z
VERIFY_AT = CREATED + 10
NETWORK = "vectors.ies.example/test-network"
TIMESTAMP = "2026-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class TestKey:
    label: str
    subscriber_id: str
    key_id: str
    role: str

    @property
    def private(self) -> ed25519.Ed25519PrivateKey:
        seed = hashlib.sha256(f"ies-conformance-vectors/{self.label}".encode()).digest()
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def to_json(self) -> dict[str, Any]:
        seed = self.private.private_bytes(serialization.Encoding.Raw,
                                          serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption())  # fmt: skip
        return {"label": self.label, "subscriberId": self.subscriber_id, "keyId": self.key_id,
                "role": self.role, "publicKey": base64.b64encode(self.public_raw).decode(),
                "privateKeySeedHex": seed.hex(), "networks": [NETWORK]}  # fmt: skip


BAP = TestKey("bap", "bap.vectors.ies.example", "k1", "BAP")
BPP = TestKey("bpp", "bpp.vectors.ies.example", "k1", "BPP")
OTHER = TestKey("other", "bap.vectors.ies.example", "k1", "BAP")  # not the registered key
UNKNOWN = TestKey("unknown", "bap.vectors.ies.example", "k-unregistered", "BAP")
REGISTERED = (BAP, BPP)


def _document(action: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    context = new_context(action, network_id=NETWORK, bap_id=BAP.subscriber_id,
                          bap_uri="https://bap.vectors.ies.example/beckn",
                          bpp_id=BPP.subscriber_id, bpp_uri="https://bpp.vectors.ies.example/beckn",
                          transaction_id="6f1c2c3e-0000-4000-8000-000000000001",
                          message_id="6f1c2c3e-0000-4000-8000-000000000002",
                          clock=lambda: datetime.fromtimestamp(CREATED, UTC), **extra)  # fmt: skip
    return {"context": context, "message": message}


def _bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


DISCOVER = _document("discover", {"intent": {"textSearch": "solar rooftop meter data"}})
REQUEST_BODY = _bytes(DISCOVER)


def _auth(body: bytes, key: TestKey, *, created: int = CREATED, ttl: int = 30,
          binding: Binding = Binding(), digest: str | None = None) -> str:  # fmt: skip
    return sign(body, key, created, created + ttl, binding, digest=digest)


REQUEST_AUTH = _auth(REQUEST_BODY, BAP)
REQUEST_SIGNATURE = REQUEST_AUTH.rsplit('signature="', 1)[1].rstrip('"')
CATALOG = {"catalogs": [{"id": "c1", "descriptor": {"name": "vectors"},
                         "provider": {"id": BPP.subscriber_id, "descriptor": {"name": "BPP"}},
                         "resources": [{"id": "r1"}]}]}  # fmt: skip


def _vector(vector_id: str, description: str, kind: str, action: str, body: bytes,
            headers: dict[str, str], verdict: str, reason: str | None, *,
            request: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    vector: dict[str, Any] = {
        "id": vector_id,
        "description": description,
        "kind": kind,
        "action": action,
        "receiver": BPP.subscriber_id if not action.startswith("on_") else BAP.subscriber_id,
        "verifyAt": VERIFY_AT,
        "keys": [k.to_json() for k in REGISTERED],
        "body": body.decode(),
        "bodyDigest": digest_value(body),
        "headers": headers,
        "expected": {"verdict": verdict, "reason": reason},
    }
    if kind == "request" and verdict == "valid":
        vector["signingString"] = (f"(created): {CREATED}\n(expires): {CREATED + 30}\n"
                                   f"digest: {digest_value(body)}")  # fmt: skip
    if request is not None:
        vector["request"] = request
    return vector


def build_vectors() -> list[dict[str, Any]]:
    out = []
    valid = {"Authorization": REQUEST_AUTH}

    def request(vector_id: str, description: str, body: bytes, headers: dict[str, str],
                reason: str | None) -> None:  # fmt: skip
        out.append(_vector(vector_id, description, "request", "discover", body, headers,
                           "valid" if reason is None else "invalid", reason))  # fmt: skip

    request("request-valid", "a discover signed by the BAP's registered key", REQUEST_BODY,
            valid, None)  # fmt: skip
    draft = _auth(REQUEST_BODY, BAP, digest=f"BLAKE2b-512={blake512(REQUEST_BODY)}")
    request("request-draft-digest-label", "the NFH-007 draft's BLAKE2b-512= label: accepted",
            REQUEST_BODY, {"Authorization": draft}, None)  # fmt: skip
    request(
        "request-tampered-body",
        "one byte of the body changed after signing",
        REQUEST_BODY.replace(b"solar", b"Solar"),
        valid,
        "beckn-signature-invalid",
    )
    request(
        "request-wrong-key",
        "signed by a key other than the one registered",
        REQUEST_BODY,
        {"Authorization": _auth(REQUEST_BODY, OTHER)},
        "beckn-signature-invalid",
    )
    request("request-expired", "expires is before the verification instant", REQUEST_BODY,
            {"Authorization": _auth(REQUEST_BODY, BAP, created=CREATED - 60, ttl=30)},
            "beckn-signature-expired")  # fmt: skip
    request("request-from-future", "created 60 s after the verification instant (5 s skew)",
            REQUEST_BODY, {"Authorization": _auth(REQUEST_BODY, BAP, created=VERIFY_AT + 60)},
            "beckn-signature-from-future")  # fmt: skip
    request(
        "request-unknown-key",
        "a keyId the directory does not know",
        REQUEST_BODY,
        {"Authorization": _auth(REQUEST_BODY, UNKNOWN)},
        "beckn-key-unknown",
    )
    extra = REQUEST_AUTH.replace('",signature=', '",request-signature="x",signature=')
    request(
        "request-malformed-header",
        "request-signature sent as a header parameter (a known field bug)",
        REQUEST_BODY,
        {"Authorization": extra},
        "beckn-signature-malformed",
    )
    request("request-unsigned", "no Authorization header", REQUEST_BODY, {},
            "beckn-signature-missing")  # fmt: skip
    request(
        "request-wrong-role",
        "a discover signed by a BPP",
        REQUEST_BODY,
        {"Authorization": _auth(REQUEST_BODY, BPP)},
        "beckn-sender-mismatch",
    )
    as_bpp = _bytes(_document("discover", DISCOVER["message"], bapId=BPP.subscriber_id))
    as_bpp = as_bpp.replace(b'"bapId":"bap.vectors', b'"bapId":"bpp.vectors')
    request(
        "request-role-not-allowed",
        "a BPP names itself as the BAP and signs a discover",
        as_bpp,
        {"Authorization": _auth(as_bpp, BPP)},
        "beckn-role-not-allowed",
    )

    answered = {"signature": REQUEST_SIGNATURE, "digest": digest_value(REQUEST_BODY),
                "messageId": DISCOVER["context"]["messageId"], "action": "discover"}  # fmt: skip
    on_discover = _bytes(
        _document("on_discover", CATALOG, requestDigest={"digest": digest_value(REQUEST_BODY)})
    )
    bound = Binding(request_signature=REQUEST_SIGNATURE)

    def callback(vector_id: str, description: str, body: bytes, auth: str,
                 reason: str | None) -> None:  # fmt: skip
        out.append(_vector(vector_id, description, "callback", "on_discover", body,
                           {"Authorization": auth}, "valid" if reason is None else "invalid",
                           reason, request=answered))  # fmt: skip

    callback(
        "callback-valid",
        "on_discover binding the request's signature (four lines) and digest",
        on_discover,
        _auth(on_discover, BPP, binding=bound),
        None,
    )
    callback(
        "callback-three-line",
        "a solicited callback signed with the three-line string",
        on_discover,
        _auth(on_discover, BPP),
        "beckn-signed-headers-wrong",
    )
    wrong = on_discover.replace(digest_value(REQUEST_BODY).encode(),
                                digest_value(b"another request").encode())  # fmt: skip
    callback(
        "callback-request-digest-wrong",
        "requestDigest names another request's bytes",
        wrong,
        _auth(wrong, BPP, binding=bound),
        "beckn-request-digest-mismatch",
    )

    def ack(vector_id: str, description: str, message_id: str, tamper: bool,
            reason: str | None) -> None:  # fmt: skip
        unsigned = {"message": {"status": "ACK", "messageId": message_id}, "status": "ACK"}
        signed = ack_signatures(unsigned, BPP, request_digest=digest_value(REQUEST_BODY),
                                message_id=message_id, request_signature=REQUEST_SIGNATURE,
                                created=CREATED + 1, ttl=300)  # fmt: skip
        body = signed.body.replace(b'"ACK"', b'"NACK"', 1) if tamper else signed.body
        vector = _vector(vector_id, description, "ack", "discover", body,
                         {"Signature": signed.header}, "valid" if reason is None else "invalid",
                         reason, request={**answered, "body": REQUEST_BODY.decode(),
                                          "authorization": REQUEST_AUTH})  # fmt: skip
        vector["receiver"] = BPP.subscriber_id
        out.append(vector)

    message_id = DISCOVER["context"]["messageId"]
    ack(
        "ack-valid",
        "the BPP's Ack: CounterSignature (request digest, messageId) and the ONIX Signature header",
        message_id,
        False,
        None,
    )
    ack(
        "ack-wrong-message-id",
        "a CounterSignature bound to another messageId",
        "6f1c2c3e-0000-4000-8000-00000000ffff",
        False,
        "beckn-ack-refused",
    )
    ack(
        "ack-tampered",
        "the Ack's bytes changed after signing",
        message_id,
        True,
        "beckn-ack-refused",
    )
    return out


def all_vectors() -> list[dict[str, Any]]:
    """Every published vector: the Beckn ones and the credential ones."""
    return build_vectors() + build_credential_vectors()


def write_vectors(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for vector in all_vectors():
        path = directory / f"{vector['id']}.json"
        path.write_text(json.dumps(vector, indent=1, ensure_ascii=False) + "\n")
        written.append(path)
    return written


# ------------------------------------------------------------------ checking a vector


class _Directory:
    """The vector's keys as the directory would serve them."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = {(k["subscriberId"], k["keyId"]): k for k in keys}

    def lookup_signing_key(self, subscriber_id: str, key_id: str,
                           at: datetime | None = None) -> SigningKey | Refusal:  # fmt: skip
        key = self.keys.get((subscriber_id, key_id))
        if key is None:
            return Refusal(RefusalReason.UNKNOWN, f"no key {key_id!r} for {subscriber_id!r}")
        since = datetime(2025, 1, 1, tzinfo=UTC)
        return SigningKey(
            subscriber_id, key_id, base64.b64decode(key["publicKey"]), since,
            datetime(2030, 1, 1, tzinfo=UTC), "SUBSCRIBED", key["role"],
            f"https://{subscriber_id}/beckn", f"did:web:{subscriber_id}",
            memberships=tuple(Membership(n, since, None) for n in key["networks"]),
        )  # fmt: skip


class _Records:
    """What the receiver remembers: nothing received yet; the request a callback answers."""

    def __init__(self, request: dict[str, Any] | None) -> None:
        self.request = request

    def received_digest(self, receiver: str, sender: str, action: str,
                        message_id: str) -> str | None:  # fmt: skip
        return None

    def sent_request(self, sender: str, message_id: str, action: str) -> Exchanged | None:
        r = self.request
        if r is None or r["messageId"] != message_id or r["action"] != action:
            return None
        return Exchanged(message_id, action, BPP.subscriber_id, r["digest"], r["signature"])

    def hand_over(self, message: Inbound, handler: Handler) -> None:
        return None

    def log_refusal(self, entry: Refused) -> None:
        return None


def check_vector(vector: dict[str, Any]) -> tuple[str, str | None]:
    """Our verdict on ``vector``: ("valid", None) or ("invalid", the reason's slug; for a
    credential, the name of the verifier check that refuses it)."""
    if vector["kind"] == "credential":
        return check_credential_vector(vector)
    lookup = _Directory(vector["keys"])
    body = vector["body"].encode()
    at = datetime.fromtimestamp(vector["verifyAt"], UTC)
    if vector["kind"] == "ack":
        request = vector["request"]
        raw = request["body"].encode()
        context = Context.model_validate(json.loads(raw)["context"])
        sent = Prepared(vector["action"], context, raw, digest_value(raw), request["authorization"])
        try:
            verdict = judge_ack(body, vector["headers"].get("Signature"), sent,
                                vector["receiver"], lookup)  # fmt: skip
        except AckRefused as exc:
            return "invalid", exc.slug
        return ("valid", None) if verdict.status == "ACK" else ("invalid", "beckn-ack-refused")
    me = BAP if vector["action"].startswith("on_") else BPP
    settings = ReceiverSettings(
        subscriber_id=me.subscriber_id,
        signer=me,
        networks=frozenset({NETWORK}),
        check_sender_uri=False,
    )
    receiver = Receiver(settings, lookup, _Records(vector.get("request")), lambda m, u: None,
                        clock=lambda: at)  # fmt: skip
    headers = {k.lower(): v for k, v in vector["headers"].items()}
    outcome = receiver.receive(vector["action"], body, headers)
    if outcome.error is not None:
        return "invalid", outcome.error.slug
    return "valid", None
