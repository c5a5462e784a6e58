"""Participants as separate processes: each an ASGI app under uvicorn on 127.0.0.1.

Each gets its own database (a SQLite file by default; a database of its own on the
PostgreSQL server named by IES_DATABASE_URL), its own log file, and is stopped
when the network stops. Start-up is from scratch every time, so runs repeat.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sandbox.tls import ServerFiles


@dataclass(frozen=True, slots=True)
class Participant:
    """One service of the sandbox network."""

    name: str
    title: str
    app: str  # "package.module:attribute", as uvicorn takes it
    port: int
    env: dict[str, str] = field(default_factory=dict)
    tls: ServerFiles | None = None  # served on HTTPS with these (``sandbox.tls``)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


class NetworkError(RuntimeError):
    """A participant would not start; the message names it and points at its log."""


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As uvicorn binds: connections of an earlier run in TIME_WAIT do not hold the port.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Network:
    """Starts the participants, waits until each answers /healthz, stops them all."""

    def __init__(self, participants: list[Participant], data_dir: Path) -> None:
        self.participants = participants
        self.data_dir = data_dir
        self.processes: dict[str, multiprocessing.process.BaseProcess] = {}
        self.database_urls: dict[str, str] = {}

    def __enter__(self) -> Network:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _fresh_database(self, name: str) -> str:
        shared = os.environ.get("IES_DATABASE_URL")
        if shared and make_url(shared).get_backend_name() == "postgresql":
            database = f"ies_sandbox_{name}"
            admin = create_engine(shared, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{database}"'))
            admin.dispose()
            return make_url(shared).set(database=database).render_as_string(hide_password=False)
        path = self.data_dir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        busy = [p for p in self.participants if not port_is_free(p.port)]
        if busy:
            names = ", ".join(f"{p.name} ({p.port})" for p in busy)
            raise NetworkError(f"ports in use: {names}; pass --port to start elsewhere")
        context = _server_context()
        for participant in self.participants:
            url = self._fresh_database(participant.name)
            self.database_urls[participant.name] = url
            env = {"IES_DATABASE_URL": url, "IES_LOG_FORMAT": "json", **participant.env}
            log = self.data_dir / f"{participant.name}.log"
            process = context.Process(
                target=serve,
                args=(participant.app, participant.port, env, str(log), participant.tls),
                name=f"ies-{participant.name}",
                daemon=False,
            )
            process.start()
            self.processes[participant.name] = process
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:  # on TLS: trusts the run's CA (SSL_CERT_FILE)
            for participant in self.participants:
                while True:
                    process = self.processes[participant.name]
                    if not process.is_alive():
                        raise NetworkError(
                            f"{participant.name} exited; see {self.data_dir}/{participant.name}.log"
                        )
                    try:
                        if client.get(f"{participant.url}/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise NetworkError(f"{participant.name} did not answer in {timeout:.0f} s")
                    time.sleep(0.05)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        for process in self.processes.values():
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)
        self.processes.clear()


# Imported once by the fork server; every participant's process is forked from it, so
# nine processes pay for one import of the stack instead of nine (the start-up budget).
PRELOAD = [
    "uvicorn", "fastapi", "sqlmodel", "httpx", "pyld", "joserfc",
    "registry.app", "credentials.app", "protocol.app", "protocol.participant", "consent.app",
    "consent.provider", "policy_packs.app", "adapters.hes", "adapters.cis",
    "sandbox.participants.common",
]  # fmt: skip


def _server_context() -> Any:
    if sys.platform == "win32" or "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def serve(app: str, port: int, env: dict[str, str], log: str, tls: ServerFiles | None) -> None:
    """One participant's process: its environment, its log file, uvicorn on its port
    (on TLS, with its key decrypted by the run's passphrase)."""
    import uvicorn

    os.environ.update(env)
    handle = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)
    options: dict[str, Any] = {}
    if tls is not None:
        options = {
            "ssl_certfile": str(tls.certificate),
            "ssl_keyfile": str(tls.key),
            "ssl_keyfile_password": os.environ["IES_KEY_PASSPHRASE"],
        }
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning", **options)
