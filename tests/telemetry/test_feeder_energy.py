"""A day of a feeder's registers played by the RTU simulator from the synthetic
network, read back through the FeederEnergySource port and the outages app."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from adapters.synthetic import Network
from protocol.outages.app import OutageSettings, create_app
from protocol.outages.feeder_energy import ScadaFeederEnergy
from protocol.outages.ports import Metered
from protocol.outages.service import watch
from protocol.ports import FeederEnergySource
from tests.openapi_checks import EXCLUDED_CHECKS

IST = timezone(timedelta(hours=5, minutes=30))
DAY = datetime(2026, 5, 12, tzinfo=IST)
KWH_PER_COUNT = 0.1
MODULUS = 10_000  # 1 MWh: the day's import wraps the register


class SyntheticMeters:
    """What the synthetic network's meters recorded (the MDM side of the port)."""

    def __init__(self, network: Network) -> None:
        self.network = network

    def metered(self, feeder: str, start: datetime, end: datetime) -> Metered:
        assert (start, end) == (DAY, DAY + timedelta(days=1))
        days = list(self.network.days(DAY))
        net = sum(sum(d.imports) - sum(d.exports) for d in days)
        return Metered(net, sum(sum(d.exports) for d in days), len(days))


@pytest.mark.slow
def test_a_day_followed_by_the_rtu_gives_input_as_meters_plus_losses(make_monitor, tmp_path):
    pytest.importorskip("c104", reason="the iec104 extra (c104, GPL-3.0) is not installed")
    from adapters.iec104.client import Iec104FeederSource
    from adapters.iec104.points import standard_map
    from adapters.iec104.simulator import RtuSimulator, ScenarioClock

    # Seed 33: eight consumers, 6 kW of rooftop solar -- the feeder exports around noon.
    network = Network(seed=33, consumers=8, feeder="FDR-033")
    day = network.feeder_day(DAY)
    feeder = network.feeder
    clock = ScenarioClock(DAY + timedelta(days=1, minutes=1))
    monitor = make_monitor(clock=clock)
    from tests.telemetry.conftest import free_port

    port = free_port()
    # The RTU's own values at start-up (read by general interrogation) predate the day.
    rtu_clock = ScenarioClock(DAY - timedelta(minutes=1))
    rtu = RtuSimulator(
        [feeder], port=port, clock=rtu_clock, kwh_per_count=KWH_PER_COUNT, modulus=MODULUS
    )
    rtu.counters[(feeder, "import")] = MODULUS - 50  # 5 kWh before the register wraps
    rtu.start()
    source = Iec104FeederSource("127.0.0.1", port, 1, standard_map([feeder]), clock=clock)
    stop = threading.Event()
    pump = threading.Thread(target=watch, args=(source, monitor, stop), daemon=True)
    pump.start()
    end = DAY + timedelta(days=1)
    try:
        assert source.wait_connected(5)
        assert rtu.wait_for_client(5)
        rtu.follow(feeder, DAY, day.input_kwh)
        deadline = time.monotonic() + 20
        while len(monitor.store.totals(feeder, "export", DAY, end)) < 97:
            assert time.monotonic() < deadline, "the RTU's totals did not all arrive"
            time.sleep(0.05)
    finally:
        stop.set()
        pump.join(timeout=5)
        source.close()
        rtu.stop()
    # Only the simulator's stray IOA and the link coming up are on record: no value of
    # the day was refused.
    refused = {r.slug for r in monitor.store.refusals()}
    assert refused <= {"telemetry-unknown-point", "telemetry-link-restored"}

    port_: FeederEnergySource = ScadaFeederEnergy(
        monitor.store, SyntheticMeters(network), modulus=MODULUS
    )
    figures = port_.feeder_energy(feeder, DAY, end)
    metered = sum(day.metered_kwh)
    losses = sum(day.technical_loss_kwh) + sum(day.commercial_loss_kwh)
    # Each 15-minute block reaches the register rounded to a whole count (0.1 kWh), so
    # the day can be off by at most half a count per block and register.
    tolerance = 2 * 96 * KWH_PER_COUNT / 2
    assert figures.input_kwh == pytest.approx(metered + losses, abs=tolerance)
    assert figures.input_kwh == pytest.approx(sum(day.input_kwh), abs=tolerance)
    assert figures.billed_kwh == pytest.approx(metered)
    assert figures.meters == 8
    assert 0.10 < figures.loss_ratio < 0.20  # 6 % technical + 8 % commercial, of input

    settings_ = OutageSettings(database_url=f"sqlite:///{tmp_path}/unused.db", log_level="WARNING")
    app = create_app(settings_, monitor=monitor, registry=None, metered=SyntheticMeters(network))
    app.state.feeder_energy = port_
    with TestClient(app) as client:
        body = client.get(f"/feeders/{feeder}/energy", params={"day": "2026-05-12"}).json()
        der = client.get(f"/feeders/{feeder}/der", params={"day": "2026-05-12"}).json()
        bad = client.get(f"/feeders/{feeder}/energy", params={"day": "12/05/2026"})
        none = client.get("/feeders/FDR-NONE/der", params={"day": "2026-05-12"})
    assert body["input_kwh"] == pytest.approx(figures.input_kwh)
    assert len(body["intervals"]) == 96
    assert "rolled-over" in {i["quality"] for i in body["intervals"]}
    assert body["estimated_intervals"] == 0
    assert body["loss_ratio"] == pytest.approx(figures.loss_ratio)
    exported = [-k for k in day.input_kwh if k < 0]
    assert der["reverse_kwh"] == pytest.approx(sum(exported), rel=0.25)
    assert der["reverse_kwh"] > 0
    assert der["peak_reverse_kw"] > 0
    assert der["der_export_kwh"] == pytest.approx(
        SyntheticMeters(network).metered(feeder, DAY, end).export_kwh
    )
    assert 0 < der["der_share"] < 1
    assert set(der) == {
        "feeder", "day", "forward_kwh", "reverse_kwh", "reverse_intervals",
        "peak_reverse_kw", "der_export_kwh", "der_share",
    }  # fmt: skip  # no consumer, meter or connection
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert none.status_code == 404
    assert none.json()["type"].endswith("/feeder-energy-not-found")


@pytest.fixture
def outages_schema(make_monitor, tmp_path):
    settings_ = OutageSettings(database_url=f"sqlite:///{tmp_path}/unused.db", log_level="WARNING")
    app = create_app(settings_, monitor=make_monitor())
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("outages_schema")


@schema.include(path_regex="^/feeders/").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_feeder_energy_routes_conform_to_their_openapi(case):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
