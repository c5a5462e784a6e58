"""End to end: a real RTU on loopback trips a feeder breaker; the notice naming exactly
the connections downstream *on that date* reaches a subscriber over HTTP, signed;
the breaker closes; the restoration follows; the indices count it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

pytest.importorskip("c104", reason="the iec104 extra (c104, GPL-3.0) is not installed")

from adapters.iec104.client import Iec104FeederSource
from adapters.iec104.points import standard_map
from adapters.iec104.simulator import RtuSimulator, ScenarioClock
from protocol.outages.ports import Subscriber as Sub
from protocol.outages.service import watch
from tests.telemetry.conftest import at, create, free_port
from tests.telemetry.oracle import official_errors

SINCE = "2026-01-01T00:00:00+05:30"


def build_network(registry):
    """Feeder F1 and F2 under one substation, with a history:

    * DT-B is re-fed from F2 to F1 on 1 March (so c3 is on F1 from then on);
    * c4 moves from DT-A (F1) to DT-C (F2) on 5 March;
    * c5 is connected under DT-A on 10 March.
    The trip is on 3 March: F1 then fed c1, c2 (DT-A), c3 (DT-B) and c4 (DT-A).
    """
    s = create(registry, type="substation", valid_from=SINCE)
    f1 = create(registry, type="feeder", parents={"substation": {"id": s}}, valid_from=SINCE)
    f2 = create(registry, type="feeder", parents={"substation": {"id": s}}, valid_from=SINCE)

    def under(kind, parent_type, parent):
        return create(registry, type=kind, parents={parent_type: {"id": parent}}, valid_from=SINCE)

    dt_a = under("distribution_transformer", "feeder", f1)
    dt_b = under("distribution_transformer", "feeder", f2)
    dt_c = under("distribution_transformer", "feeder", f2)
    c1, c2, c4 = (under("connection", "distribution_transformer", dt_a) for _ in range(3))
    c3 = under("connection", "distribution_transformer", dt_b)
    for conn in (c1, c2, c3, c4):
        under("meter", "connection", conn)
    moves = [
        (dt_b, f1, "2026-03-01T00:00:00+05:30"),
        (c4, dt_c, "2026-03-05T00:00:00+05:30"),
    ]
    for child, parent, when in moves:
        r = registry.post(
            f"/identities/{child}/relations", json={"parent": parent, "valid_from": when}
        )
        assert r.status_code == 201, r.text
    c5 = create(
        registry,
        type="connection",
        parents={"distribution_transformer": {"id": dt_a}},
        valid_from="2026-03-10T00:00:00+05:30",
    )
    return {"s": s, "f1": f1, "f2": f2, "dts": (dt_a, dt_b), "on_f1": {c1, c2, c3, c4}, "c5": c5}


def service_points(notice):
    return {
        a["id"]["value"] for a in notice["affectedAssets"] if a["assetLevel"] == "SERVICE_POINT"
    }


@pytest.mark.slow
def test_a_trip_reaches_the_subscriber_and_the_restoration_enters_the_indices(
    registry, make_monitor, subscriber
):
    net = build_network(registry)
    clock = ScenarioClock(at("2026-03-03T10:00:00+05:30"))
    monitor = make_monitor(clock=clock)
    monitor.subscribe(Sub("consent-manager", "consumer_channel", subscriber.url))
    port = free_port()
    rtu = RtuSimulator([net["f1"], net["f2"]], port=port, clock=clock)
    rtu.start()
    source = Iec104FeederSource(
        "127.0.0.1", port, 1, standard_map([net["f1"], net["f2"]]), clock=clock
    )
    stop = threading.Event()
    pump = threading.Thread(target=watch, args=(source, monitor, stop), daemon=True)
    pump.start()
    try:
        assert source.wait_connected(5)
        assert rtu.wait_for_client(5)
        tripped_at = clock()
        assert rtu.trip(net["f1"], tripped_at)
        # Within the momentary threshold nothing is announced (IEEE 1366: not yet an outage).
        assert subscriber.wait_for(1, timeout=0.5) == []
        clock.advance(timedelta(minutes=6))
        [alert] = subscriber.wait_for(1)
        assert official_errors(alert) == []
        assert alert["msgType"] == "ALERT"
        assert alert["status"] == "ACTIVE"
        assert alert["outageClass"] == "BREAKDOWN"
        assert service_points(alert) == net["on_f1"]  # as of 3 March, not today
        assert net["c5"] not in service_points(alert)
        assert alert["impact"]["customersAffected"] == 4
        assert {
            a["id"]["value"] for a in alert["affectedAssets"] if a["assetLevel"] == "DT"
        } == set(net["dts"])
        assert alert["timing"]["estimatedRestoration"]

        clock.advance(timedelta(minutes=84))
        assert rtu.reclose(net["f1"], clock())
        received = subscriber.wait_for(2)
        restored = received[1]
        assert official_errors(restored) == []
        assert restored["msgType"] == "UPDATE"
        assert restored["status"] == "RESTORED"
        assert restored["references"] == [alert["id"]]
        assert restored["id"] == alert["id"]
        assert restored["timing"]["actualRestoration"]

        # A blink on F2: counted as momentary, never announced.
        assert rtu.trip(net["f2"], clock())
        clock.advance(timedelta(minutes=2))
        assert rtu.reclose(net["f2"], clock())
        deadline = threading.Event()
        for _ in range(100):
            if any(r.kind == "MOMENTARY" for r in monitor.store.notices(feeder=net["f2"])):
                break
            deadline.wait(0.05)
    finally:
        stop.set()
        pump.join(timeout=5)
        source.close()
        rtu.stop()
    assert len(subscriber.received) == 2
    assert subscriber.refused == []

    day = at("2026-03-03T00:00:00+05:30")
    report = monitor.reliability([net["f1"], net["f2"]], day, day + timedelta(days=1))
    i = report.all_days
    # N_T at the period's end: F1 feeds c1..c4 (4), F2 feeds nothing yet (DT-B left, c4
    # arrives on 5 March) -> 4 customers served. Sustained: 4 customers x 90 min.
    assert i.customers_served == 4
    assert i.customers_interrupted == 4
    assert i.customer_minutes == pytest.approx(4 * 90, abs=4 * 0.1)
    assert i.saifi == pytest.approx(1.0)
    assert i.saidi == pytest.approx(90, abs=0.1)
    assert i.caidi == pytest.approx(90, abs=0.1)
    assert i.momentary_customer_interruptions == 0  # F2 had no customers on 3 March
