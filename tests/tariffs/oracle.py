"""The IES_Policy oracle: DEG's ``ies-policy/core/attributes.yaml`` in ../shared, as a
JSON Schema validator.

``IES_Policy`` ``$ref``s four OpenADR 3.1.0 definitions through ``openadr3.yaml``,
which ../shared does not hold (deg/README.md, "Not included"). ``dateTime``,
``duration`` and ``valuesMap`` (the item of ``programRequest.targets``) are taken
from DEG's own OpenADR 3.1.0 extract in ../shared; ``objectID`` is OpenADR 3's
published definition (a string of 1 to 128 characters from ``[a-zA-Z0-9_-]``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kernel.yamlio import load_yaml
from tests.oracles import DEG, strict_validator

ATTRIBUTES = DEG / "ies-policy" / "core" / "attributes.yaml"
OPENADR = DEG / "deg-schema" / "openadr" / "v3.1.0" / "attributes.yaml"
EXAMPLES = DEG / "examples" / "tariff-policy"
BASE = (
    "https://raw.githubusercontent.com/beckn/DEG/ies-specs/specification/external/schema/ies/core/"
)


@cache
def ies_policy_validator() -> Draft202012Validator:
    core = load_yaml(ATTRIBUTES.read_text())
    openadr = load_yaml(OPENADR.read_text())["components"]["schemas"]
    stand_in = {
        "components": {
            "schemas": {
                "objectID": {
                    "type": "string",
                    "pattern": "^[a-zA-Z0-9_-]*$",
                    "minLength": 1,
                    "maxLength": 128,
                },
                "dateTime": openadr["dateTime"],
                "duration": openadr["duration"],
                "valuesMap": openadr["valuesMap"],
                "point": openadr["point"],
                "programRequest": {
                    "properties": {
                        "targets": {
                            "type": ["array", "null"],
                            "items": {"$ref": "#/components/schemas/valuesMap"},
                        }
                    }
                },
            }
        }
    }
    registry: Registry[Any] = Registry().with_resources(
        [
            (BASE + "attributes.yaml", Resource.from_contents(core, DRAFT202012)),
            (BASE + "openadr3.yaml", Resource.from_contents(stand_in, DRAFT202012)),
        ]
    )
    schema = {"$ref": BASE + "attributes.yaml#/components/schemas/IES_Policy"}
    return strict_validator(schema, registry)


def ies_policy_errors(policy: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in ies_policy_validator().iter_errors(policy)
    ]
