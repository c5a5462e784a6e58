"""The credentials stack on real HTTP: the directory (registry app) and the credentials
service on uvicorn, a discom issuer whose keys stay in its custody, the network
operator's trust registry, and a consumer holding a did:key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from credentials.app import CredentialSettings, create_app, verifier_ports
from credentials.dedi import DediReader, DediWriter, HttpStatusLists
from credentials.keys import EncryptedFileCustody, KeyAlgorithm
from credentials.ports import VerifierPorts
from credentials.service import CredentialService, IssuerProfile
from schemas.credentials import CREDENTIAL_TYPES
from tests.registry.directory.conftest import (  # noqa: F401 - fixtures
    Participant,
    Stack,
    make_participant,
    onboard,
    serve,
    stack,
)
from tests.tokens import TestIssuer

TOKENS: dict[str, TestIssuer] = {}  # the current stack's token issuer, by audience

MIGRATIONS = "credentials:migrations"
ISSUER_HOST = "discom-a.example"
ISSUER = f"did:web:{ISSUER_HOST}"
ANCHOR = "indiaenergystack.in"
TRUST_REGISTRY = "credential-issuers"
# The discom is trusted for every type but installer licences (a licensing body's job).
AUTHORISED = sorted(set(CREDENTIAL_TYPES) - {"InstallerLicenceCredential"})


@dataclass
class Holder:
    """A consumer's wallet: a did:key whose key stays in its own custody."""

    did: str
    custody: EncryptedFileCustody
    key_id: str = "wallet"


@dataclass
class CredStack:
    directory: Stack
    url: str
    http: httpx.Client
    service: CredentialService
    issuer: IssuerProfile
    discom: Participant
    anchor: Participant
    holder: Holder
    reader: DediReader
    lists: HttpStatusLists
    ports: VerifierPorts

    def issue(self, credential_type: str, subject: dict, **options: object) -> httpx.Response:
        credential: dict[str, object] = {
            "type": credential_type,
            "issuer": ISSUER,
            "credentialSubject": subject,
        }
        for name in ("validFrom", "validUntil"):
            if name in options:
                credential[name] = options.pop(name)
        return self.http.post(
            "/credentials/issue", json={"credential": credential, "options": options}
        )

    def verify(self, presented: object) -> dict:
        response = self.http.post("/credentials/verify", json={"verifiableCredential": presented})
        assert response.status_code == 200, response.text
        return response.json()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


@pytest.fixture
def creds(stack: Stack, make_database, tmp_path: Path) -> Iterator[CredStack]:  # noqa: F811
    discom = make_participant(stack, tmp_path, ISSUER_HOST)
    anchor = make_participant(stack, tmp_path, ANCHOR)
    onboard(stack, discom)
    onboard(stack, anchor)
    custody = discom.custody
    custody.create("vc-es256", KeyAlgorithm.P256)
    custody.create("vc-ed25519", KeyAlgorithm.ED25519)
    writer = DediWriter(
        stack.http,
        ISSUER_HOST,
        f"{ISSUER_HOST}#{discom.owner_key_id}",
        lambda message: custody.sign(discom.owner_key_id, message),
    )
    assert writer.create_registry("vc-revocation-registry", "revocation").status_code == 201
    assert writer.create_registry("key", "key").status_code == 201
    issuer = IssuerProfile(
        did=ISSUER,
        name="Discom A (Maharashtra)",
        custody=custody,
        revocations=writer,
        directory_url=stack.directory_url,
        license_number="MERC-DL-2026-001",
    )
    now = datetime.now(UTC)
    for key, jwk in issuer.jwks():
        published = writer.publish_key(key, jwk, now - timedelta(seconds=1))
        assert published.status_code == 200, published.text
    assert (
        anchor.writer.create_registry(ANCHOR, TRUST_REGISTRY, "participant_role").status_code == 201
    )
    authorised = anchor.writer.put_record(
        ANCHOR,
        TRUST_REGISTRY,
        "discom-a",
        {
            "subscriber_id": ISSUER,
            "participant_type": "discom",
            "states": ["IN-MH"],
            "domains": [f"vc:{kind}" for kind in AUTHORISED],
            "actions": ["issue_credentials"],
            "valid_from": _utc(now - timedelta(seconds=1)),
        },
    )
    assert authorised.status_code == 200, authorised.text
    holder_custody = EncryptedFileCustody(
        tmp_path / "keys" / "wallet", b"correct horse battery staple"
    )
    from credentials.did import did_key_for

    holder = Holder(
        did_key_for(
            KeyAlgorithm.ED25519, holder_custody.create("wallet", KeyAlgorithm.ED25519).raw
        ),
        holder_custody,
    )

    settings = CredentialSettings(
        database_url=make_database(MIGRATIONS),
        migrate_on_start=False,
        log_level="WARNING",
        directory_url=stack.directory_url,
        trust_namespace=ANCHOR,
        trust_registry=TRUST_REGISTRY,
        status_ttl_seconds=0,
        status_list_ttl_seconds=0,
        did_ttl_seconds=60,
    )
    placeholder = VerifierPorts(None, None, None, None)  # type: ignore[arg-type]
    app = create_app(settings, issuers={ISSUER: issuer}, ports=placeholder)
    # The issuer's own machine token (issue 15): issuing and status changes need one.
    token = TOKENS[ISSUER_HOST] = TestIssuer()  # tests of the doors mint their own
    token.install(app, ISSUER_HOST)
    own = token.headers(ISSUER_HOST, ["credentials:issue", "credentials:status"],
                        subject=ISSUER_HOST)  # fmt: skip
    with (
        serve(app) as url,
        httpx.Client(base_url=url, timeout=20, headers=own) as http,
        httpx.Client(base_url=stack.directory_url, timeout=10) as directory,
        httpx.Client(timeout=10) as client,
    ):
        # The sandbox's DNS: the issuer's host is served by the credentials service.
        settings.hosts = {ISSUER_HOST: url}
        settings.public_url = url
        ports, reader, lists = verifier_ports(settings, directory, client)
        service: CredentialService = app.state.credentials
        service.ports = ports
        service.public_url = url
        yield CredStack(
            stack, url, http, service, issuer, discom, anchor, holder, reader, lists, ports
        )
    app.state.engine.dispose()
