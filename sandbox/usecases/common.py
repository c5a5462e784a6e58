"""Checks and actors several use cases share: did:web resolution, the subscriber record
in the network registry, a consumer's wallet, a presentation to a verifier, and the
bank's Beckn desk (send a message, wait for the answers)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from credentials.did import DidResolver, did_key_for, parse_multibase_key
from credentials.keys import EncryptedFileCustody, KeyAlgorithm, KeyExists
from credentials.proofs import ProofFormat, add_proof
from sandbox.plan import BECKN_KEY, DATA_NETWORK, METER_DATA, SUBSCRIBERS, Member
from sandbox.usecases import UseCase, World
from schemas.credentials import VC_V2


def did_resolves(world: World, member: Member) -> tuple[bool, str]:
    """The member's did:web, fetched from its own host through the sandbox's DNS; a
    non-issuer's document must declare the key its subscriber record publishes, an
    issuer's must name assertion methods."""
    resolver = DidResolver(world.plan.hosts, world.http)
    try:
        document = resolver.resolve(member.did).to_json()
    except Exception as exc:
        return False, f"{member.did}: {exc}"
    if document.get("id") != member.did:
        return False, f"{member.did}: the document names {document.get('id')}"
    if member.issues:
        methods = document.get("assertionMethod") or []
        return bool(methods), f"{member.did}: {len(methods)} assertion methods"
    record = subscriber_record(world, member)
    if record is None:
        return False, f"{member.did}: no subscriber record to compare"
    published = base64.b64decode(record["details"]["signing_public_key"])
    methods = document.get("verificationMethod", [])
    keys = [parse_multibase_key(m["publicKeyMultibase"])[1]
            for m in methods if "publicKeyMultibase" in m]  # fmt: skip
    return published in keys, f"{member.did}: declares the subscriber record's key"


def subscriber_record(world: World, member: Member) -> dict[str, Any] | None:
    found = world.http.get(
        f"{world.plan.directory.url}/dedi/lookup/{member.host}/{SUBSCRIBERS}/{BECKN_KEY}"
    )
    if found.status_code != 200:
        return None
    data: dict[str, Any] = found.json()["data"]
    return data


def subscriber_present(world: World, member: Member) -> tuple[bool, str]:
    """The record is in the directory, subscribed, and the operator referenced it into
    every network the member belongs to."""
    data = subscriber_record(world, member)
    if data is None:
        return False, f"{member.host}: no subscriber record"
    networks = set(data.get("network_memberships", []))
    missing = set(member.networks) - networks
    status = data["details"].get("status")
    ok = not missing and status == "SUBSCRIBED" and data["details"]["subscriber_id"] == member.host
    detail = f"{member.host}: {status}, in {len(networks)} network(s)"
    return ok, detail + (f"; missing {sorted(missing)}" if missing else "")


def bar_identity(case: UseCase, world: World, members: list[Member]) -> None:
    """Points 2 and 3 of the bar, for every participant the use case involves."""
    resolved = [did_resolves(world, m) for m in members]
    unresolved = "; ".join(d for ok, d in resolved if not ok)
    case.point("did:web resolved", not unresolved, unresolved or f"{len(members)} DIDs")
    present = [subscriber_present(world, m) for m in members]
    failed = "; ".join(d for ok, d in present if not ok)
    case.point("subscriber record present", not failed, failed or f"{len(members)} records")


@dataclass
class Wallet:
    """A consumer's wallet: a did:key whose key stays in the wallet's own custody."""

    did: str
    custody: EncryptedFileCustody
    key_id: str = "wallet"

    @property
    def verification_method(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"

    @property
    def algorithm(self) -> KeyAlgorithm:
        return KeyAlgorithm.ED25519

    def sign(self, message: bytes) -> bytes:
        return self.custody.sign(self.key_id, message)

    def present(self, credentials: list[Any], challenge: str, domain: str) -> dict[str, Any]:
        """A presentation of ``credentials`` bound to the verifier's challenge and domain."""
        items = [
            {"@context": VC_V2, "type": "EnvelopedVerifiableCredential",
             "id": f"data:application/vc+jwt,{c}"} if isinstance(c, str) else c
            for c in credentials
        ]  # fmt: skip
        presentation = {"@context": [VC_V2], "type": ["VerifiablePresentation"],
                        "holder": self.did, "verifiableCredential": items}  # fmt: skip
        return add_proof(presentation, self, ProofFormat.ED25519_2020, datetime.now(UTC),
                         purpose="authentication", challenge=challenge, domain=domain)  # fmt: skip


def wallet(world: World, owner: str) -> Wallet:
    custody = EncryptedFileCustody(world.scratch / "wallets" / owner, world.passphrase.encode())
    try:
        raw = custody.create("wallet", KeyAlgorithm.ED25519).raw
    except KeyExists:
        raw = custody.public_key("wallet").raw
    return Wallet(did_key_for(KeyAlgorithm.ED25519, raw), custody)


def pull(http: httpx.Client, delivery: dict[str, Any]) -> httpx.Response:
    """The wallet collects its credential from the pull URI with its one-time token."""
    return http.get(delivery["uri"], headers={"Authorization": f"Bearer {delivery['token']}"})


def show(world: World, verifier: Member, holder: Wallet, credentials: list[Any]) -> dict[str, Any]:
    """The consumer shows credentials to ``verifier``, which checks them on its own."""
    domain = verifier.host
    challenge = world.http.post(f"{verifier.url}/presentations/challenges",
                                json={"domain": domain})  # fmt: skip
    challenge.raise_for_status()
    presentation = holder.present(credentials, challenge.json()["challenge"], domain)
    verdict = world.http.post(f"{verifier.url}/presentations/verify",
                              json={"presentation": presentation, "domain": domain})  # fmt: skip
    verdict.raise_for_status()
    answer: dict[str, Any] = verdict.json()
    return answer


def bank_received(
    world: World, transaction: str, action: str, count: int, wait: float = 10.0
) -> list[dict[str, Any]]:
    """The bank's received ``action`` messages of ``transaction``, once ``count`` are
    in or ``wait`` seconds passed (answers are asynchronous callbacks)."""
    bank = world.url("bank")
    deadline = time.monotonic() + wait
    while True:
        got = world.http.get(f"{bank}/app/beckn/received", params={"transactionId": transaction})
        items = [i for i in got.json() if i["action"] == action]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.05)


def bank_send(
    world: World, action: str, url: str, receiver: str, message: dict[str, Any], **context: Any
) -> dict[str, Any]:
    """Has the bank send a signed meter-data Beckn message; the sent document is recorded."""
    sent = world.http.post(
        f"{world.url('bank')}/app/beckn/send",
        json={
            "action": action,
            "url": url,
            "receiver": receiver,
            "networkId": DATA_NETWORK,
            "domain": METER_DATA,
            "message": message,
            **context,
        },
    )
    sent.raise_for_status()
    answer: dict[str, Any] = sent.json()
    world.record(f"beckn:{action}", answer["document"])
    return answer
