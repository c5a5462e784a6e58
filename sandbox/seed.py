"""What the sandbox's discoms start with: a grid, and consumers in their CIS exports.

Everything is a pure function of fixed seeds, so every run seeds the same network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adapters.cis
from adapters.cis import CisMapping
from adapters.synthetic import Network
from sandbox.legacy import Place, connection_number

MAPPINGS = Path(adapters.cis.__file__).parent / "mappings"
# Every connection sits under a DT from before the oldest connection date in the exports.
GRID_SINCE = "2015-01-01T00:00:00+05:30"


@dataclass(frozen=True, slots=True)
class DiscomSeed:
    code: str
    state: str
    mapping_file: str
    place: Place
    seed: int
    consumers: int
    feeders: int = 2
    dts_per_feeder: int = 3

    @property
    def mapping(self) -> CisMapping:
        return adapters.cis.load_mapping(MAPPINGS / self.mapping_file)

    def network(self) -> Network:
        return Network(seed=self.seed, consumers=self.consumers, feeder=f"{self.code}-F1")

    def substation(self) -> str:
        return f"{self.code}-SS-1"

    def feeders_tags(self) -> list[str]:
        return [f"{self.code}-F{n + 1}" for n in range(self.feeders)]

    def dt_codes(self) -> list[tuple[str, str]]:
        """(feeder tag, DT code) pairs."""
        return [
            (feeder, f"{feeder}-DT{m + 1}")
            for feeder in self.feeders_tags()
            for m in range(self.dts_per_feeder)
        ]


DISCOMS = (
    DiscomSeed(
        code="MSEDCL", state="IN-MH", mapping_file="msedcl-csv.yaml", seed=11, consumers=120,
        place=Place("Pune Urban", "Rastapeth", "Shivajinagar", 411005, 18.530, 73.847),
    ),
    DiscomSeed(
        code="BESCOM", state="IN-KA", mapping_file="bescom-sap-isu.yaml", seed=29, consumers=120,
        place=Place("Bengaluru South", "Jayanagar", "Jayanagar", 560041, 12.925, 77.593),
    ),
)  # fmt: skip


def grid_rows(discom: DiscomSeed) -> list[dict[str, Any]]:
    """The substation, feeders and DTs, parents first, as registry import rows."""
    common = {"state": discom.state, "discom": discom.code, "valid_from": GRID_SINCE}
    rows: list[dict[str, Any]] = [
        {"type": "substation", "legacy_scheme": "gis_asset", "legacy_scope": discom.code,
         "legacy_id": discom.substation(), "attr.primary_kv": 33, "attr.secondary_kv": 11,
         **common},
    ]  # fmt: skip
    for tag in discom.feeders_tags():
        rows.append(
            {"type": "feeder", "legacy_scheme": "scada_tag", "legacy_scope": discom.code,
             "legacy_id": tag, "attr.voltage_kv": 11, "attr.kind": "urban",
             "parent.substation": f"gis_asset:{discom.code}:{discom.substation()}", **common}
        )  # fmt: skip
    for feeder, dt in discom.dt_codes():
        rows.append(
            {"type": "distribution_transformer", "legacy_scheme": "gis_asset",
             "legacy_scope": discom.code, "legacy_id": dt, "attr.capacity_kva": 250,
             "attr.hosting_capacity_kw": 75,
             "parent.feeder": f"scada_tag:{discom.code}:{feeder}", **common}
        )  # fmt: skip
    return rows


def dt_links(discom: DiscomSeed) -> list[dict[str, Any]]:
    """Which DT feeds each connection (from the discom's GIS): round-robin over DTs."""
    mapping = discom.mapping
    dts = discom.dt_codes()
    rows = []
    for n, consumer in enumerate(discom.network().consumers):
        _, dt = dts[n % len(dts)]
        rows.append(
            {"type": "connection", "legacy_scheme": mapping.connection.legacy_scheme,
             "legacy_scope": discom.code, "legacy_id": connection_number(mapping, consumer),
             "parent.distribution_transformer": f"gis_asset:{discom.code}:{dt}",
             "valid_from": GRID_SINCE}
        )  # fmt: skip
    return rows


# The discoms' head-end systems hold this many days of 15-minute data for their
# first meters, ending the day before yesterday (IST), so a day is always complete.
HES_DAYS = 7
HES_METERS = 12


def discom_seed(code: str) -> DiscomSeed:
    for discom in DISCOMS:
        if discom.code == code:
            return discom
    raise KeyError(code)
