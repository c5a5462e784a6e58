"""Databases for tests: real SQLite files, or a real PostgreSQL server.

``IES_TEST_BACKEND`` picks the backend (the test command runs the suite once with
each). A test asks ``make_database("registry:migrations", ...)`` for a fresh,
migrated database of its own; the migrations run once per session into a template
that each test then copies (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE``
on PostgreSQL), so isolation costs milliseconds.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kernel.database import create_db_engine
from kernel.migrations import upgrade

# CI replays the same examples every run (a red CI must mean a regression, not a new
# draw); a developer's run explores new ones. Either way a failure prints its blob.
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", print_blob=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# DuckDB's and regopy's native libraries corrupt each other's heap in one process
# (an abort at import, or later inside a policy decision), so the columnar path's tests
# run in a pytest process of their own: the test command's last pass, with
# IES_TEST_COLUMNAR=1 and only tests/columnar. Everywhere else they are not collected.
COLUMNAR_PASS = os.environ.get("IES_TEST_COLUMNAR") == "1"
collect_ignore_glob = [] if COLUMNAR_PASS else ["columnar/*"]

BACKEND = os.environ.get("IES_TEST_BACKEND", "sqlite")
POSTGRES_ADMIN_URL = os.environ.get("IES_TEST_POSTGRES_URL", "")

MakeDatabase = Callable[..., str]


def pytest_report_header() -> str:
    return f"IES test backend: {BACKEND}"


class _Databases:
    """Creates databases on the chosen backend and removes them at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.templates: dict[tuple[str, ...], str] = {}
        self.created: list[str] = []
        if BACKEND == "postgres":
            if not POSTGRES_ADMIN_URL:
                raise RuntimeError("IES_TEST_BACKEND=postgres needs IES_TEST_POSTGRES_URL")
            self.admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def _pg_url(self, name: str) -> str:
        return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)

    def _new_empty(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        if BACKEND == "postgres":
            source = f" TEMPLATE {template}" if template else " TEMPLATE template0"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"{source}'))
            self.created.append(name)
            return self._pg_url(name)
        path = self.workdir / f"{name}.db"
        if template:
            shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    def make(self, *script_locations: str) -> str:
        key = tuple(script_locations)
        if key not in self.templates:
            url = self._new_empty()
            engine = create_db_engine(url)
            for location in script_locations:
                upgrade(engine, location)
            if BACKEND == "sqlite":
                raw = (
                    engine.raw_connection()
                )  # autocommit: a checkpoint cannot run in a transaction
                try:
                    raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    raw.close()
            engine.dispose()
            database = make_url(url).database
            assert database is not None
            self.templates[key] = database
        return self._new_empty(self.templates[key])

    def close(self) -> None:
        if BACKEND == "postgres":
            with self.admin.connect() as conn:
                for name in self.created:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                for name in self.templates.values():
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    databases = _Databases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.close()


@pytest.fixture
def make_database(_databases: _Databases) -> MakeDatabase:
    """``make_database(*migration_script_locations) -> url`` of a fresh, migrated database."""
    return _databases.make
