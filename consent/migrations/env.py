from consent.store import metadata
from kernel.migrations import run_env

run_env(metadata, version_table="consent_alembic_version")
