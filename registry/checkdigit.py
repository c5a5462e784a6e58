"""The Verhoeff check digit, as Aadhaar numbers use it.

Verhoeff's dihedral-group scheme catches every single-digit substitution and every
transposition of two adjacent digits, which a mod-10 (Luhn) digit does not (it
misses 09 <-> 90). That is why an operator's mistyped identifier is refused before
any lookup.
"""

from __future__ import annotations

# Multiplication in the dihedral group D5.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
# The position-dependent permutation: position i uses the base permutation applied
# (i mod 8) times. Derived rather than transcribed: a mistyped row silently lets some
# transpositions through (the property tests caught exactly that once).
_BASE = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)


def _powers(base: tuple[int, ...], count: int) -> tuple[tuple[int, ...], ...]:
    rows = [tuple(range(10))]
    for _ in range(count - 1):
        rows.append(tuple(base[x] for x in rows[-1]))
    return tuple(rows)


_P = _powers(_BASE, 8)
# The inverse in D5.
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


# _STEP[i][c][d]: the checksum after digit d at position i (mod 8) from checksum c,
# one lookup instead of two (identifiers are checked on every request and import).
_STEP = tuple(tuple(tuple(_D[c][_P[i][d]] for d in range(10)) for c in range(10)) for i in range(8))


def _checksum(digits: str, offset: int) -> int:
    c = 0
    for i, byte in enumerate(reversed(digits.encode())):
        c = _STEP[(i + offset) & 7][c][byte - 48]
    return c


def verhoeff_digit(digits: str) -> str:
    """The check digit to append to ``digits`` (a string of 0-9)."""
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("Verhoeff works on decimal digits only")
    return str(_INV[_checksum(digits, 1)])


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit of ``digits`` is the Verhoeff check of the rest."""
    if len(digits) < 2 or not digits.isdigit() or not digits.isascii():
        return False
    return _checksum(digits, 0) == 0
