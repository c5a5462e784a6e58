"""What the verifier asks of the world, as ports (typing.Protocol) it owns.

The verifier is pure; the sandbox and the service wire these to the directory
(HTTP, ``credentials.dedi``), to did:web resolution (``credentials.resolution``)
and to the nonce table (``credentials.store``). ``credentials`` never imports
``registry``: the directory is another service, reached over its HTTP API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from credentials.keys import PublicKeyInfo


class Unavailable(Exception):
    """A source of truth could not answer (network, bad document): the check cannot
    pass, and the verdict says so rather than guessing."""


class KeyNotDeclared(Exception):
    """The issuer's DID document (or key registry) does not declare that key for that use."""


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A record in an issuer's ``vc-revocation-registry``: present means not valid."""

    purpose: Literal["revocation", "suspension"]
    reason: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Authorisation:
    """A trust-registry entry: this issuer may issue this credential type."""

    issuer: str
    credential_type: str
    record: str
    valid_from: datetime | None
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class StatusListView:
    """A verified Bitstring Status List credential, as a verifier caches it."""

    url: str
    issuer: str
    purpose: str
    bitstring: bytes


class IssuerKeys(Protocol):
    def key_for(
        self, verification_method: str, at: datetime, purpose: str = "assertionMethod"
    ) -> PublicKeyInfo:
        """The key the controller's DID declared for ``purpose`` at ``at``;
        :class:`KeyNotDeclared` or :class:`Unavailable` otherwise."""
        ...


class StatusRegistry(Protocol):
    def status_record(self, namespace: str, credential_hash: str) -> StatusRecord | None: ...


class TrustRegistry(Protocol):
    def authorisation(
        self, issuer: str, credential_type: str, at: datetime
    ) -> Authorisation | None: ...


class StatusLists(Protocol):
    def status_list(self, url: str) -> StatusListView: ...


class Nonces(Protocol):
    def consume(self, challenge: str, domain: str, now: datetime) -> str | None:
        """None when the challenge was issued for ``domain``, unexpired and unused (it
        is used up now); otherwise why it is refused."""
        ...


@dataclass(frozen=True, slots=True)
class VerifierPorts:
    keys: IssuerKeys
    trust: TrustRegistry
    status: StatusRegistry
    status_lists: StatusLists
