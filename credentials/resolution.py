"""The issuer's key as its DID declared it: did:web (or did:key) resolution, cached,
checked against the issuer's ``key`` registry in the directory as it stood at
issuance time.

* The DID document must list the method under the purpose (``assertionMethod`` for
  credentials, ``authentication`` for a holder's presentation).
* Where the issuer keeps a ``key`` registry, the key must be registered there at
  the instant the credential says it was issued, with the same bytes: a key added
  later cannot sign credentials back-dated before it existed, and a key rotated out
  of the DID document still verifies what it signed while it was registered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from credentials.dedi import DediReader, _TtlCache
from credentials.did import DidDocument, DidProblem, DidResolver
from credentials.keys import InvalidPublicKey, PublicKeyInfo
from credentials.ports import KeyNotDeclared, Unavailable
from credentials.verify import namespace_of


class DidIssuerKeys:
    def __init__(
        self,
        resolver: DidResolver,
        history: DediReader | None = None,
        *,
        ttl: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.resolver = resolver
        self.history = history
        self.cache = _TtlCache(ttl, monotonic)

    def document(self, did: str) -> DidDocument:
        hit, value = self.cache.get(did)
        if hit:
            return value  # type: ignore[no-any-return]
        try:
            document = self.resolver.resolve(did)
        except DidProblem as exc:
            raise Unavailable(f"{did} does not resolve: {exc.detail}") from exc
        self.cache.put(did, document)
        return document

    def key_for(
        self, verification_method: str, at: datetime, purpose: str = "assertionMethod"
    ) -> PublicKeyInfo:
        did, sep, fragment = verification_method.partition("#")
        if not sep or not fragment:
            raise KeyNotDeclared(f"{verification_method!r} is not a DID URL with a key fragment")
        document = self.document(did)
        listed = (
            document.assertion_method if purpose == "assertionMethod" else document.authentication
        )
        declared: PublicKeyInfo | None = None
        if verification_method in listed or f"#{fragment}" in listed:
            try:
                declared = document.public_key(verification_method)
            except (DidProblem, InvalidPublicKey) as exc:
                raise KeyNotDeclared(str(exc)) from exc
        namespace = namespace_of(did)
        if self.history is None or namespace is None:
            if declared is None:
                raise KeyNotDeclared(f"{did} does not declare {fragment} for {purpose}")
            return declared
        record = self.history.key_history(namespace, fragment, at)
        if not record.registry_exists:
            if declared is None:
                raise KeyNotDeclared(f"{did} does not declare {fragment} for {purpose}")
            return declared
        if record.key is None:
            raise KeyNotDeclared(
                f"{fragment} was not in {namespace}'s key registry at {at.isoformat()}: "
                "not the issuer's key at issuance"
            )
        if declared is not None and (declared.algorithm, declared.raw) != (
            record.key.algorithm,
            record.key.raw,
        ):
            raise KeyNotDeclared(
                f"{verification_method}: the DID document and the key registry disagree"
            )
        return record.key
