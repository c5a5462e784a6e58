"""Schemathesis against the credentials service's OpenAPI: no 5xx, documented statuses
and content types, responses matching their schemas, schema-violating requests refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from credentials.app import CredentialSettings, create_app
from tests.openapi_checks import EXCLUDED_CHECKS

from .conftest import MIGRATIONS


@pytest.fixture
def credentials_schema(make_database):
    app = create_app(
        CredentialSettings(
            database_url=make_database(MIGRATIONS),
            migrate_on_start=False,
            log_level="WARNING",
            # nothing listens there: status checks answer "unavailable", never a 5xx
            directory_url="http://127.0.0.1:9",
        ),
        issuers={},
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.engine.dispose()


schema = schemathesis.pytest.from_fixture("credentials_schema").include(
    path_regex=r"^/(credentials|presentations)/|did\.json$"
)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_credentials_api_conforms_to_its_openapi(case):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
