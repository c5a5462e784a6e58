"""Policy as code: signed Rego packs per state and programme, and the decision engine.

The public surface: load and verify packs (:func:`load_catalogue`), decide
(:func:`decide`) with an engine (:class:`EmbeddedEngine` by default, :class:`OpaEngine`
for an OPA server), and the decision contract (:class:`Decision`).
"""

from policy_packs.decision import Decision, Engine, RecordedDecision, Violation, decide
from policy_packs.engine import EmbeddedEngine, OpaEngine
from policy_packs.packs import SHIPPED_KEYRING, SHIPPED_PACKS, Catalogue, Pack, load_catalogue
from policy_packs.signing import FileKeyring, TrustedAuthors

__all__ = [
    "SHIPPED_KEYRING",
    "SHIPPED_PACKS",
    "Catalogue",
    "Decision",
    "EmbeddedEngine",
    "Engine",
    "FileKeyring",
    "OpaEngine",
    "Pack",
    "RecordedDecision",
    "TrustedAuthors",
    "Violation",
    "decide",
    "load_catalogue",
]
