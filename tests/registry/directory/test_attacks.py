"""Each attack is refused with a clear problem and changes nothing (state asserted after)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from credentials.keys import KeyAlgorithm
from registry.directory.client import CallbackSigner, DirectoryWriter
from registry.directory.keys import Refusal, RefusalReason, SigningKey

from .conftest import assert_problem, make_participant, onboard, subscriber_details

SUBSCRIBERS = "subscribers.beckn.one"
NETWORK = "test-ies-data-sharing-network"


@pytest.fixture
def world(stack, tmp_path):
    """A discom with k1 published, and the network authority with its network registry."""
    discom = make_participant(stack, tmp_path, "discom-a.example")
    authority = make_participant(stack, tmp_path, "indiaenergystack.in")
    onboard(stack, discom)
    onboard(stack, authority)
    assert discom.writer.create_registry(discom.namespace, SUBSCRIBERS, "subscriber").is_success
    discom.new_signing_key("k1")
    put = discom.writer.put_record(
        discom.namespace, SUBSCRIBERS, "k1", subscriber_details(discom, "k1")
    )
    assert put.status_code == 200, put.text
    assert authority.writer.create_registry(
        authority.namespace, NETWORK, "network_membership"
    ).is_success
    return stack, discom, authority


def snapshot(stack) -> dict:
    """Everything a write could have changed, as the public API shows it."""
    out: dict[str, object] = {}
    for ns in ("discom-a.example", "indiaenergystack.in"):
        out[ns + "/audit"] = len(stack.http.get(f"/dedi/namespaces/{ns}/audit").json())
        for reg in stack.http.get(f"/dedi/namespaces/{ns}/registries").json():
            query = stack.http.get(f"/dedi/query/{ns}/{reg['name']}").json()
            out[f"{ns}/{reg['name']}"] = [
                (r["record_name"], r["version"], r["details"]) for r in query["data"]["records"]
            ]
    return out


def mallory(stack, tmp_path, kid: str) -> DirectoryWriter:
    from credentials.keys import EncryptedFileCustody

    custody = EncryptedFileCustody(tmp_path / "mallory", b"mallory's own passphrase")
    custody.create("m1", KeyAlgorithm.ED25519)
    return DirectoryWriter(stack.http, CallbackSigner(kid, lambda m: custody.sign("m1", m)))


def test_a_record_written_by_someone_who_does_not_own_the_namespace_is_refused(world, tmp_path):
    stack, discom, _ = world
    before = snapshot(stack)
    details = subscriber_details(discom, "k1", subscriber_url="https://evil.example/bpp")
    # Claiming to be the owner, but signing with another key ...
    impostor = mallory(stack, tmp_path, "discom-a.example#owner-1")
    assert_problem(
        impostor.put_record(discom.namespace, SUBSCRIBERS, "k1", details),
        401,
        "dedi-signature-invalid",
    )
    # ... or signing honestly as someone else ...
    outsider = mallory(stack, tmp_path / "2", "mallory.example#m1")
    assert_problem(
        outsider.put_record(discom.namespace, SUBSCRIBERS, "k1", details),
        401,
        "dedi-signature-invalid",
    )
    # ... or not signing at all.
    unsigned = stack.http.put(
        f"/dedi/namespaces/{discom.namespace}/registries/{SUBSCRIBERS}/records/k1",
        json={"details": details},
    )
    assert_problem(unsigned, 401, "dedi-signature-missing")
    assert snapshot(stack) == before


def test_a_signature_moved_to_another_record_or_replayed_is_refused(world):
    stack, discom, _ = world
    details = subscriber_details(discom, "k1", domains=["ies:p2p-trading"])
    path = f"/dedi/namespaces/{discom.namespace}/registries/{SUBSCRIBERS}/records/k1"
    sent = discom.writer.send("PUT", path, {"details": details, "meta": {}})
    assert sent.status_code == 200
    before = snapshot(stack)
    replay = stack.http.request(
        "PUT", path, content=sent.request.content, headers=dict(sent.request.headers)
    )
    assert_problem(replay, 409, "dedi-write-replayed")
    moved = stack.http.request(
        "PUT",
        path.replace("/k1", "/k9"),
        content=sent.request.content,
        headers=dict(sent.request.headers),
    )
    assert_problem(moved, 401, "dedi-signature-invalid")
    assert snapshot(stack) == before


def test_a_forged_membership_entry_is_refused(world, tmp_path):
    stack, discom, authority = world
    before = snapshot(stack)
    entry = {"subscriber_id": "discom-a.example", "valid_from": datetime.now(UTC).isoformat()}
    # The discom signs a reference entry into the authority's network for itself.
    forged = DirectoryWriter(stack.http, discom.writer.signer).put_record(
        authority.namespace, NETWORK, "discom-a.example", entry
    )
    assert_problem(forged, 401, "dedi-signature-invalid")
    # Mallory impersonates the authority's kid with her own key.
    impostor = mallory(stack, tmp_path, "indiaenergystack.in#owner-1")
    assert_problem(
        impostor.put_record(authority.namespace, NETWORK, "discom-a.example", entry),
        401,
        "dedi-signature-invalid",
    )
    # Even the authority cannot reference a participant that has no subscriber record.
    ghost = authority.writer.put_record(
        authority.namespace, NETWORK, "ghost", {**entry, "subscriber_id": "ghost.discom-a.example"}
    )
    assert_problem(ghost, 422, "dedi-membership-target-invalid")
    assert snapshot(stack) == before
    found = stack.directory.lookup_signing_key("discom-a.example", "k1")
    assert isinstance(found, SigningKey)
    assert found.memberships == ()
    onix = stack.http.get(f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k1").json()
    assert onix["data"]["network_memberships"] == []


def test_a_revoked_key_fails_and_stays_revoked(world):
    stack, discom, _ = world
    signed_at = datetime.now(UTC)
    revoke = discom.writer.put_record(
        discom.namespace, SUBSCRIBERS, "k1", subscriber_details(discom, "k1", status="REVOKED")
    )
    assert revoke.status_code == 200, revoke.text
    before = snapshot(stack)
    refusal = stack.directory.lookup_signing_key("discom-a.example", "k1")
    assert isinstance(refusal, Refusal)
    assert refusal.reason is RefusalReason.REVOKED
    assert isinstance(
        stack.directory.lookup_signing_key("discom-a.example", "k1", signed_at), SigningKey
    )
    body = assert_problem(
        stack.http.get(f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k1"),
        410,
        "dedi-key-not-usable",
    )
    assert body["reason"] == "revoked"
    # Un-revoking is refused: a compromised key never comes back.
    back = discom.writer.put_record(
        discom.namespace, SUBSCRIBERS, "k1", subscriber_details(discom, "k1")
    )
    assert_problem(back, 409, "dedi-record-immutable")
    assert snapshot(stack) == before
    assert (
        stack.http.get("/.well-known/did.json", headers={"Host": "discom-a.example"}).status_code
        == 404
    )


def test_an_expired_record_is_refused_and_an_expired_key_does_not_verify(world):
    stack, discom, _ = world
    discom.new_signing_key("k-old")
    past = datetime.now(UTC) - timedelta(days=1)
    before = snapshot(stack)
    expired = discom.writer.put_record(
        discom.namespace,
        SUBSCRIBERS,
        "k-old",
        subscriber_details(
            discom,
            "k-old",
            valid_from=(past - timedelta(days=30)).isoformat(),
            valid_until=past.isoformat(),
        ),
    )
    assert_problem(expired, 422, "dedi-record-expired")
    assert snapshot(stack) == before
    assert_problem(
        stack.http.get(f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k-old"),
        404,
        "dedi-record-not-found",
    )
    late = stack.directory.lookup_signing_key(
        "discom-a.example", "k1", datetime.now(UTC) + timedelta(days=400)
    )
    assert isinstance(late, Refusal)
    assert late.reason is RefusalReason.EXPIRED


def test_a_duplicate_key_id_is_refused(world):
    stack, discom, _ = world
    before = snapshot(stack)
    other = discom.custody.create("k1-other", KeyAlgorithm.ED25519).b64
    # Other key material under the same key id ...
    swapped = discom.writer.put_record(
        discom.namespace,
        SUBSCRIBERS,
        "k1",
        subscriber_details(discom, "k1", signing_public_key=other),
    )
    assert_problem(swapped, 409, "dedi-duplicate-key-id")
    # ... or the same (subscriber, key id) registered again in another registry.
    assert discom.writer.create_registry(discom.namespace, "second", "subscriber").is_success
    before["discom-a.example/audit"] += 1
    before["discom-a.example/second"] = []
    again = discom.writer.put_record(
        discom.namespace, "second", "k1", subscriber_details(discom, "k1")
    )
    assert_problem(again, 409, "dedi-duplicate-key-id")
    assert snapshot(stack) == before
    found = stack.directory.lookup_signing_key("discom-a.example", "k1")
    assert isinstance(found, SigningKey)
    assert found.public_key == discom.custody.public_key("k1").raw


def test_a_namespace_is_not_writable_until_its_domain_proves_the_challenge(stack, tmp_path):
    discom = make_participant(stack, tmp_path, "discom-a.example")
    public = discom.custody.public_key("owner-1").b64
    claimed = discom.writer.claim(discom.namespace, "owner-1", public)
    assert claimed.status_code == 201
    # Nothing published yet, then a wrong token: the proof fails.
    assert_problem(
        stack.http.post("/dedi/namespaces/discom-a.example/verify"), 403, "dedi-domain-proof-failed"
    )
    stack.hosts.published["discom-a.example"] = ["dedi-not-the-token"]
    assert_problem(
        stack.http.post("/dedi/namespaces/discom-a.example/verify"), 403, "dedi-domain-proof-failed"
    )
    assert_problem(
        discom.writer.create_registry(discom.namespace, SUBSCRIBERS, "subscriber"),
        403,
        "dedi-namespace-not-verified",
    )
    assert stack.http.get("/dedi/namespaces/discom-a.example").json()["status"] == "pending"
    # A second claimant cannot take over a pending claim.
    rival = mallory(stack, tmp_path, "discom-a.example#m1")
    from credentials.keys import EncryptedFileCustody

    rival_key = EncryptedFileCustody(tmp_path / "mallory", b"mallory's own passphrase")
    assert_problem(
        rival.claim("discom-a.example", "m1", rival_key.public_key("m1").b64),
        409,
        "dedi-namespace-taken",
    )
    assert stack.http.get("/dedi/namespaces/discom-a.example").json()["owner_public_key"] == public


def test_the_txt_record_proof_works_too(stack, tmp_path):
    discom = make_participant(stack, tmp_path, "discom-b.example")
    public = discom.custody.public_key("owner-1").b64
    claimed = discom.writer.claim(discom.namespace, "owner-1", public, proof_method="txt")
    assert claimed.json()["challenge_path"] == "_dedi-challenge.discom-b.example"
    assert_problem(
        stack.http.post("/dedi/namespaces/discom-b.example/verify"), 403, "dedi-domain-proof-failed"
    )
    stack.txt["_dedi-challenge.discom-b.example"] = [claimed.json()["challenge"]]
    assert (
        stack.http.post("/dedi/namespaces/discom-b.example/verify").json()["status"] == "verified"
    )


def test_a_subscriber_outside_the_namespace_domain_is_refused(world):
    stack, discom, _ = world
    discom.new_signing_key("k5")
    before = snapshot(stack)
    outside = discom.writer.put_record(
        discom.namespace,
        SUBSCRIBERS,
        "k5",
        subscriber_details(discom, "k5", subscriber_id="discom-b.example"),
    )
    assert_problem(outside, 403, "dedi-subscriber-outside-namespace")
    invalid = discom.writer.put_record(
        discom.namespace, SUBSCRIBERS, "k5", subscriber_details(discom, "k5", type="XYZ")
    )
    body = assert_problem(invalid, 422, "dedi-record-invalid")
    assert body["errors"][0]["location"] == "details/type"
    assert snapshot(stack) == before
