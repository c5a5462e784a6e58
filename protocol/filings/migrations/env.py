from kernel.migrations import run_env
from protocol.filings.store import metadata

run_env(metadata, version_table="filings_alembic_version")
