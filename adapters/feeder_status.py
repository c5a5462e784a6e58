"""The other feeds IES discoms use for outages: the feeder-status push's vendor codes
and a discom's CSV of planned shutdowns, mapped to the outage flow's shapes.

The push's normalised ``feederStatus`` wins; when an AMISP sends UNKNOWN with its
raw codes, :class:`VendorStatusCodes` reads them (the draft discom API's FEEDER_STATUS
101/102 and DI port 401/402). The CSV is the discom's shutdown schedule (group,
zone, circle, division, substation, feeder, feeder smart meter, feeder type, date
DD-MM-YYYY, from, to, hours, reason, area) in IST; each row names its feeder by the
substation meter number or the feeder name, which ``resolve`` maps to an IES id.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from protocol.outages.errors import ScheduleInvalid
from protocol.outages.models import PlannedOutage

IST = timezone(timedelta(hours=5, minutes=30))

_FEEDER_STATUS = {"101": "ENERGIZED", "102": "DE_ENERGIZED"}
_DI_PORT = {"401": "ENERGIZED", "402": "DE_ENERGIZED"}


class VendorStatusCodes:
    """:class:`protocol.outages.ports.FeederStatusMapping` reading the raw vendor codes."""

    def status(self, feeder_status: str, raw: dict[str, Any]) -> str:
        if feeder_status != "UNKNOWN":
            return feeder_status
        by_status = _FEEDER_STATUS.get(str(raw.get("feederStatus", "")))
        by_port = _DI_PORT.get(str(raw.get("diPortStatus", "")))
        if by_status and by_port and by_status != by_port:
            return "UNKNOWN"  # the two codes disagree: do not guess
        return by_status or by_port or "UNKNOWN"


REQUIRED = (
    "group_id",
    "substation",
    "feeder",
    "feeder_smart_meter",
    "date",
    "from_time",
    "to_time",
)


def _instant(day: str, clock: str, line: int) -> datetime:
    try:
        return datetime.strptime(f"{day} {clock}", "%d-%m-%Y %H:%M").replace(tzinfo=IST)
    except ValueError:
        raise ScheduleInvalid(
            f"line {line}: {day!r} {clock!r} is not DD-MM-YYYY HH:MM", line=line
        ) from None


def read_schedule(
    path: Path, resolve: Callable[[dict[str, str]], str]
) -> Iterator[PlannedOutage | ScheduleInvalid]:
    """Each row as a :class:`PlannedOutage`, or the problem with that row (by line)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            yield ScheduleInvalid(f"line 1: the header lacks {', '.join(missing)}", line=1)
            return
        for line, row in enumerate(reader, start=2):
            try:
                start = _instant(row["date"], row["from_time"], line)
                end = _instant(row["date"], row["to_time"], line)
                if end <= start:
                    raise ScheduleInvalid(
                        f"line {line}: the shutdown ends before it starts", line=line
                    )
                feeder = resolve(row)
            except ScheduleInvalid as problem:
                yield problem
                continue
            yield PlannedOutage(
                feeder=feeder,
                start=start,
                end=end,
                reason=row.get("reason", "").strip(),
                ref=f"{row['group_id']}:{row['feeder_smart_meter']}:{row['date']}",
                area=row.get("consumer_area", "").strip(),
            )
