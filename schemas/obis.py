"""OBIS codes of the Indian companion specification (IS 15959 Parts 1-3) that the stack
reads and emits, with what MeterData v0.6 allows for each.

Written from IS 15959 (Part 1 Table 22, Part 2 Tables A1/A14/A15, Part 3 Tables 1/2) and
the IES MeterData v0.6 code list; ``tests/schemas/test_obis.py`` proves that every entry
here that the IES list also carries agrees with it (label, unit, direction, accumulation,
the profile shapes it may appear in and its reporting modes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProfileShape = Literal[
    "CUSTOMER", "INTERVAL", "DAILY", "MONTHLY", "INSTANTANEOUS", "EVENT", "ALARM", "BILL_DETAILS"
]
Mode = Literal["READING", "USAGE"]
Accumulation = Literal["CUMULATIVE", "DELTA", "INSTANTANEOUS", "SUMMATION", "INDICATING"]
Flow = Literal["IMPORT", "EXPORT", "NONE"]


@dataclass(frozen=True, slots=True)
class ObisCode:
    """One COSEM object as MeterData names it: its code, short label and what it measures."""

    obis: str
    short_label: str
    name: str
    unit: str
    profiles: frozenset[str]
    modes: tuple[Mode, ...]
    default_mode: Mode
    accumulation: Accumulation | None = None
    flow: Flow | None = None
    category: str = ""


def _code(
    obis: str,
    short_label: str,
    name: str,
    unit: str,
    profiles: tuple[str, ...],
    modes: tuple[Mode, ...],
    *,
    accumulation: Accumulation | None = None,
    flow: Flow | None = None,
    category: str = "",
) -> ObisCode:
    return ObisCode(
        obis,
        short_label,
        name,
        unit,
        frozenset(profiles),
        modes,
        modes[0],
        accumulation,
        flow,
        category,
    )


_PROFILE_OBJECTS = ("CUSTOMER", "DAILY", "MONTHLY", "INTERVAL", "EVENT")
_REGISTER_SHAPES = ("DAILY", "MONTHLY", "INSTANTANEOUS")
_BOTH: tuple[Mode, ...] = ("READING", "USAGE")
_READ: tuple[Mode, ...] = ("READING",)
_USE: tuple[Mode, ...] = ("USAGE",)
_SETTINGS = ("CUSTOMER", "MONTHLY")


def _instantaneous(obis: str, label: str, name: str, unit: str, category: str) -> ObisCode:
    return _code(obis, label, name, unit, ("INSTANTANEOUS",), _READ, category=category)


def _cumulative(
    obis: str,
    label: str,
    name: str,
    unit: str,
    shapes: tuple[str, ...],
    flow: Flow | None,
    category: str = "energyCumulative",
) -> ObisCode:
    return _code(
        obis,
        label,
        name,
        unit,
        shapes,
        _BOTH,
        accumulation="CUMULATIVE",
        flow=flow,
        category=category,
    )


def _block(obis: str, label: str, name: str, unit: str, flow: Flow | None) -> ObisCode:
    return _code(
        obis,
        label,
        name,
        unit,
        ("INTERVAL",),
        _USE,
        accumulation="DELTA",
        flow=flow,
        category="energyIncremental",
    )


CODES: tuple[ObisCode, ...] = (
    # Name plate (IS 15959 Part 2 Table A12).
    _code("0.0.96.1.0.255", "Serial", "Meter serial number", "", ("CUSTOMER",), _READ,
          category="identification"),
    _code("0.0.96.1.1.255", "Mfg Name", "Manufacturer name", "", ("CUSTOMER",), _READ,
          category="identification"),
    _code("0.0.96.1.2.255", "Device ID", "Device ID", "", ("CUSTOMER",), _READ,
          category="identification"),
    _code("1.0.0.2.0.255", "FW Version", "Firmware version", "", ("CUSTOMER",), _READ,
          category="identification"),
    _code("0.0.94.91.9.255", "Meter Type", "Meter type", "", ("CUSTOMER",), _READ,
          category="identification"),
    _code("0.0.94.91.11.255", "Meter Cat", "Meter category", "", ("CUSTOMER",), _READ,
          category="identification"),
    _code("0.0.1.0.0.255", "Clock", "Clock", "",
          ("CUSTOMER", "INTERVAL", "DAILY", "MONTHLY", "INSTANTANEOUS", "EVENT"), _READ,
          category="general"),
    # Instantaneous parameters (IS 15959 Part 2 Table A1).
    _instantaneous("1.0.32.7.0.255", "V_R", "Voltage R-phase", "V", "voltage"),
    _instantaneous("1.0.52.7.0.255", "V_Y", "Voltage Y-phase", "V", "voltage"),
    _instantaneous("1.0.72.7.0.255", "V_B", "Voltage B-phase", "V", "voltage"),
    _instantaneous("1.0.12.7.0.255", "V_1P", "Voltage 1P", "V", "voltage"),
    _instantaneous("1.0.31.7.0.255", "I_R", "Current R-phase", "A", "current"),
    _instantaneous("1.0.51.7.0.255", "I_Y", "Current Y-phase", "A", "current"),
    _instantaneous("1.0.71.7.0.255", "I_B", "Current B-phase", "A", "current"),
    _instantaneous("1.0.11.7.0.255", "I_Phase", "Phase current", "A", "current"),
    _instantaneous("1.0.91.7.0.255", "I_Neutral", "Neutral current", "A", "current"),
    _instantaneous("1.0.1.7.0.255", "P_Import", "Active power import", "kW", "power"),
    _instantaneous("1.0.2.7.0.255", "P_Export", "Active power export", "kW", "power"),
    _instantaneous("1.0.3.7.0.255", "Q_Lag", "Reactive power lag", "kvar", "power"),
    _instantaneous("1.0.9.7.0.255", "S_Total", "Apparent power", "kVA", "power"),
    _instantaneous("1.0.13.7.0.255", "PF_3P", "Power factor 3-phase", "", "power"),
    _instantaneous("1.0.33.7.0.255", "PF_R", "Power factor R-phase", "", "power"),
    _instantaneous("1.0.53.7.0.255", "PF_Y", "Power factor Y-phase", "", "power"),
    _instantaneous("1.0.73.7.0.255", "PF_B", "Power factor B-phase", "", "power"),
    _instantaneous("1.0.14.7.0.255", "Freq", "Frequency", "Hz", "power"),
    # Cumulative energy registers (IS 15959 Part 1 Table 22): daily and billing snapshots.
    _cumulative("1.0.1.8.0.255", "kWh imp", "Active energy import - cumulative (kWh)", "kWh",
                _REGISTER_SHAPES, "IMPORT"),
    _cumulative("1.0.2.8.0.255", "kWh exp", "Active energy export - cumulative (kWh)", "kWh",
                _REGISTER_SHAPES, "EXPORT"),
    _cumulative("1.0.9.8.0.255", "kVAh imp", "Apparent energy import - cumulative (kVAh)",
                "kVAh", ("DAILY", "MONTHLY"), "IMPORT"),
    _cumulative("1.0.10.8.0.255", "kVAh exp", "Apparent energy export - cumulative (kVAh)",
                "kVAh", ("DAILY", "MONTHLY"), "EXPORT"),
    *(
        _cumulative(f"1.0.{q + 4}.8.0.255", f"kvarh Q{q}",
                    f"Reactive energy Q{q} - cumulative (kvarh)", "kvarh", ("DAILY", "MONTHLY"),
                    None)
        for q in range(1, 5)
    ),
    # Block energy (IS 15959 Part 2 Table A15): the load survey's per-block increments.
    _block("1.0.1.29.0.255", "kWh imp block", "Active energy import - block incremental (kWh)",
           "kWh", "IMPORT"),
    _block("1.0.2.29.0.255", "kWh exp block", "Active energy export - block incremental (kWh)",
           "kWh", "EXPORT"),
    _block("1.0.9.29.0.255", "kVAh imp block",
           "Apparent energy import - block incremental (kVAh)", "kVAh", "IMPORT"),
    _block("1.0.10.29.0.255", "kVAh exp block",
           "Apparent energy export - block incremental (kVAh)", "kVAh", "EXPORT"),
    _block("1.0.5.29.0.255", "kvarh lag block",
           "Reactive energy lag - block incremental (kvarh)", "kvarh", None),
    _block("1.0.8.29.0.255", "kvarh lead block",
           "Reactive energy lead - block incremental (kvarh)", "kvarh", None),
    # Time-of-day zone registers of the billing profile.
    *(
        _cumulative(f"1.0.1.8.{zone}.255", f"kWh TZ{zone}",
                    f"Active energy import - TZ{zone} (kWh)", "kWh", ("MONTHLY",), "IMPORT",
                    category="energyToU")
        for zone in range(1, 9)
    ),
    *(
        _cumulative(f"1.0.9.8.{zone}.255", f"kVAh TZ{zone}",
                    f"Apparent energy import - TZ{zone} (kVAh)", "kVAh", ("MONTHLY",), "IMPORT",
                    category="energyToU")
        for zone in range(1, 9)
    ),
    _code("1.0.1.6.0.255", "MD kW", "Maximum demand (kW) - current billing period", "kW",
          _REGISTER_SHAPES, _USE, category="demand"),
    _code("1.0.9.6.0.255", "MD kVA", "Maximum demand (kVA) - current billing period", "kVA",
          ("MONTHLY",), _USE, category="demand"),
    # Programmable parameters.
    _code("1.0.0.8.0.255", "Demand IP", "Demand integration period", "s", _SETTINGS, _READ,
          category="programmable"),
    _code("1.0.0.8.4.255", "Capture IP", "Profile capture period", "s", _SETTINGS, _READ,
          category="programmable"),
    _code("0.0.13.0.0.255", "Activity Cal", "Activity calendar (TOU schedule)", "", _SETTINGS,
          _READ, category="programmable"),
    _code("0.0.15.0.0.255", "Billing Schedule", "Single-action schedule (Billing date)", "",
          _SETTINGS, _READ, category="programmable"),
    _code("0.0.17.0.0.255", "Load Limit KW", "Load limit threshold", "kW", _SETTINGS, _READ,
          category="programmable"),
    _code("0.0.94.91.21.255", "Load Limit Status", "Load limit function status", "", _SETTINGS,
          _READ, category="programmable"),
    _code("0.0.96.3.10.255", "Relay Status", "Relay control object status", "", _SETTINGS,
          _READ, category="programmable"),
    # Profile generic objects (IS 15959 Part 2 Annex: block load, daily load, billing).
    _code("1.0.99.1.0.255", "Block prof", "Block load profile (load survey)", "",
          _PROFILE_OBJECTS, _READ, category="profile"),
    _code("1.0.99.2.0.255", "Daily prof", "Daily load profile", "", _PROFILE_OBJECTS, _READ,
          category="profile"),
    # IS 15959 Part 2 names the billing profile 1.0.98.1.0.255 (and so do the meters and
    # Gurux's India object list); the IES code list writes 0.0.98.1.0.255. Both are
    # accepted on input (ALIASES); we emit the standard's.
    _code("1.0.98.1.0.255", "Billing prof", "Billing profile", "", _PROFILE_OBJECTS, _READ,
          category="profile"),
    *(
        _code(f"0.0.99.98.{n}.255", label, name, "", ("EVENT",), _READ, category="eventLog")
        for n, label, name in (
            (0, "Evt Volt", "Event log - voltage events"),
            (1, "Evt Curr", "Event log - current events"),
            (2, "Evt Power", "Event log - power events"),
            (3, "Evt Trans", "Event log - transaction events"),
            (4, "Evt Tamper", "Event log - other tamper events"),
            (5, "Evt NonRoll", "Event log - non-rollover events"),
            (6, "Evt Ctrl", "Event log - control events"),
        )
    ),
    _code("0.0.97.98.0.255", "Alarm Reg", "Alarm register", "", ("ALARM",), _READ,
          category="general"),
)  # fmt: skip

ALIASES: dict[str, str] = {"0.0.98.1.0.255": "1.0.98.1.0.255"}

BY_OBIS: dict[str, ObisCode] = {code.obis: code for code in CODES}
BY_LABEL: dict[str, ObisCode] = {code.short_label: code for code in CODES}

BLOCK_LOAD_PROFILE = "1.0.99.1.0.255"
DAILY_LOAD_PROFILE = "1.0.99.2.0.255"
BILLING_PROFILE = "1.0.98.1.0.255"
CLOCK = "0.0.1.0.0.255"
KWH_IMPORT_BLOCK = "1.0.1.29.0.255"
KWH_EXPORT_BLOCK = "1.0.2.29.0.255"
KWH_IMPORT = "1.0.1.8.0.255"
KWH_EXPORT = "1.0.2.8.0.255"
KVAH_IMPORT = "1.0.9.8.0.255"
MD_KW = "1.0.1.6.0.255"


def resolve(reading_type: str) -> ObisCode | None:
    """The code a MeterData ``readingType`` names, by OBIS code or by short label."""
    code = BY_OBIS.get(ALIASES.get(reading_type, reading_type))
    return code if code is not None else BY_LABEL.get(reading_type)


@dataclass(frozen=True, slots=True)
class EventClass:
    """One IS 15959 event log (compartment) and the event ids it holds."""

    obis: str
    name: str
    first_id: int
    last_id: int


# IS 15959 Part 2 Annex G: the seven event compartments and their id ranges.
EVENT_CLASSES: tuple[EventClass, ...] = (
    EventClass("0.0.99.98.0.255", "voltage", 1, 50),
    EventClass("0.0.99.98.1.255", "current", 51, 100),
    EventClass("0.0.99.98.2.255", "power", 101, 150),
    EventClass("0.0.99.98.3.255", "transaction", 151, 200),
    EventClass("0.0.99.98.4.255", "other tamper", 201, 250),
    EventClass("0.0.99.98.5.255", "non-rollover", 251, 300),
    EventClass("0.0.99.98.6.255", "control", 301, 350),
)

EVENT_NAMES: dict[int, str] = {
    1: "Phase-to-Neutral Under Voltage - occurrence",
    2: "Phase-to-Neutral Under Voltage - restoration",
    3: "Phase-to-Neutral Over Voltage - occurrence",
    4: "Phase-to-Neutral Over Voltage - restoration",
    51: "Phase Current Unbalance - occurrence",
    52: "Phase Current Unbalance - restoration",
    61: "CT Reverse - occurrence",
    62: "CT Reverse - restoration",
    69: "Neutral Disturbance - occurrence",
    70: "Neutral Disturbance - restoration",
    101: "Power Failure - occurrence",
    102: "Power Failure - restoration",
    151: "Parameters Programming - occurrence",
    201: "Magnetic Interference - occurrence",
    202: "Magnetic Interference - restoration",
    205: "Meter Cover Open - occurrence",
    301: "Relay Disconnect (Manual or Remote)",
    302: "Relay Connect (Manual or Remote)",
}

# Tamper events (IS 15959 "other tamper" compartment plus current-circuit tampers).
TAMPER_EVENT_IDS: frozenset[int] = frozenset({61, 62, 69, 70, 201, 202, 203, 204, 205, 206})


def event_class(event_id: int) -> EventClass | None:
    for event_class_ in EVENT_CLASSES:
        if event_class_.first_id <= event_id <= event_class_.last_id:
            return event_class_
    return None
