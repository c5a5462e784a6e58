"""A discom joins the network and rotates its key; a counterparty follows every step
over real HTTP (the directory and the participants' hosts on real uvicorn servers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credentials.did import DidResolver
from registry.directory.client import HttpKeyLookup
from registry.directory.keys import Refusal, RefusalReason, SigningKey

from .conftest import make_participant, onboard, subscriber_details

NETWORK = "indiaenergystack.in/test-ies-data-sharing-network"
SUBSCRIBERS = "subscribers.beckn.one"


def verifies(found: SigningKey | Refusal, signature: bytes, message: bytes) -> bool:
    if not isinstance(found, SigningKey):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(found.public_key).verify(signature, message)
    except Exception:
        return False
    return True


def test_discom_joins_rotates_and_revokes_while_a_counterparty_follows(stack, tmp_path):
    discom = make_participant(stack, tmp_path, "discom-a.example")
    authority = make_participant(stack, tmp_path, "indiaenergystack.in")
    monotonic = [0.0]
    remote = HttpKeyLookup(stack.http, monotonic=lambda: monotonic[0])
    local = stack.directory

    # 1. The discom claims its namespace and proves the domain from its own host.
    namespace = onboard(stack, discom)
    assert namespace["status"] == "verified"
    assert namespace["did"] == "did:web:discom-a.example"

    # 2. It publishes its Beckn subscriber record, key k1 generated in its own custody.
    assert (
        discom.writer.create_registry(discom.namespace, SUBSCRIBERS, "subscriber").status_code
        == 201
    )
    discom.new_signing_key("k1")
    written = discom.writer.put_record(
        discom.namespace, SUBSCRIBERS, "k1", subscriber_details(discom, "k1")
    )
    assert written.status_code == 200, written.text
    message = b'{"context":{"action":"search"}}'
    signed_k1 = discom.custody.sign("k1", message)
    assert verifies(remote.lookup_signing_key("discom-a.example", "k1"), signed_k1, message)
    assert verifies(local.lookup_signing_key("discom-a.example", "k1"), signed_k1, message)

    # ONIX's reading of the record: data.details.{url,type,domain,subscriber_id,signing_public_key}
    onix = stack.http.get(f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k1").json()["data"]
    assert onix["details"]["signing_public_key"] == discom.keys["k1"]
    assert onix["details"]["url"] == onix["details"]["subscriber_url"]
    assert onix["details"]["encr_public_key"] == onix["details"]["encryption_public_key"]
    assert onix["details"]["type"] == "BPP"
    assert onix["details"]["domain"] == "ies:meter-data"
    assert onix["network_memberships"] == []

    # 3. The network authority references it into the network (signed by the authority).
    onboard(stack, authority)
    network_registry = NETWORK.split("/")[1]
    created = authority.writer.create_registry(
        authority.namespace, network_registry, "network_membership"
    )
    assert created.status_code == 201, created.text
    entry = authority.writer.put_record(
        authority.namespace,
        network_registry,
        "discom-a.example",
        {
            "subscriber_id": "discom-a.example",
            "record": f"discom-a.example/{SUBSCRIBERS}/k1",
            "roles": ["BPP"],
            "valid_from": datetime.now(UTC).isoformat(),
        },
    )
    assert entry.status_code == 200, entry.text
    found = local.lookup_signing_key("discom-a.example", "k1")
    assert isinstance(found, SigningKey)
    assert found.networks_at(datetime.now(UTC)) == [NETWORK]  # the write invalidated the cache
    cached = remote.lookup_signing_key("discom-a.example", "k1")
    assert isinstance(cached, SigningKey)
    assert cached.memberships == ()  # the remote cache is within its max-age
    monotonic[0] += 61  # past max-age: revalidated with If-None-Match, the ETag changed
    fresh = remote.lookup_signing_key("discom-a.example", "k1")
    assert isinstance(fresh, SigningKey)
    assert [m.network for m in fresh.memberships] == [NETWORK]
    lookup = stack.http.get(f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k1")
    assert lookup.json()["data"]["network_memberships"] == [NETWORK]
    unchanged = stack.http.get(
        f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k1",
        headers={"If-None-Match": lookup.headers["etag"]},
    )
    assert unchanged.status_code == 304
    members = stack.http.get("/dedi/subscribers", params={"network": NETWORK}).json()
    assert [m["details"]["key_id"] for m in members["items"]] == ["k1"]

    # 4. It resolves as did:web through the sandbox's own hosts, never the internet.
    with httpx.Client(timeout=5) as web:
        resolver = DidResolver({"discom-a.example": stack.directory_url}, web)
        document = resolver.resolve("did:web:discom-a.example")
        assert document.public_key("k1").raw == discom.custody.public_key("k1").raw
        assert document.key_agreement == ["did:web:discom-a.example#k1-x25519"]

        # 5. It rotates: k2 from now, k1 ends after a one-minute overlap.
        before_rotation = datetime.now(UTC)
        discom.new_signing_key("k2")
        published, retired = discom.writer.rotate(
            discom.namespace,
            onix["details"],
            "k2",
            discom.keys["k2"],
            overlap=timedelta(minutes=1),
            valid_for=timedelta(days=365),
        )
        assert published.status_code == 200, published.text
        assert retired.status_code == 200, retired.text
        signed_k2 = discom.custody.sign("k2", message)
        assert verifies(local.lookup_signing_key("discom-a.example", "k2"), signed_k2, message)
        monotonic[0] += 61
        assert verifies(remote.lookup_signing_key("discom-a.example", "k2"), signed_k2, message)
        # The old key still verifies what it signed inside its window ...
        assert verifies(
            local.lookup_signing_key("discom-a.example", "k1", before_rotation), signed_k1, message
        )
        assert verifies(local.lookup_signing_key("discom-a.example", "k1"), signed_k1, message)
        # ... and nothing after the overlap.
        later = local.lookup_signing_key(
            "discom-a.example", "k1", datetime.now(UTC) + timedelta(minutes=2)
        )
        assert isinstance(later, Refusal)
        assert later.reason is RefusalReason.EXPIRED
        during_overlap = resolver.resolve("did:web:discom-a.example")
        assert {m.id for m in during_overlap.verification_method} >= {
            "did:web:discom-a.example#k1",
            "did:web:discom-a.example#k2",
        }

        # 6. It revokes k1: new signatures with it fail at once, everywhere.
        revoked_details = {**subscriber_details(discom, "k1"), "status": "REVOKED"}
        revoked_details["valid_until"] = retired.json()["data"]["details"]["valid_until"]
        revoked = discom.writer.put_record(discom.namespace, SUBSCRIBERS, "k1", revoked_details)
        assert revoked.status_code == 200, revoked.text
        refusal = local.lookup_signing_key("discom-a.example", "k1")
        assert isinstance(refusal, Refusal)
        assert refusal.reason is RefusalReason.REVOKED
        assert verifies(
            local.lookup_signing_key("discom-a.example", "k1", before_rotation), signed_k1, message
        )
        gone = stack.http.get(f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k1")
        assert gone.status_code == 410
        assert gone.json()["reason"] == "revoked"
        monotonic[0] += 61
        remote_refusal = remote.lookup_signing_key("discom-a.example", "k1")
        assert isinstance(remote_refusal, Refusal)
        assert remote_refusal.reason is RefusalReason.REVOKED
        after = resolver.resolve("did:web:discom-a.example")
        assert [m.id for m in after.verification_method if m.type.startswith("Ed25519")] == [
            "did:web:discom-a.example#k2"
        ]

    # The history and the audit trail keep every step, with who signed it.
    versions = stack.http.get(f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k1/versions").json()
    assert [v["details"]["status"] for v in versions] == ["SUBSCRIBED", "SUBSCRIBED", "REVOKED"]
    as_of = stack.http.get(
        f"/dedi/lookup/discom-a.example/{SUBSCRIBERS}/k1",
        params={"at": before_rotation.isoformat()},
    )
    assert as_of.status_code == 200
    assert as_of.json()["data"]["version"] == 1
    audit = stack.http.get("/dedi/namespaces/discom-a.example/audit").json()
    assert [a["action"] for a in audit] == [
        "claim",
        "verify",
        "create_registry",
        "put_record",
        "put_record",
        "put_record",
        "put_record",
    ]
    assert all(a["signature"] for a in audit if a["action"] != "verify")
    assert {a["actor"] for a in audit if a["action"] != "verify"} == {"discom-a.example#owner-1"}
