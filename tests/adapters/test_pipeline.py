"""Meter bytes to MeterData through the ports: valid against the official schema."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import schemas
from adapters import bench, hes, vee
from adapters.dlms import simulator
from adapters.errors import MeterDataNotAvailable
from adapters.synthetic import IST, Network
from consent.ports import BillingDataSource, EventSource, IntervalDataSource
from protocol.ports import FeederEnergySource
from registry.ports import ExportImportSource
from schemas.meterdata import dump
from tests.schemas import oracle

DAY = datetime(2026, 5, 18, tzinfo=IST)
STEP = timedelta(minutes=15)


@pytest.fixture(scope="module")
def network() -> Network:
    return Network(seed=11, consumers=40)


@pytest.fixture(scope="module")
def archive(network: Network) -> hes.HesArchive:
    store = hes.HesArchive(config=vee.VeeConfig(discom="MSEDCL"))
    for meter_day in network.days(DAY):
        serial = meter_day.consumer.meter_serial
        blocks = simulator.blocks_from_kwh(DAY, STEP, meter_day.imports, meter_day.exports)
        if serial.endswith("3"):  # a HES that lost two blocks and repeated one
            blocks = blocks[:30] + blocks[32:] + [blocks[10]]
        store.add_block_load(serial, DAY.date(), simulator.block_load_buffer(blocks))
        imp, exp = round(sum(meter_day.imports) * 1000), round(sum(meter_day.exports) * 1000)
        store.add_daily_load(
            serial,
            simulator.daily_load_buffer(
                [(DAY, 1_000_000, 20_000, 1_050_000),
                 (DAY + timedelta(days=1), 1_000_000 + imp, 20_000 + exp, 1_050_000 + imp)]
            ),
        )  # fmt: skip
        store.add_billing(
            serial,
            simulator.billing_buffer(
                [(DAY - timedelta(days=17), 900_000, 15_000, [200_000, 300_000, 250_000,
                  150_000], 2_300)]
            ),
        )  # fmt: skip
        store.add_events(
            serial, 2, simulator.event_buffer([(DAY + timedelta(hours=3), 101),
                                               (DAY + timedelta(hours=4), 102)])
        )  # fmt: skip
        store.add_events(serial, 4, simulator.event_buffer([(DAY + timedelta(hours=9), 201)]))
    return store


def _both_accept(document: object) -> None:
    assert oracle.official_errors(document) == []
    assert schemas.validate(schemas.METERDATA, document) == []


def test_archive_implements_the_consumers_ports(archive: hes.HesArchive, network: Network) -> None:
    # mypy checks these assignments: the archive and feeder source satisfy the ports.
    interval: IntervalDataSource = archive
    billing: BillingDataSource = archive
    events: EventSource = archive
    settlement: ExportImportSource = archive
    feeders: FeederEnergySource = hes.SyntheticFeeders(network)
    assert all(source is archive for source in (interval, billing, events, settlement))
    assert feeders.feeder_energy("FDR-001", DAY, DAY + timedelta(days=1)).meters == 40


def test_every_meterdata_payload_validates_against_the_official_schema(
    archive: hes.HesArchive, network: Network
) -> None:
    end = DAY + timedelta(days=1)
    for consumer in network.consumers:
        serial = consumer.meter_serial
        _both_accept(dump(archive.interval_data(serial, DAY, end)))
        _both_accept(dump(archive.billing_data(serial, DAY - timedelta(days=30), end + STEP)))
        _both_accept(dump(archive.events(serial, DAY, end)))


def test_lost_and_repeated_blocks_are_estimated_and_flagged_in_meterdata(
    archive: hes.HesArchive, network: Network
) -> None:
    serial = next(c.meter_serial for c in network.consumers if c.meter_serial.endswith("3"))
    document = dump(archive.interval_data(serial, DAY, DAY + timedelta(days=1)))
    assert isinstance(document, list)
    intervals = document[1]["intervals"]
    assert [i["id"] for i in intervals] == list(range(96))
    flagged = {i["id"]: i["overrides"][0] for i in intervals if "overrides" in i}
    assert set(flagged) == {30, 31}
    assert flagged[30]["validationStatus"] == "ESTIMATED"
    assert flagged[30]["changeMethod"] == "linear-interpolation"
    assert flagged[30]["failCode"] == "missing"


def test_export_import_blocks_match_the_meter(archive: hes.HesArchive, network: Network) -> None:
    consumer = next(c for c in network.consumers if c.solar_kw and not c.meter_serial.endswith("3"))
    blocks = list(archive.export_import(consumer.meter_serial, DAY, DAY + timedelta(hours=24)))
    expected = network.meter_day(consumer, DAY)
    assert [b.export_kwh for b in blocks] == pytest.approx(list(expected.exports), abs=5e-4)
    assert max(b.export_kwh for b in blocks) > 0
    assert {b.quality for b in blocks} == {"validated"}


def test_unknown_meter_is_a_clear_error(archive: hes.HesArchive) -> None:
    with pytest.raises(MeterDataNotAvailable):
        archive.interval_data("NOPE", DAY, DAY + timedelta(days=1))


def test_feeder_input_is_the_meters_plus_losses(network: Network) -> None:
    feeder_day = network.feeder_day(DAY)
    metered = sum(sum(m.imports) - sum(m.exports) for m in network.days(DAY))
    assert sum(feeder_day.metered_kwh) == pytest.approx(metered)
    assert sum(feeder_day.input_kwh) == pytest.approx(
        metered + sum(feeder_day.technical_loss_kwh) + sum(feeder_day.commercial_loss_kwh)
    )
    energy = hes.SyntheticFeeders(network).feeder_energy("FDR-001", DAY, DAY + timedelta(days=1))
    assert 0.10 < energy.loss_ratio < 0.18  # 6 % technical + 8 % commercial of metered


def test_synthetic_data_is_deterministic_and_shaped(network: Network) -> None:
    again = Network(seed=11, consumers=40)
    assert [m.imports for m in again.days(DAY)] == [m.imports for m in network.days(DAY)]
    domestic = next(c for c in network.consumers if c.category == "domestic" and not c.solar_kw
                    and not c.ev_kw)  # fmt: skip
    day = network.meter_day(domestic, DAY).imports
    assert max(day[76:88]) > 2 * min(day[8:16])  # evening peak over the small hours


def test_bench_reports_throughput_baseline_and_memory() -> None:
    result = bench.run(30, traced_meters=5)
    assert result.readings == 30 * 96
    assert result.readings_per_second > 0
    assert result.ratio > 1
    assert "readings/s" in bench.report(result)
