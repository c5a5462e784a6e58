"""The inbox against its own OpenAPI document: no 5xx, responses as documented, and
schema-violating requests refused (an unsigned or garbled filing is refused before
its body is read)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.openapi_checks import EXCLUDED_CHECKS


@pytest.fixture
def api_schema(inbox_app):
    return schemathesis.openapi.from_asgi("/openapi.json", inbox_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_inbox_keeps_its_openapi_promises(case):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
