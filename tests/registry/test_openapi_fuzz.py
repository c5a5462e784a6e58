"""Schemathesis against the registry's own OpenAPI: no 5xx, every response as documented,
and schema-violating requests refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from registry.app import RegistrySettings, create_app
from tests.openapi_checks import EXCLUDED_CHECKS
from tests.tokens import ALL_REGISTRY, TestIssuer

TOKEN = TestIssuer()  # the routes that need a machine token get a real one


@pytest.fixture
def registry_schema(registry_url):
    app = create_app(
        RegistrySettings(database_url=registry_url, migrate_on_start=False, log_level="WARNING")
    )
    TOKEN.install(app, "registry.test")
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("registry_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_registry_api_conforms_to_its_openapi(case):
    headers = TOKEN.headers("registry.test", ALL_REGISTRY)
    case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
