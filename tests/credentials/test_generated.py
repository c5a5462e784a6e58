"""The shipped credential schemas and contexts are exactly what the models generate."""

from __future__ import annotations

from schemas.credentials import CREDENTIAL_MODELS
from schemas.generate import CONTEXTS_DIR, JSON_DIR, expected_files


def test_shipped_credential_schemas_and_contexts_are_generated_from_the_models() -> None:
    files = expected_files()
    ours = [JSON_DIR / m.schema_id / "schema.json" for m in CREDENTIAL_MODELS]
    ours += [CONTEXTS_DIR / m.schema_id / "context.jsonld" for m in CREDENTIAL_MODELS]
    ours.append(CONTEXTS_DIR / "EnergyCredential/v2.0/context.jsonld")
    for path in ours:
        assert path.read_text(encoding="utf-8") == files[path], (
            f"{path}: run python -m schemas.generate"
        )
