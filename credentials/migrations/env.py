from credentials.store import metadata
from kernel.migrations import run_env

run_env(metadata, version_table="credentials_alembic_version")
