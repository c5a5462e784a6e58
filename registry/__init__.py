"""Identity & addressing, and the participant directory, of the IES stack.

The public surface: the identifier codec and the domain shapes. Other building
blocks reach the registry through these and through its HTTP API, never through
its tables.
"""

from registry.identifiers import EntityType, IesId, entity_type_of, new_id, parse_id
from registry.models import Address, Identity, IdentityDraft, LegacyRef, LegacyScheme, Relation

__all__ = [
    "Address",
    "EntityType",
    "Identity",
    "IdentityDraft",
    "IesId",
    "LegacyRef",
    "LegacyScheme",
    "Relation",
    "entity_type_of",
    "new_id",
    "parse_id",
]
