"""``ies sandbox --check`` plays the network end to end over real HTTP and says so."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import BACKEND, POSTGRES_ADMIN_URL


def _free_port_block(size: int = 20) -> int:
    for start in range(20000, 60000, 97):
        ports = []
        for port in range(start, start + size):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    break
                ports.append(port)
        if len(ports) == size:
            return start
    raise RuntimeError("no free block of ports")


@pytest.mark.slow
def test_sandbox_check_plays_every_use_case_and_exits_zero(tmp_path):
    env = {**os.environ, "IES_LOG_LEVEL": "WARNING"}
    env.pop("IES_DATABASE_URL", None)
    if BACKEND == "postgres":
        env["IES_DATABASE_URL"] = make_url(POSTGRES_ADMIN_URL).render_as_string(False)
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "sandbox", "--check", "--port", str(_free_port_block()),
         "--data-dir", str(tmp_path / "sandbox")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    assert result.stdout.count("pass") >= 10
