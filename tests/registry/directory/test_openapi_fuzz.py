"""Schemathesis against the directory's OpenAPI: no 5xx, documented statuses and
content types, responses matching their schemas, schema-violating requests refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from registry.app import RegistrySettings, create_app

from .conftest import MIGRATIONS


@pytest.fixture
def directory_schema(make_database):
    settings_ = RegistrySettings(
        database_url=make_database(MIGRATIONS), migrate_on_start=False, log_level="WARNING"
    )
    app = create_app(settings_)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.engine.dispose()


schema = schemathesis.pytest.from_fixture("directory_schema").include(
    path_regex=r"^/dedi/|did\.json$"
)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_directory_api_conforms_to_its_openapi(case):
    # A record's `details` is typed by its registry (subscriber, membership, ...), which
    # one OpenAPI body cannot say; a schema-valid body whose details fail the registry's
    # type is refused with 422 on purpose, so "positive data acceptance" does not apply.
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])
