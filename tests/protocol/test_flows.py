"""End to end over real HTTP: callbacks through the outbox while the BAP is down (and
the BPP restarts), the gateway's discover broadcast, pagination, the message log."""

from __future__ import annotations

import copy

import httpx
from sqlmodel import Session, select

from protocol.client import new_context
from protocol.gateway import DirectorySubscribers, Gateway
from protocol.store import OutboxRow
from tests.tokens import TestIssuer

from .conftest import DOMAIN, NETWORK, serve_on, wait_for
from .test_receiver import STATUS_MESSAGE, status_document


def test_the_bap_is_down_while_the_bpp_answers_and_every_callback_arrives_once(
    network, make_node, make_database
):
    bap = network.join("bap.example", "BAP")
    bpp = network.join("bpp.example", "BPP")
    bpp_url = make_database("protocol:migrations")

    def answer(node, message, unit):
        node.beckn.outbox.enqueue_callback(message, copy.deepcopy(STATUS_MESSAGE), bpp.url, unit)

    bap_node = make_node(bap)
    bpp_node = make_node(bpp, respond=answer, database_url=bpp_url)
    requests = 5
    with serve_on(bpp_node.app, bpp.port) as bpp_base:
        # The BAP's requests go out while its own server (its callback URL) is down.
        for _ in range(requests):
            sent = bap_node.beckn.exchange.send(
                f"{bpp_base}/beckn", bpp.subscriber_id, status_document(bap, bpp)
            )
            assert sent.acknowledged
        assert len(bpp_node.received) == requests
        bpp_node.beckn.outbox.deliver_due()  # every callback fails: connection refused
        rows = bpp_node.outbox_rows()
        assert [r.state for r in rows] == ["pending"] * requests
        assert all(r.attempts == 1 and r.last_error for r in rows)

    # The BPP restarts: a new process over the same database, no memory of before.
    restarted = make_node(bpp, respond=answer, database_url=bpp_url)
    restarted.beckn.start_worker(interval=0.02)
    with serve_on(bap_node.app, bap.port):
        wait_for(lambda: all(r.state == "delivered" for r in restarted.outbox_rows()))
        # A crash between sending and marking delivered: the same callbacks go again.
        with Session(restarted.store.engine) as session:
            for row in session.exec(select(OutboxRow)).all():
                row.state = "pending"
                session.add(row)
            session.commit()
        wait_for(lambda: all(r.state == "delivered" for r in restarted.outbox_rows()))
    restarted.beckn.stop_worker()

    answered = sorted(m.context.message_id for m in bap_node.received)
    assert len(answered) == requests
    assert len(set(answered)) == requests  # each exactly once
    assert all(m.action == "on_status" for m in bap_node.received)
    # Each callback bound the BAP's own request: four-line signature and requestDigest.
    assert all(m.signature.headers[-1] == "request-signature" for m in bap_node.received)
    assert bap_node.received_rows() == requests
    assert all(r.attempts >= 3 for r in restarted.outbox_rows())


def test_discover_is_broadcast_by_the_gateway_and_answered_by_each_bpp(network, make_node):
    bap = network.join("bap.example", "BAP")
    gw = network.join("gateway.example", "BG")
    bpps = [network.join(f"bpp{i}.example", "BPP") for i in range(2)]
    elsewhere = network.join("bpp-other.example", "BPP", domains=("ies:p2p-trading",))
    outsider = network.join("bpp-outsider.example", "BPP", networks=())

    def on_discover(node, message, unit):
        catalog = {
            "id": f"catalog-{node.member.subscriber_id}",
            "descriptor": {"name": "meter data"},
            "provider": {"id": node.member.subscriber_id, "descriptor": {"name": "discom"}},
            "resources": [{"id": "meter-data"}],
        }
        node.beckn.outbox.enqueue_callback(message, {"catalogs": [catalog]}, node.member.url, unit)

    with httpx.Client(base_url=network.stack.directory_url, timeout=5) as directory:
        gateway: Gateway | None = None  # the node's handler needs the gateway, and vice versa

        def forward(m, u):
            assert gateway is not None
            return gateway(m, u)

        gw_node = make_node(gw, handler=forward)
        gateway = Gateway(DirectorySubscribers(directory), gw_node.beckn.outbox)
        bap_node = make_node(bap)
        bpp_nodes = [make_node(b, respond=on_discover) for b in (*bpps, elsewhere, outsider)]
        servers = [serve_on(n.app, n.member.port) for n in (gw_node, bap_node, *bpp_nodes)]
        for server in servers:
            server.__enter__()
        try:
            for node in (gw_node, *bpp_nodes):
                node.beckn.start_worker(interval=0.02)
            document = {
                "context": new_context(
                    "discover",
                    network_id=NETWORK,
                    bap_id=bap.subscriber_id,
                    bap_uri=bap.url,
                    domain=DOMAIN,
                ),
                "message": {"intent": {"textSearch": "interval meter data"}},
            }
            sent = bap_node.beckn.exchange.send(gw.url, gw.subscriber_id, document)
            assert sent.acknowledged, sent
            wait_for(lambda: len(bap_node.received) == 2)
        finally:
            for node in (gw_node, *bpp_nodes):
                node.beckn.stop_worker()
            for server in reversed(servers):
                server.__exit__(None, None, None)
    assert gateway.broadcasts == 2
    assert sorted(m.sender.subscriber_id for m in bap_node.received) == [
        "bpp0.example",
        "bpp1.example",
    ]
    assert {m.context.message_id for m in bap_node.received} == {sent.prepared.context.message_id}
    for node in bpp_nodes[:2]:
        (received,) = node.received
        assert received.gateway == gw.subscriber_id  # X-Gateway-Authorization verified
        assert received.signature.subscriber_id == bap.subscriber_id  # the BAP's own
    assert bpp_nodes[2].received == []
    assert bpp_nodes[3].received == []

    # The message log, per transaction, with cursor pagination: the BAP's back office,
    # read by its own tooling (kernel.backoffice); anyone else is refused.
    transaction = sent.prepared.context.transaction_id
    tokens = TestIssuer()
    tokens.install(bap_node.app, bap.subscriber_id)
    own = tokens.headers(bap.subscriber_id, (), subject=bap.subscriber_id)
    with serve_on(bap_node.app, bap.port) as base:
        log = f"{base}/protocol/transactions/{transaction}/messages"
        assert httpx.get(log).status_code == 401
        other = tokens.headers(bap.subscriber_id, (), subject=gw.subscriber_id)
        assert httpx.get(log, headers=other).status_code == 403
        first = httpx.get(log, params={"limit": 2}, headers=own)
        assert first.status_code == 200, first.text
        page = first.json()
        assert [m["action"] for m in page["items"]] == ["discover", "on_discover"]
        rest = httpx.get(
            f"{base}/protocol/transactions/{transaction}/messages",
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=own,
        ).json()
        assert [m["action"] for m in rest["items"]] == ["on_discover"]
        assert rest["next_cursor"] is None
        assert all(
            m["verdict"] == "ACK" and m["digest"].startswith("BLAKE-512=") for m in page["items"]
        )
        missing = httpx.get(f"{base}/protocol/transactions/nope/messages", headers=own)
        assert missing.status_code == 404
