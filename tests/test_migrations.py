"""Every building block's migrations create exactly what its models declare.

A model changed without a migration (or a migration that drifts from the model)
fails here, on SQLite and on PostgreSQL, before it reaches anyone's database.
"""

from __future__ import annotations

import importlib

import pytest

from kernel.database import create_db_engine
from kernel.migrations import pending_differences
from sandbox.cli import MIGRATION_PACKAGES


@pytest.mark.parametrize("package", sorted(MIGRATION_PACKAGES))
def test_migrations_match_the_models(make_database, package):
    metadata = importlib.import_module(f"{package}.store").metadata
    engine = create_db_engine(make_database(MIGRATION_PACKAGES[package]))
    try:
        assert pending_differences(engine, metadata, f"{package}_alembic_version") == []
    finally:
        engine.dispose()


def test_every_package_with_tables_has_migrations():
    for package in ("registry", "policy_packs"):
        assert package in MIGRATION_PACKAGES
