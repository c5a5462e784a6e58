"""Bad input from a real RTU on loopback: flagged or refused with a clear reason, never
a crash; the client reconnects by itself when the RTU restarts."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

pytest.importorskip("c104", reason="the iec104 extra (c104, GPL-3.0) is not installed")

from adapters.iec104.client import Iec104FeederSource
from adapters.iec104.points import standard_map
from adapters.iec104.simulator import RtuSimulator, ScenarioClock
from kernel.database import from_db
from protocol.outages.models import BreakerEvent, LinkChange
from tests.telemetry.conftest import at, create, free_port

SINCE = "2026-01-01T00:00:00+05:30"


def drain(source, monitor, seconds=0.6):
    reports = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = source.poll(0.05)
        if batch:
            reports.append((batch, monitor.ingest(batch)))
    return reports


def refused_slugs(reports):
    return [p.slug for _, r in reports for p in r.refused]


@pytest.fixture
def rig(registry, make_monitor):
    feeder = create(registry, type="feeder", valid_from=SINCE)
    other = create(registry, type="feeder", valid_from=SINCE)
    dt = create(
        registry,
        type="distribution_transformer",
        parents={"feeder": {"id": feeder}},
        valid_from=SINCE,
    )
    create(
        registry,
        type="connection",
        parents={"distribution_transformer": {"id": dt}},
        valid_from=SINCE,
    )
    clock = ScenarioClock(at("2026-03-03T10:00:00+05:30"))
    monitor = make_monitor(clock=clock)
    port = free_port()
    feeders = [feeder, other]
    rtu = RtuSimulator(feeders, port=port, clock=clock, double_point=frozenset({other}))
    rtu.start()
    source = Iec104FeederSource(
        "127.0.0.1", port, 1, standard_map(feeders, double_point=frozenset({other})), clock=clock
    )
    assert source.wait_connected(5)
    assert rtu.wait_for_client(5)
    drain(source, monitor, 0.3)  # the general interrogation
    yield rtu, source, monitor, clock, feeder, other
    source.close()
    rtu.stop()


@pytest.mark.slow
def test_quality_bits_unknown_ioa_order_and_clock_are_refused_with_reasons(rig):
    rtu, source, monitor, clock, feeder, other = rig
    now = clock()
    rtu.breaker(feeder, False, now, quality_bits=0x80)  # IV
    rtu.breaker(feeder, False, now, quality_bits=0x40)  # NT
    rtu.breaker(feeder, False, now, quality_bits=0x10)  # BL
    rtu.power(feeder, 1e9, now, quality_bits=0x01)  # OV
    rtu.stray(now)  # IOA 9999 is not in the point map
    rtu.indeterminate(other, now)  # DPI 11
    rtu.trip(feeder, now + timedelta(hours=2))  # the RTU's clock jumped two hours ahead
    reports = drain(source, monitor)
    slugs = refused_slugs(reports)
    assert slugs.count("telemetry-bad-quality") == 4
    assert "telemetry-unknown-point" in slugs
    assert "breaker-position-indeterminate" in slugs
    assert "telemetry-clock-jump" in slugs
    details = " ".join(p.detail for _, r in reports for p in r.refused)
    for words in ("IV", "NT", "BL", "OV", "IOA 9999", "ahead of the receiver's clock"):
        assert words in details
    # Nothing of that changed the feeder's state: no interruption is open.
    assert monitor.detector.open_feeders() == {}

    # A good trip, then an event tagged before it: out of order, not applied.
    rtu.trip(feeder, clock())
    rtu.reclose(feeder, clock() - timedelta(minutes=1))
    reports = drain(source, monitor)
    assert refused_slugs(reports) == ["telemetry-out-of-order"]
    assert feeder in monitor.detector.open_feeders()
    recorded = {r.slug for r in monitor.store.refusals()}
    assert {
        "telemetry-bad-quality",
        "telemetry-unknown-point",
        "telemetry-out-of-order",
    } <= recorded


@pytest.mark.slow
def test_the_client_reconnects_by_itself_when_the_rtu_restarts(rig):
    rtu, source, monitor, clock, feeder, _ = rig
    rtu.stop()
    reports = drain(source, monitor, 1.0)
    lost = [o for batch, _ in reports for o in batch if isinstance(o, LinkChange)]
    assert lost
    assert lost[-1].up is False
    assert "reconnecting" in lost[-1].detail
    rtu.start()  # the same RTU back on the same port
    assert source.wait_connected(10)
    assert rtu.wait_for_client(5)
    reports = drain(source, monitor, 0.5)
    observations = [o for batch, _ in reports for o in batch]
    assert any(isinstance(o, LinkChange) and o.up for o in observations)
    # The general interrogation after reconnection reads the breaker again.
    assert any(isinstance(o, BreakerEvent) and o.feeder == feeder for o in observations)
    assert rtu.trip(feeder, clock())
    reports = drain(source, monitor, 0.5)
    assert feeder in monitor.detector.open_feeders()


@pytest.mark.slow
def test_a_restoration_while_the_link_is_down_is_read_back_after_reconnection(rig):
    """Mid-stream drop: the feeder is out, the link drops, the breaker closes while no
    one listens; the general interrogation after reconnection reports the close with the
    RTU's own time tag, so the outage ends when it really ended."""
    rtu, source, monitor, clock, feeder, _ = rig
    tripped = clock()
    rtu.trip(feeder, tripped)
    drain(source, monitor, 0.4)
    assert feeder in monitor.detector.open_feeders()
    clock.advance(timedelta(minutes=10))
    monitor.tick()  # sustained: announced
    rtu.stop()
    drain(source, monitor, 0.8)  # the drop is seen and recorded
    closed_at = clock()
    rtu.start()
    # The breaker closed while the master was away: the RTU's point holds CLOSED at
    # closed_at, read by the master spontaneously or by its general interrogation.
    rtu.breaker(feeder, True, closed_at)
    assert source.wait_connected(10)
    assert rtu.wait_for_client(5)
    drain(source, monitor, 0.8)
    assert feeder not in monitor.detector.open_feeders()
    [row] = [r for r in monitor.store.notices(feeder=feeder) if r.kind == "UNPLANNED"]
    assert row.status == "RESTORED"
    assert row.ended_at is not None
    assert abs((from_db(row.ended_at) - closed_at).total_seconds()) < 1
    slugs = {r.slug for r in monitor.store.refusals()}
    assert {"telemetry-link-lost", "telemetry-link-restored"} <= slugs
