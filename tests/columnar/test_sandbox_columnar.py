"""The whole sandbox twice: the discoms' meter-data flows per meter in Python, then
through the columnar path (``IES_METERDATA_FLOWS=columnar``: each discom lands its
head-end data in Parquet and a worker process runs the engine). The answers that
crossed the network must be the same: the consented MeterData, the discoms' bills, the
P2P settlement statements (metered and delivered energy per block) and the per-feeder
DER aggregates. Identifiers differ between runs (fresh random IDs), so what is compared
is the numbers, in a stable order.

This runs in the columnar pass of the test command (its own pytest process), because a
participant with the columnar path on starts an engine worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import free_port_block

pytestmark = pytest.mark.slow


def _run(data_dir: Path, flows: str) -> Path:
    env = {**os.environ, "IES_LOG_LEVEL": "INFO", "IES_METERDATA_FLOWS": flows}
    env.pop("IES_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "sandbox", "--check", "--port", str(free_port_block()),
         "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return data_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        flows: _run(tmp_path_factory.mktemp(f"sandbox-{flows}"), flows)
        for flows in ("python", "columnar")
    }


def _evidence(data_dir: Path, kind: str) -> list[Any]:
    items = [json.loads(p.read_text()) for p in sorted((data_dir / "evidence").glob("*.json"))]
    return [i["payload"] for i in items if i["kind"] == kind]


def _meter_data(data_dir: Path) -> list[Any]:
    return [
        (
            [ref["value"] for ref in profile["meterRefs"]],
            profile["intervalPeriod"],
            [interval["payloads"] for interval in profile["intervals"]],
        )
        for payload in _evidence(data_dir, "MeterData")
        for profile in payload
        if profile["profileType"] == "INTERVAL"
    ]


def _bills(data_dir: Path) -> list[Any]:
    return sorted(
        json.dumps([bill["bank"], bill["discom"]], sort_keys=True)
        for bill in _evidence(data_dir, "tariff:bill")
    )


def _settlement(data_dir: Path) -> list[Any]:
    return sorted(
        json.dumps(
            [
                (line["block"], line["role"], line["meteredKwh"], line["deliveredKwh"])
                for line in statement["lines"]
            ]
        )
        for statement in _evidence(data_dir, "P2PSettlementStatement")
    )


def _feeders(data_dir: Path) -> list[Any]:
    out = []
    for aggregate in _evidence(data_dir, "der:aggregates"):
        for feeder in aggregate["feeders"]:
            numbers = {k: v for k, v in feeder.items() if k not in ("feederId",)}
            out.append(json.dumps([aggregate["discom"], numbers], sort_keys=True))
    return sorted(out)


@pytest.mark.parametrize(
    "projection", [_meter_data, _bills, _settlement, _feeders], ids=lambda f: f.__name__
)
def test_the_columnar_path_gives_the_same_answers(runs, projection):
    before, after = projection(runs["python"]), projection(runs["columnar"])
    assert before, "the per-meter run produced nothing to compare"
    assert after == before


def test_the_discoms_served_through_the_columnar_worker(runs):
    for discom in ("discom-mh", "discom-ka"):
        log = (runs["columnar"] / f"{discom}.log").read_text()
        assert "columnar lake landed" in log, discom
        assert "columnar lake landed" not in (runs["python"] / f"{discom}.log").read_text()
