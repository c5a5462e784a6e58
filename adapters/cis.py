"""Legacy billing/CIS exports to the registry's bulk-import rows.

Discoms export consumer master data as flat files: a plain CSV (consumer number,
category, sanctioned load, meter serial, address) or an SAP IS-U extract that joins
installation (EANL), contract (EVER), contract account and device (EGERH/EQUI)
tables. Which column holds what, how tariff categories map to ours and the load unit
are set in a mapping file per discom (``adapters/mappings/<discom>.yaml``), never in
code. A wrong header is refused up front (:class:`CisColumnsMissing`); a bad row is
reported with its file and line (:class:`CisRowInvalid`) and the others go on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.errors import CisColumnsMissing, CisRowInvalid, MappingConfigInvalid
from kernel.yamlio import load_yaml

Category = Literal[
    "domestic", "commercial", "industrial", "agricultural", "public_lighting",
    "public_water_works", "ev_charging", "other",
]  # fmt: skip
IST = timezone(timedelta(hours=5, minutes=30))
_LOAD_FACTORS = {"kW": 1.0, "W": 0.001, "HP": 0.746, "kVA": 0.9}


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConsumerColumns(_Config):
    legacy_scheme: Literal["discom_consumer_number", "sap_isu_contract"] = "discom_consumer_number"
    legacy_id: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class ConnectionColumns(_Config):
    legacy_scheme: Literal["discom_consumer_number", "sap_isu_installation", "sap_isu_contract"]
    legacy_id: str
    category: str
    sanctioned_load: str
    load_unit: Literal["kW", "W", "HP", "kVA"] = "kW"
    valid_from: str | None = None
    valid_from_format: str = "%Y-%m-%d"
    contract: str | None = None


class MeterColumns(_Config):
    serial: str
    manufacturer: str | None = None
    default_manufacturer: str = "unknown"
    phase: str | None = None
    kind: str | None = None
    kinds: dict[str, Literal["smart", "static", "bidirectional"]] = Field(default_factory=dict)


class AddressColumns(_Config):
    circle: str | None = None
    division: str | None = None
    subdivision: str | None = None
    pincode: str | None = None
    lat: str | None = None
    lon: str | None = None


class CisMapping(_Config):
    """How one discom's extract reads (``adapters/mappings/<discom>.yaml``)."""

    discom: str
    state: str = Field(pattern=r"^IN-[A-Z]{2}$")
    delimiter: str = ","
    encoding: str = "utf-8"
    consumer: ConsumerColumns
    connection: ConnectionColumns
    meter: MeterColumns
    address: AddressColumns = AddressColumns()
    categories: dict[str, Category]

    def columns(self) -> set[str]:
        """Every column of the extract this mapping reads."""
        names: set[str] = set()
        for part in (self.consumer, self.connection, self.meter, self.address):
            for key, value in part.model_dump().items():
                if isinstance(value, str) and key not in {
                    "legacy_scheme", "load_unit", "valid_from_format", "default_manufacturer",
                }:  # fmt: skip
                    names.add(value)
        return names


def load_mapping(path: Path) -> CisMapping:
    try:
        return CisMapping.model_validate(load_yaml(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError, TypeError) as exc:
        raise MappingConfigInvalid(f"{path}: {exc}", file=str(path)) from None


@dataclass(slots=True)
class CisImport:
    """The rows read and, for each bad line, why it was left out."""

    rows: list[dict[str, str]] = field(default_factory=list)
    errors: list[CisRowInvalid] = field(default_factory=list)


def _cell(record: Mapping[str, str], column: str | None) -> str:
    return (record.get(column) or "").strip() if column else ""


def rows_for(
    record: Mapping[str, str], mapping: CisMapping, *, file: str, line: int
) -> list[dict[str, str]]:
    """The consumer, connection and meter rows of one extract record."""

    def bad(reason: str, column: str | None) -> CisRowInvalid:
        return CisRowInvalid(f"{file}:{line}: {reason}", file=file, line=line, column=column)

    consumer_id = _cell(record, mapping.consumer.legacy_id)
    if not consumer_id:
        raise bad("consumer number is empty", mapping.consumer.legacy_id)
    connection_id = _cell(record, mapping.connection.legacy_id)
    if not connection_id:
        raise bad("connection id is empty", mapping.connection.legacy_id)
    raw_category = _cell(record, mapping.connection.category)
    category = mapping.categories.get(raw_category)
    if category is None:
        raise bad(
            f"tariff category {raw_category!r} is not in the discom's mapping",
            mapping.connection.category,
        )
    raw_load = _cell(record, mapping.connection.sanctioned_load)
    try:
        load = float(raw_load.replace(",", "")) * _LOAD_FACTORS[mapping.connection.load_unit]
    except ValueError:
        raise bad(
            f"sanctioned load {raw_load!r} is not a number", mapping.connection.sanctioned_load
        ) from None
    if not 0 <= load < 100_000:
        raise bad(f"sanctioned load {load} kW is out of range", mapping.connection.sanctioned_load)
    serial = _cell(record, mapping.meter.serial)
    if not serial:
        raise bad("meter serial is empty", mapping.meter.serial)
    valid_from = ""
    if mapping.connection.valid_from:
        raw_date = _cell(record, mapping.connection.valid_from)
        if raw_date:
            try:
                # The registry wants an aware timestamp: the start of that day in IST.
                valid_from = (
                    datetime.strptime(raw_date, mapping.connection.valid_from_format)
                    .replace(tzinfo=IST)
                    .isoformat()
                )
            except ValueError:
                raise bad(
                    f"date {raw_date!r} is not {mapping.connection.valid_from_format}",
                    mapping.connection.valid_from,
                ) from None
    address = {
        "state": mapping.state,
        "discom": mapping.discom,
        **{key: _cell(record, column) for key, column in mapping.address.model_dump().items()},
    }
    address = {k: v for k, v in address.items() if v}
    consumer = {
        "type": "consumer",
        "legacy_scheme": mapping.consumer.legacy_scheme,
        "legacy_scope": mapping.discom,
        "legacy_id": consumer_id,
        **address,
        **{
            f"personal.{key}": value
            for key, value in (
                ("name", _cell(record, mapping.consumer.name)),
                ("phone", _cell(record, mapping.consumer.phone)),
                ("email", _cell(record, mapping.consumer.email)),
            )
            if value
        },
    }
    connection = {
        "type": "connection",
        "legacy_scheme": mapping.connection.legacy_scheme,
        "legacy_scope": mapping.discom,
        "legacy_id": connection_id,
        **address,
        "attr.category": category,
        "attr.sanctioned_load_kw": f"{load:g}",
        # The consumer holds the connection: a relation with history in the registry.
        "parent.consumer": f"{mapping.consumer.legacy_scheme}:{mapping.discom}:{consumer_id}",
    }
    if valid_from:
        connection["valid_from"] = valid_from
    contract = _cell(record, mapping.connection.contract)
    if contract:  # the SAP contract is one more legacy identifier of the same connection
        connection["also_known_as"] = f"sap_isu_contract:{mapping.discom}:{contract}"
    manufacturer = _cell(record, mapping.meter.manufacturer) or mapping.meter.default_manufacturer
    meter = {
        "type": "meter",
        "legacy_scheme": "meter_serial",
        "legacy_scope": manufacturer,
        "legacy_id": serial,
        **address,
        "attr.manufacturer": manufacturer,
        "parent_type": "connection",
        "parent_legacy_scheme": mapping.connection.legacy_scheme,
        "parent_legacy_scope": mapping.discom,
        "parent_legacy_id": connection_id,
    }
    phase = _cell(record, mapping.meter.phase)
    if phase:
        if phase not in ("1", "3"):
            raise bad(f"meter phase {phase!r} is neither 1 nor 3", mapping.meter.phase)
        meter["attr.phase"] = phase
    raw_kind = _cell(record, mapping.meter.kind)
    if raw_kind:
        kind = mapping.meter.kinds.get(raw_kind)
        if kind is None:
            raise bad(f"meter kind {raw_kind!r} is not in the discom's mapping", mapping.meter.kind)
        meter["attr.kind"] = kind
    if valid_from:
        meter["valid_from"] = valid_from
    return [consumer, connection, meter]


def read_extract(
    lines: Iterable[str], mapping: CisMapping, *, file: str = "<extract>"
) -> Iterator[dict[str, str] | CisRowInvalid]:
    """Rows (or the error of a bad line) in file order; one record in memory at a time.

    A consumer with several connections appears once: its row is emitted on first sight.
    """
    reader = csv.DictReader(lines, delimiter=mapping.delimiter)
    header = reader.fieldnames or []
    missing = sorted(mapping.columns() - {h.strip() for h in header})
    if missing:
        raise CisColumnsMissing(
            f"{file}:1: the header lacks {', '.join(missing)} (it has {', '.join(header)})",
            file=file, line=1, missing=missing, found=list(header),
        )  # fmt: skip
    seen: set[str] = set()
    for record in reader:
        line = reader.line_num
        if None in record:
            yield CisRowInvalid(
                f"{file}:{line}: more cells than the header has columns",
                file=file,
                line=line,
                column=None,
            )
            continue
        try:
            consumer, *rest = rows_for(record, mapping, file=file, line=line)
        except CisRowInvalid as problem:
            yield problem
            continue
        if consumer["legacy_id"] not in seen:
            seen.add(consumer["legacy_id"])
            yield consumer
        yield from rest


def import_file(path: Path, mapping: CisMapping) -> CisImport:
    result = CisImport()
    with path.open(encoding=mapping.encoding, newline="") as handle:
        for item in read_extract(handle, mapping, file=str(path)):
            if isinstance(item, CisRowInvalid):
                result.errors.append(item)
            else:
                result.rows.append(item)
    return result


class CisExtract:
    """A discom's CIS export as a ``registry.ports.ConsumerConnectionSource``."""

    def __init__(self, path: Path, mapping: CisMapping) -> None:
        self.path = path
        self.mapping = mapping
        self.errors: list[CisRowInvalid] = []

    def rows(self) -> Iterator[dict[str, str]]:
        with self.path.open(encoding=self.mapping.encoding, newline="") as handle:
            for item in read_extract(handle, self.mapping, file=str(self.path)):
                if isinstance(item, CisRowInvalid):
                    self.errors.append(item)
                else:
                    yield item
