"""The Beckn v2.0.0 OpenAPI (the oracle), read from ../shared at test time, never copied.

``request_errors(action, document)`` validates a whole request body against the
path's own request schema (``/discover``, ``/on_status`` …); ``ack_errors`` checks an
Ack/NACK body against the response schema the path names for its status code.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from kernel.yamlio import load_yaml
from tests.oracles import SHARED, format_checker

BECKN = SHARED / "beckn" / "beckn-v2.0.0.yaml"
DEG_EXAMPLES = SHARED / "deg" / "examples"
_ROOT = "urn:beckn:v2.0.0"


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(BECKN.read_text(encoding="utf-8"))
    return loaded


@cache
def _registry() -> Registry[Any]:
    return Registry().with_resource(_ROOT, DRAFT202012.create_resource(spec()))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def _validator(ref: str, formats: bool = True) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{_ROOT}#/{ref}"},
        registry=_registry(),
        format_checker=format_checker() if formats else None,
    )


def request_errors(action: str, document: Any, formats: bool = True) -> list[str]:
    """``formats=False`` reads ``format`` as OpenAPI 3.1 does by default (an annotation):
    the DEG examples use ids such as ``contract-p2p-001`` where the spec says uuid."""
    ref = _pointer(
        "paths", f"/{action}", "post", "requestBody", "content", "application/json", "schema"
    )
    return [f"{e.json_path}: {e.message}" for e in _validator(ref, formats).iter_errors(document)]


def ack_errors(action: str, status: int, document: Any) -> list[str]:
    response = spec()["paths"][f"/{action}"]["post"]["responses"][str(status)]["$ref"]
    name = response.rsplit("/", 1)[1]
    ref = _pointer("components", "responses", name, "content", "application/json", "schema")
    return [f"{e.json_path}: {e.message}" for e in _validator(ref).iter_errors(document)]


def signature_errors(header: str) -> list[str]:
    ref = _pointer("components", "schemas", "Signature")
    return [e.message for e in _validator(ref).iter_errors(header)]


def counter_signature_errors(value: str) -> list[str]:
    ref = _pointer("components", "schemas", "CounterSignature")
    return [e.message for e in _validator(ref).iter_errors(value)]


def deg_examples() -> list[Path]:
    return sorted(p for p in DEG_EXAMPLES.glob("*/*.json") if "credential" not in p.parent.name)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
