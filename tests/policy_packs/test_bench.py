"""``ies bench policy`` runs end to end and reports every domain against its baseline."""

from __future__ import annotations

from policy_packs.bench import run
from policy_packs.manifest import DOMAINS


def test_the_bench_times_every_domain_and_the_baseline(capsys):
    timings = run(iterations=60)
    assert [t.name for t in timings] == ["baseline (trivial Rego)", *DOMAINS]
    for timing in timings:
        assert timing.per_second > 0
        assert 0 < timing.p50_ms <= timing.p99_ms
    assert "p50 / baseline" in capsys.readouterr().out
