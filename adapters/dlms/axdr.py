"""A-XDR (IEC 62056-6-2 / Green Book) encoding of COSEM data, as a meter sends it.

Pure and dependency-free so that the permissive core can read profile-generic buffers
without a copyleft library; ``adapters.dlms.gurux`` cross-checks it against Gurux when
the ``dlms`` extra is installed. Decoding never raises anything but
:class:`~adapters.errors.DlmsDecodeError`, whatever the bytes (fuzz-tested).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final

from adapters.errors import DlmsDecodeError

NULL: Final = 0
ARRAY: Final = 1
STRUCTURE: Final = 2
BOOLEAN: Final = 3
BIT_STRING: Final = 4
DOUBLE_LONG: Final = 5
DOUBLE_LONG_UNSIGNED: Final = 6
OCTET_STRING: Final = 9
VISIBLE_STRING: Final = 10
UTF8_STRING: Final = 12
BCD: Final = 13
INTEGER: Final = 15
LONG: Final = 16
UNSIGNED: Final = 17
LONG_UNSIGNED: Final = 18
LONG64: Final = 20
LONG64_UNSIGNED: Final = 21
ENUM: Final = 22
FLOAT32: Final = 23
FLOAT64: Final = 24
DATE_TIME: Final = 25
DATE: Final = 26
TIME: Final = 27

_FIXED: Final[dict[int, struct.Struct]] = {
    BOOLEAN: struct.Struct(">B"),
    DOUBLE_LONG: struct.Struct(">i"),
    DOUBLE_LONG_UNSIGNED: struct.Struct(">I"),
    BCD: struct.Struct(">B"),
    INTEGER: struct.Struct(">b"),
    LONG: struct.Struct(">h"),
    UNSIGNED: struct.Struct(">B"),
    LONG_UNSIGNED: struct.Struct(">H"),
    LONG64: struct.Struct(">q"),
    LONG64_UNSIGNED: struct.Struct(">Q"),
    ENUM: struct.Struct(">B"),
    FLOAT32: struct.Struct(">f"),
    FLOAT64: struct.Struct(">d"),
}
_SIZED: Final = {DATE_TIME: 12, DATE: 5, TIME: 4}
# Deeper nesting than this is no COSEM object we read; refusing it bounds the recursion.
MAX_DEPTH: Final = 8

Value = None | bool | int | float | bytes | str | list["Value"] | tuple["Value", ...]


@dataclass(frozen=True, slots=True)
class BitString:
    bits: int
    data: bytes


def _length(buffer: bytes, offset: int) -> tuple[int, int]:
    """A-XDR length: one byte below 0x80, else 0x80|n followed by n big-endian bytes."""
    if offset >= len(buffer):
        raise DlmsDecodeError("length expected, buffer ends", offset=offset)
    first = buffer[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size == 0 or size > 4:
        raise DlmsDecodeError(f"length of {size} bytes is not supported", offset=offset)
    end = offset + 1 + size
    if end > len(buffer):
        raise DlmsDecodeError("length bytes cut short", offset=offset)
    return int.from_bytes(buffer[offset + 1 : end], "big"), end


def decode(buffer: bytes) -> Value:
    """Decode one complete A-XDR value; trailing bytes are an error."""
    value, end = decode_at(buffer, 0)
    if end != len(buffer):
        raise DlmsDecodeError(f"{len(buffer) - end} byte(s) after the value", offset=end)
    return value


def decode_at(buffer: bytes, offset: int, depth: int = 0) -> tuple[Value, int]:
    """Decode the value starting at ``offset``; returns it and the offset after it."""
    if offset >= len(buffer):
        raise DlmsDecodeError("data type tag expected, buffer ends", offset=offset)
    tag = buffer[offset]
    position = offset + 1
    fixed = _FIXED.get(tag)
    if fixed is not None:
        end = position + fixed.size
        if end > len(buffer):
            raise DlmsDecodeError(f"value of type {tag} cut short", offset=position)
        (number,) = fixed.unpack_from(buffer, position)
        return (bool(number) if tag == BOOLEAN else number), end
    if tag in (ARRAY, STRUCTURE):
        if depth >= MAX_DEPTH:
            raise DlmsDecodeError("nesting deeper than any COSEM object", offset=offset)
        count, position = _length(buffer, position)
        if count > len(buffer) - position:  # every element needs at least its tag byte
            raise DlmsDecodeError(f"{count} elements announced, buffer too short", offset=offset)
        items: list[Value] = []
        for _ in range(count):
            item, position = decode_at(buffer, position, depth + 1)
            items.append(item)
        return (items if tag == ARRAY else tuple(items)), position
    if tag in (OCTET_STRING, VISIBLE_STRING, UTF8_STRING):
        size, position = _length(buffer, position)
        end = position + size
        if end > len(buffer):
            raise DlmsDecodeError(f"string of {size} bytes cut short", offset=position)
        raw = bytes(buffer[position:end])
        if tag == OCTET_STRING:
            return raw, end
        try:
            return raw.decode("ascii" if tag == VISIBLE_STRING else "utf-8"), end
        except UnicodeDecodeError as exc:
            raise DlmsDecodeError(f"string is not text: {exc.reason}", offset=position) from None
    if tag in _SIZED:
        end = position + _SIZED[tag]
        if end > len(buffer):
            raise DlmsDecodeError(f"value of type {tag} cut short", offset=position)
        return bytes(buffer[position:end]), end
    if tag == NULL:
        return None, position
    if tag == BIT_STRING:
        bits, position = _length(buffer, position)
        end = position + (bits + 7) // 8
        if end > len(buffer):
            raise DlmsDecodeError("bit-string cut short", offset=position)
        return bytes(buffer[position:end]), end
    raise DlmsDecodeError(f"unknown data type tag {tag}", offset=offset)


def _put_length(out: bytearray, size: int) -> None:
    if size < 0x80:
        out.append(size)
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        out.append(0x80 | len(raw))
        out += raw


@dataclass(frozen=True, slots=True)
class Typed:
    """A value with the A-XDR type it is to be encoded as."""

    tag: int
    value: object


def encode(value: Typed | list[object] | tuple[object, ...] | None, out: bytearray) -> None:
    """Append the A-XDR encoding of ``value``: lists are arrays, tuples structures."""
    if value is None:
        out.append(NULL)
    elif isinstance(value, list | tuple):
        out.append(ARRAY if isinstance(value, list) else STRUCTURE)
        _put_length(out, len(value))
        for item in value:
            encode(item, out)  # type: ignore[arg-type]
    elif value.tag in _FIXED:
        out.append(value.tag)
        out += _FIXED[value.tag].pack(value.value)
    elif value.tag in (OCTET_STRING, VISIBLE_STRING, UTF8_STRING):
        raw = value.value if isinstance(value.value, bytes) else str(value.value).encode()
        out.append(value.tag)
        _put_length(out, len(raw))
        out += raw
    else:
        raise ValueError(f"cannot encode type {value.tag}")


# COSEM date-time (Blue Book 4.1.6.1): 12 octets; 0xFF / 0x8000 mean "not specified".
_NOT_SPECIFIED_DEVIATION: Final = -0x8000
_DATE_TIME: Final = struct.Struct(">HBBBBBBBhB")


def date_time_bytes(moment: datetime, *, with_deviation: bool = False) -> bytes:
    """The 12-octet COSEM date-time of ``moment`` in its own local time.

    IS 15959 meters keep local (IST) time and send the deviation as not specified; the
    reader applies the discom's zone. ``with_deviation`` writes it, with the Blue Book's
    sign: minutes of UTC minus local time.
    """
    offset = moment.utcoffset()
    deviation = _NOT_SPECIFIED_DEVIATION
    if with_deviation and offset is not None:
        deviation = -int(offset.total_seconds() // 60)
    return _DATE_TIME.pack(
        moment.year,
        moment.month,
        moment.day,
        moment.isoweekday(),
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 10_000,
        deviation,
        0,
    )


def parse_date_time(raw: bytes, zone: timezone, *, offset: int = 0) -> datetime:
    """A COSEM date-time as an aware datetime; ``zone`` applies when no deviation is sent."""
    if len(raw) != 12:
        raise DlmsDecodeError(f"date-time of {len(raw)} octets, 12 expected", offset=offset)
    year, month, day, _dow, hour, minute, second, hundredths, deviation, _status = (
        _DATE_TIME.unpack(raw)
    )
    if 0xFF in (month, day, hour, minute) or year == 0xFFFF:
        raise DlmsDecodeError("date-time with unspecified fields in a profile row", offset=offset)
    second = 0 if second == 0xFF else second
    hundredths = 0 if hundredths == 0xFF else hundredths
    tz = zone
    if deviation != _NOT_SPECIFIED_DEVIATION:
        if not -840 <= deviation <= 840:
            raise DlmsDecodeError(f"deviation {deviation} min out of range", offset=offset)
        tz = timezone(timedelta(minutes=-deviation))
    try:
        return datetime(year, month, day, hour, minute, second, hundredths * 10_000, tzinfo=tz)
    except ValueError as exc:
        raise DlmsDecodeError(f"date-time is not a calendar moment: {exc}", offset=offset) from None
