"""The kit's own identity: its keys, its subscriber records, and how it joins a network.

The kit plays the counterparty, so it needs standing in the network under test: a BAP
(to send requests and take callbacks), a BPP (to send callbacks to a BAP under test),
and three deliberately bad identities for the refusal items: a key that is registered
and then revoked, a key id that was never registered, and an outsider that has a live
subscriber record but no network membership (Beckn: the receiver checks the sender's
membership of ``context.networkId``; INTEROP.md "Beckn message signing").

In the sandbox the kit registers itself: its subscribers live under the network
operator's namespace (``*.conformance.indiaenergystack.in``, a subdomain the operator
proves), written with the operator's owner key from the sandbox's data dir. On an
outside network the same records are printed for the operator to register.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from credentials.keys import EncryptedFileCustody
from registry.directory.client import CallbackSigner, DirectoryWriter
from sandbox.plan import AUTHORITY, DATA_NETWORK, OWNER_KEY, P2P_NETWORK, SUBSCRIBERS, Plan

KIT_DOMAIN = f"conformance.{AUTHORITY}"
KEY_NAMES = ("bap", "bpp", "revoked", "unknown", "outsider", "outsider_bpp")


class RegistrationError(RuntimeError):
    """The directory refused one of the kit's records (the message names which)."""


@dataclass(frozen=True)
class KitKey:
    """One Ed25519 signing identity of the kit: a ``protocol.signing.Signer``."""

    subscriber_id: str
    key_id: str
    role: str  # BAP or BPP
    private: ed25519.Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    @property
    def public_b64(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode()

    def seed_hex(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        ).hex()


@dataclass(frozen=True)
class KitIdentity:
    """Every identity the kit signs with during one run."""

    bap: KitKey
    bpp: KitKey
    revoked: KitKey  # the BAP's second key, revoked in the directory before the run
    unknown: KitKey  # the BAP's subscriber id with a key id nobody registered
    outsider: KitKey  # a live BAP record that is a member of no network
    outsider_bpp: KitKey  # the outsider's BPP record (a callback from a non-member)
    callback_base: str  # where the kit's receiver listens: {base}/bap, {base}/bpp

    def url_of(self, key: KitKey) -> str:
        return f"{self.callback_base}/{'bpp' if key.role == 'BPP' else 'bap'}"

    def subscriber_records(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """The subscriber records to register (the revoked key's as first written)."""
        now = now or datetime.now(UTC)
        out = []
        for key in (self.bap, self.bpp, self.revoked, self.outsider, self.outsider_bpp):
            out.append(
                {
                    "subscriber_id": key.subscriber_id,
                    "key_id": key.key_id,
                    "subscriber_url": self.url_of(key),
                    "type": key.role,
                    "domains": ["ies:conformance"],
                    "signing_public_key": key.public_b64,
                    "valid_from": (now - timedelta(minutes=5)).isoformat(),
                    "valid_until": (now + timedelta(days=30)).isoformat(),
                }
            )
        return out

    def describe(self) -> dict[str, str]:
        return {
            "bap": f"{self.bap.subscriber_id}|{self.bap.key_id}",
            "bpp": f"{self.bpp.subscriber_id}|{self.bpp.key_id}",
            "callbacks": self.callback_base,
        }


def _key(subscriber_id: str, key_id: str, role: str, seed: bytes | None = None) -> KitKey:
    private = (
        ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        if seed is not None
        else ed25519.Ed25519PrivateKey.generate()
    )
    return KitKey(subscriber_id, key_id, role, private)


def new_identity(callback_base: str, domain: str = KIT_DOMAIN) -> KitIdentity:
    """Fresh keys with per-run key ids: a receiver's key cache can never hold a stale
    record of an earlier run (another callback URL, an older key)."""
    run = secrets.token_hex(4)
    bap_id, bpp_id = f"bap.{domain}", f"bpp.{domain}"
    return KitIdentity(
        bap=_key(bap_id, f"ck-{run}-bap", "BAP"),
        bpp=_key(bpp_id, f"ck-{run}-bpp", "BPP"),
        revoked=_key(bap_id, f"ck-{run}-revoked", "BAP"),
        unknown=_key(bap_id, f"ck-{run}-never-registered", "BAP"),
        outsider=_key(f"outsider.{domain}", f"ck-{run}-outsider", "BAP"),
        outsider_bpp=_key(f"outsider.{domain}", f"ck-{run}-outsider-bpp", "BPP"),
        callback_base=callback_base.rstrip("/"),
    )


def stored_identity(kit_dir: Path, callback_base: str, domain: str) -> KitIdentity:
    """Keys kept in ``kit_dir`` (made on first use), for an outside network whose
    operator registers the printed records once."""
    path = kit_dir / "kit-keys.json"
    if path.exists():
        raw = json.loads(path.read_text())
        keys = {
            name: _key(v["subscriber_id"], v["key_id"], v["role"], bytes.fromhex(v["seed"]))
            for name, v in raw.items()
        }
        return KitIdentity(**keys, callback_base=callback_base.rstrip("/"))
    identity = new_identity(callback_base, domain)
    kit_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = {name: getattr(identity, name) for name in KEY_NAMES}
    path.write_text(
        json.dumps(
            {
                name: {
                    "subscriber_id": k.subscriber_id,
                    "key_id": k.key_id,
                    "role": k.role,
                    "seed": k.seed_hex(),
                }
                for name, k in keys.items()
            },
            indent=1,
        )
    )
    path.chmod(0o600)
    return identity


def registration_text(identity: KitIdentity, networks: list[str]) -> str:
    """What an outside network's operator registers for the kit."""
    records = identity.subscriber_records()
    revoked = {**records[2], "status": "REVOKED"}
    return json.dumps(
        {
            "subscriber_records": records,
            "then_revoke": revoked,
            "network_memberships": [
                {"network": n, "subscriber_id": k.subscriber_id, "roles": [k.role]}
                for n in networks
                for k in (identity.bap, identity.bpp)
            ],
            "never_register": f"{identity.unknown.subscriber_id}|{identity.unknown.key_id}",
        },
        indent=1,
    )


def register_in_sandbox(
    identity: KitIdentity, plan: Plan, passphrase: str, http: httpx.Client
) -> None:
    """Write the kit's records as the sandbox's network operator: subscriber records,
    the revoked key revoked, BAP and BPP referenced into every network."""
    owner = EncryptedFileCustody(plan.key_dir(plan.directory.name), passphrase.encode())
    signer = CallbackSigner(
        f"{AUTHORITY}#{OWNER_KEY}", lambda message: owner.sign(OWNER_KEY, message)
    )
    writer = DirectoryWriter(http, signer)

    def put(registry: str, record: str, details: dict[str, Any]) -> None:
        response = writer.put_record(AUTHORITY, registry, record, details)
        if response.status_code not in (200, 201):
            raise RegistrationError(
                f"{registry}/{record}: {response.status_code} {response.text[:300]}"
            )

    records = identity.subscriber_records()
    for details in records:
        put(SUBSCRIBERS, details["key_id"], details)
    put(SUBSCRIBERS, identity.revoked.key_id, {**records[2], "status": "REVOKED"})
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    for network in (DATA_NETWORK, P2P_NETWORK):
        for key in (identity.bap, identity.bpp):
            entry = {
                "subscriber_id": key.subscriber_id,
                "record": f"{AUTHORITY}/{SUBSCRIBERS}/{key.key_id}",
                "roles": [key.role],
                "valid_from": since,
            }
            put(network.split("/", 1)[1], key.subscriber_id, entry)
