"""``ies bench meterdata`` at a toy size: its figures come from the work it did, and a
child that dies is reported by its cause with the whole trace kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.columnar import bench


def test_bench_reports_rows_memory_and_the_baseline_of_the_same_run(tmp_path: Path) -> None:
    (result,) = bench.run((1_500,), ("duckdb",), baseline_cap=700, workdir=tmp_path)

    # 1,500 meters tile the 1,000-meter template once and a half: the rows are the
    # template's rows for 1,000 meters plus those of its first 500.
    assert 96 * 1_500 * 0.9 < result.rows < 96 * 1_500 * 1.1
    duck = result.engines["duckdb"]
    assert duck["cpu"] > 0
    assert duck["seconds"] > 0
    assert duck["peak_rss"] > 50 * 2**20  # the process tree, DuckDB's buffers included
    # One row per feeder (2,000 meters each) and per DT (100 each) per slot with readings.
    assert duck["feeder_rows"] == 96
    assert duck["dt_rows"] == 15 * 96
    # The baseline stopped at its cap, and counted the rows it did.
    assert result.baseline["meters"] == 700
    assert 96 * 700 * 0.9 < result.baseline["rows"] < 96 * 700 * 1.1
    report = bench.report_size(result)
    assert "x plain Python wall" in report
    assert "rows per CPU-second" in report


def test_a_child_that_fails_is_named_by_its_first_exception(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as failed:
        bench._child("engine", str(tmp_path / "no-such-lake"), "duckdb")
    message = str(failed.value)
    first_line = message.splitlines()[0]
    assert "Error" in first_line or "Exception" in first_line, first_line
    log = Path(message.split("whole stderr: ")[1].splitlines()[0])
    try:
        assert "Traceback" in log.read_text(encoding="utf-8")
    finally:
        log.unlink()
