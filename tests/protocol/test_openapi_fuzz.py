"""Schemathesis against the gateway's OpenAPI: the Beckn endpoints (every unsigned or
malformed request answered with a signed NACK in the documented shape) and the
message log. No 5xx, documented statuses, responses matching their schemas."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from protocol.app import GatewaySettings, create_app
from tests.openapi_checks import EXCLUDED_CHECKS

from .conftest import MIGRATIONS


@pytest.fixture
def gateway_schema(make_database, tmp_path):
    app = create_app(
        GatewaySettings(
            database_url=make_database(MIGRATIONS),
            migrate_on_start=False,
            log_level="WARNING",
            key_dir=tmp_path / "keys",
            key_passphrase="correct horse battery staple",
            directory_url="http://127.0.0.1:9",
            run_worker=False,
        )
    )
    from credentials.keys import KeyAlgorithm

    app.state.participant.exchange.signer.custody.create("gateway-1", KeyAlgorithm.ED25519)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.engine.dispose()


schema = schemathesis.pytest.from_fixture("gateway_schema").include(
    path_regex=r"^/(discover|on_discover|status|on_status|protocol/)"
)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_gateway_api_conforms_to_its_openapi(case):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
