"""One ``ies sandbox --check`` run per test session, shared by every use case's tests.

Starting the network and playing every use case takes most of a minute; each use
case's test module reads what the one run printed and kept as evidence (every
credential and message that crossed the network, under ``{data dir}/evidence``)
instead of starting the network again. The PostgreSQL pass plays it on TLS
(``--tls``: every participant on HTTPS with the run's own CA, every callback's
certificate checked), so both transports are shown without a third run.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import BACKEND, POSTGRES_ADMIN_URL


def free_port_block(size: int = 20) -> int:
    for start in range(20000, 60000, 97):
        ports = []
        for port in range(start, start + size):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    break
                ports.append(port)
        if len(ports) == size:
            return start
    raise RuntimeError("no free block of ports")


@dataclass
class SandboxRun:
    """What one ``ies sandbox --check`` run printed, returned and kept."""

    returncode: int
    stdout: str
    stderr: str
    data_dir: Path
    passphrase: str = ""  # the run's key passphrase: the secrets-in-logs test looks for it

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def evidence(self, kind: str | None = None) -> list[dict[str, Any]]:
        """What crossed the network, in order; only ``kind`` when given."""
        items = [json.loads(p.read_text())
                 for p in sorted((self.data_dir / "evidence").glob("*.json"))]  # fmt: skip
        return [i for i in items if kind is None or i["kind"] == kind]

    def kinds(self) -> set[str]:
        return {i["kind"] for i in self.evidence()}


@pytest.fixture(scope="session")
def sandbox_run(tmp_path_factory: pytest.TempPathFactory) -> SandboxRun:
    env = {**os.environ, "IES_LOG_LEVEL": "WARNING"}
    env.pop("IES_DATABASE_URL", None)
    if BACKEND == "postgres":
        env["IES_DATABASE_URL"] = make_url(POSTGRES_ADMIN_URL).render_as_string(False)
    data_dir = tmp_path_factory.mktemp("sandbox")
    env["IES_KEY_PASSPHRASE"] = passphrase = secrets.token_urlsafe(24)
    tls = ["--tls"] if BACKEND == "postgres" else []
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "sandbox", "--check", "--port", str(free_port_block()),
         "--data-dir", str(data_dir), *tls],
        env=env, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    return SandboxRun(result.returncode, result.stdout, result.stderr, data_dir, passphrase)
