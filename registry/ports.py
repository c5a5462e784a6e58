"""Ports the registry needs from a discom's systems; adapters implement them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class ConsumerConnectionSource(Protocol):
    """Consumers, connections and meters from billing/CIS, for onboarding.

    Yields rows of the registry's bulk-import format (``type``, ``legacy_scheme``,
    ``legacy_scope``, ``legacy_id``, address, parent reference, ``attr.*``,
    ``personal.*``), consumers before the connections and meters that refer to them.
    """

    def rows(self) -> Iterator[Mapping[str, str]]: ...


@dataclass(frozen=True, slots=True)
class ExportImportBlock:
    """Energy a meter imported and exported in one settlement block (kWh)."""

    meter_serial: str
    start: datetime
    end: datetime
    import_kwh: float
    export_kwh: float
    quality: str  # validated | estimated | edited | suspect


class ExportImportSource(Protocol):
    """Metered import/export per block, for settling P2P trades."""

    def export_import(
        self, meter_serial: str, start: datetime, end: datetime
    ) -> Iterator[ExportImportBlock]: ...
