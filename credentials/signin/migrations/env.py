from credentials.signin.store import metadata
from kernel.migrations import run_env

run_env(metadata, version_table="signin_alembic_version")
