"""Run one fuzz target under atheris (libFuzzer) for a bounded time.

``python -m tests.fuzz.run TARGET SECONDS WORKDIR``: the seeds in
``tests/fuzz/seeds/TARGET`` start the corpus, the corpus grows in ``WORKDIR``, and a
crash is written as ``WORKDIR/crash-…``; the test that runs this copies nothing
itself: a crash fails it with the file's path, and the fix's commit adds the file to
``tests/fuzz/crashes/TARGET`` where every later run replays it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import atheris

HERE = Path(__file__).parent


def main() -> None:
    name, seconds, workdir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    with atheris.instrument_imports(include=["protocol", "registry"]):
        from tests.fuzz.targets import TARGETS
    target = TARGETS[name]
    corpus = workdir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for folder in (HERE / "seeds" / name, HERE / "crashes" / name):
        if folder.is_dir():
            for seed in folder.iterdir():
                shutil.copy(seed, corpus / seed.name)
    atheris.Setup(
        [sys.argv[0], f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-max_len=4096",
         f"-artifact_prefix={workdir}/", "-print_final_stats=1", str(corpus)],
        target,
    )  # fmt: skip
    atheris.Fuzz()


if __name__ == "__main__":
    main()
