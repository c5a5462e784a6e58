"""A consent reaches only the consumer's own meters, for the time they hold them.

The registry (a real registry app on a real database, the same one that serves the
directory) puts each meter under a connection and each connection under a consumer,
with history; the consent manager checks it when a request is made and when it is
approved, and the gate checks it on every fetch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import hypothesis.strategies as st
from hypothesis import given

from consent.gate import ConsentGate
from consent.holders import HttpMeterOwnership, LocalMeterOwnership
from consent.ownership import Link, meters_of, period_around
from consent.slicing import IST

from .conftest import DAY0, assert_refused
from .test_attacks import accesses, active_consent, ok_fetch

MOVE_DAY = DAY0 + timedelta(days=3)
MOVE = datetime(MOVE_DAY.year, MOVE_DAY.month, MOVE_DAY.day, tzinfo=IST)


def move_connection(network, connection: str, to: str, at: datetime) -> None:
    """The discom records that a connection passed to another consumer (a tenancy)."""
    moved = network.registry_http.post(
        f"/identities/{connection}/relations", json={"parent": to, "valid_from": at.isoformat()}
    )
    assert moved.status_code == 201, moved.text


def consents_of(network, consumer: str) -> list:
    return network.consumer_http.get(f"/consumers/{consumer}/consents").json()["items"]


def test_a_request_naming_another_consumers_meter_is_refused(network):
    refused = network.request_consent(scope={"meters": [network.other_meter]})
    body = assert_refused(refused, 403, "consent-meter-not-held")
    assert body["meters"] == [network.other_meter]
    # One stranger's meter among the consumer's own spoils the whole request.
    mixed = network.request_consent(scope={"meters": [network.meter, network.other_meter]})
    assert assert_refused(mixed, 403, "consent-meter-not-held")["meters"] == [network.other_meter]
    # A consumer the registry never issued holds nothing.
    unknown = network.request_consent(consumer_id="consumer-007")
    assert assert_refused(unknown, 403, "consent-meter-not-held")["meters"] == [network.meter]
    # Nothing was written: neither consumer has a consent to approve.
    assert consents_of(network, network.consumer) == []
    assert consents_of(network, network.other_consumer) == []
    # The consumer's own meter is accepted.
    assert network.request_consent().status_code == 201


def test_consent_for_days_before_the_consumer_held_the_meter_is_refused(network):
    # The new tenant takes the connection over on MOVE_DAY: the days before are the
    # previous tenant's data, not theirs to share.
    move_connection(network, network.connections[network.consumer], network.other_consumer, MOVE)
    earlier = network.request_consent(network.app, consumer_id=network.other_consumer)
    body = assert_refused(earlier, 403, "consent-meter-not-held")
    assert body["meters"] == [network.meter]
    assert f"{network.meter} is not the consumer's" in body["detail"]
    later = network.request_consent(
        consumer_id=network.other_consumer,
        scope={"date_range": {"from": MOVE_DAY.isoformat(), "to": MOVE_DAY.isoformat()}},
    )
    assert later.status_code == 201, later.text


def test_a_meter_that_moved_before_approval_cannot_be_approved(network):
    asked = network.request_consent()
    assert asked.status_code == 201, asked.text
    move_connection(network, network.connections[network.consumer], network.other_consumer, MOVE)
    refused = network.consumer_post(asked.json()["id"], "approve")
    assert_refused(refused, 403, "consent-meter-not-held")
    mine = network.consumer_http.get(f"/consumers/{network.consumer}/consents/{asked.json()['id']}")
    assert mine.json()["status"] == "PENDING"
    assert mine.json()["artefact"] is None
    # Narrowed to the days the consumer did hold it, the approval goes through.
    narrowed = network.consumer_post(
        asked.json()["id"],
        "approve",
        {
            "date_range": {
                "from": DAY0.isoformat(),
                "to": (MOVE_DAY - timedelta(days=1)).isoformat(),
            }
        },
    )
    assert narrowed.status_code == 200, narrowed.text


def test_a_meter_transferred_after_approval_is_refused_from_the_move_on(network):
    consent_id = active_consent(network)
    before_move = ok_fetch(network, consent_id, start=DAY0 + timedelta(days=1), days=2)
    assert before_move.status_code == 200, before_move.text
    move_connection(network, network.connections[network.consumer], network.other_consumer, MOVE)

    after = ok_fetch(network, consent_id, start=MOVE_DAY, days=2)
    body = assert_refused(after, 403, "consent-meter-not-held")
    assert body["meters"] == [network.meter]
    across = ok_fetch(network, consent_id, start=MOVE_DAY - timedelta(days=1), days=2)
    assert "only until" in assert_refused(across, 403, "consent-meter-not-held")["detail"]
    # Days before the move stay the approving consumer's to share.
    still = ok_fetch(network, consent_id, start=DAY0 + timedelta(days=1), days=2)
    assert still.status_code == 200, still.text
    assert accesses(network) == 2

    # The new holder consents for the days from the move; that consent is served.
    theirs = network.request_consent(
        consumer_id=network.other_consumer,
        scope={"date_range": {"from": MOVE_DAY.isoformat(), "to": MOVE_DAY.isoformat()}},
    )
    assert theirs.status_code == 201, theirs.text
    approved = network.consumer_post(
        theirs.json()["id"], "approve", consumer=network.other_consumer
    )
    assert approved.status_code == 200, approved.text
    served = ok_fetch(network, theirs.json()["id"], start=MOVE_DAY, days=1)
    assert served.status_code == 200, served.text


def test_a_meter_moved_to_another_consumers_connection_is_refused(network):
    consent_id = active_consent(network)
    meters = network.registry_http.get(
        "/identities",
        params={"under": network.consumer, "type": "meter", "at": datetime.now(UTC).isoformat()},
    ).json()["items"]
    [meter] = meters
    moved = network.registry_http.post(
        f"/identities/{meter['id']}/relations",
        json={
            "parent": network.connections[network.other_consumer],
            "valid_from": MOVE.isoformat(),
        },
    )
    assert moved.status_code == 201, moved.text
    assert_refused(
        ok_fetch(network, consent_id, start=MOVE_DAY, days=1), 403, "consent-meter-not-held"
    )
    assert ok_fetch(network, consent_id, start=DAY0, days=3).status_code == 200


def test_without_an_answer_from_the_registry_nothing_flows(network):
    consent_id = active_consent(network)
    gate = network.discom_app.state.gate
    with httpx.Client(base_url="http://127.0.0.1:9", timeout=2) as nowhere:
        network.discom_app.state.gate = ConsentGate(
            **{**gate.__dict__, "ownership": HttpMeterOwnership(nowhere)}
        )
        assert_refused(ok_fetch(network, consent_id), 503, "consent-ownership-unavailable")
    assert accesses(network) == 0


def test_the_in_process_registry_answers_as_its_http_api(network):
    move_connection(network, network.connections[network.consumer], network.other_consumer, MOVE)
    local = LocalMeterOwnership(network.stack.directory.engine)
    remote = HttpMeterOwnership(network.registry_http)
    for consumer in (network.consumer, network.other_consumer, "consumer-007"):
        for at in (MOVE - timedelta(days=1), MOVE, datetime.now(UTC)):
            assert list(local.holdings(consumer, at)) == list(remote.holdings(consumer, at))
    assert meters_of(remote, network.consumer, MOVE - timedelta(seconds=1)) == {network.meter}
    assert meters_of(remote, network.consumer, MOVE) == set()
    assert meters_of(remote, network.other_consumer, MOVE) == {network.meter, network.other_meter}


# ---------------------------------------------------------------- the pure part
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _day(n: int) -> datetime:
    return T0 + timedelta(days=n)


_links = st.lists(
    st.tuples(
        st.sampled_from(["X1", "X2"]),
        st.integers(0, 20),
        st.one_of(st.none(), st.integers(1, 10)),
    ),
    max_size=4,
)


@given(meter=_links, owners_1=_links, owners_2=_links, at=st.integers(-1, 31))
def test_the_holding_period_is_exactly_the_unbroken_run_around_the_instant(
    meter, owners_1, owners_2, at
):
    def links(raw, parents):
        return [Link(parents[p], _day(s), None if n is None else _day(s + n)) for p, s, n in raw]

    meter_links = links(meter, {"X1": "X1", "X2": "X2"})
    owners = {
        "X1": links(owners_1, {"X1": "C", "X2": "D"}),
        "X2": links(owners_2, {"X1": "C", "X2": "D"}),
    }

    def held(day: int) -> bool:
        t = _day(day)
        return any(
            m.since <= t
            and (m.until is None or t < m.until)
            and any(
                o.parent == "C" and o.since <= t and (o.until is None or t < o.until)
                for o in owners.get(m.parent, ())
            )
            for m in meter_links
        )

    found = period_around(_day(at), "C", meter_links, owners)
    if not held(at):
        assert found is None
        return
    assert found is not None
    since, until = found
    first = (since - T0).days
    assert not held(first - 1)
    last = 40 if until is None else (until - T0).days
    assert all(held(d) for d in range(first, last))
    if until is not None:
        assert not held(last)
    else:
        assert held(40)
