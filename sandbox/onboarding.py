"""Every participant joins the network the way a real one does, over the directory's HTTP
API: keys made in its own custody; its namespace claimed and proven (the challenge
served from its own host); its subscriber record published; the network operator's
reference entries (network membership) and trust-registry role written; an issuer's
revocation and key registries created and its credential keys published.

Keys are made before the processes start (each process opens its own custody); the
directory writes run once the directory answers.
"""

from __future__ import annotations

import base64
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from credentials.dedi import DediWriter
from credentials.did import raw_to_jwk
from credentials.keys import EncryptedFileCustody, KeyAlgorithm, KeyExists
from registry.directory.client import CallbackSigner, DirectoryWriter
from sandbox.plan import AUTHORITY, BECKN_KEY, OWNER_KEY, SUBSCRIBERS, TRUST_REGISTRY, Member, Plan

ISSUER_KEYS = (("vc-es256", KeyAlgorithm.P256), ("vc-ed25519", KeyAlgorithm.ED25519))
# Served by the sandbox, but no Beckn network member: the console is a directory
# identity (its key in a subscriber record under its own host, its participant_type in
# the trust registry) so that it can get machine tokens for its narrow scopes
# (registry.directory.tokens.DEFAULT_SCOPES["console"]); with no network membership,
# every Beckn receiver refuses a message it would sign (protocol.receiving).
NOT_IN_NETWORK = frozenset({"console"})
CLIENT_DOMAIN = "ies:console"  # a subscriber record names at least one domain


class OnboardingError(RuntimeError):
    """A directory write was refused: the message names the participant and the step."""


def custody(plan: Plan, member: Member, passphrase: str) -> EncryptedFileCustody:
    return EncryptedFileCustody(plan.key_dir(member.name), passphrase.encode())


def make_keys(plan: Plan, passphrase: str) -> None:
    """Each participant's owner key, Beckn signing and encryption keys, issuer keys."""
    for member in plan.members:
        keys = custody(plan, member, passphrase)
        wanted = [(OWNER_KEY, KeyAlgorithm.ED25519), (BECKN_KEY, KeyAlgorithm.ED25519),
                  (f"{BECKN_KEY}-enc", KeyAlgorithm.X25519)]  # fmt: skip
        if member.issues:
            wanted += list(ISSUER_KEYS)
        for key_id, algorithm in wanted:
            with suppress(KeyExists):
                keys.create(key_id, algorithm)


def _ok(response: httpx.Response, member: Member, step: str, *codes: int) -> httpx.Response:
    if response.status_code not in (codes or (200, 201)):
        raise OnboardingError(f"{member.name}: {step}: {response.status_code} {response.text}")
    return response


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class Onboarding:
    def __init__(self, plan: Plan, passphrase: str, http: httpx.Client) -> None:
        self.plan = plan
        self.passphrase = passphrase
        self.http = http  # base_url: the directory
        self.now = datetime.now(UTC)

    def writer(self, member: Member) -> DirectoryWriter:
        keys = custody(self.plan, member, self.passphrase)
        signer = CallbackSigner(
            f"{member.host}#{OWNER_KEY}", lambda message: keys.sign(OWNER_KEY, message)
        )
        return DirectoryWriter(self.http, signer)

    def claim(self, member: Member) -> None:
        """Claim the namespace; the operator puts the challenge on its own host; verify."""
        keys = custody(self.plan, member, self.passphrase)
        writer = self.writer(member)
        owner = keys.public_key(OWNER_KEY).b64
        claimed = _ok(writer.claim(member.host, OWNER_KEY, owner), member, "claim", 201)
        path = self.plan.challenge_file(member.host)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(claimed.json()["challenge"])
        _ok(self.http.post(f"/dedi/namespaces/{member.host}/verify"), member, "verify", 200)

    def subscribe(self, member: Member) -> None:
        keys = custody(self.plan, member, self.passphrase)
        out = member.participant_type in NOT_IN_NETWORK
        writer = self.writer(member)
        _ok(writer.create_registry(member.host, SUBSCRIBERS, "subscriber"), member, "registry", 201)
        details: dict[str, Any] = {
            "subscriber_id": member.host,
            "key_id": BECKN_KEY,
            "subscriber_url": member.url if out else member.beckn_url,
            "type": member.role or "BAP",  # a client, never routed to: it has no networks
            "domains": list(member.domains) or [CLIENT_DOMAIN],
            "signing_public_key": keys.public_key(BECKN_KEY).b64,
            "encryption_public_key": _b64(keys.public_key(f"{BECKN_KEY}-enc").raw),
            "valid_from": (self.now - timedelta(hours=1)).isoformat(),
            "valid_until": (self.now + timedelta(days=365)).isoformat(),
            "states": [member.state] if member.state else [],
        }
        _ok(writer.put_record(member.host, SUBSCRIBERS, BECKN_KEY, details), member, "subscriber")
        if member.issues:
            self.issuer_registries(member, keys)

    def issuer_registries(self, member: Member, keys: EncryptedFileCustody) -> None:
        dedi = DediWriter(
            self.http, member.host, f"{member.host}#{OWNER_KEY}",
            lambda message: keys.sign(OWNER_KEY, message),
        )  # fmt: skip
        _ok(dedi.create_registry("vc-revocation-registry", "revocation"), member, "revocations")
        _ok(dedi.create_registry("key", "key"), member, "key registry")
        for key_id, _ in ISSUER_KEYS:
            key = keys.public_key(key_id)
            published = dedi.publish_key(
                key, raw_to_jwk(key.algorithm, key.raw), self.now - timedelta(hours=1)
            )
            _ok(published, member, f"publish {key_id}")

    def operator_entries(self) -> None:
        """The network operator references every member into its networks and records
        its role (and, for issuers, the credential types it is trusted to issue)."""
        authority = self.plan.directory
        writer = self.writer(authority)
        networks = sorted({n for m in self.plan.members for n in m.networks})
        for network in networks:
            name = network.split("/", 1)[1]
            _ok(writer.create_registry(AUTHORITY, name, "network_membership"), authority, name)
        _ok(writer.create_registry(AUTHORITY, TRUST_REGISTRY, "participant_role"), authority, "tr")
        since = (self.now - timedelta(hours=1)).isoformat()
        for member in self.plan.members:
            # A member NOT_IN_NETWORK gets its role record only, never a membership.
            out = member.participant_type in NOT_IN_NETWORK
            for network in () if out else member.networks:
                entry = {"subscriber_id": member.host,
                         "record": f"{member.host}/{SUBSCRIBERS}/{BECKN_KEY}",
                         "roles": [member.role], "valid_from": since}  # fmt: skip
                put = writer.put_record(AUTHORITY, network.split("/", 1)[1], member.host, entry)
                _ok(put, member, f"membership of {network}")
            role = {
                "subscriber_id": member.did if member.issues else member.host,
                "participant_type": member.participant_type,
                "states": [member.state] if member.state else [],
                "domains": [f"vc:{kind}" for kind in member.issues] + list(member.domains),
                "actions": ["issue_credentials"] if member.issues else [],
                # A discom writes its own records only (registry.ownership): its token
                # names the discom code recorded here.
                "discoms": [member.discom_code] if member.discom_code else [],
                "valid_from": since,
            }
            _ok(writer.put_record(AUTHORITY, TRUST_REGISTRY, member.name, role), member, "role")

    def run(self) -> None:
        authority = self.plan.directory
        self.claim(authority)
        # One writer at a time: the registry's SQLite store refuses concurrent writers
        # ("database is locked") rather than waiting for them.
        for member in self.plan.members:
            if member is not authority:
                self.claim(member)
            self.subscribe(member)
        self.operator_entries()
