"""Identity, exchange and refusal items: the Beckn side of the checklist.

Clauses cite the IES pilot's conformance checklist as numbered in ../shared/INTEROP.md
("IES n"), the Beckn v2.0.0 signature profile ("Beckn v2 Signature") and the
receiver pipeline the project documents (docs/protocol.md).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from protocol.signing import digest_value
from sandbox.conformance.identity import KitKey
from sandbox.conformance.model import (
    BECKN_RECEIVERS,
    EVERY_ROLE,
    Evidence,
    Failed,
    Item,
    Result,
    Skipped,
    Unjudgeable,
    clip,
    ok,
)
from sandbox.conformance.receiver import Arrival
from sandbox.conformance.session import Sent, Session, new_id, require_ack

QUIET_SECONDS = 0.5  # how long a refused message is watched for a callback it must not cause

# ------------------------------------------------------------------ identity


def _did_url(session: Session) -> tuple[str, dict[str, str]]:
    """Where ``did:web:{host}`` resolves: https://{host}/.well-known/did.json, or the
    sandbox's host map (with the Host header the participant serves it by)."""
    host = session.target.subscriber_id.split(":")[-1] if session.target.subscriber_id.startswith(
        "did:web:") else session.target.subscriber_id  # fmt: skip
    base = session.target.hosts.get(host)
    if base is None:
        return f"https://{host}/.well-known/did.json", {}
    return f"{base}/.well-known/did.json", {"Host": host}


def did_document(session: Session) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        url, headers = _did_url(session)
        response = session.get(url, headers=headers, follow_redirects=False)
        evidence = [Evidence("GET did.json", f"GET {url}", f"HTTP {response.status_code}\n"
                             f"{clip(response.text, 1500)}")]  # fmt: skip
        if response.status_code != 200:
            raise Failed(f"{url} answered HTTP {response.status_code} (no redirect allowed)",
                         evidence)  # fmt: skip
        document = session.json_of(response, url)
        if not isinstance(document, dict):
            raise Failed("the DID document is not a JSON object", evidence)
        return {"document": document, "evidence": evidence}

    value: dict[str, Any] = session.once("did-document", fetch)
    return value


def check_did_resolves(session: Session) -> Result:
    found = did_document(session)
    document, evidence = found["document"], found["evidence"]
    host = session.target.subscriber_id
    expected = host if host.startswith("did:web:") else f"did:web:{host}"
    if document.get("id") != expected:
        raise Failed(f"the document's id is {document.get('id')!r}, not {expected}", evidence)
    if not document.get("verificationMethod"):
        raise Failed("the DID document declares no verification method", evidence)
    return ok(f"{expected} resolves and declares "
              f"{len(document['verificationMethod'])} key(s)", *evidence)  # fmt: skip


def _b58decode(text: str) -> bytes:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number = 0
    for char in text:
        number = number * 58 + alphabet.index(char)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def _jwk_key(jwk: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(jwk.get(k, "")) for k in ("kty", "crv", "x", "y"))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _method_key(method: dict[str, Any]) -> tuple[str, ...] | None:
    """A verification method's key, as a comparable JWK tuple."""
    if isinstance(method.get("publicKeyJwk"), dict):
        return _jwk_key(method["publicKeyJwk"])
    multibase = method.get("publicKeyMultibase")
    if isinstance(multibase, str) and multibase.startswith("z"):
        try:
            raw = _b58decode(multibase[1:])
        except ValueError:
            return None
        if raw[:2] == b"\xed\x01" and len(raw) == 34:
            return ("OKP", "Ed25519", _b64url(raw[2:]), "")
    return None


def check_did_keys_match(session: Session) -> Result:
    found = did_document(session)
    document, evidence = found["document"], list(found["evidence"])
    record = session.subscriber_record()
    evidence.append(Evidence("subscriber record", "", clip(json.dumps(record["details"]), 1500)))
    declared = {_method_key(m) for m in document.get("verificationMethod", [])} - {None}
    signing = base64.b64decode(record["details"]["signing_public_key"])
    beckn_key = ("OKP", "Ed25519", _b64url(signing), "")
    if beckn_key in declared:
        return ok("the DID document declares the subscriber record's Ed25519 key", *evidence)
    # An issuer's did.json names its credential keys (assertion methods); those must
    # then be exactly the keys its namespace publishes in the directory.
    published = _key_registry(session)
    if published and declared and declared <= published:
        return ok(f"an issuer's document: its {len(declared)} key(s) are the ones its "
                  "namespace's key registry publishes", *evidence)  # fmt: skip
    raise Failed("the DID document declares neither the subscriber record's signing key "
                 "nor only keys its namespace publishes", evidence)  # fmt: skip


def _key_registry(session: Session) -> set[tuple[str, ...]]:
    response = session.directory.get(f"/dedi/query/{session.target.subscriber_id}/key")
    if response.status_code != 200:
        return set()
    records = session.json_of(response, "key registry").get("data", {}).get("records", [])
    return {
        _jwk_key(r["details"]["public_key_jwk"])
        for r in records
        if r.get("state") == "live" and isinstance(r.get("details", {}).get("public_key_jwk"), dict)
    }


def check_namespace(session: Session) -> Result:
    path = f"/dedi/namespaces/{session.target.subscriber_id}"
    try:
        response = session.directory.get(path)
    except Exception as exc:
        raise Unjudgeable(f"the directory is unreachable: {exc}") from None
    evidence = [Evidence("namespace", f"GET {path}", clip(response.text, 1000))]
    if response.status_code != 200:
        raise Failed(f"the directory has no namespace {session.target.subscriber_id}", evidence)
    body = session.json_of(response, path)
    if body.get("status") != "verified":
        raise Failed(f"the namespace is {body.get('status')!r}, not verified", evidence)
    return ok(f"namespace verified by {body.get('proof_method')} proof at "
              f"{body.get('verified_at')}", *evidence)  # fmt: skip


def check_subscriber_record(session: Session) -> Result:
    record = session.subscriber_record()
    details = record["details"]
    evidence = [Evidence("subscriber record", "", clip(json.dumps(details), 1500))]
    raw = base64.b64decode(details.get("signing_public_key", ""))
    problems = []
    if len(raw) != 32:
        problems.append("signing_public_key is not a raw 32-byte Ed25519 key")
    else:
        ed25519.Ed25519PublicKey.from_public_bytes(raw)
    if not details.get("url"):
        problems.append("no callback URL")
    role = details.get("type")
    expected = {"bap": "BAP", "bpp": "BPP", "gateway": "BG"}.get(session.target.role)
    if expected is not None and role != expected:
        problems.append(f"type is {role}, a {session.target.role} registers {expected}")
    if problems:
        raise Failed("; ".join(problems), evidence)
    return ok(f"{details['subscriber_id']}|{details['key_id']}: {role} at {details['url']}",
              *evidence)  # fmt: skip


def check_membership(session: Session) -> Result:
    record = session.subscriber_record()
    networks = record.get("network_memberships", [])
    evidence = [Evidence("network memberships", "", json.dumps(networks))]
    if session.target.network not in networks:
        raise Failed(f"not referenced into {session.target.network} by the network operator",
                     evidence)  # fmt: skip
    return ok(f"referenced into {', '.join(networks)}", *evidence)


# ------------------------------------------------------------------ exchange

MARK, TAMPERED = b"conformance-probe", b"conformance-probf"
DISCOVER = {"intent": {"textSearch": MARK.decode()}}


def _status_message(contract_id: str) -> dict[str, Any]:
    return {"contract": {"id": contract_id, "commitments": [{
        "status": {"descriptor": {"code": "DRAFT"}},
        "resources": [{"id": "conformance-resource"}],
        "offer": {"id": "conformance-offer", "resourceIds": ["conformance-resource"]},
    }]}}  # fmt: skip


def _catalog(key: KitKey) -> dict[str, Any]:
    return {"catalogs": [{
        "id": "conformance-catalog", "descriptor": {"name": MARK.decode()},
        "provider": {"id": key.subscriber_id, "descriptor": {"name": "IES conformance kit"}},
        "resources": [{"id": "conformance-resource"}],
    }]}  # fmt: skip


def _requester(session: Session) -> bool:
    """A BPP or gateway under test takes requests; a BAP under test takes callbacks."""
    return session.target.role != "bap"


def _legit(session: Session) -> tuple[str, KitKey, dict[str, Any]]:
    if _requester(session):
        return "discover", session.kit.bap, DISCOVER
    return "on_discover", session.kit.bpp, _catalog(session.kit.bpp)


def _exchange(session: Session, name: str, action: str, message: dict[str, Any],
              wait: float) -> tuple[Sent, list[Arrival]]:  # fmt: skip
    def run() -> tuple[Sent, list[Arrival]]:
        transaction = new_id()
        key = session.kit.bap if _requester(session) else session.kit.bpp
        sent = session.send(action, key, message, transaction_id=transaction)
        callbacks: list[Arrival] = []
        if _requester(session) and sent.ack is not None and sent.ack.status == "ACK":
            callbacks = session.receiver.wait_for(
                lambda a: a.context.get("transactionId") == transaction, wait
            )
        return sent, callbacks

    value: tuple[Sent, list[Arrival]] = session.once(name, run)
    return value


def discover(session: Session) -> tuple[Sent, list[Arrival]]:
    action, _, message = _legit(session)
    return _exchange(session, "discover", action, message, session.callback_wait)


def status(session: Session) -> tuple[Sent, list[Arrival]]:
    """``status`` of a contract the target never saw: a BPP may NACK or not answer it;
    an ``on_status`` that does come must still be signed, paired and valid."""
    return _exchange(session, "status", "status", _status_message(new_id()),
                     min(1.0, session.callback_wait))  # fmt: skip


def check_ack_signed(session: Session) -> Result:
    sent, _ = discover(session)
    require_ack(sent, sent.prepared.action)
    assert sent.ack is not None
    evidence = sent.evidence(f"{sent.prepared.action} and its Ack")
    if not sent.ack.counter_verified:
        raise Failed("the Ack carries no CounterSignature the kit could verify", [evidence])
    header = "and the ONIX Signature header " if sent.ack.header_verified else ""
    return ok(
        f"ACK; its CounterSignature {header}verify against {session.target.subscriber_id}'s "
        "directory key, bound to the request's digest and messageId",
        evidence,
    )


def _callbacks(session: Session) -> list[tuple[Sent, Arrival]]:
    sent, arrivals = discover(session)
    require_ack(sent, sent.prepared.action)
    if not arrivals:
        raise Failed(f"no on_{sent.prepared.action} reached the kit within "
                     f"{session.callback_wait:.0f} s", [sent.evidence("request")])  # fmt: skip
    pairs = [(sent, a) for a in arrivals]
    if session.target.role == "bpp":  # a gateway routes discover only
        extra_sent, extra = status(session)
        pairs += [(extra_sent, a) for a in extra]
    return pairs


def _arrival_evidence(arrival: Arrival) -> Evidence:
    headers = "\n".join(f"{k}: {v}" for k, v in arrival.headers.items()
                        if k in ("authorization", "content-type"))  # fmt: skip
    verdict = "accepted" if arrival.accepted else f"refused at {arrival.step}: {arrival.detail}"
    return Evidence(f"{arrival.action} from the target", f"{headers}\n\n{clip(arrival.body, 2500)}",
                    verdict, digest_value(arrival.body))  # fmt: skip


SIGNATURE_STEPS = ("parse", "validateSign", "checkFreshness", "checkReplay")


def check_callback_signature(session: Session) -> Result:
    pairs = _callbacks(session)
    bad = [a for _, a in pairs if a.step in SIGNATURE_STEPS]
    evidence = [_arrival_evidence(a) for _, a in pairs]
    if bad:
        raise Failed(f"{bad[0].action} refused at {bad[0].step}: {bad[0].detail}", evidence)
    return ok(
        f"{len(pairs)} callback(s): signature over the exact bytes (four-line, binding "
        "the kit's request signature), fresh, the signer's directory key",
        *evidence,
    )


def check_callback_pairing(session: Session) -> Result:
    pairs = _callbacks(session)
    evidence = [_arrival_evidence(a) for _, a in pairs]
    for sent, arrival in pairs:
        context, asked = arrival.context, sent.prepared.context
        if arrival.action != f"on_{sent.prepared.action}":
            raise Failed(f"{arrival.action} answers a {sent.prepared.action}", evidence)
        if context.get("messageId") != asked.message_id:
            raise Failed(f"{arrival.action} has messageId {context.get('messageId')}, the request "
                         f"{asked.message_id}", evidence)  # fmt: skip
        bound = (context.get("requestDigest") or {}).get("digest")
        if bound != sent.prepared.digest:
            raise Failed(f"{arrival.action}'s requestDigest {bound!r} is not the request's "
                         f"{sent.prepared.digest}", evidence)  # fmt: skip
        if arrival.step == "checkRequestDigest":
            raise Failed(f"{arrival.action}: {arrival.detail}", evidence)
    return ok(
        f"{len(pairs)} callback(s): same transactionId and messageId, requestDigest = "
        "BLAKE-512 of the request's bytes",
        *evidence,
    )


def check_callback_schema(session: Session) -> Result:
    pairs = _callbacks(session)
    evidence = [_arrival_evidence(a) for _, a in pairs]
    bad = [a for _, a in pairs if a.step == "validateSchema"]
    if bad:
        raise Failed(f"{bad[0].action} is not valid: {bad[0].detail}", evidence)
    names = sorted({a.action for _, a in pairs})
    return ok(
        f"{', '.join(names)} valid against the Beckn v2.0.0 envelope and message and "
        "the IES payload schemas",
        *evidence,
    )


# ------------------------------------------------------------------ refusals


def _nack(sent: Sent, label: str, expected: type[Any]) -> Evidence:
    """The bad message must get a NACK of ``expected``'s kind (its errorCode, or at least
    its HTTP status for an implementation with codes of its own), signed."""
    evidence = sent.evidence(label)
    if sent.failure is not None:
        raise Unjudgeable(sent.failure, [evidence])
    if sent.ack is None:
        raise Failed(f"{label}: HTTP {sent.status}, and the answer is not a signed Ack/NACK the "
                     f"kit can verify ({sent.ack_problem})", [evidence])  # fmt: skip
    if sent.ack.status == "ACK":
        raise Failed(f"{label} was ACKed; expected NACK {expected.beckn_code} "
                     f"({expected.slug})", [evidence])  # fmt: skip
    if sent.ack.error_code != expected.beckn_code and sent.status != expected.status:
        raise Failed(f"{label}: NACK {sent.ack.error_code} (HTTP {sent.status}); expected "
                     f"{expected.beckn_code} ({expected.slug}, HTTP {expected.status})",
                     [evidence])  # fmt: skip
    return evidence


def _no_effect(session: Session, message_id: str, label: str, evidence: list[Evidence],
               allowed: int = 0) -> None:  # fmt: skip
    """Nothing came of the bad message, and a legitimate one reusing its messageId is
    taken as if the bad one never came."""
    if _requester(session):
        came = session.callbacks(message_id, wait=QUIET_SECONDS, count=allowed + 1)
        if len(came) > allowed:
            raise Failed(f"{label}: the target answered it anyway ({came[-1].action})",
                         [*evidence, _arrival_evidence(came[-1])])  # fmt: skip
    if allowed:
        return
    action, key, message = _legit(session)
    follow = session.send(action, key, message, message_id=message_id, transaction_id=new_id())
    evidence.append(follow.evidence("the legitimate message that follows, same messageId"))
    if follow.ack is None or follow.ack.status != "ACK":
        code = follow.ack.error_code if follow.ack else follow.failure or follow.ack_problem
        raise Failed(f"{label}: the legitimate message that followed (same messageId) was not "
                     f"ACKed ({code}): the bad one left state behind", evidence)  # fmt: skip


def _refusal(expected: type[Any], make: Callable[[Session], tuple[Sent, str]]) -> Callable[
        [Session], Result]:  # fmt: skip
    def check(session: Session) -> Result:
        sent, label = make(session)
        evidence = [_nack(sent, label, expected)]
        assert sent.ack is not None
        _no_effect(session, sent.prepared.context.message_id, label, evidence)
        return ok(f"NACK {sent.ack.error_code} at {sent.ack.step or 'its check'}: "
                  f"{sent.ack.error_message}; no effect", *evidence)  # fmt: skip

    return check


def _bad(session: Session, key: KitKey, *, created: int | None = None,
         ttl: int = 30) -> Sent:  # fmt: skip
    action, _, message = _legit(session)
    document = session.document(action, key, message)
    return session.post(session.sign(document, key, created=created, ttl=ttl), key)


def _tampered(session: Session) -> tuple[Sent, str]:
    action, key, message = _legit(session)
    prepared = session.sign(session.document(action, key, message), key)
    body = prepared.body.replace(MARK, TAMPERED, 1)
    return session.post(prepared, key, body=body), f"{action} altered after signing"


def _expired(session: Session) -> tuple[Sent, str]:
    _, key, _ = _legit(session)
    sent = _bad(session, key, created=int(time.time()) - 120, ttl=60)
    return sent, "a signature expired 60 s ago"


def _unknown(session: Session) -> tuple[Sent, str]:
    _, key, _ = _legit(session)
    unknown = session.kit.unknown
    stranger = KitKey(key.subscriber_id, unknown.key_id, key.role, unknown.private)
    return _bad(session, stranger), f"signed with {stranger.key_id}, never registered"


def _revoked(session: Session) -> tuple[Sent, str]:
    key = session.kit.revoked
    if not _requester(session):
        raise Skipped("the kit's revoked key is a BAP key; checked for BPP and gateway targets")
    return _bad(session, key), f"signed with {key.key_id}, revoked in the directory"


def _wrong_role(session: Session) -> tuple[Sent, str]:
    key = session.kit.bpp if _requester(session) else session.kit.bap
    return _bad(session, key), f"sent by a {key.role}, which may not send it"


def _non_member(session: Session) -> tuple[Sent, str]:
    key = session.kit.outsider if _requester(session) else session.kit.outsider_bpp
    return _bad(session, key), f"from {key.subscriber_id}, a member of no network"


def check_replay(session: Session) -> Result:
    action, key, message = _legit(session)
    prepared = session.sign(session.document(action, key, message), key)
    first = session.post(prepared, key)
    require_ack(first, f"the first {action}")
    answered = 0
    if _requester(session):  # let the first one's answers settle (a gateway fans out)
        session.callbacks(prepared.context.message_id)
        answered = len(session.callbacks(prepared.context.message_id, wait=QUIET_SECONDS,
                                         count=10**6))  # fmt: skip
    again = session.post(prepared, key, log=False)
    evidence = [first.evidence(f"the first {action}"),
                _nack(again, f"the same {action} again", MessageDuplicate)]  # fmt: skip
    _no_effect(
        session, prepared.context.message_id, "the replay", evidence, allowed=max(answered, 1)
    )
    assert again.ack is not None
    return ok(
        f"the replay got NACK {again.ack.error_code}; no answer beyond the first "
        f"message's {answered}",
        *evidence,
    )


from protocol.errors import (  # noqa: E402 - the refusals' expected kinds, near their use
    KeyRevoked,
    KeyUnknown,
    MessageDuplicate,
    NotNetworkMember,
    RoleNotAllowed,
    SignatureExpired,
    SignatureInvalid,
)

# ------------------------------------------------------------------ directory


def check_directory_lookup(session: Session) -> Result:
    """The directory serves a record as written, under both ONIX's and the IES names."""
    key = session.kit.bap
    path = f"/dedi/lookup/{key.subscriber_id}/subscribers.beckn.one/{key.key_id}"
    response = session.get(f"{session.target.url.rstrip('/')}{path}")
    evidence = [
        Evidence("lookup of the kit's own record", f"GET {path}", clip(response.text, 2000))
    ]
    if response.status_code == 404:
        raise Skipped("the kit's own record is not registered here (outside network: register "
                      "the printed records first)", evidence)  # fmt: skip
    if response.status_code != 200:
        raise Failed(f"lookup answered HTTP {response.status_code}", evidence)
    data = session.json_of(response, path).get("data", {})
    details = data.get("details", {})
    missing = [n for n in ("url", "type", "subscriber_id", "signing_public_key",
                           "subscriber_url") if n not in details]  # fmt: skip
    if missing:
        raise Failed(f"details lack {', '.join(missing)}", evidence)
    if details["signing_public_key"] != key.public_b64:
        raise Failed("the record's key is not the one the kit registered", evidence)
    if "network_memberships" not in data:
        raise Failed("data.network_memberships is missing", evidence)
    return ok(
        "ONIX's data.details.{url,type,subscriber_id,signing_public_key} and the IES "
        "names served; the key is the one written",
        *evidence,
    )


ITEMS: tuple[Item, ...] = (
    Item("identity.did-web", EVERY_ROLE, "did:web resolves from outside, no redirect",
         "IES 1", check_did_resolves),
    Item("identity.namespace", EVERY_ROLE, "the directory namespace is verified",
         "IES 2", check_namespace),
    Item("identity.subscriber-record", EVERY_ROLE,
         "a subscriber record with the Ed25519 key, callback URL and role", "IES 3",
         check_subscriber_record),
    Item("identity.did-keys", EVERY_ROLE,
         "the DID document's keys match the directory's records", "IES 1, IES 3",
         check_did_keys_match),
    Item("identity.membership", EVERY_ROLE,
         "the network operator references it into the network", "IES 4", check_membership),
    Item("exchange.ack-signed", BECKN_RECEIVERS,
         "a signed request gets an ACK with a valid CounterSignature",
         "IES 5, IES 10; Beckn v2 CounterSignature", check_ack_signed),
    Item("exchange.callback-signature", ("bpp", "gateway"),
         "its callbacks are signed, fresh and bind the request's signature",
         "IES 10; Beckn v2 Signature (ONIX request-signature line)", check_callback_signature),
    Item("exchange.callback-pairing", ("bpp", "gateway"),
         "its callbacks pair with the request: messageId, transactionId, requestDigest",
         "IES 5; Beckn v2 context.requestDigest", check_callback_pairing),
    Item("exchange.callback-schema", ("bpp", "gateway"),
         "its callbacks validate against the Beckn v2 and IES schemas", "IES 6, IES 8",
         check_callback_schema),
    Item("refusal.tampered", BECKN_RECEIVERS, "a body altered after signing is refused",
         "IES 10; Beckn v2 Signature (digest of the exact bytes)",
         _refusal(SignatureInvalid, _tampered)),
    Item("refusal.replayed", BECKN_RECEIVERS, "a replayed message is refused, answered once",
         "IES 10; docs/protocol.md checkReplay", check_replay),
    Item("refusal.expired", BECKN_RECEIVERS, "an expired signature is refused",
         "IES 10; INTEROP: no skew on expires", _refusal(SignatureExpired, _expired)),
    Item("refusal.unknown-key", BECKN_RECEIVERS, "a key the directory does not know is refused",
         "IES 3, IES 10", _refusal(KeyUnknown, _unknown)),
    Item("refusal.revoked-key", ("bpp", "gateway"), "a revoked key is refused",
         "IES 3, IES 10", _refusal(KeyRevoked, _revoked)),
    Item("refusal.wrong-role", BECKN_RECEIVERS, "a sender in the wrong role is refused",
         "IES 3; Beckn v2: requests from BAPs, callbacks from BPPs",
         _refusal(RoleNotAllowed, _wrong_role)),
    Item("refusal.non-member", BECKN_RECEIVERS, "a sender outside the network is refused",
         "IES 4; INTEROP: networkId among the sender's memberships",
         _refusal(NotNetworkMember, _non_member)),
    Item("directory.lookup", ("directory",),
         "a DeDi lookup serves the record as written, ONIX and IES names",
         "IES 2, IES 3; INTEROP Directory (DeDi)", check_directory_lookup),
)  # fmt: skip
