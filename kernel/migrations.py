"""Alembic, driven from code: every building block keeps its own migration history.

Each package has ``migrations/env.py`` that calls :func:`run_env` with its own
metadata and version table, so several blocks can share one database (the
sandbox on PostgreSQL) without their histories colliding.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData


def _config(script_location: str, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, script_location: str) -> None:
    """Bring the tables of one building block to the newest revision."""
    config = _config(script_location, engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def make_revision(engine: Engine, script_location: str, message: str) -> None:
    """Write a new revision by comparing the models with an up-to-date database."""
    config = _config(script_location, engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


def run_env(metadata: MetaData, version_table: str) -> None:
    """The body of every package's ``migrations/env.py``."""
    from alembic import context  # only importable while alembic runs an env script

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through kernel.migrations.upgrade only")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def pending_differences(engine: Engine, metadata: MetaData, version_table: str) -> list[object]:
    """What the models declare that the migrated database lacks (empty when in step)."""
    from alembic.autogenerate import compare_metadata

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": version_table, "compare_type": True}
        )
        diffs = compare_metadata(context, metadata)
    return [d for d in diffs if not _is_foreign_table(d, metadata)]


def _is_foreign_table(diff: object, metadata: MetaData) -> bool:
    """Tables of other building blocks in a shared database are not ours to compare."""
    if isinstance(diff, tuple) and diff and diff[0] == "remove_table":
        return diff[1].name not in metadata.tables
    if isinstance(diff, tuple) and diff and diff[0] in {"remove_index", "remove_column"}:
        table = getattr(diff[1], "table", None)
        name = getattr(table, "name", None) if table is not None else None
        if diff[0] == "remove_column":
            name = diff[2]
        return name not in metadata.tables
    return False
