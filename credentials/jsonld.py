"""JSON-LD against local contexts only: expansion, URDNA2015 canonicalisation, term checks.

Every context a credential may cite ships in the repository: the W3C ones (VC v2,
the Ed25519Signature2020 and JsonWebSignature2020 suites, DID v1) as PyLD bundles
them, and the stack's own under ``schemas/contexts``. Any other URL is an error,
never a fetch: a verifier that dereferences contexts from the network lets whoever
serves them change what a signed credential means.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld
from pyld.documentloader.frozen import BUNDLED_CONTEXTS

from schemas.credentials import ED25519_2020, JWS_2020, VC_V2, shipped_contexts
from schemas.generate import CONTEXTS_DIR

# The VC v2 context's catch-all: a term no context defines lands here (VC DM 2.0 §5.2).
ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"
W3C_CONTEXTS = (
    VC_V2,
    ED25519_2020,
    JWS_2020,
    "https://www.w3.org/ns/did/v1",
)


class UnknownContext(Exception):
    """A context URL that is not shipped with the stack."""

    def __init__(self, url: str) -> None:
        super().__init__(f"unknown JSON-LD context {url!r}: only shipped contexts are used")
        self.url = url


class JsonLdInvalid(Exception):
    """The document is not valid JSON-LD (a protected term redefined, a bad keyword...)."""


@cache
def _documents() -> Mapping[str, dict[str, Any]]:
    import json

    paths: dict[str, Path] = {url: Path(BUNDLED_CONTEXTS[url]) for url in W3C_CONTEXTS}
    paths.update(shipped_contexts(CONTEXTS_DIR))
    return {url: json.loads(path.read_text(encoding="utf-8")) for url, path in paths.items()}


def known_contexts() -> list[str]:
    return sorted(_documents())


def load_document(url: str, options: Any = None) -> dict[str, Any]:
    """PyLD 3.x document loader: the shipped copy, or :class:`UnknownContext`."""
    document = _documents().get(url)
    if document is None:
        raise UnknownContext(url)
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
    }


def _options(**extra: Any) -> dict[str, Any]:
    return {"documentLoader": load_document, "safe": False, **extra}


def _unwrap(exc: Exception) -> Exception:
    """PyLD wraps loader failures; find the UnknownContext inside, if that is what it was."""
    seen: Exception | None = exc
    for _ in range(10):
        if seen is None:
            break
        if isinstance(seen, UnknownContext):
            return seen
        details = getattr(seen, "details", None)
        cause = details.get("cause") if isinstance(details, dict) else None
        seen = cause if isinstance(cause, Exception) else seen.__cause__  # type: ignore[assignment]
    return JsonLdInvalid(str(exc).splitlines()[0][:300])


def expand(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The expanded form; :class:`UnknownContext` or :class:`JsonLdInvalid` when it fails."""
    try:
        expanded: list[dict[str, Any]] = jsonld.expand(dict(document), _options())
    except UnknownContext:
        raise
    except Exception as exc:
        raise _unwrap(exc) from exc
    return expanded


def canonical_nquads(document: Mapping[str, Any]) -> str:
    """RDF Dataset Canonicalization (URDNA2015) as N-Quads: what Data Integrity signs."""
    try:
        normalized: str = jsonld.normalize(
            dict(document),
            _options(algorithm="URDNA2015", format="application/n-quads"),
        )
    except UnknownContext:
        raise
    except Exception as exc:
        raise _unwrap(exc) from exc
    return normalized


def canonical_hash(document: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(canonical_nquads(document).encode()).digest()


def undefined_terms(expanded: Any) -> list[str]:
    """Terms no context defined (they fell to the VC v2 ``@vocab``): a credential whose
    meaning the verifier would have to guess. Reported as paths' last names."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.startswith(ISSUER_DEPENDENT):
                    found.add(key[len(ISSUER_DEPENDENT) :])
                if key == "@type":
                    for kind in value if isinstance(value, list) else [value]:
                        if isinstance(kind, str) and kind.startswith(ISSUER_DEPENDENT):
                            found.add(kind[len(ISSUER_DEPENDENT) :])
                if key != "@value" or not isinstance(value, dict):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(expanded)
    return sorted(found)
