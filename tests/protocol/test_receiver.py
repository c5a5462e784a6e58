"""The receiving pipeline over real HTTP: the spec's examples replayed, every attack a
NACK naming its step with nothing handed over, and everything the sender produces
checked against the Beckn v2.0.0 OpenAPI (the oracle, read from ../shared)."""

from __future__ import annotations

import base64
import copy
import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from protocol.client import new_context
from protocol.sending import prepare
from protocol.signing import Binding, digest_value, parse_signature, sign

from . import oracle
from .conftest import NETWORK, OTHER_NETWORK, serve_on

STATUS_MESSAGE = {
    "contract": {
        "id": "770e9500-f30c-52e5-b827-557766551301",
        "commitments": [
            {
                "id": "c1",
                "status": {"descriptor": {"code": "ACTIVE"}},
                "resources": [{"id": "meter-data-2026-q1", "quantity": {"value": "1"}}],
                "offer": {"id": "offer-1", "resourceIds": ["meter-data-2026-q1"]},
            }
        ],
    }
}


def status_document(bap, bpp, **context):
    return {
        "context": new_context(
            "status",
            network_id=NETWORK,
            bap_id=bap.subscriber_id,
            bap_uri=bap.url,
            bpp_id=bpp.subscriber_id,
            bpp_uri=bpp.url,
            **context,
        ),
        "message": copy.deepcopy(STATUS_MESSAGE),
    }


def post(base, action, body, authorization, **headers):
    hdrs = {"Content-Type": "application/json", **headers}
    if authorization is not None:
        hdrs["Authorization"] = authorization
    return httpx.post(f"{base}/beckn/{action}", content=body, headers=hdrs, timeout=10)


@pytest.fixture
def pair(network, make_node):
    bap = network.join("bap.example", "BAP")
    bpp = network.join("bpp.example", "BPP")
    bpp_node = make_node(bpp)
    with serve_on(bpp_node.app, bpp.port) as base:
        yield network, bap, bpp, bpp_node, base


def signed(member, document, *, created=None, ttl=30, **kwargs):
    created = created if created is not None else int(time.time())
    return prepare(document, member.signer, created, ttl, **kwargs)


def test_a_signed_status_is_acked_handed_over_once_and_the_ack_verifies(pair):
    _network, bap, bpp, node, base = pair
    prepared = signed(bap, status_document(bap, bpp))
    assert oracle.request_errors("status", json.loads(prepared.body)) == []
    assert oracle.signature_errors(prepared.authorization) == []

    response = post(base, "status", prepared.body, prepared.authorization)

    assert response.status_code == 200, response.text
    ack = response.json()
    assert oracle.ack_errors("status", 200, ack) == []
    assert oracle.counter_signature_errors(ack["signature"]) == []
    assert ack["message"] == {"status": "ACK", "messageId": prepared.context.message_id}
    assert [m.context.message_id for m in node.received] == [prepared.context.message_id]
    # ONIX's Signature header: the exact response bytes, bound to our signature.
    header = parse_signature(response.headers["signature"])
    assert header.headers == ("(created)", "(expires)", "digest", "request-signature")
    assert header.expires - header.created == 300
    assert header.subscriber_id == bpp.subscriber_id
    steps = [part.split(";")[0] for part in response.headers["server-timing"].split(", ")]
    assert steps == [
        "parse",
        "validateSign",
        "checkFreshness",
        "checkReplay",
        "checkParticipant",
        "validateSchema",
        "checkRequestDigest",
        "handOver",
        "signAck",
    ]


def test_the_sender_verifies_the_ack_and_logs_the_exchange(pair):
    network, bap, bpp, node, base = pair
    from protocol.client import Exchange
    from protocol.store import ProtocolStore

    bap_node_store = ProtocolStore(node.beckn.store.engine)  # any migrated database will do
    with httpx.Client(timeout=10) as http:
        exchange = Exchange(bap.signer, network.stack.directory, bap_node_store, http)
        document = status_document(bap, bpp)
        delivery = exchange.send(f"{base}/beckn", bpp.subscriber_id, document)
    assert delivery.acknowledged
    assert delivery.ack is not None
    assert delivery.ack.header_verified
    assert delivery.ack.counter_verified
    logged = bap_node_store.messages(
        bap.subscriber_id, document["context"]["transactionId"], None, 10
    )
    assert [(m.direction, m.verdict, m.action) for m in logged] == [("out", "ACK", "status")]
    assert logged[0].signature == parse_signature(delivery.prepared.authorization).signature


# ------------------------------------------------------------------ the spec's examples


def _readdressed(example, bap, bpp):
    document = copy.deepcopy(example)
    context = document["context"]
    context.update(
        networkId=NETWORK,
        bapId=bap.subscriber_id,
        bapUri=bap.url,
        messageId=str(uuid.uuid4()),
        timestamp=datetime.now(UTC).isoformat(),
    )
    if context["action"] != "discover" or "bppId" in context:
        context.update(bppId=bpp.subscriber_id, bppUri=bpp.url)
    return document


REQUEST_EXAMPLES = [
    p
    for p in oracle.deg_examples()
    if not p.name.startswith("publish")
    and not oracle.load(p)["context"]["action"].startswith("on_")
]
CALLBACK_EXAMPLES = [
    p for p in oracle.deg_examples() if oracle.load(p)["context"]["action"].startswith("on_")
]


@pytest.mark.parametrize("path", REQUEST_EXAMPLES, ids=lambda p: f"{p.parent.name[:6]}-{p.stem}")
def test_the_specs_request_examples_replayed_through_a_bpp_agree_with_the_oracle(pair, path):
    _network, bap, bpp, node, base = pair
    document = _readdressed(oracle.load(path), bap, bpp)
    action = document["context"]["action"]
    # The example's own content, re-addressed to our participants and signed as bytes.
    body = json.dumps(document, ensure_ascii=False).encode()
    now = int(time.time())
    response = post(base, action, body, sign(body, bap.signer, now, now + 30))
    oracle_accepts = oracle.request_errors(action, document, formats=False) == []
    assert (response.status_code == 200) is oracle_accepts, response.text
    if not oracle_accepts:
        assert response.json()["error"]["step"] == "validateSchema"
    assert oracle.ack_errors(action, response.status_code, response.json()) == []
    assert len(node.received) == (1 if oracle_accepts else 0)


@pytest.mark.parametrize("path", CALLBACK_EXAMPLES, ids=lambda p: f"{p.parent.name[:6]}-{p.stem}")
def test_callback_examples_replayed_through_a_bap_agree_with_the_oracle(network, make_node, path):
    bap = network.join("bap.example", "BAP")
    bpp = network.join("bpp.example", "BPP")
    bap_node = make_node(bap)
    document = _readdressed(oracle.load(path), bap, bpp)
    action = document["context"]["action"]
    body = json.dumps(document, ensure_ascii=False).encode()
    now = int(time.time())
    authorization = sign(body, bpp.signer, now, now + 30)  # unsolicited: three lines
    with serve_on(bap_node.app, bap.port) as base:
        response = post(base, action, body, authorization)
    oracle_accepts = oracle.request_errors(action, document, formats=False) == []
    assert (response.status_code == 200) is oracle_accepts, response.text
    assert oracle.ack_errors(action, response.status_code, response.json()) == []
    assert len(bap_node.received) == (1 if oracle_accepts else 0)


# ------------------------------------------------------------------ attacks


def _refused(response, status, code, step):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "NACK"
    assert body["error"]["errorCode"] == code, body
    assert body["error"]["step"] == step, body
    assert oracle.ack_errors("status", status, body) == []
    # NACKs are signed too (ONIX), and carry the v2.0.0 CounterSignature.
    assert parse_signature(response.headers["signature"]).subscriber_id == "bpp.example"
    assert oracle.counter_signature_errors(body["signature"]) == []
    return body


def _nothing_handed_over(node):
    assert node.received == []
    assert node.received_rows() == 0
    assert node.outbox_rows() == []


def test_a_tampered_body_is_refused(pair):
    _network, bap, bpp, node, base = pair
    prepared = signed(bap, status_document(bap, bpp))
    tampered = prepared.body.replace(b'"c1"', b'"c2"')
    _refused(post(base, "status", tampered, prepared.authorization), 401, "40103", "validateSign")
    _nothing_handed_over(node)


def test_a_key_not_in_the_directory_is_refused(pair, tmp_path):
    _network, bap, bpp, node, base = pair
    bap.org.custody.create("rogue", __import__("credentials.keys").keys.KeyAlgorithm.ED25519)
    from protocol.signing import CustodySigner

    rogue = CustodySigner(bap.org.custody, bap.subscriber_id, "rogue")
    prepared = prepare(status_document(bap, bpp), rogue, int(time.time()))
    _refused(
        post(base, "status", prepared.body, prepared.authorization), 401, "40105", "validateSign"
    )
    _nothing_handed_over(node)


def test_a_signature_with_another_key_under_a_published_key_id_is_refused(pair):
    _network, bap, bpp, node, base = pair
    # bpp's key signing a message that claims bap's keyId: the signature does not verify.
    from protocol.signing import CustodySigner

    forged = CustodySigner(bpp.org.custody, bap.subscriber_id, "k1")
    prepared = prepare(status_document(bap, bpp), forged, int(time.time()))
    _refused(
        post(base, "status", prepared.body, prepared.authorization), 401, "40103", "validateSign"
    )
    _nothing_handed_over(node)


def test_a_revoked_participant_is_refused(pair):
    network, bap, bpp, node, base = pair
    network.revoke(bap)
    prepared = signed(bap, status_document(bap, bpp))
    _refused(
        post(base, "status", prepared.body, prepared.authorization), 401, "40106", "validateSign"
    )
    _nothing_handed_over(node)


def test_an_expired_signature_is_refused_with_no_tolerance(pair):
    _network, bap, bpp, node, base = pair
    prepared = signed(bap, status_document(bap, bpp), created=int(time.time()) - 31, ttl=30)
    _refused(
        post(base, "status", prepared.body, prepared.authorization), 401, "40201", "checkFreshness"
    )
    _nothing_handed_over(node)


def test_created_up_to_five_seconds_ahead_is_accepted_and_more_is_refused(pair):
    _network, bap, bpp, node, base = pair
    ahead = signed(bap, status_document(bap, bpp), created=int(time.time()) + 4)
    assert post(base, "status", ahead.body, ahead.authorization).status_code == 200
    future = signed(bap, status_document(bap, bpp), created=int(time.time()) + 30)
    _refused(
        post(base, "status", future.body, future.authorization), 401, "40202", "checkFreshness"
    )
    assert len(node.received) == 1


def test_a_replayed_message_id_is_refused_and_not_handed_over_again(pair):
    _network, bap, bpp, node, base = pair
    prepared = signed(bap, status_document(bap, bpp))
    assert post(base, "status", prepared.body, prepared.authorization).status_code == 200
    assert node.received_rows() == 1
    _refused(
        post(base, "status", prepared.body, prepared.authorization), 409, "40901", "checkReplay"
    )
    other = status_document(bap, bpp, message_id=prepared.context.message_id)
    reused = signed(bap, other)
    _refused(post(base, "status", reused.body, reused.authorization), 409, "40902", "checkReplay")
    assert len(node.received) == 1
    assert node.received_rows() == 1


def test_a_bpp_sending_a_request_has_the_wrong_role(pair, network):
    _network, _bap, bpp, node, base = pair
    other_bpp = network.join("bpp-two.example", "BPP")
    document = status_document(other_bpp, bpp)  # a BPP in the BAP's seat
    prepared = signed(other_bpp, document)
    _refused(
        post(base, "status", prepared.body, prepared.authorization),
        401,
        "40302",
        "checkParticipant",
    )
    _nothing_handed_over(node)


def test_a_non_member_of_the_network_is_refused(pair, network):
    _network, _bap, bpp, node, base = pair
    outsider = network.join("outsider.example", "BAP", networks=())
    prepared = signed(outsider, status_document(outsider, bpp))
    _refused(
        post(base, "status", prepared.body, prepared.authorization),
        401,
        "40303",
        "checkParticipant",
    )
    _nothing_handed_over(node)


def test_a_signer_other_than_the_context_sender_is_refused(pair, network):
    _network, bap, bpp, node, base = pair
    other = network.join("bap-two.example", "BAP")
    prepared = signed(other, status_document(bap, bpp))  # bapId says bap.example
    _refused(
        post(base, "status", prepared.body, prepared.authorization),
        401,
        "40301",
        "checkParticipant",
    )
    _nothing_handed_over(node)


def test_an_oversize_body_is_refused_without_being_read(pair):
    _network, bap, bpp, node, base = pair
    document = status_document(bap, bpp)
    document["message"]["contract"]["descriptor"] = {"name": "x" * (1024 * 1024)}
    prepared = signed(bap, document)
    _refused(post(base, "status", prepared.body, prepared.authorization), 400, "40002", "parse")
    _nothing_handed_over(node)


@pytest.mark.parametrize("body", [b"{not json", b"[1,2]", b'{"context":{}}', b"\xff\xfe"])
def test_malformed_json_is_refused(pair, body):
    _network, bap, _bpp, node, base = pair
    now = int(time.time())
    _refused(
        post(base, "status", body, sign(body, bap.signer, now, now + 30)), 400, "40001", "parse"
    )
    _nothing_handed_over(node)


def test_an_unsigned_message_is_refused(pair):
    _network, bap, bpp, node, base = pair
    prepared = signed(bap, status_document(bap, bpp))
    _refused(post(base, "status", prepared.body, None), 401, "40101", "validateSign")
    _nothing_handed_over(node)


def test_a_message_breaking_the_beckn_schema_is_refused(pair):
    _network, bap, bpp, node, base = pair
    document = status_document(bap, bpp)
    del document["message"]["contract"]["id"]  # status names its contract
    body = json.dumps(document).encode()
    now = int(time.time())
    assert oracle.request_errors("status", document) != []
    _refused(
        post(base, "status", body, sign(body, bap.signer, now, now + 30)),
        400,
        "40004",
        "validateSchema",
    )
    _nothing_handed_over(node)


def test_an_ies_payload_breaking_its_schema_is_refused(pair):
    _network, bap, bpp, node, base = pair
    document = status_document(bap, bpp)
    document["message"]["contract"]["performance"] = [
        {
            "id": "p1",
            "performanceAttributes": {
                "@context": "https://schema.nfh.global/DatasetItem/1.1/context.jsonld",
                "@type": "DatasetItem",
                "ies:dataSchema": "https://ies.example/schemas/MeterData/v0.6/schema.json",
                "dataset:dataPayload": [{"@type": "IntervalProfile", "intervals": "not a list"}],
            },
        }
    ]
    prepared = signed(bap, document)
    body = _refused(
        post(base, "status", prepared.body, prepared.authorization), 400, "40005", "validateSchema"
    )
    assert "MeterData/v0.6" in body["error"]["errorMessage"]
    _nothing_handed_over(node)


# ------------------------------------------------------------------ INTEROP's field bugs


def test_request_signature_sent_as_a_header_parameter_is_refused(pair):
    _network, bap, bpp, node, base = pair
    prepared = signed(bap, status_document(bap, bpp))
    bugged = prepared.authorization + f',request-signature="{"A" * 86}=="'
    _refused(post(base, "status", prepared.body, bugged), 401, "40102", "validateSign")
    _nothing_handed_over(node)


def test_a_network_check_serves_several_networks(network, make_node):
    # The field bug: one networkId compared by equality breaks services shared across
    # networks. A receiver serving both networks takes both; one serving one refuses.
    bap = network.join("bap.example", "BAP", networks=(NETWORK, OTHER_NETWORK))
    bpp = network.join("bpp.example", "BPP", networks=(NETWORK, OTHER_NETWORK))
    shared = make_node(bpp, networks=frozenset({NETWORK, OTHER_NETWORK}))
    with serve_on(shared.app, bpp.port) as base:
        for net in (NETWORK, OTHER_NETWORK):
            document = status_document(bap, bpp)
            document["context"]["networkId"] = net
            prepared = signed(bap, document)
            assert post(base, "status", prepared.body, prepared.authorization).status_code == 200
    assert len(shared.received) == 2
    single = make_node(bpp)
    with serve_on(single.app, bpp.port) as base:
        document = status_document(bap, bpp)
        document["context"]["networkId"] = OTHER_NETWORK
        prepared = signed(bap, document)
        response = post(base, "status", prepared.body, prepared.authorization)
    _refused(response, 401, "40304", "checkParticipant")
    _nothing_handed_over(single)


@pytest.fixture
def requested(network, make_node):
    """The BAP sent a status to the BPP and logged it: callbacks for it are solicited."""
    bap = network.join("bap.example", "BAP")
    bpp = network.join("bpp.example", "BPP")
    bap_node = make_node(bap)
    bpp_node = make_node(bpp)
    with serve_on(bap_node.app, bap.port) as bap_base, serve_on(bpp_node.app, bpp.port) as bpp_base:
        request = status_document(bap, bpp)
        delivery = bap_node.beckn.exchange.send(f"{bpp_base}/beckn", bpp.subscriber_id, request)
        assert delivery.acknowledged
        yield bap, bpp, bap_node, bap_base, delivery.prepared


def _on_status(bap, bpp, prepared, **context):
    return {
        "context": new_context(
            "on_status",
            network_id=NETWORK,
            bap_id=bap.subscriber_id,
            bap_uri=bap.url,
            bpp_id=bpp.subscriber_id,
            bpp_uri=bpp.url,
            transaction_id=prepared.context.transaction_id,
            message_id=prepared.context.message_id,
            **context,
        ),
        "message": copy.deepcopy(STATUS_MESSAGE),
    }


def test_a_solicited_callback_binding_the_request_is_accepted(requested):
    bap, bpp, bap_node, base, request = requested
    document = _on_status(bap, bpp, request, requestDigest={"digest": request.digest})
    answer = prepare(document, bpp.signer, int(time.time()), request_signature=request.signature)
    assert oracle.request_errors("on_status", json.loads(answer.body)) == []
    assert post(base, "on_status", answer.body, answer.authorization).status_code == 200
    assert len(bap_node.received) == 1


def test_a_callback_signed_with_the_three_line_string_is_refused(requested):
    bap, bpp, bap_node, base, request = requested
    document = _on_status(bap, bpp, request, requestDigest={"digest": request.digest})
    answer = prepare(document, bpp.signer, int(time.time()))  # no request-signature line
    response = post(base, "on_status", answer.body, answer.authorization)
    assert response.status_code == 401
    assert response.json()["error"]["errorCode"] == "40104"
    assert response.json()["error"]["step"] == "validateSign"
    assert bap_node.received == []


def test_a_callback_whose_request_digest_does_not_match_is_refused(requested):
    bap, bpp, bap_node, base, request = requested
    wrong = digest_value(b"some other request")
    for context in ({"requestDigest": {"digest": wrong}}, {}):
        document = _on_status(bap, bpp, request, **context)
        answer = prepare(
            document, bpp.signer, int(time.time()), request_signature=request.signature
        )
        response = post(base, "on_status", answer.body, answer.authorization)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["errorCode"] == "40006"
        assert response.json()["error"]["step"] == "checkRequestDigest"
    assert bap_node.received == []


def test_the_digest_label_of_the_signing_draft_is_accepted(pair):
    _network, bap, bpp, _node, base = pair
    prepared = signed(bap, status_document(bap, bpp))
    params = parse_signature(prepared.authorization)
    from protocol.signing import REQUEST_HEADERS, format_signature, signing_string

    draft = signing_string(
        REQUEST_HEADERS,
        params.created,
        params.expires,
        digest_value(prepared.body, "BLAKE2b-512"),
        Binding(),
    )
    raw = bap.org.custody.sign("k1", draft)
    header = format_signature(
        type(params)(
            **{
                **{s: getattr(params, s) for s in params.__slots__},
                "signature": base64.b64encode(raw).decode(),
            }
        )
    )
    assert post(base, "status", prepared.body, header).status_code == 200
