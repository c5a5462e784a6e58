"""A real token issuer for tests of services whose doors need machine tokens.

It holds a fresh Ed25519 key standing in for the directory's, installs the very same
bearer-token verification the sandbox installs (``kernel.tokens``) on an app, and
mints real signed access tokens: the services under test verify them for real.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Generator
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI

from kernel.access import install_authenticator
from kernel.backoffice import install_backoffice
from kernel.tokens import AccessTokenVerifier, bearer_authenticator, compact_jws

# Every registry scope, the operator's ``registry:admin`` included: such a token writes
# every discom's records (registry.ownership); a discom's own token has no
# ``registry:admin`` and names its discom in its roles (:func:`discom_writer`).
ALL_REGISTRY = (
    "registry:read", "registry:write", "registry:personal", "ledger:read", "registry:admin",
)  # fmt: skip
DISCOM_REGISTRY = ("registry:read", "registry:write", "registry:personal", "ledger:read")


class TestIssuer:
    __test__ = False  # not a test class

    def __init__(self, issuer: str = "directory.test", kid: str = "k1") -> None:
        self.issuer = issuer
        self.kid = kid
        self.key = Ed25519PrivateKey.generate()
        self.public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def verifier(self, audience: str) -> AccessTokenVerifier:
        return AccessTokenVerifier(
            issuer=self.issuer,
            audience=audience,
            key_for=lambda kid: self.public if kid == self.kid else None,
        )

    def install(self, app: FastAPI, audience: str) -> None:
        """Verify tokens for ``audience``, which also owns the app's back office
        (``kernel.backoffice``), as ``install_static_verification`` does."""
        install_authenticator(app, bearer_authenticator(self.verifier(audience)))
        install_backoffice(app, audience)

    def token(
        self,
        *,
        audience: str,
        scopes: tuple[str, ...] | list[str],
        subject: str = "discom.test",
        lifetime: int = 300,
        issued: float | None = None,
        issuer: str | None = None,
        roles: tuple[str, ...] = ("discom",),
        **extra: Any,
    ) -> str:
        now = int(issued if issued is not None else time.time())
        claims = {
            "iss": issuer or self.issuer, "sub": subject, "aud": audience, "iat": now,
            "nbf": now, "exp": now + lifetime, "jti": secrets.token_urlsafe(12),
            "scope": " ".join(scopes), "roles": list(roles), "org": subject, **extra,
        }  # fmt: skip
        return compact_jws({"alg": "Ed25519", "typ": "at+jwt", "kid": self.kid}, claims,
                           self.key.sign)  # fmt: skip

    def headers(
        self, audience: str, scopes: tuple[str, ...] | list[str], **kw: Any
    ) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(audience=audience, scopes=scopes, **kw)}"}


def discom_writer(
    issuer: TestIssuer, audience: str, code: str, subject: str | None = None
) -> dict[str, str]:
    """Headers of discom ``code``'s own machine token, as the directory issues it: the
    discom scopes, roles ``discom`` and ``discom:<code>``."""
    return issuer.headers(audience, DISCOM_REGISTRY, subject=subject or f"{code.lower()}.test",
                          roles=("discom", f"discom:{code}"))  # fmt: skip


def authorise_registry(app: FastAPI, client: Any, audience: str = "registry.test") -> TestIssuer:
    """Install token verification on a registry app and give ``client`` (a TestClient or
    an httpx.Client) a token with every registry scope, ``registry:admin`` included: the
    block's own tests then exercise the API as its operator would, unscoped by discom
    (tests/registry/test_discom_scope.py writes as discoms)."""
    issuer = TestIssuer()
    issuer.install(app, audience)
    client.headers.update(issuer.headers(audience, ALL_REGISTRY))
    return issuer


class OwnToken(httpx.Auth):
    """``client.auth``: the service's own machine token (subject = audience, so its own
    back office, ``kernel.backoffice``) on every ``methods`` request that carries no
    ``Authorization`` header of its own (a Beckn signature, another token): the tests
    read a back office as the participant itself, and refusals stay as they were."""

    def __init__(self, issuer: TestIssuer, audience: str, methods: tuple[str, ...] = ("GET",)):
        self.issuer = issuer
        self.audience = audience
        self.methods = methods

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.method in self.methods and "authorization" not in request.headers:
            token = self.issuer.token(audience=self.audience, scopes=(), subject=self.audience)
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


def own_back_office(app: FastAPI, client: Any, audience: str, **kw: Any) -> TestIssuer:
    """Install token verification for ``audience`` (the owner) on ``app`` and make
    ``client`` read its back office as the owner itself (:class:`OwnToken`)."""
    issuer = TestIssuer()
    issuer.install(app, audience)
    client.auth = OwnToken(issuer, audience, **kw)
    return issuer
