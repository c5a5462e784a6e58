"""Exchange layer: the stack's common data model.

Pydantic models for the payloads we exchange (``schemas.meterdata``,
``schemas.meterdatarequest``), the JSON Schemas generated from them
(``schemas/json/<Name>/<version>/schema.json``) and JSON-LD contexts
(``schemas/contexts``), and one validator for all of them::

    errors = schemas.validate("MeterData/v0.6", document)   # [] when it conforms
    schemas.check("MeterData/v0.6", document)               # raises InvalidDocument
"""

from __future__ import annotations

from schemas import meterdata_rules, meterdatarequest_rules
from schemas.errors import InvalidDocument, SchemaProblem, UnknownSchema
from schemas.validation import (
    SchemaError,
    check,
    register_rules,
    schema,
    schema_ids,
    validate,
    validator,
)

METERDATA = "MeterData/v0.6"
METERDATAREQUEST = "MeterDataRequest/v0.6"

register_rules(METERDATA, meterdata_rules.check)
register_rules(METERDATAREQUEST, meterdatarequest_rules.check)

__all__ = [
    "METERDATA",
    "METERDATAREQUEST",
    "InvalidDocument",
    "SchemaError",
    "SchemaProblem",
    "UnknownSchema",
    "check",
    "register_rules",
    "schema",
    "schema_ids",
    "validate",
    "validator",
]
