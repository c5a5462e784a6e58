"""The one loader and validator for every schema the stack ships.

``validate(schema_id, document)`` returns *every* failure (jsonschema's ``iter_errors``,
not the first), each with the JSON Pointer of the offending member, the keyword or
rule that refused it and the reason; then, when the structure holds, the schema's
semantic rules (cross-field checks a JSON Schema cannot say, such as MeterData's
descriptor references and cumulative registers). Validators are compiled once per
schema id and cached, because this sits on the exchange's hot path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from schemas.errors import InvalidDocument, UnknownSchema

JSON_DIR = Path(__file__).resolve().parent / "json"


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One failure: where (a JSON Pointer into the document), which keyword/rule, and why."""

    path: str
    keyword: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "keyword": self.keyword, "message": self.message}


Rule = Callable[[Any], Iterable[SchemaError]]
_RULES: dict[str, list[Rule]] = {}


def register_rules(schema_id: str, rule: Rule) -> None:
    """Add a semantic check run after ``schema_id``'s structure validated cleanly."""
    _RULES.setdefault(schema_id, []).append(rule)


def pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 JSON Pointer for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def _catalogue() -> dict[str, Path]:
    return {
        path.parent.relative_to(JSON_DIR).as_posix(): path
        for path in sorted(JSON_DIR.glob("**/schema.json"))
    }


def schema_ids() -> list[str]:
    """Every schema id this stack ships, e.g. ``MeterData/v0.6``."""
    return list(_catalogue())


@cache
def schema(schema_id: str) -> dict[str, Any]:
    """The shipped JSON Schema document for ``schema_id``."""
    path = _catalogue().get(schema_id)
    if path is None:
        raise UnknownSchema(f"no schema {schema_id!r}; known: {', '.join(schema_ids())}")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@cache
def _registry() -> Registry[Any]:
    # Our schemas refer to each other by $id; nothing is ever fetched from the network.
    resources: list[tuple[str, Resource[Any]]] = []
    for schema_id in schema_ids():
        document = schema(schema_id)
        resources.append((document["$id"], DRAFT202012.create_resource(document)))
    return Registry().with_resources(resources)


_DURATION = re.compile(r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value.upper():
        raise ValueError("an RFC 3339 date-time needs a 'T' between date and time")
    parsed = datetime.fromisoformat(value.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError("an RFC 3339 date-time needs a UTC offset")
    return True


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


@FORMATS.checks("duration")
def _is_duration(value: object) -> bool:
    return not isinstance(value, str) or (
        _DURATION.match(value) is not None and value not in ("P", "PT") and not value.endswith("T")
    )


@cache
def validator(schema_id: str) -> Validator:
    """The compiled validator for ``schema_id`` (built once, then reused)."""
    document = schema(schema_id)
    return Draft202012Validator(document, registry=_registry(), format_checker=FORMATS)


def _branch_errors(error: ValidationError) -> list[ValidationError]:
    """The failures of the branch of a oneOf/anyOf that the document was meant to take.

    A branch whose ``type`` or ``const`` (the discriminator) already fails at the
    alternative's own level is one the document never aimed at; of the rest, the one
    whose failures lie deepest in the document is the one to report.
    """
    depth = len(error.absolute_path)
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    aimed = {
        index: subs
        for index, subs in branches.items()
        if not any(
            sub.validator in ("type", "const") and len(sub.absolute_path) <= depth + 1
            for sub in subs
        )
    }
    if not aimed:
        return [error]
    best = max(aimed.values(), key=lambda subs: max(len(s.absolute_path) for s in subs))
    return [leaf for sub in best for leaf in _leaves(sub)]


def _leaves(error: ValidationError) -> list[ValidationError]:
    if error.validator in ("oneOf", "anyOf") and error.context:
        return _branch_errors(error)
    return [error]


def _structural(schema_id: str, document: Any) -> Iterator[SchemaError]:
    for error in validator(schema_id).iter_errors(document):
        for leaf in _leaves(error):
            yield SchemaError(pointer(leaf.absolute_path), str(leaf.validator), leaf.message)


def validate(schema_id: str, document: Any) -> list[SchemaError]:
    """Every way ``document`` fails ``schema_id``; empty when it conforms."""
    errors = sorted(set(_structural(schema_id, document)), key=lambda e: (e.path, e.keyword))
    if errors:
        return errors
    semantic: list[SchemaError] = []
    for rule in _RULES.get(schema_id, ()):
        semantic.extend(rule(document))
    return semantic


def check(schema_id: str, document: Any) -> None:
    """Raise :class:`InvalidDocument` listing every failure, or return quietly."""
    errors = validate(schema_id, document)
    if errors:
        raise InvalidDocument(
            f"{len(errors)} error(s) against {schema_id}; first: {errors[0].path or '/'}: "
            f"{errors[0].message}",
            schema=schema_id,
            errors=[error.to_dict() for error in errors],
        )
