from kernel.migrations import run_env
from protocol.store import metadata

run_env(metadata, version_table="protocol_alembic_version")
