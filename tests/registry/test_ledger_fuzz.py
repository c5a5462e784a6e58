"""Schemathesis against the ledger's routes as the registry mounts them: no 5xx, every
response as documented, schema-violating requests refused (unsigned writes get 401)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from registry.app import RegistrySettings, create_app
from registry.ledger.api import install_ledger
from registry.ledger.service import LedgerWriters
from tests.openapi_checks import EXCLUDED_CHECKS
from tests.tokens import TestIssuer

TOKEN = TestIssuer()


@pytest.fixture
def ledger_schema(registry_url):
    app = create_app(
        RegistrySettings(database_url=registry_url, migrate_on_start=False, log_level="WARNING")
    )
    install_ledger(
        app,
        app.state.engine,
        app.state.directory,
        LedgerWriters(frozenset({"p2p.example"}), frozenset({"discom.example"})),
    )
    TOKEN.install(app, "registry.test")  # ledger reads need a machine token (ledger:read)
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/ledger")


schema = schemathesis.pytest.from_fixture("ledger_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_ledger_api_conforms_to_its_openapi(case):
    headers = TOKEN.headers("registry.test", ["ledger:read"])
    case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
