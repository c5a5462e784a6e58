"""The service against its own OpenAPI document: no 5xx, responses as documented, and
schema-violating requests refused (schemathesis' positive and negative phases)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.openapi_checks import EXCLUDED_CHECKS
from tests.tokens import TestIssuer

TOKEN = TestIssuer()  # logging a decision needs a platform's machine token


@pytest.fixture
def api_schema(policy_app):
    TOKEN.install(policy_app, "regulator.test")
    return schemathesis.openapi.from_asgi("/openapi.json", policy_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_openapi_promises(case):
    headers = TOKEN.headers("regulator.test", ["policy:evaluate"])
    case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
