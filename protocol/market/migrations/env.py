from kernel.migrations import run_env
from protocol.market.store import metadata

run_env(metadata, version_table="market_alembic_version")
