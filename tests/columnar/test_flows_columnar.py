"""The flows through the columnar worker give the answers of the per-meter path.

The engine runs in :class:`adapters.columnar.worker.ColumnarWorker`'s process, as it
does beside a participant that decides policy (regopy and DuckDB cannot share a
process: the last test shows a process holding both, through the worker, survives).
Compared on the same data: the consented MeterData (INTERVAL profiles), the per-block
export/import that P2P settlement and bills read, and the per-feeder billed energy and
export that AT&C losses and DER visibility read.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from adapters import vee
from adapters.columnar.errors import ColumnarWorkerFailed
from adapters.columnar.flows import FeederMetered
from adapters.columnar.remote import ColumnarFeeders, ColumnarHesArchive
from adapters.columnar.worker import ColumnarWorker
from adapters.errors import MeterDataNotAvailable
from adapters.synthetic import Network
from schemas.meterdata import dump
from tests.columnar.conftest import DAY, STEP
from tests.columnar.test_hes_columnar import _archive

CONFIG = vee.VeeConfig(discom="MSEDCL")
ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.slow)]


@pytest.fixture(scope="module", params=ENGINES)
def worker(request: pytest.FixtureRequest) -> Iterator[ColumnarWorker]:
    if request.param == "spark":
        pytest.importorskip("pyspark")
    env = {
        "IES_METERDATA_ENGINE": request.param,
        "IES_METERDATA_THREADS": "2",
        "IES_SPARK_SHUFFLE_PARTITIONS": "2",
    }
    with ColumnarWorker(env) as started:
        assert started.call("engine_name") == request.param
        yield started


def test_meterdata_and_blocks_through_the_worker(worker: ColumnarWorker) -> None:
    network = Network(seed=11, consumers=24)
    before = _archive(network)
    after = ColumnarHesArchive(_archive(network), worker, state="MH", discom="MSEDCL")
    after.wait_landed(600)  # Spark on a loaded two-core machine: minutes
    start, end = DAY, DAY + timedelta(days=2)
    estimated = 0
    for consumer in network.consumers[:8]:  # serials ending 3 and 5: lost blocks
        serial = consumer.meter_serial
        # Consented MeterData: the INTERVAL profiles the gate releases.
        assert dump(after.interval_data(serial, start, end)) == dump(
            before.interval_data(serial, start, end)
        )
        # P2P settlement and bills: the per-block export/import.
        window = (start + timedelta(hours=6), end - timedelta(hours=3))
        blocks = list(before.export_import(serial, *window))
        assert list(after.export_import(serial, *window)) == blocks
        estimated += sum(b.quality == "estimated" for b in blocks)
    assert estimated > 0  # the faults reached the comparison
    with pytest.raises(MeterDataNotAvailable):
        after.interval_data("NO-SUCH-METER", start, end)


def _per_meter(network: Network, start: datetime, days: int) -> tuple[float, float, int]:
    """The per-meter Python path: ``adapters.vee.run`` on each meter-day, then sums."""
    billed = export = 0.0
    for n in range(days):
        day = start + timedelta(days=n)
        for meter_day in network.days(day):
            samples = [
                vee.Sample(day + STEP * (s + 1), i, e)
                for s, (i, e) in enumerate(zip(meter_day.imports, meter_day.exports, strict=True))
            ]
            result = vee.run(samples, start=day, step=STEP, slots=96, config=CONFIG)
            billed += sum(r.import_kwh - r.export_kwh for r in result.readings)
            export += sum(r.export_kwh for r in result.readings)
    return billed, export, len(network.consumers)


def test_feeder_energy_through_the_worker(worker: ColumnarWorker) -> None:
    networks = [
        Network(seed=21, consumers=30, feeder="FDR-A"),
        Network(seed=22, consumers=18, feeder="FDR-B"),
    ]
    first, last = DAY.date(), DAY.date() + timedelta(days=1)
    feeders = ColumnarFeeders(worker, networks, first, last, state="MH", discom="MSEDCL")
    feeders.wait_landed(600)
    found = feeders.metered(DAY, DAY + timedelta(days=2))
    assert sorted(found) == ["FDR-A", "FDR-B"]
    for network in networks:
        billed, export, meters = _per_meter(network, DAY, 2)
        got = found[network.feeder]
        assert isinstance(got, FeederMetered)
        assert got.meters == meters
        # Decimal sums in the engine, float sums in Python: equal to the micro-kWh.
        assert got.billed_kwh == pytest.approx(billed, abs=1e-6)
        assert got.export_kwh == pytest.approx(export, abs=1e-6)
    assert found["FDR-A"].export_kwh > 0  # type: ignore[attr-defined]  # prosumers on A
    one_day = feeders.metered(DAY, DAY + timedelta(days=1))["FDR-A"]
    assert isinstance(one_day, FeederMetered)
    assert one_day.billed_kwh == pytest.approx(_per_meter(networks[0], DAY, 1)[0], abs=1e-6)


def test_worker_failures_are_problems() -> None:
    with ColumnarWorker({"IES_METERDATA_ENGINE": "duckdb"}) as worker:
        with pytest.raises(ColumnarWorkerFailed, match="no flow"):
            worker.call("no_such_flow")
        with pytest.raises(MeterDataNotAvailable):
            worker.call("hes_days", "never-landed", "X", DAY, DAY + timedelta(days=1))
        pid = worker.pid
        assert pid is not None
        subprocess.run(["kill", "-9", str(pid)], check=True)
        with pytest.raises(ColumnarWorkerFailed, match="stopped"):
            worker.call("engine_name")
        assert worker.call("engine_name") == "duckdb"  # started again
        assert worker.pid != pid


def test_policy_decisions_and_the_columnar_path_share_a_service() -> None:
    """A process that decides policy with regopy before and after the columnar flows,
    as a discom participant does, runs to the end (in-process it aborts)."""
    script = textwrap.dedent(
        f"""
        import datetime as dt
        from datetime import datetime, timedelta
        from policy_packs.decision import decide
        from policy_packs.engine import EmbeddedEngine
        from policy_packs.manifest import DOMAINS
        from policy_packs.packs import SHIPPED_KEYRING, SHIPPED_PACKS, load_catalogue
        from policy_packs.signing import FileKeyring
        from adapters.columnar.remote import ColumnarHesArchive
        from adapters.columnar.worker import ColumnarWorker
        from adapters.synthetic import Network
        from tests.columnar.test_hes_columnar import _archive
        from tests.columnar.conftest import DAY, STEP

        catalogue = load_catalogue(SHIPPED_PACKS, FileKeyring(SHIPPED_KEYRING))
        engine = EmbeddedEngine()
        def decisions():
            n = 0
            for domain in DOMAINS:
                pack = catalogue.select("IN-MH", domain, dt.date(2025, 6, 1))
                for case in pack.cases:
                    if case.domain == domain:
                        decide(catalogue, engine, jurisdiction="IN-MH", domain=domain,
                               document=case.input, as_of=dt.date(2025, 6, 1))
                        n += 1
            return n
        assert decisions() > 0
        with ColumnarWorker({{"IES_METERDATA_ENGINE": "duckdb"}}) as worker:
            network = Network(seed=11, consumers=6)
            archive = ColumnarHesArchive(_archive(network), worker, state="MH", discom="MSEDCL")
            serial = network.consumers[0].meter_serial
            blocks = list(archive.export_import(serial, DAY, DAY + timedelta(days=1)))
            assert len(blocks) == 96, len(blocks)
            assert decisions() > 0
        import sys
        assert "duckdb" not in sys.modules and "regopy" in sys.modules
        print("{"both"}")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("both")
