"""Who is in the sandbox network, where each one lives, and what each one is.

The plan is pure data: every participant's domain (its did:web and its directory
namespace), its loopback port, its Beckn role, its networks and the credential types
the network operator trusts it to issue. ``ies sandbox`` writes it to
``{data dir}/plan.json``; each participant's process reads it (``IES_SANDBOX_PLAN``)
to find its own keys and its neighbours. The host map is the sandbox's DNS: each
domain resolves to the participant's 127.0.0.1 port, never to the internet.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

AUTHORITY = "indiaenergystack.in"  # the network operator's namespace (DeDi)
SUBSCRIBERS = "subscribers.beckn.one"  # every participant's subscriber registry
TRUST_REGISTRY = "credential-issuers"  # participant_role records in the authority's namespace
DATA_NETWORK = f"{AUTHORITY}/test-ies-data-sharing-network"
P2P_NETWORK = f"{AUTHORITY}/ies-p2p-trading-network"
DER_NETWORK = f"{AUTHORITY}/ies-der-integration-network"  # DER onboarding (INTEROP.md)
DER_ONBOARDING = "ies:der-onboarding"
METER_DATA = "ies:meter-data"
BECKN_KEY = "k1"  # each participant's Beckn signing key (subscriber record name)
OWNER_KEY = "owner-1"  # each participant's namespace owner key (signs directory writes)
DOMAIN_SUFFIX = "sandbox.ies.local"


@dataclass(frozen=True, slots=True)
class Member:
    """One participant: its identity, its process and its place in the network."""

    name: str  # short name: process, log and database file
    title: str
    host: str  # its domain: did:web, DeDi namespace, Beckn subscriber id
    app: str  # the ASGI app uvicorn runs ("package.module:attribute")
    port: int
    role: str  # Beckn role of its subscriber record: BAP, BPP or BG
    participant_type: str  # the trust registry's participant_type
    domains: tuple[str, ...]
    networks: tuple[str, ...]
    state: str | None = None  # a discom's state (ISO 3166-2:IN)
    discom_code: str | None = None
    issues: tuple[str, ...] = ()  # credential types the operator trusts it to issue
    licence: str | None = None  # an issuer's licence number (the credentials' issuer)
    scheme: str = "http"  # "https" when the run is on TLS (``ies sandbox --tls``)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def did(self) -> str:
        return f"did:web:{self.host}"

    @property
    def beckn_url(self) -> str:
        """Where its Beckn endpoints are (the subscriber record's URL)."""
        return f"{self.url}/beckn"


@dataclass(frozen=True, slots=True)
class Plan:
    members: tuple[Member, ...]
    data_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(name)

    @property
    def directory(self) -> Member:
        return self.member("registry")

    @property
    def hosts(self) -> dict[str, str]:
        """The sandbox's DNS: each participant's domain -> its loopback base URL."""
        return {m.host: m.url for m in self.members}

    def key_dir(self, name: str) -> Path:
        return self.data_dir / "keys" / name

    def challenge_file(self, host: str) -> Path:
        return self.data_dir / "challenges" / f"{host}.txt"

    def discoms(self) -> list[Member]:
        return [m for m in self.members if m.participant_type == "discom"]

    def write(self) -> Path:
        path = self.data_dir / "plan.json"
        members = [asdict(m) for m in self.members]
        path.write_text(json.dumps({"members": members, "extra": self.extra}, indent=1))
        return path

    @classmethod
    def read(cls, path: Path) -> Plan:
        raw = json.loads(path.read_text())
        members = tuple(
            Member(
                **{
                    **m,
                    "domains": tuple(m["domains"]),
                    "networks": tuple(m["networks"]),
                    "issues": tuple(m["issues"]),
                }
            )
            for m in raw["members"]
        )
        return cls(members, path.parent, raw.get("extra", {}))


DISCOM_ISSUES = (
    "ElectricityCredential",
    "MeterDataCredential",
    "MeterDataRequestCredential",
    "DERCredential",
)


def network_plan(first_port: int, data_dir: Path, *, tls: bool = False) -> Plan:
    """The whole network, on ``first_port`` and the ports after it; on HTTPS if ``tls``."""

    def host(name: str) -> str:
        return f"{name}.{DOMAIN_SUFFIX}"

    both = (DATA_NETWORK, P2P_NETWORK)
    discom_networks = (*both, DER_NETWORK)
    members = (
        Member("registry", "Directory & registry (network authority)", AUTHORITY,
               "sandbox.participants.registry:app", first_port, "BPP", "regulator",
               ("ies:directory",), both),
        Member("gateway", "Beckn gateway (BG)", host("gateway"),
               "sandbox.participants.gateway:app", first_port + 1, "BG", "regulator",
               (METER_DATA, "ies:p2p-trading"), both),
        Member("discom-mh", "MSEDCL (discom, Maharashtra)", host("discom-mh"),
               "sandbox.participants.discom:app", first_port + 2, "BPP", "discom",
               (METER_DATA, "ies:outage", "ies:filing", DER_ONBOARDING), discom_networks,
               "IN-MH", "MSEDCL",
               DISCOM_ISSUES, "MERC-DL-SANDBOX-MSEDCL"),
        Member("discom-ka", "BESCOM (discom, Karnataka)", host("discom-ka"),
               "sandbox.participants.discom:app", first_port + 3, "BPP", "discom",
               (METER_DATA, "ies:outage", "ies:filing", DER_ONBOARDING), discom_networks,
               "IN-KA", "BESCOM",
               DISCOM_ISSUES, "KERC-DL-SANDBOX-BESCOM"),
        Member("bank", "Bank (third-party app, BAP)", host("bank"),
               "sandbox.participants.bank:app", first_port + 4, "BAP", "third_party_app",
               (METER_DATA,), (DATA_NETWORK,)),
        Member("consent", "Consent manager", host("consent"),
               "sandbox.participants.consent:app", first_port + 5, "BPP", "consent_manager",
               ("ies:consent",), (DATA_NETWORK,)),
        # The test laboratory: equipment certificates (inverters, PV modules, batteries).
        Member("certifier", "Certifier (test laboratory)", host("certifier"),
               "sandbox.participants.certifier:app", first_port + 6, "BPP", "certifier",
               ("ies:certification",), (DATA_NETWORK,),
               issues=("AssetCertificationCredential",)),
        Member("regulator", "Regulator (SERC policy decisions)", host("regulator"),
               "sandbox.participants.regulator:app", first_port + 7, "BAP", "regulator",
               ("ies:filing",), (DATA_NETWORK,)),
        Member("p2p", "P2P trading platform", host("p2p"),
               "sandbox.participants.p2p:app", first_port + 8, "BAP", "p2p_platform",
               ("ies:p2p-trading",), (P2P_NETWORK,),
               issues=("P2PTradingPermissionCredential",)),
        # The state nodal agency (MEDA's role in Maharashtra): installer empanelment.
        Member("nodal-agency", "State nodal agency (installer empanelment)", host("nodal-agency"),
               "sandbox.participants.certifier:app", first_port + 13, "BPP", "certifier",
               ("ies:certification",), (DER_NETWORK,),
               issues=("InstallerLicenceCredential",)),
        # A rooftop solar installer applying to discoms on its customers' behalf (a BAP).
        Member("installer", "Rooftop solar installer (BAP)", host("installer"),
               "sandbox.participants.installer:app", first_port + 14, "BAP", "third_party_app",
               (DER_ONBOARDING,), (DER_NETWORK,)),
        # Not a Beckn participant: the web console people use; it reads the others' APIs
        # (sandbox.onboarding registers its key and role for machine tokens, no network).
        Member("console", "Web console (consumers, discoms, platform, regulator)",
               host("console"), "sandbox.console.app:app", first_port + 12, "", "console",
               (), ()),
    )  # fmt: skip
    scheme = "https" if tls else "http"
    return Plan(tuple(replace(member, scheme=scheme) for member in members), data_dir)
