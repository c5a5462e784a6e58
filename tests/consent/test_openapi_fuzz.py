"""The consent manager and the discom's gated data service against their own OpenAPI
documents: no 5xx, responses as documented, schema-violating requests refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.openapi_checks import EXCLUDED_CHECKS


@pytest.fixture
def consent_schema(network):
    # Seed one consent so that the consumer routes also meet real rows.
    assert network.request_consent().status_code == 201
    return schemathesis.openapi.from_asgi("/openapi.json", network.cm_app)


@pytest.fixture
def provider_schema(network):
    return schemathesis.openapi.from_asgi("/openapi.json", network.discom_app)


consent_api = schemathesis.pytest.from_fixture("consent_schema")
provider_api = schemathesis.pytest.from_fixture("provider_schema")


@consent_api.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_consent_manager_keeps_its_openapi_promises(case, network):
    # The console's token: the consumer routes meet real rows, not only a 401 at the door.
    token = {"Authorization": network.consumer_http.headers["Authorization"]}
    case.call_and_validate(headers=token, excluded_checks=EXCLUDED_CHECKS)


@provider_api.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_gated_data_service_keeps_its_openapi_promises(case):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
