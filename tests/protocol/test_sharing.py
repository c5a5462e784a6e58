"""Large datasets over real HTTP: a BAP pulls a MeterData result page by page through
signed status/on_status pairs (IES BAP-pull), and fetches a signed DOWNLOAD link; every
cursor and link attack is refused, naming its step, with nothing handed over or leaked."""

from __future__ import annotations

import base64
import copy
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from protocol.api import download_router
from protocol.client import new_context
from protocol.datasets import pagination_tags, sign_download_url
from protocol.receiving import Inbound, Unit
from protocol.sharing import CHECK_STEP, DataProvider, DatasetPull, DatasetShelf, HeldDataset
from protocol.signing import sign
from protocol.store import PageCursorRow
from tests.schemas import oracle as ies

from . import oracle
from .conftest import NETWORK, Member, Node, serve_on
from .test_receiver import STATUS_MESSAGE

SECRET = b"bpp dataset secret"
COLLECTION = "ami-meter-blr-zone-a-2026-05"
REQUEST: dict[str, Any] = {
    "@context": "https://india-energy-stack.github.io/ies-accelerator/schemas/MeterDataRequest/v0.6/context.jsonld",
    "@type": "MeterDataRequest",
    "resources": ["did:web:discom.example:meters:zone-a"],
    "scope": "ResourceAndChildren",
    "from": "2026-05-18T10:00:00+05:30",
    "duration": "PT1H",
    "consumerConsent": ["urn:uuid:5f0c2a52-0d1e-4f55-9d0a-52a0c8f7a001"],
    "capabilitiesRequested": {
        "profiles": [
            {
                "profileType": "InstantaneousProfile",
                "readings": [{"value": "V_R", "mode": "READING"}, {"value": "I_R"}],
            }
        ]
    },
    "maxRecordsShared": 5,
}


def meter_readings(count: int) -> list[dict[str, Any]]:
    """A MeterData v0.6 result: one instantaneous profile per meter of the zone."""
    return [
        {
            "profileType": "INSTANTANEOUS",
            "meterRefs": [{"scheme": "METER_SERIAL", "value": f"BLR-A-{i:05d}"}],
            "timestamp": "2026-05-18T10:00:00+05:30",
            "readings": [
                {"readingType": "V_R", "value": 230.0 + i / 10},
                {"readingType": "I_R", "value": 4.0 + i / 100},
            ],
        }
        for i in range(count)
    ]


def status_with_request(bap: Member, bpp: Member, request: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = copy.deepcopy(STATUS_MESSAGE)
    message["contract"]["commitments"][0]["commitmentAttributes"] = request
    return {
        "context": new_context(
            "status",
            network_id=NETWORK,
            bap_id=bap.subscriber_id,
            bap_uri=bap.url,
            bpp_id=bpp.subscriber_id,
            bpp_uri=bpp.url,
        ),
        "message": message,
    }


@dataclass
class Sharing:
    bap: Member
    bpp: Member
    bap_node: Node
    bpp_node: Node
    provider: DataProvider
    pull: DatasetPull
    bpp_base: str
    status: dict[str, Any]

    def hold(self, records: list[Any], **options: Any) -> HeldDataset:
        held = HeldDataset(
            requester=self.bap.subscriber_id,
            transaction_id=self.status["context"]["transactionId"],
            collection_id=COLLECTION,
            records=records,
            max_records=REQUEST["maxRecordsShared"],
            **options,
        )
        self.provider.shelf.put(held)
        return held

    def refused(self, document_or_cursor: Any, *, status: dict[str, Any] | None = None) -> Any:
        """Send a status carrying this cursor; the sender's view of the NACK."""
        delivery, _ = self.pull.request(
            self.bpp.url,
            self.bpp.subscriber_id,
            status or self.status,
            COLLECTION,
            document_or_cursor,
        )
        assert not delivery.acknowledged
        assert delivery.ack is not None
        return delivery


@pytest.fixture
def sharing(network, make_node):
    bap = network.join("bap.example", "BAP")
    bpp = network.join("bpp.example", "BPP")
    pull_ref: list[DatasetPull] = []
    provider_ref: list[DataProvider] = []

    def bap_handler(message: Inbound, unit: Unit) -> None:
        pull_ref[0].take(message, unit)

    def answer(node: Node, message: Inbound, unit: Unit) -> None:
        if message.action == "status":
            assert provider_ref[0].answer_status(message, unit, node.beckn.outbox)

    bap_node = make_node(bap, handler=bap_handler)
    bpp_node = make_node(
        bpp,
        respond=answer,
        checks=[(CHECK_STEP, lambda context, message: provider_ref[0].check(context, message))],
    )
    provider = DataProvider(
        shelf=DatasetShelf(),
        secret=SECRET,
        store=bpp_node.store,
        lookup=network.stack.directory,
        subscriber_id=bpp.subscriber_id,
        bpp_uri=bpp.url,
        download_base=f"http://127.0.0.1:{bpp.port}",
    )
    provider_ref.append(provider)
    bpp_node.app.include_router(download_router(provider))
    pull = DatasetPull(bap_node.beckn.exchange, bap_node.http)
    pull_ref.append(pull)
    with serve_on(bpp_node.app, bpp.port) as bpp_base, serve_on(bap_node.app, bap.port):
        bpp_node.beckn.start_worker(interval=0.02)
        yield Sharing(
            bap,
            bpp,
            bap_node,
            bpp_node,
            provider,
            pull,
            bpp_base,
            status_with_request(bap, bpp, REQUEST),
        )
        bpp_node.beckn.stop_worker()


def test_a_bap_pulls_every_page_of_a_large_meter_data_result_as_signed_callbacks(sharing):
    held = sharing.hold(meter_readings(23))
    pulled = sharing.pull.pull(
        sharing.bpp.url, sharing.bpp.subscriber_id, sharing.status, COLLECTION
    )

    assert pulled.records == held.records
    assert [p.info.sequence for p in pulled.pages] == [1, 2, 3, 4, 5]
    assert [len(p.records) for p in pulled.pages] == [5, 5, 5, 5, 3]
    assert [p.info.is_last for p in pulled.pages] == [False] * 4 + [True]
    transaction = sharing.status["context"]["transactionId"]
    message_ids = set()
    for page in pulled.pages:
        document = page.message.document
        # Each page: a Beckn v2.0.0 on_status, solicited (four-line signature binding the
        # BAP's status, requestDigest set), carrying MeterData v0.6 the official schema takes.
        assert oracle.request_errors("on_status", document) == []
        assert page.message.signature.headers[-1] == "request-signature"
        assert document["context"]["requestDigest"]["digest"].startswith("BLAKE-512=")
        assert document["context"]["transactionId"] == transaction
        assert ies.official_errors(page.records) == []
        message_ids.add(document["context"]["messageId"])
    assert len(message_ids) == 5  # one status (new messageId) per page, same transaction
    # The statuses the BAP sent (with the IES pagination tag and a MeterDataRequest).
    sent = [m for m in sharing.bpp_node.received if m.action == "status"]
    assert len(sent) == 5
    for status in sent:
        assert oracle.request_errors("status", status.document) == []
        tags = status.document["message"]["tags"]
        assert tags[0]["descriptor"]["code"] == "pagination"
        request = status.document["message"]["contract"]["commitments"][0]["commitmentAttributes"]
        assert ies.official_request_errors(request) == []
    assert "pageCursor" not in json.dumps(sent[0].document["message"]["tags"])
    with sharing.bpp_node.store.engine.connect() as connection:
        served = connection.exec_driver_sql(
            f"SELECT count(*) FROM {PageCursorRow.__tablename__}"
        ).scalar()
    assert served == 4

    # Replayed: the second page's cursor, presented again in a new status.
    received = len(sharing.bpp_node.received)
    replayed = sharing.refused(pulled.pages[0].info.next_cursor)
    assert (replayed.http_status, replayed.ack.error_code, replayed.ack.step) == (
        409,
        "40903",
        "checkPageCursor",
    )
    assert len(sharing.bpp_node.received) == received


def test_tampered_foreign_and_malformed_cursors_are_nacked_at_check_page_cursor(sharing):
    sharing.hold(meter_readings(12))
    first, _ = sharing.pull.request(
        sharing.bpp.url, sharing.bpp.subscriber_id, sharing.status, COLLECTION, None
    )
    cursor = sharing.pull.answer_to(first).document["message"]["contract"]["performance"][0][
        "performanceAttributes"
    ]["pageInfo"]["nextCursor"]
    claims, mac = cursor.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    forged_claims = {**decoded, "o": 0, "s": 1000}  # skip the consent's page size
    forged = (
        base64.urlsafe_b64encode(json.dumps(forged_claims, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    # The same dataset held for another transaction of the same BAP.
    other = copy.deepcopy(sharing.status)
    other["context"]["transactionId"] = "2b1f0d8e-0000-4000-8000-00000000beef"
    sharing.provider.shelf.put(
        HeldDataset(sharing.bap.subscriber_id, other["context"]["transactionId"], COLLECTION, [], 5)
    )
    received = len(sharing.bpp_node.received)
    outbox = len(sharing.bpp_node.outbox_rows())
    attacks = [
        sharing.refused(f"{forged}.{mac}"),
        sharing.refused(cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")),
        sharing.refused("not-a-cursor"),
        sharing.refused(cursor, status=other),
    ]
    # Two cursors in one pagination tag; a cursor for a dataset never offered.
    twice = copy.deepcopy(sharing.status)
    twice["message"]["tags"] = pagination_tags(COLLECTION, cursor)
    twice["message"]["tags"][0]["list"].append({"descriptor": {"code": "pageCursor"}, "value": "x"})
    twice["context"]["messageId"] = "5a0e5f1c-0000-4000-8000-000000000001"
    raw = sharing.pull.exchange.send(sharing.bpp.url, sharing.bpp.subscriber_id, twice)
    attacks.append(raw)
    unknown, _ = sharing.pull.request(
        sharing.bpp.url, sharing.bpp.subscriber_id, sharing.status, "someone-elses-data", None
    )
    attacks.append(unknown)
    for delivery in attacks:
        assert delivery.ack is not None
        assert (delivery.http_status, delivery.ack.error_code, delivery.ack.step) == (
            400,
            "40007",
            "checkPageCursor",
        ), delivery.ack
    assert len(sharing.bpp_node.received) == received
    assert len(sharing.bpp_node.outbox_rows()) == outbox
    # The genuine cursor still works once.
    genuine, _ = sharing.pull.request(
        sharing.bpp.url, sharing.bpp.subscriber_id, sharing.status, COLLECTION, cursor
    )
    assert genuine.acknowledged


def test_an_invalid_meter_data_request_is_nacked_by_the_payload_step(sharing):
    sharing.hold(meter_readings(3))
    bad = copy.deepcopy(REQUEST)
    bad["capabilitiesRequested"]["profiles"][0]["readings"][0]["mode"] = "USAGE"  # V_R: READING
    delivery, _ = sharing.pull.request(
        sharing.bpp.url,
        sharing.bpp.subscriber_id,
        status_with_request(sharing.bap, sharing.bpp, bad),
        COLLECTION,
        None,
    )
    assert delivery.ack is not None
    assert (delivery.http_status, delivery.ack.error_code, delivery.ack.step) == (
        400,
        "40005",
        "validateSchema",
    )
    message = delivery.ack.error_message or ""
    assert "commitmentAttributes/capabilitiesRequested/profiles/0/readings/0/mode" in message
    assert "MeterDataRequest/v0.6" in message
    assert sharing.bpp_node.received == []


def _signed_get(member: Member, url: str, *, target_url: str | None = None) -> httpx.Response:
    signed = httpx.URL(target_url or url)
    target = f"GET {signed.path}?{signed.query.decode()}".encode()
    created = int(time.time())
    return httpx.get(
        url, headers={"Authorization": sign(target, member.signer, created, created + 30)}
    )


def test_a_download_link_in_on_status_is_fetched_over_http_and_every_misuse_refused(
    sharing, network
):
    held = sharing.hold(meter_readings(40), access="DOWNLOAD")
    delivery, _ = sharing.pull.request(
        sharing.bpp.url, sharing.bpp.subscriber_id, sharing.status, COLLECTION, None
    )
    answer = sharing.pull.answer_to(delivery)
    assert oracle.request_errors("on_status", answer.document) == []
    attributes = answer.document["message"]["contract"]["performance"][0]["performanceAttributes"]
    assert attributes["dataset:accessMethod"] == "DOWNLOAD"
    url = attributes["dataset:downloadUrl"]
    assert f"requester={sharing.bap.subscriber_id}" in url

    body = sharing.pull.download(attributes, sharing.bap.signer)
    assert json.loads(body) == held.records
    assert ies.official_errors(json.loads(body)) == []
    assert attributes["dataset:fileSizeBytes"] == len(body)

    other = network.join("bap2.example", "BAP")
    link = httpx.URL(url)
    expires = int(dict(link.params)["expires"])
    base = f"{sharing.bpp_base}/datasets/{COLLECTION}"
    expired = sign_download_url(base, SECRET, int(time.time()) - 1, sharing.bap.subscriber_id)
    other_collection = url.replace(COLLECTION, "ami-meter-blr-zone-b-2026-05")
    later = url.replace(f"expires={expires}", f"expires={expires + 3600}")
    moved = url.replace(
        f"requester={sharing.bap.subscriber_id}", f"requester={other.subscriber_id}"
    )
    unbound = sign_download_url(base, SECRET, expires)
    cases = {
        "expired": (_signed_get(sharing.bap, expired), 403),
        "altered path": (_signed_get(sharing.bap, other_collection), 403),
        "altered expiry": (_signed_get(sharing.bap, later), 403),
        "requester moved": (_signed_get(other, moved), 403),
        "unbound link": (_signed_get(sharing.bap, unbound), 403),
        "another subscriber": (_signed_get(other, url), 403),
        "unsigned fetch": (httpx.get(url), 401),
        "signature for another link": (_signed_get(sharing.bap, url, target_url=later), 401),
    }
    secret_value = str(held.records[7]["readings"][0]["value"])
    for name, (response, status) in cases.items():
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert "BLR-A-" not in response.text, name
        assert secret_value not in response.text, name
