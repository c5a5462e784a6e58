from kernel.migrations import run_env
from protocol.der.store import metadata

run_env(metadata, version_table="der_alembic_version")
