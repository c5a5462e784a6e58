"""Real papers for the DER onboarding tests: the credentials service on a real uvicorn
with three issuers (a discom, the state nodal agency, a test laboratory), each
authorised in the operator's trust registry for its own credential types only, their
keys in custody and published in the directory, revocation through their DeDi
registries and status lists, and a consumer's wallet (a did:key).

Everything the verifier checks is real: the issuer's did:web key, the trust registry,
validity, revocation and suspension, the holder's proof over the verifier's challenge.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, func, select

from credentials.app import CredentialSettings, create_app, verifier_ports
from credentials.dedi import DediWriter
from credentials.did import did_key_for
from credentials.keys import EncryptedFileCustody, KeyAlgorithm
from credentials.ports import VerifierPorts
from credentials.service import CredentialService, IssuerProfile
from credentials.store import IssuedRow
from sandbox.usecases.common import Wallet
from tests.credentials.samples import subjects
from tests.registry.directory.conftest import Stack, make_participant, onboard, serve

DISCOM_HOST = "discom-a.example"
AGENCY_HOST = "agency.example"
LAB_HOST = "lab.example"
DISCOM_DID = f"did:web:{DISCOM_HOST}"
AGENCY_DID = f"did:web:{AGENCY_HOST}"
LAB_DID = f"did:web:{LAB_HOST}"
# Its own trust anchor: a test may also run a Beckn network under indiaenergystack.in.
ANCHOR = "trust-anchor.example"
TRUST_REGISTRY = "credential-issuers"
# Who the operator trusts for what: each issuer for its own types only.
AUTHORISED = {
    DISCOM_HOST: ("discom", ("ElectricityCredential", "DERCredential")),
    AGENCY_HOST: ("certifier", ("InstallerLicenceCredential",)),
    LAB_HOST: ("certifier", ("AssetCertificationCredential",)),
}
STANDARDS = {"INVERTER": ["IEC 61727", "IEC 62116", "IEC 62109-1"],
             "SOLAR_PV": ["IEC 61215", "IEC 61730"]}  # fmt: skip


@dataclass
class Papers:
    """The issuers, the verifier and the consumer's wallet."""

    service: CredentialService
    url: str
    holder: Wallet

    def issue(self, issuer: str, kind: str, subject: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        return self.service.issue(issuer, kind, subject, valid_from=now,
                                  valid_until=now + timedelta(days=365))  # fmt: skip

    def passport(self, consumer_id: str, issuer: str = DISCOM_DID) -> str:
        subject = copy.deepcopy(subjects(self.holder.did)["ElectricityCredential"])
        subject["customerProfile"]["customerNumber"] = consumer_id
        secured: str = self.issue(issuer, "ElectricityCredential", subject)["verifiableCredential"]
        return secured

    def licence(self, installer: str, status: str | None = None, issuer: str = AGENCY_DID) -> str:
        """The installer's licence; revoked or suspended by its issuer when ``status``."""
        subject = {**subjects(installer)["InstallerLicenceCredential"], "id": installer}
        issued = self.issue(issuer, "InstallerLicenceCredential", subject)
        if status is not None:
            self.service.change_status(issued["id"], status, "test")  # type: ignore[arg-type]
        secured: str = issued["verifiableCredential"]
        return secured

    def certificate(self, kind: str, serial: str, kw: float, issuer: str = LAB_DID) -> str:
        subject = {"id": f"urn:ies:equipment:{serial}", "assetCertification": {
            "assetType": kind, "make": "SandboxSolar", "model": "SS", "serialNumber": serial,
            "ratedPower": {"value": kw, "unit": "kW"}, "standards": STANDARDS[kind],
            "certificateNumber": f"TL-{serial}", "testLaboratory": "Test lab",
            "testedAt": "2026-02-01T09:00:00+05:30", "result": "pass"}}  # fmt: skip
        secured: str = self.issue(issuer, "AssetCertificationCredential", subject)[
            "verifiableCredential"
        ]
        return secured

    def present(self, credentials: list[Any], domain: str) -> dict[str, Any]:
        """The wallet's presentation, bound to a challenge the verifier made for ``domain``."""
        challenge = self.service.new_challenge(domain)["challenge"]
        return self.holder.present(credentials, challenge, domain)

    def issued(self, kind: str) -> int:
        """How many credentials of ``kind`` the service has issued."""
        with Session(self.service.engine) as session:
            query = select(func.count()).where(IssuedRow.credential_type == kind)
            return int(session.exec(query).one())


def _authorise(stack: Stack, tmp_path: Path, anchor: Any, host: str) -> IssuerProfile:
    """The issuer's namespace claimed and proven, its keys made and published, its
    revocation registry created, and the operator's trust record for its types."""
    kind, types = AUTHORISED[host]
    stack.host_map[host] = stack.hosts_url  # its domain proof is published there
    org = make_participant(stack, tmp_path, host)
    onboard(stack, org)
    custody = org.custody
    custody.create("vc-es256", KeyAlgorithm.P256)
    custody.create("vc-ed25519", KeyAlgorithm.ED25519)
    owner = org.owner_key_id
    writer = DediWriter(stack.http, host, f"{host}#{owner}", lambda m: custody.sign(owner, m))
    assert writer.create_registry("vc-revocation-registry", "revocation").status_code == 201
    assert writer.create_registry("key", "key").status_code == 201
    profile = IssuerProfile(did=f"did:web:{host}", name=host, custody=custody,
                            revocations=writer, directory_url=stack.directory_url)  # fmt: skip
    now = datetime.now(UTC)
    for key, jwk in profile.jwks():
        assert writer.publish_key(key, jwk, now - timedelta(seconds=1)).status_code == 200
    trusted = anchor.writer.put_record(ANCHOR, TRUST_REGISTRY, host.split(".")[0], {
        "subscriber_id": profile.did, "participant_type": kind, "states": ["IN-MH"],
        "domains": [f"vc:{t}" for t in types], "actions": ["issue_credentials"],
        "valid_from": (now - timedelta(seconds=1)).isoformat()})  # fmt: skip
    assert trusted.status_code == 200, trusted.text
    return profile


@pytest.fixture
def real_papers(stack: Stack, make_database: Any, tmp_path: Path) -> Iterator[Papers]:
    tmp_path = tmp_path / "papers"
    stack.host_map[ANCHOR] = stack.hosts_url
    anchor = make_participant(stack, tmp_path, ANCHOR)
    onboard(stack, anchor)
    created = anchor.writer.create_registry(ANCHOR, TRUST_REGISTRY, "participant_role")
    assert created.status_code == 201, created.text
    issuers = {p.did: p for p in (_authorise(stack, tmp_path, anchor, h) for h in AUTHORISED)}
    custody = EncryptedFileCustody(tmp_path / "keys" / "wallet", b"correct horse battery staple")
    raw = custody.create("wallet", KeyAlgorithm.ED25519).raw
    holder = Wallet(did_key_for(KeyAlgorithm.ED25519, raw), custody)
    settings = CredentialSettings(
        database_url=make_database("credentials:migrations"), migrate_on_start=False,
        log_level="WARNING", directory_url=stack.directory_url, trust_namespace=ANCHOR,
        trust_registry=TRUST_REGISTRY, status_ttl_seconds=0, status_list_ttl_seconds=0,
        did_ttl_seconds=60,
    )  # fmt: skip
    placeholder = VerifierPorts(None, None, None, None)  # type: ignore[arg-type]
    app = create_app(settings, issuers=issuers, ports=placeholder)
    with (
        serve(app) as url,
        httpx.Client(base_url=stack.directory_url, timeout=10) as directory,
        httpx.Client(timeout=10) as client,
    ):
        # The sandbox's DNS: every issuer's host is served by the credentials service.
        settings.hosts = dict.fromkeys(AUTHORISED, url)
        settings.public_url = url
        service: CredentialService = app.state.credentials
        service.ports = verifier_ports(settings, directory, client)[0]
        service.public_url = url
        yield Papers(service, url, holder)
    app.state.engine.dispose()
