from kernel.migrations import run_env
from registry.ledger.store import metadata

run_env(metadata, version_table="ledger_alembic_version")
