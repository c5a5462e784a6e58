"""Which IES payload a Beckn message carries, checked against the stack's own schemas.

A message carries IES data in its attributes bags. Two ways are recognised, as the
IES devkits use them: a dataset delivered inline (``dataset:dataPayload`` beside an
``ies:dataSchema`` naming the schema, e.g. ``…/MeterData/v0.6``), and a bag whose
``@type`` is an IES schema the stack ships (the newest version is used): a
``MeterDataRequest`` (and its ``MeterDataAuthorisation`` / ``MeterDataCapabilities``
documents, which the same schema holds), a credential type. Every failure is
reported with its JSON Pointer from the message root.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from schemas.validation import schema_ids, validate

_PAYLOAD_KEYS = ("dataset:dataPayload", "dataPayload")
_SCHEMA_KEYS = ("ies:dataSchema", "dataset:schema", "dataSchema")
# @type names that are documents of another shipped schema (MeterDataRequest v0.6's root
# is a request, an authorisation or capabilities).
_TYPE_OF_SCHEMA = {
    "MeterDataAuthorisation": "MeterDataRequest",
    "MeterDataCapabilities": "MeterDataRequest",
}
_SCHEMA_IN_URL = re.compile(r"([A-Za-z]+)/(v[0-9]+(?:\.[0-9]+)*)")


@cache
def _by_name() -> dict[str, str]:
    newest: dict[str, str] = {}
    for schema_id in sorted(schema_ids()):
        name = schema_id.split("/", 1)[0]
        newest[name] = schema_id
    return newest


def schema_named(url: str) -> str | None:
    for name, version in _SCHEMA_IN_URL.findall(url):
        candidate = f"{name}/{version}"
        if candidate in schema_ids():
            return candidate
    return None


def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def ies_payload_errors(message: dict[str, Any]) -> list[dict[str, str]]:
    """Every way the IES payloads inside ``message`` fail their schemas."""
    errors: list[dict[str, str]] = []
    for path, node in _walk(message, "message"):
        schema_id: str | None = None
        target: Any = None
        for key in _PAYLOAD_KEYS:
            if key in node:
                declared = next((node[k] for k in _SCHEMA_KEYS if isinstance(node.get(k), str)), "")
                schema_id = schema_named(declared) if declared else None
                target, path = node[key], f"{path}/{key}"
                break
        else:
            typed = node.get("@type")
            name = typed.split(":")[-1] if isinstance(typed, str) else ""
            name = _TYPE_OF_SCHEMA.get(name, name)
            if name in _by_name():
                schema_id, target = _by_name()[name], node
        if schema_id is None:
            continue
        for error in validate(schema_id, target):
            errors.append({"path": path + error.path, "message": f"{schema_id}: {error.message}"})
    return errors
