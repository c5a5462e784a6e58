from kernel.migrations import run_env
from sandbox.participants.der_requests.store import metadata

run_env(metadata, version_table="installer_der_alembic_version")
