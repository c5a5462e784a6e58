"""``ies bench consent`` runs end to end and serves the whole meter-year."""

from __future__ import annotations

from consent.bench import run


def test_bench_serves_a_meter_year_through_the_gate_and_reports_a_baseline(capsys):
    figures = run(checks=20, repeats=1)
    assert figures["readings"] == 35_040
    assert figures["checks_per_second"] > 0
    assert figures["baseline_ms"] > 0
    out = capsys.readouterr().out
    assert "ratio" in out
    assert "35,040 readings" in out
