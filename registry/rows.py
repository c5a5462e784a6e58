"""Bulk-import rows: the flat CSV/NDJSON format and its translation to drafts.

A row names one identity (by ``id`` or by a legacy identifier, which makes a re-run
idempotent), its address, ``attr.*`` attributes, ``personal.*`` data (consumers
only), and its parents, either as ``parent.<type>`` columns holding an IES id or a
``scheme:scope:value`` legacy reference, or as one ``parent_type`` +
``parent_id``/``parent_legacy_*`` group. Parents must come earlier in the file or
already be in the registry. Readers stream: one row in memory at a time.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO

from pydantic import ValidationError

from registry.errors import ForeignDiscom, ImportFormatError, InvalidAttributes, RegistryProblem
from registry.models import IdentityDraft

ADDRESS_COLUMNS = ("state", "discom", "circle", "division", "subdivision", "pincode")
PLAIN_COLUMNS = frozenset(
    {
        "id",
        "type",
        "legacy_scheme",
        "legacy_scope",
        "legacy_id",
        "also_known_as",
        "valid_from",
        "lat",
        "lon",
        "parent_type",
        "parent_id",
        "parent_legacy_scheme",
        "parent_legacy_scope",
        "parent_legacy_id",
        *ADDRESS_COLUMNS,
    }
)
PERSONAL_COLUMNS = frozenset({"personal.name", "personal.phone", "personal.email"})
FORBIDDEN_COLUMNS = frozenset({"aadhaar", "aadhar", "uid", "phone", "mobile", "name", "email"})


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was not imported (``line`` counts the header as line 1 in a CSV)."""

    line: int
    reason: str
    field: str | None = None
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "line": self.line,
                "field": self.field,
                "reason": self.reason,
                "key": self.key,
            }.items()
            if v is not None
        }


def check_columns(columns: Iterable[str]) -> None:
    """Refuse a file whose header cannot be an import (before reading any row)."""
    columns = list(columns)
    if "type" not in columns:
        raise ImportFormatError("the file has no 'type' column", columns=columns)
    unknown = []
    for column in columns:
        lowered = column.lower()
        if lowered in FORBIDDEN_COLUMNS:
            raise ImportFormatError(
                f"column {column!r} would carry personal data into the identity graph; "
                "use personal.name / personal.phone / personal.email on consumer rows",
                columns=columns,
            )
        if not (
            column in PLAIN_COLUMNS
            or column in PERSONAL_COLUMNS
            or column.startswith(("attr.", "parent."))
        ):
            unknown.append(column)
    if unknown:
        raise ImportFormatError(f"unknown column(s): {', '.join(unknown)}", columns=columns)


def _present(value: Any) -> bool:
    if type(value) is str:  # the common case, first
        return bool(value) and not value.isspace()
    return value is not None


def _number(value: Any) -> Any:
    """A CSV cell holding a coordinate; left as is (and refused by the model) if not numeric."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _coerce_attribute(value: Any) -> Any:
    """CSV cells are text; numbers and booleans in attributes are typed by the model."""
    if not isinstance(value, str):
        return value
    return _coerce_text(value)


@lru_cache(maxsize=4096)  # a file repeats its makers, phases and kinds a million times
def _coerce_text(value: str) -> Any:
    text = value.strip()
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where each part of a draft sits among a file's columns, worked out once per header."""

    address: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]
    parents: tuple[tuple[str, str], ...]
    personal: tuple[tuple[str, str], ...]
    has_geo: bool
    has_parent_group: bool


@lru_cache(maxsize=64)
def _plan(columns: tuple[str, ...]) -> _Plan:
    return _Plan(
        address=tuple(c for c in ADDRESS_COLUMNS if c in columns),
        attributes=tuple((c, c[5:]) for c in columns if c.startswith("attr.")),
        parents=tuple((c, c[7:]) for c in columns if c.startswith("parent.")),
        personal=tuple((c, c[9:]) for c in columns if c in PERSONAL_COLUMNS),
        has_geo="lat" in columns or "lon" in columns,
        has_parent_group="parent_type" in columns,
    )


def _parent_fields(text: str) -> dict[str, Any]:
    """``parent.<type>`` (and ``also_known_as``) cells: an IES id, or a legacy
    ``scheme:scope:value``."""
    text = text.strip()
    if ":" not in text:
        return {"id": text}
    parts = text.split(":", 2)
    if len(parts) != 3:
        raise ValueError("a legacy reference is scheme:scope:value")
    return {"legacy": {"scheme": parts[0], "scope": parts[1], "value": parts[2]}}


def draft_from_row(row: dict[str, Any]) -> IdentityDraft:
    """Translate one flat row to a draft, or raise ValidationError/RegistryProblem.

    Bulk imports call this a million times, so the columns are classified once per
    header (:func:`_plan`) and pydantic validates the whole draft in one call.
    """
    plan = _plan(tuple(row))
    get = row.get
    fields: dict[str, Any] = {"type": get("type")}
    if _present(get("id")):
        fields["id"] = str(row["id"]).strip()
    address = {c: row[c] for c in plan.address if _present(row[c])}
    if plan.has_geo and (_present(get("lat")) or _present(get("lon"))):
        address["geo"] = {"lat": _number(get("lat")), "lon": _number(get("lon"))}
    fields["address"] = address
    fields["attributes"] = {
        name: _coerce_attribute(row[c]) for c, name in plan.attributes if _present(row[c])
    }
    scheme, scope, value = get("legacy_scheme"), get("legacy_scope"), get("legacy_id")
    legacy_ids: list[dict[str, Any]] = []
    if _present(scheme) or _present(scope) or _present(value):
        legacy_ids.append({"scheme": scheme, "scope": scope, "value": value})
    also = get("also_known_as")
    if _present(also):  # more legacy identifiers of the same entity: scheme:scope:value;…
        refs = [ref for ref in str(also).split(";") if ref.strip()]
        legacy_ids.extend(_parent_fields(ref)["legacy"] for ref in refs)
    if legacy_ids:
        fields["legacy_ids"] = legacy_ids
    parents = {name: _parent_fields(str(row[c])) for c, name in plan.parents if _present(row[c])}
    if plan.has_parent_group and _present(get("parent_type")):
        if _present(get("parent_id")):
            reference: dict[str, Any] = {"id": str(row["parent_id"]).strip()}
        else:
            reference = {
                "legacy": {
                    "scheme": get("parent_legacy_scheme"),
                    "scope": get("parent_legacy_scope"),
                    "value": get("parent_legacy_id"),
                }
            }
        parents[str(row["parent_type"]).strip()] = reference
    fields["parents"] = parents
    personal = {name: row[c] for c, name in plan.personal if _present(row[c])}
    if personal:
        fields["personal"] = personal
    if _present(get("valid_from")):
        fields["valid_from"] = row["valid_from"]
    draft = IdentityDraft.model_validate(fields)
    if draft.id is None and not draft.legacy_ids:
        raise ValueError("a row needs an id or a legacy identifier (legacy_scheme/scope/id)")
    return draft


def parse_row(line: int, row: dict[str, Any]) -> IdentityDraft | RowError:
    """A draft, or the first reason the row cannot be imported (never an exception)."""
    try:
        return draft_from_row(row)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        return RowError(line, f"{message} (value: {_short(first.get('input'))})", location)
    except RegistryProblem as exc:
        return row_error(line, exc)
    except (ValueError, TypeError) as exc:
        return RowError(line, str(exc))


def row_error(line: int, problem: RegistryProblem) -> RowError:
    """The row-report form of a problem, naming the attribute where there is one."""
    if isinstance(problem, InvalidAttributes):
        first = (problem.extensions.get("errors") or [{}])[0]
        location = str(first.get("location", ""))
        message = first.get("message", problem.detail)
        return RowError(line, f"{location}: {message}", "attr." + location)
    if isinstance(problem, ForeignDiscom):
        return RowError(line, problem.detail, "discom")
    return RowError(line, problem.detail)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_utf8(binary: BinaryIO, chunk: int = 1 << 20) -> None:
    """Refuse a file that is not UTF-8 before any row of it is imported (one streaming
    pass, then rewound), so a bad byte deep in a file cannot leave half an import."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    while block := binary.read(chunk):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            raise ImportFormatError(f"the file is not UTF-8 (byte {offset + exc.start})") from None
        offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFormatError("the file ends inside a UTF-8 character") from None
    binary.seek(0)


def read_csv(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs from CSV text; the header is checked first."""
    reader = csv.DictReader(iter(lines))
    if reader.fieldnames is None:
        raise ImportFormatError("the file is empty")
    check_columns([c.strip() for c in reader.fieldnames])
    for row in reader:
        extra = row.pop(None, None)
        if extra:
            row["__extra__"] = extra
        yield reader.line_num, {(k or "").strip(): v for k, v in row.items()}


def read_ndjson(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) pairs from NDJSON; a line that is not an object becomes
    a row with a ``__error__`` so it is reported, not dropped."""
    checked = False
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, {"__error__": f"not JSON: {exc.msg} at column {exc.colno}"}
            continue
        except RecursionError:  # nesting past the parser's limit: refused, not a 500
            yield number, {"__error__": "not JSON: nested too deeply"}
            continue
        if not isinstance(row, dict):
            yield number, {"__error__": "each line must be a JSON object"}
            continue
        if not checked:
            check_columns(row.keys())
            checked = True
        unknown = [
            k
            for k in row
            if k not in PLAIN_COLUMNS
            and k not in PERSONAL_COLUMNS
            and not k.startswith(("attr.", "parent."))
        ]
        if unknown:
            yield number, {"__error__": f"unknown key(s): {', '.join(unknown)}"}
            continue
        yield number, row


def parse_rows(
    rows: Iterable[tuple[int, dict[str, Any]]],
) -> Iterator[tuple[int, IdentityDraft | RowError]]:
    """(line, draft or row error) in file order."""
    for line, row in rows:
        if "__error__" in row:
            yield line, RowError(line, str(row["__error__"]))
        elif "__extra__" in row:
            yield line, RowError(line, "the row has more cells than the header has columns")
        else:
            yield line, parse_row(line, row)
