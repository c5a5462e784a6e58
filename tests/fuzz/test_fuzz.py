"""Coverage-guided fuzzing (atheris) of the parsers strangers feed: the Beckn signature
header, the envelope, the IES identifier codec and the registry's import file.

Every crash the fuzzer ever found is kept in ``tests/fuzz/crashes/{target}/`` and
replayed here on every run; then each target is fuzzed afresh for a bounded time
(``IES_FUZZ_SECONDS``, 20 s by default), once per test command (the SQLite pass).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND
from tests.fuzz.targets import TARGETS

HERE = Path(__file__).parent
SECONDS = int(os.environ.get("IES_FUZZ_SECONDS", "20"))

KEPT = sorted(
    (target, path)
    for target in TARGETS
    for kind in ("crashes", "seeds")
    if (HERE / kind / target).is_dir()
    for path in (HERE / kind / target).iterdir()
)


@pytest.mark.parametrize(("target", "path"), KEPT, ids=[f"{t}/{p.name}" for t, p in KEPT])
def test_every_kept_input_is_handled(target: str, path: Path) -> None:
    TARGETS[target](path.read_bytes())


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "sqlite", reason="the parsers touch no database: fuzzed once")
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzzing_finds_no_crash(target: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", target, str(SECONDS), str(tmp_path)],
        capture_output=True, text=True, timeout=SECONDS + 120, check=False,
        cwd=HERE.parent.parent,
    )  # fmt: skip
    crashes = sorted(tmp_path.glob("crash-*")) + sorted(tmp_path.glob("timeout-*"))
    advice = f"the fuzzer broke {target}; keep the input in tests/fuzz/crashes/{target}/"
    assert not crashes, f"{advice} once fixed: {[str(c) for c in crashes]}"
    assert result.returncode == 0, f"{advice}\n{result.stderr[-4000:]}"
    assert "stat::number_of_executed_units" in result.stderr  # it did run
