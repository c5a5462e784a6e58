"""What the DER decision needs from the rest of the stack, as ports (typing.Protocol):
the presentation verifier, the grid registry, the policy packs and the issuer."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from credentials.verify import PresentationVerdict
from policy_packs.decision import Decision
from protocol.der.decision import PackRule
from protocol.der.models import Application, ConnectionFacts, Registered


class PresentationCheck(Protocol):
    def __call__(self, presentation: Any, domain: str) -> PresentationVerdict:
        """The verifier's verdict; consumes the presentation's challenge."""
        ...


class Grid(Protocol):
    def connection_facts(self, consumer_id: str) -> ConnectionFacts | None:
        """The consumer's connection and its DT, with every DER already under the DT."""
        ...

    def meter_in_use(self, number: str, application: Application) -> bool:
        """Whether the meter's serial names a meter registered by anything else."""
        ...

    def register(
        self, number: str, application: Application, facts: ConnectionFacts, key: str
    ) -> Registered:
        """The DER under the connection and its bidirectional meter under the DER, from
        now; idempotent on ``key``."""
        ...


class Policy(Protocol):
    def decide(
        self, jurisdiction: str, document: dict[str, Any], as_of: date
    ) -> tuple[Decision, list[PackRule]]:
        """The pack in force's ``der_connection`` decision and every rule of that domain."""
        ...


class Issuer(Protocol):
    def issue(self, subject: dict[str, Any]) -> dict[str, Any]:
        """A DERCredential to ``subject['id']``: id, verifiableCredential, delivery."""
        ...
