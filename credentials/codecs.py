"""Byte codecs the pure credential modules need: base58btc (multibase ``z``) and JWKs.

``credentials.did`` has the same codecs for DID documents, beside its resolver
(httpx); these copies keep proofs, status lists and the verifier free of any I/O
import, as the import-linter contract in pyproject.toml demands.
"""

from __future__ import annotations

import base64

from credentials.keys import KeyAlgorithm

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_B58[rem])
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError(f"{char!r} is not base58btc")
        number = number * 58 + _B58_INDEX[char]
    pad = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * pad + body


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64u(text: str) -> bytes:
    """base64url without padding; ValueError when it is not."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_to_jwk(algorithm: KeyAlgorithm, raw: bytes) -> dict[str, str]:
    if algorithm is KeyAlgorithm.P256:
        return {"kty": "EC", "crv": "P-256", "x": b64u(raw[1:33]), "y": b64u(raw[33:])}
    return {"kty": "OKP", "crv": algorithm.value, "x": b64u(raw)}
