from kernel.migrations import run_env
from protocol.outages.store import metadata

run_env(metadata, version_table="outages_alembic_version")
