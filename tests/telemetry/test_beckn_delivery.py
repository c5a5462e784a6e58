"""Outage notices over the Beckn exchange: the discom's monitor queues each notice in
its outbox as an unsolicited on_status; a subscriber that is down gets it when it comes
back; each receiver verifies the discom's signature through a real directory and the
notice's shape and issuer (``check_outage_notice``) before it takes it."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from protocol.client import new_context
from protocol.outages.beckn import (
    STEP,
    BecknNoticeDelivery,
    check_outage_notice,
    notices_in,
    transaction_of,
)
from protocol.outages.models import BreakerEvent, Position
from protocol.outages.notices import OutageNotice
from protocol.outages.ports import Subscriber as Sub
from protocol.outages.service import Issuer, OutageMonitor
from protocol.outages.store import OutageStore
from protocol.outages.topology import RegistryTopology
from tests.protocol.conftest import (  # noqa: F401 - fixtures
    NETWORK,
    make_node,
    network,
    serve_on,
    wait_for,
)
from tests.registry.directory.conftest import stack  # noqa: F401 - fixture
from tests.telemetry.conftest import at
from tests.telemetry.oracle import OUTAGES, official_errors
from tests.telemetry.test_end_to_end import build_network, service_points

CHECKS = [(STEP, check_outage_notice)]


def event(feeder: str, position: Position, when: str) -> BreakerEvent:
    return BreakerEvent(feeder, position, at(when), f"test:{feeder}@{when}")


@pytest.fixture
def beckn_monitor(network, make_node, registry, outage_engine):  # noqa: F811
    """The discom's monitor delivering through its Beckn outbox; two subscribers."""
    discom = network.join("discom.example", "BPP")
    bank = network.join("bank.example", "BAP")
    channel = network.join("consent.example", "BAP")
    discom_node = make_node(discom)
    receivers = {m.subscriber_id: make_node(m, checks=CHECKS) for m in (bank, channel)}
    now = at("2026-03-03T10:30:00+05:30")
    monitor = OutageMonitor(
        OutageStore(outage_engine),
        RegistryTopology(registry),
        BecknNoticeDelivery(discom_node.beckn.outbox, discom.url, NETWORK),
        Issuer("did:web:discom.example", "Test Discom"),
        clock=lambda: now,
    )
    for member in (bank, channel):
        monitor.subscribe(Sub(member.subscriber_id, "app", member.url))
    return (
        monitor,
        discom_node,
        receivers,
        {bank.subscriber_id: bank, channel.subscriber_id: channel},
    )


def test_a_trip_and_its_restoration_reach_every_subscriber_signed_once_each(
    beckn_monitor, registry
):
    monitor, discom, receivers, members = beckn_monitor
    net = build_network(registry)
    f1 = net["f1"]
    monitor.ingest([event(f1, Position.CLOSED, "2026-03-03T09:00:00+05:30")])
    monitor.ingest([event(f1, Position.OPEN, "2026-03-03T10:00:00+05:30")])  # sustained by now
    monitor.ingest([event(f1, Position.CLOSED, "2026-03-03T10:20:00+05:30")])
    rows = discom.outbox_rows()
    assert len(rows) == 4
    assert {r.action for r in rows} == {"on_status"}
    # The bank is down at first: its notices wait in the outbox; the channel takes its own.
    bank_id, channel_id = list(members)
    with serve_on(receivers[channel_id].app, members[channel_id].port):
        discom.beckn.outbox.deliver_due()
    states = {r.counterparty: r.state for r in discom.outbox_rows()}
    assert states == {bank_id: "pending", channel_id: "delivered"}
    discom.beckn.start_worker(interval=0.02)
    try:
        with serve_on(receivers[bank_id].app, members[bank_id].port):
            wait_for(lambda: all(r.state == "delivered" for r in discom.outbox_rows()))
    finally:
        discom.beckn.stop_worker()
    for node in receivers.values():
        assert [m.action for m in node.received] == ["on_status", "on_status"]
        # Each message carries the notice's whole state; retries may reorder them.
        alert, restored = sorted(
            (notices_in(m.document["message"])[0] for m in node.received),
            key=lambda n: n["msgType"],
        )
        assert (alert["msgType"], alert["status"]) == ("ALERT", "ACTIVE")
        assert (restored["msgType"], restored["status"]) == ("UPDATE", "RESTORED")
        assert service_points(alert) == net["on_f1"]  # as of 3 March
        # Verified through the directory, three-line (unsolicited), one transaction.
        assert {m.sender.subscriber_id for m in node.received} == {"discom.example"}
        assert all(m.signature.headers == ("(created)", "(expires)", "digest")
                   for m in node.received)  # fmt: skip
        assert {m.context.transaction_id for m in node.received} == {
            transaction_of(alert["id"]["value"])
        }
        if OUTAGES.is_dir():
            assert official_errors(alert) == []
            assert official_errors(restored) == []


def _forged(discom, receiver_member, notice, tamper):
    """An on_status the discom signs itself, whose notice was then ``tamper``ed with."""
    document = BecknNoticeDelivery(discom.beckn.outbox, discom.member.url, NETWORK).message(
        Sub(receiver_member.subscriber_id, "app", receiver_member.url), notice
    )
    tamper(document["message"]["contract"]["performance"][0]["performanceAttributes"])
    return document


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda n: n["issuedBy"]["id"].update(value="did:web:other-discom.example"), "issued by"),
        (lambda n: n.update(status="FIXED"), "status"),
        (lambda n: n.update(affectedAssets=[]), "affectedAssets"),
        (lambda n: n["timing"]["period"].update(duration="90 minutes"), "duration"),
        (lambda n: n.pop("timing"), "timing"),
    ],
)
def test_a_notice_that_is_not_an_outage_notification_of_the_signer_is_refused(
    beckn_monitor, registry, tamper, reason
):
    monitor, discom, receivers, members = beckn_monitor
    net = build_network(registry)
    monitor.ingest([event(net["f1"], Position.OPEN, "2026-03-03T10:00:00+05:30")])
    [row] = [r for r in discom.outbox_rows() if r.counterparty == "bank.example"]
    genuine = notices_in(json.loads(row.body)["message"])[0]
    notice = copy.deepcopy({k: v for k, v in genuine.items() if not k.startswith("@")})
    bank = members["bank.example"]
    document = _forged(discom, bank, notice, tamper)
    with serve_on(receivers["bank.example"].app, bank.port) as base:
        delivery = discom.beckn.exchange.send(f"{base}/beckn", "bank.example", document)
    assert not delivery.acknowledged
    assert delivery.ack is not None
    assert delivery.ack.step == STEP
    assert reason in (delivery.ack.error_message or "")
    assert receivers["bank.example"].received == []  # nothing handed over


def test_an_update_in_another_transaction_is_refused(beckn_monitor, registry):
    monitor, discom, receivers, members = beckn_monitor
    net = build_network(registry)
    monitor.ingest([event(net["f1"], Position.OPEN, "2026-03-03T10:00:00+05:30")])
    [row] = [r for r in discom.outbox_rows() if r.counterparty == "bank.example"]
    document = json.loads(row.body)
    document["context"] = new_context(
        "on_status", network_id=NETWORK, bap_id="bank.example",
        bap_uri=members["bank.example"].url, bpp_id="discom.example",
        bpp_uri=discom.member.url, domain="ies:outage",
    )  # fmt: skip
    with serve_on(receivers["bank.example"].app, members["bank.example"].port) as base:
        delivery = discom.beckn.exchange.send(f"{base}/beckn", "bank.example", document)
    assert delivery.ack is not None
    assert delivery.ack.step == STEP
    assert "transaction" in (delivery.ack.error_message or "")


def test_a_momentary_interruption_sends_nothing(beckn_monitor, registry):
    monitor, discom, _, _ = beckn_monitor
    net = build_network(registry)
    opened = at("2026-03-03T10:25:00+05:30")
    monitor.ingest([BreakerEvent(net["f1"], Position.OPEN, opened, "t1")])
    monitor.ingest([BreakerEvent(net["f1"], Position.CLOSED, opened + timedelta(minutes=2), "t2")])
    assert discom.outbox_rows() == []
    assert [r.kind for r in monitor.store.notices(feeder=net["f1"])] == ["MOMENTARY"]


def _official_examples() -> list[dict]:
    examples: list[dict] = []
    for path in sorted((OUTAGES / "examples").glob("*.json")):
        loaded = json.loads(path.read_text())
        examples += loaded if isinstance(loaded, list) else [loaded]
    return examples


def test_the_receivers_model_takes_every_official_example_and_refuses_what_the_schema_does():
    if not OUTAGES.is_dir():
        pytest.skip("../shared is not here: the official examples are the oracle")
    examples = _official_examples()
    assert examples
    for example in examples:
        assert official_errors(example) == []
        OutageNotice.model_validate(example)
    # Each refusal of ours is a refusal of the official schema too.
    broken = [
        {**examples[0], "status": "FIXED"},
        {**examples[0], "affectedAssets": []},
        {k: v for k, v in examples[0].items() if k != "timing"},
        {**examples[0], "outageClass": "OUTAGE"},
    ]
    for document in broken:
        assert official_errors(document) != []
        with pytest.raises(ValidationError):
            OutageNotice.model_validate(document)


@pytest.mark.slow
def test_the_bench_measures_the_whole_path_to_a_verified_notice():
    pytest.importorskip("c104", reason="the iec104 extra (c104, GPL-3.0) is not installed")
    from adapters.iec104.bench import run

    figures = run(feeders=3, connections=2)
    assert figures["complete"] == 1.0  # every ALERT and RESTORED verified at the subscriber
    assert figures["events_per_s"] > 0
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p99_ms"]
    assert figures["sign_per_s"] > 0
