"""Engines and sessions for SQLite (the embedded default) and PostgreSQL.

SQLite gets WAL, foreign keys and a busy timeout, so a service and a CLI can share
one file; PostgreSQL gets a pre-pinged pool. Nothing here knows any table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Field, Session


def timestamp_field(nullable: bool = False, index: bool = False, **field: Any) -> Any:
    """A column holding an instant as naive UTC: the one spelling SQLite and PostgreSQL
    store alike. Write through :func:`to_db`, read through :func:`from_db`."""
    return Field(
        sa_column=Column(DateTime(timezone=False), nullable=nullable, index=index), **field
    )


def to_db(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def from_db(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine tuned for the backend behind ``url``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling never emits BEGIN before a SAVEPOINT, so
    # releasing a savepoint would commit; we take over and emit BEGIN ourselves
    # (SQLAlchemy's documented recipe), which makes nested transactions real.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while the importer writes; NORMAL sync is safe with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache (the default is 2 MiB): indexes on random identifiers touch
    # pages all over the file, and a million-row import slowed as they outgrew the cache.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front, so concurrent writers queue on the busy
    # timeout; a deferred transaction that later upgrades gets SQLITE_BUSY at once
    # ("database is locked"), which no timeout helps. SQLite has one writer anyway.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
