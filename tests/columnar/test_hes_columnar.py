"""The consented MeterData path gives the same answers through the columnar store as
through the per-meter decode + VEE: same INTERVAL profiles, same export/import."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapters import hes, vee
from adapters.columnar.engine import Engine
from adapters.columnar.pipeline import MeterDataStore
from adapters.dlms import simulator
from adapters.synthetic import Network
from schemas.meterdata import dump
from tests.columnar.conftest import DAY, STEP


def _archive(network: Network) -> hes.HesArchive:
    archive = hes.HesArchive(config=vee.VeeConfig(discom="MSEDCL"))
    for n in range(2):
        day = DAY + timedelta(days=n)
        for meter_day in network.days(day):
            serial = meter_day.consumer.meter_serial
            blocks = simulator.blocks_from_kwh(day, STEP, meter_day.imports, meter_day.exports)
            if serial.endswith("3"):  # a HES that lost two blocks and repeated one
                blocks = blocks[:30] + blocks[32:] + [blocks[10]]
            if serial.endswith("5"):  # five hours lost: beyond interpolation
                blocks = blocks[:20] + blocks[40:]
            archive.add_block_load(serial, day.date(), simulator.block_load_buffer(blocks))
    return archive


@pytest.fixture(scope="module")
def network() -> Network:
    return Network(seed=11, consumers=24)


def test_landed_archive_serves_the_same_meterdata(
    network: Network, duck: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = _archive(network)
    after = _archive(network)
    after.land(
        duck, MeterDataStore(Path(tmp_path_factory.mktemp("lake"))), state="MH", discom="MSEDCL"
    )
    start, end = DAY, DAY + timedelta(days=2)
    estimated = 0
    for consumer in network.consumers[:8]:  # serials ending 3 and 5 included
        serial = consumer.meter_serial
        expected = dump(before.interval_data(serial, start, end))
        assert dump(after.interval_data(serial, start, end)) == expected
        blocks = list(before.export_import(serial, start + timedelta(hours=6), end))
        assert list(after.export_import(serial, start + timedelta(hours=6), end)) == blocks
        estimated += sum(b.quality == "estimated" for b in blocks)
    assert estimated > 0  # the faults reached the comparison
