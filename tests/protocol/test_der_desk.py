"""The DER desk over real Beckn HTTP, a real registry, real credentials and the signed
packs.

A BAP sends ``confirm``s carrying applications to a BPP whose handler is the desk; the
desk decides against the registry's app (connection, DT, the DERs under it) and the
signed packs. The consumer's presentation is signed by a real wallet over the desk's
challenge and holds papers real issuers signed (``der_papers``: a discom, the nodal
agency, a test laboratory, each trusted for its own types); the desk's verifier is the
real credentials service and its issuer the discom's (the sandbox's ``DiscomIssuer``),
so a revoked licence is revoked in the directory, and "nothing issued" is counted in
the issuer's own records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from credentials.proofs import read_jwt
from credentials.verify import PresentationVerdict
from kernel.database import create_db_engine
from policy_packs import SHIPPED_KEYRING, SHIPPED_PACKS, EmbeddedEngine, FileKeyring, load_catalogue
from protocol.client import new_context
from protocol.der.grid import HttpGrid
from protocol.der.service import DerDesk, PackPolicy
from protocol.der.store import ApplicationRow, DerStore
from protocol.receiving import Inbound, Unit
from protocol.store import OutboxRow
from registry.app import RegistrySettings, create_app
from sandbox.participants.discom_der_onboarding import DiscomIssuer
from tests.protocol.der_papers import DISCOM_DID, Papers
from tests.tokens import authorise_registry

from .conftest import NETWORK, serve_on

GRID_SINCE = "2020-01-01T00:00:00+05:30"


@pytest.fixture
def registry(make_database) -> Iterator[TestClient]:
    settings = RegistrySettings(database_url=make_database("registry:migrations"),
                                migrate_on_start=False, log_level="WARNING")  # fmt: skip
    app = create_app(settings)
    with TestClient(app) as client:
        authorise_registry(app, client)  # the discom's machine token: registry writes
        yield client
    app.state.engine.dispose()


def _create(client: TestClient, **body: Any) -> str:
    response = client.post("/identities", json={"valid_from": GRID_SINCE, **body})
    assert response.status_code == 201, response.text
    identity: str = response.json()["id"]
    return identity


def connection(client: TestClient, dt: str, load: float) -> str:
    """A consumer and their three-phase commercial connection under ``dt``."""
    address = {"state": "IN-MH", "discom": "MSEDCL"}
    consumer = _create(client, type="consumer", address=address)
    parents = {"consumer": {"id": consumer}, "distribution_transformer": {"id": dt}}
    attributes = {"category": "commercial", "sanctioned_load_kw": load, "phase": 3}
    _create(client, type="connection", address=address, attributes=attributes, parents=parents)
    return consumer


def application(
    capacity: float, case: str, presentation: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """An application as the installer sends it; ``case`` names its new meter."""
    return {
        "@context": "https://ies-stack.org/schemas/DERConnectionApplication/v1.0/context.jsonld",
        "@type": "DERConnectionApplication",
        "der": {"type": "solar_pv", "capacityKw": capacity}, "scheme": "net_metering",
        "equipment": [{"assetType": "INVERTER", "serialNumber": "INV-1"},
                      {"assetType": "SOLAR_PV", "serialNumber": "PVM-1"}],
        "meter": {"serialNumber": f"BM-{case}", "manufacturer": "SBX", "model": "m", "phase": 3},
        "commissioningDate": "2026-06-01", "presentation": presentation, **extra,
    }  # fmt: skip


class Desk:
    def __init__(
        self, network: Any, make_node: Any, make_database: Any, grid: TestClient, papers: Papers
    ) -> None:
        self.bap = network.join("installer.example", "BAP")
        self.bpp = network.join("discom.example", "BPP")
        url = make_database("protocol:migrations", "protocol.der:migrations")
        self.engine = create_db_engine(url)
        self.store = DerStore(self.engine)
        self.papers = papers
        self.sent = 0
        desks: list[DerDesk] = []

        def handle(message: Inbound, unit: Unit) -> None:
            desks[0].take(message, unit)

        self.bap_node = make_node(self.bap)
        self.bpp_node = make_node(self.bpp, handler=handle, database_url=url)
        catalogue = load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING))

        def verify(presentation: Any, domain: str) -> PresentationVerdict:
            return papers.service.verify_presentation(presentation, domain)

        desks.append(DerDesk(
            discom_did=DISCOM_DID, discom_code="MSEDCL", state="IN-MH",
            subscriber_id=self.bpp.subscriber_id, bpp_uri=self.bpp.url, store=self.store,
            verify=verify, grid=HttpGrid(grid, state="IN-MH", discom="MSEDCL"),
            policy=PackPolicy(catalogue, EmbeddedEngine()),
            issuer=DiscomIssuer(papers.service, DISCOM_DID), outbox=self.bpp_node.beckn.outbox,
        ))  # fmt: skip
        self.desk = desks[0]
        self.installer = f"did:web:{self.bap.subscriber_id}"

    def presentation(
        self, consumer: str, inverter_kw: float, licence: str | None = None
    ) -> dict[str, Any]:
        """The consumer's presentation for the discom's challenge: their passport, the
        installer's licence (revoked or suspended by the agency when ``licence`` says
        so) and certificates for the inverter and the modules."""
        papers = self.papers
        return papers.present([
            papers.passport(consumer), papers.licence(self.installer, licence),
            papers.certificate("INVERTER", "INV-1", inverter_kw),
            papers.certificate("SOLAR_PV", "PVM-1", inverter_kw),
        ], self.bpp.subscriber_id)  # fmt: skip

    def der_credentials(self) -> int:
        return self.papers.issued("DERCredential")

    def send(self, base: str, body: dict[str, Any], message_id: str | None = None) -> Any:
        context = new_context("confirm", network_id=NETWORK, bap_id=self.bap.subscriber_id,
                              bap_uri=self.bap.url, bpp_id=self.bpp.subscriber_id,
                              bpp_uri=self.bpp.url, message_id=message_id)  # fmt: skip
        contract = {"commitments": [{
            "id": "der-connection-1", "status": {"descriptor": {"code": "DRAFT"}},
            "resources": [{"id": "der-connection", "quantity": {"value": "1"}}],
            "offer": {"id": "der-connection", "resourceIds": ["der-connection"]},
            "commitmentAttributes": body,
        }]}  # fmt: skip
        document = {"context": context, "message": {"contract": contract}}
        return self.bap_node.beckn.exchange.send(f"{base}/beckn", self.bpp.subscriber_id, document)

    def apply(self, base: str, presentation: dict[str, Any], capacity: float,
              **extra: Any) -> dict[str, Any]:  # fmt: skip
        self.sent += 1
        sent = self.send(base, application(capacity, f"a{self.sent}", presentation, **extra))
        assert sent.acknowledged, sent.failure
        assert self.desk.decide_pending() == 1
        row = self.store.by_message(self.bap.subscriber_id, sent.prepared.context.message_id)
        assert row is not None
        assert row.verdict is not None
        return row.verdict

    def applications(self) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(ApplicationRow)).one())

    def answers(self) -> list[dict[str, Any]]:
        import json

        with Session(self.engine) as session:
            rows = session.exec(select(OutboxRow).where(OutboxRow.action == "on_confirm")).all()
            return [json.loads(r.body) for r in rows]


@pytest.fixture
def desk(
    network: Any, make_node: Any, make_database: Any, registry: TestClient, real_papers: Papers
) -> Desk:
    return Desk(network, make_node, make_database, registry, real_papers)


def der_count(registry: TestClient, under: str) -> int:
    page = registry.get("/identities", params={"type": "der", "under": under, "limit": 100})
    assert page.status_code == 200, page.text
    return len(page.json()["items"])


def test_a_malformed_application_is_nacked_and_nothing_is_kept(desk: Desk) -> None:
    with serve_on(desk.bpp_node.app, desk.bpp.port) as base:
        broken = application(5.0, "x", {})
        broken["der"]["capacityKw"] = -1
        sent = desk.send(base, broken)
    assert not sent.acknowledged
    assert sent.ack is not None
    assert sent.ack.error_code == "40005"
    assert desk.applications() == 0
    assert desk.bpp_node.received_rows() == 0


def test_approval_registers_der_and_meter_and_a_refusal_nothing(
    desk: Desk, registry: TestClient
) -> None:
    dt = _create(registry, type="distribution_transformer", address={"state": "IN-MH"},
                 attributes={"capacity_kva": 250, "hosting_capacity_kw": 75})  # fmt: skip
    first, second, third = (connection(registry, dt, load) for load in (80, 80, 16))
    with serve_on(desk.bpp_node.app, desk.bpp.port) as base:
        refused = desk.apply(base, desk.presentation(first, 70, licence="revoked"), 70)
        assert refused["outcome"] == "REJECTED"
        assert refused["refusedBy"] == ["DERAPP-003"]
        [licence] = [r for r in refused["rules"] if r["code"] == "DERAPP-003"]
        assert "status: revoked in agency.example/vc-revocation-registry" in licence["message"]
        assert der_count(registry, dt) == 0
        assert desk.der_credentials() == 0
        # Resubmitted with a licence in force: the same number, revision 2, approved.
        approved = desk.apply(base, desk.presentation(first, 70), 70,
                              resubmissionOf=refused["applicationNumber"])  # fmt: skip
        assert approved["outcome"] == "APPROVED", approved["explanation"]
        assert approved["applicationNumber"] == refused["applicationNumber"]
        revisions = desk.store.revisions(approved["applicationNumber"])
        assert [(r.revision, r.state) for r in revisions] == [(1, "REJECTED"), (2, "APPROVED")]
        der = registry.get(f"/identities/{approved['derId']}").json()
        assert der["attributes"]["capacity_kw"] == 70
        meter = registry.get(f"/identities/{approved['meterId']}/relations").json()
        assert [(r["parent_type"], r["parent"]) for r in meter] == [("der", approved["derId"])]
        assert der_count(registry, dt) == 1
        assert desk.der_credentials() == 1
        # The consumer's wallet collects a DERCredential any verifier accepts.
        delivery = approved["derCredential"]["delivery"]
        collected = desk.papers.service.deliver(delivery["uri"].rsplit("/", 1)[1],
                                                delivery["token"])  # fmt: skip
        assert desk.papers.service.verify(collected).verified
        assert isinstance(collected, str)
        claims = read_jwt(collected).payload["credentialSubject"]
        assert claims["id"] == desk.papers.holder.did
        assert claims["derConnection"]["derId"] == approved["derId"]
        assert claims["derConnection"]["capacity"] == {"value": 70.0, "unit": "kW"}
        # An approved application cannot be resubmitted.
        again = desk.apply(base, desk.presentation(first, 70), 70,
                           resubmissionOf=refused["applicationNumber"])  # fmt: skip
        assert again["refusedBy"] == ["DERAPP-006"]
        assert again["applicationNumber"] != refused["applicationNumber"]
        # 70 of 75 kW are taken: 5 more fit exactly, then the DT is full.
        fits = desk.apply(base, desk.presentation(second, 11), 5)
        assert fits["outcome"] == "APPROVED"  # exempt anyway (up to 10 kW)
        full = desk.apply(base, desk.presentation(third, 11), 11)
        assert full["outcome"] == "CHANGES_REQUESTED"
        assert full["refusedBy"] == ["DER-007"]
        assert der_count(registry, dt) == 2
        assert desk.der_credentials() == 2
    statuses = [a["message"]["contract"]["status"]["code"] for a in desk.answers()]
    assert statuses == ["CANCELLED", "ACTIVE", "CANCELLED", "ACTIVE", "DRAFT"]


def test_a_meter_already_registered_is_refused_before_anything_is_written(
    desk: Desk, registry: TestClient
) -> None:
    dt = _create(registry, type="distribution_transformer", address={"state": "IN-MH"},
                 attributes={"capacity_kva": 250})  # fmt: skip
    first, second = connection(registry, dt, 10), connection(registry, dt, 10)
    meter = {"serialNumber": "BM-SHARED", "manufacturer": "SBX", "model": "m", "phase": 3}
    with serve_on(desk.bpp_node.app, desk.bpp.port) as base:
        one = desk.apply(base, desk.presentation(first, 5), 5, meter=meter)
        assert one["outcome"] == "APPROVED"
        again = desk.apply(base, desk.presentation(second, 5), 5, meter=meter)
    assert again["outcome"] == "REJECTED"
    assert again["refusedBy"] == ["DERAPP-007"]
    assert der_count(registry, dt) == 1
    assert desk.der_credentials() == 1


def test_the_same_message_twice_is_one_application(desk: Desk, registry: TestClient) -> None:
    dt = _create(registry, type="distribution_transformer", address={"state": "IN-MH"},
                 attributes={"capacity_kva": 250})  # fmt: skip
    consumer = connection(registry, dt, 10)
    presented = desk.presentation(consumer, 5)
    with serve_on(desk.bpp_node.app, desk.bpp.port) as base:
        first = desk.send(base, application(5.0, "once", presented), message_id="m-1")
        second = desk.send(base, application(5.0, "once", presented), message_id="m-1")
    assert first.acknowledged
    assert not second.acknowledged
    assert desk.applications() == 1
