"""W3C Bitstring Status List v1.0 (pure): the bitstring, its encoding, its credential.

A status list is a bitstring of at least 131,072 bits (16 KiB; §2.2 "minimum
bitstring length", herd privacy) where bit ``i`` is the status of the credential
whose ``statusListIndex`` is ``i``; index 0 is the left-most bit of the first
byte. ``encodedList`` is multibase base64url (``u``) of the GZIP-compressed bits.
Decoding refuses lists that inflate beyond a bound, so a hostile list cannot
exhaust a verifier's memory (a zip bomb).
"""

from __future__ import annotations

import gzip
import zlib
from datetime import datetime
from typing import Any

from credentials.codecs import b64u, unb64u
from schemas.credentials import VC_V2

MIN_BITS = 131_072
MAX_BYTES = 16 * 1024 * 1024  # 134 million credentials per list; more is an attack
PURPOSES = ("revocation", "suspension")


class StatusListInvalid(ValueError):
    """An encodedList that is not multibase base64url GZIP of a bitstring."""


def empty(bits: int = MIN_BITS) -> bytes:
    if bits < MIN_BITS or bits % 8:
        raise ValueError(f"a status list holds at least {MIN_BITS} bits, a multiple of 8")
    return bytes(bits // 8)


def get_bit(bitstring: bytes, index: int) -> bool:
    if not 0 <= index < len(bitstring) * 8:
        raise IndexError(f"index {index} is outside the list ({len(bitstring) * 8} bits)")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def set_bit(bitstring: bytes, index: int, value: bool) -> bytes:
    if not 0 <= index < len(bitstring) * 8:
        raise IndexError(f"index {index} is outside the list ({len(bitstring) * 8} bits)")
    data = bytearray(bitstring)
    mask = 0x80 >> (index % 8)
    data[index // 8] = (data[index // 8] | mask) if value else (data[index // 8] & ~mask)
    return bytes(data)


def encode(bitstring: bytes) -> str:
    # mtime=0: the same bits always encode to the same text (cacheable, comparable).
    return "u" + b64u(gzip.compress(bitstring, compresslevel=9, mtime=0))


def decode(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise StatusListInvalid("encodedList must be multibase base64url ('u…')")
    try:
        compressed = unb64u(encoded[1:])
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        bitstring = inflater.decompress(compressed, MAX_BYTES + 1)
    except (ValueError, zlib.error) as exc:
        raise StatusListInvalid(f"encodedList is not base64url GZIP: {exc}") from exc
    if len(bitstring) > MAX_BYTES or inflater.unconsumed_tail:
        raise StatusListInvalid("encodedList inflates beyond the bound; refused")
    if len(bitstring) * 8 < MIN_BITS:
        raise StatusListInvalid(f"the list is shorter than {MIN_BITS} bits")
    return bitstring


def status_list_credential(
    list_url: str,
    issuer: dict[str, Any],
    purpose: str,
    bitstring: bytes,
    valid_from: datetime,
    valid_until: datetime,
) -> dict[str, Any]:
    """The unsecured BitstringStatusListCredential (§2.2) for one list."""
    if purpose not in PURPOSES:
        raise ValueError(f"statusPurpose {purpose!r} is not one of {PURPOSES}")
    return {
        "@context": [VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from.isoformat(),
        "validUntil": valid_until.isoformat(),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode(bitstring),
        },
    }
