"""Generate the shipped JSON Schemas and JSON-LD contexts from the models.

``python -m schemas.generate`` rewrites ``schemas/json`` and ``schemas/contexts``;
``tests/schemas/test_generated.py`` fails when a shipped file differs from what the
models generate, so the models stay the single declaration of each shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from schemas.arrfiling import ArrFiling
from schemas.credentials import CREDENTIAL_MODELS, credential_context, energy_credential_context
from schemas.meterdata import MeterDataPayload
from schemas.meterdatarequest import MeterDataRequestPayload

HERE = Path(__file__).resolve().parent
JSON_DIR = HERE / "json"
CONTEXTS_DIR = HERE / "contexts"
BASE_URI = "https://ies-stack.org/schemas/"
VOCAB_URI = "https://ies-stack.org/vocab#"

# schema id -> the model it is generated from. Other building blocks add their shapes here.
MODELS: dict[str, type[BaseModel]] = {
    "MeterData/v0.6": MeterDataPayload,
    "MeterDataRequest/v0.6": MeterDataRequestPayload,
    "ArrFiling/v0.5": ArrFiling,
}
# Verifiable credentials (schemas/credentials.py): their contexts are written by
# ``credential_context``, since a VC context must respect the VC v2 protected terms.
MODELS.update({model.schema_id: model for model in CREDENTIAL_MODELS})
CONTEXTS: dict[str, Any] = {model.schema_id: model for model in CREDENTIAL_MODELS}
EXTRA_CONTEXTS = {"EnergyCredential/v2.0": energy_credential_context}


class _WireSchema(GenerateJsonSchema):
    """JSON Schema for what goes on the wire: an optional member is left out, never null.

    pydantic writes ``anyOf: [X, null]`` for ``X | None = None``; the IES schemas (and
    our emitters, which drop ``None``) have no nulls, so the schema must refuse them.
    """

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        generated = super().default_schema(schema)
        if generated.get("default", ...) is None:
            del generated["default"]
        return generated

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def schema_document(schema_id: str) -> dict[str, Any]:
    model = MODELS[schema_id]
    body = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_WireSchema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_URI}{schema_id}/schema.json",
        **body,
    }


def context_document(schema_id: str) -> dict[str, Any]:
    """A JSON-LD context naming every member and profile type of the schema."""
    if schema_id in CONTEXTS:
        return credential_context(CONTEXTS[schema_id])
    schema = schema_document(schema_id)
    terms: set[str] = set()
    types: set[str] = set()
    dated: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, member in node.get("properties", {}).items():
                if not name.startswith("@"):
                    terms.add(name)
                    if isinstance(member, dict) and member.get("format") == "date-time":
                        dated.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    for name, definition in schema.get("$defs", {}).items():
        if "profileType" in definition.get("properties", {}) or name.endswith("Profile"):
            types.add(name)
    context: dict[str, Any] = {
        "@version": 1.1,
        "ies": VOCAB_URI,
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    }
    for term in sorted(terms):
        context[term] = (
            {"@id": f"ies:{term}", "@type": "xsd:dateTime"} if term in dated else f"ies:{term}"
        )
    for name in sorted(types):
        context[name] = f"ies:{name}"
    return {"@context": context}


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def expected_files() -> dict[Path, str]:
    """Every generated file and its content."""
    files: dict[Path, str] = {}
    for schema_id in MODELS:
        files[JSON_DIR / schema_id / "schema.json"] = _render(schema_document(schema_id))
        files[CONTEXTS_DIR / schema_id / "context.jsonld"] = _render(context_document(schema_id))
    for schema_id, build in EXTRA_CONTEXTS.items():
        files[CONTEXTS_DIR / schema_id / "context.jsonld"] = _render(build())
    return files


def main() -> None:
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(HERE.parent))


if __name__ == "__main__":
    main()
