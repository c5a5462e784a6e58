"""How every service's OpenAPI is fuzzed with schemathesis.

All of schemathesis' checks run except ``positive_data_acceptance``: our services
refuse some schema-valid requests on purpose with 404/409/422 problem details
(an unknown identifier, a relation the network does not allow, personal data on
a meter), rules a JSON Schema cannot state. The opposite direction, schema-violating
requests refused (``negative_data_rejection``), stays on everywhere.
"""

from __future__ import annotations

from schemathesis.specs.openapi.checks import positive_data_acceptance

EXCLUDED_CHECKS = [positive_data_acceptance]
