"""Whose records a registry writer may write (issue 15 review: writes scoped per discom).

Every discom holds ``registry:write``, so the scope alone would let one discom create,
change or retire another's consumers, meters and topology. A record belongs to the
discom its address names (``address.discom``); a writer is tied to the discoms the
network operator recorded for it in the directory (its ``participant_role`` record),
carried in its access token as the roles ``discom:<code>`` (``registry.directory.tokens``
issues them from that record, never from anything the client asserts).

Pure: the service checks each write against a :class:`WriterScope`, the API builds one
from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.errors import ForeignDiscom

DISCOM_ROLE = "discom:"  # a token's role naming a discom its holder answers for
REGISTRY_ADMIN = "registry:admin"  # the registry operator's own tooling: every discom


@dataclass(frozen=True, slots=True)
class WriterScope:
    """The discoms whose records a writer may write (codes, upper case), or ``None`` for
    every discom (the registry's operator; the command line on its own database).

    ``writer`` names who writes (its organisation): its import reports are its own."""

    discoms: frozenset[str] | None
    writer: str | None = None

    @classmethod
    def of_discoms(cls, codes: frozenset[str] | set[str], writer: str) -> WriterScope:
        return cls(frozenset(code.strip().upper() for code in codes), writer)

    @property
    def unscoped(self) -> bool:
        return self.discoms is None

    def allows(self, discom: str | None) -> bool:
        if self.discoms is None:
            return True
        return discom is not None and discom.strip().upper() in self.discoms

    def check(self, discom: str | None, what: str) -> None:
        """Refuse (403) a write to a record of another discom, or of none."""
        if self.allows(discom):
            return
        mine = ", ".join(sorted(self.discoms or ()))
        if discom is None:
            raise ForeignDiscom(
                f"{what} names no discom; this writer writes only records of {mine}",
                discom=None,
            )
        raise ForeignDiscom(
            f"{what} belongs to discom {discom}; this writer writes only records of {mine}",
            discom=discom,
        )


EVERY_DISCOM = WriterScope(None)
