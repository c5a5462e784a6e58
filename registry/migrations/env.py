from kernel.migrations import run_env
from registry.store import metadata

run_env(metadata, version_table="registry_alembic_version")
