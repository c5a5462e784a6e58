"""The decision log's migration matches its model on the test backend."""

from __future__ import annotations

from kernel.database import create_db_engine
from kernel.migrations import pending_differences
from policy_packs.store import metadata

from .conftest import MIGRATIONS


def test_the_migrated_database_matches_the_models(make_database):
    engine = create_db_engine(make_database(MIGRATIONS))
    try:
        assert pending_differences(engine, metadata, "policy_packs_alembic_version") == []
    finally:
        engine.dispose()
