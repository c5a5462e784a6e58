from kernel.migrations import run_env
from policy_packs.store import metadata

run_env(metadata, version_table="policy_packs_alembic_version")
