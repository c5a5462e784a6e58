"""From decoded, VEE-checked meter data to MeterData v0.6 profiles.

Interval and daily data go out in the compact form (a PayloadDescriptorProfile once,
then rows of payloads), the way the IES examples and the bulk datasets do; each
non-validated cell carries an ``override`` with its quality flag, how it was estimated
or edited, and why (``failCode``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from adapters.dlms.profiles import Row
from adapters.vee import Quality, Reading, VeeResult
from schemas import obis
from schemas.meterdata import (
    CompactSequence,
    DailyProfile,
    EventProfile,
    Identifier,
    IdentifierScheme,
    Interval,
    IntervalPeriod,
    IntervalProfile,
    MeterEvent,
    MonthlyProfile,
    Override,
    PayloadDescriptor,
    PayloadDescriptorProfile,
    PayloadDescriptorSet,
    Phase,
    ReadingSource,
    SequenceItem,
    TelemetryMode,
    TimePeriod,
    UnitOfMeasure,
    ValidationStatus,
)
from schemas.meterdata import Reading as MeterReading

INTERVAL_SET = "IS15959-BlockLoad"
INTERVAL_SEQUENCE = "BlockEnergy"
DAILY_SET = "IS15959-DailyLoad"
DAILY_SEQUENCE = "DailyRegisters"
DESCRIPTOR_ID = "ies-adapters/IS15959/v1"

_STATUS = {
    Quality.ESTIMATED: (ValidationStatus.ESTIMATED, ReadingSource.MDM_COMPUTED),
    Quality.EDITED: (ValidationStatus.MANUAL, ReadingSource.MANUAL),
    Quality.SUSPECT: (ValidationStatus.SUSPECT, ReadingSource.METER),
}


def _descriptor(code: str, mode: TelemetryMode) -> PayloadDescriptor:
    entry = obis.BY_OBIS[code]
    return PayloadDescriptor(
        reading_type=entry.short_label,
        obis=entry.obis,
        name=entry.name,
        unit=UnitOfMeasure(entry.unit),
        flow_direction=entry.flow,
        reported_mode=mode,
    )


def descriptor_profile() -> PayloadDescriptorProfile:
    """The descriptor sets our interval and daily rows refer to."""
    interval_codes = (obis.KWH_IMPORT_BLOCK, obis.KWH_EXPORT_BLOCK)
    daily_codes = (obis.KWH_IMPORT, obis.KWH_EXPORT, obis.KVAH_IMPORT)
    return PayloadDescriptorProfile(
        profile_type="DESCRIPTOR",
        id=DESCRIPTOR_ID,
        payload_descriptor_sets=[
            PayloadDescriptorSet(
                name=INTERVAL_SET,
                payload_descriptors=[_descriptor(c, TelemetryMode.USAGE) for c in interval_codes],
                compact_sequences=[
                    CompactSequence(
                        name=INTERVAL_SEQUENCE,
                        sequence_items=[
                            SequenceItem(reading_type=obis.BY_OBIS[c].short_label)
                            for c in interval_codes
                        ],
                    )
                ],
            ),
            PayloadDescriptorSet(
                name=DAILY_SET,
                payload_descriptors=[_descriptor(c, TelemetryMode.READING) for c in daily_codes],
                compact_sequences=[
                    CompactSequence(
                        name=DAILY_SEQUENCE,
                        sequence_items=[
                            SequenceItem(reading_type=obis.BY_OBIS[c].short_label)
                            for c in daily_codes
                        ],
                    )
                ],
            ),
        ],
    )


def meter_refs(serial: str, manufacturer: str | None = None) -> list[Identifier]:
    return [Identifier(scheme=IdentifierScheme.METER_SERIAL, value=serial, namespace=manufacturer)]


def duration(step: timedelta) -> str:
    minutes = int(step.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"P{minutes // 1440}D"
    return f"PT{minutes}M"


def _overrides(reading: Reading) -> list[Override] | None:
    if reading.quality is Quality.VALIDATED:
        return None
    status, source = _STATUS[reading.quality]
    return [
        Override(
            descriptor_index=index,
            validation_status=status,
            source=source,
            change_method=reading.method,
            fail_code=reading.reason,
        )
        for index in (0, 1)
    ]


def interval_profile(
    serial: str, result: VeeResult, *, manufacturer: str | None = None
) -> IntervalProfile:
    """The block load survey of one meter as a compact INTERVAL profile.

    Row ``id`` is the block's index from ``intervalPeriod.start``, so a block that
    could not be estimated leaves a visible hole in the ids rather than shifting the rest.
    """
    intervals = []
    for reading in result.readings:
        index = (reading.start - result.start) // result.step
        intervals.append(
            Interval(
                id=index,
                payloads=[round(reading.import_kwh, 3), round(reading.export_kwh, 3)],
                overrides=_overrides(reading),
            )
        )
    return IntervalProfile(
        profile_type="INTERVAL",
        meter_refs=meter_refs(serial, manufacturer),
        payload_descriptor_set_ref=INTERVAL_SET,
        compact_sequence_ref=INTERVAL_SEQUENCE,
        interval_period=IntervalPeriod(start=result.start, duration=duration(result.step)),
        intervals=intervals,
    )


def daily_profile(
    serial: str, rows: Sequence[Row], *, manufacturer: str | None = None
) -> DailyProfile:
    """Daily load profile rows (cumulative registers at midnight) as a DAILY profile."""
    if not rows:
        raise ValueError("a daily profile needs at least one row")
    first = rows[0].captured_at
    return DailyProfile(
        profile_type="DAILY",
        meter_refs=meter_refs(serial, manufacturer),
        payload_descriptor_set_ref=DAILY_SET,
        compact_sequence_ref=DAILY_SEQUENCE,
        interval_period=IntervalPeriod(start=first, duration="P1D"),
        intervals=[
            Interval(
                id=(row.captured_at - first) // timedelta(days=1),
                payloads=[round(v, 3) for v in row.values],
            )
            for row in rows
        ],
    )


def monthly_profiles(
    serial: str, rows: Sequence[Row], *, manufacturer: str | None = None
) -> list[MonthlyProfile]:
    """Billing profile rows: one MONTHLY profile per billing period, ending at its reset."""
    profiles = []
    previous: Row | None = None
    for row in sorted(rows, key=lambda r: r.captured_at):
        imp, exp, *zones, md_kw = row.values
        period_start = previous.captured_at if previous else row.captured_at - timedelta(days=30)
        days = max(1, (row.captured_at - period_start).days)
        readings = [
            MeterReading(reading_type=obis.BY_OBIS[obis.KWH_IMPORT].short_label, value=imp),
            MeterReading(reading_type=obis.BY_OBIS[obis.KWH_EXPORT].short_label, value=exp),
            *(
                MeterReading(reading_type=f"kWh TZ{zone}", value=round(value, 3))
                for zone, value in enumerate(zones, start=1)
            ),
            MeterReading(reading_type="MD kW", value=round(md_kw, 3), integration_period="PT30M"),
        ]
        profiles.append(
            MonthlyProfile(
                profile_type="MONTHLY",
                meter_refs=meter_refs(serial, manufacturer),
                time_period=TimePeriod(start=period_start, duration=f"P{days}D"),
                readings=readings,
            )
        )
        previous = row
    return profiles


def event_profile(
    serial: str,
    rows: Sequence[Row],
    *,
    start: datetime,
    period: timedelta,
    manufacturer: str | None = None,
) -> EventProfile:
    """IS 15959 event log rows (clock, event code) as an EVENT profile."""
    events = []
    for sequence, row in enumerate(sorted(rows, key=lambda r: r.captured_at)):
        event_id = int(row.values[0])
        name = obis.EVENT_NAMES.get(event_id)
        events.append(
            MeterEvent(
                timestamp=row.captured_at,
                event_id=event_id,
                event_name=name,
                phase=Phase.NONE if event_id >= 100 else None,
                sequence=sequence,
            )
        )
    return EventProfile(
        profile_type="EVENT",
        meter_refs=meter_refs(serial, manufacturer),
        time_period=TimePeriod(start=start, duration=duration(period)),
        events=events,
    )
